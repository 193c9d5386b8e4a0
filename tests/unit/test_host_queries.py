# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host queries: exact WQL text (hostile input quoted), normalisation of real captures, netstat fallback,
gaps, and the info features driven through a fake client (request count and result shape)."""
from __future__ import annotations

import datetime
import re

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim, errors, host_queries as hq, profiles
from ansible_collections.mailops.port25.plugins.module_utils.features import (antivirus_info, conflict_info, event_info,
                                                                              listener_info, service_info)
from ansible_collections.mailops.port25.tests.unit.conftest import refused_before_any_client

SINCE = datetime.datetime(2026, 11, 25, 16, 0, 0, tzinfo=datetime.timezone.utc)


# ------------------------------------------------------------------------------------------------ query text

def test_listener_query():
    assert hq.listener_query(25) == ('SELECT LocalAddress,LocalPort,OwningProcess FROM MSFT_NetTCPConnection '
                                     'WHERE LocalPort = 25 AND State = 2')


def test_service_queries():
    props = 'Name,State,StartMode,ProcessId'
    assert hq.service_query() == 'SELECT %s FROM Win32_Service' % props
    assert hq.service_query(properties=hq.SERVICE_PROPERTIES) == (
        'SELECT Name,DisplayName,State,StartMode,DelayedAutoStart,ProcessId,PathName FROM Win32_Service')
    assert hq.service_query(names=['SMTPSVC', 'IISADMIN']) == (
        "SELECT %s FROM Win32_Service WHERE (Name = 'SMTPSVC' OR Name = 'IISADMIN')" % props)
    assert hq.service_query(patterns=['MSExchange*', 'W?SVC_1']) == (
        "SELECT %s FROM Win32_Service WHERE Name LIKE 'MSExchange%%' OR Name LIKE 'W_SVC[_]1'" % props)
    assert hq.service_query(pids=[900, 12, 900]) == 'SELECT %s FROM Win32_Service WHERE (ProcessId = 12 OR ProcessId = 900)' % props


@pytest.mark.parametrize('hostile, literal', [
    ("x' OR Name LIKE '%", r"'x\' OR Name LIKE \'%'"),
    ('SMTPSVC" OR "1"="1', r"'SMTPSVC\" OR \"1\"=\"1'"),
    ('a\\', r"'a\\'"),
])
def test_hostile_names_stay_inside_one_literal(hostile, literal):
    assert hq.service_query(names=[hostile]).endswith('WHERE (Name = %s)' % literal)


@pytest.mark.parametrize('hostile', ['SMTPSVC\x00', "x'\nOR 1=1", '\r'])
def test_control_characters_are_refused(hostile):
    with pytest.raises(errors.InvalidOption) as caught:
        hq.service_query(names=[hostile])
    assert 'control character' in str(caught.value)
    with pytest.raises(errors.InvalidOption):
        hq.check_name(None, hostile, 'smtp_service')


def test_hostile_pattern_wildcards_are_literal():
    assert hq.service_query(patterns=["%' OR Name LIKE '[a]*"]).endswith(r"WHERE Name LIKE '[%]\' OR Name LIKE \'[[]a]%'")


def test_event_query_with_signatures():
    from ansible_collections.mailops.port25.plugins.module_utils import profiles
    assert hq.event_query(SINCE, signatures=profiles.PROFILES['exchange2013'].events) == (
        'SELECT Logfile,SourceName,EventCode,Type,TimeGenerated,Message,InsertionStrings,RecordNumber FROM Win32_NTLogEvent '
        "WHERE TimeGenerated >= '20261125160000.000000+000' AND ("
        "(Logfile = 'Application' AND SourceName = 'MSExchangeFrontEndTransport' AND (EventCode = 1018 OR EventCode = 1019)) OR "
        "(Logfile = 'Application' AND SourceName = 'MSExchangeTransport' AND (EventCode = 1018 OR EventCode = 1019)))")


def test_event_query_with_filters():
    assert hq.event_query(SINCE, log='System', sources=["O'Brien"], event_ids=[7036]) == (
        'SELECT Logfile,SourceName,EventCode,Type,TimeGenerated,Message,InsertionStrings,RecordNumber FROM Win32_NTLogEvent '
        "WHERE TimeGenerated >= '20261125160000.000000+000' AND Logfile = 'System' AND (SourceName = 'O\\'Brien') "
        'AND (EventCode = 7036)')
    assert hq.event_query(SINCE).endswith("WHERE TimeGenerated >= '20261125160000.000000+000'")


# ------------------------------------------------------------------------------------------------ values

def _items(capture, name, pages, class_name):
    items = []
    for page in range(pages):
        items += cim.parse_enumeration(capture('%s_%03d.xml' % (name, page)), class_name).items
    return items


@pytest.mark.parametrize('raw, expected', [
    ('Running', 'running'), ('Stopped', 'stopped'), ('Start Pending', 'start_pending'), ('Stop Pending', 'stop_pending'),
    ('Continue Pending', 'continue_pending'), ('Pause Pending', 'pause_pending'), ('Paused', 'paused'),
    ('Unknown', 'unknown'), (None, 'unknown'), ('Degraded', 'unknown'),
])
def test_state_spellings(raw, expected):
    assert hq.normalise_state(raw) == expected


@pytest.mark.parametrize('raw, expected', [('Auto', 'auto'), ('Manual', 'manual'), ('Disabled', 'disabled'), ('Boot', 'boot'),
                                           ('System', 'system'), ('Automatic', 'auto'), (None, None)])
def test_start_mode_spellings(raw, expected):
    assert hq.normalise_start_mode(raw) == expected


def test_normalise_real_service_capture(capture):
    services = [hq.normalise_service(item) for item in _items(capture, 'txwinrm_server_2012_Win32_Service_all', 4, 'Win32_Service')]
    assert len(services) == 131
    by_name = {s['name']: s for s in services}
    assert by_name['WinRM'] == {'name': 'WinRM', 'exists': True, 'display_name': 'Windows Remote Management (WS-Management)',
                                'state': 'running', 'start_mode': 'auto', 'delayed_auto_start': None, 'pid': 972,
                                'path': 'C:\\Windows\\System32\\svchost.exe -k NetworkService', 'exit_code': 0,
                                'service_specific_exit_code': 0}
    assert by_name['ALG']['state'] == 'stopped' and by_name['ALG']['start_mode'] == 'manual' and by_name['ALG']['pid'] is None
    assert by_name['ALG']['exit_code'] == 1077
    assert set(hq.missing_service('NoSuchService')) == set(by_name['ALG'])   # one shape, found or not
    grouped = hq.services_by_pid(services)
    assert 'Winmgmt' in grouped[852] and grouped[852] == sorted(grouped[852], key=str.lower)


def test_normalise_real_process_capture(capture):
    processes = [hq.normalise_process(item) for item in _items(capture, 'txwinrm_server_2012_Win32_Process_all', 3, 'Win32_Process')]
    assert len(processes) == 46
    assert processes[3] == {'pid': 368, 'name': 'csrss.exe', 'path': 'C:\\Windows\\system32\\csrss.exe', 'parent_pid': 360}
    assert processes[1] == {'pid': 4, 'name': 'System', 'path': None, 'parent_pid': 0}


def test_normalise_event():
    event = hq.normalise_event({'Logfile': 'Application', 'SourceName': 'MSExchangeIMC', 'EventCode': '4007', 'Type': 'Error',
                                'TimeGenerated': '2026-11-28T15:04:05.123-01:00', 'RecordNumber': '812',
                                'Message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048'})
    assert event == {'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error',
                     'time': '2026-11-28T16:04:05Z', 'record_number': 812, 'winsock_error': 10048, 'insertion_strings': [],
                     'message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048'}
    assert hq.normalise_event({'Type': 'Security Audit Failure'})['type'] == 'audit_failure'
    assert hq.normalise_event({'Type': 'Audit Success'})['type'] == 'audit_success'


@pytest.mark.parametrize('message, code', [
    ('The following error occurred while trying to bind the TCP/IP listener socket. 10048', 10048),
    ('Failed to start listening (Error: 10048). Binding: 0.0.0.0:25.', 10048),
    ('The address is already in use. Binding: 0.0.0.0:25. Error: Only one usage ... permitted (10048).', 10048),
    ('Unable to start the service because WinSock could not be initialized.', None),
    ('Binding: 10.10.20.30:10050.', None),
    ('Record 10200 was written.', None),      # outside the WinSock ranges
    ('WSAHOST_NOT_FOUND 11001', 11001),
    (None, None),
])
def test_winsock_error(message, code):
    assert hq.winsock_error(message) == code


NETSTAT = """
Active Connections

  Proto  Local Address          Foreign Address        State           PID
  TCP    0.0.0.0:25             0.0.0.0:0              LISTENING       1844
  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       700
  TCP    10.0.0.5:25            10.0.0.9:51234         ESTABLISHED     1844
  TCP    10.0.0.5:51000         10.0.0.7:25            ESTABLISHED     2000
  TCP    [::]:25                [::]:0                 ABH\u00d6REN         1844
  UDP    0.0.0.0:25             *:*                                    3000
