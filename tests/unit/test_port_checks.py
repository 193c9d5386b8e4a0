# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every listener of the profile: the ports wanted, the ``ports`` option, each port's owner and verdict, and the
findings of the ports after the first; then the remote ports of the KB's two-host setup (``topology``)."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, errors, port_checks, topology

CATALOGUE = antivirus.Catalogue()
FET, TRANSPORT, DELIVERY = 'MSExchangeFrontEndTransport', 'MSExchangeTransport', 'MSExchangeDelivery'
EX2013 = [(25, FET), (587, FET), (717, FET), (2525, TRANSPORT), (465, TRANSPORT), (475, DELIVERY)]


@pytest.mark.parametrize('profile, port, mail, option, expected', [
    ('exchange2013', 25, FET, None, EX2013),
    ('exchange2013', 25, 'MyFrontEnd', None, [(25, 'MyFrontEnd')] + EX2013[1:]),
    ('exchange2013', 587, FET, None, [(587, FET), (25, FET)] + EX2013[2:]),
    ('exchange2013', 25, FET, [(2525, None), (26, None), (27, 'Relay')], [(25, FET), (2525, TRANSPORT), (26, FET), (27, 'Relay')]),
    ('exchange55', 25, 'MSExchangeIMC', None, [(25, 'MSExchangeIMC')]),
    ('exchange2003', 25, 'SMTPSVC', None, [(25, 'SMTPSVC')]),
    ('generic', 25, None, None, [(25, None)]),
])
def test_wanted(profile, port, mail, option, expected):
    assert port_checks.wanted(profile, port, mail, option) == expected


@pytest.mark.parametrize('option, message', [
    ([], 'ports must list 1 to 32 ports'),
    ([{'port': n} for n in range(1, 34)], 'ports must list 1 to 32 ports'),
    ([{'port': 0}], 'ports[0].port must be a TCP port number from 1 to 65535, got 0'),
    ([{'port': True}], 'ports[0].port must be a TCP port number'),
    ([{'port': 25}, {'port': 25}], 'ports lists port 25 twice'),
    ([{'port': 25, 'service': ' '}], 'ports[0].service must be a non-empty service name'),
    ([{'port': 25, 'service': "x' OR 'a'='a"}], "ports[0].service must be a non-empty service name without quotes"),
    ([{'port': 25, 'service': 'a\nb'}], 'control character'),
])
def test_bad_ports_options_are_refused(option, message):
    with pytest.raises(errors.InvalidOption) as info:
        port_checks.check_option(option)
    assert message in str(info.value)


def listener(port, pid, name, services=()):
    return {'local_address': '0.0.0.0', 'local_port': port, 'pid': pid, 'process': {'pid': pid, 'name': name, 'path': None},
            'services': list(services), 'parent_process': None}


def service(name, state='running', mode='auto', pid=None):
    return {'name': name, 'exists': True, 'state': state, 'start_mode': mode, 'pid': pid}


# An Exchange 2019 host where an IIS SMTP virtual server was moved to 2525 (out of the front end's way) and so took
# the Transport service's port.
SERVICES = [service(FET, pid=4100), service(TRANSPORT, 'stopped'), service(DELIVERY, pid=4300), service('SMTPSVC', pid=900)]
LISTENERS = [listener(25, 4100, 'MSExchangeFrontendTransport.exe', [FET]), listener(587, 4100, 'MSExchangeFrontendTransport.exe', [FET]),
             listener(2525, 900, 'inetinfo.exe', ['IISADMIN', 'SMTPSVC']), listener(475, 4300, 'MSExchangeDelivery.exe', [DELIVERY]),
             listener(465, 5500, 'avproxy.exe')]


def judged(services=None, gaps=(), remote=()):
    return port_checks.judge(EX2013, LISTENERS, 'SMTPSVC', False, CATALOGUE, list(gaps), SERVICES if services is None else services, remote)


def test_each_port_has_its_owner_and_verdict():
    assert [(e['port'], e['owner']['kind'], e['verdict']) for e in judged()] == [
        (25, 'mail_service', 'ok'), (587, 'mail_service', 'ok'), (717, 'none', 'free'), (2525, 'smtp_service', 'conflict'),
        (465, 'other', 'conflict'), (475, 'mail_service', 'ok')]


