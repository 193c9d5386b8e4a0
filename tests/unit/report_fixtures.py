# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host records of a small fleet, one of each outcome the report has to show (shared by the report tests)."""

from __future__ import annotations

GENERATED = '2026-11-28T16:20:00Z'
HOSTILE = 'evil<script>alert("x")</script>&amp;\'\x1b]]>'
HOSTILE_MESSAGE = '</td><img src=x onerror=alert(1)> {{ lookup("pipe", "id") }} <![CDATA[ x ]]>'


def svc(name, state, start_mode, pid=None):
    return {'name': name, 'exists': True, 'state': state, 'start_mode': start_mode, 'pid': pid}


def finding(code, severity, message, section='Resolution step 1'):
    return {'code': code, 'severity': severity, 'message': message, 'kb_section': section}


def make_action(action, service, before, after, changed=True):
    return {'action': action, 'service': service, 'before': {'state': before[0], 'start_mode': before[1]},
            'after': {'state': after[0], 'start_mode': after[1]}, 'changed': changed}


def record(host, profile, before, after, actions=(), flags=(), error=None, check_mode=False):
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
    'findings': [finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP 25 is held by SMTPSVC (inetinfo.exe, pid 1234)'),
                 finding('SMTP_SERVICE_ENABLED', 'error', 'SMTPSVC start mode is auto'),
                 finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'MSExchangeIMC is stopped', 'Symptoms'),
                 finding('BIND_FAILURE_EVENTS', 'warning', '2 MSExchangeIMC events 4007/4020 (10048) in 72 h', 'Symptoms')],
    'smtp_service': svc('SMTPSVC', 'running', 'auto', 1234), 'mail_service': svc('MSExchangeIMC', 'stopped', 'auto')}
KB_AFTER = {'compliant': True, 'owner': IMC_OWNER, 'findings': [],
            'smtp_service': svc('SMTPSVC', 'stopped', 'disabled'), 'mail_service': svc('MSExchangeIMC', 'running', 'auto', 2200)}