"""


def test_parse_netstat_listening_only_language_independent():
    assert hq.parse_netstat(NETSTAT, 25) == [
        {'local_address': '0.0.0.0', 'local_port': 25, 'pid': 1844},
        {'local_address': '::', 'local_port': 25, 'pid': 1844},
    ]
    assert hq.parse_netstat(NETSTAT, 587) == []


# ------------------------------------------------------------------------------------------------ fake host

def fault(subcode, code):
    return errors.WSManFault('fault', fault_code='w:' + subcode, wsman_code=code)


ACCESS_DENIED = fault('AccessDenied', 5)
NO_NAMESPACE = errors.WSManFault('fault', fault_code='w:InternalError', wsman_code=2147749902)


class FakeClient:
    """Answers Enumerate by class name from plain dicts (as cim.parse_instance returns them); records requests."""

    def __init__(self, classes, failures=None, netstat=None):
        self.host = 'mail01.example.test'
        self.classes = classes
        self.failures = failures or {}
        self.netstat = netstat
        self.calls = []

    def enumerate(self, namespace, query):
        class_name = query.split(' FROM ')[1].split()[0]
        self.calls.append((namespace, class_name, query))
        if class_name in self.failures:
            raise self.failures[class_name]
        items = self.classes.get(class_name, [])
        if class_name in ('Win32_Service', 'Win32_Process') and ' WHERE ' in query:
            # enough of WQL for the lookups by name and by PID the collection makes
            where = query.lower().split(' where ', 1)[1]
            items = [item for item in items if ("name = '%s'" % item['Name']).lower() in where
                     or re.search(r'\bprocessid = %s\b' % item['ProcessId'], where)]
        return [dict(item) for item in items]

    def run_command(self, command, args):
        self.calls.append(('cmd', command, ' '.join(args)))
        return 0, self.netstat, ''


def service(name, state, mode, pid, path='C:\\x.exe'):
    return {'Name': name, 'DisplayName': name + ' display', 'State': state, 'StartMode': mode, 'ProcessId': str(pid),
            'PathName': path, 'DelayedAutoStart': 'false'}


def process(pid, name, parent=600):
    return {'ProcessId': str(pid), 'Name': name, 'ExecutablePath': 'C:\\bin\\' + name, 'ParentProcessId': str(parent)}


KB_HOST = {
    'MSFT_NetTCPConnection': [{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '900'},
                              {'LocalAddress': '::', 'LocalPort': '25', 'OwningProcess': '900'}],
    'Win32_Service': [service('IISADMIN', 'Running', 'Auto', 900), service('SMTPSVC', 'Running', 'Auto', 900),
                      service('MSExchangeIS', 'Running', 'Auto', 1100), service('MSExchangeIMC', 'Stopped', 'Auto', 0),
                      service('WinDefend', 'Running', 'Auto', 2100), service('W3SVC', 'Running', 'Auto', 1300)],
    'Win32_Process': [process(600, 'services.exe', 500), process(900, 'inetinfo.exe'), process(1100, 'store.exe'),
                      process(2100, 'MsMpEng.exe'), process(1300, 'svchost.exe')],
    'Win32_NTLogEvent': [
        {'Logfile': 'Application', 'SourceName': 'MSExchangeIMC', 'EventCode': '4020', 'Type': 'Error', 'RecordNumber': '41',
         'TimeGenerated': '2026-11-28T14:00:00Z', 'Message': 'Unable to start the service because WinSock could not be initialized.'},
        {'Logfile': 'Application', 'SourceName': 'MSExchangeIMC', 'EventCode': '4007', 'Type': 'Error', 'RecordNumber': '40',
         'TimeGenerated': '2026-11-28T14:00:00Z',
         'Message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048'},
        {'Logfile': 'Application', 'SourceName': 'MSExchangeIMC', 'EventCode': '4007', 'Type': 'Error', 'RecordNumber': '42',
         'TimeGenerated': '2026-11-28T15:00:00Z',
         'Message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048'},
    ],
}

CONFLICT_PARAMS = {'port': 25, 'smtp_service': 'SMTPSVC', 'mail_service': None, 'profile': 'auto', 'event_window_hours': 72,
                   'antivirus_catalogue': []}


def test_conflict_info_kb_case_requests():
    """The KB case: SMTPSVC holds the port. Three narrow queries explain it: no event query, no type of the WinSock
    Proxy client's files (the local picture explains the failure)."""
    client = FakeClient(KB_HOST)
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert [(ns, cls) for ns, cls, _q in client.calls] == [
        ('root/standardcimv2', 'MSFT_NetTCPConnection'), ('root/cimv2', 'Win32_Service'), ('root/cimv2', 'Win32_Process')]
    services, processes = client.calls[1][2], client.calls[2][2]
    assert services.startswith("SELECT Name,State,StartMode,ProcessId,PathName FROM Win32_Service WHERE (Name = 'SMTPSVC' OR ")
    assert services.endswith(" OR Name = 'WinDefend' OR Name = 'SepMasterService' OR Name = 'ccProxy' OR Name = 'McShield' "
                             "OR Name = 'McAfeeFramework' OR Name = 'McTaskManager' OR Name = 'KAVFS') OR (ProcessId = 900)")
    for name in profiles.SERVICE_NAMES:
        assert "Name = '%s'" % name in services
    # the listening process, and the images of products no running service showed (Defender's WinDefend runs: not its)
    assert processes.startswith("SELECT ProcessId,Name,ExecutablePath,ParentProcessId FROM Win32_Process WHERE "
                                "(ProcessId = 900) OR (Name = 'ccSvcHst.exe' OR ")
    assert "'MsMpEng.exe'" not in processes and "Name = 'TmProxy.exe'" in processes
    assert result['remote_bind'] is None
    assert [(entry['port'], entry['service'], entry['verdict']) for entry in result['ports']] == [(25, 'MSExchangeIMC', 'conflict')]
    assert result['changed'] is False and result['host'] == 'mail01.example.test' and result['port'] == 25
    assert (result['profile'], result['profile_source']) == ('exchange55', 'detected')
    assert result['listeners'][0] == {
        'local_address': '0.0.0.0', 'local_port': 25, 'pid': 900,
        'process': {'pid': 900, 'name': 'inetinfo.exe', 'path': 'C:\\bin\\inetinfo.exe', 'parent_pid': 600},
        'services': ['IISADMIN', 'SMTPSVC'], 'parent_process': None}
    assert result['owner'] == {'kind': 'smtp_service', 'pid': 900, 'process': 'inetinfo.exe', 'path': 'C:\\bin\\inetinfo.exe',
                               'services': ['IISADMIN', 'SMTPSVC'], 'product': None}
    assert result['smtp_service'] == {'name': 'SMTPSVC', 'exists': True, 'state': 'running', 'start_mode': 'auto', 'pid': 900,
                                      'is_transport': False}
    assert result['mail_service'] == {'name': 'MSExchangeIMC', 'exists': True, 'state': 'stopped', 'start_mode': 'auto', 'pid': None}
    assert result['antivirus']['present'] is True and result['antivirus']['holds_port'] is False
    assert [(p['product'], p['match_kind'], p['pid']) for p in result['antivirus']['products']] == [
        ('Microsoft Defender Antivirus', 'service', 2100)]
    assert result['events'] == []
    assert [f['code'] for f in result['findings']] == [
        'PORT_HELD_BY_SMTP_SERVICE', 'SMTP_SERVICE_ENABLED', 'MAIL_SERVICE_NOT_RUNNING', 'ANTIVIRUS_PRESENT']
    assert result['gaps'] == [] and result['compliant'] is False


