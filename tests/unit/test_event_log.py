# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event log as Windows answers it: the WinSock code in InsertionStrings when Message is null, times with the
host's offset reported in UTC, and WMI's refusals of a query (timeout, quota, privilege) as a named gap."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim, errors, host_queries as hq
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict_info, event_info
from ansible_collections.mailops.port25.tests.unit.test_host_queries import CONFLICT_PARAMS, KB_HOST, FakeClient

EVENT_PARAMS = {'log': 'Application', 'sources': [], 'event_ids': [], 'window_hours': 24}
# The faults of a refused event log query, as the lab sends them (tests/lab/tests/test_eventlog.py checks the shapes)
TIMED_OUT = errors.WSManFault('fault', fault_code='w:TimedOut', wsman_code=2150858793)
QUOTA_MI = errors.WSManFault('fault', fault_code='w:InternalError', wsman_code=2150859174)
QUOTA_WMI = errors.WSManFault('fault', fault_code='w:InternalError', wsman_code=2147749996)
PRIVILEGE = errors.WSManFault('fault', fault_code='w:AccessDenied', wsman_code=2147749986)
TIMEOUT_TEXT = ('the event log query did not finish within the operation timeout (a big log): narrow the window or raise '
                'winrm_operation_timeout (WSManFault 2150858793, w:TimedOut)')
QUOTA_TEXT = 'WMI stopped the event log query at its quota (a big log): narrow the window (WSManFault %d, w:InternalError)'
PRIVILEGE_TEXT = ('the account does not hold SeSecurityPrivilege, which the Security log needs '
                  '(WSManFault 2147749986, w:AccessDenied)')


# ------------------------------------------------------------------------------------------------ insertion strings
def test_the_query_asks_for_the_insertion_strings():
    assert hq.event_query(datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc)).startswith(
        'SELECT Logfile,SourceName,EventCode,Type,TimeGenerated,Message,InsertionStrings,RecordNumber FROM Win32_NTLogEvent')


@pytest.mark.parametrize('message, strings, code', [
    (None, '10048', 10048),                                             # one string comes back as a scalar
    (None, ['10048', '0.0.0.0:25'], 10048),                             # 1019
    (None, ['0.0.0.0:25', 'Only one usage of each socket address', '10048'], 10048),   # 1018
    (None, ['0.0.0.0:25', None], None),
    (None, None, None),
    ('Failed to start listening (Error: 10061). Binding: 0.0.0.0:25.', ['10048'], 10061),   # the message wins
])
def test_the_winsock_code_comes_from_the_strings_when_message_is_null(message, strings, code):
    event = hq.normalise_event({'Logfile': 'Application', 'SourceName': 'MSExchangeFrontEndTransport', 'EventCode': '1019',
                                'Type': 'Error', 'Message': message, 'InsertionStrings': strings})
    assert event['winsock_error'] == code and event['message'] == message
    assert event['insertion_strings'] == [s for s in cim.as_list(strings) if s is not None]


def test_conflict_info_finds_the_code_of_an_event_without_message():
    host = dict(KB_HOST, Win32_NTLogEvent=[
        {'Logfile': 'Application', 'SourceName': 'MSExchangeIMC', 'EventCode': '4007', 'Type': 'Error', 'RecordNumber': '42',
         'TimeGenerated': '2026-11-28T08:00:00-07:00', 'Message': None, 'InsertionStrings': '10048'}])
    # the diagnosis that reads the events whoever holds the port (the conflict module's; conflict_info reads them
    # only when nothing on the host holds it)
    result = conflict_info.diagnose(FakeClient(host), dict(CONFLICT_PARAMS))[0]
    assert [(e['time'], e['message'], e['winsock_error']) for e in result['events']] == [('2026-11-28T15:00:00Z', None, 10048)]
    finding = [f for f in result['findings'] if f['code'] == 'BIND_FAILURE_EVENTS'][0]
    assert finding['message'] == ('1 bind-failure event(s) in the last 72 h; newest: MSExchangeIMC 4007 at '
                                  '2026-11-28T15:00:00Z (WinSock error 10048).')


