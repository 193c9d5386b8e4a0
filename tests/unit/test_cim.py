# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cim.py against real Windows captures: paging, typed and XmlFragment items, nil, arrays, datetimes, faults."""

from __future__ import annotations

import collections
import re

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim
from ansible_collections.mailops.port25.plugins.module_utils.errors import ProtocolError, WSManFault

from ansible_collections.mailops.port25.tests.captures import pypsrp_responses, read_capture


def pages(prefix, count, hint=None):
    return [cim.parse_enumeration(read_capture("%s_%03d.xml" % (prefix, i)), hint) for i in range(count)]


def items_of(page_list):
    return [item for page in page_list for item in page.items]


# ------------------------------------------------------------------------------------------- paging

def test_server_2012_service_pages_typed_items():
    result = pages("txwinrm_server_2012_Win32_Service_star", 4)
    assert [len(p.items) for p in result] == [1, 50, 52, 28]
    assert [p.context for p in result[:3]] == ["uuid:6C0AB864-47F9-4D3E-8601-B786754BBABB",
                                               "uuid:69C1232D-0042-447B-BBA4-F6DD9324B110",
                                               "uuid:5F1294CE-8E09-46E7-BC4F-5ECBC9A0F353"]
    assert [p.end_of_sequence for p in result] == [False, False, False, True]
    assert [p.finished for p in result] == [False, False, False, True]
    assert result[3].context is None
    services = items_of(result)
    assert len(services) == 131
    assert len({s["Name"] for s in services}) == 131
    assert collections.Counter(s["State"] for s in services) == {"Stopped": 81, "Running": 50}
    assert collections.Counter(s["StartMode"] for s in services) == {"Manual": 82, "Auto": 42, "Disabled": 7}
    first = services[0]
    assert first["__class__"] == "Win32_Service"
    assert (first["Name"], first["State"], first["StartMode"], first["ProcessId"], first["ExitCode"]) == \
        ("AeLookupSvc", "Stopped", "Manual", "0", "1077")
    assert first["InstallDate"] is None
    assert first["PathName"] == "C:\\Windows\\system32\\svchost.exe -k netsvcs"
    last = services[-1]
    assert (last["Name"], last["State"], last["ProcessId"]) == ("xensvc", "Running", "1344")
    assert last["PathName"] == '"C:\\Program Files (x86)\\Citrix\\XenTools\\XenGuestAgent.exe"'
    winrm = [s for s in services if s["Name"] == "WinRM"][0]
    assert (winrm["ProcessId"], winrm["PathName"]) == ("972", "C:\\Windows\\System32\\svchost.exe -k NetworkService")
    # SELECT * returns subclass instances under their own element name
    term = [s for s in services if s["Name"] == "TermService"][0]
    assert term["__class__"] == "Win32_TerminalService"
    assert term["TotalSessions"] == "3"


def test_server_2012_xmlfragment_pages_equal_typed_pages():
    typed = items_of(pages("txwinrm_server_2012_Win32_Service_star", 4))
    fragment_pages = pages("txwinrm_server_2012_Win32_Service_all", 4, "Win32_Service")
    assert [len(p.items) for p in fragment_pages] == [1, 59, 61, 10]
    fragments = items_of(fragment_pages)
    assert len(fragments) == 131
    assert all(f["__class__"] == "Win32_Service" for f in fragments)
    for typed_item, fragment in zip(typed, fragments):
        for key, value in fragment.items():
            if key != "__class__":
                assert typed_item[key] == value, (typed_item["Name"], key)


def test_xmlfragment_without_hint_has_no_class():
    page = cim.parse_enumeration(read_capture("txwinrm_server_2012_Win32_Service_all_000.xml"))
    assert page.items[0]["__class__"] is None
    assert page.items[0]["Name"] == "AeLookupSvc"


def test_server_2008_paging():
    result = pages("txwinrm_server_2008_Win32_Service_star", 4)
    assert [len(p.items) for p in result] == [1, 50, 52, 19]
    services = items_of(result)
    assert len({s["Name"] for s in services}) == 122
    assert (services[-1]["Name"], services[-1]["State"]) == ("wudfsvc", "Stopped")