def test_conflict_module_diagnosis_reads_the_events_always():
    """The conflict module's diagnosis (all_events) reads the events even when the local picture explains the failure:
    its verification compares the newest record before and after the fix."""
    client = FakeClient(KB_HOST)
    result = conflict_info.diagnose(client, dict(CONFLICT_PARAMS))[0]
    assert [cls for _ns, cls, _q in client.calls] == ['MSFT_NetTCPConnection', 'Win32_Service', 'Win32_Process', 'Win32_NTLogEvent']
    assert "SourceName = 'MSExchangeIMC' AND (EventCode = 4007 OR EventCode = 4020)" in client.calls[3][2]
    assert [(e['event_id'], e['record_number'], e['winsock_error']) for e in result['events']] == [
        (4007, 42, 10048), (4020, 41, None), (4007, 40, 10048)]
    assert [f['code'] for f in result['findings']] == [
        'PORT_HELD_BY_SMTP_SERVICE', 'SMTP_SERVICE_ENABLED', 'MAIL_SERVICE_NOT_RUNNING', 'BIND_FAILURE_EVENTS', 'ANTIVIRUS_PRESENT']
    assert result['remote_bind'] is None


# nothing on this host holds port 25 and the IMS does not run: the events and the WinSock Proxy files are read
FREE_PORT_HOST = dict(KB_HOST, MSFT_NetTCPConnection=[], Win32_Service=[
    service('SMTPSVC', 'Stopped', 'Disabled', 0), service('MSExchangeIS', 'Running', 'Auto', 1100),
    service('MSExchangeIMC', 'Stopped', 'Auto', 0, path='C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe'),
    service('WinDefend', 'Running', 'Auto', 2100)])


