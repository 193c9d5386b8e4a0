# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's answers compared element by element with real Windows captures (tests/captures).

A "shape" is the tree of qualified element names with their attribute names (values and text ignored), so a
difference in namespaces, element order, nil handling, datetime wrapping or paging elements fails the test.
"""
from __future__ import annotations

import base64
import dataclasses
import os
import re
import threading
import xml.etree.ElementTree as ET

import pytest

from winlab import model, scenario, soap, testing, wsman

from ansible_collections.mailops.port25.tests.captures import capture_text, pypsrp_messages

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(os.path.dirname(HERE), 'scenarios')
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
STDCIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/standardcimv2/'
NS = {'s': soap.NS_S, 'a': soap.NS_A, 'n': soap.NS_N, 'w': soap.NS_W, 'x': soap.NS_X, 'rsp': soap.NS_RSP,
      'f': soap.NS_F, 'xsi': 'http://www.w3.org/2001/XMLSchema-instance'}
XSI_TYPE = '{%s}type' % NS['xsi']
XSI_NIL = '{%s}nil' % NS['xsi']


def shape(elem):
    return (elem.tag, tuple(sorted(elem.attrib)), tuple(shape(c) for c in elem))


def child_tags(elem):
    return [c.tag for c in elem]


def start_tag_declarations(text, local_name):
    """The xmlns declarations and xsi:type of the first start tag called *:local_name (prefix-level exactness)."""
    match = re.search(r'<(\w+:)?%s\b([^>]*)>' % local_name, text)
    assert match, local_name
    return sorted(re.findall(r'(xmlns(?::\w+)?|xsi:type|xml:lang)="([^"]*)"', match.group(2)))


NO_DESCRIPTION = 'W3SVC'      # the one service left without a description (like NVWMI in the 2012 capture)


@pytest.fixture(name='host')
def hostcapture_text():
    """The KB host on Server 2012, the OS of the captures, so property lists must match them exactly.

    Its services get descriptions, as nearly every real service has, but one (the nil case)."""
    spec = scenario.load_spec(os.path.join(SCENARIOS, 'ex55-smtp.yml'))[0]
    spec = dataclasses.replace(spec, os='Microsoft Windows Server 2012 Standard')
    host = model.Host.open(spec, None)
    for svc in host.services.values():
        if svc['name'] != NO_DESCRIPTION:
            svc['description'] = 'The %s service.' % svc['name']
    return host


def call(host, action, uri, body='', **kwargs):
    reply = wsman.handle(host, testing.request_envelope(action, uri, body, **kwargs))
    return reply, ET.fromstring(reply.body)


def enumerate_call(host, wql_text, max_elements=32000, namespace=CIMV2, **kwargs):
    return call(host, soap.ACT_ENUMERATE, namespace + '*', testing.enumerate_body(wql_text, max_elements=max_elements),
                **kwargs)


def pull_all(host, root, max_elements=32000, uri=CIMV2 + '*', **kwargs):
    """Pull until EndOfSequence; returns the list of PullResponse roots."""
    pages = []
    context = root.findtext('.//n:EnumerationContext', namespaces=NS)
    while context:
        reply, root = call(host, soap.ACT_PULL, uri, testing.pull_body(context, max_elements), **kwargs)
        assert reply.status == 200, reply.body[:800]
        pages.append(root)
        context = root.findtext('.//n:PullResponse/n:EnumerationContext', namespaces=NS)
    return pages


def capture_root(name):
    return ET.fromstring(capture_text(name))


def items_of(root):
    items = root.find('.//n:EnumerateResponse/w:Items', NS)
    if items is None:
        items = root.find('.//n:PullResponse/n:Items', NS)
    return list(items)


def all_items(host, root, namespace=CIMV2):
    """The items of an EnumerateResponse and of the Pulls that follow it."""
    return items_of(root) + [item for page in pull_all(host, root, uri=namespace + '*') for item in items_of(page)]


# ---------------------------------------------------------------------------------------------- enumeration
def test_header_and_envelope_like_the_captures(host):
    reply, root = enumerate_call(host, 'select * from Win32_Service', max_elements=1)
    capture = capture_root('txwinrm_server_2012_Win32_Service_star_000.xml')
    text = reply.body.decode('utf-8')
    assert start_tag_declarations(text, 'Envelope') == start_tag_declarations(
        capture_text('txwinrm_server_2012_Win32_Service_star_000.xml'), 'Envelope')
    assert shape(root.find('s:Header', NS)) == shape(capture.find('s:Header', NS))
    assert root.findtext('s:Header/a:Action', namespaces=NS) == capture.findtext('s:Header/a:Action', namespaces=NS)
    assert root.findtext('s:Header/a:To', namespaces=NS) == capture.findtext('s:Header/a:To', namespaces=NS)
    assert re.match(r'^uuid:[0-9A-F-]{36}$', root.findtext('s:Header/a:MessageID', namespaces=NS))


def test_typed_win32_service_item_matches_the_capture_exactly(host):
    reply, root = enumerate_call(host, 'select * from Win32_Service')         # MaxElements 32000, as txwinrm asked
    capture = capture_root('txwinrm_server_2012_Win32_Service_star_000.xml')
    # one item and a context, like Server 2012 answered whatever MaxElements said (the rest comes by Pull)
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    text = reply.body.decode('utf-8')
    assert start_tag_declarations(text, 'Win32_Service') == start_tag_declarations(
        capture_text('txwinrm_server_2012_Win32_Service_star_000.xml'), 'Win32_Service')


def test_server_2016_and_later_add_delayed_auto_start(host):
    spec = dataclasses.replace(host.spec, os='Microsoft Windows Server 2019 Standard')
    _reply, root = enumerate_call(model.Host.open(spec, None), "select * from Win32_Service where Name = 'WinRM'")
    ours = child_tags(items_of(root)[0])
    theirs = child_tags(items_of(capture_root('txwinrm_server_2012_Win32_Service_star_000.xml'))[0])
    delayed = '{%sWin32_Service}DelayedAutoStart' % CIMV2
    assert ours == theirs[:5] + [delayed] + theirs[5:]
    assert items_of(root)[0].findtext('{%sWin32_Service}DelayedAutoStart' % CIMV2) == 'true'


def test_pull_pages_follow_the_capture_shape(host):
    _reply, root = enumerate_call(host, 'select * from Win32_Service', max_elements=1)
    pages = pull_all(host, root, max_elements=7)
    middle = capture_root('txwinrm_server_2012_Win32_Service_star_001.xml').find('s:Body/n:PullResponse', NS)
    last = capture_root('txwinrm_server_2012_Win32_Service_star_003.xml').find('s:Body/n:PullResponse', NS)
    assert len(pages) == 3                                     # 1 + 7 + 7 + 6 = 21 services
    for page in pages[:-1]:
        assert child_tags(page.find('s:Body/n:PullResponse', NS)) == child_tags(middle)
        assert len(items_of(page)) == 7
    assert child_tags(pages[-1].find('s:Body/n:PullResponse', NS)) == child_tags(last)
    names = [i.findtext('{%sWin32_Service}Name' % CIMV2) for p in [root] + pages for i in items_of(p)]
    assert names == sorted((s['name'] for s in host.services.values()), key=str.lower)
    contexts = [p.findtext('.//n:EnumerationContext', namespaces=NS) for p in [root] + pages[:-1]]
    assert len(set(contexts)) == 3                              # a new context with every response, as Windows does
    assert pages[-1].find('.//n:PullResponse/n:EnumerationContext', NS) is None


def test_a_spent_context_is_refused(host):
    _reply, root = enumerate_call(host, 'select * from Win32_Service', max_elements=1)
    context = root.findtext('.//n:EnumerationContext', namespaces=NS)
    reply, _root = call(host, soap.ACT_PULL, CIMV2 + '*', testing.pull_body(context, 5))
    assert reply.status == 200
    reply, again = call(host, soap.ACT_PULL, CIMV2 + '*', testing.pull_body(context, 5))
    assert reply.status == 500
    assert again.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'n:InvalidEnumerationContext'


def test_plain_enumerate_then_pull_and_release(host):
    _reply, root = call(host, soap.ACT_ENUMERATE, CIMV2 + '*',
                        testing.enumerate_body('select Name from Win32_Service', optimize=False))
    assert child_tags(root.find('.//n:EnumerateResponse', NS)) == ['{%s}EnumerationContext' % soap.NS_N]
    pages = pull_all(host, root, max_elements=100)
    assert len(pages) == 1 and len(items_of(pages[0])) == len(host.services)
    _reply, root = call(host, soap.ACT_ENUMERATE, CIMV2 + 'Win32_Process', testing.enumerate_body(None, max_elements=2))
    assert [i.get(XSI_TYPE) for i in items_of(root)] == ['p:Win32_Process_Type']       # the first item only
    context = root.findtext('.//n:EnumerationContext', namespaces=NS)
    release = '<wsen:Release><wsen:EnumerationContext>%s</wsen:EnumerationContext></wsen:Release>' % context
    reply, root = call(host, soap.ACT_RELEASE, CIMV2 + 'Win32_Process', release)
    assert reply.status == 200 and root.findtext('.//a:Action', namespaces=NS) == soap.NS_N + '/ReleaseResponse'
    assert list(root.find('s:Body', NS)) == [] and context not in host.enumerations
    reply, root = call(host, soap.ACT_RELEASE, CIMV2 + 'Win32_Process', release)
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'n:InvalidEnumerationContext'


def test_everything_in_one_response_like_the_os_capture(host):
    _reply, root = enumerate_call(host, 'select * from Win32_OperatingSystem')
    capture = capture_root('txwinrm_server_2012_Win32_OperatingSystem_star_000.xml')
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert root.findtext('.//n:EnumerationContext', namespaces=NS) is None or \
        root.findtext('.//n:EnumerationContext', namespaces=NS) == ''
    item = items_of(root)[0]
    boot = item.find('{%sWin32_OperatingSystem}LastBootUpTime/{http://schemas.dmtf.org/wbem/wscim/1/common}Datetime'
                     % CIMV2)
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$', boot.text)


def test_whole_result_on_server_2003_like_its_capture(host):
    old = model.Host.open(dataclasses.replace(host.spec, os='Microsoft(R) Windows(R) Server 2003, Enterprise Edition'), None)
    _reply, root = enumerate_call(old, 'select * from Win32_Service')
    capture = capture_root('txwinrm_server_2003_Win32_Service_star_000.xml')
    assert child_tags(root.find('.//n:EnumerateResponse', NS)) == child_tags(capture.find('.//n:EnumerateResponse', NS))
    assert len(items_of(root)) == len(old.services)
    _reply, root = enumerate_call(old, 'select * from Win32_Service', max_elements=5)    # WinRM 1.1 honours it
    assert len(items_of(root)) == 5 and root.findtext('.//n:EnumerationContext', namespaces=NS)


def test_projection_gives_xml_fragments_in_alphabetical_order(host):
    props = capture_text('txwinrm_server_2012_Win32_Service.properties').split()
    reply, root = enumerate_call(host, 'select %s from Win32_Service' % ', '.join(props), max_elements=1)
    capture = capture_root('txwinrm_server_2012_Win32_Service_all_000.xml')
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert start_tag_declarations(reply.body.decode('utf-8'), 'XmlFragment') == start_tag_declarations(
        capture_text('txwinrm_server_2012_Win32_Service_all_000.xml'), 'XmlFragment')
    _reply, root = enumerate_call(host, "select State, name from win32_service where name = 'SMTPSVC'")
    fragment = items_of(root)[0]
    assert [(c.tag, c.text) for c in fragment] == [('Name', 'SMTPSVC'), ('State', 'Running')]


@pytest.mark.parametrize('ours_pid, capture_file, capture_index', [
    (0, 'txwinrm_server_2012_Win32_Process_star_000.xml', 0),      # System Idle Process: the nil pattern
    (None, 'txwinrm_server_2012_Win32_Process_star_001.xml', 2),   # a service process (svchost.exe in the capture)
])
def test_typed_win32_process_items_match_the_capture(host, ours_pid, capture_file, capture_index):
    theirs = items_of(capture_root(capture_file))[capture_index]
    if ours_pid is None:
        ours_pid = host.service('SMTPSVC')['pid']
    _reply, root = enumerate_call(host, 'select * from Win32_Process where ProcessId = %d' % ours_pid)
    ours = items_of(root)[0]
    assert shape(ours) == shape(theirs)
    if ours_pid:
        created = ours.findtext('{%sWin32_Process}CreationDate/{http://schemas.dmtf.org/wbem/wscim/1/common}Datetime'
                                % CIMV2)
        assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$', created)
        assert ours.findtext('{%sWin32_Process}ExecutablePath' % CIMV2) == 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe'


def test_process_fragment_wraps_datetime_without_prefix(host):
    props = capture_text('txwinrm_server_2012_Win32_Process.properties').split()
    pid = host.service('SMTPSVC')['pid']
    _reply, root = enumerate_call(host, 'select %s from Win32_Process where ProcessId = %d' % (', '.join(props), pid))
    theirs = items_of(capture_root('txwinrm_server_2012_Win32_Process_all_001.xml'))[2]
    assert shape(items_of(root)[0]) == shape(theirs)


def test_envelope_budget_pages_the_results(host):
    reply, root = enumerate_call(host, 'select * from Win32_Service', max_envelope=12000)
    assert reply.status == 200 and len(reply.body) * 2 <= 12000
    first = len(items_of(root))
    pages = pull_all(host, root, max_envelope=12000)
    sizes = [len(items_of(p)) for p in pages]
    assert first >= 1 and all(s >= 1 for s in sizes) and first + sum(sizes) == len(host.services)
    reply, root = enumerate_call(host, 'select * from Win32_Service', max_envelope=8192)
    assert reply.status == 200 and len(items_of(root)) >= 1     # 8 KB (the minimum) still holds one item


def test_tcp_connections_and_event_log(host):
    _reply, root = enumerate_call(host, 'select LocalAddress, LocalPort, OwningProcess from MSFT_NetTCPConnection '
                                        'where LocalPort = 25 and State = 2', namespace=STDCIMV2)
    rows = [(i.findtext('LocalAddress'), i.findtext('LocalPort'), i.findtext('OwningProcess'))
            for i in all_items(host, root, STDCIMV2)]
    pid = str(host.service('SMTPSVC')['pid'])
    assert rows == [('0.0.0.0', '25', pid), ('::', '25', pid)]
    _reply, root = enumerate_call(host, 'select State, OwningProcess from MSFT_NetTCPConnection where LocalPort = 25',
                                  namespace=STDCIMV2)
    assert sorted(i.findtext('State') for i in all_items(host, root, STDCIMV2)) == ['2', '2', '5']  # a mail client
    since = '20000101000000.000000-000'
    _reply, root = enumerate_call(host, "select * from Win32_NTLogEvent where Logfile = 'Application' and "
                                        "SourceName = 'MSExchangeIMC' and TimeGenerated > '%s'" % since)
    events = all_items(host, root)
    assert [e.findtext('{%sWin32_NTLogEvent}EventCode' % CIMV2) for e in events] == ['4020', '4007']
    assert events[0].findtext('{%sWin32_NTLogEvent}Type' % CIMV2) == 'Error'
    assert events[0].findtext('{%sWin32_NTLogEvent}EventIdentifier' % CIMV2) == str(0xC0000000 | 4020)
    _reply, root = enumerate_call(host, "select * from Win32_NTLogEvent where TimeGenerated > '29990101000000.000000-000'")
    assert items_of(root) == []


# ---------------------------------------------------------------------------------------------- Get and Invoke
def test_get_answers_the_bare_instance_like_the_capture(host):
    reply, root = call(host, soap.ACT_GET, CIMV2 + 'Win32_Service', selectors={'Name': 'smtpsvc'})
    assert reply.status == 200
    capture = capture_root('climbe_getresponse_win32_logicaldisk.xml')
    assert root.findtext('s:Header/a:Action', namespaces=NS) == capture.findtext('s:Header/a:Action', namespaces=NS)
    body, theirs = list(root.find('s:Body', NS)), list(capture.find('s:Body', NS))
    assert len(body) == len(theirs) == 1
    assert body[0].get(XSI_TYPE) == 'p:Win32_Service_Type' and theirs[0].get(XSI_TYPE) == 'p:Win32_LogicalDisk_Type'
    assert body[0].findtext('{%sWin32_Service}Name' % CIMV2) == 'SMTPSVC'
    assert start_tag_declarations(reply.body.decode('utf-8'), 'Envelope') == start_tag_declarations(
        capture_text('climbe_getresponse_win32_logicaldisk.xml'), 'Envelope')


def test_invoke_answers_like_the_capture(host):
    reply, root = call(host, CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service',
                       '<p:StopService_INPUT xmlns:p="%sWin32_Service"/>' % CIMV2, selectors={'Name': 'SMTPSVC'})
    assert reply.status == 200
    capture = capture_root('winrb_winrm_2013_spec_mock_invoke_1.xml')
    assert shape(root.find('s:Body', NS)) == (
        '{%s}Body' % soap.NS_S, (),
        (('{%sWin32_Service}StopService_OUTPUT' % CIMV2, (), (('{%sWin32_Service}ReturnValue' % CIMV2, (), ()),)),))
    theirs = list(capture.find('s:Body', NS))[0]
    assert [c.tag.split('}')[1] for c in theirs] == ['ReturnValue']
    assert root.findtext('s:Header/a:Action', namespaces=NS) == CIMV2 + 'Win32_Service/StopServiceResponse'
    assert root.findtext('.//{%sWin32_Service}ReturnValue' % CIMV2) == '0'
    assert start_tag_declarations(reply.body.decode('utf-8'), 'StopService_OUTPUT') == start_tag_declarations(
        capture_text('winrb_winrm_2013_spec_mock_invoke_1.xml').replace('CIM_DataFile', 'Win32_Service'), 'Delete_OUTPUT')
    assert host.service('SMTPSVC')['state'] == model.STOP_PENDING


def test_change_start_mode_takes_its_parameter(host):
    body = ('<p:ChangeStartMode_INPUT xmlns:p="%sWin32_Service"><p:StartMode>Disabled</p:StartMode>'
            '</p:ChangeStartMode_INPUT>' % CIMV2)
    _reply, root = call(host, CIMV2 + 'Win32_Service/ChangeStartMode', CIMV2 + 'Win32_Service', body,
                        selectors={'Name': 'SMTPSVC'})
    assert root.findtext('.//{%sWin32_Service}ReturnValue' % CIMV2) == '0'
    assert host.service('SMTPSVC')['start_mode'] == 'Disabled'
    _reply, root = call(host, CIMV2 + 'Win32_Service/ChangeStartMode', CIMV2 + 'Win32_Service',
                        '<p:ChangeStartMode_INPUT xmlns:p="%sWin32_Service"/>' % CIMV2, selectors={'Name': 'SMTPSVC'})
    assert root.findtext('.//{%sWin32_Service}ReturnValue' % CIMV2) == '21'


# ---------------------------------------------------------------------------------------------- faults
def _fault_matches(root, capture_name):
    capture = capture_root(capture_name)
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert root.findtext('s:Header/a:Action', namespaces=NS) == capture.findtext('s:Header/a:Action', namespaces=NS)
    for path in ('.//s:Code/s:Value', './/s:Subcode/s:Value', './/s:Reason/s:Text'):
        assert root.findtext(path, namespaces=NS).strip() == capture.findtext(path, namespaces=NS).strip(), path
    assert root.find('.//f:WSManFault', NS).get('Code') == capture.find('.//f:WSManFault', NS).get('Code')


def test_unknown_class_is_the_real_cannot_process_filter(host):
    reply, root = enumerate_call(host, 'Select * from Win32_Processa where name="sshd.exe"')
    assert reply.status == 500
    _fault_matches(root, 'winrb_winrm_2013_spec_mock_wsman_fault.xml')
    inner = root.findall('.//f:WSManFault', NS)[1]
    assert inner.findtext('f:Message', namespaces=NS) == 'The specified class does not exist in the given namespace. '
    assert root.findtext('.//{%s__ExtendedStatus}ParameterInfo' % CIMV2) == \
        'Select * from Win32_Processa where name="sshd.exe"'


@pytest.mark.parametrize('query', [
    "select * from Win32_Service where Name = 'x",
    "select * from Win32_Service where Name = 'x' or 1=1; --",
    'select * from Win32_Service where ((Name = 1)',
    'select * from Win32_Service where Colour = 1',
    'select Colour from Win32_Service',
    "select * from Win32_Service where Name = '%s'" % ('\\x' * 30000),
    'select * from Win32_Service where ' + '(' * 3000,
    'select * from MSFT_NetTCPConnection',                              # right class, wrong namespace
])
def test_bad_wql_is_the_real_cannot_process_filter(host, query):
    reply, root = enumerate_call(host, query)
    assert reply.status == 500
    _fault_matches(root, 'winrb_winrm_2013_spec_mock_wsman_fault.xml')


def test_missing_instance_is_the_real_not_found_fault(host):
    reply, root = call(host, soap.ACT_GET, CIMV2 + 'Win32_Process', selectors={'Handle': '29'})
    assert reply.status == 500
    _fault_matches(root, 'omi_wsmanparser_get_notfound_fault_win2012r2.xml')
    assert root.findtext('.//{http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/__ExtendedStatus}ParameterInfo') == \
        'Win32_Process.Handle="29"'
    _reply, root = call(host, CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service', selectors={'Name': 'Nope'})
    _fault_matches(root, 'omi_wsmanparser_get_notfound_fault_win2012r2.xml')


def test_old_os_has_no_standardcimv2(host):
    spec = dataclasses.replace(host.spec, has_standardcimv2=False)
    old = model.Host.open(spec, None)
    reply, root = enumerate_call(old, 'select * from MSFT_NetTCPConnection', namespace=STDCIMV2)
    assert reply.status == 500
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:DestinationUnreachable'
    assert root.findtext('.//w:FaultDetail', namespaces=NS).endswith('/InvalidResourceURI')
    assert root.find('.//f:WSManFault', NS).get('Code') == '2150858752'
    assert root.findall('.//f:WSManFault', NS)[1].findtext('f:Message', namespaces=NS) == \
        'The WS-Management service cannot process the request. The CIM namespace root/standardcimv2 is invalid. '
    reply, _root = enumerate_call(host, 'select * from MSFT_NetTCPConnection', namespace=STDCIMV2)
    assert reply.status == 200


@pytest.mark.parametrize('selectors, detail, code', [({}, 'InsufficientSelectors', '2150858842'),
                                                     ({'Colour': 'red'}, 'UnexpectedSelectors', '2150858843'),
                                                     ({'Name': 'SMTPSVC', 'Id': '1'}, 'UnexpectedSelectors', '2150858843')])
def test_bad_selectors(host, selectors, detail, code):
    reply, root = call(host, soap.ACT_GET, CIMV2 + 'Win32_Service', selectors=selectors)
    assert reply.status == 500
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'w:InvalidSelectors'
    assert root.findtext('.//w:FaultDetail', namespaces=NS).endswith('/' + detail)
    assert root.find('.//f:WSManFault', NS).get('Code') == code


def test_faults_configured_per_host(host):
    spec = dataclasses.replace(host.spec, faults=dict(host.spec.faults, internal_error_requests=2,
                                                      operation_timeout_on=['StopService'],
                                                      access_denied_classes=['Win32_Process']),
                               winrm={'quota_fault': 'wsmanfault'})
    faulty = model.Host.open(spec, None)
    for _attempt in range(2):
        reply, root = enumerate_call(faulty, 'select * from Win32_Service')
        assert reply.status == 500
        capture = capture_root('txwinrm_data_error_max_concurrent.xml')
        assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
        assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'w:InternalError'
    reply, _root = enumerate_call(faulty, 'select * from Win32_Service')
    assert reply.status == 200
    reply, root = call(faulty, CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service',
                       selectors={'Name': 'SMTPSVC'}, timeout='PT7.5S')
    assert (reply.status, reply.delay) == (500, 7.5)
    reply, _root = call(faulty, CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service',
                        selectors={'Name': 'SMTPSVC'}, timeout='PT1H')
    assert (reply.status, reply.delay) == (500, 60.0)                  # MaxTimeoutms caps the wait
    timed_out = ET.fromstring([m['response'] for m in pypsrp_messages('pypsrp_test_winrs_operation_timeout.yml')
                               if 'w:TimedOut' in m['response']][0])
    assert shape(root) == shape(timed_out)
    assert faulty.service('SMTPSVC')['state'] == model.RUNNING        # the rejected call changed nothing
    reply, root = enumerate_call(faulty, 'select * from Win32_Process')
    assert reply.status == 500 and root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'w:AccessDenied'
    assert root.find('.//f:WSManFault', NS).get('Code') == '2150859012'


@pytest.mark.parametrize('body, status, subcode', [
    (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header>', 400, 'w:SchemaValidationError'),
    (b'not xml at all', 400, 'w:SchemaValidationError'),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', 400, 'w:SchemaValidationError'),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'.encode('utf-16'), 400,
     'w:SchemaValidationError'),                                                  # the same DTD in UTF-16
    (b'<Envelope/>', 500, 'w:SchemaValidationError'),
    (b'\xff\xfe\x00garbage', 400, 'w:SchemaValidationError'),
])
def test_malformed_requests_get_a_soap_fault(host, body, status, subcode):
    reply = wsman.handle(host, body)
    assert reply.status == status
    assert ET.fromstring(reply.body).findtext('.//s:Subcode/s:Value', namespaces=NS) == subcode


def test_unknown_action_and_header_problems(host):
    reply, root = call(host, 'http://example.com/Explode', CIMV2 + 'Win32_Service')
    assert reply.status == 500 and root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:ActionNotSupported'
    reply, root = call(host, CIMV2 + 'Win32_Service/Delete', CIMV2 + 'Win32_Service', selectors={'Name': 'SMTPSVC'})
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:ActionNotSupported'
    reply, root = enumerate_call(host, 'select * from Win32_Service', timeout='PT-1S')
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:InvalidMessageInformationHeader'
    assert root.findtext('.//f:Message', namespaces=NS).endswith('invalid timeout field in the SOAP header: PT-1S. ')
    reply, root = enumerate_call(host, 'select * from Win32_Service', timeout='PT%sH' % ('9' * 5000))   # > int() digits
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:InvalidMessageInformationHeader'
    reply, root = call(host, soap.ACT_ENUMERATE, 'http://example.com/nothing', testing.enumerate_body('select * from x'))
    assert root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'a:DestinationUnreachable'


# ---------------------------------------------------------------------------------------------- cmd shell
def _shell(host, action, body='', **kwargs):
    return call(host, action, soap.SHELL_URI, body, **kwargs)


def test_cmd_shell_messages_match_the_pypsrp_capture(host):
    messages = [ET.fromstring(m['response']) for m in pypsrp_messages('pypsrp_test_winrs_standard.yml')]
    create, command, receive, signal, delete = messages
    reply, root = _shell(host, soap.ACT_CREATE, '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>'
                         '<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>')
    assert shape(root) == shape(create)
    shell_id = root.findtext('.//rsp:ShellId', namespaces=NS)
    sel = {'ShellId': shell_id}
    reply, root = _shell(host, soap.ACT_COMMAND, '<rsp:CommandLine><rsp:Command>hostname</rsp:Command>'
                         '</rsp:CommandLine>', selectors=sel)
    assert shape(root) == shape(command)
    command_id = root.findtext('.//rsp:CommandId', namespaces=NS)
    reply, root = _shell(host, soap.ACT_RECEIVE, '<rsp:Receive><rsp:DesiredStream CommandId="%s">stdout stderr'
                         '</rsp:DesiredStream></rsp:Receive>' % command_id, selectors=sel)
    assert shape(root) == shape(receive)
    assert base64.b64decode(root.findtext('.//rsp:Stream', namespaces=NS)) == b'EX55-SMTP\r\n'
    assert root.findtext('.//rsp:ExitCode', namespaces=NS) == '0'
    reply, root = _shell(host, soap.ACT_SIGNAL, '<rsp:Signal CommandId="%s"><rsp:Code>%s/signal/terminate</rsp:Code>'
                         '</rsp:Signal>' % (command_id, soap.NS_RSP), selectors=sel)
    assert shape(root) == shape(signal)
    reply, root = _shell(host, soap.ACT_DELETE, selectors=sel)
    assert shape(root) == shape(delete)
    reply, root = _shell(host, soap.ACT_COMMAND, '<rsp:CommandLine><rsp:Command>hostname</rsp:Command>'
                         '</rsp:CommandLine>', selectors=sel)
    assert reply.status == 500 and root.findtext('.//s:Subcode/s:Value', namespaces=NS) == 'w:InvalidSelectors'


def _run(host, command, arguments=()):
    _reply, root = _shell(host, soap.ACT_CREATE, '<rsp:Shell/>')
    sel = {'ShellId': root.findtext('.//rsp:ShellId', namespaces=NS)}
    args = ''.join('<rsp:Arguments>%s</rsp:Arguments>' % a for a in arguments)
    _reply, root = _shell(host, soap.ACT_COMMAND, '<rsp:CommandLine><rsp:Command>%s</rsp:Command>%s</rsp:CommandLine>'
                          % (command, args), selectors=sel)
    command_id = root.findtext('.//rsp:CommandId', namespaces=NS)
    _reply, root = _shell(host, soap.ACT_RECEIVE, '<rsp:Receive><rsp:DesiredStream CommandId="%s">stdout stderr'
                          '</rsp:DesiredStream></rsp:Receive>' % command_id, selectors=sel)
    streams = {'stdout': b'', 'stderr': b''}
    for stream in root.findall('.//rsp:Stream', NS):
        streams[stream.get('Name')] += base64.b64decode(stream.text or '')
    return streams['stdout'].decode('ascii'), streams['stderr'].decode('ascii'), \
        int(root.findtext('.//rsp:ExitCode', namespaces=NS))


def test_shell_commands_answer_from_the_model(host):
    out, _err, code = _run(host, 'netstat', ['-ano'])
    pid = host.service('SMTPSVC')['pid']
    assert code == 0
    assert '  TCP    0.0.0.0:25             0.0.0.0:0              LISTENING       %d\r\n' % pid in out
    assert '  TCP    [::]:25                [::]:0                 LISTENING       %d\r\n' % pid in out
    assert '  TCP    127.0.0.1:25           10.0.0.25:51234        ESTABLISHED     %d\r\n' % pid in out
    assert '  TCP    127.0.0.1:49702        10.0.0.30:443          TIME_WAIT       0\r\n' in out
    out, _err, code = _run(host, 'sc', ['query', 'SMTPSVC'])
    assert code == 0 and '        STATE              : 4  RUNNING \r\n' in out
    assert 'SERVICE_NAME: SMTPSVC \r\n        TYPE               : 20  WIN32_SHARE_PROCESS  \r\n' in out
    out, _err, code = _run(host, 'sc', ['qc', 'MSExchangeIMC'])
    assert code == 0 and 'START_TYPE         : 2   AUTO_START\r\n' in out
    assert 'DEPENDENCIES       : MSExchangeMTA\r\n                           : MSExchangeIS\r\n' in out
    out, _err, code = _run(host, 'sc', ['query', 'Nope'])
    assert code == 1060 and 'FAILED 1060' in out
    out, err, code = _run(host, 'format', ['c:'])
    assert (out, err, code) == ('', "'format' is not recognized as an internal or external command,\r\n"
                                    'operable program or batch file.\r\n', 1)
    out, _err, code = _run(host, 'cmd.exe', ['/c', 'hostname'])
    assert (out, code) == ('EX55-SMTP\r\n', 0)


def test_shell_runs_what_ansible_raw_sends(host):
    encoded = base64.b64encode('sc query SMTPSVC'.encode('utf-16-le')).decode('ascii')
    out, _err, code = _run(host, 'PowerShell', ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Unrestricted',
                                                '-EncodedCommand', encoded])
    assert code == 0 and 'SERVICE_NAME: SMTPSVC' in out


def test_unknown_command_id_is_the_real_fault(host):
    _reply, root = _shell(host, soap.ACT_CREATE, '<rsp:Shell/>')
    sel = {'ShellId': root.findtext('.//rsp:ShellId', namespaces=NS)}
    reply, root = _shell(host, soap.ACT_RECEIVE, '<rsp:Receive><rsp:DesiredStream CommandId="ABC">stdout'
                         '</rsp:DesiredStream></rsp:Receive>', selectors=sel)
    assert reply.status == 500
    theirs = [m['response'] for m in pypsrp_messages('pypsrp_test_winrs_bad_cmd_id.yml') if 'Fault' in m['response']]
    capture = ET.fromstring(theirs[0])
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert root.findtext('.//f:Message', namespaces=NS) == capture.findtext('.//f:Message', namespaces=NS)


def test_hostile_requests_never_crash_or_change_state(host):
    before = repr(host.to_dict())
    big = ' OR '.join("Name = 'svc%05d'" % i for i in range(6000)) + " OR Name = 'SMTPSVC'"
    reply, root = enumerate_call(host, 'select Name from Win32_Service where ' + big)
    assert reply.status == 200 and [i.findtext('Name') for i in items_of(root)] == ['SMTPSVC']
    valid = testing.request_envelope(CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service',
                                     selectors={'Name': 'SMTPSVC'}).decode('utf-8')
    hostile = [
        valid.replace('SMTPSVC', "SMTPSVC' OR Name LIKE '%"),                  # injection through a selector
        valid.replace('SMTPSVC', 'RpcSs'),                                     # protected: refused by return code
        valid.replace('/StopService<', '/ExplodeService<'),
        valid.replace('<s:Body>', '<s:Body><x>' * 500 + '</x>' * 500),
        valid[:len(valid) // 2],
        valid.replace('Win32_Service', 'Win32_Service/../../Win32_Process'),
        valid.replace('wsa:Action', 'wsa:Actions'),
    ]
    for text in hostile:
        reply = wsman.handle(host, text.encode('utf-8'))
        assert reply.status in (200, 400, 500) and reply.body.startswith(b'<s:Envelope')
    assert repr(host.to_dict()) == before


def test_concurrent_requests_on_one_host_stay_consistent(host):
    """Threads mixing reads and SCM calls: every answer is a valid envelope and the model ends consistent."""
    stop = testing.request_envelope(CIMV2 + 'Win32_Service/StopService', CIMV2 + 'Win32_Service',
                                    selectors={'Name': 'W3SVC'})
    start = testing.request_envelope(CIMV2 + 'Win32_Service/StartService', CIMV2 + 'Win32_Service',
                                     selectors={'Name': 'W3SVC'})
    read = testing.request_envelope(soap.ACT_ENUMERATE, CIMV2 + '*', testing.enumerate_body('select * from Win32_Service'))
    statuses = []

    def worker(bodies):
        for _round in range(30):
            for body in bodies:
                reply = wsman.handle(host, body)
                statuses.append(reply.status)
                ET.fromstring(reply.body)
    threads = [threading.Thread(target=worker, args=(b,)) for b in ([stop, start], [read], [start, read, stop])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) == {200} and len(statuses) == 30 * 6
    w3svc = host.service('W3SVC')
    assert w3svc['state'] in (model.RUNNING, model.STOPPED)
    holders = [ln for ln in host.listeners if ln['port'] == 80]
    assert (len(holders) == 1) == (w3svc['state'] == model.RUNNING)
