# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The view model of the HTML page: order, grouping, what is open by default, and what each row says."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.plugin_utils.report import model, view, waivers
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    GENERATED, HOSTILE, KB_ACTIONS, KB_BEFORE, WSP_ACTIONS, WSP_BEFORE, fleet_results, port_results, record)

DOCS = 'file:///c/docs/kb-q222553.md'


def _report(results, hosts=None):
    return model.build_report(results, hosts or list(results), GENERATED)


def _strings(data, indexes):
    return [data['s'][i] for i in indexes]


def test_rows_are_sorted_worst_first_then_by_name_in_natural_order():
    results = fleet_results()
    results['mail10.corp.example'] = results['mail01.corp.example']
    rows = view.build(_report(results, list(results) + ['never-ran']))['data']['rows']
    assert [(r['h'], r['v']) for r in rows] == [
        ('mail05.corp.example', 'failed'), ('never-ran', 'failed'),
        # Non-compliant: more error findings first.
        ('mail02.corp.example', 'noncompliant'), (view.printable(HOSTILE), 'noncompliant'),
        ('ex2003.corp.example', 'compliant'), ('ex2019.corp.example', 'compliant'), ('mail01.corp.example', 'compliant'),
        ('mail10.corp.example', 'compliant')]
    assert [r['r'] for r in rows] == sorted(r['r'] for r in rows)


def test_waived_hosts_come_after_the_non_compliant_ones_and_say_waived():
    results = fleet_results()
    report = _report(results)
    waivers.apply(report, waivers.parse('- {host: "mail02.*", code: [PORT_HELD_BY_ANTIVIRUS, MAIL_SERVICE_NOT_RUNNING], '
                                        'reason: vendor case 123, by: ops, expires: 2099-01-01}'),
                  __import__('datetime').date(2026, 11, 28))
    rows = view.build(report)['data']['rows']
    assert [(r['h'], r['v']) for r in rows][1:3] == [(view.printable(HOSTILE), 'noncompliant'), ('mail02.corp.example', 'waived')]
    data = view.build(report)['data']
    assert data['s'][rows[2]['x']] == 'waived: PORT_HELD_BY_ANTIVIRUS, MAIL_SERVICE_NOT_RUNNING'
    finding = rows[2]['d']['f'][0]
    assert data['s'][finding[5]] == 'waived until 2099-01-01 by ops: vendor case 123' and finding[6] == 0


def test_details_are_open_by_default_only_in_a_small_fleet_and_only_where_a_look_is_needed():
    results = fleet_results()
    rows = view.build(_report(results, list(results) + ['never-ran']))['data']['rows']
    # Failed, non-compliant, changed (mail01, ex2019) are open; ex2003 (compliant, no change) is not.
    assert {r['h']: r['op'] for r in rows} == {
        'mail05.corp.example': 1, 'never-ran': 1, 'mail02.corp.example': 1, view.printable(HOSTILE): 1,
        'ex2003.corp.example': 0, 'ex2019.corp.example': 1, 'mail01.corp.example': 1}
    big = {'h%03d' % i: results['mail02.corp.example'] for i in range(view.SMALL_FLEET + 1)}
    assert {r['op'] for r in view.build(_report(big))['data']['rows']} == {0}
    assert view.build(_report(big))['small'] is False


def test_hosts_are_grouped_by_finding_code_with_counts_worst_severity_first():
    results = fleet_results()
    results.update({'av%d' % i: results['mail02.corp.example'] for i in range(20)})
    groups = view.build(_report(results), DOCS)['findings']
    assert [(g['code'], g['severity'], g['hosts']) for g in groups] == [
        ('MAIL_SERVICE_NOT_RUNNING', 'error', 21), ('PORT_HELD_BY_ANTIVIRUS', 'error', 21), ('PORT_HELD_BY_OTHER', 'error', 1),
        ('SMTP_SERVICE_IS_TRANSPORT', 'info', 1)]
    first = groups[0]
    assert len(first['sample']) == view.SAMPLE and first['more'] == 21 - view.SAMPLE
    assert first['kb_href'] == DOCS + '#symptoms' and first['kb_label'] == 'Symptoms'
    assert groups[1]['kb_href'] == DOCS + '#resolution'
    assert groups[3]['kb_href'] is None and groups[3]['kb_label'] is None
    assert view.build(_report(results))['findings'][0]['kb_href'] is None