def test_conflict_info_reads_events_and_wspcfg_when_nothing_here_explains_the_failure():
    client = FakeClient(FREE_PORT_HOST)
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert [cls for _ns, cls, _q in client.calls] == ['MSFT_NetTCPConnection', 'Win32_Service', 'Win32_Process',
                                                      'Win32_NTLogEvent', 'type']
    # no listening PID: the services by name only; the image path comes from that answer (no request of its own)
    assert ' OR (ProcessId' not in client.calls[1][2] and 'WHERE (ProcessId' not in client.calls[2][2]
    assert client.calls[4][2] == 'C:\\exchsrvr\\connect\\msexcimc\\bin\\Wspcfg.ini C:\\Mspclnt\\Mspclnt.ini'
    assert result['remote_bind']['configured'] is False
    assert result['owner']['kind'] == 'none'
    assert [e['event_id'] for e in result['events']] == [4007, 4020, 4007]
    assert [f['code'] for f in result['findings']] == [
        'PORT_FREE', 'MAIL_SERVICE_NOT_RUNNING', 'BIND_FAILURE_EVENTS', 'ANTIVIRUS_PRESENT']


def test_conflict_info_healthy_host_asks_three_queries():
    healthy = dict(KB_HOST, Win32_Service=[
        service('SMTPSVC', 'Stopped', 'Disabled', 0), service('MSExchangeIMC', 'Running', 'Auto', 1500),
        service('WinDefend', 'Running', 'Auto', 2100)],
        Win32_Process=KB_HOST['Win32_Process'] + [process(1500, 'msexcimc.exe')],
        MSFT_NetTCPConnection=[{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '1500'}])
    client = FakeClient(healthy)
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert [cls for _ns, cls, _q in client.calls] == ['MSFT_NetTCPConnection', 'Win32_Service', 'Win32_Process']
    assert (result['owner']['kind'], result['owner']['process'], result['compliant']) == ('mail_service', 'msexcimc.exe', True)
    assert result['events'] == [] and result['remote_bind'] is None


