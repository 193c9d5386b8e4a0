# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SMTP greeting check: whose software a greeting names, the wire check against real loopback sockets (greeting,
multi-line, refusal, silence, garbage, QUIT and nothing else), its bounded waits, and the findings it gives."""
from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import errors, smtp_greeting as sg

IMS = '220 EX55.example.com ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready'
IIS = '220 PROXY.example.com Microsoft ESMTP MAIL Service, Version: 5.0.2195.6713 ready at  Mon, 1 Dec 2026 10:00:00 +0000'
EX2019 = '220 EX2019.example.com Microsoft ESMTP MAIL Service ready at Mon, 1 Dec 2026 10:00:00 +0000'
AV = '220 mail.example.com ESMTP TrendMicro InterScan Messaging Security Suite ready'


@pytest.mark.parametrize('text, software', [
    (IMS[4:], 'exchange55_ims'),
    ('host ESMTP Server (Microsoft Exchange Internet Mail Connector 4.0.837.0) ready', 'exchange55_ims'),
    (IIS[4:], 'iis_smtp'),
    (EX2019[4:], 'exchange_transport'),
    (AV[4:], 'other'),
    ('', None),
    (None, None),
])
def test_software_of(text, software):
    assert sg.software_of(text) == software


@pytest.mark.parametrize('service, software', [
    ('MSExchangeIMC', 'exchange55_ims'), ('smtpsvc', 'iis_smtp'), ('MSExchangeFrontEndTransport', 'exchange_transport'),
    ('MSExchangeTransport', 'exchange_transport'), ('MSExchangeDelivery', 'exchange_transport'), ('WSPSRV', None), (None, None)])
def test_expected_software(service, software):
    assert sg.expected_software(service) == software


class Server(object):
    """A loopback TCP server that answers each connection with ``script(conn)`` and keeps what it received."""

    def __init__(self, script):
        self.script = script
        self.received = []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _addr = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            self.script(conn, self)

    def read_all(self, conn):
        data = b''
        try:
            while True:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b'QUIT\r\n'):
                    conn.sendall(b'221 2.0.0 closing\r\n')
        except OSError:
            pass
        self.received.append(data)

    def close(self):
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def server():
    made = []

    def start(script):
        made.append(Server(script))
        return made[-1]
    yield start
    for item in made:
        item.close()


def greets(line):
    def script(conn, srv):
        conn.sendall(line)
        srv.read_all(conn)
    return script


def test_a_greeting_is_read_and_only_quit_is_sent(server):
    srv = server(greets(IMS.encode() + b'\r\n'))
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    srv.thread.join(5)
    assert result == {'address': '127.0.0.1', 'port': srv.port, 'code': 220, 'text': IMS[4:], 'software': 'exchange55_ims',
                      'software_name': sg.SOFTWARE_NAMES['exchange55_ims'], 'error': None}
    assert srv.received == [b'QUIT\r\n']


def test_a_multi_line_greeting_is_read_whole(server):
    srv = server(greets(b'220-EX2019.example.com first line\r\n220 ' + EX2019[4:].encode() + b'\r\n'))
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    assert result['text'] == 'EX2019.example.com first line\n' + EX2019[4:] and result['software'] == 'exchange_transport'


def test_a_greeting_in_pieces_is_read(server):
    def script(conn, srv):
        for part in (b'22', b'0 PROXY Microsoft ESMTP MAIL Service, Version: 5.0', b'.2195.6713 ready\r', b'\n'):
            conn.sendall(part)
            time.sleep(0.05)
        srv.read_all(conn)
    result = sg.read_greeting('127.0.0.1', server(script).port, 5)
    assert (result['code'], result['software'], result['error']) == (220, 'iis_smtp', None)


def test_a_refusal_is_not_a_greeting(server):
    srv = server(greets(b'554 5.7.1 no SMTP service here\r\n'))
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    assert (result['code'], result['text'], result['software']) == (554, '5.7.1 no SMTP service here', None)
    assert result['error'] == 'the server answered 554, not 220 (service ready)'


class Recorded(object):
    """A real socket whose timeouts are recorded: every wait the check makes is bounded by what it set."""

    def __init__(self, sock):
        self.sock, self.timeouts = sock, []

    def settimeout(self, value):
        self.timeouts.append(value)
        self.sock.settimeout(value)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def recording(made):
    def connect(address, timeout):
        made.append(Recorded(socket.create_connection(address, timeout)))
        return made[-1]
    return connect


def test_a_host_that_accepts_and_never_greets_is_given_up_on(server):
    def silent(conn, srv):
        srv.read_all(conn)
    srv = server(silent)
    made = []
    result = sg.read_greeting('127.0.0.1', srv.port, 1, connect=recording(made))
    assert result['error'] == 'connected, but no greeting within 1 s' and result['code'] is None
    assert made[0].timeouts and all(0 < value <= 1 for value in made[0].timeouts)
    srv.sock.close()
    srv.thread.join(5)
    assert srv.received == [b'']          # nothing was sent: no greeting, so no QUIT either


def test_a_host_that_closes_at_once(server):
    srv = server(lambda conn, srv: None)
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    assert result['error'].startswith('connected, but the connection was closed before a complete reply')


@pytest.mark.parametrize('data, problem', [
    (b'HTTP/1.1 400 Bad Request\r\n', 'not an SMTP reply'),
    (b'x' * 5000, 'more than 4096 bytes without a complete reply'),
])
def test_what_is_not_smtp_is_named(server, data, problem):
    srv = server(greets(data))
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    assert result['error'] == 'connected, but the answer is not an SMTP greeting (%s)' % problem


def test_hostile_text_is_made_printable(server):
    srv = server(greets(b'220 host \x1b[2J\xe2\x80\xae evil ready\r\n'))
    result = sg.read_greeting('127.0.0.1', srv.port, 5)
    assert result['text'] == 'host \\u001b[2J\\u202e evil ready'


def test_a_closed_port_is_named():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]   # bound, never listening: the connection is refused
        result = sg.read_greeting('127.0.0.1', port, 5)
    assert result['error'].startswith('cannot connect: ') and result['code'] is None


def test_a_connection_that_does_not_come_in_time_is_named():
    def connect(address, timeout):
        assert timeout == 3
        raise socket.timeout()
    assert sg.read_greeting('192.0.2.1', 25, 3, connect=connect)['error'] == 'no connection within 3 s'


def test_a_server_that_never_answers_quit_is_waited_for_at_most_the_quit_wait(server, monkeypatch):
    monkeypatch.setattr(sg, 'QUIT_WAIT', 0.5)

    def script(conn, srv):
        conn.sendall(EX2019.encode() + b'\r\n')
        srv.read_all_silently = conn.recv(100)
    srv = server(script)
    made = []
    result = sg.read_greeting('127.0.0.1', srv.port, 5, connect=recording(made))
    assert result['error'] is None and result['software'] == 'exchange_transport'
    assert made[0].timeouts[-1] <= 0.5    # the wait for the 221 that never comes


@pytest.mark.parametrize('greeting, expected, pattern, matches', [
    ({'text': IMS[4:], 'software': 'exchange55_ims', 'error': None}, 'exchange55_ims', None, True),
    ({'text': AV[4:], 'software': 'other', 'error': None}, 'exchange55_ims', None, False),
    ({'text': IIS[4:], 'software': 'iis_smtp', 'error': None}, 'exchange_transport', None, False),
    ({'text': 'mail.example.com Contoso relay ready', 'software': 'other', 'error': None}, 'exchange_transport',
     re.compile(r'Contoso relay'), True),
    ({'text': EX2019[4:], 'software': 'exchange_transport', 'error': None}, 'exchange_transport', re.compile(r'Contoso'), False),
    ({'text': AV[4:], 'software': 'other', 'error': None}, None, None, None),
    ({'text': None, 'software': None, 'error': 'cannot connect: refused'}, 'exchange55_ims', None, None),
])
def test_judge(greeting, expected, pattern, matches):
    assert sg.judge(greeting, expected, pattern) is matches


@pytest.mark.parametrize('pattern, message', [
    ('(', 'greeting_pattern is not a valid regular expression'), ('', 'greeting_pattern must be a regular expression'),
    ('x' * 1001, 'greeting_pattern must be a regular expression'), (5, 'greeting_pattern must be a regular expression')])
def test_bad_patterns_are_refused(pattern, message):
    with pytest.raises(errors.InvalidOption) as info:
        sg.check_pattern(pattern)
    assert message in str(info.value)


@pytest.mark.parametrize('timeout', [0, 121, True, '5', None])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(errors.InvalidOption) as info:
        sg.check_timeout(timeout)
    assert 'greeting_timeout must be a number of seconds from 1 to 120' in str(info.value)


def entry(verdict, text=None, software=None, error=None, expected='exchange55_ims', host=None):
    greeting = sg.evidence({'address': '10.0.0.5', 'port': 25, 'code': 220 if text else None, 'text': text, 'software': software,
                            'software_name': sg.SOFTWARE_NAMES.get(software), 'error': error}, expected)
    return {'port': 25, 'service': 'MSExchangeIMC', 'host': host, 'verdict': verdict, 'greeting': greeting}


@pytest.mark.parametrize('item, codes', [
    (entry('ok', IMS[4:], 'exchange55_ims'), []),
    # KB Q146157's silent conflict: WMI says the IMC holds 25, another program answers.
    (entry('ok', AV[4:], 'other'), [('GREETING_OTHER_PROGRAM', 'error')]),
    (entry('ok', error='connected, but no greeting within 10 s'), [('GREETING_MISSING', 'error')]),
    (entry('ok', error='cannot connect: Connection refused'), [('GREETING_UNREADABLE', 'warning')]),
    # A conflict WMI already shows: the greeting is evidence, not another finding.
    (entry('conflict', IIS[4:], 'iis_smtp'), []),
    (entry('free'), []),
])
def test_findings(item, codes):
    found = sg.findings([item])
    assert [(f['code'], f['severity']) for f in found] == codes
    assert all(f['port'] == 25 for f in found)


def test_the_silent_conflict_finding_names_both_programs_and_the_port_host():
    found = sg.findings([entry('ok', AV[4:], 'other', host='proxy01')])[0]
    assert found['host'] == 'proxy01'
    assert found['message'].startswith('TCP port 25 of proxy01 answers "%s", which is another program, not the Microsoft Exchange '
                                       'Internet Mail Service (Exchange 4.0-5.5)' % AV[4:])
    assert 'KB Q146157' in found['message'] and found['kb_section'] == 'Resolution step 2'
