# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options, validation, inventory mapping, the Protocol factory and error mapping."""

from __future__ import annotations

import http.client
import http.server
import socket
import threading

import pytest
import requests
import urllib3
import winrm.exceptions
import yaml
import winrm.transport
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mailops.port25.plugins.doc_fragments.winrm import ModuleDocFragment
from ansible_collections.mailops.port25.plugins.module_utils import connection
from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    AuthenticationFailure, ConnectionFailure, InvalidOption, Port25Error, TLSFailure, WSManFault)

from ansible_collections.mailops.port25.tests.captures import read_capture

PASSWORD = "S3cret!pass"
BASE = {"winrm_host": "mail01.example.test", "winrm_user": "EXAMPLE\\ops", "winrm_password": PASSWORD}


def params(**overrides):
    result = dict(BASE)
    result.update(overrides)
    return result


# ------------------------------------------------------------------------------------------- argspec

def test_argspec_names_env_fallbacks_and_no_log():
    spec = connection.WINRM_ARGSPEC
    assert sorted(spec) == sorted([
        "winrm_host", "winrm_port", "winrm_scheme", "winrm_path", "winrm_transport", "winrm_user", "winrm_password",
        "winrm_cert_validation", "winrm_ca_trust_path", "winrm_cert_pem", "winrm_cert_key_pem", "winrm_message_encryption",
        "winrm_operation_timeout", "winrm_read_timeout", "winrm_allow_basic_over_http", "winrm_kerberos_hostname_override",
        "winrm_kerberos_delegation", "winrm_kinit_mode"])
    for name, option in spec.items():
        assert option["fallback"][1] == ["MAILOPS_WINRM_" + name[len("winrm_"):].upper()]
    assert spec["winrm_password"]["no_log"] is True
    assert spec["winrm_cert_key_pem"]["no_log"] is False
    assert spec["winrm_transport"]["choices"] == ["ntlm", "kerberos", "credssp", "basic", "certificate"]
    assert (spec["winrm_cert_validation"]["default"], spec["winrm_operation_timeout"]["default"],
            spec["winrm_read_timeout"]["default"], spec["winrm_allow_basic_over_http"]["default"]) == ("validate", 20, 30, False)


def test_env_fallback_applies_only_to_unset(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "from-env")
    monkeypatch.setenv("MAILOPS_WINRM_PASSWORD", "env-password")
    monkeypatch.setenv("MAILOPS_WINRM_OPERATION_TIMEOUT", "40")
    monkeypatch.setenv("MAILOPS_WINRM_READ_TIMEOUT", "50")
    result = ArgumentSpecValidator(connection.WINRM_ARGSPEC).validate({"winrm_host": "from-task", "winrm_user": "u"})
    assert not result.error_messages
    values = result.validated_parameters
    assert (values["winrm_host"], values["winrm_password"], values["winrm_operation_timeout"], values["winrm_read_timeout"]) == \
        ("from-task", "env-password", 40, 50)
    assert "env-password" in result._no_log_values  # pylint: disable=protected-access


def test_host_is_required_without_env(monkeypatch):
    monkeypatch.delenv("MAILOPS_WINRM_HOST", raising=False)
    result = ArgumentSpecValidator(connection.WINRM_ARGSPEC).validate({})
    assert result.error_messages == ["missing required arguments: winrm_host"]


# ------------------------------------------------------------------------------------------- settings