def test_conflict_info_worker_process_brings_its_parent_and_its_services():
    """EdgeTransport.exe hosts no service: its parent's services are read, then the parent (two more queries)."""
    host = dict(KB_HOST, **{
        'MSFT_NetTCPConnection': [{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '5100'}],
        'Win32_Process': [process(5000, 'MSExchangeTransportHost.exe'), process(5100, 'EdgeTransport.exe', 5000)],
        'Win32_Service': [service('MSExchangeTransport', 'Running', 'Auto', 5000), service('HostedHelper', 'Running', 'Auto', 5000)]})
    client = FakeClient(host)
    result = conflict_info.run(client, dict(CONFLICT_PARAMS, profile='exchange2007'))
    assert [cls for _ns, cls, _q in client.calls[:5]] == ['MSFT_NetTCPConnection', 'Win32_Service', 'Win32_Process',
                                                          'Win32_Service', 'Win32_Process']
    assert client.calls[3][2].endswith('WHERE (ProcessId = 5000)') and client.calls[4][2].endswith('WHERE (ProcessId = 5000)')
    assert result['listeners'][0]['parent_process'] == {
        'pid': 5000, 'name': 'MSExchangeTransportHost.exe', 'path': 'C:\\bin\\MSExchangeTransportHost.exe',
        'services': ['HostedHelper', 'MSExchangeTransport']}
    assert result['owner']['kind'] == 'mail_service'


