# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's faults as Windows sends them: MI-style faults, both quota shapes, access denied, the host's language,
the per-user WinRM quotas and MaxEnvelopeSize (compared with the captures in tests/captures where one exists)."""
from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET

import pytest
import winrm.exceptions

from winlab import model, scenario, soap, testing, wsman

from ansible_collections.mailops.port25.plugins.module_utils import cim as collection_cim
from ansible_collections.mailops.port25.tests.captures import capture_text

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(os.path.dirname(HERE), 'scenarios')
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
STDCIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/standardcimv2/'
DMTF_WMIERROR = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError'
NS = {'s': soap.NS_S, 'f': soap.NS_F, 'w': soap.NS_W}
LANG = '{http://www.w3.org/XML/1998/namespace}lang'


def shape(elem):
    return (elem.tag, tuple(sorted(elem.attrib)), tuple(shape(c) for c in elem))


def local_shape(elem):
    """The shape with namespaces dropped: for an MSFT_WmiError whose namespace is the provider's."""
    return (elem.tag.rpartition('}')[2], tuple(sorted(a.rpartition('}')[2] for a in elem.attrib)),
            tuple(local_shape(c) for c in elem))


def open_host(path='ex55-smtp.yml', **changes):
    spec = scenario.load_spec(os.path.join(SCENARIOS, path))[0]
    return model.Host.open(dataclasses.replace(spec, **changes), None)


def call(host, action, uri, body='', **kwargs):
    reply = wsman.handle(host, testing.request_envelope(action, uri, body, **kwargs))
    return reply, ET.fromstring(reply.body)


def enumerate_call(host, wql_text, namespace=CIMV2):
    return call(host, soap.ACT_ENUMERATE, namespace + '*', testing.enumerate_body(wql_text))


def subcode(root):
    return root.findtext('.//s:Subcode/s:Value', namespaces=NS)


def wmi_error(root):
    return next(e for e in root.iter() if e.tag.endswith('}MSFT_WmiError'))


def faults_with(host_faults=None, **changes):
    base = open_host()
    return open_host(faults=dict(base.spec.faults, **(host_faults or {})), **changes)


# ---------------------------------------------------------------------------------------------- MI-style faults
def test_mi_class_access_denied_is_msft_wmierror_in_its_own_namespace():
    host = faults_with({'access_denied_classes': ['MSFT_NetTCPConnection']})
    reply, root = enumerate_call(host, 'SELECT * FROM MSFT_NetTCPConnection WHERE LocalPort = 25', STDCIMV2)
    assert (reply.status, subcode(root)) == (500, 'w:AccessDenied')
    error = wmi_error(root)
    assert error.tag == '{%sMSFT_WmiError}MSFT_WmiError' % STDCIMV2
    assert root.find('.//f:WSManFault', NS) is None                  # MI providers send no WSManFault
    # the element tree of the real MSFT_WmiError (WinRb's capture), namespace aside
    real = wmi_error(ET.fromstring(capture_text('winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml')))
    assert local_shape(error) == local_shape(real)
    values = {c.tag.rpartition('}')[2]: c.text for c in error}
    assert (values['CIMStatusCode'], values['error_Code'], values['error_Category'], values['MessageID']) == (
        '2', '2150859013', '18', 'HRESULT 0x80338105')
    info = collection_cim.fault_info(reply.body)
    assert (info['wsman_code'], info['cim_status']) == (2150859013, 2)
    assert info['provider_message'] == ("The WS-Management service cannot process the request. The WMI provider "
                                        "returned an 'access denied' error.")


def test_mi_class_bad_query_is_an_mi_fault_and_classic_classes_keep_the_wsmanfault():
    host = open_host()
    reply, root = enumerate_call(host, 'SELECT Nope FROM MSFT_NetTCPConnection', STDCIMV2)
    assert (reply.status, subcode(root)) == (500, 'n:CannotProcessFilter')
    assert wmi_error(root).tag.startswith('{%s' % STDCIMV2) and root.find('.//f:WSManFault', NS) is None
    assert collection_cim.fault_info(reply.body)['cim_status'] == 15           # CIM_ERR_INVALID_QUERY
    reply, root = enumerate_call(host, 'SELECT Nope FROM Win32_Service')
    capture = ET.fromstring(capture_text('winrb_winrm_2013_spec_mock_wsman_fault.xml'))
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))