def test_a_new_finding_code_is_grouped_and_shown_without_any_change():
    state = dict(KB_BEFORE, findings=[{'code': 'GREETING_MISMATCH', 'severity': 'warning', 'message': '220 relay ready',
                                       'kb_section': None, 'port': 25, 'greeting': '220 relay ready'}])
    built = view.build(_report({'a': record('a', 'exchange2013', state, state)}))
    assert [(g['code'], g['severity'], g['hosts']) for g in built['findings']] == [('GREETING_MISMATCH', 'warning', 1)]
    finding = built['data']['rows'][0]['d']['f'][0]
    assert _strings(built['data'], finding[:3]) == ['warning', 'GREETING_MISMATCH', '220 relay ready']


def test_the_cause_of_an_error_comes_first():
    assert view.cause_first('mail05: Stop the SMTP service: StopService SMTPSVC: still stop_pending after 60 s', 'mail05') == (
        'still stop_pending after 60 s', 'Stop the SMTP service: StopService SMTPSVC')
    assert view.cause_first('cannot reach 10.1.2.3:5986 (connection refused)', 'x') == ('cannot reach 10.1.2.3:5986 (connection refused)', None)
    assert view.cause_first(None, 'x') == (None, None)
    rows = view.build(_report(fleet_results()))['data']
    failed = rows['rows'][0]
    assert (rows['s'][failed['x']], rows['s'][failed['xc']]) == ('still stop_pending after 60 s', 'StopService SMTPSVC')


def test_owner_text_names_a_product_once():
    owner = {'kind': 'antivirus', 'process': 'MsMpEng.exe', 'services': ['WinDefend'],
             'product': {'vendor': 'Microsoft', 'product': 'Microsoft Defender Antivirus'}}
    assert view.owner_text(owner) == 'antivirus: MsMpEng.exe (WinDefend) - Microsoft Defender Antivirus'
    assert view.owner_text(dict(owner, product={'vendor': 'Trend Micro', 'product': 'OfficeScan'})).endswith('- Trend Micro OfficeScan')
    assert view.owner_text({'kind': 'none'}) == 'nobody (port free)' and view.owner_text(None) == '-'


def test_flagged_counts_only_hosts_whose_flags_need_a_person():
    results = fleet_results()
    transport = {'code': 'SMTP_SERVICE_IS_TRANSPORT', 'message': 'SMTPSVC is the transport', 'advice': 'leave it'}
    results['ex2003.corp.example']['flags'] = [transport]
    report = _report(results)
    assert report['summary']['flagged'] == 2
    rows = {r['h']: r for r in view.build(report)['data']['rows']}
    assert rows['ex2003.corp.example']['g'] == [] and rows['ex2003.corp.example']['d']['g'][0][3] == 0
    assert rows['mail02.corp.example']['d']['g'][0][3] == 1


@pytest.mark.parametrize('profile, quoted', [('exchange55', True), ('exchange2013', False)])
def test_kb_quotes_naming_the_internet_mail_service_are_shown_only_for_its_profile(profile, quoted):
    rows = view.build(_report({'a': record('a', profile, KB_BEFORE, KB_BEFORE)}))['data']
    findings = {rows['s'][f[1]]: f for f in rows['rows'][0]['d']['f']}
    assert (findings['BIND_FAILURE_EVENTS'][4] >= 0) is quoted
    assert (findings['MAIL_SERVICE_NOT_RUNNING'][4] >= 0) is quoted
    assert findings['PORT_HELD_BY_SMTP_SERVICE'][4] >= 0


def test_check_mode_after_bar_is_the_prediction():
    predicted = [dict(a, changed=False) for a in KB_ACTIONS]
    results = {h: dict(record(h, 'exchange55', KB_BEFORE, KB_BEFORE, predicted, check_mode=True), changed=True) for h in ('a', 'b')}
    results['av'] = dict(fleet_results()['mail02.corp.example'], check_mode=True)
    built = view.build(_report(results))
    rows = built['chart']['rows']
    assert (rows[1]['label'], rows[1]['predicted'], built['chart']['predicted']) == (
        'After (predicted: what a real run would leave)', True, True)
    assert [(s['verdict'], s['count']) for s in rows[0]['segments']] == [('noncompliant', 3)]
    assert [(s['verdict'], s['count']) for s in rows[1]['segments']] == [('compliant', 2), ('noncompliant', 1)]
    cards = {c['cls']: c for c in built['cards']}
    assert cards['changed']['label'] == 'Hosts to change (predicted)' and cards['changed']['count'] == 2
    row = next(r for r in built['data']['rows'] if r['h'] == 'a')
    assert row['cl'] == '3 predicted' and built['data']['s'][row['d']['a'][0][4]] == 'predicted (check mode)'