def test_a_port_whose_service_is_not_installed_is_not_this_hosts_business():
    entries = judged(services=[s for s in SERVICES if s['name'] != TRANSPORT])
    assert [(e['port'], e['verdict']) for e in entries if e['service'] == TRANSPORT] == [(2525, 'not_installed'), (465, 'not_installed')]


def test_unreadable_owners_and_remote_ports():
    assert {e['verdict'] for e in judged(gaps=[{'class': 'Win32_Service', 'error': 'x'}])} == {'unknown'}
    entry = judged(remote=[25])[0]
    assert (entry['owner'], entry['verdict']) == (None, 'unchecked')


def test_findings_of_the_other_ports():
    entries = judged()
    summaries = port_checks.expected_services(entries, SERVICES)
    assert [s['name'] for s in summaries] == [FET, TRANSPORT, DELIVERY]
    found = port_checks.findings(entries, LISTENERS, 'SMTPSVC', False, CATALOGUE, [], summaries)
    assert [(f['code'], f['severity'], f.get('port')) for f in found] == [
        ('PORT_HELD_BY_SMTP_SERVICE', 'error', 2525), ('PORT_HELD_BY_OTHER', 'error', 465), ('MAIL_SERVICE_NOT_RUNNING', 'error', None)]
    assert found[0]['message'] == ('TCP port 2525 (the port of MSExchangeTransport) is held by PID 900 (inetinfo.exe) hosting '
                                   'IISADMIN, SMTPSVC.')
    assert found[2]['message'] == 'The mail service MSExchangeTransport is stopped (start mode auto).'


# ---------------------------------------------------------------------------------------------------- topology

REMOTE = {'application': 'msexcimc', 'files': ['C:\\x\\Wspcfg.ini', 'C:\\Mspclnt\\Mspclnt.ini'], 'missing': [],
          'configured': True, 'ports': [25], 'persistent': True, 'kill_old_session': True, 'disabled': False,
          'proxy': 'PROXY01', 'proxy_source': 'Mspclnt.ini [Servers Ip Addresses] Name'}


@pytest.mark.parametrize('remote, port_host, expected', [
    (REMOTE, None, [25]), (REMOTE, 'proxy01', [25]), (dict(REMOTE, configured=False), 'proxy01', [25]),
    (dict(REMOTE, configured=False), None, []), (None, None, []), (dict(REMOTE, ports=[110]), None, [])])
def test_remote_ports(remote, port_host, expected):
    assert topology.remote_ports(remote, port_host, 25, [25]) == expected


def view(owner_listener=None, smtp=None, proxy=None, gaps=()):
    return {'host': 'proxy01', 'address': '10.0.0.9', 'detected_profile': 'msproxy2',
            'listeners': [owner_listener] if owner_listener else [],
            'smtp_service': dict(smtp or service('SMTPSVC', 'stopped', 'disabled'), is_transport=False),
            'proxy_service': proxy or service('WSPSRV', pid=700), 'antivirus': {}, 'products': [], 'gaps': list(gaps),
            'catalogue': CATALOGUE}


WSPSRV_L = listener(25, 700, 'wspsrv.exe', ['WSPSRV'])
SMTP_L = listener(25, 900, 'inetinfo.exe', ['IISADMIN', 'SMTPSVC'])
AV_L = listener(25, 3300, 'TmProxy.exe', ['TmProxy'])


@pytest.mark.parametrize('held_by, imc_state, kind, verdict', [
    (WSPSRV_L, 'running', 'mail_service', 'ok'),      # held on the IMS's behalf
    (WSPSRV_L, 'stopped', 'other', 'conflict'),       # held for another client of the proxy
    (SMTP_L, 'stopped', 'smtp_service', 'conflict'),  # the KB's case
    (AV_L, 'stopped', 'antivirus', 'conflict'),
    (None, 'stopped', 'none', 'free'),
])
def test_who_holds_a_remote_port(held_by, imc_state, kind, verdict):
    entries = [{'port': 25, 'service': 'MSExchangeIMC', 'host': None, 'owner': None, 'verdict': 'unchecked', 'greeting': None}]
    topology.judge(entries, view(held_by), [service('MSExchangeIMC', imc_state)], CATALOGUE)
    assert (entries[0]['host'], entries[0]['owner']['kind'], entries[0]['verdict']) == ('proxy01', kind, verdict)
    assert topology.owner_of(entries, 25)['host'] == 'proxy01'