# ---------------------------------------------------------------------------------------------- quota shapes
def test_newer_quota_fault_is_internal_error_with_only_an_msft_wmierror():
    host = faults_with({'internal_error_requests': 1})               # Server 2012+: winrm.quota_fault wmierror
    assert host.spec.winrm['quota_fault'] == 'wmierror'
    reply, root = enumerate_call(host, 'select * from Win32_Service')
    capture = ET.fromstring(capture_text('pywinrm_test_exceptions_wmi_error_detail.xml'))
    assert reply.status == 500
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert wmi_error(root).tag == '{%s}MSFT_WmiError' % DMTF_WMIERROR
    info = collection_cim.fault_info(reply.body)
    assert (info['subcode'], info['wsman_code'], info['cim_status']) == ('w:InternalError', 2150859174, 27)
    assert 'maximum number of 1500 concurrent operations' in info['provider_message']


def test_old_hosts_send_the_older_quota_shape():
    host = open_host('oldos-ex55-smtp.yml')
    host = open_host('oldos-ex55-smtp.yml', faults=dict(host.spec.faults, internal_error_requests=1))
    assert host.spec.winrm == {'max_concurrent_operations_per_user': 15, 'max_shells_per_user': 5,
                               'max_envelope_size_kb': 150, 'quota_fault': 'wsmanfault'}
    reply, root = enumerate_call(host, 'select * from Win32_Service')
    capture = ET.fromstring(capture_text('txwinrm_data_error_max_concurrent.xml'))
    assert reply.status == 500
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    assert root.find('.//f:WSManFault', NS).get('Code') == '2150859174'
    assert 'maximum number of 15 concurrent operations' in root.findtext('.//f:Message', namespaces=NS)


# ---------------------------------------------------------------------------------------------- access denied
@pytest.mark.parametrize('fault, namespace, query, code', [
    ({'access_denied_classes': ['Win32_Process']}, CIMV2, 'select * from Win32_Process', '2150859012'),
    ({'access_denied_namespaces': ['root/cimv2']}, CIMV2, 'select * from Win32_Service', '2150859014'),
    ({'access_denied_namespaces': ['root/standardcimv2']}, STDCIMV2, 'select * from MSFT_NetTCPConnection',
     '2150859014'),
])
def test_access_denied_carries_the_wmi_code_and_text(fault, namespace, query, code):
    reply, root = enumerate_call(faults_with(fault), query, namespace)
    assert (reply.status, subcode(root)) == (500, 'w:AccessDenied')
    outer = root.find('s:Body/s:Fault/s:Detail/f:WSManFault', NS)
    assert outer.get('Code') == code
    assert outer.find('f:Message/f:ProviderFault/f:WSManFault', NS).get('Code') == code
    reason = root.findtext('.//s:Reason/s:Text', namespaces=NS)
    assert reason.startswith('The WS-Management service cannot process the request. ') and 'access denied' in reason
    assert collection_cim.fault_from_info(collection_cim.fault_info(reply.body)).is_access_denied


