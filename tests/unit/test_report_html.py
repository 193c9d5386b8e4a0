# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML page: one autoescaped template, its own stylesheet and script allowed by hash, the data block safe."""

from __future__ import annotations

import html.parser
import json
import re

from ansible_collections.mailops.port25.plugins.plugin_utils.report import html as report_html
from ansible_collections.mailops.port25.plugins.plugin_utils.report import model
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    EX2019_2525, GENERATED, HOSTILE, HOSTILE_MESSAGE, fleet_results, port_results, record)

DOCS = 'file:///opt/collections/ansible_collections/mailops/port25/docs/kb-q222553.md'


class _PageParser(html.parser.HTMLParser):
    """Collects what a browser would see: elements, their attributes, text, and script contents."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self.scripts = [], [], []
        self._script = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._script = dict(attrs).get('type', 'text/javascript') if tag == 'script' else None

    def handle_endtag(self, tag):
        self._script = None

    def handle_data(self, data):
        if self._script:
            self.scripts.append((self._script, data))
        else:
            self.text.append(data)


def _page(title='Nightly', hosts_extra=()):
    results = fleet_results()
    report = model.build_report(results, list(results) + list(hosts_extra), GENERATED, title=title)
    page = report_html.render(report, DOCS)
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return page, parser


def test_hostile_text_stays_text():
    page, parsed = _page(title='<b>T</b>')
    names = [tag for tag, _attrs in parsed.tags]
    assert names.count('script') == 2 and 'img' not in names and 'b' in names
    assert all(not name.startswith('on') for _tag, attrs in parsed.tags for name in attrs)
    assert '<title>&lt;b&gt;T&lt;/b&gt;</title>' in page
    text = ''.join(parsed.text)
    # Host names shown in the findings groups: escaped as text, the control character made visible.
    assert 'evil<script>alert("x")</script>&amp;\'\\u001b]]>' in text
    assert '\x1b' not in page
    # The data block cannot be ended or turned into markup by any host string.
    data = dict(parsed.scripts)['application/json']
    assert '<' not in data and '>' not in data and '&' not in data
    rows = json.loads(data)
    assert HOSTILE_MESSAGE in rows['s'] and any(r['h'] == 'evil<script>alert("x")</script>&amp;\'\\u001b]]>' for r in rows['rows'])


def test_the_page_is_self_contained_and_its_csp_allows_only_its_own_script_and_style():
    page, parsed = _page()
    for tag, attrs in parsed.tags:
        assert 'src' not in attrs, tag
        href = attrs.get('href')
        assert href is None or href.startswith(DOCS), (tag, attrs)
    assert not re.search(r'url\((?!#hatch)|@import|<link', page)
    css, js = report_html.asset('report.css'), report_html.asset('report.js')
    csp = [attrs['content'] for tag, attrs in parsed.tags if tag == 'meta' and attrs.get('http-equiv') == 'Content-Security-Policy']
    assert csp == ["default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'"
                   % (report_html.csp_hash(css), report_html.csp_hash(js))]
    # The inlined texts are exactly the hashed ones (a change of one byte would make the browser refuse them).
    assert ('text/javascript', js) in parsed.scripts
    assert '<style>%s</style>' % css in page


def test_summary_comes_first_with_cards_chart_and_findings_by_code():
    page, parsed = _page(hosts_extra=['never-ran'])
    order = [attrs.get('id') for tag, attrs in parsed.tags if tag == 'h2']
    assert order == ['h-summary', 'h-findings', 'h-hosts']
    cards = re.findall(r'<div class="card (\w+)"><b>(\d+)</b><span>([^<]+)</span>', page)
    assert cards == [('hosts', '7', 'Hosts'), ('compliant', '3', 'Compliant'), ('noncompliant', '2', 'Non-compliant'),
                     ('failed', '2', 'Failed'), ('changed', '3', 'Hosts changed'), ('flagged', '2', 'Flagged for review')]
    rects = re.findall(r'<rect class="seg (\w+)"[^>]*><title>([^:]+): [^<]* (\d+)</title>', page)
    assert rects == [('compliant', 'Before', '1'), ('noncompliant', 'Before', '5'), ('unknown', 'Before', '1'),
                     ('compliant', 'After', '3'), ('noncompliant', 'After', '2'), ('failed', 'After', '2')]
    links = [attrs['href'] for tag, attrs in parsed.tags if tag == 'a']
    assert DOCS + '#resolution' in links and DOCS + '#symptoms' in links


def test_an_empty_report_renders():
    page = report_html.render(model.build_report({}, [], GENERATED), DOCS)
    assert '<rect class="seg unknown"' in page and 'No findings.' in page


def test_the_kb_link_points_at_the_docs_of_the_installed_collection():
    url = report_html.docs_url()
    assert url.startswith('file:///') and url.endswith('/docs/kb-q222553.md')
    page = report_html.render(model.build_report(fleet_results(), list(fleet_results()), GENERATED))
    assert 'href="%s#resolution"' % url in page


def test_the_hostile_fixture_host_is_in_the_table_data():
    _page_text, parsed = _page()
    rows = json.loads(dict(parsed.scripts)['application/json'])['rows']
    assert len(rows) == 6 and HOSTILE not in [r['h'] for r in rows]


def _data(results):
    page = report_html.render(model.build_report(results, list(results), GENERATED), DOCS)
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return page, json.loads(dict(parser.scripts)['application/json'])


def test_each_host_carries_its_port_table_and_port_host_in_the_page_data():
    page, data = _data(port_results())
    rows = {r['h']: r for r in data['rows']}
    strings = data['s']
    table = [[strings[p[0]], strings[p[2]], p[3]] for p in rows['ex2019.corp.example']['d']['pt']]
    assert table == [['25', 'mail service: MSExchangeFrontendTransport.exe (MSExchangeFrontEndTransport)', 'ok'],
                     ['587', 'mail service: MSExchangeFrontendTransport.exe (MSExchangeFrontEndTransport)', 'ok'],
                     ['717', 'nobody (port free)', 'free'], ['2525', 'SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)', 'conflict'],
                     ['465', 'nobody (port free)', 'free'],
                     ['475', 'mail service: MSExchangeDelivery.exe (MSExchangeDelivery)', 'ok']]
    wsp = rows['ex55-wsp']
    assert strings[wsp['ph']] == 'wsp-proxy' and strings[wsp['d']['pt'][0][0]] == '25 on wsp-proxy'
    assert strings[wsp['d']['a'][0][1]] == 'SMTPSVC on wsp-proxy'
    # The script draws the table with these headings; the host table's column is every port's owner now.
    js = report_html.asset('report.js')
    assert "['Port', 'Expected owner', 'Actual owner', 'Verdict', 'SMTP greeting']" in js
    assert '<th scope="col">Port owner</th>' in page


def test_a_greeting_is_shown_as_text_with_its_controls_made_visible():
    hostile = '<img src=x onerror=alert(1)> ESMTP \x1b]0;pwned\x07 ready \u202e'
    ports = [dict(EX2019_2525['ports'][0], greeting=dict(EX2019_2525['ports'][0]['greeting'], text=hostile))]
    state = dict(EX2019_2525, ports=ports)
    page, data = _data({'h': record('h', 'exchange2013', state, state)})
    assert '\x1b' not in page and '\u202e' not in page and '<img' not in page
    greeting = data['s'][data['rows'][0]['d']['pt'][0][7]]
    assert greeting == '220 <img src=x onerror=alert(1)> ESMTP \\u001b]0;pwned\\u0007 ready \\u202e'
