# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KB Q222553's own setup through the playbooks: an Exchange 5.5 host whose IMS binds port 25 on a Proxy Server 2.0
host, where SMTPSVC holds it. Diagnosed with the cause named on the proxy, fixed on both hosts, verified on the wire,
idempotent, rolled back exactly; an antivirus proxy on the proxy server flagged and untouched; two mail hosts that
share one proxy take turns."""

from __future__ import annotations

import copy
import os

import yaml

from winlab.testing import require_smtp, smtp_greeting

from ansible_collections.mailops.port25.tests.integration.helpers import (
    SCENARIO_DIR, adhoc_process, change_keys, collection_playbook, fleet, invoke_requests, processes, services, state_bytes,
    write_inventory, written_report)

KB_FILE = os.path.join(SCENARIO_DIR, 'topology', 'kb-proxy.yml')
MAIL, PROXY = 'ex55-wsp', 'wsp-proxy'
TARGET = {'target': MAIL, 'bind_conflict_port_host': PROXY}
FIX = [
    ('stop', 'SMTPSVC', {'state': 'running', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'auto'}),
    ('set_start_mode', 'SMTPSVC', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'disabled'}),
    ('start', 'MSExchangeIMC', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'running', 'start_mode': 'auto'}),
]
IMS = 'ex55-wsp.lab.test ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready'
PROXY_SMTP = 'SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, W3PROXY, W3SVC) on wsp-proxy'


def kb_hosts():
    with open(KB_FILE, encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    return [dict(data['defaults'], **copy.deepcopy(host)) for host in data['hosts']]


def port_holder(lab, host, port=25):
    """(owner, process image) of a port in a host's state file."""
    state = lab.host_state(host)
    for listener in state['listeners']:
        if listener['port'] == port:
            names = dict((proc['pid'], proc['name']) for proc in state['processes'])
            return listener['owner'], names.get(listener['pid'])
    return None


def codes(findings, host=None):
    return [f['code'] for f in findings if f.get('host') == host]


