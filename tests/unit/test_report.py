# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report filter: data model, JSON, HTML escaping and JUnit structure."""

from __future__ import annotations

import copy
import html.parser
import json
import os
import re
import types
import xml.etree.ElementTree as ET

import pytest
import yaml
from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.mailops.port25.plugins.action import report_write
from ansible_collections.mailops.port25.plugins.filter import port25_report as report

GENERATED = '2026-11-28T16:20:00Z'
HOSTILE = 'evil<script>alert("x")</script>&amp;\'\x1b]]>'
HOSTILE_MESSAGE = '</td><img src=x onerror=alert(1)> {{ lookup("pipe", "id") }} <![CDATA[ x ]]>'


def _svc(name, state, start_mode, pid=None):
    return {'name': name, 'exists': True, 'state': state, 'start_mode': start_mode, 'pid': pid}


def _finding(code, severity, message, section='resolution'):
    return {'code': code, 'severity': severity, 'message': message, 'kb_section': section}


def _action(action, service, before, after, changed=True):
    return {'action': action, 'service': service, 'before': {'state': before[0], 'start_mode': before[1]},
            'after': {'state': after[0], 'start_mode': after[1]}, 'changed': changed}


def _result(host, profile, before, after, actions=(), flags=(), error=None, check_mode=False):
    return {'host': host, 'profile': profile, 'check_mode': check_mode, 'before': before, 'actions': list(actions),
            'after': after, 'findings': after['findings'] if after else [], 'flags': list(flags),
            'compliant': after['compliant'] if after and not error else False,
            'changed': any(a['changed'] for a in actions), 'error': error}


SMTP_OWNER = {'kind': 'smtp_service', 'pid': 1234, 'process': 'inetinfo.exe', 'path': 'C:\\WINNT\\system32\\inetsrv\\inetinfo.exe',
              'services': ['SMTPSVC', 'IISADMIN'], 'product': None}
IMC_OWNER = {'kind': 'mail_service', 'pid': 2200, 'process': 'msexcimc.exe',
             'path': 'C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe', 'services': ['MSExchangeIMC'], 'product': None}
KB_BEFORE = {
    'compliant': False, 'owner': SMTP_OWNER,
    'findings': [_finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP 25 is held by SMTPSVC (inetinfo.exe, pid 1234)'),
                 _finding('SMTP_SERVICE_ENABLED', 'error', 'SMTPSVC start mode is auto'),
                 _finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'MSExchangeIMC is stopped', 'symptoms'),
                 _finding('BIND_FAILURE_EVENTS', 'warning', '2 MSExchangeIMC events 4007/4020 (10048) in 72 h', 'symptoms')],
    'smtp_service': _svc('SMTPSVC', 'running', 'auto', 1234), 'mail_service': _svc('MSExchangeIMC', 'stopped', 'auto')}
KB_AFTER = {'compliant': True, 'owner': IMC_OWNER, 'findings': [],
            'smtp_service': _svc('SMTPSVC', 'stopped', 'disabled'), 'mail_service': _svc('MSExchangeIMC', 'running', 'auto', 2200)}