def test_server_2003_empty_context_with_end_of_sequence():
    page = cim.parse_enumeration(read_capture("txwinrm_server_2003_Win32_Service_star_000.xml"))
    assert page.context is None
    assert page.end_of_sequence is True
    assert page.finished
    assert len(page.items) == 104
    assert page.items[0]["Name"] == "AeLookupSvc"
    assert page.items[0]["ProcessId"] == "864"


def test_winrb_enumerate_and_final_pull():
    first = cim.parse_enumeration(read_capture("winrb_winrm_2013_spec_mock_enumerate_1.xml"))
    assert first.context == "uuid:12AE5286-91FE-48F3-937E-0C22FF1AD7A1"
    assert not first.finished
    assert [(i["Name"], i["ProcessId"], i["CreationDate"]) for i in first.items] == [
        ("System Idle Process", "0", None), ("System", "4", "2013-04-29T11:43:11.203125-07:00")]
    last = cim.parse_enumeration(read_capture("winrb_winrm_2013_spec_mock_enumerate_2.xml"))
    assert last.finished and last.context is None
    assert [(i["Name"], i["ExecutablePath"], i["ParentProcessId"]) for i in last.items] == [
        ("conhost.exe", "C:\\Windows\\system32\\conhost.exe", "312")]
    assert cim.to_utc_iso(last.items[0]["CreationDate"]) == "2013-04-29T20:09:06Z"


# ------------------------------------------------------------------------------------------- values

def test_process_datetimes_and_nil_in_both_forms():
    typed = items_of(pages("txwinrm_server_2012_Win32_Process_star", 3))
    fragments = items_of(pages("txwinrm_server_2012_Win32_Process_all", 3, "Win32_Process"))
    assert len(typed) == len(fragments) == 46
    expected = [("0", "System Idle Process", None, None, "0"),
                ("4", "System", None, "2013-04-15T16:28:47.73517Z", "0"),
                ("276", "smss.exe", None, "2013-04-15T16:28:47.76637Z", "4"),
                ("368", "csrss.exe", "C:\\Windows\\system32\\csrss.exe", "2013-04-15T16:28:50.933194Z", "360")]
    for source in (typed, fragments):
        got = [(p["ProcessId"], p["Name"], p["ExecutablePath"], p["CreationDate"], p["ParentProcessId"]) for p in source[:4]]
        assert got == expected


def test_operating_system_datetimes_and_single_element_array():
    os_item = cim.parse_enumeration(read_capture("txwinrm_server_2012_Win32_OperatingSystem_star_000.xml")).items[0]
    assert os_item["InstallDate"] == "2013-03-09T02:57:32Z"
    assert os_item["LocalDateTime"] == "2013-04-15T20:28:20.913Z"
    assert os_item["LastBootUpTime"] == "2013-04-15T16:28:43.488171Z"
    assert cim.to_utc_iso(os_item["LastBootUpTime"]) == "2013-04-15T16:28:43Z"
    # MUILanguages is an array with one element: WS-Man cannot tell it from a scalar
    assert os_item["MUILanguages"] == "en-US"
    assert cim.as_list(os_item["MUILanguages"]) == ["en-US"]


@pytest.mark.parametrize("name,hint", [("txwinrm_server_2012_Win32_ComputerSystem_star_000.xml", None),
                                       ("txwinrm_server_2012_Win32_ComputerSystem_all_000.xml", "Win32_ComputerSystem")])
def test_repeated_elements_become_lists(name, hint):
    item = cim.parse_enumeration(read_capture(name), hint).items[0]
    assert item["Roles"] == ["LM_Workstation", "LM_Server", "NT", "Server_NT"]
    assert item["__class__"] == "Win32_ComputerSystem"
    assert item["Name"] == "AMAZONA-SDFU7B1"
    assert [k for k, v in item.items() if isinstance(v, list)] == ["Roles"]


def test_to_int_reads_cim_integers_and_nothing_else():
    assert cim.to_int("2150858778") == 2150858778
    assert cim.to_int(" 25 ") == 25
    assert [cim.to_int(v) for v in (None, "", "abc", "1.5", ["1", "2"], {"a": "1"})] == [None] * 6


