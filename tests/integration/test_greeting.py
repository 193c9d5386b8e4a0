# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof on the wire and every listener of the profile, against the lab: KB Q146157's silent conflict found by the
greeting, greetings read with Python's smtplib matching the owner before and after a fix, a conflict on 2525 on an
Exchange 2019 host found and fixed, the greeting check's timeouts and a listener that accepts and never greets."""

from __future__ import annotations

import copy

from winlab.testing import require_smtp, smtp_greeting

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, adhoc_process, calls, collection_playbook, fleet, make_env, renamed, scenario_hosts, services, state_bytes,
    written_report)

EXCHANGE = ' Microsoft ESMTP MAIL Service ready at '
SCAN = '{fqdn} ESMTP MailScan 7 gateway ready'


def with_process(host, name, **process):
    """A copy of a scenario host with one more program (an interceptor, a silent listener)."""
    host = renamed(host, name)
    host['processes'] = list(host.get('processes') or []) + [dict({'name': 'mailscan.exe'}, **process)]
    return host


def ex2019_2525():
    """Exchange 2019 where an IIS SMTP virtual server was moved to 2525 (out of the front end's way on 25) and so took
    the Transport service's port: the Transport service failed with 1019/1018 on 0.0.0.0:2525."""
    host = renamed(scenario_hosts('ex2019-iis-smtp')[0], 'ex2019-2525')
    bind_events = [
        {'log': 'Application', 'source': 'MSExchangeTransport', 'event_id': 1019, 'type': 'error',
         'message': 'Failed to start listening (Error: 10048). Binding: 0.0.0.0:2525.'},
        {'log': 'Application', 'source': 'MSExchangeTransport', 'event_id': 1018, 'type': 'error',
         'message': 'The address is already in use. Binding: 0.0.0.0:2525.'}]
    for svc in host['services']:
        if svc['name'] == 'SMTPSVC':
            svc['listens'] = [2525]
        elif svc['name'] == 'MSExchangeFrontEndTransport':
            svc.update(state='running', listens=[25, 587, 717], exit_code=0)
        elif svc['name'] == 'MSExchangeTransport':
            svc.update(state='stopped', exit_code=1066, on_bind_failure=bind_events)
    host['events'] = [e for e in host['events'] if e['event_id'] not in (1018, 1019, 7024)] + [
        dict(event, time='-20m') for event in bind_events]
    return host


def test_greetings_prove_the_owner_find_the_silent_conflict_and_follow_the_fixes(tmp_path):
    healthy = scenario_hosts('ex55-healthy')[0]
    silent = with_process(healthy, 'ex55-silent', intercepts=[25], banner=SCAN)
    with fleet(tmp_path, scenario_hosts(KB_HOST) + [silent, ex2019_2525()]) as lab:
        require_smtp(lab)
        address = dict((name, host['ansible_host']) for name, host in lab.hosts.items())

        # Before: smtplib and the collection read the same greeting; on the KB host it is the SMTP service's.
        code, text = smtp_greeting(address[KB_HOST])
        assert code == 220 and ' Microsoft ESMTP MAIL Service, Version: ' in text
        before = collection_playbook('compliance', lab.inventory_path, tmp_path, 'before')
        assert before.rc == 0, before.output
        kb = before.hosts()[KB_HOST]['before']
        undated = text.split(' ready at ')[0]     # the same greeting, a second later
        assert (kb['greeting']['text'].split(' ready at ')[0], kb['greeting']['software'], kb['greeting']['matches']) == (
            undated, 'iis_smtp', False)
        assert 'GREETING_OTHER_PROGRAM' not in [f['code'] for f in kb['findings']]   # WMI already shows that conflict

        # KB Q146157's silent conflict: WMI says the IMS holds 25 and it runs; another program answers.
        silent_entry = before.hosts()['ex55-silent']
        assert silent_entry['before']['owner']['kind'] == 'mail_service' and silent_entry['verdict'] == 'noncompliant'
        found = [f for f in silent_entry['findings'] if f['code'] == 'GREETING_OTHER_PROGRAM']
        assert len(found) == 1 and found[0]['severity'] == 'error'
        assert 'answers "ex55-silent.lab.test ESMTP MailScan 7 gateway ready"' in found[0]['message']
        assert smtp_greeting(address['ex55-silent']) == (220, 'ex55-silent.lab.test ESMTP MailScan 7 gateway ready')

        # Every listener of the Exchange 2019 profile, each with its owner and verdict: 2525 is the conflict.
        ex2019 = before.hosts()['ex2019-2525']['before']
        assert [(p['port'], p['service'], p['verdict']) for p in ex2019['ports']] == [
            (25, 'MSExchangeFrontEndTransport', 'ok'), (587, 'MSExchangeFrontEndTransport', 'ok'),
            (717, 'MSExchangeFrontEndTransport', 'ok'), (2525, 'MSExchangeTransport', 'conflict'),
            (465, 'MSExchangeTransport', 'free'), (475, 'MSExchangeDelivery', 'ok')]
        assert [(f['code'], f.get('port')) for f in ex2019['findings'] if f['severity'] == 'error'] == [
            ('SMTP_SERVICE_ENABLED', None), ('PORT_HELD_BY_SMTP_SERVICE', 2525), ('MAIL_SERVICE_NOT_RUNNING', None)]
        assert 'MSExchangeTransport is stopped' in [f for f in ex2019['findings'] if f['code'] == 'MAIL_SERVICE_NOT_RUNNING'][0]['message']
        assert ex2019['ports'][3]['greeting']['software'] == 'iis_smtp'
        # The written report shows every port with its owner and verdict, and names 2525 as the conflict.
        pages, cases = written_report(before.report_dir)
        fet = 'mail service: MSExchangeFrontendTransport.exe (MSExchangeFrontEndTransport)'
        assert [p[:4] for p in pages['ex2019-2525']['ports']] == [
            ['25', 'MSExchangeFrontEndTransport', fet, 'ok'], ['587', 'MSExchangeFrontEndTransport', fet, 'ok'],
            ['717', 'MSExchangeFrontEndTransport', fet, 'ok'],
            ['2525', 'MSExchangeTransport', 'SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)', 'conflict'],
            ['465', 'MSExchangeTransport', 'nobody (port free)', 'free'],
            ['475', 'MSExchangeDelivery', 'mail service: MSExchangeDelivery.exe (MSExchangeDelivery)', 'ok']]
        assert pages['ex2019-2525']['conflicts'] == ['port 2525: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)']
        assert cases['ex2019-2525'].find('failure').get('message') == (
            'SMTP_SERVICE_ENABLED; PORT_HELD_BY_SMTP_SERVICE (port 2525); MAIL_SERVICE_NOT_RUNNING')

        fix = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix')
        assert fix.rc == 0, fix.output
        made = fix.hosts()

        # After: the KB host greets as the IMS, for smtplib and in the record (the last step of the verification).
        code, text = smtp_greeting(address[KB_HOST])
        assert (code, text) == (220, 'ex55-smtp.lab.test ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready')
        after = made[KB_HOST]['after']['greeting']
        assert (after['text'], after['software'], after['matches']) == (text, 'exchange55_ims', True)

        # 2525 fixed: SMTPSVC stopped and disabled, the Transport service started and answering on 2525 and 465.
        assert [(a['action'], a['service']) for a in made['ex2019-2525']['actions']] == [
            ('stop', 'SMTPSVC'), ('set_start_mode', 'SMTPSVC'), ('start', 'MSExchangeTransport')]
        assert made['ex2019-2525']['verdict'] == 'compliant' and made['ex2019-2525']['error'] is None
        assert services(lab, 'ex2019-2525')['SMTPSVC'] == ('Stopped', 'Disabled')
        assert services(lab, 'ex2019-2525')['MSExchangeTransport'] == ('Running', 'Auto')
        for port in (2525, 465):
            code, text = smtp_greeting(address['ex2019-2525'], port)
            assert code == 220 and text.startswith('ex2019-2525.lab.test' + EXCHANGE)
        assert [(p['port'], p['verdict'], p['greeting']['matches']) for p in made['ex2019-2525']['after']['ports'][3:5]] == [
            (2525, 'ok', True), (465, 'ok', True)]

        # The silent conflict is not something automation fixes: nothing changed, still flagged by its greeting.
        assert made['ex55-silent']['actions'] == [] and made['ex55-silent']['verdict'] == 'noncompliant'