def test_conflict_info_a_parent_that_hosts_no_service_costs_one_query():
    host = dict(KB_HOST, **{
        'MSFT_NetTCPConnection': [{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '4400'}],
        'Win32_Process': KB_HOST['Win32_Process'] + [process(4400, 'relay.exe', 3000), process(3000, 'explorer.exe')]})
    client = FakeClient(host)
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert [cls for _ns, cls, _q in client.calls] == ['MSFT_NetTCPConnection', 'Win32_Service', 'Win32_Process', 'Win32_Service']
    assert client.calls[3][2].endswith('WHERE (ProcessId = 3000)')
    assert result['listeners'][0]['parent_process'] == {'pid': 3000, 'name': None, 'path': None, 'services': []}
    assert (result['owner']['kind'], result['owner']['process']) == ('other', 'relay.exe')


def test_conflict_info_access_denied_on_one_class_keeps_the_rest():
    client = FakeClient(FREE_PORT_HOST, failures={'Win32_NTLogEvent': ACCESS_DENIED})
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert result['gaps'] == [{'class': 'Win32_NTLogEvent',
                               'error': 'access denied: the account may not use this WMI class, namespace or method '
                                        '(WSManFault 5, w:AccessDenied)'}]
    assert result['events'] == []
    assert result['owner']['kind'] == 'none'
    assert result['findings'][-1]['code'] == 'DATA_GAP' and result['findings'][-1]['severity'] == 'warning'
    assert 'Win32_NTLogEvent could not be read' in result['findings'][-1]['message']


def test_conflict_info_a_process_gap_still_gives_the_owner_by_service():
    client = FakeClient(KB_HOST, failures={'Win32_Process': ACCESS_DENIED})
    result = conflict_info.run(client, dict(CONFLICT_PARAMS))
    assert [g['class'] for g in result['gaps']] == ['Win32_Process']
    assert (result['owner']['kind'], result['owner']['services'], result['owner']['process']) == (
        'smtp_service', ['IISADMIN', 'SMTPSVC'], None)


def test_conflict_info_other_faults_fail_the_task():
    client = FakeClient(KB_HOST, failures={'Win32_Service': fault('CannotProcessFilter', 2150858778)})
    with pytest.raises(errors.WSManFault):
        conflict_info.run(client, dict(CONFLICT_PARAMS))


def test_conflict_info_profile_option_and_mail_service_option():
    client = FakeClient(KB_HOST)
    result = conflict_info.diagnose(client, dict(CONFLICT_PARAMS, profile='exchange2013', mail_service='MSExchangeIS'))[0]
    assert (result['profile'], result['profile_source']) == ('exchange2013', 'option')
    assert result['mail_service']['name'] == 'MSExchangeIS' and result['mail_service']['state'] == 'running'
    assert "Name = 'MSExchangeIS'" in client.calls[1][2]
    assert "SourceName = 'MSExchangeFrontEndTransport'" in client.calls[3][2]


@pytest.mark.parametrize('override, message', [
    ({'port': 0}, 'port must be a TCP port number from 1 to 65535, got 0'),
    ({'port': 70000}, 'port must be a TCP port number from 1 to 65535, got 70000'),
    ({'event_window_hours': 0}, 'event_window_hours must be a number of hours'),
    ({'smtp_service': 'SMTP\nSVC'}, 'control character'),
    ({'smtp_service': ' '}, 'smtp_service must be a non-empty name'),
])
def test_conflict_info_bad_input_is_refused_before_any_client(override, message):
    msg = refused_before_any_client(conflict_info, dict(CONFLICT_PARAMS, **override))
    assert message in msg
    assert msg.startswith('mail01.example.test: ')


def test_listener_fallback_to_netstat_when_namespace_is_missing():
    client = FakeClient(KB_HOST, failures={'MSFT_NetTCPConnection': NO_NAMESPACE}, netstat=NETSTAT.replace('1844', '900'))
    result = listener_info.run(client, {'port': 25})
    assert client.calls[0][1] == 'MSFT_NetTCPConnection'
    assert client.calls[1] == ('cmd', 'netstat', '-ano')
    assert [(l['local_address'], l['pid'], l['services']) for l in result['listeners']] == [
        ('0.0.0.0', 900, ['IISADMIN', 'SMTPSVC']), ('::', 900, ['IISADMIN', 'SMTPSVC'])]
    assert result['listening'] is True
    # services are asked for the listening PID (and its parent) only
    assert client.calls[-1][2].endswith('WHERE (ProcessId = 600 OR ProcessId = 900)')