KB_ACTIONS = [make_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
              make_action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
              make_action('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))]


def fleet_results():
    """bind_conflict_result of a small fleet: one of each outcome the report has to show."""
    av_state = {'compliant': False,
                'owner': {'kind': 'antivirus', 'pid': 3100, 'process': 'iwss.exe', 'path': 'C:\\Trend\\iwss.exe', 'services': ['IWSS'],
                          'product': {'vendor': 'Trend Micro', 'product': 'InterScan VirusWall'}},
                'findings': [finding('PORT_HELD_BY_ANTIVIRUS', 'error', 'TCP 25 is held by Trend Micro InterScan VirusWall (iwss.exe)'),
                             finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'MSExchangeIMC is stopped', 'Symptoms')],
                'smtp_service': {'name': 'SMTPSVC', 'exists': False}, 'mail_service': svc('MSExchangeIMC', 'stopped', 'auto')}
    ex2003 = {'compliant': True, 'owner': SMTP_OWNER,
              'findings': [finding('SMTP_SERVICE_IS_TRANSPORT', 'info', 'SMTPSVC is the Exchange 2003 transport', None)],
              'smtp_service': svc('SMTPSVC', 'running', 'auto', 1234), 'mail_service': svc('SMTPSVC', 'running', 'auto', 1234)}
    fet_before = {'compliant': False, 'owner': dict(SMTP_OWNER, path='C:\\Windows\\System32\\inetsrv\\inetinfo.exe'),
                  'findings': [finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP 25 is held by SMTPSVC'),
                               finding('BIND_FAILURE_EVENTS', 'warning', 'MSExchangeFrontEndTransport 1019: Failed to start '
                                       'listening (Error: 10048). Binding: 0.0.0.0:25.', 'Symptoms')],
                  'smtp_service': svc('SMTPSVC', 'running', 'auto', 1234),
                  'mail_service': svc('MSExchangeFrontEndTransport', 'stopped', 'auto')}
    fet_after = {'compliant': True, 'findings': [],
                 'owner': {'kind': 'mail_service', 'pid': 4100, 'process': 'MSExchangeFrontendTransport.exe', 'path': None,
                           'services': ['MSExchangeFrontEndTransport'], 'product': None},
                 'smtp_service': svc('SMTPSVC', 'stopped', 'disabled'),
                 'mail_service': svc('MSExchangeFrontEndTransport', 'running', 'auto', 4100)}
    other = {'compliant': False, 'owner': {'kind': 'other', 'pid': 812, 'process': 'smtprelay.exe', 'path': 'C:\\relay\\smtprelay.exe',
                                           'services': [], 'product': None},
             'findings': [finding('PORT_HELD_BY_OTHER', 'error', HOSTILE_MESSAGE)],
             'smtp_service': {'name': 'SMTPSVC', 'exists': False}, 'mail_service': svc('MSExchangeIMC', 'stopped', 'auto')}
    return {
        'mail01.corp.example': record('mail01.corp.example', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS),
        'mail02.corp.example': record('mail02.corp.example', 'exchange55', av_state, av_state, flags=[{
            'code': 'ANTIVIRUS_HOLDS_PORT', 'message': 'Trend Micro InterScan VirusWall (iwss.exe) holds TCP 25; nothing was stopped',
            'advice': 'Disable the product by hand as a test and start the mail service; if that works, contact the vendor.'}]),
        'ex2003.corp.example': record('ex2003.corp.example', 'exchange2003', ex2003, ex2003),
        'ex2019.corp.example': record('ex2019.corp.example', 'exchange2013', fet_before, fet_after, [
            make_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
            make_action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
            make_action('start', 'MSExchangeFrontEndTransport', ('stopped', 'auto'), ('running', 'auto'))]),
        'mail05.corp.example': record('mail05.corp.example', 'exchange55', KB_BEFORE, None, [
            make_action('stop', 'SMTPSVC', ('running', 'auto'), ('stop_pending', 'auto'))],
            error='mail05.corp.example: StopService SMTPSVC: still stop_pending after 60 s'),
        HOSTILE: record(HOSTILE, 'generic', other, other, flags=[{
            'code': 'UNKNOWN_OWNER', 'message': 'smtprelay.exe <b>holds</b> TCP 25', 'advice': 'Find out what it is.'}]),
    }


# Every listener of a profile, and KB Q222553's two hosts: records shaped as the lab's runs write them (tests/integration
# test_greeting.py's Exchange 2019 host whose IIS SMTP virtual server took 2525, test_topology.py's proxy setup).
FREE = {'kind': 'none', 'pid': None, 'process': None, 'path': None, 'services': [], 'product': None}
EXCHANGE_2007 = 'the Microsoft Exchange transport (Exchange 2007 or later)'
IIS_SMTP = 'the Microsoft SMTP Service of IIS (also the Exchange 2000/2003 transport)'
IMS = 'the Microsoft Exchange Internet Mail Service (Exchange 4.0-5.5)'


def owner(kind, pid, process, services):
    return {'kind': kind, 'pid': pid, 'process': process, 'path': None, 'services': services, 'product': None}


def greeting(text, software, software_name, expected, expected_name):
    return {'address': '192.0.2.19', 'port': 25, 'code': 220, 'text': text, 'software': software, 'software_name': software_name,
            'error': None, 'expected': expected, 'expected_name': expected_name, 'matches': software == expected}


def port(number, service, holder, verdict, said=None, host=None):
    return {'port': number, 'service': service, 'host': host, 'owner': holder, 'verdict': verdict, 'greeting': said}


FET, TRANSPORT, DELIVERY = 'MSExchangeFrontEndTransport', 'MSExchangeTransport', 'MSExchangeDelivery'
FET_OWNER = owner('mail_service', 4100, 'MSExchangeFrontendTransport.exe', [FET])
TRANSPORT_OWNER = owner('mail_service', 4200, 'MSExchangeTransport.exe', [TRANSPORT])
DELIVERY_OWNER = owner('mail_service', 4300, 'MSExchangeDelivery.exe', [DELIVERY])
IIS_OWNER = owner('smtp_service', 900, 'inetinfo.exe', ['IISADMIN', 'SMTPSVC'])
EXCHANGE_HELLO = greeting('ex2019.corp.example Microsoft ESMTP MAIL Service ready at Sat, 28 Nov 2026 16:19:58 +0000',
                          'exchange_transport', EXCHANGE_2007, 'exchange_transport', EXCHANGE_2007)
IIS_HELLO = greeting('ex2019.corp.example Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at Sat, 28 Nov 2026 '
                     '16:19:58 +0000', 'iis_smtp', IIS_SMTP, 'exchange_transport', EXCHANGE_2007)
EX2019_2525 = {
    'compliant': False, 'owner': FET_OWNER,
    'findings': [finding('SMTP_SERVICE_ENABLED', 'error', 'SMTPSVC is running with start mode auto: it can start again and take '
                         'the port; stop it and set it to disabled.'),
                 dict(finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP port 2525 (the port of MSExchangeTransport) is held by '
                              'PID 900 (inetinfo.exe) hosting IISADMIN, SMTPSVC.'), port=2525),
                 finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'The mail service MSExchangeTransport is stopped (start mode auto).',
                         'Symptoms')],
    'smtp_service': svc('SMTPSVC', 'running', 'auto', 900), 'mail_service': svc(FET, 'running', 'auto', 4100),
    'ports': [port(25, FET, FET_OWNER, 'ok', EXCHANGE_HELLO), port(587, FET, FET_OWNER, 'ok', EXCHANGE_HELLO),
              port(717, FET, FREE, 'free'), port(2525, TRANSPORT, IIS_OWNER, 'conflict', IIS_HELLO),
              port(465, TRANSPORT, FREE, 'free'), port(475, DELIVERY, DELIVERY_OWNER, 'ok', EXCHANGE_HELLO)],
    'greeting': EXCHANGE_HELLO, 'remote_bind': None, 'port_host': None}