def result_of(entries, mail_state='stopped'):
    return {'remote_bind': REMOTE, 'mail_service': service('MSExchangeIMC', mail_state), 'ports': entries}


@pytest.mark.parametrize('mail_state, severity', [('stopped', 'error'), ('running', 'warning')])
def test_a_remote_bind_without_a_port_host_says_what_to_set(mail_state, severity):
    found = topology.findings(result_of([], mail_state), None)
    assert [(f['code'], f['severity']) for f in found] == [('REMOTE_BIND_PORT_HOST_NOT_SET', severity)]
    assert found[0]['message'].startswith('MSExchangeIMC binds TCP port 25 on the WinSock Proxy server PROXY01 (Mspclnt.ini '
                                          '[Servers Ip Addresses] Name): Wspcfg.ini [MSEXCIMC] ServerBindTcpPorts')
    assert 'set bind_conflict_port_host (the port_host option) to its inventory name' in found[0]['message']


def test_the_kb_case_on_the_port_host():
    entries = [{'port': 25, 'service': 'MSExchangeIMC', 'host': None, 'owner': None, 'verdict': 'unchecked', 'greeting': None}]
    there = view(SMTP_L, smtp=service('SMTPSVC', pid=900))
    topology.judge(entries, there, [service('MSExchangeIMC', 'stopped')], CATALOGUE)
    found = topology.findings(result_of(entries), there, ['proxy01', '10.0.0.9'])
    assert [(f['code'], f['severity'], f.get('host')) for f in found] == [
        ('REMOTE_BIND', 'info', None), ('PORT_HELD_BY_SMTP_SERVICE', 'error', 'proxy01'), ('SMTP_SERVICE_ENABLED', 'error', 'proxy01')]
    assert found[1]['message'] == ('On the port host proxy01: TCP port 25 is held by PID 900 (inetinfo.exe) hosting IISADMIN, '
                                   'SMTPSVC.')
    assert found[1]['kb_section'] == 'Resolution step 1' and found[1]['port'] == 25


def test_the_port_host_is_checked_against_the_proxys_name():
    found = topology.findings(result_of([]), view(), ['proxy02.example.com', '10.0.0.9'])
    assert [f['code'] for f in found] == ['REMOTE_BIND', 'PORT_HOST_NOT_THE_PROXY']
    assert [f['code'] for f in topology.findings(result_of([]), view(), ['PROXY01.example.com'])] == ['REMOTE_BIND']


@pytest.mark.parametrize('proxy, code', [
    ({'name': 'WSPSRV', 'exists': False, 'state': None, 'start_mode': None, 'pid': None}, 'PROXY_SERVICE_MISSING'),
    (service('WSPSRV', 'stopped', 'manual'), 'PROXY_SERVICE_NOT_RUNNING')])
def test_a_port_host_without_a_running_proxy_service(proxy, code):
    found = topology.findings(result_of([]), view(proxy=proxy), ['proxy01'])
    assert [(f['code'], f['severity']) for f in found][1:] == [(code, 'error')]


def test_the_wspsrv_held_for_another_client_is_named_so():
    entries = [{'port': 25, 'service': 'MSExchangeIMC', 'host': None, 'owner': None, 'verdict': 'unchecked', 'greeting': None}]
    there = view(WSPSRV_L)
    topology.judge(entries, there, [service('MSExchangeIMC', 'stopped')], CATALOGUE)
    found = topology.findings(result_of(entries), there, ['proxy01'])
    assert found[1]['code'] == 'PORT_HELD_BY_OTHER'
    assert found[1]['message'].endswith('hosting WSPSRV: the WinSock Proxy service holds it for another client of the proxy.')
