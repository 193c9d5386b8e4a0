# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After the host closed an idle connection: one fresh authentication and one resend of a message it refused unread."""

from __future__ import annotations

import types

import pytest
import requests
import urllib3
import winrm.exceptions

from ansible_collections.mailops.port25.plugins.module_utils import connection, service_control as sc, wsman
from ansible_collections.mailops.port25.plugins.module_utils.errors import ConnectionFailure, Port25Error, ServiceControlError

from ansible_collections.mailops.port25.tests.captures import read_capture
from ansible_collections.mailops.port25.tests.unit.conftest import FakeProtocol
from ansible_collections.mailops.port25.tests.unit.test_service_control import FakeClock, kb_host

SERVICES_2003 = "txwinrm_server_2003_Win32_Service_star_000.xml"
INVOKE = "winrb_winrm_2013_spec_mock_invoke_1.xml"


def empty_400():
    return winrm.exceptions.WinRMTransportError("http", 400, "")


def stale():
    return connection.StaleAuthentication()


def reset_error():
    inner = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    return requests.exceptions.ConnectionError(inner)


def client_with(settings, answers):
    protocol = FakeProtocol(answers)
    client = wsman.WSManClient(settings(), protocol=protocol)
    client.retry_delays = (0, 0)
    return client, protocol


@pytest.mark.parametrize("refusal", [empty_400, stale], ids=["empty 400", "401 on a sealed session"])
def test_read_sent_again_after_fresh_authentication(settings, refusal):
    client, protocol = client_with(settings, [refusal(), read_capture(SERVICES_2003)])
    assert len(client.enumerate("root/cimv2", "select * from Win32_Service")) == 104
    assert len(protocol.sent) == 2 and protocol.sent[0] == protocol.sent[1]
    assert protocol.closed == 1   # the old session is dropped: the resend authenticates a new connection


@pytest.mark.parametrize("refusal", [empty_400, stale], ids=["empty 400", "401 on a sealed session"])
def test_method_call_refused_unread_is_sent_once_more(settings, refusal):
    client, protocol = client_with(settings, [refusal(), read_capture(INVOKE)])
    assert client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"}) == {"ReturnValue": "0"}
    assert len(protocol.sent) == 2 and protocol.closed == 1


def test_only_one_fresh_authentication(settings):
    client, protocol = client_with(settings, [empty_400(), empty_400(), read_capture(INVOKE)])
    with pytest.raises(Port25Error) as caught:
        client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
    assert not isinstance(caught.value, ConnectionFailure)   # service_control must not take it for "no answer"
    assert str(caught.value) == (
        "mail01.example.test: invoke Win32_Service.StopService: mail01.example.test:5985 no longer accepted this "
        "connection's authentication (it closes idle connections): the request was refused unread, again after a fresh "
        "authentication; nothing was processed")
    assert len(protocol.sent) == 2


def test_reset_after_a_method_call_is_not_repeated(settings):
    client, protocol = client_with(settings, [reset_error(), read_capture(INVOKE)])
    with pytest.raises(ConnectionFailure) as caught:
        client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
    assert not getattr(caught.value, "unprocessed", False)
    assert len(protocol.sent) == 1


def test_fresh_authentication_then_the_usual_read_retries(settings):
    client, protocol = client_with(settings, [empty_400(), reset_error(), read_capture(SERVICES_2003)])
    assert len(client.enumerate("root/cimv2", "select * from Win32_Service")) == 104
    assert len(protocol.sent) == 3


def test_400_with_a_body_is_not_taken_for_an_idle_close(settings):
    client, protocol = client_with(settings, [winrm.exceptions.WinRMTransportError("http", 400, "Bad Request (Invalid Verb)"),
                                              read_capture(INVOKE)])
    with pytest.raises(Port25Error, match=r"unexpected HTTP 400 from mail01.example.test:5985$"):
        client.invoke("root/cimv2", "Win32_Service", "StopService", {"Name": "SMTPSVC"})
    assert len(protocol.sent) == 1


# ------------------------------------------------------------------------------------------- the NTLM hook

def response(status, content_type):
    request = types.SimpleNamespace(headers={"Content-Type": content_type})
    return types.SimpleNamespace(status_code=status, request=request, headers={}, close=lambda: None)


def authenticated(settings):
    auth = connection.PreemptiveNtlmAuth("EXAMPLE\\ops", "S3cret!pass")
    auth.session_security = object()
    auth.response_hook = lambda r, **kwargs: ("library handshake", r.status_code)
    return auth


def test_401_on_a_sealed_session_raises_stale_authentication(settings):
    with pytest.raises(connection.StaleAuthentication):
        authenticated(settings)._answer(response(401, 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted"'))


@pytest.mark.parametrize("status,ctype", [(401, "application/soap+xml;charset=UTF-8"), (200, "multipart/encrypted")])
def test_other_answers_go_to_the_library(settings, status, ctype):
    # An unsealed body (NTLM over HTTPS) may be resent as it is: the library's own handshake does that.
    assert authenticated(settings)._answer(response(status, ctype)) == ("library handshake", status)


# ------------------------------------------------------------------------------------------- what the caller records

def test_refused_unread_twice_is_a_plain_failure_not_an_accepted_call():
    """Proven not processed: service_control does not take it for 'no answer' (which would re-read and may record)."""
    scm = kb_host()
    scm.raises["StopService"] = Port25Error("refused unread, again after a fresh authentication; nothing was processed",
                                            host="mail01", operation="invoke Win32_Service.StopService")
    with pytest.raises(Port25Error) as caught:
        sc.stop(scm, "SMTPSVC", FakeClock().deadline(60))
    assert not isinstance(caught.value, (ServiceControlError, ConnectionFailure))
    assert [call[0] for call in scm.calls] == ["StopService"]
    assert scm.services["smtpsvc"]["State"] == "Running"