# ---------------------------------------------------------------------------------------------- locale
@pytest.mark.parametrize('query, namespace, sub, word', [
    ('select * from Win32_Process', CIMV2, 'w:AccessDenied', 'Zugriff verweigert'),
    ('select * from MSFT_NetTCPConnection', STDCIMV2, 'w:AccessDenied', 'Zugriff verweigert'),
    ('select * from Win32_Nope', CIMV2, 'n:CannotProcessFilter', 'Die Datenquelle konnte den Filter nicht'),
])
def test_german_host_speaks_german_with_the_same_codes(query, namespace, sub, word):
    faults = {'access_denied_classes': ['Win32_Process', 'MSFT_NetTCPConnection']}
    english = faults_with(faults)
    german = faults_with(faults, locale='de-DE')
    en_reply, en_root = enumerate_call(english, query, namespace)
    de_reply, de_root = enumerate_call(german, query, namespace)
    assert subcode(de_root) == subcode(en_root) == sub
    assert shape(de_root.find('s:Body', NS)) == shape(en_root.find('s:Body', NS))
    text = de_root.find('.//s:Reason/s:Text', NS)
    assert (text.get(LANG), de_root.get(LANG), word in text.text) == ('de-DE', 'de-DE', True)
    assert en_root.find('.//s:Reason/s:Text', NS).get(LANG) == 'en-US'
    en_info, de_info = collection_cim.fault_info(en_reply.body), collection_cim.fault_info(de_reply.body)
    assert (de_info['wsman_code'], de_info['cim_status']) == (en_info['wsman_code'], en_info['cim_status'])
    assert de_info['reason'] != en_info['reason']


def test_german_timeout_and_missing_namespace():
    base = open_host('oldos-ex55-smtp.yml')
    german = open_host('oldos-ex55-smtp.yml', locale='de-DE',
                       faults=dict(base.spec.faults, operation_timeout_on=['Enumerate']))
    _reply, root = enumerate_call(german, 'select * from Win32_Service')
    assert (subcode(root), root.find('.//f:WSManFault', NS).get('Code')) == ('w:TimedOut', '2150858793')
    assert root.findtext('.//s:Reason/s:Text', namespaces=NS).startswith('Der WS-Verwaltungsdienst kann den Vorgang')
    german = open_host('oldos-ex55-smtp.yml', locale='de-DE')
    reply, root = enumerate_call(german, 'select * from MSFT_NetTCPConnection', STDCIMV2)
    fault = collection_cim.fault_from_info(collection_cim.fault_info(reply.body))
    assert fault.is_invalid_namespace and 'Namespace root/standardcimv2 ist ungültig' in fault.provider_message


def test_unknown_locale_is_refused_naming_host_and_field(tmp_path):
    path = testing.write_scenario(tmp_path / 's.yml', [testing.small_host('ex55', locale='fr-FR')])
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.load_spec(path)
    assert "host 'ex55': field 'locale'" in str(caught.value) and 'fr-FR' in str(caught.value)


# ---------------------------------------------------------------------------------------------- per-user quotas
def _create_shell(host):
    return call(host, soap.ACT_CREATE, soap.SHELL_URI, '<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>'
                '<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>')


def test_sixth_shell_on_old_defaults_gets_the_shell_quota_fault():
    host = open_host('oldos-ex55-smtp.yml')
    created = [_create_shell(host) for _shell in range(5)]
    assert [reply.status for reply, _root in created] == [200] * 5
    ids = [root.findtext('.//{%s}ShellId' % soap.NS_RSP) for _reply, root in created]
    reply, root = _create_shell(host)
    capture = ET.fromstring(capture_text('winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml'))
    assert (reply.status, subcode(root)) == (500, 'w:QuotaLimit')
    assert shape(root.find('s:Body', NS)) == shape(capture.find('s:Body', NS))
    fault = collection_cim.fault_from_info(collection_cim.fault_info(reply.body))
    assert (fault.wsman_code, fault.is_quota_exceeded) == (2150859173, True)
    assert 'maximum number of 5 concurrent shells' in fault.provider_message
    assert len(host.shells) == 5                                     # no shell of the user was closed to make room
    reply, _root = call(host, soap.ACT_DELETE, soap.SHELL_URI, selectors={'ShellId': ids[0]})
    assert reply.status == 200
    assert _create_shell(host)[0].status == 200                      # a closed shell makes room


