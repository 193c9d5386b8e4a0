# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KB Q222553 rules as a truth table: owner kind, findings (code, severity, KB section), compliant."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, diagnosis, profiles

CATALOGUE = antivirus.Catalogue()
EX55 = profiles.PROFILES['exchange55']
EX2003 = profiles.PROFILES['exchange2003']
EX2007 = profiles.PROFILES['exchange2007']
GENERIC = profiles.PROFILES['generic']


def listener(pid, name, services=(), parent=None, address='0.0.0.0'):
    return {'local_address': address, 'local_port': 25, 'pid': pid,
            'process': {'pid': pid, 'name': name, 'path': 'C:\\bin\\' + name, 'parent_pid': parent['pid'] if parent else 600},
            'services': list(services), 'parent_process': parent}


SMTPSVC_L = listener(900, 'inetinfo.exe', ['IISADMIN', 'SMTPSVC'])
IMC_L = listener(1200, 'msexcimc.exe', ['MSExchangeIMC'])
AV_L = listener(3300, 'TmProxy.exe', ['TmProxy'])
AV_PROCESS_L = listener(3400, 'AvastSvc.exe')
OTHER_L = listener(4400, 'mailrelay.exe')
WORKER_PARENT = {'pid': 5000, 'name': 'MSExchangeTransport.exe', 'path': None, 'services': ['MSExchangeTransport']}
WORKER_L = listener(5100, 'EdgeTransport.exe', [], WORKER_PARENT)
ORPHAN_L = listener(5200, 'EdgeTransport.exe', [], {'pid': 5000, 'name': 'x.exe', 'path': None, 'services': []})


def svc(name, state, start_mode, pid=None):
    return {'name': name, 'exists': True, 'state': state, 'start_mode': start_mode, 'pid': pid}


MISSING = {'name': 'MSExchangeIMC', 'exists': False, 'state': None, 'start_mode': None, 'pid': None}
NO_MAIL = {'name': None, 'exists': False, 'state': None, 'start_mode': None, 'pid': None}
SMTP_ON = svc('SMTPSVC', 'running', 'auto', 900)
SMTP_STOPPED_AUTO = svc('SMTPSVC', 'stopped', 'auto')
SMTP_MANUAL = svc('SMTPSVC', 'stopped', 'manual')
SMTP_OFF = svc('SMTPSVC', 'stopped', 'disabled')
SMTP_ABSENT = {'name': 'SMTPSVC', 'exists': False, 'state': None, 'start_mode': None, 'pid': None}
IMC_ON = svc('MSExchangeIMC', 'running', 'auto', 1200)
IMC_OFF = svc('MSExchangeIMC', 'stopped', 'auto')
IMC_STARTING = svc('MSExchangeIMC', 'start_pending', 'auto', 1200)
EVENT = {'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error', 'time': '2026-11-28T14:00:00Z',
         'message': '... 10048', 'winsock_error': 10048, 'record_number': 7}
DEFENDER = {'vendor': 'Microsoft', 'product': 'Microsoft Defender Antivirus', 'mail_scanning': False, 'holds_port': False}
TREND = {'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One', 'mail_scanning': True, 'holds_port': False}
TREND_HOLDING = dict(TREND, holds_port=True)


def codes(result):
    return [(f['code'], f['severity'], f['kb_section']) for f in result['findings']]