def test_greeting_timeouts_a_silent_listener_and_an_unreachable_port(tmp_path):
    healthy = scenario_hosts('ex55-healthy')[0]
    tarpit = with_process(healthy, 'ex55-tarpit', intercepts=[25], banner='')
    with fleet(tmp_path, [tarpit]) as lab:
        require_smtp(lab)
        pristine = state_bytes(lab, ['ex55-tarpit'])
        for bad in (0, 121):
            proc = adhoc_process(lab.inventory_path, 'ex55-tarpit', 'mailops.port25.conflict_info', {'greeting_timeout': bad})
            assert proc.returncode != 0 and 'greeting_timeout must be a number of seconds from 1 to 120' in proc.stdout
        _run, results = calls(make_env(), tmp_path, lab.inventory_path, {'ex55-tarpit': {
            'silent': ('conflict_info', {'greeting_timeout': 2}, None),
            'off': ('conflict_info', {'greeting': False}, None),
            'pattern': ('conflict_info', {'greeting_pattern': '('}, None)}})
        silent = results['ex55-tarpit']['silent']
        assert silent['greeting']['error'] == 'connected, but no greeting within 2 s'
        assert [(f['code'], f['severity']) for f in silent['findings'] if f['code'].startswith('GREETING')] == [('GREETING_MISSING', 'error')]
        assert silent['compliant'] is False
        off = results['ex55-tarpit']['off']
        assert off['greeting'] is None and off['compliant'] is True
        assert 'greeting_pattern is not a valid regular expression' in results['ex55-tarpit']['pattern']['msg']
        assert state_bytes(lab, ['ex55-tarpit']) == pristine


def test_an_unreachable_greeting_is_only_a_warning(tmp_path):
    healthy = copy.deepcopy(scenario_hosts('ex55-healthy')[0])
    for svc in healthy['services']:
        if svc['name'] == 'MSExchangeIMC':
            svc['listens'] = [25, 2626]     # 2626 is no SMTP port of the lab's wire: nothing answers there
    with fleet(tmp_path, [healthy]) as lab:
        require_smtp(lab)
        _run, results = calls(make_env(), tmp_path, lab.inventory_path, {'ex55-healthy': {
            'diag': ('conflict_info', {'greeting_timeout': 2, 'ports': [{'port': 2626}]}, None)}})
        diag = results['ex55-healthy']['diag']
        assert [(p['port'], p['verdict']) for p in diag['ports']] == [(25, 'ok'), (2626, 'ok')]
        assert diag['ports'][1]['greeting']['error'].startswith('cannot connect: ')
        assert [(f['code'], f['severity'], f['port']) for f in diag['findings'] if f['code'].startswith('GREETING')] == [
            ('GREETING_UNREADABLE', 'warning', 2626)]
        assert diag['compliant'] is True and diag['greeting']['matches'] is True