def test_listener_info_parent_process_when_no_service_matches():
    host = dict(KB_HOST, **{
        'MSFT_NetTCPConnection': [{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '5100'}],
        'Win32_Process': [process(5000, 'MSExchangeTransport.exe'), process(5100, 'EdgeTransport.exe', 5000)],
        'Win32_Service': [service('MSExchangeTransport', 'Running', 'Auto', 5000)]})
    result = listener_info.run(FakeClient(host), {'port': 25})
    assert result['listeners'] == [{
        'local_address': '0.0.0.0', 'local_port': 25, 'pid': 5100,
        'process': {'pid': 5100, 'name': 'EdgeTransport.exe', 'path': 'C:\\bin\\EdgeTransport.exe', 'parent_pid': 5000},
        'services': [],
        'parent_process': {'pid': 5000, 'name': 'MSExchangeTransport.exe', 'path': 'C:\\bin\\MSExchangeTransport.exe',
                           'services': ['MSExchangeTransport']}}]


def test_listener_info_nothing_listening_costs_one_request():
    client = FakeClient(dict(KB_HOST, MSFT_NetTCPConnection=[]))
    expected = {'changed': False, 'host': 'mail01.example.test', 'port': 587, 'listening': False, 'listeners': [], 'gaps': []}
    assert listener_info.run(client, {'port': 587}) == expected
    assert len(client.calls) == 1


def test_service_info_names_patterns_and_missing():
    client = FakeClient(KB_HOST)
    client.classes = dict(KB_HOST, Win32_DependentService=[])
    result = service_info.run(client, {'name': ['smtpsvc', 'NoSuchSvc'], 'dependents': False})
    assert client.calls[0][2].endswith("WHERE (Name = 'smtpsvc' OR Name = 'NoSuchSvc')")
    assert result['missing'] == ['NoSuchSvc']
    assert result['exists'] is True
    result = service_info.run(client, {'name': ['MSExchange*'], 'dependents': False})
    assert client.calls[-1][2].endswith("WHERE Name LIKE 'MSExchange%'")


def test_event_info_query_and_order():
    client = FakeClient(KB_HOST)
    result = event_info.run(client, {'log': 'Application', 'sources': ['MSExchangeIMC'], 'event_ids': [4007], 'window_hours': 24})
    assert "Logfile = 'Application' AND (SourceName = 'MSExchangeIMC') AND (EventCode = 4007)" in client.calls[0][2]
    assert [e['record_number'] for e in result['events']] == [42, 41, 40]
    assert result['since'].endswith('Z') and result['log'] == 'Application'


@pytest.mark.parametrize('ids', [[70000], [-1]])
def test_event_info_rejects_bad_ids_before_any_client(ids):
    msg = refused_before_any_client(event_info, {'log': 'Application', 'sources': [], 'event_ids': ids, 'window_hours': 24})
    assert 'event_ids must be numbers from 0 to 65535, got %r' % ids[0] in msg


def test_antivirus_info_holds_port():
    host = dict(KB_HOST, MSFT_NetTCPConnection=[{'LocalAddress': '0.0.0.0', 'LocalPort': '25', 'OwningProcess': '2100'}])
    result = antivirus_info.run(FakeClient(host), {'port': 25, 'antivirus_catalogue': []})
    assert result['present'] is True and result['holds_port'] is True
    assert result['products'][0]['holds_port'] is True and result['products'][0]['pid'] == 2100


class OldWindows(FakeClient):
    """Windows Server 2012 R2 and older: Win32_Service has no DelayedAutoStart (invalid query when asked)."""

    def enumerate(self, namespace, query):
        if 'DelayedAutoStart' in query:
            self.calls.append((namespace, 'Win32_Service', query))
            raise fault('CannotProcessFilter', 2150858778)
        return super().enumerate(namespace, query)


def reference(name):
    # How cim.parse_instance renders an EPR property: Address + ReferenceParameters/SelectorSet as {key: value}.
    return {'Address': 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous',
            'ReferenceParameters': {'ResourceURI': 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_BaseService',
                                    'SelectorSet': {'__cimnamespace': 'root/cimv2', 'Name': name}}}


