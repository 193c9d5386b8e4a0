# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JUnit XML view: one case per host, outcome by verdict and waiver, times from the records."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET

from ansible_collections.mailops.port25.plugins.plugin_utils.report import junit, model, waivers
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    GENERATED, HOSTILE_MESSAGE, WSP_ACTIONS, WSP_BEFORE, fleet_results, port_results, record)


def _cases(report):
    root = ET.fromstring(junit.render(report).encode('utf-8'))
    return root, root.find('testsuite'), {c.get('name'): c for c in root.iter('testcase')}


def test_structure_outcomes_and_times():
    results = fleet_results()
    for index, name in enumerate(results):
        results[name]['duration'] = 1.25 * (index + 1)
    report = model.build_report(results, list(results) + ['never-ran'], GENERATED, title='Nightly', version='9.9.9',
                                run={'id': 'run-7', 'slice': {'number': 2, 'count': 4}})
    root, suite, cases = _cases(report)
    assert {k: root.get(k) for k in ('name', 'tests', 'failures', 'errors', 'skipped', 'time')} == {
        'name': 'Nightly', 'tests': '7', 'failures': '2', 'errors': '2', 'skipped': '0', 'time': '26.250'}
    assert suite.get('timestamp') == GENERATED
    assert {p.get('name'): p.get('value') for p in suite.find('properties')} == {
        'collection': 'mailops.port25', 'collection_version': '9.9.9', 'mode': 'apply', 'run_id': 'run-7', 'slice': '2/4'}
    assert cases['mail01.corp.example'].get('time') == '1.250' and cases['never-ran'].get('time') == '0.000'
    hostile = next(name for name in cases if name.startswith('evil'))
    assert hostile == 'evil<script>alert("x")</script>&amp;\'\\u001b]]>'
    outcome = {name: [child.tag for child in case if child.tag != 'system-out'] for name, case in cases.items()}
    assert outcome == {'mail01.corp.example': [], 'mail02.corp.example': ['failure'], 'ex2003.corp.example': [],
                       'ex2019.corp.example': [], 'mail05.corp.example': ['error'], hostile: ['failure'], 'never-ran': ['error']}
    failure = cases['mail02.corp.example'].find('failure')
    assert failure.get('message') == 'PORT_HELD_BY_ANTIVIRUS; MAIL_SERVICE_NOT_RUNNING'
    assert 'FLAG ANTIVIRUS_HOLDS_PORT' in failure.text
    assert cases[hostile].find('failure').text.startswith('[error] PORT_HELD_BY_OTHER: %s' % HOSTILE_MESSAGE)
    assert cases['mail01.corp.example'].find('system-out').text.splitlines() == [
        'verdict before: noncompliant, after: compliant', 'stop SMTPSVC: running/auto -> stopped/auto',
        'set_start_mode SMTPSVC: stopped/auto -> stopped/disabled', 'start MSExchangeIMC: stopped/auto -> running/auto']


def test_waived_hosts_are_skipped_and_an_expired_waiver_fails_again():
    results = fleet_results()
    report = model.build_report(results, list(results), GENERATED)
    rules = waivers.parse('''
- {host: mail02.corp.example, code: [PORT_HELD_BY_ANTIVIRUS, MAIL_SERVICE_NOT_RUNNING], reason: vendor case, by: ops, expires: 2026-12-31}
- {host: "evil*", code: PORT_HELD_BY_OTHER, reason: relay goes away, by: kim, expires: 2026-11-01}
''')
    waivers.apply(report, rules, datetime.date(2026, 11, 28))
    model.refresh_summary(report)
    root, _suite, cases = _cases(report)
    assert (root.get('failures'), root.get('skipped')) == ('1', '1')
    skipped = cases['mail02.corp.example'].find('skipped')
    assert skipped.get('message') == 'waived: waived until 2026-12-31 by ops: vendor case'
    hostile = next(case for name, case in cases.items() if name.startswith('evil'))
    assert hostile.find('failure').get('message') == 'PORT_HELD_BY_OTHER (waiver expired 2026-11-01)'


def test_text_xml_cannot_carry_is_escaped():
    assert junit.xml_text('a\x00b\ud800\uffff\tc') == 'a\\u0000b\\ud800\\uffff\tc'


EXCHANGE = '"220 ex2019.corp.example Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 16:19:58 +0000" ' \
           '(as expected: the Microsoft Exchange transport (Exchange 2007 or later))'
