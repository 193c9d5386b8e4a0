# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seeded random input against the transport: every answer is a well-formed HTTP error or a close, the lab
never logs an internal error and keeps serving."""
from __future__ import annotations

import base64
import random
import socket

import spnego

from winlab import auth as lab_auth
from winlab import testing

WIN32_SERVICE = testing.CIMV2 + 'Win32_Service'
STATUSES = {b'400', b'401', b'404', b'405', b'411', b'413', b'500', b'505'}


def _valid_request(lab, authorization=None, body=None):
    body = testing.enumerate_envelope(lab.endpoint('plain'), WIN32_SERVICE).encode() if body is None else body
    head = ['POST /wsman HTTP/1.1', 'Host: lab', 'Content-Type: application/soap+xml;charset=UTF-8',
            'Content-Length: %d' % len(body)]
    if authorization:
        head.append('Authorization: ' + authorization)
    return ('\r\n'.join(head) + '\r\n\r\n').encode() + body


def _mutate(rng, data, kinds=6):
    """1-6 random edits; kinds=5 leaves out the oversized header."""
    data = bytearray(data)
    for _step in range(rng.randint(1, 6)):
        choice = rng.randrange(kinds)
        pos = rng.randrange(len(data) + 1)
        if choice == 0 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif choice == 1:
            data[pos:pos] = bytes(rng.randrange(256) for _byte in range(rng.randint(1, 40)))
        elif choice == 2:
            del data[pos:pos + rng.randint(1, 40)]
        elif choice == 3:
            data[pos:pos] = rng.choice([b'\r\n', b'\r\n\r\n', b':', b' ', b'\x00', b'Content-Length: 99999999\r\n',
                                        b'Transfer-Encoding: chunked\r\n', b'Authorization: Basic \r\n'])
        elif choice == 4:
            data = data[:pos]
        else:
            data[pos:pos] = b'X-Long: ' + b'a' * rng.randint(100, 20000) + b'\r\n'
    return bytes(data)


def _exchange(lab, data):
    """Send everything, half-close, read what comes back (until the lab closes)."""
    with socket.create_connection((lab.hosts['plain']['ansible_host'], lab.http_port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass        # the lab answered and closed before everything was sent
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b''.join(chunks)


def _check_answer(answer):
    """Empty (closed) or HTTP responses with known statuses (an intact request may get 401 before the garbage)."""
    if not answer:
        return
    assert answer.startswith(b'HTTP/1.1 '), answer[:80]
    for part in answer.split(b'HTTP/1.1 ')[1:]:
        assert part[:3] in STATUSES, answer[:200]


def _still_fine(lab):
    assert lab.process.poll() is None
    assert b'EnumerateResponse' in testing.pywinrm_protocol(lab, 'plain').send_message(
        testing.enumerate_envelope(lab.endpoint('plain'), WIN32_SERVICE))
    assert 'unexpected error' not in lab.stderr() and 'Traceback' not in lab.stderr()


def test_mutated_requests(transport_lab):
    rng = random.Random(20261128)
    base = _valid_request(transport_lab)
    for _case in range(150):
        _check_answer(_exchange(transport_lab, _mutate(rng, base)))
    _still_fine(transport_lab)


def test_random_and_mutated_auth_tokens(transport_lab):
    rng = random.Random(4007)
    negotiate = spnego.client(testing.LAB_USER, testing.LAB_PASSWORD, protocol='ntlm').step()
    spnego_init = spnego.client(testing.LAB_USER, testing.LAB_PASSWORD, protocol='negotiate').step()
    for _case in range(120):
        kind = rng.randrange(4)
        if kind == 0:
            token = bytes(rng.randrange(256) for _byte in range(rng.randint(0, 300)))
        elif kind == 1:
            token = _mutate(rng, negotiate, kinds=5)
        elif kind == 2:
            token = _mutate(rng, spnego_init, kinds=5)
        else:
            token = b'NTLMSSP\x00\x03\x00\x00\x00' + bytes(rng.randrange(256) for _byte in range(rng.randint(0, 200)))
        scheme = rng.choice(['Negotiate', 'NTLM', 'negotiate', 'Kerberos', 'Basic'])
        header = '%s %s' % (scheme, base64.b64encode(token).decode())
        answer = _exchange(transport_lab, _valid_request(transport_lab, header))
        _check_answer(answer)
        assert answer.startswith(b'HTTP/1.1 401 ')      # a bad token never gets further than 401
    _still_fine(transport_lab)


def test_random_sealed_bodies_after_a_real_handshake(transport_lab):
    rng = random.Random(10048)
    proto = testing.pywinrm_protocol(transport_lab, 'plain')
    soap = testing.enumerate_envelope(transport_lab.endpoint('plain'), WIN32_SERVICE).encode()
    for _case in range(25):
        proto.send_message(soap)      # (re)authenticates on a fresh connection when the last one was closed
        transport = proto.transport
        prepared = transport.encryption.prepare_encrypted_request(transport.session, transport.endpoint, soap)
        prepared.body = _mutate(rng, prepared.body)
        prepared.headers['Content-Length'] = str(len(prepared.body))
        if rng.random() < 0.3:
            prepared.headers['Content-Type'] = lab_auth.ENCRYPTED_CONTENT_TYPE.replace('Encrypted Boundary', 'Other')
        resp = transport.session.send(prepared, timeout=10)
        assert resp.status_code in (200, 400, 500), resp.status_code
        if resp.status_code == 400:
            assert resp.content == b''
        transport.session.close()
        proto.transport.session = None
        proto.transport.encryption = None
    _still_fine(transport_lab)