def test_as_list():
    assert cim.as_list(None) == []
    assert cim.as_list("a") == ["a"]
    assert cim.as_list(["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize("text,expected", [
    ("2013-04-15T16:28:47.73517Z", "2013-04-15T16:28:47Z"),
    ("2013-04-29T13:09:06.102138-07:00", "2013-04-29T20:09:06Z"),
    ("2013-04-29T23:30:00+02:00", "2013-04-29T21:30:00Z"),
    ("2013-03-09T02:57:32Z", "2013-03-09T02:57:32Z"),
    ("20261128160741.000000+000", "2026-11-28T16:07:41Z"),
    ("20261128160741.500000-060", "2026-11-28T17:07:41Z"),
    ("not a date", None),
    ("", None),
    (None, None),
    ("2013-13-45T00:00:00Z", None),
])
def test_to_utc_iso(text, expected):
    assert cim.to_utc_iso(text) == expected


def test_get_response_bare_instance():
    disk = cim.parse_get(read_capture("climbe_getresponse_win32_logicaldisk.xml"))
    assert disk["__class__"] == "Win32_LogicalDisk"
    assert (disk["DeviceID"], disk["FileSystem"], disk["Size"], disk["VolumeName"], disk["Availability"]) == \
        ("c:", "NTFS", "999650488320", "", None)


def test_invoke_response_output_parameters():
    assert cim.parse_invoke(read_capture("winrb_winrm_2013_spec_mock_invoke_1.xml")) == {"ReturnValue": "0"}


def test_invoke_response_must_be_output():
    with pytest.raises(ProtocolError, match="Method_OUTPUT"):
        cim.parse_invoke(read_capture("climbe_getresponse_win32_logicaldisk.xml"))


# ------------------------------------------------------------------------------------------- by URI, not by prefix

def _rename_prefix(data, old, new):
    text = data.decode("utf-8")
    text = re.sub(r"(</?)%s:" % old, r"\g<1>%s:" % new, text)
    text = text.replace("xmlns:%s=" % old, "xmlns:%s=" % new)
    return text.encode("utf-8")


def test_prefixes_do_not_matter():
    original = read_capture("txwinrm_server_2012_Win32_Service_star_003.xml")
    renamed = original
    for old, new in (("s", "soap"), ("n", "enum"), ("p", "svc"), ("w", "man")):
        renamed = _rename_prefix(renamed, old, new)
    assert b"<n:" not in renamed and b"<enum:PullResponse>" in renamed
    a, b = cim.parse_enumeration(original), cim.parse_enumeration(renamed)
    assert a.items == b.items and len(b.items) == 28 and b.end_of_sequence


def test_same_prefix_bound_to_another_uri_is_not_accepted():
    data = read_capture("txwinrm_server_2012_Win32_Service_star_003.xml").replace(
        b'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"', b'xmlns:n="urn:something-else"')
    with pytest.raises(ProtocolError, match="EnumerateResponse or PullResponse"):
        cim.parse_enumeration(data)


def test_fault_subcode_prefix_resolved_by_uri():
    data = _rename_prefix(read_capture("omi_wsmanparser_timedout_fault.xml"), "w", "wsman")
    data = data.replace(b">w:TimedOut<", b">wsman:TimedOut<")
    assert b">wsman:TimedOut<" in data and b"xmlns:w=" not in data
    assert cim.fault_info(data)["subcode"] == "w:TimedOut"


# ------------------------------------------------------------------------------------------- hostile / broken input

def test_dtd_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(ProtocolError, match="DTD"):
        cim.parse_enumeration(data)


@pytest.mark.parametrize("data", [b"", b"<s:Envelope", b"HTTP error page", b"<html><body>500</body></html>"])
def test_not_xml_or_not_soap(data):
    with pytest.raises(ProtocolError):
        cim.parse_enumeration(data)


# ------------------------------------------------------------------------------------------- faults

