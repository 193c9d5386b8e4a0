# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host that pages forever or sends huge answers is stopped with a clear error, and memory stays bounded."""

from __future__ import annotations

import http.server
import inspect
import threading
import tracemalloc

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, wsman
from ansible_collections.mailops.port25.plugins.module_utils.errors import ProtocolError

from ansible_collections.mailops.port25.tests.captures import read_capture
from ansible_collections.mailops.port25.tests.unit.conftest import FakeProtocol

# A real Server 2012 Pull answer (50 services, with a context): a hostile host can send it again and again.
PAGE = read_capture("txwinrm_server_2012_Win32_Service_star_001.xml")
RELEASE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"


def hostile_page(filler=0):
    """An EnumerateResponse/PullResponse that never ends: one process item with ``filler`` bytes of name."""
    return ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">'
            '<s:Body><n:PullResponse><n:EnumerationContext>uuid:1</n:EnumerationContext><n:Items>'
            '<p:Win32_Process xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process">'
            '<p:Name>%s</p:Name></p:Win32_Process></n:Items></n:PullResponse></s:Body></s:Envelope>' % ("x" * filler)).encode()


class Endless(FakeProtocol):
    """Answers every Enumerate/Pull with ``page``, and Release with an empty body; counts what it sent."""

    def __init__(self, page):
        super(Endless, self).__init__()
        self.page = page

    def send_message(self, message):
        self.answers = [b"" if RELEASE in (message if isinstance(message, str) else message.decode()) else self.page]
        return super(Endless, self).send_message(message)


def test_defaults_are_the_documented_constants():
    params = inspect.signature(wsman.WSManClient.enumerate).parameters
    assert params["byte_budget"].default == wsman.ENUMERATION_BYTE_BUDGET == 32 * 1024 * 1024
    assert params["max_pages"].default == wsman.MAX_PAGES == 2000
    assert connection.MAX_RESPONSE_BYTES == 4 * wsman.MAX_ENVELOPE_SIZE


def test_byte_budget_stops_endless_paging_and_releases(settings):
    protocol = Endless(PAGE)
    client = wsman.WSManClient(settings(), protocol=protocol)
    with pytest.raises(ProtocolError) as caught:
        client.enumerate("root/cimv2", "SELECT * FROM Win32_Service", byte_budget=10 * len(PAGE))
    pages = 11   # ten pages fit the budget, the eleventh exceeds it
    assert str(caught.value) == (
        "mail01.example.test: enumerate Win32_Service (root/cimv2): the answer for Win32_Service exceeded the enumeration "
        "budget of %d bytes (%d bytes in %d pages); a real host never sends this much, so the host is broken or hostile: "
        "gave up" % (10 * len(PAGE), pages * len(PAGE), pages))
    actions = [m.split("<a:Action s:mustUnderstand=\"true\">")[1].split("<")[0].rpartition("/")[2] for m in protocol.sent]
    assert actions == ["Enumerate"] + ["Pull"] * (pages - 1) + ["Release"]


def test_page_limit_stops_tiny_pages(settings):
    protocol = Endless(hostile_page())
    client = wsman.WSManClient(settings(), protocol=protocol)
    with pytest.raises(ProtocolError) as caught:
        client.enumerate("root/cimv2", "SELECT Name FROM Win32_Process", max_pages=25)
    assert str(caught.value) == (
        "mail01.example.test: enumerate Win32_Process (root/cimv2): the answer for Win32_Process exceeded the limit of "
        "25 pages (%d bytes so far); a real host never pages this long, so the host is broken or hostile: gave up"
        % (25 * len(hostile_page())))
    assert len(protocol.sent) == 26 and RELEASE in protocol.sent[-1]


def test_last_page_over_budget_is_refused_too(settings):
    client = wsman.WSManClient(settings(), protocol=FakeProtocol([PAGE, read_capture("txwinrm_server_2012_Win32_Service_star_003.xml")]))
    with pytest.raises(ProtocolError, match=r"exceeded the enumeration budget of 80000 bytes \(\d+ bytes in 2 pages\)"):
        client.enumerate("root/cimv2", "SELECT * FROM Win32_Service", byte_budget=80000)


def test_real_answer_within_default_budget(settings):
    pages = [read_capture("txwinrm_server_2012_Win32_Service_star_%03d.xml" % i) for i in range(4)]
    client = wsman.WSManClient(settings(), protocol=FakeProtocol(pages))
    assert len(client.enumerate("root/cimv2", "SELECT * FROM Win32_Service")) == 131


# --------------------------------------------------------------------------------------- a hostile HTTP endpoint

class HostileHandler(http.server.BaseHTTPRequestHandler):
    """Basic-auth WinRM stand-in: every POST is answered with ``server.page`` (or an oversized body)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # pylint: disable=invalid-name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        mode = self.server.mode
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        if mode == "huge-declared":
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"<" * 65536)   # and then it stalls: the client must not wait for the rest
            return
        if mode == "huge-chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while self.server.sent < 100 * 1024 * 1024:   # 100 MB if nobody stops reading
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.server.sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        self.send_header("Content-Length", str(len(self.server.page)))
        self.end_headers()
        self.wfile.write(self.server.page)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture(name="hostile")
def _hostile():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    server.handle_error = lambda *args: None   # the client hangs up on purpose
    server.requests, server.sent, server.mode, server.page = 0, 0, "pages", hostile_page(400000)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def hostile_client(server):
    settings = connection.settings_from_params({
        "winrm_host": "127.0.0.1", "winrm_port": server.server_address[1], "winrm_scheme": "http", "winrm_transport": "basic",
        "winrm_allow_basic_over_http": True, "winrm_user": "ops", "winrm_password": "S3cret!pass",
        "winrm_operation_timeout": 2, "winrm_read_timeout": 5})
    client = wsman.WSManClient(settings)
    client.retry_delays = (0, 0)
    return client


def test_endless_big_pages_over_http_stop_at_the_budget_with_bounded_memory(hostile):
    client = hostile_client(hostile)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError) as caught:
            client.enumerate("root/cimv2", "SELECT Name FROM Win32_Process")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        client.close()
    pages = wsman.ENUMERATION_BYTE_BUDGET // len(hostile.page) + 1
    assert str(caught.value).startswith(
        "127.0.0.1: enumerate Win32_Process (root/cimv2): the answer for Win32_Process exceeded the enumeration budget of "
        "33554432 bytes (%d bytes in %d pages)" % (pages * len(hostile.page), pages))
    assert hostile.requests == pages + 1   # and the Release
    # What was kept (the items) is about the budget; the parser's transient copies come on top, but not per page.
    assert peak < 3 * wsman.ENUMERATION_BYTE_BUDGET, peak


@pytest.mark.parametrize("mode,declared", [("huge-declared", str(50 * 1024 * 1024)), ("huge-chunked", "not given")])
def test_one_huge_answer_is_cut_off(hostile, mode, declared):
    hostile.mode = mode
    client = hostile_client(hostile)
    with pytest.raises(ProtocolError) as caught:
        client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})
    client.close()
    assert str(caught.value) == (
        "127.0.0.1: get Win32_Service: an answer from 127.0.0.1:%d is bigger than 2048000 bytes (HTTP 200, Content-Length %s); "
        "WS-Management answers are at most the MaxEnvelopeSize the client asks for: refused before reading it all"
        % (hostile.server_address[1], declared))
    assert hostile.requests == 1   # a read is retried on resets and internal errors only, not on this
    assert hostile.sent < 20 * 1024 * 1024
