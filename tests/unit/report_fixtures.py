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