# ------------------------------------------------------------------------------------------------ time zones
@pytest.mark.parametrize('text, utc', [
    ('2026-11-28T08:00:00-07:00', '2026-11-28T15:00:00Z'),
    ('2026-11-28T20:30:00.1234567+05:30', '2026-11-28T15:00:00Z'),          # 7 fraction digits, half-hour zone
    ('2026-11-28T23:45:00+08:45', '2026-11-28T15:00:00Z'),
    ('2026-11-28T15:00:00Z', '2026-11-28T15:00:00Z'),
    ('20261128080000.000000-420', '2026-11-28T15:00:00Z'),                  # DMTF: offset in minutes
    ('20261128203000.000000+330', '2026-11-28T15:00:00Z'),
    ('2026-11-28T01:00:00-14:00', '2026-11-28T15:00:00Z'),
])
def test_times_with_an_offset_are_reported_in_utc(text, utc):
    assert cim.to_utc_iso(text) == utc


def test_the_window_starts_at_the_same_instant_on_every_host():
    # the literal is UTC (+000): WMI compares it with each record's own offset, so a UTC-07:00 host gets the same window
    since = datetime.datetime(2026, 11, 28, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-7)))
    assert "TimeGenerated >= '20261128150000.000000+000'" in hq.event_query(since)
    assert hq.since_hours(72, now=since) == datetime.datetime(2026, 11, 25, 15, 0, tzinfo=datetime.timezone.utc)


# ------------------------------------------------------------------------------------------------ refusals as gaps
@pytest.mark.parametrize('failure, text', [
    (TIMED_OUT, TIMEOUT_TEXT), (QUOTA_MI, QUOTA_TEXT % 2150859174), (QUOTA_WMI, QUOTA_TEXT % 2147749996),
    (PRIVILEGE, PRIVILEGE_TEXT),
    (errors.WSManFault('fault', fault_code='w:AccessDenied', wsman_code=5),
     'access denied: the account may not use this WMI class, namespace or method (WSManFault 5, w:AccessDenied)'),
])
def test_a_refused_event_query_is_a_named_gap_and_the_rest_is_returned(failure, text):
    client = FakeClient(KB_HOST, failures={'Win32_NTLogEvent': failure})
    result = conflict_info.diagnose(client, dict(CONFLICT_PARAMS))[0]
    assert result['gaps'] == [{'class': 'Win32_NTLogEvent', 'error': text}]
    assert result['events'] == [] and result['owner']['kind'] == 'smtp_service'
    assert [f['code'] for f in result['findings']] == [
        'PORT_HELD_BY_SMTP_SERVICE', 'SMTP_SERVICE_ENABLED', 'MAIL_SERVICE_NOT_RUNNING', 'ANTIVIRUS_PRESENT', 'DATA_GAP']
    assert result['findings'][-1]['message'] == 'Win32_NTLogEvent could not be read: %s.' % text
    assert result['findings'][-1]['severity'] == 'warning'


@pytest.mark.parametrize('failure', [
    errors.WSManFault('fault', fault_code='w:CannotProcessFilter', wsman_code=2150858778),
    errors.WSManFault('fault', fault_code='w:InternalError', wsman_code=2147500037),     # a WinRM bug, not a quota
    errors.WSManFault('fault', fault_code='w:QuotaLimit', wsman_code=2150859174),        # not an InternalError
])
def test_other_event_faults_still_fail(failure):
    with pytest.raises(errors.WSManFault):
        conflict_info.diagnose(FakeClient(KB_HOST, failures={'Win32_NTLogEvent': failure}), dict(CONFLICT_PARAMS))


def test_event_info_reports_a_refusal_as_a_gap_and_a_warning():
    client = FakeClient(KB_HOST, failures={'Win32_NTLogEvent': PRIVILEGE})
    result = event_info.run(client, dict(EVENT_PARAMS, log='Security'))
    assert result['events'] == [] and result['gaps'] == [{'class': 'Win32_NTLogEvent', 'error': PRIVILEGE_TEXT}]
    assert result['warnings'] == ['The Security log of mail01.example.test could not be read: %s.' % PRIVILEGE_TEXT]
    assert len(client.calls) == 1


def test_event_info_without_refusal_has_no_gap_and_no_warning():
    result = event_info.run(FakeClient(KB_HOST), dict(EVENT_PARAMS))
    assert result['gaps'] == [] and 'warnings' not in result and len(result['events']) == 3