def test_the_kb_setup_diagnosed_fixed_verified_and_rolled_back(tmp_path):
    with fleet(tmp_path, kb_hosts()) as lab:
        require_smtp(lab)
        inventory = lab.inventory_path
        mail_address, proxy_address = lab.hosts[MAIL]['ansible_host'], lab.hosts[PROXY]['ansible_host']
        pristine = state_bytes(lab, [MAIL, PROXY])
        assert smtp_greeting(proxy_address)[1].startswith('wsp-proxy.lab.test Microsoft ESMTP MAIL Service, Version: ')
        assert smtp_greeting(mail_address) is None

        # Without a port host: the remote bind is found in Wspcfg.ini and the operator is told what to set.
        alone = collection_playbook('compliance', inventory, tmp_path, 'alone', extra={'target': MAIL})
        assert alone.rc == 0, alone.output
        entry = alone.hosts()[MAIL]
        assert 'REMOTE_BIND_PORT_HOST_NOT_SET' in codes(entry['findings'])
        found = [f for f in entry['findings'] if f['code'] == 'REMOTE_BIND_PORT_HOST_NOT_SET'][0]
        assert 'WinSock Proxy server WSP-PROXY' in found['message'] and 'set bind_conflict_port_host' in found['message']
        assert entry['actions'] == [] and entry['verdict'] == 'noncompliant'

        # With it: the cause is named on the proxy host, the fix is predicted on both hosts, nothing changes.
        check = collection_playbook('compliance', inventory, tmp_path, 'check', extra=TARGET)
        assert check.rc == 0, check.output
        entry = check.hosts()[MAIL]
        assert change_keys(entry['actions']) == FIX
        assert [a.get('host') for a in entry['actions']] == [PROXY, PROXY, None]
        assert codes(entry['before']['findings'], PROXY) == ['PORT_HELD_BY_SMTP_SERVICE', 'SMTP_SERVICE_ENABLED']
        held = [f for f in entry['before']['findings'] if f['code'] == 'PORT_HELD_BY_SMTP_SERVICE'][0]
        assert held['message'].startswith('On the port host wsp-proxy: TCP port 25 is held by PID ')
        assert held['kb_section'] == 'Resolution step 1'
        assert state_bytes(lab, [MAIL, PROXY]) == pristine
        assert invoke_requests(lab, MAIL) == [] and invoke_requests(lab, PROXY) == []
        # The written report: the port row and the actions name the port host; JUnit names the port of the conflict.
        pages, cases = written_report(check.report_dir)
        assert pages[MAIL]['ports'] == [['25 on wsp-proxy', 'MSExchangeIMC', PROXY_SMTP, 'conflict', None]]
        assert pages[MAIL]['port_host'] == PROXY and pages[MAIL]['owner'] == PROXY_SMTP
        assert pages[MAIL]['actions'] == [['stop', 'SMTPSVC on wsp-proxy'], ['set_start_mode', 'SMTPSVC on wsp-proxy'],
                                          ['start', 'MSExchangeIMC']]
        failure = cases[MAIL].find('failure')
        assert 'PORT_HELD_BY_SMTP_SERVICE (port 25 on wsp-proxy)' in failure.get('message').split('; ')
        assert failure.text.splitlines()[0] == 'CONFLICT port 25 on wsp-proxy: ' + PROXY_SMTP

        # The fix: SMTPSVC stopped and disabled on the proxy, the IMS running, the proxy's 25 held by WSPSRV.
        fix = collection_playbook('remediate', inventory, tmp_path, 'fix', extra=TARGET)
        assert fix.rc == 0, fix.output
        entry = fix.hosts()[MAIL]
        assert change_keys(entry['actions']) == FIX and entry['error'] is None and entry['verdict'] == 'compliant'
        assert services(lab, PROXY)['SMTPSVC'] == ('Stopped', 'Disabled')
        assert services(lab, PROXY)['IISADMIN'] == ('Running', 'Auto')
        assert services(lab, MAIL)['MSExchangeIMC'] == ('Running', 'Auto')
        assert port_holder(lab, PROXY) == ('remote:ex55-wsp:MSExchangeIMC', 'wspsrv.exe')
        assert port_holder(lab, MAIL) is None
        assert entry['after']['owner']['kind'] == 'mail_service' and entry['after']['owner']['host'] == PROXY
        # Verified on the wire too: the proxy's port 25 greets as the IMS, read by the collection and by smtplib.
        assert smtp_greeting(proxy_address) == (220, IMS)
        assert smtp_greeting(mail_address) is None
        pages, cases = written_report(fix.report_dir)
        assert pages[MAIL]['ports'] == [['25 on wsp-proxy', 'MSExchangeIMC', 'mail service: wspsrv.exe (WSPSRV) on wsp-proxy (for '
                                         'MSExchangeIMC)', 'ok', 'Conflict: ' + PROXY_SMTP]]
        lines = cases[MAIL].find('system-out').text.splitlines()
        assert lines[1:3] == ['port host: wsp-proxy', 'port 25 on wsp-proxy (expected MSExchangeIMC): OK - mail service: wspsrv.exe '
                              '(WSPSRV) on wsp-proxy (for MSExchangeIMC) (before: Conflict - %s); greeting "220 %s" (as expected: the '
                              'Microsoft Exchange Internet Mail Service (Exchange 4.0-5.5))' % (PROXY_SMTP, IMS)]

        # A second run changes nothing on either host.
        again = collection_playbook('remediate', inventory, tmp_path, 'again', extra=TARGET)
        assert again.rc == 0 and again.recap[MAIL]['changed'] == 0 and again.hosts()[MAIL]['actions'] == []

        # Rollback from the report: both hosts back exactly as they were, and a second rollback changes nothing.
        report = os.path.join(str(tmp_path), 'fix', 'port25-report.json')
        back = collection_playbook('rollback', inventory, tmp_path, 'back', extra=dict(TARGET, rollback_report=report))
        assert back.rc == 0, back.output
        assert services(lab, PROXY)['SMTPSVC'] == ('Running', 'Auto')
        assert services(lab, MAIL)['MSExchangeIMC'] == ('Stopped', 'Auto')
        assert port_holder(lab, PROXY) == ('service:SMTPSVC', 'inetinfo.exe')
        assert smtp_greeting(proxy_address)[1].startswith('wsp-proxy.lab.test Microsoft ESMTP MAIL Service, Version: ')
        assert [(a['service'], a.get('host')) for a in back.hosts()[MAIL]['actions']] == [
            ('MSExchangeIMC', None), ('SMTPSVC', PROXY), ('SMTPSVC', PROXY)]
        twice = collection_playbook('rollback', inventory, tmp_path, 'twice', extra=dict(TARGET, rollback_report=report))
        assert twice.rc == 0 and twice.recap[MAIL]['changed'] == 0