@pytest.mark.parametrize("given,scheme,port,endpoint", [
    ({}, "https", 5986, "https://mail01.example.test:5986/wsman"),
    ({"winrm_port": 5985}, "http", 5985, "http://mail01.example.test:5985/wsman"),
    ({"winrm_port": 5986}, "https", 5986, "https://mail01.example.test:5986/wsman"),
    ({"winrm_scheme": "http"}, "http", 5985, "http://mail01.example.test:5985/wsman"),
    ({"winrm_port": 40000}, "https", 40000, "https://mail01.example.test:40000/wsman"),
    ({"winrm_scheme": "http", "winrm_port": 40000, "winrm_path": "/custom"}, "http", 40000, "http://mail01.example.test:40000/custom"),
    ({"winrm_host": "::1", "winrm_port": 5985}, "http", 5985, "http://[::1]:5985/wsman"),
    ({"winrm_host": "[fe80::1]", "winrm_scheme": "https"}, "https", 5986, "https://[fe80::1]:5986/wsman"),
    ({"winrm_host": "127.0.0.7", "winrm_port": "5985"}, "http", 5985, "http://127.0.0.7:5985/wsman"),
])
def test_scheme_port_and_endpoint(given, scheme, port, endpoint):
    settings = connection.settings_from_params(params(**given))
    assert (settings.scheme, settings.port, settings.endpoint) == (scheme, port, endpoint)


@pytest.mark.parametrize("given,message", [
    ({"winrm_host": ""}, "winrm_host is required"),
    ({"winrm_host": "mail 01"}, "is not a host name"),
    ({"winrm_host": "http://mail01/"}, "is not a host name"),
    ({"winrm_port": 0}, "between 1 and 65535"),
    ({"winrm_port": 70000}, "between 1 and 65535"),
    ({"winrm_port": "x"}, "winrm_port must be an integer"),
    ({"winrm_scheme": "ftp"}, "winrm_scheme must be http or https"),
    ({"winrm_transport": "negotiate"}, "winrm_transport 'negotiate' is not supported"),
    ({"winrm_path": "wsman"}, "winrm_path must be an absolute URL path"),
    ({"winrm_cert_validation": "no"}, "winrm_cert_validation must be validate or ignore"),
    ({"winrm_message_encryption": "sometimes"}, "winrm_message_encryption must be"),
    ({"winrm_operation_timeout": 0}, "at least 1 second"),
    ({"winrm_operation_timeout": 30, "winrm_read_timeout": 30}, "winrm_read_timeout (30) must be greater than winrm_operation_timeout (30)"),
    ({"winrm_user": None}, "winrm_user is required for winrm_transport=ntlm"),
    ({"winrm_password": None}, "winrm_password is required for winrm_transport=ntlm"),
    ({"winrm_transport": "basic", "winrm_port": 5985}, "Basic authentication over plain HTTP"),
    ({"winrm_transport": "basic", "winrm_scheme": "http", "winrm_port": 8080}, "winrm_allow_basic_over_http=true"),
    ({"winrm_transport": "certificate"}, "needs both winrm_cert_pem and winrm_cert_key_pem"),
    ({"winrm_transport": "certificate", "winrm_scheme": "http"}, "needs HTTPS"),
    ({"winrm_transport": "certificate", "winrm_cert_pem": "/nonexistent/c.pem", "winrm_cert_key_pem": "/nonexistent/k.pem"},
     "winrm_cert_pem: file not found: /nonexistent/c.pem"),
    ({"winrm_transport": "basic", "winrm_message_encryption": "always"}, "not possible with winrm_transport=basic"),
    ({"winrm_ca_trust_path": "/nonexistent/ca.pem"}, "winrm_ca_trust_path: file or directory not found"),
])
def test_invalid_settings(given, message):
    with pytest.raises(InvalidOption) as caught:
        connection.settings_from_params(params(**given))
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_basic_over_http_allowed_explicitly():
    settings = connection.settings_from_params(params(winrm_transport="basic", winrm_port=5985, winrm_allow_basic_over_http=True))
    assert (settings.transport, settings.scheme) == ("basic", "http")


def test_basic_over_https_is_fine():
    assert connection.settings_from_params(params(winrm_transport="basic")).scheme == "https"


def certificate_settings(tmp_path):
    """Settings of host h with winrm_transport=certificate (placeholder files), and the two paths."""
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x", encoding="utf-8")
    key.write_text("y", encoding="utf-8")
    settings = connection.settings_from_params({"winrm_host": "h", "winrm_transport": "certificate",
                                                "winrm_cert_pem": str(cert), "winrm_cert_key_pem": str(key)})
    return settings, cert, key