EX2019_FIXED = dict(EX2019_2525, compliant=True, findings=[], smtp_service=svc('SMTPSVC', 'stopped', 'disabled'), ports=[
    port(25, FET, FET_OWNER, 'ok', EXCHANGE_HELLO), port(587, FET, FET_OWNER, 'ok', EXCHANGE_HELLO), port(717, FET, FREE, 'free'),
    port(2525, TRANSPORT, TRANSPORT_OWNER, 'ok', EXCHANGE_HELLO), port(465, TRANSPORT, TRANSPORT_OWNER, 'ok', EXCHANGE_HELLO),
    port(475, DELIVERY, DELIVERY_OWNER, 'ok', EXCHANGE_HELLO)])
EX2019_ACTIONS = [make_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
                  make_action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
                  make_action('start', TRANSPORT, ('stopped', 'auto'), ('running', 'auto'))]

PROXY = 'wsp-proxy'
PROXY_IIS = owner('smtp_service', 948, 'inetinfo.exe', ['IISADMIN', 'SMTPSVC', 'W3PROXY', 'W3SVC'])
WSPSRV = owner('mail_service', 1032, 'wspsrv.exe', ['WSPSRV'])
PROXY_IIS_HELLO = dict(greeting('wsp-proxy.corp.example Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at Sat, 28 Nov '
                                '2026 16:19:58 +0000', 'iis_smtp', IIS_SMTP, 'exchange55_ims', IMS), address='192.0.2.25')
IMS_HELLO = dict(greeting('ex55-wsp.corp.example ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready',
                          'exchange55_ims', IMS, 'exchange55_ims', IMS), address='192.0.2.25')
REMOTE_BIND = {'application': 'msexcimc', 'files': ['C:\\exchsrvr\\connect\\msexcimc\\bin\\Wspcfg.ini', 'C:\\Mspclnt\\Mspclnt.ini'],
               'missing': [], 'configured': True, 'ports': [25], 'persistent': True, 'kill_old_session': True, 'disabled': False,
               'proxy': 'WSP-PROXY', 'proxy_source': 'Mspclnt.ini [Servers Ip Addresses] Name'}