KB_ACTIONS = [_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
              _action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
              _action('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))]


def fleet_results():
    """bind_conflict_result of a small fleet: one of each outcome the report has to show."""
    av_state = {'compliant': False,
                'owner': {'kind': 'antivirus', 'pid': 3100, 'process': 'iwss.exe', 'path': 'C:\\Trend\\iwss.exe', 'services': ['IWSS'],
                          'product': {'vendor': 'Trend Micro', 'product': 'InterScan VirusWall'}},
                'findings': [_finding('PORT_HELD_BY_ANTIVIRUS', 'error', 'TCP 25 is held by Trend Micro InterScan VirusWall (iwss.exe)'),
                             _finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'MSExchangeIMC is stopped', 'symptoms')],
                'smtp_service': {'name': 'SMTPSVC', 'exists': False}, 'mail_service': _svc('MSExchangeIMC', 'stopped', 'auto')}
    ex2003 = {'compliant': True, 'owner': SMTP_OWNER,
              'findings': [_finding('SMTP_SERVICE_IS_TRANSPORT', 'info', 'SMTPSVC is the Exchange 2003 transport', 'modern')],
              'smtp_service': _svc('SMTPSVC', 'running', 'auto', 1234), 'mail_service': _svc('SMTPSVC', 'running', 'auto', 1234)}
    fet_before = {'compliant': False, 'owner': dict(SMTP_OWNER, path='C:\\Windows\\System32\\inetsrv\\inetinfo.exe'),
                  'findings': [_finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP 25 is held by SMTPSVC'),
                               _finding('BIND_FAILURE_EVENTS', 'warning', 'MSExchangeFrontEndTransport 1019: Failed to start '
                                        'listening (Error: 10048). Binding: 0.0.0.0:25.', 'symptoms')],
                  'smtp_service': _svc('SMTPSVC', 'running', 'auto', 1234),
                  'mail_service': _svc('MSExchangeFrontEndTransport', 'stopped', 'auto')}
    fet_after = {'compliant': True, 'findings': [],
                 'owner': {'kind': 'mail_service', 'pid': 4100, 'process': 'MSExchangeFrontendTransport.exe', 'path': None,
                           'services': ['MSExchangeFrontEndTransport'], 'product': None},
                 'smtp_service': _svc('SMTPSVC', 'stopped', 'disabled'),
                 'mail_service': _svc('MSExchangeFrontEndTransport', 'running', 'auto', 4100)}
    other = {'compliant': False, 'owner': {'kind': 'other', 'pid': 812, 'process': 'smtprelay.exe', 'path': 'C:\\relay\\smtprelay.exe',
                                           'services': [], 'product': None},
             'findings': [_finding('PORT_HELD_BY_OTHER', 'error', HOSTILE_MESSAGE)],
             'smtp_service': {'name': 'SMTPSVC', 'exists': False}, 'mail_service': _svc('MSExchangeIMC', 'stopped', 'auto')}
    return {
        'mail01.corp.example': _result('mail01.corp.example', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS),
        'mail02.corp.example': _result('mail02.corp.example', 'exchange55', av_state, av_state, flags=[{
            'code': 'ANTIVIRUS_HOLDS_PORT', 'message': 'Trend Micro InterScan VirusWall (iwss.exe) holds TCP 25; nothing was stopped',
            'advice': 'Disable the product by hand as a test and start the mail service; if that works, contact the vendor.'}]),
        'ex2003.corp.example': _result('ex2003.corp.example', 'exchange2003', ex2003, ex2003),
        'ex2019.corp.example': _result('ex2019.corp.example', 'exchange2013', fet_before, fet_after, [
            _action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
            _action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
            _action('start', 'MSExchangeFrontEndTransport', ('stopped', 'auto'), ('running', 'auto'))]),
        'mail05.corp.example': _result('mail05.corp.example', 'exchange55', KB_BEFORE, None, [
            _action('stop', 'SMTPSVC', ('running', 'auto'), ('stop_pending', 'auto'))],
            error='mail05.corp.example: StopService SMTPSVC: still stop_pending after 60 s'),
        HOSTILE: _result(HOSTILE, 'generic', other, other, flags=[{
            'code': 'UNKNOWN_OWNER', 'message': 'smtprelay.exe <b>holds</b> TCP 25', 'advice': 'Find out what it is.'}]),
    }


def test_report_data_is_exact_for_a_fixed_host_and_a_host_without_result():
    results = {'mail01': _result('mail01', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS)}
    data = report.build_report(results, ['mail01', 'gone', 'mail01'], GENERATED, 'Weekly', '1.2.3')
    assert data == {
        'report_format': 1,
        'title': 'Weekly',
        'generated': GENERATED,
        'collection': {'name': 'mailops.port25', 'version': '1.2.3'},
        'mode': 'apply',
        'summary': {'hosts': 2, 'compliant': 1, 'noncompliant': 0, 'failed': 1, 'not_run': 0, 'changed': 1, 'flagged': 0,
                    'actions': 3, 'predicted': 0,
                    'before': {'compliant': 0, 'noncompliant': 1, 'unknown': 1},
                    'after': {'compliant': 1, 'noncompliant': 0, 'unknown': 1}},
        'hosts': [
            {'report_format': 1, 'host': 'mail01', 'status': 'ok', 'verdict': 'compliant', 'error': None, 'profile': 'exchange55',
             'check_mode': False, 'changed': True, 'compliant': True,
             'before': dict(KB_BEFORE, verdict='noncompliant'), 'after': dict(KB_AFTER, verdict='compliant'),
             'findings': [], 'actions': KB_ACTIONS, 'flags': []},
            {'report_format': 1, 'host': 'gone', 'status': 'failed', 'verdict': 'failed',
             'error': 'failed before any result was recorded', 'profile': None, 'check_mode': None, 'changed': False, 'compliant': None,
             'before': {'verdict': 'unknown', 'compliant': None, 'owner': None, 'findings': [], 'smtp_service': None, 'mail_service': None},
             'after': {'verdict': 'unknown', 'compliant': None, 'owner': None, 'findings': [], 'smtp_service': None, 'mail_service': None},
             'findings': [], 'actions': [], 'flags': []},
        ],
    }


def test_actions_keep_the_fields_rollback_reads_and_any_extra_ones():
    action = dict(KB_ACTIONS[1], after={'state': 'stopped', 'start_mode': 'disabled', 'delayed_auto_start': False})
    results = {'h': _result('h', 'exchange55', KB_BEFORE, KB_AFTER, [action])}
    entry = report.build_report(results, ['h'], GENERATED)['hosts'][0]
    assert entry['actions'] == [{'action': 'set_start_mode', 'service': 'SMTPSVC',
                                 'before': {'state': 'stopped', 'start_mode': 'auto'},
                                 'after': {'state': 'stopped', 'start_mode': 'disabled', 'delayed_auto_start': False},
                                 'changed': True}]


def test_fleet_summary_and_verdicts():
    results = fleet_results()
    data = report.build_report(results, list(results) + ['never-ran'], GENERATED)
    verdicts = {h['host']: (h['verdict'], h['before']['verdict'], h['after']['verdict']) for h in data['hosts']}
    assert verdicts == {
        'mail01.corp.example': ('compliant', 'noncompliant', 'compliant'),
        'mail02.corp.example': ('noncompliant', 'noncompliant', 'noncompliant'),
        'ex2003.corp.example': ('compliant', 'compliant', 'compliant'),
        'ex2019.corp.example': ('compliant', 'noncompliant', 'compliant'),
        'mail05.corp.example': ('failed', 'noncompliant', 'unknown'),
        HOSTILE: ('noncompliant', 'noncompliant', 'noncompliant'),
        'never-ran': ('failed', 'unknown', 'unknown'),
    }
    assert data['summary'] == {'hosts': 7, 'compliant': 3, 'noncompliant': 2, 'failed': 2, 'not_run': 0, 'changed': 3, 'flagged': 2,
                               'actions': 7, 'predicted': 0, 'before': {'compliant': 1, 'noncompliant': 5, 'unknown': 1},
                               'after': {'compliant': 3, 'noncompliant': 2, 'unknown': 2}}
    failed = {h['host']: h['error'] for h in data['hosts'] if h['status'] == 'failed'}
    assert failed == {'mail05.corp.example': 'mail05.corp.example: StopService SMTPSVC: still stop_pending after 60 s',
                      'never-ran': 'failed before any result was recorded'}


def test_hosts_that_left_the_play_are_failed_even_with_a_result():
    results = {'a': _result('a', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS)}
    entry = report.build_report(results, ['a'], GENERATED, left_play={'a'})['hosts'][0]
    assert (entry['verdict'], entry['status'], entry['error']) == (
        'failed', 'failed', 'the host failed or became unreachable after its result was recorded')
    assert entry['actions'] == KB_ACTIONS


def test_a_result_without_verdict_is_not_counted_compliant():
    entry = report.build_report({'a': {'host': 'a', 'before': KB_BEFORE}}, ['a'], GENERATED)['hosts'][0]
    assert (entry['verdict'], entry['error']) == ('failed', 'the recorded result has no compliance verdict')


def test_mode_is_check_when_every_recorded_host_ran_in_check_mode():
    # The bind_conflict role records predicted actions with changed=false and the host as changed.
    predicted = [dict(a, changed=False) for a in KB_ACTIONS]
    results = {h: dict(_result(h, 'exchange55', KB_BEFORE, KB_BEFORE, predicted, check_mode=True), changed=True) for h in ('a', 'b')}
    data = report.build_report(results, ['a', 'b', 'c'], GENERATED)
    assert data['mode'] == 'check'
    assert (data['summary']['changed'], data['summary']['actions'], data['summary']['predicted']) == (2, 0, 6)
    page = report.render_html(data)
    assert page.count('<td>predicted, not made (check mode)</td>') == 6
    assert page.count('<td data-sort="3">3 predicted</td>') == 2
    assert 'check mode (nothing changed)' in page and '<span>Hosts to change</span>' in page
    case = ET.fromstring(report.render_junit(data)).find('testsuite/testcase')
    assert case.find('system-out').text.splitlines()[1] == 'stop SMTPSVC: running/auto -> stopped/auto (predicted, check mode)'
    results['b']['check_mode'] = False
    assert report.build_report(results, ['a', 'b'], GENERATED)['mode'] == 'mixed'
    assert report.build_report({}, ['c'], GENERATED)['mode'] == 'unknown'


def test_json_round_trips_to_the_data_model():
    results = fleet_results()
    data = report.build_report(results, list(results), GENERATED)
    text = report.render_json(data)
    assert json.loads(text) == data
    assert '"host": "evil<script>alert(\\"x\\")</script>&amp;\'\\u001b]]>"' in text


class _PageParser(html.parser.HTMLParser):
    """Collects what a browser would see: elements, their attributes and text."""

    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []
        self.scripts = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == 'script'

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)


