# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WSManClient with a fake Protocol replaying real captures: exact request XML, paging, retries, faults, shell."""

from __future__ import annotations

import urllib3
import xml.etree.ElementTree as ET

import certifi
import pytest
import requests
import winrm.exceptions

from ansible_collections.mailops.port25.plugins.module_utils import connection, wql, wsman
from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    AuthenticationFailure, ConnectionFailure, InvalidOption, TLSFailure, WSManFault)

from ansible_collections.mailops.port25.tests.captures import pypsrp_responses, read_capture
from ansible_collections.mailops.port25.tests.unit.conftest import FakeProtocol

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "n": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
}
CIMV2 = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/*"
SERVICE = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service"


def header(message, path):
    return ET.fromstring(message).find("s:Header/" + path, NS)


def body(message):
    return ET.fromstring(message).find("s:Body", NS)


def client_with(settings, answers):
    protocol = FakeProtocol(answers)
    client = wsman.WSManClient(settings(), protocol=protocol)
    client.retry_delays = (0, 0)
    return client, protocol


def reset_error():
    inner = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    return requests.exceptions.ConnectionError(inner)


def fault_error(name):
    return winrm.exceptions.WSManFaultError(500, "Bad HTTP response", read_capture(name).decode("utf-8"), "fault")


SERVICE_PAGES = ["txwinrm_server_2012_Win32_Service_star_%03d.xml" % i for i in range(4)]


# ------------------------------------------------------------------------------------------- enumerate

def test_enumerate_all_pages_and_request_shape(settings):
    client, protocol = client_with(settings, [read_capture(n) for n in SERVICE_PAGES])
    query = "SELECT * FROM Win32_Service WHERE Name = 'a<b&c' OR Name = \"x\""
    items = client.enumerate("root/cimv2", query)
    assert len(items) == 131 and items[0]["Name"] == "AeLookupSvc" and items[-1]["Name"] == "xensvc"
    assert client.request_count == 4 and len(protocol.sent) == 4

    first = protocol.sent[0]
    assert header(first, "a:Action").text == "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
    assert header(first, "w:ResourceURI").text == CIMV2
    assert header(first, "a:To").text == "http://mail01.example.test:5985/wsman"
    assert header(first, "w:MaxEnvelopeSize").text == "512000"
    assert header(first, "w:OperationTimeout").text == "PT20S"
    assert header(first, "a:MessageID").text.startswith("uuid:")
    enum = body(first).find("n:Enumerate", NS)
    assert enum.find("w:OptimizeEnumeration", NS) is not None
    assert enum.find("w:MaxElements", NS).text == "32000"
    filt = enum.find("w:Filter", NS)
    assert filt.get("Dialect") == "http://schemas.microsoft.com/wbem/wsman/1/WQL"
    assert filt.text == query  # escaped on the wire, identical once parsed

    contexts = ["uuid:6C0AB864-47F9-4D3E-8601-B786754BBABB", "uuid:69C1232D-0042-447B-BBA4-F6DD9324B110",
                "uuid:5F1294CE-8E09-46E7-BC4F-5ECBC9A0F353"]
    for message, context in zip(protocol.sent[1:], contexts):
        assert header(message, "a:Action").text == "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
        assert header(message, "w:ResourceURI").text == CIMV2
        pull = body(message).find("n:Pull", NS)
        assert pull.find("n:EnumerationContext", NS).text == context
        assert pull.find("n:MaxElements", NS).text == "32000"
    message_ids = {header(m, "a:MessageID").text for m in protocol.sent}
    assert len(message_ids) == 4


def test_enumerate_single_page_2003(settings):
    client, protocol = client_with(settings, [read_capture("txwinrm_server_2003_Win32_Service_star_000.xml")])
    assert len(client.enumerate("root\\cimv2", "select * from Win32_Service")) == 104
    assert client.request_count == 1
    assert header(protocol.sent[0], "w:ResourceURI").text == CIMV2


def test_enumerate_xmlfragment_named_from_query(settings):
    pages = [read_capture("txwinrm_server_2012_Win32_Service_all_%03d.xml" % i) for i in range(4)]
    client, _protocol = client_with(settings, pages)
    items = client.enumerate("root/cimv2", "SELECT AcceptPause,Name FROM Win32_Service")
    assert len(items) == 131 and {i["__class__"] for i in items} == {"Win32_Service"}


def test_namespace_in_resource_uri(settings):
    client, protocol = client_with(settings, [read_capture("txwinrm_server_2003_Win32_Service_star_000.xml")])
    client.enumerate("root/StandardCimv2", "SELECT * FROM MSFT_NetTCPConnection WHERE LocalPort = 25")
    assert header(protocol.sent[0], "w:ResourceURI").text == "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/StandardCimv2/*"


@pytest.mark.parametrize("namespace", ["root/cimv2/../x", "root cimv2", "", "root/cimv2?x=1", "root/cimv2/<x>", None])
def test_bad_namespace_sends_nothing(settings, namespace):
    client, protocol = client_with(settings, [])
    with pytest.raises(InvalidOption):
        client.enumerate(namespace, "SELECT * FROM Win32_Service")
    assert protocol.sent == [] and client.request_count == 0


def test_fault_on_enumerate(settings):
    client, protocol = client_with(settings, [fault_error("winrb_winrm_2013_spec_mock_wsman_fault.xml")])
    with pytest.raises(WSManFault) as caught:
        client.enumerate("root/cimv2", "Select * from Win32_Processa")
    fault = caught.value
    assert (fault.host, fault.operation, fault.wsman_code) == ("mail01.example.test", "enumerate Win32_Processa (root/cimv2)", 2150858778)
    assert str(fault).startswith("mail01.example.test: enumerate Win32_Processa (root/cimv2): WSManFault 2150858778 (n:CannotProcessFilter)")
    assert len(protocol.sent) == 1  # CannotProcessFilter is not retried


def test_fault_in_body_of_200_response(settings):
    client, _protocol = client_with(settings, [read_capture("omi_wsmanparser_timedout_fault.xml")])
    with pytest.raises(WSManFault) as caught:
        client.enumerate("root/cimv2", "SELECT * FROM Win32_NTLogEvent")
    assert caught.value.is_timed_out and caught.value.host == "mail01.example.test"


def test_failed_pull_releases_context(settings):
    timed_out = [fault_error("omi_wsmanparser_timedout_fault.xml") for _attempt in range(3)]
    answers = [read_capture(SERVICE_PAGES[0])] + timed_out + [read_capture("omi_wsmanparser_timedout_fault.xml")]  # last: Release
    client, protocol = client_with(settings, answers)
    with pytest.raises(WSManFault) as caught:
        client.enumerate("root/cimv2", "SELECT * FROM Win32_Service")
    assert caught.value.is_timed_out
    assert [header(m, "a:Action").text.rsplit("/", 1)[1] for m in protocol.sent] == ["Enumerate", "Pull", "Pull", "Pull", "Release"]
    release = protocol.sent[4]
    assert body(release).find("n:Release/n:EnumerationContext", NS).text == "uuid:6C0AB864-47F9-4D3E-8601-B786754BBABB"
    assert client.request_count == 5


def test_pull_timed_out_is_pulled_again_with_same_context(settings):
    answers = [read_capture(SERVICE_PAGES[0]), fault_error("omi_wsmanparser_timedout_fault.xml")] + [read_capture(n) for n in SERVICE_PAGES[1:]]
    client, protocol = client_with(settings, answers)
    assert len(client.enumerate("root/cimv2", "SELECT * FROM Win32_Service")) == 131
    contexts = [body(m).find("n:Pull/n:EnumerationContext", NS).text for m in protocol.sent[1:3]]
    assert contexts == ["uuid:6C0AB864-47F9-4D3E-8601-B786754BBABB"] * 2
    assert protocol.closed == 0


def test_enumerate_timed_out_is_not_retried(settings):
    client, protocol = client_with(settings, [fault_error("omi_wsmanparser_timedout_fault.xml")])
    with pytest.raises(WSManFault):
        client.enumerate("root/cimv2", "SELECT * FROM Win32_NTLogEvent")
    assert len(protocol.sent) == 1


# ------------------------------------------------------------------------------------------- retries

def test_read_retried_after_reset_on_fresh_session(settings):
    client, protocol = client_with(settings, [reset_error(), read_capture("txwinrm_server_2003_Win32_Service_star_000.xml")])
    assert len(client.enumerate("root/cimv2", "select * from Win32_Service")) == 104
    assert client.request_count == 2
    assert protocol.closed == 1  # the broken session was dropped before the retry


def test_read_retried_on_internal_error(settings):
    answers = [fault_error("txwinrm_data_error_max_concurrent.xml"), read_capture("txwinrm_server_2003_Win32_Service_star_000.xml")]
    client, protocol = client_with(settings, answers)
    assert len(client.enumerate("root/cimv2", "select * from Win32_Service")) == 104
    assert client.request_count == 2
    assert protocol.closed == 0  # the session is fine: no reconnect for a server-side InternalError


def test_retries_are_bounded(settings):
    client, protocol = client_with(settings, [reset_error(), reset_error(), reset_error(), reset_error()])
    with pytest.raises(ConnectionFailure) as caught:
        client.enumerate("root/cimv2", "select * from Win32_Service")
    assert caught.value.transient
    assert len(protocol.sent) == 3 and client.request_count == 3


def test_refused_is_not_retried(settings):
    refused = requests.exceptions.ConnectionError(urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"))
    client, protocol = client_with(settings, [refused])
    with pytest.raises(ConnectionFailure, match="cannot reach mail01.example.test:5985"):
        client.enumerate("root/cimv2", "select * from Win32_Service")
    assert len(protocol.sent) == 1


def test_auth_failure_not_retried_and_no_password(settings):
    client, protocol = client_with(settings, [winrm.exceptions.InvalidCredentialsError("rejected")])
    with pytest.raises(Exception) as caught:
        client.enumerate("root/cimv2", "select * from Win32_Service")
    assert "user 'EXAMPLE\\ops' was rejected by mail01.example.test:5985" in str(caught.value)
    assert "S3cret!pass" not in str(caught.value)
    assert len(protocol.sent) == 1


# ------------------------------------------------------------------------------------------- get / invoke

def test_get_request_and_result(settings):
    client, protocol = client_with(settings, [read_capture("climbe_getresponse_win32_logicaldisk.xml")])
    disk = client.get("root/cimv2", "Win32_LogicalDisk", {"DeviceID": "c:"})
    assert (disk["__class__"], disk["FreeSpace"]) == ("Win32_LogicalDisk", "840649814016")
    message = protocol.sent[0]
    assert header(message, "a:Action").text == "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
    assert header(message, "w:ResourceURI").text == "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_LogicalDisk"
    selectors = header(message, "w:SelectorSet").findall("w:Selector", NS)
    assert [(s.get("Name"), s.text) for s in selectors] == [("DeviceID", "c:")]
    assert list(body(message)) == []


def test_get_not_found(settings):
    client, _protocol = client_with(settings, [fault_error("omi_wsmanparser_get_notfound_fault_win2012r2.xml")])
    with pytest.raises(WSManFault) as caught:
        client.get("root/cimv2", "Win32_Process", {"Handle": "29"})
    assert caught.value.is_not_found and caught.value.operation == "get Win32_Process"


def test_invoke_request_shape_and_escaping(settings):
    client, protocol = client_with(settings, [read_capture("winrb_winrm_2013_spec_mock_invoke_1.xml")])
    hostile = "a<b>&'c\"]]>"
    result = client.invoke("root/cimv2", "Win32_Service", "ChangeStartMode", {"Name": hostile}, {"StartMode": "Disabled"})
    assert result == {"ReturnValue": "0"}
    message = protocol.sent[0]
    assert header(message, "a:Action").text == SERVICE + "/ChangeStartMode"
    assert header(message, "w:ResourceURI").text == SERVICE
    selectors = header(message, "w:SelectorSet").findall("w:Selector", NS)
    assert [(s.get("Name"), s.text) for s in selectors] == [("Name", hostile)]
    method_input = body(message).find("{%s}ChangeStartMode_INPUT" % SERVICE)
    assert method_input is not None
    assert [(child.tag, child.text) for child in method_input] == [("{%s}StartMode" % SERVICE, "Disabled")]


def test_invoke_without_params(settings):
    client, protocol = client_with(settings, [read_capture("winrb_winrm_2013_spec_mock_invoke_1.xml")])
    client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
    method_input = body(protocol.sent[0]).find("{%s}StopService_INPUT" % SERVICE)
    assert method_input is not None and list(method_input) == []


@pytest.mark.parametrize("answer", [reset_error(), fault_error("txwinrm_data_error_max_concurrent.xml")])
def test_invoke_is_never_retried(settings, answer):
    client, protocol = client_with(settings, [answer, read_capture("winrb_winrm_2013_spec_mock_invoke_1.xml")])
    with pytest.raises((ConnectionFailure, WSManFault)):
        client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
    assert len(protocol.sent) == 1 and client.request_count == 1


@pytest.mark.parametrize("args", [
    ("root/cimv2", "Win32_Service;", "StopService", {"Name": "x"}, None),
    ("root/cimv2", "Win32_Service", "Stop Service", {"Name": "x"}, None),
    ("root/cimv2", "Win32_Service", "StopService", {"Na me": "x"}, None),
    ("root/cimv2", "Win32_Service", "StopService", {"Name": "x\x00"}, None),
    ("root/cimv2", "Win32_Service", "ChangeStartMode", {"Name": "x"}, {"Start<Mode": "Disabled"}),
    ("root/cimv2", "Win32_Service", "StopService", {"Name": ["x"]}, None),
])
def test_invoke_rejects_bad_names_before_sending(settings, args):
    client, protocol = client_with(settings, [])
    with pytest.raises(InvalidOption):
        client.invoke(*args)
    assert protocol.sent == []


# ------------------------------------------------------------------------------------------- shell (real pywinrm Protocol, replayed transport)

class ReplayTransport(FakeProtocol):
    """pywinrm Transport stand-in: answers Protocol's shell messages with a pypsrp recording."""


def shell_client(settings, capture_name):
    protocol = connection.create_protocol(settings())
    protocol.transport = ReplayTransport(pypsrp_responses(capture_name))
    return wsman.WSManClient(settings(), protocol=protocol), protocol.transport


def test_run_command_standard(settings):
    client, transport = shell_client(settings, "pypsrp_test_winrs_standard.yml")
    assert client.run_command("cmd.exe", ["/c", "echo", "hi"]) == (0, "hi\r\n", "")
    assert client.request_count == 5
    actions = [header(m, "a:Action").text.rsplit("/", 1)[1] for m in transport.sent]
    assert actions == ["Create", "Command", "Receive", "Signal", "Delete"]
    assert transport.closed == 0  # closing the shell keeps the HTTP session for the next request


def test_run_command_stderr_and_exit_code(settings):
    client, _transport = shell_client(settings, "pypsrp_test_winrs_stderr_rc.yml")
    assert client.run_command("netstat", ["-ano"]) == (1, "out \r\n", "err \r\n")


@pytest.mark.parametrize("command,args", [("netstat", ["-ano & del x"]), ("cmd", ["/c", "a|b"]), ("x", ["a\nb"]), ("", []),
                                          ("netstat", ["%PATH%"]), ("netstat", ['"'])])
def test_run_command_refuses_metacharacters(settings, command, args):
    client, protocol = client_with(settings, [])
    with pytest.raises(InvalidOption):
        client.run_command(command, args)
    assert protocol.sent == []


def test_close_closes_session(settings):
    client, protocol = client_with(settings, [])
    with client:
        pass
    assert protocol.closed == 1


def test_class_of_query():
    assert wsman.class_of_query("select Name from Win32_Service where x=1") == "Win32_Service"
    assert wsman.class_of_query("SELECT * FROM MSFT_NetTCPConnection") == "MSFT_NetTCPConnection"
    assert wsman.class_of_query("nonsense") is None


# ------------------------------------------------------------------------------------------- against the lab (real HTTP, NTLM, TLS)

SERVICES = [
    {"name": "SMTPSVC", "display_name": "Simple Mail Transfer Protocol (SMTP)", "state": "running", "start_mode": "auto",
     "process": "inetinfo.exe", "path": "C:\\Windows\\system32\\inetsrv\\inetinfo.exe", "listens": [25]},
    {"name": "Mail.Svc_2", "display_name": "Hostile \"name\" <svc> & 'quotes'", "state": "stopped", "start_mode": "manual",
     "process": "obrien.exe", "path": "C:\\obrien.exe"},
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    testing = pytest.importorskip("winlab.testing")
    base = tmp_path_factory.mktemp("core-lab")
    hosts = [
        {"name": "plain", "services": SERVICES},
        {"name": "tls", "scheme": "https", "auth": ["ntlm", "basic"], "services": SERVICES},
        {"name": "flaky", "services": SERVICES, "faults": {"drop_connections": 1, "internal_error_requests": 1}},
        {"name": "denied", "services": SERVICES, "faults": {"access_denied_classes": ["Win32_NTLogEvent"]}},
        {"name": "oldos", "services": SERVICES, "standardcimv2": False},
    ]
    spec = testing.write_scenario(base / "core.yml", hosts)
    with testing.running_fleet([spec], base / "state") as handle:
        yield handle


def lab_client(lab, name, **overrides):
    host_vars = dict(lab.hosts[name], inventory_hostname=name)
    options = connection.options_from_inventory(host_vars)
    options.update(overrides)
    client = wsman.WSManClient(connection.settings_from_params(options))
    client.retry_delays = (0.05, 0.05)
    return client


def wsman_requests(lab, name):
    return [r for r in lab.requests(name) if r.get("action")]


def test_lab_ntlm_http_one_session(lab):
    with lab_client(lab, "plain") as client:
        query = "SELECT Name,State,DisplayName FROM Win32_Service WHERE Name = %s"
        services = client.enumerate("root/cimv2", query % wql.quote("Mail.Svc_2"))
        assert [(s["Name"], s["State"], s["DisplayName"]) for s in services] == [("Mail.Svc_2", "Stopped", "Hostile \"name\" <svc> & 'quotes'")]
        assert client.enumerate("root/cimv2", query % wql.quote("x' OR Name LIKE '%")) == []
        assert client.enumerate("root/cimv2", query % wql.quote("SMTPSVC\\' OR '1'='1")) == []
        smtp = client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})
        assert (smtp["State"], smtp["StartMode"]) == ("Running", "Auto")
        rc, out, _err = client.run_command("netstat", ["-ano"])
        assert rc == 0 and "0.0.0.0:25" in out
        count = client.request_count
    log = lab.requests("plain")
    assert count == len(wsman_requests(lab, "plain"))
    assert len({r["conn"] for r in log}) == 1  # one TCP connection, one NTLM handshake, for everything
    # NEGOTIATE goes with the first request: two authentication legs, not three
    assert [(r["auth"], r["status"]) for r in log[:3]] == [("ntlm-negotiate", 401), ("ntlm-authenticate", 200), ("none", 200)]


def test_lab_invoke_and_reread(lab):
    with lab_client(lab, "plain") as client:
        result = client.invoke("root/cimv2", "Win32_Service", "ChangeStartMode", {"Name": "Mail.Svc_2"}, {"StartMode": "Disabled"})
        assert result == {"ReturnValue": "0"}
        assert client.get("root/cimv2", "Win32_Service", {"Name": "Mail.Svc_2"})["StartMode"] == "Disabled"


def test_lab_read_after_a_method_call_lost_its_connection(lab):
    """A method call is not retried; the re-read that follows must start a new session on a new connection."""
    with lab_client(lab, "plain") as client:
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["State"] == "Running"
        session = client._protocol.transport.session
        real_send = session.send

        def lost(request, **kwargs):
            session.send = real_send
            for adapter in session.adapters.values():
                adapter.poolmanager.clear()  # the peer closed the connection during the call
            raise reset_error()

        session.send = lost
        with pytest.raises(ConnectionFailure):
            client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["State"] == "Running"


def test_lab_https_with_ca_validation(lab):
    with lab_client(lab, "tls", winrm_scheme="https", winrm_port=lab.https_port, winrm_ca_trust_path=lab.ca_path) as client:
        assert client.settings.endpoint.startswith("https://")
        assert len(client.enumerate("root/cimv2", "SELECT Name FROM Win32_Service")) >= 2
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["Name"] == "SMTPSVC"
    # over TLS the first message itself carries NEGOTIATE, then AUTHENTICATE (with channel binding) and the body again;
    # the Pull of the other services (the lab answers the first item only, like Windows) and the Get ride on it
    log = lab.requests("tls")
    assert [(r["auth"], r["status"], r["action"].rsplit("/", 1)[-1]) for r in log[-4:]] == [
        ("ntlm-negotiate", 401, ""), ("ntlm-authenticate", 200, "Enumerate"), ("none", 200, "Pull"), ("none", 200, "Get")]


def test_lab_basic_over_https(lab):
    with lab_client(lab, "tls", winrm_scheme="https", winrm_port=lab.https_port, winrm_ca_trust_path=lab.ca_path,
                    winrm_transport="basic") as client:
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["Name"] == "SMTPSVC"


def test_lab_tls_failure_names_host_and_ca(lab):
    other_ca = certifi.where()  # public CAs only: the lab's certificate is not signed by any of them
    with lab_client(lab, "tls", winrm_scheme="https", winrm_port=lab.https_port, winrm_ca_trust_path=str(other_ca)) as client:
        with pytest.raises(TLSFailure) as caught:
            client.enumerate("root/cimv2", "SELECT Name FROM Win32_Service")
    text = str(caught.value)
    assert "TLS certificate verification of %s:%d failed using CA path %s" % (client.host, lab.https_port, other_ca) in text


def test_lab_wrong_password(lab):
    with lab_client(lab, "plain", winrm_password="Wr0ng-Secret") as client:
        with pytest.raises(AuthenticationFailure) as caught:
            client.enumerate("root/cimv2", "SELECT Name FROM Win32_Service")
    assert "user 'LAB\\ansible' was rejected by %s:" % client.host in str(caught.value)
    assert "Wr0ng-Secret" not in str(caught.value)


def test_lab_reset_and_internal_error_are_retried(lab):
    with lab_client(lab, "flaky") as client:
        services = client.enumerate("root/cimv2", "SELECT Name FROM Win32_Service WHERE Name = 'SMTPSVC'")
        assert [s["Name"] for s in services] == ["SMTPSVC"]
        assert client.request_count == 3  # dropped, InternalError, success


def test_lab_access_denied_class(lab):
    with lab_client(lab, "denied") as client:
        with pytest.raises(WSManFault) as caught:
            client.enumerate("root/cimv2", "SELECT * FROM Win32_NTLogEvent WHERE Logfile = 'Application'")
        assert caught.value.is_access_denied
        assert client.enumerate("root/cimv2", "SELECT Name FROM Win32_Service WHERE Name = 'SMTPSVC'")[0]["Name"] == "SMTPSVC"


def test_lab_missing_namespace(lab):
    with lab_client(lab, "oldos") as client:
        with pytest.raises(WSManFault) as caught:
            client.enumerate("root/StandardCimv2", "SELECT * FROM MSFT_NetTCPConnection WHERE LocalPort = 25")
    assert caught.value.is_invalid_namespace and caught.value.is_not_found