def test_every_host_string_in_the_view_is_made_printable():
    results = fleet_results()
    results[HOSTILE]['findings'][0] = dict(results[HOSTILE]['findings'][0], message='gnp\u202e.exe\x1b[2J')
    built = view.build(_report(results))
    text = repr(built)
    assert '\x1b' not in text and '\u202e' not in text
    assert 'gnp\\\\u202e.exe\\\\u001b[2J' in text


def test_changes_since_the_previous_run_are_listed_by_kind():
    report = _report(fleet_results())
    report['changes'] = {'previous': {'run_id': 'run-1', 'generated': '2026-11-27T06:15:00Z'}, 'newly_noncompliant': ['mail02.corp.example'],
                         'fixed': ['mail01.corp.example'], 'newly_failed': [], 'new': ['h%03d' % i for i in range(60)], 'gone': ['old']}
    changes = view.build(report)['changes']
    assert changes['previous'] == '2026-11-27T06:15:00Z' and changes['none'] is False
    groups = {g['key']: g for g in changes['groups']}
    assert groups['new']['count'] == 60 and groups['new']['more'] == 60 - len(groups['new']['sample'])
    assert groups['gone']['sample'] == ['old'] and groups['newly_failed']['count'] == 0


def _port_view(name):
    """(row, strings) of one host of port_results(); each port row with its strings looked up."""
    built = view.build(_report(port_results()))
    row = next(r for r in built['data']['rows'] if r['h'] == name)

    def text(index):
        return built['data']['s'][index] if index >= 0 else None

    ports = [[text(p[0]), text(p[1]), text(p[2]), p[3], text(p[4]), text(p[5]), text(p[6]), text(p[7]), text(p[8]), p[9], p[10]]
             for p in row['d']['pt']]
    return row, text, ports


EXCHANGE_HELLO = '220 ex2019.corp.example Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 16:19:58 +0000'
AS_EXPECTED = 'as expected: the Microsoft Exchange transport (Exchange 2007 or later)'
FET_TEXT = 'mail service: MSExchangeFrontendTransport.exe (MSExchangeFrontEndTransport)'
FET, TRANSPORT = 'MSExchangeFrontEndTransport', 'MSExchangeTransport'


def test_every_port_of_an_exchange_2019_host_with_its_owner_verdict_and_greeting():
    row, text, ports = _port_view('ex2019.corp.example')
    assert ports == [
        ['25', FET, FET_TEXT, 'ok', 'OK', None, None, EXCHANGE_HELLO, AS_EXPECTED, 1, 0],
        ['587', FET, FET_TEXT, 'ok', 'OK', None, None, EXCHANGE_HELLO, AS_EXPECTED, 1, 0],
        ['717', FET, 'nobody (port free)', 'free', 'Free', 'nothing listens', None, None, None, -1, 0],
        ['2525', TRANSPORT, 'SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)', 'conflict', 'Conflict', None, None,
         '220 ex2019.corp.example Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at Sat, 28 Nov 2026 16:19:58 +0000',
         'names the Microsoft SMTP Service of IIS (also the Exchange 2000/2003 transport), not the Microsoft Exchange transport '
         '(Exchange 2007 or later)', 0, 1],
        ['465', TRANSPORT, 'nobody (port free)', 'free', 'Free', 'nothing listens', None, None, None, -1, 0],
        ['475', 'MSExchangeDelivery', 'mail service: MSExchangeDelivery.exe (MSExchangeDelivery)', 'ok', 'OK', None, None,
         EXCHANGE_HELLO, AS_EXPECTED, 1, 0]]
    # The row: port 25's owner, the conflict on 2525 under it, and the error codes with their port.
    assert text(row['o']) == FET_TEXT
    assert [text(i) for i in row['cf']] == ['port 2525: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)']
    assert text(row['x']) == 'SMTP_SERVICE_ENABLED, PORT_HELD_BY_SMTP_SERVICE (port 2525), MAIL_SERVICE_NOT_RUNNING'
    assert text(row['ph']) is None and 'gr' not in row['d']


def test_a_fixed_port_shows_what_held_it_before():
    row, text, ports = _port_view('ex2019-fixed.corp.example')
    assert [(p[0], p[2], p[3], p[6]) for p in ports] == [
        ('25', FET_TEXT, 'ok', None), ('587', FET_TEXT, 'ok', None), ('717', 'nobody (port free)', 'free', None),
        ('2525', 'mail service: MSExchangeTransport.exe (MSExchangeTransport)', 'ok',
         'Conflict: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)'),
        ('465', 'mail service: MSExchangeTransport.exe (MSExchangeTransport)', 'ok', 'Free: nobody (port free)'),
        ('475', 'mail service: MSExchangeDelivery.exe (MSExchangeDelivery)', 'ok', None)]
    assert [p[10] for p in ports] == [0] * 6 and row['cf'] == [] and text(row['x']) is None