FAULTS = [
    ("winrb_winrm_2013_spec_mock_wsman_fault.xml", "n:CannotProcessFilter", 2150858778,
     "The specified class does not exist in the given namespace.", "is_invalid_filter"),
    ("winrb_winrm_tests_spec_stubs_responses_soap_fault_v2.xml", "n:CannotProcessFilter", 2150858778,
     "The specified class does not exist in the given namespace.", "is_invalid_filter"),
    ("winrb_winrm_tests_spec_stubs_responses_soap_fault_v1.xml", "n:CannotProcessFilter", 2150858778,
     "The specified class does not exist in the given namespace.", "is_invalid_filter"),
    ("omi_wsmanparser_get_notfound_fault_win2012r2.xml", "a:DestinationUnreachable", 2150858752,
     "The WS-Management service cannot process the request. The service cannot find the resource identified by "
     "the resource URI and selectors.", "is_not_found"),
    ("omi_wsmanparser_timedout_fault.xml", "w:TimedOut", 2150858793,
     "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.", "is_timed_out"),
    ("txwinrm_data_error_max_concurrent.xml", "w:InternalError", 2150859174,
     "The WS-Management service cannot process the request. This user is allowed a maximum number of 15 concurrent "
     "operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user.",
     ("is_internal_error", "is_quota_exceeded")),
    ("winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml", "w:QuotaLimit", 2150859173,
     "The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent "
     "shells, which has been exceeded. Close existing shells or raise the quota for this user.", "is_quota_exceeded"),
    ("pywinrm_test_exceptions_wmi_error_detail.xml", "w:InternalError", 2150859174, "WMI Message.",
     ("is_internal_error", "is_quota_exceeded")),
]


@pytest.mark.parametrize("name,subcode,code,provider_message,flag", FAULTS)
def test_fault_captures(name, subcode, code, provider_message, flag):
    with pytest.raises(WSManFault) as caught:
        cim.parse_enumeration(read_capture(name))
    fault = caught.value
    assert fault.fault_code == subcode
    assert fault.wsman_code == code
    assert fault.provider_message == provider_message
    assert fault.meaning
    flags = ("is_access_denied", "is_not_found", "is_invalid_filter", "is_timed_out", "is_invalid_namespace", "is_internal_error",
             "is_quota_exceeded")
    assert [f for f in flags if getattr(fault, f)] == list((flag,) if isinstance(flag, str) else flag or ())
    fault.host, fault.operation = "mail01", "enumerate Win32_Service"
    text = str(fault)
    assert text.startswith("mail01: enumerate Win32_Service: WSManFault %d (%s): " % (code, subcode))
    assert fault.meaning in text


def _fault_of(name):
    return cim.fault_from_info(cim.fault_info(read_capture(name)))


def test_fault_meanings_in_plain_english():
    get = _fault_of
    assert get("winrb_winrm_2013_spec_mock_wsman_fault.xml").meaning == \
        "invalid filter: the WMI class does not exist in this namespace or the WQL query is invalid"
    assert get("omi_wsmanparser_get_notfound_fault_win2012r2.xml").meaning == \
        "not found: no object matches the resource URI and selectors"
    assert get("omi_wsmanparser_timedout_fault.xml").meaning == \
        "timed out: the operation did not finish within the operation timeout"
    assert get("txwinrm_data_error_max_concurrent.xml").meaning == (
        "too many operations: the maximum number of concurrent operations for this user (MaxConcurrentOperationsPerUser) is "
        "exceeded; run fewer tasks against this host at once or raise the quota (winrm/config/service)")
    assert get("pywinrm_test_exceptions_wmi_error_detail.xml").meaning == get("txwinrm_data_error_max_concurrent.xml").meaning


def test_fault_details_of_notfound():
    info = cim.fault_info(read_capture("omi_wsmanparser_get_notfound_fault_win2012r2.xml"))
    assert info["code"] == "s:Sender"
    assert info["machine"] == "10.68.240.26"
    assert info["provider"] == "WMI Provider"
    assert info["fault_detail"] == "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidResourceURI"


def _fault_response(name):
    for response in pypsrp_responses(name):
        if cim.fault_info(response):
            return response
    raise AssertionError("no fault in %s" % name)