def test_an_antivirus_proxy_on_the_proxy_server_is_flagged_and_untouched(tmp_path):
    hosts = kb_hosts()
    proxy = hosts[1]
    for svc in proxy['services']:
        if svc['name'] == 'SMTPSVC':
            svc.update(state='stopped', start_mode='disabled')
    proxy['services'].append({'name': 'TmProxy', 'display_name': 'OfficeScan NT Proxy Service', 'state': 'running',
                              'start_mode': 'auto', 'process': 'TmProxy.exe', 'listens': [25], 'protected': True,
                              'path': '"C:\\Program Files (x86)\\Trend Micro\\OfficeScan Client\\TmProxy.exe"',
                              'banner': '{fqdn} Trend Micro mail proxy ready'})
    with fleet(tmp_path, hosts) as lab:
        before = processes(lab, PROXY)
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'av', extra=TARGET)
        assert run.rc == 0, run.output
        entry = run.hosts()[MAIL]
        assert entry['actions'] == [] and entry['verdict'] == 'noncompliant'
        assert [f['code'] for f in entry['flags']] == ['ANTIVIRUS_HOLDS_PORT']
        assert entry['flags'][0]['message'].startswith('Port 25 of the port host wsp-proxy is held by Trend Micro')
        assert 'contact the antivirus vendor' in entry['flags'][0]['advice']
        assert codes(entry['findings'], PROXY)[0] == 'PORT_HELD_BY_ANTIVIRUS'
        assert invoke_requests(lab, PROXY) == [] and invoke_requests(lab, MAIL) == []
        assert processes(lab, PROXY) == before
        assert services(lab, PROXY)['TmProxy'] == ('Running', 'Auto')
        assert services(lab, MAIL)['MSExchangeIMC'] == ('Stopped', 'Auto')


def test_two_mail_hosts_sharing_one_proxy_take_turns(tmp_path):
    mail, proxy = kb_hosts()
    second = copy.deepcopy(mail)
    second['name'] = 'ex55-wsp2'
    for svc in second['services']:
        if svc['name'] == 'MSExchangeIMC':
            svc['remote_bind'] = {'via': PROXY, 'ports': [25]}
    with fleet(tmp_path, [mail, second, proxy]) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'both',
                                  extra={'target': 'ex55-wsp*', 'bind_conflict_port_host': PROXY})
        hosts = run.hosts()
        # One of them fixed the proxy and holds its port 25; the other then found WSPSRV holding it for another client
        # of the proxy and did not start (two IMSs cannot both listen on the proxy's port 25).
        winner = [name for name in hosts if any(a['action'] == 'start' for a in hosts[name]['actions'])]
        assert len(winner) == 1, run.output
        loser = [name for name in hosts if name not in winner][0]
        assert [a['service'] for a in hosts[winner[0]]['actions']] == ['SMTPSVC', 'SMTPSVC', 'MSExchangeIMC']
        assert hosts[loser]['actions'] == [] and [f['code'] for f in hosts[loser]['flags']] == ['UNKNOWN_OWNER']
        assert 'holds it for another client of the proxy' in hosts[loser]['flags'][0]['message']
        assert len([r for r in invoke_requests(lab, PROXY) if 'StopService' in r['action']]) == 1
        assert port_holder(lab, PROXY) == ('remote:%s:MSExchangeIMC' % winner[0], 'wspsrv.exe')


def test_the_port_host_is_reached_with_its_own_credentials_and_bad_names_change_nothing(tmp_path):
    hosts = kb_hosts()
    hosts[1].update(username='LAB\\proxyop', password='Proxy-Passw0rd!')    # not the mail host's credentials
    with fleet(tmp_path, hosts) as lab:
        pristine = state_bytes(lab, [MAIL, PROXY])
        proc = adhoc_process(lab.inventory_path, MAIL, 'mailops.port25.conflict_info', {'port_host': PROXY}, '-vvv')
        assert proc.returncode == 0, proc.stdout
        assert '"code": "PORT_HELD_BY_SMTP_SERVICE"' in proc.stdout
        assert 'Proxy-Passw0rd!' not in proc.stdout + proc.stderr and 'Lab-Passw0rd!' not in proc.stdout + proc.stderr
        for port_host, message in (('nowhere', 'port_host nowhere is not a host of the inventory'),
                                   (MAIL, 'port_host ex55-wsp is this host itself')):
            proc = adhoc_process(lab.inventory_path, MAIL, 'mailops.port25.conflict', {'port_host': port_host})
            assert proc.returncode != 0 and message in proc.stdout, proc.stdout
        # A wrong password for the port host in the inventory: the record says so, naming that host, never the password.
        inventory = yaml.safe_load(open(lab.inventory_path, encoding='utf-8'))
        inventory['all']['children']['windows']['hosts'][PROXY]['ansible_password'] = 'Wrong-Passw0rd!'
        edited = write_inventory(tmp_path / 'edited.yml', inventory['all']['children']['windows']['hosts'])
        proc = adhoc_process(edited, MAIL, 'mailops.port25.conflict', {'port_host': PROXY})
        assert proc.returncode != 0 and "user 'LAB\\\\proxyop' was rejected by" in proc.stdout, proc.stdout
        assert 'Wrong-Passw0rd!' not in proc.stdout + proc.stderr
        assert state_bytes(lab, [MAIL, PROXY]) == pristine