def test_the_kb_proxy_host_names_the_port_host_on_its_port_owner_and_actions():
    row, text, ports = _port_view('ex55-wsp')
    assert ports == [[
        '25 on wsp-proxy', 'MSExchangeIMC', 'mail service: wspsrv.exe (WSPSRV) on wsp-proxy (for MSExchangeIMC)', 'ok', 'OK', None,
        'Conflict: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, W3PROXY, W3SVC) on wsp-proxy',
        '220 ex55-wsp.corp.example ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready',
        'as expected: the Microsoft Exchange Internet Mail Service (Exchange 4.0-5.5)', 1, 0]]
    assert text(row['ph']) == 'wsp-proxy'
    assert text(row['o']) == 'mail service: wspsrv.exe (WSPSRV) on wsp-proxy (for MSExchangeIMC)'
    assert [[text(c) for c in a[:2]] for a in row['d']['a']] == [
        ['stop', 'SMTPSVC on wsp-proxy'], ['set_start_mode', 'SMTPSVC on wsp-proxy'], ['start', 'MSExchangeIMC']]
    # Before the fix: the cause, on the port host, with its port.
    check = dict(record('ex55-wsp', 'exchange55', WSP_BEFORE, WSP_BEFORE, WSP_ACTIONS, check_mode=True), port_host='wsp-proxy')
    before = view.build(_report({'ex55-wsp': check}))
    first, strings = before['data']['rows'][0], before['data']['s']
    assert strings[first['x']] == ('MAIL_SERVICE_NOT_RUNNING, PORT_HELD_BY_SMTP_SERVICE (port 25 on wsp-proxy), '
                                   'SMTP_SERVICE_ENABLED (on wsp-proxy)')
    assert first['cf'] == []     # the KB's port: its owner is the row's owner
    assert strings[first['o']] == 'SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, W3PROXY, W3SVC) on wsp-proxy'
    assert first['d']['pt'][0][10] == 1


def test_a_remote_bind_without_a_port_host_names_the_proxy_and_says_not_checked():
    row, text, ports = _port_view('ex55-wsp-alone')
    assert ports == [['25 on WSP-PROXY', 'MSExchangeIMC', 'not checked', 'unchecked', 'Not checked',
                      'bound on another host: set the port host', None, None, None, -1, 0]]
    assert text(row['x']) == 'REMOTE_BIND_PORT_HOST_NOT_SET' and text(row['o']) == 'not checked'


def test_a_record_without_port_entries_keeps_the_owner_line_and_shows_its_greeting():
    state = dict(KB_BEFORE, greeting={'code': 220, 'text': 'mail01 ESMTP relay\x1b[2J ready', 'software': 'other',
                                      'software_name': 'another program', 'error': None, 'expected': 'exchange55_ims',
                                      'expected_name': 'the IMS', 'matches': False})
    built = view.build(_report({'a': record('a', 'exchange55', state, state)}))
    details = built['data']['rows'][0]['d']
    assert details['pt'] == []
    assert [built['data']['s'][i] for i in details['gr'][:2]] + details['gr'][2:] == [
        '220 mail01 ESMTP relay\\u001b[2J ready', 'names another program, not the IMS', 0]
    unread = dict(state, greeting={'error': 'connected, but no greeting within 10 s', 'text': None})
    details = view.build(_report({'a': record('a', 'exchange55', unread, unread)}))['data']['rows'][0]['d']
    assert details['gr'][0] == -1 and details['gr'][2] == 0
    assert 'gr' not in view.build(_report({'a': record('a', 'exchange55', KB_BEFORE, KB_BEFORE)}))['data']['rows'][0]['d']


def test_a_read_only_check_run_counts_the_hosts_it_would_change():
    # The compliance playbook's records: check mode, actions predicted, changed=false (the task changes nothing).
    predicted = [dict(a, changed=False) for a in KB_ACTIONS]
    results = {'a': record('a', 'exchange55', KB_BEFORE, KB_BEFORE, predicted, check_mode=True),
               'b': record('b', 'exchange55', KB_BEFORE, KB_BEFORE, check_mode=True)}
    assert results['a']['changed'] is False
    built = view.build(_report(results))
    cards = {c['cls']: c for c in built['cards']}
    assert (cards['changed']['label'], cards['changed']['count']) == ('Hosts to change (predicted)', 1)