def test_certificate_transport(tmp_path):
    settings, cert, key = certificate_settings(tmp_path)
    assert (settings.transport, settings.cert_pem, settings.cert_key_pem, settings.user) == ("certificate", str(cert), str(key), None)


def test_kerberos_needs_no_password():
    assert connection.settings_from_params({"winrm_host": "h", "winrm_transport": "kerberos"}).transport == "kerberos"


def test_repr_hides_password():
    settings = connection.settings_from_params(params())
    assert PASSWORD not in repr(settings)
    assert "password='********'" in repr(settings)


# ------------------------------------------------------------------------------------------- inventory

def test_options_from_inventory_full():
    host_vars = {
        "inventory_hostname": "mail01", "ansible_host": "10.0.0.5", "ansible_port": 5986, "ansible_user": "ops",
        "ansible_password": "pw", "ansible_winrm_transport": ["kerberos", "ntlm"], "ansible_winrm_scheme": "https",
        "ansible_winrm_path": "/wsman2", "ansible_winrm_server_cert_validation": "ignore",
        "ansible_winrm_ca_trust_path": "/etc/ca.pem", "ansible_winrm_cert_pem": "/c.pem", "ansible_winrm_cert_key_pem": "/k.pem",
        "ansible_winrm_message_encryption": "always", "ansible_winrm_operation_timeout_sec": 25,
        "ansible_winrm_read_timeout_sec": 35, "unrelated": "x",
    }
    assert connection.options_from_inventory(host_vars) == {
        "winrm_host": "10.0.0.5", "winrm_port": 5986, "winrm_user": "ops", "winrm_password": "pw", "winrm_transport": "kerberos",
        "winrm_scheme": "https", "winrm_path": "/wsman2", "winrm_cert_validation": "ignore", "winrm_ca_trust_path": "/etc/ca.pem",
        "winrm_cert_pem": "/c.pem", "winrm_cert_key_pem": "/k.pem", "winrm_message_encryption": "always",
        "winrm_operation_timeout": 25, "winrm_read_timeout": 35,
    }


def test_options_from_inventory_minimal_and_fallbacks():
    assert connection.options_from_inventory({"inventory_hostname": "mail02"}) == {"winrm_host": "mail02"}
    assert connection.options_from_inventory({"inventory_hostname": "m", "ansible_winrm_password": "p", "ansible_user": "u"}) == \
        {"winrm_host": "m", "winrm_user": "u", "winrm_password": "p"}


def test_options_from_psrp_inventory():
    host_vars = {"inventory_hostname": "m", "ansible_psrp_auth": "negotiate", "ansible_psrp_protocol": "http", "ansible_port": 5985,
                 "ansible_user": "u", "ansible_password": "p", "ansible_psrp_cert_validation": "ignore", "ansible_psrp_path": "/x",
                 "ansible_psrp_ca_path": "/ca", "ansible_psrp_message_encryption": "never", "ansible_psrp_operation_timeout": 9,
                 "ansible_psrp_read_timeout": 12}
    assert connection.options_from_inventory(host_vars) == {
        "winrm_host": "m", "winrm_port": 5985, "winrm_user": "u", "winrm_password": "p", "winrm_transport": "ntlm",
        "winrm_scheme": "http", "winrm_path": "/x", "winrm_cert_validation": "ignore", "winrm_ca_trust_path": "/ca",
        "winrm_message_encryption": "never", "winrm_operation_timeout": 9, "winrm_read_timeout": 12}


@pytest.mark.parametrize("value,expected", [
    ("ntlm", "ntlm"), ("kerberos,ntlm", "kerberos"), ("plaintext, ntlm", "ntlm"), (["credssp"], "credssp"),
    ("ssl", "basic"), ("BASIC", "basic"), ("foo,bar", "foo"), ("negotiate", "ntlm"), ("plaintext", "basic"),
])
def test_inventory_transport_first_supported(value, expected):
    assert connection.options_from_inventory({"inventory_hostname": "h", "ansible_winrm_transport": value})["winrm_transport"] == expected