FET_PORT = 'MSExchangeFrontEndTransport): OK - mail service: MSExchangeFrontendTransport.exe (MSExchangeFrontEndTransport); greeting '
IMS = '"220 ex55-wsp.corp.example ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready" ' \
      '(as expected: the Microsoft Exchange Internet Mail Service (Exchange 4.0-5.5))'


def test_a_conflict_on_2525_is_named_by_its_port_in_the_failure():
    _root, _suite, cases = _cases(model.build_report(port_results(), list(port_results()), GENERATED))
    failure = cases['ex2019.corp.example'].find('failure')
    assert failure.get('message') == 'SMTP_SERVICE_ENABLED; PORT_HELD_BY_SMTP_SERVICE (port 2525); MAIL_SERVICE_NOT_RUNNING'
    assert failure.text.splitlines()[0] == 'CONFLICT port 2525: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)'
    assert cases['ex2019.corp.example'].find('system-out').text.splitlines() == [
        'verdict before: noncompliant, after: noncompliant',
        'port 25 (expected ' + FET_PORT + EXCHANGE,
        'port 587 (expected ' + FET_PORT + EXCHANGE,
        'port 717 (expected MSExchangeFrontEndTransport): Free: nothing listens - nobody (port free)',
        'port 2525 (expected MSExchangeTransport): Conflict - SMTP service: inetinfo.exe (IISADMIN, SMTPSVC); greeting "220 '
        'ex2019.corp.example Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at Sat, 28 Nov 2026 16:19:58 +0000" (names '
        'the Microsoft SMTP Service of IIS (also the Exchange 2000/2003 transport), not the Microsoft Exchange transport (Exchange '
        '2007 or later))',
        'port 465 (expected MSExchangeTransport): Free: nothing listens - nobody (port free)',
        'port 475 (expected MSExchangeDelivery): OK - mail service: MSExchangeDelivery.exe (MSExchangeDelivery); greeting ' + EXCHANGE,
        'stop SMTPSVC: running/auto -> stopped/auto (predicted, check mode)',
        'set_start_mode SMTPSVC: stopped/auto -> stopped/disabled (predicted, check mode)',
        'start MSExchangeTransport: stopped/auto -> running/auto (predicted, check mode)']
    fixed = cases['ex2019-fixed.corp.example']
    assert [child.tag for child in fixed] == ['system-out']
    assert fixed.find('system-out').text.splitlines()[4] == (
        'port 2525 (expected MSExchangeTransport): OK - mail service: MSExchangeTransport.exe (MSExchangeTransport) (before: '
        'Conflict - SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)); greeting ' + EXCHANGE)


def test_the_kb_proxy_host_names_the_port_host_of_its_conflict_and_actions():
    check = dict(record('ex55-wsp', 'exchange55', WSP_BEFORE, WSP_BEFORE, [dict(a, changed=False) for a in WSP_ACTIONS],
                        check_mode=True), port_host='wsp-proxy')
    results = dict(port_results(), **{'ex55-wsp-check': check})
    _root, _suite, cases = _cases(model.build_report(results, list(results), GENERATED))
    failure = cases['ex55-wsp-check'].find('failure')
    assert failure.get('message') == ('MAIL_SERVICE_NOT_RUNNING; PORT_HELD_BY_SMTP_SERVICE (port 25 on wsp-proxy); '
                                      'SMTP_SERVICE_ENABLED (on wsp-proxy)')
    assert failure.text.splitlines()[0] == (
        'CONFLICT port 25 on wsp-proxy: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, W3PROXY, W3SVC) on wsp-proxy')
    assert cases['ex55-wsp'].find('system-out').text.splitlines() == [
        'verdict before: noncompliant, after: compliant', 'port host: wsp-proxy',
        'port 25 on wsp-proxy (expected MSExchangeIMC): OK - mail service: wspsrv.exe (WSPSRV) on wsp-proxy (for MSExchangeIMC) '
        '(before: Conflict - SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, W3PROXY, W3SVC) on wsp-proxy); greeting ' + IMS,
        'stop SMTPSVC on wsp-proxy: running/auto -> stopped/auto', 'set_start_mode SMTPSVC on wsp-proxy: stopped/auto -> stopped/disabled',
        'start MSExchangeIMC: stopped/auto -> running/auto']
    alone = cases['ex55-wsp-alone']
    assert alone.find('failure').get('message') == 'REMOTE_BIND_PORT_HOST_NOT_SET'
    assert alone.find('system-out').text.splitlines()[1] == (
        'port 25 on WSP-PROXY (expected MSExchangeIMC): Not checked: bound on another host: set the port host - not checked')