def _parse(page):
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser


def test_html_escapes_hostile_host_names_and_messages():
    results = fleet_results()
    page = report.render_html(report.build_report(results, list(results), GENERATED, title='<b>T</b>'))
    parsed = _parse(page)
    tag_names = [tag for tag, attrs in parsed.tags]
    assert tag_names.count('script') == 1 and tag_names.count('img') == 0 and tag_names.count('b') >= 1
    assert all(not name.startswith('on') for tag, attrs in parsed.tags for name in attrs)
    text = ''.join(parsed.text)
    # The hostile strings are shown as text, control characters made visible.
    assert 'evil<script>alert("x")</script>&amp;\'\\x1b]]>' in text
    assert HOSTILE_MESSAGE in text
    assert 'smtprelay.exe <b>holds</b> TCP 25' in text
    assert '<title>&lt;b&gt;T&lt;/b&gt;</title>' in page
    assert '\x1b' not in page
    # Row links use indexes, never host names.
    anchors = [attrs['href'] for tag, attrs in parsed.tags if tag == 'a']
    assert anchors == ['#host-%d' % i for i in range(len(results))]


def test_html_is_self_contained_and_its_csp_allows_only_its_own_script_and_style():
    results = fleet_results()
    page = report.render_html(report.build_report(results, list(results), GENERATED))
    parsed = _parse(page)
    for tag, attrs in parsed.tags:
        assert 'src' not in attrs, tag
        assert not attrs.get('href', '#').split('#')[0], (tag, attrs)
    assert not re.search(r'url\(|@import|<link', page)
    csp = [attrs['content'] for tag, attrs in parsed.tags if tag == 'meta' and attrs.get('http-equiv') == 'Content-Security-Policy']
    assert csp == ["default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'"
                   % (report._csp_hash(report.CSS), report._csp_hash(report.SCRIPT))]
    assert parsed.scripts == [report.SCRIPT]
    assert '<style>%s</style>' % report.CSS in page


