# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults are understood by their codes, whatever the server's language: MSFT_WmiError in any namespace, the WMI
access-denied codes, the quota codes, the invalid namespace. Fed with the real captures (tests/captures) and with
the same captures in the shapes and languages other Windows servers send (namespace or texts rewritten)."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim
from ansible_collections.mailops.port25.plugins.module_utils.errors import WSManFault
from ansible_collections.mailops.port25.tests.captures import capture_text

DMTF = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"
STDCIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/standardcimv2/MSFT_WmiError"
ACCESS_CHECK = ("check that the account is in the host's Administrators or Remote Management Users group and has "
                "Enable Account and Remote Enable on the WMI namespace (wmimgmt.msc, Security)")


def fault_of(text, host=None, operation=None):
    return cim.fault_from_info(cim.fault_info(text.encode("utf-8")), host=host, operation=operation)


def shells_quota_as(namespace=DMTF, **replace):
    """WinRb's real w:QuotaLimit capture (MSFT_WmiError detail), its namespace and texts rewritten as asked."""
    text = capture_text("winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml").replace(DMTF, namespace)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_msft_wmierror_is_read_in_the_mi_provider_namespace():
    # the same detail as MI providers of root/StandardCimv2 send it: its code and message are kept
    fault = fault_of(shells_quota_as(STDCIMV2), host="mail01", operation="enumerate MSFT_NetTCPConnection (root/StandardCimv2)")
    assert (fault.wsman_code, fault.cim_status, fault.fault_code) == (2150859173, 27, "w:QuotaLimit")
    assert fault.provider_message == ("The WS-Management service cannot process the request. This user is allowed a "
                                      "maximum number of 30 concurrent shells, which has been exceeded. Close existing "
                                      "shells or raise the quota for this user.")
    assert fault.is_quota_exceeded and not fault.is_access_denied
    assert str(fault).startswith("mail01: enumerate MSFT_NetTCPConnection (root/StandardCimv2): WSManFault 2150859173 "
                                 "(w:QuotaLimit): too many shells")


def test_msft_wmierror_in_the_dmtf_and_the_mi_namespace_read_alike():
    dmtf = cim.fault_info(shells_quota_as().encode("utf-8"))
    mi = cim.fault_info(shells_quota_as(STDCIMV2).encode("utf-8"))
    assert dmtf == mi
    assert dmtf["cim_status"] == 27


def test_newer_quota_shape_has_its_code_from_the_msft_wmierror_only():
    fault = fault_of(capture_text("pywinrm_test_exceptions_wmi_error_detail.xml"))
    assert (fault.wsman_code, fault.cim_status, fault.subcode) == (2150859174, 27, "InternalError")
    assert fault.is_quota_exceeded and fault.is_internal_error
    assert "MaxConcurrentOperationsPerUser" in fault.meaning


@pytest.mark.parametrize("code, start", [
    (2150859012, "access denied by the WMI service: "),
    (2150859013, "access denied by the WMI provider of this class: the account may not read it (the Security event log "
                 "also needs SeSecurityPrivilege); "),
    (2150859014, "access denied when connecting to the WMI namespace: "),
])
def test_wmi_access_denied_codes_have_their_meaning_and_what_to_check(code, start):
    # the real WSManFault capture of WinRb with the access-denied code and text Windows sends in it
    text = capture_text("winrb_winrm_2013_spec_mock_wsman_fault.xml").replace("2150858778", str(code)).replace(
        "n:CannotProcessFilter", "w:AccessDenied")
    fault = fault_of(text, host="mail01", operation="enumerate Win32_Process (root/cimv2)")
    assert fault.is_access_denied and not fault.is_invalid_filter
    assert fault.meaning == start + ACCESS_CHECK
    assert str(fault).startswith("mail01: enumerate Win32_Process (root/cimv2): WSManFault %d (w:AccessDenied): %s"
                                 % (code, start))


def test_mi_access_denied_is_told_by_its_cim_status_even_with_an_unknown_code():
    text = shells_quota_as(STDCIMV2, **{"w:QuotaLimit": "w:AccessDenied", ">27<": ">2<", "2150859173": "2147942405"})
    fault = fault_of(text)
    assert (fault.cim_status, fault.wsman_code, fault.is_access_denied, fault.is_quota_exceeded) == (2, 2147942405, True, False)
    unknown = fault_of(shells_quota_as(STDCIMV2, **{"w:QuotaLimit": "w:Whatever", ">27<": ">2<", "2150859173": "1234"}))
    assert unknown.is_access_denied and unknown.meaning is None


@pytest.mark.parametrize("code, word", [
    (2150859173, "MaxShellsPerUser"), (2150859174, "MaxConcurrentOperationsPerUser"), (2150859175, "quota"),
    (2150859176, "system-wide"), (2150859179, "MaxConcurrentUsers"), (2150859240, "MaxConcurrentOperationsPerUser"),
])
def test_quota_codes_have_their_meaning(code, word):
    fault = WSManFault("x", wsman_code=code, fault_code="w:InternalError")
    assert fault.is_quota_exceeded and word in fault.meaning


GERMAN_NOT_FOUND = ("Die Anforderung kann vom WS-Verwaltungsdienst nicht verarbeitet werden. Die durch den "
                    "Ressourcen-URI und die Selektoren angegebene Ressource wurde vom Dienst nicht gefunden. ")


def _not_found(operation, reason, message):
    """The real not-found fault of Server 2012 R2 (OMI's capture) with the ConnectServer step and texts asked."""
    text = capture_text("omi_wsmanparser_get_notfound_fault_win2012r2.xml")
    english = ("The WS-Management service cannot process the request. The service cannot find the resource identified "
               "by the resource URI and selectors. ")
    assert english in text and ">GetObject<" in text
    text = text.replace(">GetObject<", ">%s<" % operation)
    head, _sep, tail = text.partition(english)
    return head + reason + tail.replace(english, message)


def test_invalid_namespace_of_a_german_server_is_told_by_its_codes():
    fault = fault_of(_not_found("ConnectServer", GERMAN_NOT_FOUND,
                                "Die Anforderung kann vom WS-Verwaltungsdienst nicht verarbeitet werden. Der "
                                "CIM-Namespace root/standardcimv2 ist ungültig. "))
    assert fault.is_invalid_namespace and fault.is_not_found and fault.wsman_code == 2150858752
    assert "ungültig" in fault.provider_message


def test_english_words_alone_never_make_an_invalid_namespace():
    # a not-found from GetObject whose text happens to say "invalid namespace": codes decide, not words
    message = "The WS-Management service cannot process the request. The invalid namespace ... "
    fault = fault_of(_not_found("GetObject", "x", message))
    assert fault.is_not_found and not fault.is_invalid_namespace
    assert WSManFault("Invalid namespace", provider_message="Invalid namespace").is_invalid_namespace is False
    assert WSManFault("x", wsman_code=2147749902).is_invalid_namespace
    assert WSManFault("x", cim_status=3).is_invalid_namespace


def test_german_timeout_is_still_a_timeout():
    text = capture_text("omi_wsmanparser_timedout_fault.xml")
    german = text.replace("The WS-Management service cannot complete the operation within the time specified in "
                          "OperationTimeout.", "Der WS-Verwaltungsdienst kann den Vorgang nicht innerhalb der in "
                                               "OperationTimeout angegebenen Zeit abschließen.")
    german = german.replace('xml:lang="en-US"', 'xml:lang="de-DE"')
    assert german != text
    fault = fault_of(german)
    assert (fault.is_timed_out, fault.wsman_code) == (True, 2150858793)
    assert fault.msg.startswith("Der WS-Verwaltungsdienst")