def test_commands_hold_operations_until_their_shell_is_deleted():
    base = open_host('oldos-ex55-smtp.yml')
    host = open_host('oldos-ex55-smtp.yml', winrm=dict(base.spec.winrm, max_concurrent_operations_per_user=2))
    shell_id = _create_shell(host)[1].findtext('.//{%s}ShellId' % soap.NS_RSP)
    command = ('<rsp:CommandLine><rsp:Command>netstat</rsp:Command><rsp:Arguments>-ano</rsp:Arguments>'
               '</rsp:CommandLine>')
    reply, root = call(host, soap.ACT_COMMAND, soap.SHELL_URI, command, selectors={'ShellId': shell_id})
    command_id = root.findtext('.//{%s}CommandId' % soap.NS_RSP)
    receive = '<rsp:Receive><rsp:DesiredStream CommandId="%s">stdout stderr</rsp:DesiredStream></rsp:Receive>' \
        % command_id
    assert wsman.operations(host) == 2                                # this request and the command
    assert call(host, soap.ACT_RECEIVE, soap.SHELL_URI, receive, selectors={'ShellId': shell_id})[0].status == 200
    call(host, soap.ACT_COMMAND, soap.SHELL_URI, command, selectors={'ShellId': shell_id})
    reply, root = call(host, soap.ACT_RECEIVE, soap.SHELL_URI, receive, selectors={'ShellId': shell_id})
    assert (reply.status, subcode(root)) == (500, 'w:InternalError')  # 1 request + 2 commands > 2
    assert root.find('.//f:WSManFault', NS).get('Code') == '2150859174'
    assert 'maximum number of 2 concurrent operations' in root.findtext('.//f:Message', namespaces=NS)
    assert call(host, soap.ACT_DELETE, soap.SHELL_URI, selectors={'ShellId': shell_id})[0].status == 200
    assert enumerate_call(host, 'select Name from Win32_Service')[0].status == 200


def test_concurrent_requests_beyond_the_quota_are_refused():
    base = open_host()
    host = open_host(winrm=dict(base.spec.winrm, max_concurrent_operations_per_user=3))
    host.operations_in_flight = 3                                    # what the HTTP layer counts while serving
    assert enumerate_call(host, 'select Name from Win32_Service')[0].status == 200
    host.operations_in_flight = 4
    reply, root = enumerate_call(host, 'select Name from Win32_Service')
    assert (reply.status, subcode(root)) == (500, 'w:InternalError')
    assert collection_cim.fault_from_info(collection_cim.fault_info(reply.body)).is_quota_exceeded


@pytest.mark.parametrize('settings, problem', [
    ({'max_shells_per_user': 0}, 'must be between 1'),
    ({'max_envelope_size_kb': 8193}, 'must be between 32'),
    ({'quota_fault': 'shiny'}, 'must be one of'),
    ({'max_threads': 3}, 'max_threads'),
])
def test_bad_winrm_settings_are_refused(tmp_path, settings, problem):
    path = testing.write_scenario(tmp_path / 's.yml', [testing.small_host('ex55', winrm=settings)])
    with pytest.raises(scenario.ScenarioError) as caught:
        scenario.load_spec(path)
    assert "host 'ex55'" in str(caught.value) and problem in str(caught.value)


# ---------------------------------------------------------------------------------------------- MaxEnvelopeSize
def test_envelope_over_max_envelope_size_is_413_and_the_next_request_works(tmp_path):
    host = testing.small_host('ex55', winrm={'max_envelope_size_kb': 32})
    spec = testing.write_scenario(tmp_path / 'env.yml', [host])
    with testing.running_fleet([spec], tmp_path / 'state') as lab:
        protocol = testing.pywinrm_protocol(lab, 'ex55')
        big = testing.enumerate_envelope(lab.endpoint('ex55'), CIMV2 + '*',
                                         'select Name from Win32_Service where Name = "%s"' % ('x' * 40000))
        with pytest.raises(winrm.exceptions.WinRMTransportError) as caught:
            protocol.send_message(big)
        assert caught.value.code == 413
        small = testing.enumerate_envelope(lab.endpoint('ex55'), CIMV2 + '*', 'select Name from Win32_Service')
        protocol = testing.pywinrm_protocol(lab, 'ex55')
        assert b'EnumerateResponse' in protocol.send_message(small)
        statuses = [line['status'] for line in lab.requests('ex55')]
        assert 413 in statuses and statuses[-1] == 200