def test_settings_from_inventory_alias():
    assert connection.settings_from_inventory is connection.options_from_inventory


# ------------------------------------------------------------------------------------------- Protocol factory

def test_create_protocol_maps_settings():
    settings = connection.settings_from_params(params(winrm_port=5985, winrm_operation_timeout=25, winrm_read_timeout=35))
    protocol = connection.create_protocol(settings)
    transport = protocol.transport
    assert transport.endpoint == "http://mail01.example.test:5985/wsman"
    assert (transport.auth_method, transport.username, transport.password) == ("ntlm", "EXAMPLE\\ops", PASSWORD)
    assert (protocol.operation_timeout_sec, protocol.read_timeout_sec) == (25, 35)
    assert (transport.server_cert_validation, transport.message_encryption, transport.proxy) == ("validate", "auto", None)
    assert transport.session is None  # the session is built on first use and then reused


def test_ntlm_uses_preemptive_negotiate_other_transports_do_not():
    ntlm = connection.create_protocol(connection.settings_from_params(params()))  # HTTPS: no blank encryption setup message
    session = ntlm.transport.build_session()
    assert type(session.auth) is connection.PreemptiveNtlmAuth  # pylint: disable=unidiomatic-typecheck
    assert (session.auth.username, session.auth.password) == ("EXAMPLE\\ops", PASSWORD)
    assert session.trust_env is False
    basic = connection.create_protocol(connection.settings_from_params(params(winrm_transport="basic")))
    session = basic.transport.build_session()
    assert type(session.auth) is requests.auth.HTTPBasicAuth  # pylint: disable=unidiomatic-typecheck
    assert session.trust_env is False


def test_create_protocol_ipv6_endpoint():
    protocol = connection.create_protocol(connection.settings_from_params(params(winrm_host="::1", winrm_port=5985)))
    assert protocol.transport.endpoint == "http://[::1]:5985/wsman"


# ------------------------------------------------------------------------------------------- error mapping

@pytest.fixture
def settings():
    return connection.settings_from_params(params(winrm_port=5986, winrm_ca_trust_path=None))


def test_ssl_error_is_tls_failure(settings):
    exc = requests.exceptions.SSLError(urllib3.exceptions.SSLError("certificate verify failed: self-signed certificate"))
    error = connection.map_error(exc, settings, "enumerate Win32_Service")
    assert isinstance(error, TLSFailure)
    assert str(error).startswith("mail01.example.test: enumerate Win32_Service: TLS certificate verification of mail01.example.test:5986 failed")
    assert "certificate verify failed" in str(error)