def _port_host(smtp):
    return {'host': PROXY, 'address': '192.0.2.25', 'detected_profile': 'msproxy2', 'smtp_service': dict(smtp, is_transport=False),
            'proxy_service': svc('WSPSRV', 'running', 'auto', 1032), 'antivirus': {'present': False, 'holds_port': False, 'products': []},
            'gaps': []}


def _on_proxy(item):
    return dict(item, host=PROXY, message='On the port host wsp-proxy: ' + item['message'])


WSP_BEFORE = {
    'compliant': False, 'owner': dict(PROXY_IIS, host=PROXY),
    'findings': [finding('MAIL_SERVICE_NOT_RUNNING', 'error', 'The mail service MSExchangeIMC is stopped (start mode auto).', 'Symptoms'),
                 finding('REMOTE_BIND', 'info', 'MSExchangeIMC binds TCP port 25 on the WinSock Proxy server WSP-PROXY; the port '
                         'host is wsp-proxy.', 'Cause'),
                 dict(_on_proxy(finding('PORT_HELD_BY_SMTP_SERVICE', 'error', 'TCP port 25 is held by PID 948 (inetinfo.exe) hosting '
                                        'IISADMIN, SMTPSVC, W3PROXY, W3SVC.')), port=25),
                 _on_proxy(finding('SMTP_SERVICE_ENABLED', 'error', 'SMTPSVC is running with start mode auto.'))],
    'smtp_service': {'name': 'SMTPSVC', 'exists': False, 'state': None, 'start_mode': None, 'pid': None},
    'mail_service': svc('MSExchangeIMC', 'stopped', 'auto'),
    'ports': [port(25, 'MSExchangeIMC', PROXY_IIS, 'conflict', PROXY_IIS_HELLO, PROXY)],
    'greeting': PROXY_IIS_HELLO, 'remote_bind': REMOTE_BIND, 'port_host': _port_host(svc('SMTPSVC', 'running', 'auto', 948))}
WSP_AFTER = dict(WSP_BEFORE, compliant=True, owner=dict(WSPSRV, host=PROXY), findings=[WSP_BEFORE['findings'][1]],
                 mail_service=svc('MSExchangeIMC', 'running', 'auto', 2200),
                 ports=[port(25, 'MSExchangeIMC', WSPSRV, 'ok', IMS_HELLO, PROXY)], greeting=IMS_HELLO,
                 port_host=_port_host(svc('SMTPSVC', 'stopped', 'disabled')))
WSP_ACTIONS = [dict(make_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')), host=PROXY),
               dict(make_action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')), host=PROXY),
               make_action('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))]
# The same host run without a port host: Wspcfg.ini names the proxy, and nothing on it was checked.
WSP_ALONE = dict(WSP_BEFORE, owner=None, findings=[
    finding('REMOTE_BIND_PORT_HOST_NOT_SET', 'error', 'MSExchangeIMC binds TCP port 25 on the WinSock Proxy server WSP-PROXY: '
            'set bind_conflict_port_host.', 'Cause')], ports=[port(25, 'MSExchangeIMC', None, 'unchecked')], greeting=None,
    port_host=None)


def port_results():
    """An Exchange 2019 host with a conflict on 2525 (check mode, and fixed) and the KB's proxy setup (fixed, alone)."""
    predicted = [dict(a, changed=False) for a in EX2019_ACTIONS]
    return {
        'ex2019.corp.example': dict(record('ex2019.corp.example', 'exchange2013', EX2019_2525, EX2019_2525, predicted, check_mode=True),
                                    changed=True),
        'ex2019-fixed.corp.example': record('ex2019-fixed.corp.example', 'exchange2013', EX2019_2525, EX2019_FIXED, EX2019_ACTIONS),
        'ex55-wsp': dict(record('ex55-wsp', 'exchange55', WSP_BEFORE, WSP_AFTER, WSP_ACTIONS), port_host=PROXY),
        'ex55-wsp-alone': record('ex55-wsp-alone', 'exchange55', WSP_ALONE, WSP_ALONE),
    }