def test_html_has_summary_chart_table_and_kb_references():
    results = fleet_results()
    data = report.build_report(results, list(results) + ['never-ran'], GENERATED)
    page = report.render_html(data)
    parsed = _parse(page)
    cards = re.findall(r'<div class="card (\w+)"><b>(\d+)</b>', page)
    assert cards == [('hosts', '7'), ('compliant', '3'), ('noncompliant', '2'), ('failed', '2'), ('changed', '3'), ('flagged', '2')]
    rects = re.findall(r'<rect class="seg (\w+)"[^>]*><title>(\w+) [^:]+: (\d+)</title>', page)
    assert rects == [('compliant', 'Before', '1'), ('noncompliant', 'Before', '5'), ('unknown', 'Before', '1'),
                     ('compliant', 'After', '3'), ('noncompliant', 'After', '2'), ('failed', 'After', '2')]
    rows = re.search(r'<table id="hosts">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert rows.count('<tr>') == 7
    assert [attrs.get('id') for tag, attrs in parsed.tags if tag == 'details'] == ['host-%d' % i for i in range(7)]
    assert 'KB Q222553 \u00a7 resolution &ldquo;Verify that the Windows NT SMTP service is not running' in page
    assert '<td>set_start_mode</td><td><code>SMTPSVC</code></td><td>stopped/auto</td><td>stopped/disabled</td><td>changed</td>' in page


def test_findings_without_kb_section_have_no_kb_line():
    gap = {'code': 'DATA_GAP', 'severity': 'warning', 'message': 'Win32_NTLogEvent could not be read: access denied.', 'kb_section': None}
    assert report._finding_html(gap) == ('<li><span class="sev warning">warning</span> <code>DATA_GAP</code> '
                                         'Win32_NTLogEvent could not be read: access denied.</li>')
    assert report._finding_html(dict(gap, code='PORT_FREE', kb_section='Cause')).endswith(
        '<span class="kb">KB Q222553 \u00a7 Cause &ldquo;This usually indicates another service is already bound to port 25.&rdquo;</span></li>')


def test_html_chart_of_an_empty_report():
    page = report.render_html(report.build_report({}, [], GENERATED))
    assert '<rect class="seg unknown"' in page and '<tbody></tbody>' in page


def test_junit_structure():
    results = fleet_results()
    data = report.build_report(results, list(results) + ['never-ran'], GENERATED, title='Nightly', version='9.9.9')
    text = report.render_junit(data)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(text.encode('utf-8'))
    assert root.tag == 'testsuites'
    assert {k: root.get(k) for k in ('name', 'tests', 'failures', 'errors')} == {'name': 'Nightly', 'tests': '7', 'failures': '2', 'errors': '2'}
    suites = root.findall('testsuite')
    assert len(suites) == 1
    assert suites[0].get('timestamp') == GENERATED
    assert {p.get('name'): p.get('value') for p in suites[0].find('properties')} == {
        'collection': 'mailops.port25', 'collection_version': '9.9.9', 'mode': 'apply'}
    cases = suites[0].findall('testcase')
    assert [c.get('name') for c in cases] == [report.printable(h) for h in list(results) + ['never-ran']]
    assert cases[5].get('name') == 'evil<script>alert("x")</script>&amp;\'\\x1b]]>'
    outcome = {c.get('name'): [child.tag for child in c if child.tag != 'system-out'] for c in cases}
    assert outcome == {'mail01.corp.example': [], 'mail02.corp.example': ['failure'], 'ex2003.corp.example': [],
                       'ex2019.corp.example': [], 'mail05.corp.example': ['error'], cases[5].get('name'): ['failure'],
                       'never-ran': ['error']}
    failure = cases[1].find('failure')
    assert failure.get('message') == 'PORT_HELD_BY_ANTIVIRUS; MAIL_SERVICE_NOT_RUNNING'
    assert 'FLAG ANTIVIRUS_HOLDS_PORT' in failure.text
    assert cases[4].find('error').get('message') == 'mail05.corp.example: StopService SMTPSVC: still stop_pending after 60 s'
    assert cases[6].find('error').get('message') == 'failed before any result was recorded'
    assert cases[5].find('failure').text == ('[error] PORT_HELD_BY_OTHER: %s\nFLAG UNKNOWN_OWNER: smtprelay.exe <b>holds</b> TCP 25 '
                                             'Find out what it is.' % HOSTILE_MESSAGE)
    assert cases[0].find('system-out').text.splitlines() == [
        'verdict before: noncompliant, after: compliant', 'stop SMTPSVC: running/auto -> stopped/auto',
        'set_start_mode SMTPSVC: stopped/auto -> stopped/disabled', 'start MSExchangeIMC: stopped/auto -> running/auto']


def test_printable_makes_control_characters_visible():
    assert report.printable('a\x00b\x1b\tc\n\ud800\uffff') == 'a\\x00b\\x1b\tc\n\\ud800\\uffff'
    assert report.printable(None) == ''


def test_collection_version_comes_from_galaxy_yml():
    root = os.path.join(os.path.dirname(report.__file__), '..', '..')
    with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
        assert report.collection_version() == str(yaml.safe_load(handle)['version'])


class _LazyHostVars:
    """Behaves like Ansible's HostVars: item access per host, then .get() on that host's variables."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, host):
        return self._data[host]

    def __contains__(self, host):
        return host in self._data


def test_filter_reads_hostvars_and_renders_each_output():
    results = fleet_results()
    hostvars = _LazyHostVars({h: {'bind_conflict_result': r, 'other': 1} for h, r in results.items()})
    hostvars._data['down'] = {'ansible_host': '192.0.2.1'}
    hosts = ['mail01.corp.example', 'down']
    data = report.port25_report(hosts, hostvars, generated=GENERATED, play_hosts=hosts + ['mail02.corp.example'],
                                active_hosts=['mail02.corp.example'])
    assert [(h['host'], h['verdict'], h['error']) for h in data['hosts']] == [
        ('mail01.corp.example', 'failed', report.LEFT_PLAY_ERROR), ('down', 'failed', report.NO_RESULT_ERROR)]
    assert json.loads(report.port25_report(hosts, hostvars, 'json', GENERATED)) == report.port25_report(hosts, hostvars, generated=GENERATED)
    assert report.port25_report(hosts, hostvars, 'html', GENERATED).startswith('<!DOCTYPE html>')
    assert ET.fromstring(report.port25_report(hosts, hostvars, 'junit', GENERATED).encode()).get('tests') == '2'
    hostvars._data['odd'] = {'bind_conflict_result': 'not a mapping'}
    assert [(h['host'], h['error']) for h in report.port25_report(['typo', 'odd'], hostvars, generated=GENERATED)['hosts']] == [
        ('typo', 'the host is not in the inventory'), ('odd', 'failed before any result was recorded')]
    # Without active_hosts nothing is inferred from the play.
    assert report.port25_report(['mail01.corp.example'], hostvars, generated=GENERATED)['hosts'][0]['verdict'] == 'compliant'


@pytest.mark.parametrize('args, kwargs, message', [
    ((['a'], {}), {'output': 'pdf', 'generated': GENERATED}, "output must be one of data, json, html, junit, got 'pdf'"),
    (('a', {}), {'generated': GENERATED}, 'the input must be a list of host names, got str'),
    ((['a'], 42), {'generated': GENERATED}, 'hostvars must be the hostvars mapping, got int'),
    ((['a'], {}), {}, 'generated (the report time, ISO 8601 UTC) is required'),
])
def test_filter_rejects_bad_arguments(args, kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        report.port25_report(*args, **kwargs)
    assert message in str(err.value)


def test_build_report_does_not_modify_its_input():
    results = fleet_results()
    snapshot = copy.deepcopy(results)
    report.render_html(report.build_report(results, list(results), GENERATED))
    assert results == snapshot


def test_filter_module_exports_the_filter():
    assert report.FilterModule().filters() == {'port25_report': report.port25_report}


def test_execution_environment_pins_the_tested_versions():
    """The EE that runs the report (and everything else) in AWX must ship the versions the suite tests."""
    root = os.path.join(os.path.dirname(report.__file__), '..', '..')
    with open(os.path.join(root, 'execution-environment.yml'), encoding='utf-8') as handle:
        ee = yaml.safe_load(handle)
    with open(os.path.join(root, 'requirements', 'dev.txt'), encoding='utf-8') as handle:
        pairs = (line.split('#')[0].strip().split('==', 1) for line in handle if '==' in line.split('#')[0])
        tested = {name.lower().replace('_', '-'): version for name, version in pairs}
    assert ee['version'] == 3
    pins = dict(p.split('==', 1) for p in ee['dependencies']['python'] + [ee['dependencies']['ansible_core']['package_pip']])
    assert pins == {name: tested[name] for name in ('pywinrm', 'requests-ntlm', 'pyspnego', 'ansible-core', 'pykerberos',
                                                    'gssapi', 'krb5', 'requests-credssp')}
    assert ee['additional_build_files'] == [{'src': 'build/mailops-port25-*.tar.gz', 'dest': 'collections'}]


# ---------------------------------------------------------------- report_write action

class _NoConnection:
    """The action writes on the controller itself: any use of the connection but _shell fails the test."""

    _shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


def _write_report(args, hostvars, check_mode=False):
    task = types.SimpleNamespace(args=dict(args), check_mode=check_mode, diff=False, async_val=0,
                                 action='mailops.port25.report_write', delegate_to='localhost')
    plugin = report_write.ActionModule(task, _NoConnection(), None, DataLoader(), Templar(loader=DataLoader()), None)
    return plugin.run(task_vars={'hostvars': hostvars})


@pytest.fixture(name='frozen_time')
def _frozen_time(monkeypatch):
    monkeypatch.setattr(report_write, 'report_time', lambda: GENERATED)


@pytest.mark.usefixtures('frozen_time')
def test_report_write_builds_once_and_writes_the_three_documents(tmp_path):
    results = fleet_results()
    hostvars = {h: {'bind_conflict_result': r} for h, r in results.items()}
    hosts = list(results) + ['never-ran']
    dest = tmp_path / 'new' / 'dir'
    result = _write_report({'dest': str(dest), 'hosts': hosts, 'title': 'Nightly', 'play_hosts': hosts, 'active_hosts': hosts},
                           hostvars)
    expected = report.port25_report(hosts, hostvars, generated=GENERATED, title='Nightly', play_hosts=hosts, active_hosts=hosts)
    paths = {'json': str(dest / 'port25-report.json'), 'html': str(dest / 'port25-report.html'), 'junit': str(dest / 'port25-report.xml')}
    assert result == {'changed': True, 'output': dict(paths, dir=str(dest), summary=expected['summary'])}
    assert sorted(p.name for p in dest.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']
    assert (dest / 'port25-report.json').read_text(encoding='utf-8') == report.render_json(expected)
    assert (dest / 'port25-report.html').read_text(encoding='utf-8') == report.render_html(expected)
    assert (dest / 'port25-report.xml').read_text(encoding='utf-8') == report.render_junit(expected)
    assert {oct(os.stat(p).st_mode & 0o777) for p in paths.values()} == {'0o644'}
    # The same report again changes nothing.
    mtimes = {p: os.stat(p).st_mtime_ns for p in paths.values()}
    again = _write_report({'dest': str(dest), 'hosts': hosts, 'title': 'Nightly', 'play_hosts': hosts, 'active_hosts': hosts},
                          hostvars)
    assert again['changed'] is False and {p: os.stat(p).st_mtime_ns for p in paths.values()} == mtimes


@pytest.mark.usefixtures('frozen_time')
def test_report_write_only_replaces_the_files_that_differ(tmp_path):
    results = fleet_results()
    hostvars = {h: {'bind_conflict_result': r} for h, r in results.items()}
    _write_report({'dest': str(tmp_path), 'hosts': list(results)}, hostvars)
    (tmp_path / 'port25-report.xml').write_text('stale', encoding='utf-8')
    json_mtime = os.stat(str(tmp_path / 'port25-report.json')).st_mtime_ns
    assert _write_report({'dest': str(tmp_path), 'hosts': list(results)}, hostvars)['changed'] is True
    assert ET.parse(str(tmp_path / 'port25-report.xml')).getroot().get('tests') == str(len(results))
    assert os.stat(str(tmp_path / 'port25-report.json')).st_mtime_ns == json_mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']


@pytest.mark.usefixtures('frozen_time')
def test_report_write_in_check_mode_writes_nothing(tmp_path):
    result = _write_report({'dest': str(tmp_path / 'out'), 'hosts': ['a']}, {'a': {}}, check_mode=True)
    assert result['changed'] is True and result['output']['summary']['failed'] == 1
    assert not (tmp_path / 'out').exists()


def test_report_write_resolves_a_relative_dest_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _write_report({'dest': 'reports', 'hosts': []}, {})
    assert result['output']['dir'] == str(tmp_path.resolve() / 'reports')
    assert json.loads((tmp_path / 'reports' / 'port25-report.json').read_text(encoding='utf-8'))['summary']['hosts'] == 0


def test_report_write_names_the_directory_it_cannot_write(tmp_path):
    (tmp_path / 'taken').write_text('a file', encoding='utf-8')
    result = _write_report({'dest': str(tmp_path / 'taken'), 'hosts': ['a']}, {'a': {}})
    assert result == {'failed': True, 'msg': 'cannot write the report into %s: File exists' % (tmp_path / 'taken')}
    assert (tmp_path / 'taken').read_text(encoding='utf-8') == 'a file'


def test_report_write_rejects_bad_arguments(tmp_path):
    with pytest.raises(AnsibleActionFail, match='missing required arguments: hosts'):
        _write_report({'dest': str(tmp_path)}, {})
    with pytest.raises(AnsibleActionFail, match='Unsupported parameters'):
        _write_report({'dest': str(tmp_path), 'hosts': [], 'output': 'pdf'}, {})
    assert not list(tmp_path.iterdir())


def test_filter_reads_real_hostvars_as_recorded_without_templating(tmp_path):
    """Ansible's own HostVars: facts are read once as recorded, and text that looks like a template stays text."""
    inventory_file = tmp_path / 'inventory.ini'
    inventory_file.write_text('[fleet]\nmail01\nmail02\n', encoding='utf-8')
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(inventory_file)])
    variables = VariableManager(loader=loader, inventory=inventory)
    recorded = _result('mail01', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS)
    recorded['flags'] = [{'code': 'UNKNOWN_OWNER', 'message': trust_as_template('{{ 6 * 7 }}'), 'advice': 'look'}]
    variables.set_nonpersistent_facts('mail01', {'bind_conflict_result': recorded})
    data = report.port25_report(['mail01', 'mail02', 'typo'], HostVars(inventory, variables, loader), generated=GENERATED)
    assert [(h['host'], h['verdict'], h['error']) for h in data['hosts']] == [
        ('mail01', 'compliant', None), ('mail02', 'failed', report.NO_RESULT_ERROR), ('typo', 'failed', report.NOT_IN_INVENTORY)]
    assert data['hosts'][0]['flags'] == [{'code': 'UNKNOWN_OWNER', 'message': '{{ 6 * 7 }}', 'advice': 'look'}]
    assert data['hosts'][0]['actions'] == KB_ACTIONS