DEPENDENCIES = [{'Antecedent': reference('IISADMIN'), 'Dependent': reference('SMTPSVC')},
                {'Antecedent': reference('IISADMIN'), 'Dependent': reference('W3SVC')},
                {'Antecedent': reference('RpcSs'), 'Dependent': reference('IISADMIN')},
                {'Antecedent': 'Win32_Service.Name="EventLog"', 'Dependent': 'Win32_Service.Name="Schedule"'}]


def test_service_info_full_view_with_dependents():
    client = FakeClient(dict(KB_HOST, Win32_DependentService=DEPENDENCIES))
    result = service_info.run(client, {'name': ['IISADMIN', 'SMTPSVC'], 'dependents': True})
    assert [c[1] for c in client.calls] == ['Win32_Service', 'Win32_DependentService']
    assert result['services'] == [
        {'name': 'IISADMIN', 'display_name': 'IISADMIN display', 'state': 'running', 'start_mode': 'auto', 'delayed_auto_start': False,
         'pid': 900, 'path': 'C:\\x.exe', 'dependents': ['SMTPSVC', 'W3SVC']},
        {'name': 'SMTPSVC', 'display_name': 'SMTPSVC display', 'state': 'running', 'start_mode': 'auto', 'delayed_auto_start': False,
         'pid': 900, 'path': 'C:\\x.exe', 'dependents': []}]
    assert result['gaps'] == [] and result['missing'] == []


def test_read_dependents_both_reference_shapes():
    links = hq.read_dependents(FakeClient({'Win32_DependentService': DEPENDENCIES}))
    assert links == {'iisadmin': ['SMTPSVC', 'W3SVC'], 'rpcss': ['IISADMIN'], 'eventlog': ['Schedule']}


def test_service_info_old_windows_retries_without_delayed_auto_start():
    client = OldWindows(KB_HOST, failures={'Win32_DependentService': fault('CannotProcessFilter', 2150858778)})
    result = service_info.run(client, {'name': ['SMTPSVC'], 'dependents': True})
    assert 'DelayedAutoStart' in client.calls[0][2] and 'DelayedAutoStart' not in client.calls[1][2]
    assert result['services'][0]['name'] == 'SMTPSVC' and result['services'][0]['dependents'] is None
    assert result['gaps'][0]['class'] == 'Win32_DependentService'


TIMED_OUT = fault('TimedOut', 2150858793)


@pytest.mark.parametrize('failure, tolerate, tolerated', [
    (ACCESS_DENIED, hq.READ_FAULTS, True),
    (TIMED_OUT, hq.READ_FAULTS, True),
    (fault('CannotProcessFilter', 2150858778), hq.READ_FAULTS, False),
    (fault('CannotProcessFilter', 2150858778), hq.DEPENDENCY_FAULTS, True),
    (TIMED_OUT, ('is_access_denied',), False),
    (TIMED_OUT, (lambda exc: exc.wsman_code == 2150858793,), True),
    (fault('InternalError', None), hq.DEPENDENCY_FAULTS, False),
])
def test_tolerant_tolerates_only_the_faults_it_is_given(failure, tolerate, tolerated):
    client = FakeClient(KB_HOST, failures={'Win32_Process': failure})
    gaps = []
    if tolerated:
        assert hq.tolerant(gaps, hq.PROCESS_CLASS, hq.read_processes, client, tolerate=tolerate) is None
        assert [g['class'] for g in gaps] == ['Win32_Process']
    else:
        with pytest.raises(errors.WSManFault):
            hq.tolerant(gaps, hq.PROCESS_CLASS, hq.read_processes, client, tolerate=tolerate)
        assert gaps == []


def test_service_info_timed_out_dependency_read_is_a_gap():
    client = FakeClient(KB_HOST, failures={'Win32_DependentService': TIMED_OUT})
    result = service_info.run(client, {'name': ['SMTPSVC'], 'dependents': True})
    assert result['services'][0]['dependents'] is None
    assert result['gaps'] == [{'class': 'Win32_DependentService',
                               'error': 'timed out: the operation did not finish within the operation timeout '
                                        '(WSManFault 2150858793, w:TimedOut)'}]


def test_service_info_returns_its_documented_keys_only():
    result = service_info.run(FakeClient(KB_HOST), {'name': ['SMTPSVC'], 'dependents': False})
    assert sorted(result['services'][0]) == sorted(service_info.RETURNED)