@pytest.mark.parametrize("name,subcode,code,meaning_start", [
    ("pypsrp_test_winrs_operation_timeout.yml", "w:TimedOut", 2150858793, "timed out"),
    ("pypsrp_test_winrs_bad_cmd_id.yml", "w:InvalidSelectors", 2150858843, "invalid selectors"),
    ("pypsrp_test_psrp_is_alive_invalid_selectors.yml", "w:InvalidSelectors", 2150858843, "invalid selectors"),
    ("pypsrp_test_winrs_no_cmd_shell.yml", "w:InternalError", 2147942402, "file not found"),
    ("pypsrp_test_winrs_fail_poll_process.yml", "w:InvalidParameter", 87, "invalid parameter"),
    ("pypsrp_test_psrp_is_alive_other_wsman_error.yml", "a:InvalidMessageInformationHeader", 2150858767, "invalid message header"),
])
def test_pypsrp_fault_captures(name, subcode, code, meaning_start):
    fault = cim.fault_from_info(cim.fault_info(_fault_response(name)), host="h", operation="op")
    assert fault.fault_code == subcode
    assert fault.wsman_code == code
    assert fault.meaning.startswith(meaning_start)
    assert fault.provider_message


def test_not_a_fault():
    assert cim.fault_info(read_capture("txwinrm_server_2003_Win32_Service_star_000.xml")) is None


def test_access_denied_and_invalid_namespace_flags():
    denied = cim.fault_from_info({"subcode": "w:AccessDenied", "wsman_code": 5, "reason": "Access is denied."})
    assert denied.is_access_denied and not denied.is_not_found
    assert denied.meaning.startswith("access denied")
    wmi_denied = cim.fault_from_info({"subcode": "w:InternalError", "wsman_code": 2147749891, "reason": "x"})
    assert wmi_denied.is_access_denied
    namespace = cim.fault_from_info({"subcode": "w:InternalError", "wsman_code": 2147749902, "reason": "x"})
    assert namespace.is_invalid_namespace and not namespace.is_access_denied
    unknown = cim.fault_from_info({"subcode": "w:Whatever", "wsman_code": 1234, "reason": "odd"})
    assert unknown.meaning is None
    assert str(unknown) == "WSManFault 1234 (w:Whatever) [odd]"


def test_resource_uri():
    assert cim.resource_uri("root/cimv2") == "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*"
    assert cim.resource_uri("root/cimv2", "Win32_Service") == \
        "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service"


# A Win32_DependentService item as WinRM renders association instances: each reference is an EPR whose
# SelectorSet may carry more than one key (here the __cimnamespace selector beside Name).
DEPENDENT_SERVICE_PULL = b"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
 xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"
 xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header/><s:Body><n:PullResponse><n:Items>
<p:Win32_DependentService xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_DependentService"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="p:Win32_DependentService_Type">
<p:Antecedent><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters>
<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service</w:ResourceURI><w:SelectorSet>
<w:Selector Name="Name">IISADMIN</w:Selector><w:Selector Name="__cimnamespace">root/cimv2</w:Selector></w:SelectorSet>
</a:ReferenceParameters></p:Antecedent>
<p:Dependent><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters>
<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service</w:ResourceURI><w:SelectorSet>
<w:Selector Name="__cimnamespace">root/cimv2</w:Selector><w:Selector Name="Name">SMTPSVC</w:Selector></w:SelectorSet>
</a:ReferenceParameters></p:Dependent><p:TypeOfDependency xsi:nil="true"/></p:Win32_DependentService>
</n:Items><n:EndOfSequence/></n:PullResponse></s:Body></s:Envelope>"""


def test_reference_selectors_keep_their_names():
    item = cim.parse_enumeration(DEPENDENT_SERVICE_PULL).items[0]
    assert item["Antecedent"]["ReferenceParameters"]["SelectorSet"] == {"Name": "IISADMIN", "__cimnamespace": "root/cimv2"}
    assert item["Dependent"]["ReferenceParameters"]["SelectorSet"] == {"__cimnamespace": "root/cimv2", "Name": "SMTPSVC"}
    assert item["TypeOfDependency"] is None