def test_ssl_error_names_ca_path(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x", encoding="utf-8")
    settings = connection.settings_from_params(params(winrm_ca_trust_path=str(ca)))
    error = connection.map_error(requests.exceptions.SSLError("bad"), settings, "op")
    assert "CA path %s" % ca in str(error)


def test_connection_errors(settings):
    refused = requests.exceptions.ConnectionError(urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused"))
    error = connection.map_error(refused, settings, "enumerate")
    assert isinstance(error, ConnectionFailure) and not error.transient
    assert "cannot reach mail01.example.test:5986 (" in str(error) and "Connection refused" in str(error)
    timeout = connection.map_error(requests.exceptions.ConnectTimeout("x"), settings, "enumerate")
    assert isinstance(timeout, ConnectionFailure)
    assert str(timeout) == "mail01.example.test: enumerate: cannot reach mail01.example.test:5986 (connection timed out after 30s)"
    read = connection.map_error(requests.exceptions.ReadTimeout("x"), settings, "enumerate")
    assert str(read) == "mail01.example.test: enumerate: cannot reach mail01.example.test:5986 (no answer within 30s)"


def test_connection_reset_is_transient(settings):
    inner = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    error = connection.map_error(requests.exceptions.ConnectionError(inner), settings, "enumerate")
    assert isinstance(error, ConnectionFailure) and error.transient
    inner = urllib3.exceptions.ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
    assert connection.map_error(requests.exceptions.ConnectionError(inner), settings, "x").transient


def test_auth_error_names_user_and_host_never_password(settings):
    error = connection.map_error(winrm.exceptions.InvalidCredentialsError("the specified credentials were rejected"), settings, "enumerate")
    assert isinstance(error, AuthenticationFailure)
    assert str(error) == ("mail01.example.test: enumerate: user 'EXAMPLE\\ops' was rejected by mail01.example.test:5986 (HTTP 401): "
                          "check the user name and password, and that transport ntlm is enabled on the listener")
    assert PASSWORD not in str(error)


def test_certificate_and_credssp_refusals_say_what_was_refused(tmp_path):
    from requests_credssp.exceptions import AuthenticationException, NTStatusException

    by_cert, cert, _key = certificate_settings(tmp_path)
    error = connection.map_error(winrm.exceptions.InvalidCredentialsError("rejected"), by_cert, "get")
    assert str(error).startswith("h: get: h:5986 answered HTTP 401: it does not accept the client certificate %s;" % cert)
    closed = requests.exceptions.ConnectionError(http.client.RemoteDisconnected("Remote end closed connection without response"))
    assert "h:5986 closed the TLS connection (Remote end closed" in str(connection.map_error(closed, by_cert, "get"))
    credssp = connection.settings_from_params(params(winrm_transport="credssp"))
    error = connection.map_error(NTStatusException(0x8009030C), credssp, "get")
    assert isinstance(error, AuthenticationFailure)
    assert "refused user 'EXAMPLE\\ops' (CredSSP: wrong user name or password)" in str(error) and PASSWORD not in str(error)
    error = connection.map_error(AuthenticationException("The server did not response CredSSP being an available authentication "
                                                         "method"), credssp, "get")
    assert "is CredSSP enabled on the host's WinRM service?" in str(error)


def test_wsman_fault_error_parsed(settings):
    body = read_capture("winrb_winrm_2013_spec_mock_wsman_fault.xml").decode("utf-8")
    exc = winrm.exceptions.WSManFaultError(500, "Bad HTTP response", body, "reason")
    error = connection.map_error(exc, settings, "enumerate Win32_Processa")
    assert isinstance(error, WSManFault)
    assert (error.wsman_code, error.fault_code, error.host) == (2150858778, "n:CannotProcessFilter", "mail01.example.test")


def test_wsman_fault_error_with_unreadable_body_names_host_and_operation(settings):
    body = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    error = connection.map_error(winrm.exceptions.WSManFaultError(500, "Bad HTTP response", body, "reason"), settings, "enumerate")
    assert isinstance(error, Port25Error) and not isinstance(error, (WSManFault, ConnectionFailure, AuthenticationFailure))
    assert (error.host, error.operation) == ("mail01.example.test", "enumerate")
    assert str(error).startswith("mail01.example.test: enumerate: HTTP 500 from mail01.example.test:5986")


def test_transport_error_with_fault_body(settings):
    body = read_capture("omi_wsmanparser_get_notfound_fault_win2012r2.xml").decode("utf-8")
    error = connection.map_error(winrm.exceptions.WinRMTransportError("http", 500, body), settings, "get")
    assert isinstance(error, WSManFault) and error.is_not_found


def test_transport_error_without_fault(settings):
    error = connection.map_error(winrm.exceptions.WinRMTransportError("http", 503, "<html>busy</html>"), settings, "get")
    assert isinstance(error, Port25Error) and not isinstance(error, (WSManFault, ConnectionFailure, AuthenticationFailure))
    assert str(error) == "mail01.example.test: get: unexpected HTTP 503 from mail01.example.test:5986"


def test_operation_timeout_error(settings):
    error = connection.map_error(winrm.exceptions.WinRMOperationTimeoutError(), settings, "enumerate")
    assert isinstance(error, WSManFault) and error.is_timed_out and error.wsman_code == 2150858793


def test_password_scrubbed_from_library_messages(settings):
    for exc in (winrm.exceptions.WinRMError("failed with password %s" % PASSWORD), ValueError("oops " + PASSWORD),
                requests.exceptions.ConnectionError("conn " + PASSWORD)):
        error = connection.map_error(exc, settings, "op")
        assert PASSWORD not in str(error)
        assert "********" in str(error)


# ------------------------------------------------------------------------------------------- real HTTP, loopback only

def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 401
    body = b""
    headers_out = {}

    def do_POST(self):  # noqa: N802 (http.server naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        self.send_response(self.status)
        for key, value in self.headers_out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def http_server():
    servers = []

    def start(status, body=b"", headers=None):
        handler = type("H", (_Handler,), {"status": status, "body": body, "headers_out": headers or {}})
        server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server.server_address[1]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _send(settings):
    protocol = connection.create_protocol(settings)
    try:
        protocol.send_message("<x/>")
    except Exception as exc:  # mapped below, as WSManClient does
        return connection.map_error(exc, settings, "enumerate")
    raise AssertionError("expected an error")


def test_real_refused_connection():
    port = _closed_port()
    settings = connection.settings_from_params(params(winrm_host="127.0.0.1", winrm_port=port, winrm_scheme="http", winrm_read_timeout=5,
                                                      winrm_operation_timeout=3))
    error = _send(settings)
    assert isinstance(error, ConnectionFailure)
    assert str(error).startswith("127.0.0.1: enumerate: cannot reach 127.0.0.1:%d (" % port)


def test_real_401_basic(http_server):
    port = http_server(401, headers={"WWW-Authenticate": "Basic realm=\"WSMAN\""})
    settings = connection.settings_from_params(params(winrm_host="127.0.0.1", winrm_port=port, winrm_scheme="http",
                                                      winrm_transport="basic", winrm_allow_basic_over_http=True))
    error = _send(settings)
    assert isinstance(error, AuthenticationFailure)
    assert "user 'EXAMPLE\\ops' was rejected by 127.0.0.1:%d" % port in str(error)
    assert PASSWORD not in str(error)


def test_real_500_fault(http_server):
    port = http_server(500, read_capture("txwinrm_data_error_max_concurrent.xml"), {"Content-Type": "application/soap+xml;charset=UTF-8"})
    settings = connection.settings_from_params(params(winrm_host="127.0.0.1", winrm_port=port, winrm_scheme="http",
                                                      winrm_transport="basic", winrm_allow_basic_over_http=True))
    error = _send(settings)
    assert isinstance(error, WSManFault)
    assert (error.wsman_code, error.fault_code, error.is_internal_error) == (2150859174, "w:InternalError", True)


def test_doc_fragment_mirrors_the_argspec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert list(documented) == list(connection.WINRM_ARGSPEC)
    for name, spec in connection.WINRM_ARGSPEC.items():
        doc = documented[name]
        assert doc["type"] == spec["type"], name
        assert doc.get("default") == spec.get("default"), name
        assert doc.get("choices") == spec.get("choices"), name
        assert bool(doc.get("required")) == bool(spec.get("required")), name
        assert "E(%s)" % spec["fallback"][1][0] in " ".join(doc["description"]), name


def test_doc_fragment_names_every_inventory_variable():
    from ansible_collections.mailops.port25.plugins.doc_fragments.winrm import ModuleDocFragment

    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    for option, names in connection.INVENTORY_VARIABLES:
        text = " ".join(options[option]["description"])
        for name in names:
            if name != "inventory_hostname":
                assert "C(%s)" % name in text or "V(%s)" % name in text, (option, name)
