# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Win32_NTLogEvent as Windows has it: InsertionStrings, a nil Message for a source whose message file is missing,
times in the host's zone, a big log whose queries cost time and can time out or hit a quota, and the Security log
refused without SeSecurityPrivilege. The last tests feed the lab's answers to the collection's parser."""
from __future__ import annotations

import datetime
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim as collection_cim
from ansible_collections.mailops.port25.plugins.module_utils import host_queries
from winlab import eventlog, model, scenario, soap, testing, wsman

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
EV = CIMV2 + 'Win32_NTLogEvent'
NS = {'s': soap.NS_S, 'n': soap.NS_N, 'w': soap.NS_W, 'p': EV, 'xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'f': soap.NS_F, 'e': 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError'}
T0 = 1_800_000_000.0          # 2027-01-15T08:00:00Z
IMC_4007 = {'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error', 'time': '-2h',
            'message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048',
            'insertion_strings': ['10048']}
AUDIT = {'log': 'Security', 'source': 'Microsoft-Windows-Security-Auditing', 'event_id': 4624, 'type': 'audit success',
         'time': '-1h', 'message': 'An account was successfully logged on.', 'insertion_strings': ['S-1-5-18']}
SCM_7036 = {'log': 'System', 'source': 'Service Control Manager', 'event_id': 7036, 'time': '-3h',
            'message': 'The Print Spooler service entered the running state.', 'insertion_strings': ['Print Spooler', 'running']}


def _host(tmp_path, **fields):
    host = testing.small_host('ev1', events=[IMC_4007, AUDIT, SCM_7036], **fields)
    spec = scenario.load_spec(testing.write_scenario(tmp_path / 's.yml', [host]))[0]
    return model.Host.open(spec, None, clock=lambda: T0)


def _query(host, query, timeout='PT60S'):
    """(reply of the Enumerate, every item after the Pulls); the items are None when the Enumerate faulted."""
    uri = CIMV2 + '*'
    reply = wsman.handle(host, testing.request_envelope(soap.ACT_ENUMERATE, uri, testing.enumerate_body(query),
                                                        timeout=timeout))
    if reply.status != 200:
        return reply, None
    root = ET.fromstring(reply.body)
    items = list(root.find('.//n:EnumerateResponse/w:Items', NS))
    context = root.findtext('.//n:EnumerateResponse/n:EnumerationContext', namespaces=NS)
    while context:
        pulled = ET.fromstring(wsman.handle(host, testing.request_envelope(soap.ACT_PULL, uri,
                                                                           testing.pull_body(context))).body)
        items.extend(pulled.find('.//n:PullResponse/n:Items', NS))
        context = pulled.findtext('.//n:PullResponse/n:EnumerationContext', namespaces=NS)
    return reply, items


def _dmtf(epoch, minutes=0):
    zone = datetime.timezone(datetime.timedelta(minutes=minutes))
    return datetime.datetime.fromtimestamp(epoch, zone).strftime('%Y%m%d%H%M%S.%f') + '%+04d' % minutes


def _fault(reply):
    root = ET.fromstring(reply.body)
    return (root.findtext('.//s:Code/s:Subcode/s:Value', namespaces=NS), root.find('.//s:Detail', NS))


# ------------------------------------------------------------------------------------------------ 1. insertion strings
def test_events_carry_their_insertion_strings_and_the_message(tmp_path):
    _reply, items = _query(_host(tmp_path), "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
    assert len(items) == 1
    item = items[0]
    assert [s.text for s in item.findall('p:InsertionStrings', NS)] == ['10048']
    assert item.findtext('p:Message', namespaces=NS) == IMC_4007['message']


def test_a_missing_message_file_leaves_message_nil_and_the_strings_filled(tmp_path):
    host = _host(tmp_path, missing_message_files=['msexchangeimc'])
    _reply, items = _query(host, "SELECT Message, InsertionStrings, SourceName FROM Win32_NTLogEvent "
                                 "WHERE Logfile = 'Application' OR Logfile = 'System'")
    by_source = {i.findtext('SourceName'): i for i in items}
    imc = by_source['MSExchangeIMC']
    assert imc.find('Message').get('{%s}nil' % NS['xsi']) == 'true' and imc.find('Message').text is None
    assert [s.text for s in imc.findall('InsertionStrings')] == ['10048']
    # other sources keep their text
    assert by_source['Service Control Manager'].findtext('Message') == SCM_7036['message']


def test_a_failed_start_writes_the_strings_of_its_events():
    spec = scenario.load_spec(os.path.join(SCENARIOS, 'ex55-smtp.yml'))[0]
    host = model.Host.open(spec, None, clock=lambda: T0)
    assert host.start_service('MSExchangeIMC') == model.RC_SUCCESS     # SMTPSVC holds 25: the bind fails
    host.clock = lambda: T0 + 10
    host.refresh()
    written = [(e['source'], e['event_id'], e['strings']) for e in host.events if e['time'] == T0 + 1]
    assert written == [('MSExchangeIMC', 4007, ['10048']), ('MSExchangeIMC', 4020, []),
                       ('Service Control Manager', 7024, ['Microsoft Exchange Internet Mail Service', '%%10048'])]


# ------------------------------------------------------------------------------------------------ 2. time zones
def test_time_generated_is_in_the_host_zone(tmp_path):
    host = _host(tmp_path, utc_offset_minutes=-420)
    _reply, items = _query(host, "SELECT TimeGenerated, TimeWritten FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
    # T0 - 2h = 2027-01-15T06:00:00Z = 2027-01-14T23:00:00-07:00
    assert items[0].findtext('TimeGenerated/Datetime') == '2027-01-14T23:00:00-07:00'
    assert items[0].findtext('TimeWritten/Datetime') == '2027-01-14T23:00:00-07:00'
    assert collection_cim.to_utc_iso(items[0].findtext('TimeGenerated/Datetime')) == '2027-01-15T06:00:00Z'


@pytest.mark.parametrize('minutes', [0, -420, 330])
def test_wql_time_bounds_honour_the_offset_of_the_literal(tmp_path, minutes):
    host = _host(tmp_path, utc_offset_minutes=-420)
    when = T0 - 7200
    for bound, found in ((when - 1, 1), (when, 1), (when + 1, 0)):
        query = "SELECT SourceName FROM Win32_NTLogEvent WHERE Logfile = 'Application' AND TimeGenerated >= '%s'" \
                % _dmtf(bound, minutes)
        assert len(_query(host, query)[1]) == found, (bound - when, minutes)


def test_the_operating_system_says_the_same_zone(tmp_path):
    host = _host(tmp_path, utc_offset_minutes=330)
    _reply, items = _query(host, 'SELECT CurrentTimeZone, LocalDateTime FROM Win32_OperatingSystem')
    assert items[0].findtext('CurrentTimeZone') == '330'
    assert items[0].findtext('LocalDateTime/Datetime') == '2027-01-15T13:30:00+05:30'


def test_a_utc_host_still_answers_in_z(tmp_path):
    _reply, items = _query(_host(tmp_path), "SELECT TimeGenerated FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
    assert items[0].findtext('TimeGenerated/Datetime') == '2027-01-15T06:00:00Z'


# ------------------------------------------------------------------------------------------------ 3. the big log
@pytest.fixture(name='biglog', scope='module')
def biglog_fixture():
    spec = scenario.load_spec(os.path.join(SCENARIOS, 'ex2019-biglog.yml'))[0]
    return model.Host.open(spec, None, clock=lambda: T0)


def test_the_shipped_big_log_has_100000_generated_records_before_its_own(biglog):
    settings = biglog.spec.event_log
    assert settings == {'records': 100000, 'span': 14 * 86400.0, 'scan_us_per_record': 40.0, 'quota_records': 60000,
                        'security_privilege': False}
    assert biglog.spec.utc_offset_minutes == -420
    assert [e['record'] for e in biglog.events if e['log'] == 'Application'] == [100001, 100002]
    generated = eventlog.Generated(biglog)
    assert generated.time(100000) == T0 - 1800 - 60
    assert generated.time(1) == pytest.approx(T0 - 1860 - 14 * 86400, abs=13)


def test_a_bounded_query_costs_the_records_it_reads(biglog):
    since = T0 - 72 * 3600
    query = ("SELECT SourceName, EventCode, RecordNumber FROM Win32_NTLogEvent WHERE TimeGenerated >= '%s' AND "
             "Logfile = 'Application' AND (EventCode = 1018 OR EventCode = 1019)" % _dmtf(since))
    reply, items = _query(biglog, query)
    assert [(i.findtext('SourceName'), i.findtext('EventCode'), i.findtext('RecordNumber')) for i in items] == [
        ('MSExchangeFrontEndTransport', '1018', '100002'), ('MSExchangeFrontEndTransport', '1019', '100001')]
    # 2 own records, then the generated ones written since the bound and the one past it
    read = 2 + int((T0 - 1860 - since) // (14 * 86400 / 100000)) + 2
    assert reply.delay == pytest.approx(read * 40e-6)
    assert 0.8 < reply.delay < 0.9


def test_generated_records_are_ordinary_application_events(biglog):
    since = T0 - 1860 - 30
    _reply, items = _query(biglog, "SELECT * FROM Win32_NTLogEvent WHERE TimeGenerated >= '%s' AND "
                                   "Logfile = 'Application' AND RecordNumber < 100001" % _dmtf(since))
    assert [i.findtext('p:RecordNumber', namespaces=NS) for i in items] == ['100000', '99999', '99998']
    first = items[0]
    assert first.findtext('p:SourceName', namespaces=NS) == 'MSExchange ADAccess'
    assert first.findtext('p:Message', namespaces=NS).startswith(
        'Process Microsoft.Exchange.Directory.TopologyService.exe (PID=2312).')
    assert first.findtext('p:TimeGenerated/p:Datetime', namespaces=NS) is None
    assert first.find('p:TimeGenerated', NS)[0].text.endswith('-07:00')


def test_a_whole_log_query_times_out_after_the_operation_timeout(biglog):
    reply, items = _query(biglog, "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'", timeout='PT2S')
    assert items is None and reply.status == 500 and reply.delay == 2.0
    subcode, detail = _fault(reply)
    assert subcode == 'w:TimedOut'
    assert detail.find('f:WSManFault', NS).get('Code') == '2150858793'


def test_winrm_caps_the_time_a_query_may_take(tmp_path):
    host = _host(tmp_path, event_log={'records': 100000, 'scan_us_per_record': 1000})     # 100 s for the whole log
    reply, items = _query(host, "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'", timeout='PT600S')
    assert items is None and _fault(reply)[0] == 'w:TimedOut' and reply.delay == 60.0        # MaxTimeoutms


def test_a_whole_log_query_with_time_hits_the_wmi_quota(biglog):
    reply, items = _query(biglog, "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
    assert items is None and reply.status == 500
    assert reply.delay == pytest.approx(60000 * 40e-6)
    subcode, detail = _fault(reply)
    # Server 2012 and later: w:InternalError whose only detail is an MSFT_WmiError
    assert subcode == 'w:InternalError' and [c.tag.rpartition('}')[2] for c in detail] == ['MSFT_WmiError']
    assert detail.findtext('e:MSFT_WmiError/e:error_Code', namespaces=NS) == '2150859174'
    info = collection_cim.fault_info(reply.body)
    assert (info['subcode'], info['wsman_code']) == ('w:InternalError', 2150859174)


def test_an_old_host_reports_the_quota_with_the_wmi_code(tmp_path):
    host = _host(tmp_path, os='Microsoft Windows Server 2008 R2 Standard',
                 event_log={'records': 1000, 'quota_records': 10})
    reply, _items = _query(host, "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
    info = collection_cim.fault_info(reply.body)
    assert (info['subcode'], info['wsman_code'], info['provider_message']) == ('w:InternalError', 2147749996,
                                                                               'Quota violation')


def test_normal_hosts_answer_at_once(tmp_path):
    reply, items = _query(_host(tmp_path), 'SELECT * FROM Win32_NTLogEvent')
    assert reply.delay == 0.0 and len(items) == 3


# ------------------------------------------------------------------------------------------------ 4. Security log
def test_the_security_log_needs_the_privilege(tmp_path):
    host = _host(tmp_path, event_log={'security_privilege': False})
    query = "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Security'"
    reply, items = _query(host, query)
    assert items is None and reply.status == 500
    info = collection_cim.fault_info(reply.body)
    assert (info['subcode'], info['wsman_code'], info['provider_message']) == ('w:AccessDenied', 2147749986,
                                                                               'Privilege not held.')
    assert info['extended_status']['Operation'] == 'ExecQuery'
    # a query that names no log skips the log it cannot open
    _reply, items = _query(host, 'SELECT Logfile FROM Win32_NTLogEvent')
    assert sorted(i.findtext('Logfile') for i in items) == ['Application', 'System']


def test_with_the_privilege_the_security_log_is_read(tmp_path):
    _reply, items = _query(_host(tmp_path), "SELECT EventCode FROM Win32_NTLogEvent WHERE Logfile = 'Security'")
    assert [i.findtext('EventCode') for i in items] == ['4624']


# ------------------------------------------------------------------------------------------------ scenario checks
@pytest.mark.parametrize('fields, field', [
    ({'utc_offset_minutes': 900}, 'utc_offset_minutes'),
    ({'utc_offset_minutes': '-7h'}, 'utc_offset_minutes'),
    ({'missing_message_files': 'MSExchangeIMC'}, 'missing_message_files'),
    ({'event_log': {'records': 2000000}}, 'event_log.records'),
    ({'event_log': {'span': '10s'}}, 'event_log.span'),
    ({'event_log': {'scan_us_per_record': -1}}, 'event_log.scan_us_per_record'),
    ({'event_log': {'privilege': True}}, 'event_log.privilege'),
    ({'events': [dict(IMC_4007, insertion_strings='10048')]}, 'events[0].insertion_strings'),
])
def test_bad_event_log_fields_name_the_field(tmp_path, fields, field):
    path = testing.write_scenario(tmp_path / 'bad.yml', [testing.small_host('bad1', **fields)])
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load_spec(path)
    assert info.value.field == field and info.value.host == 'bad1'


# ------------------------------------------------------------------------------------------------ the collection reads it
class _LabClient:
    host = 'ev1'

    def __init__(self, lab_host):
        self.lab_host = lab_host

    def enumerate(self, namespace, query):
        reply, items = _query(self.lab_host, query)
        if items is None:
            raise collection_cim.fault_from_info(collection_cim.fault_info(reply.body))
        return [collection_cim.parse_instance(item, 'Win32_NTLogEvent') for item in items]


def test_the_collection_takes_the_winsock_code_from_the_strings(tmp_path):
    host = _host(tmp_path, missing_message_files=['MSExchangeIMC'], utc_offset_minutes=-420)
    since = datetime.datetime.fromtimestamp(T0 - 3 * 3600, datetime.timezone.utc)
    events = host_queries.read_events(_LabClient(host), since, log='Application', sources=['MSExchangeIMC'])
    assert events == [{'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error',
                       'time': '2027-01-15T06:00:00Z', 'message': None, 'insertion_strings': ['10048'],
                       'winsock_error': 10048, 'record_number': 1}]
    # the window starts where it should on a host seven hours behind UTC
    late = datetime.datetime.fromtimestamp(T0 - 7199, datetime.timezone.utc)
    assert host_queries.read_events(_LabClient(host), late, log='Application') == []