# (id, profile, listeners, smtp, mail, products, events, gaps) -> (owner kind, owner services, findings, compliant)
TABLE = [
    ('healthy', EX55, [IMC_L], SMTP_OFF, IMC_ON, [DEFENDER], [], [],
     'mail_service', ['MSExchangeIMC'], [('ANTIVIRUS_PRESENT', 'info', 'Resolution step 3')], True),
    ('kb case', EX55, [SMTPSVC_L], SMTP_ON, IMC_OFF, [], [EVENT], [],
     'smtp_service', ['IISADMIN', 'SMTPSVC'],
     [('PORT_HELD_BY_SMTP_SERVICE', 'error', 'Resolution step 1'), ('SMTP_SERVICE_ENABLED', 'error', 'Resolution step 1'),
      ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms'), ('BIND_FAILURE_EVENTS', 'error', 'Symptoms')], False),
    ('smtp stopped but automatic', EX55, [IMC_L], SMTP_STOPPED_AUTO, IMC_ON, [], [], [],
     'mail_service', ['MSExchangeIMC'], [('SMTP_SERVICE_ENABLED', 'error', 'Resolution step 1')], False),
    ('smtp manual', EX55, [IMC_L], SMTP_MANUAL, IMC_ON, [], [], [],
     'mail_service', ['MSExchangeIMC'], [('SMTP_SERVICE_ENABLED', 'warning', 'Resolution step 1')], True),
    ('fixed, old events remain', EX55, [IMC_L], SMTP_OFF, IMC_ON, [], [EVENT], [],
     'mail_service', ['MSExchangeIMC'], [('BIND_FAILURE_EVENTS', 'warning', 'Symptoms')], True),
    ('av proxy by service', EX55, [AV_L], SMTP_OFF, IMC_OFF, [DEFENDER, TREND_HOLDING], [EVENT], [],
     'antivirus', ['TmProxy'],
     [('PORT_HELD_BY_ANTIVIRUS', 'error', 'Resolution step 3'), ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms'),
      ('BIND_FAILURE_EVENTS', 'error', 'Symptoms'), ('ANTIVIRUS_PRESENT', 'info', 'Resolution step 3')], False),
    ('av proxy by process', EX55, [AV_PROCESS_L], SMTP_ABSENT, IMC_OFF, [], [], [],
     'antivirus', [], [('PORT_HELD_BY_ANTIVIRUS', 'error', 'Resolution step 3'), ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms')],
     False),
    ('mail-scanning av present', EX55, [IMC_L], SMTP_ABSENT, IMC_ON, [TREND], [], [],
     'mail_service', ['MSExchangeIMC'], [('ANTIVIRUS_PRESENT', 'warning', 'Resolution step 3')], True),
    ('unknown program', EX55, [OTHER_L], SMTP_OFF, IMC_OFF, [], [], [],
     'other', [], [('PORT_HELD_BY_OTHER', 'error', 'Resolution step 2'), ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms')], False),
    ('port free, mail service down', EX55, [], SMTP_OFF, IMC_OFF, [], [], [],
     'none', [], [('PORT_FREE', 'info', 'Cause'), ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms')], False),
    ('mail service starting', EX55, [], SMTP_OFF, IMC_STARTING, [], [EVENT], [],
     'none', [], [('PORT_FREE', 'info', 'Cause'), ('MAIL_SERVICE_NOT_RUNNING', 'warning', 'Symptoms'),
                  ('BIND_FAILURE_EVENTS', 'warning', 'Symptoms')], True),
    ('mail service missing', EX55, [], SMTP_ABSENT, MISSING, [], [], [],
     'none', [], [('PORT_FREE', 'info', 'Cause'), ('MAIL_SERVICE_MISSING', 'warning', 'Symptoms')], True),
    ('exchange 2003 healthy: smtpsvc is the transport', EX2003, [SMTPSVC_L], SMTP_ON, SMTP_ON, [], [], [],
     'mail_service', ['IISADMIN', 'SMTPSVC'], [('SMTP_SERVICE_IS_TRANSPORT', 'info', 'Resolution step 1')], True),
    ('exchange 2003 with a foreign listener', EX2003, [OTHER_L], svc('SMTPSVC', 'stopped', 'auto'), svc('SMTPSVC', 'stopped', 'auto'),
     [], [], [], 'other', [],
     [('PORT_HELD_BY_OTHER', 'error', 'Resolution step 2'), ('SMTP_SERVICE_IS_TRANSPORT', 'info', 'Resolution step 1'),
      ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms')], False),
    ('transport worker maps to its parent service', EX2007, [WORKER_L], SMTP_ABSENT, svc('MSExchangeTransport', 'running', 'auto', 5000),
     [], [], [], 'mail_service', ['MSExchangeTransport'], [], True),
    ('worker whose parent hosts nothing', EX2007, [ORPHAN_L], SMTP_ABSENT, svc('MSExchangeTransport', 'running', 'auto', 5000),
     [], [], [], 'other', [], [('PORT_HELD_BY_OTHER', 'error', 'Resolution step 2')], False),
    ('generic host, smtp owns the port', GENERIC, [SMTPSVC_L], SMTP_ON, NO_MAIL, [], [], [],
     'smtp_service', ['IISADMIN', 'SMTPSVC'],
     [('PORT_HELD_BY_SMTP_SERVICE', 'error', 'Resolution step 1'), ('SMTP_SERVICE_ENABLED', 'error', 'Resolution step 1')], False),
    ('generic host, nothing', GENERIC, [], SMTP_ABSENT, NO_MAIL, [], [EVENT], [],
     'none', [], [('PORT_FREE', 'info', 'Cause'), ('BIND_FAILURE_EVENTS', 'warning', 'Symptoms')], True),
    ('mail service and a foreign program on two addresses', EX55, [IMC_L, listener(4400, 'mailrelay.exe', address='10.0.0.5')],
     SMTP_OFF, IMC_ON, [], [], [],
     'other', [], [('PORT_HELD_BY_OTHER', 'error', 'Resolution step 2')], False),
    ('smtp and av both listen: smtp is reported first', EX55, [AV_L, SMTPSVC_L], SMTP_ON, IMC_OFF, [], [], [],
     'smtp_service', ['IISADMIN', 'SMTPSVC'],
     [('PORT_HELD_BY_SMTP_SERVICE', 'error', 'Resolution step 1'), ('PORT_HELD_BY_ANTIVIRUS', 'error', 'Resolution step 3'),
      ('SMTP_SERVICE_ENABLED', 'error', 'Resolution step 1'), ('MAIL_SERVICE_NOT_RUNNING', 'error', 'Symptoms')], False),
    ('events unreadable', EX55, [IMC_L], SMTP_OFF, IMC_ON, [], [], [{'class': 'Win32_NTLogEvent', 'error': 'access denied'}],
     'mail_service', ['MSExchangeIMC'], [('DATA_GAP', 'warning', None)], True),
    ('listeners unreadable: no verdict', EX55, [], SMTP_OFF, IMC_ON, [], [],
     [{'class': 'MSFT_NetTCPConnection', 'error': 'access denied'}],
     'unknown', [], [('DATA_GAP', 'error', None)], False),
]


@pytest.mark.parametrize('row', TABLE, ids=[row[0] for row in TABLE])
def test_truth_table(row):
    _id, profile, listeners, smtp, mail, products, events, gaps, kind, services, findings, compliant = row
    result = diagnosis.diagnose(25, profile, listeners, smtp, mail, products, events, gaps, CATALOGUE)
    assert result['owner']['kind'] == kind
    assert result['owner']['services'] == services
    assert codes(result) == findings
    assert result['compliant'] is compliant


def test_owner_details_and_messages():
    result = diagnosis.diagnose(25, EX55, [AV_L], SMTP_OFF, IMC_OFF, [TREND_HOLDING], [EVENT], [], CATALOGUE)
    assert result['owner'] == {'kind': 'antivirus', 'pid': 3300, 'process': 'TmProxy.exe', 'path': 'C:\\bin\\TmProxy.exe',
                               'services': ['TmProxy'], 'product': {'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One'}}
    messages = [f['message'] for f in result['findings']]
    assert messages == [
        'TCP port 25 is held by PID 3300 (TmProxy.exe) hosting TmProxy, Trend Micro OfficeScan / Apex One.',
        'The mail service MSExchangeIMC is stopped (start mode auto).',
        '1 bind-failure event(s) in the last 72 h; newest: MSExchangeIMC 4007 at 2026-11-28T14:00:00Z (WinSock error 10048).',
    ]


def test_none_owner_shape():
    result = diagnosis.diagnose(587, GENERIC, [], SMTP_ABSENT, NO_MAIL, [], [], [], CATALOGUE)
    assert result['owner'] == {'kind': 'none', 'pid': None, 'process': None, 'path': None, 'services': [], 'product': None}
    assert result['findings'][0]['message'] == 'Nothing listens on TCP port 587.'


def test_data_gap_message_names_class_and_error():
    gaps = [{'class': 'Win32_Process', 'error': 'access denied (w:AccessDenied)'}]
    result = diagnosis.diagnose(25, EX55, [OTHER_L], SMTP_OFF, IMC_ON, [], [], gaps, CATALOGUE)
    assert result['findings'][-1] == {'code': 'DATA_GAP', 'severity': 'warning', 'kb_section': None,
                                      'message': 'Win32_Process could not be read: access denied (w:AccessDenied).'}
    assert 'antivirus product may not have been recognised' in result['findings'][0]['message']


@pytest.mark.parametrize('name, services, expected', [
    ('smtpsvc', [{'name': 'SMTPSVC', 'state': 'running', 'start_mode': 'auto', 'pid': 900}],
     {'name': 'SMTPSVC', 'exists': True, 'state': 'running', 'start_mode': 'auto', 'pid': 900}),
    ('SMTPSVC', [], {'name': 'SMTPSVC', 'exists': False, 'state': None, 'start_mode': None, 'pid': None}),
    ('SMTPSVC', None, {'name': 'SMTPSVC', 'exists': None, 'state': None, 'start_mode': None, 'pid': None}),
    (None, [], {'name': None, 'exists': False, 'state': None, 'start_mode': None, 'pid': None}),
])
def test_service_summary(name, services, expected):
    assert diagnosis.service_summary(name, services) == expected


def test_service_summary_transport_flag():
    assert diagnosis.service_summary('SMTPSVC', [], is_transport=True)['is_transport'] is True


def test_an_antivirus_listener_stays_antivirus_whatever_the_service_options_name():
    for smtp_name, mail_name in (('TmProxy', 'MSExchangeIMC'), ('SMTPSVC', 'TmProxy')):
        kind, entry = diagnosis.classify(AV_L, smtp_name, mail_name, False, CATALOGUE)
        assert (kind, entry['vendor']) == ('antivirus', 'Trend Micro'), (smtp_name, mail_name)
