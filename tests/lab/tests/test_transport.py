# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's HTTP/auth layer: what Windows answers to bad, missing and wrong requests."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import socket
import ssl
import time

import pytest
import requests
import spnego
import spnego.channel_bindings
import winrm.exceptions
from requests_ntlm import HttpNtlmAuth

from winlab import testing

WIN32_SERVICE = testing.CIMV2 + 'Win32_Service'
ENUMERATE = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate'


def _address(lab, name):
    return lab.hosts[name]['ansible_host']


def _connect(lab, name, scheme='http'):
    port = lab.https_port if scheme == 'https' else lab.http_port
    sock = socket.create_connection((_address(lab, name), port), timeout=10)
    if scheme == 'https':
        ctx = ssl.create_default_context(cafile=lab.ca_path)
        sock = ctx.wrap_socket(sock, server_hostname=_address(lab, name))
    return sock


def _request(body=b'', headers=None, method='POST', path='/wsman'):
    lines = ['%s %s HTTP/1.1' % (method, path), 'Host: lab']
    hdrs = {'Content-Length': str(len(body)), 'Content-Type': 'application/soap+xml;charset=UTF-8'}
    hdrs.update(headers or {})
    lines += ['%s: %s' % kv for kv in hdrs.items() if kv[1] is not None]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


def _read_response(sock):
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, resp.headers, resp.read()


def _closed(sock, wait):
    """True when the server closes the connection within `wait` seconds (False if it is still open)."""
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b''
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def _soap(lab, name):
    return testing.enumerate_envelope(lab.endpoint(name), WIN32_SERVICE).encode()


def _basic(user, password):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def _basic_exchange(lab, name, scheme, password=testing.LAB_PASSWORD):
    """One Enumerate with a Basic header on a new connection: (status, headers, body)."""
    sock = _connect(lab, name, scheme)
    with sock:
        sock.sendall(_request(_soap(lab, name), {'Authorization': _basic(testing.LAB_USER, password)}))
        return _read_response(sock)


def _last_line(lab, name):
    return lab.requests(name)[-1]


def test_no_auth_gets_401_with_the_http_schemes_and_keeps_the_connection(transport_lab):
    sock = _connect(transport_lab, 'plain')
    with sock:
        for _attempt in range(2):      # keep-alive: the second request goes over the same connection
            sock.sendall(_request(_soap(transport_lab, 'plain')))
            status, headers, body = _read_response(sock)
            assert (status, body) == (401, b'')
            assert headers.get_all('WWW-Authenticate') == ['Negotiate']
            assert headers['Server'] == 'Microsoft-HTTPAPI/2.0'
    line = _last_line(transport_lab, 'plain')
    assert (line['auth'], line['status'], line['action']) == ('none', 401, '')


def test_https_offers_basic_as_well(transport_lab):
    sock = _connect(transport_lab, 'secure', 'https')
    with sock:
        sock.sendall(_request(b''))
        status, headers, body = _read_response(sock)
    assert (status, body) == (401, b'')
    assert headers.get_all('WWW-Authenticate') == ['Negotiate', 'Basic realm="WSMAN"']


def test_basic_over_http_is_refused_even_with_the_right_password(transport_lab):
    status, headers, body = _basic_exchange(transport_lab, 'secure', 'http')
    assert (status, body) == (401, b'')
    assert headers.get_all('WWW-Authenticate') == ['Negotiate']
    line = _last_line(transport_lab, 'secure')
    assert (line['auth'], line['status'], line['action']) == ('basic', 401, '')


@pytest.mark.parametrize('password, status', [('wrong', 401), (testing.LAB_PASSWORD, 200)])
def test_basic_over_https(transport_lab, password, status):
    got, headers, body = _basic_exchange(transport_lab, 'secure', 'https', password)
    assert got == status
    if status == 401:
        assert body == b''
    else:
        assert headers['Content-Type'] == 'application/soap+xml;charset=UTF-8'
        assert b'EnumerateResponse' in body
    line = _last_line(transport_lab, 'secure')
    assert (line['auth'], line['status']) == ('basic', status)
    assert line['action'] == (ENUMERATE if status == 200 else '')


def test_ntlm_wrong_password_is_401_with_nothing_else(transport_lab):
    before = transport_lab.host_state('plain')
    resp = requests.post(transport_lab.endpoint('plain'), data=_soap(transport_lab, 'plain'), timeout=10,
                         auth=HttpNtlmAuth(testing.LAB_USER, 'not-the-password'),
                         headers={'Content-Type': 'application/soap+xml;charset=UTF-8'})
    assert (resp.status_code, resp.content) == (401, b'')
    assert resp.headers.get('WWW-Authenticate') == 'Negotiate'
    legs = [(x['auth'], x['status']) for x in transport_lab.requests('plain')[-3:]]
    assert legs == [('none', 401), ('ntlm-negotiate', 401), ('ntlm-authenticate', 401)]
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        testing.pywinrm_protocol(transport_lab, 'plain', password='not-the-password').send_message(
            _soap(transport_lab, 'plain'))
    assert transport_lab.host_state('plain') == before


def test_ntlm_user_of_another_account_is_refused(transport_lab):
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        testing.pywinrm_protocol(transport_lab, 'plain', username='LAB\\administrator').send_message(
            _soap(transport_lab, 'plain'))


def _hand_ntlm(lab, name, bindings=None, scheme='https', word='Negotiate', body=b''):
    """A hand-driven NTLM handshake (raw NTLM tokens under `word`); returns the status of the last leg."""
    client = spnego.client(testing.LAB_USER, testing.LAB_PASSWORD, protocol='ntlm', channel_bindings=bindings)
    sock = _connect(lab, name, scheme)
    with sock:
        token = client.step()
        for _leg in range(2):
            sock.sendall(_request(body, {'Authorization': '%s %s' % (word, base64.b64encode(token).decode())}))
            status, headers, _body = _read_response(sock)
            if status != 401 or client.complete:
                return status
            challenge = headers['WWW-Authenticate']
            assert challenge.startswith(word + ' ')
            token = client.step(base64.b64decode(challenge.split(' ', 1)[1]))
    return status


def _bindings(cert_hash):
    return spnego.channel_bindings.GssChannelBindings(application_data=b'tls-server-end-point:' + cert_hash)


def test_ntlm_over_https_checks_channel_binding(transport_lab):
    with open(os.path.join(transport_lab.state_dir, 'tls', 'server.pem'), encoding='ascii') as handle:
        cert = ssl.PEM_cert_to_DER_cert(handle.read())
    assert _hand_ntlm(transport_lab, 'secure', _bindings(hashlib.sha256(cert).digest()), body=_soap(transport_lab, 'secure')) == 200
    assert _hand_ntlm(transport_lab, 'secure', _bindings(b'\x01' * 32)) == 401
    assert _hand_ntlm(transport_lab, 'secure', None) == 200       # no bindings sent: accepted (Relaxed)


def test_ntlm_scheme_word_is_answered_in_kind(transport_lab):
    assert _hand_ntlm(transport_lab, 'plain', scheme='http', word='NTLM') == 200
    legs = [(x['auth'], x['status']) for x in transport_lab.requests('plain')[-2:]]
    assert legs == [('ntlm-negotiate', 401), ('ntlm-authenticate', 200)]


def test_authenticate_without_negotiate_is_refused(transport_lab):
    sock = _connect(transport_lab, 'plain')
    with sock:
        bogus = base64.b64encode(b'NTLMSSP\x00\x03\x00\x00\x00' + b'\x00' * 60).decode()
        sock.sendall(_request(b'', {'Authorization': 'Negotiate ' + bogus}))
        status, headers, body = _read_response(sock)
        assert (status, body, headers.get_all('WWW-Authenticate')) == (401, b'', ['Negotiate'])
        sock.sendall(_request(b'', {'Authorization': 'Negotiate %%%not-base64'}))
        assert _read_response(sock)[0] == 401


def test_unencrypted_soap_over_http_is_refused_after_ntlm(transport_lab):
    # requests-ntlm alone does not seal the body: AllowUnencrypted=false answers 500 and runs nothing
    resp = requests.post(transport_lab.endpoint('plain'), data=_soap(transport_lab, 'plain'), timeout=10,
                         auth=HttpNtlmAuth(testing.LAB_USER, testing.LAB_PASSWORD),
                         headers={'Content-Type': 'application/soap+xml;charset=UTF-8'})
    assert (resp.status_code, resp.content) == (500, b'')
    line = _last_line(transport_lab, 'plain')
    assert (line['auth'], line['status'], line['action']) == ('ntlm-authenticate', 500, '')


def test_tampered_sealed_body_is_rejected_and_the_connection_closed(transport_lab):
    proto = testing.pywinrm_protocol(transport_lab, 'plain')
    proto.send_message(_soap(transport_lab, 'plain'))     # authenticates and sets up sealing
    transport = proto.transport
    prepared = transport.encryption.prepare_encrypted_request(transport.session, transport.endpoint,
                                                              _soap(transport_lab, 'plain'))
    body = bytearray(prepared.body)
    body[-40] ^= 0xFF                                      # a byte of the sealed SOAP
    prepared.body = bytes(body)
    resp = transport.session.send(prepared, timeout=10)
    assert (resp.status_code, resp.content) == (400, b'')
    assert resp.headers['Connection'] == 'close'
    # a new client is served normally
    assert b'EnumerateResponse' in testing.pywinrm_protocol(transport_lab, 'plain').send_message(
        _soap(transport_lab, 'plain'))


def test_sealed_body_with_an_endless_original_length_is_rejected(transport_lab):
    # OriginalContent's Length lies outside the signature: more digits than int() converts must still be a 400
    proto = testing.pywinrm_protocol(transport_lab, 'plain')
    proto.send_message(_soap(transport_lab, 'plain'))
    transport = proto.transport
    prepared = transport.encryption.prepare_encrypted_request(transport.session, transport.endpoint,
                                                              _soap(transport_lab, 'plain'))
    prepared.body = re.sub(rb'Length=\d+', b'Length=' + b'9' * 5000, prepared.body, count=1)
    prepared.headers['Content-Length'] = str(len(prepared.body))
    resp = transport.session.send(prepared, timeout=10)
    assert (resp.status_code, resp.content, resp.headers['Connection']) == (400, b'', 'close')
    assert 'unexpected error' not in transport_lab.stderr()


def test_oversize_body_is_413_and_closed(transport_lab):
    sock = _connect(transport_lab, 'plain')
    with sock:
        sock.sendall(_request(b'<' * 1000, {'Content-Length': str(transport_lab.ready['max_body_bytes'] + 1)}))
        status, headers, body = _read_response(sock)
        assert (status, body, headers['Connection']) == (413, b'', 'close')
        assert _closed(sock, transport_lab.ready['read_timeout'] + 4)
    line = _last_line(transport_lab, 'plain')
    assert (line['status'], line['note']) == (413, 'bad request')


def test_oversize_body_sent_in_full_still_gets_its_413(transport_lab):
    # the client pushes the whole body before it reads: the lab must not reset the connection under it
    resp = requests.post(transport_lab.endpoint('plain'), data=b'x' * (transport_lab.ready['max_body_bytes'] + 4096), timeout=10,
                         headers={'Content-Type': 'application/soap+xml;charset=UTF-8'})
    assert (resp.status_code, resp.content) == (413, b'')


@pytest.mark.parametrize('raw, status', [
    (b'HELLO\r\n\r\n', 400),
    (b'POST /wsman HTTP/1.1\r\nHost lab\r\nContent-Length: 0\r\n\r\n', 400),
    (b'POST /wsman HTTP/1.1\r\nContent-Length: abc\r\n\r\n', 400),
    (b'POST /wsman HTTP/1.1\r\nContent-Length: -5\r\n\r\n', 400),
    (b'POST /wsman HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n', 400),      # latin-1 '²': str.isdigit() but not int()
    (b'POST /wsman HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400),
    (b'POST /wsman HTTP/1.1\r\nHost: lab\r\n\r\n', 411),
    (b'POST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 411),
    (b'POST /wsman HTTP/2.0\r\nContent-Length: 0\r\n\r\n', 505),
    (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(range(256)) + b'\r\n\r\n', 400),
], ids=['no-request-line', 'header-without-colon', 'length-not-a-number', 'negative-length', 'superscript-length', 'two-lengths',
        'no-length', 'chunked', 'http2', 'binary-garbage'])
def test_malformed_http_is_answered_and_closed(transport_lab, raw, status):
    sock = _connect(transport_lab, 'plain')
    with sock:
        sock.sendall(raw)
        got, headers, body = _read_response(sock)
        assert (got, body, headers['Connection']) == (status, b'', 'close')
        assert _closed(sock, transport_lab.ready['read_timeout'] + 4)


def test_endless_header_garbage_is_cut_off(transport_lab):
    sock = _connect(transport_lab, 'plain')
    with sock:
        try:
            sock.sendall(os.urandom(64 * 1024).replace(b'\r\n\r\n', b'xxxx'))
        except (BrokenPipeError, ConnectionResetError):
            pass            # the lab may already have answered and closed
        status, _headers, body = _read_response(sock)
        assert (status, body) == (400, b'')


@pytest.mark.parametrize('partial', [
    b'POST /wsman HTTP/1.1\r\nHost: lab\r\nContent-Le',
    b'POST /wsman HTTP/1.1\r\nHost: lab\r\nContent-Length: 500\r\n\r\n<s:Envelope',
], ids=['half-head', 'half-body'])
def test_half_sent_request_never_hangs_the_connection(transport_lab, partial):
    sock = _connect(transport_lab, 'plain')
    with sock:
        sock.sendall(partial)
        started = time.monotonic()
        assert _closed(sock, transport_lab.ready['read_timeout'] + 4)
        assert time.monotonic() - started < transport_lab.ready['read_timeout'] + 4


def test_idle_connections_are_closed(transport_lab):
    silent = _connect(transport_lab, 'plain')
    used = _connect(transport_lab, 'plain')
    with silent, used:
        used.sendall(_request(b''))
        assert _read_response(used)[0] == 401
        started = time.monotonic()
        idle = transport_lab.ready['idle_timeout']
        assert _closed(silent, wait=idle + 4)
        assert _closed(used, wait=idle + 4)
        assert idle - 1 < time.monotonic() - started < idle + 4


def test_plain_http_on_the_tls_port_is_closed(transport_lab):
    sock = socket.create_connection((_address(transport_lab, 'plain'), transport_lab.https_port), timeout=10)
    with sock:
        sock.sendall(_request(b''))
        assert _closed(sock, transport_lab.ready['read_timeout'] + 4)


@pytest.mark.parametrize('method, path, status', [('GET', '/wsman', 405), ('POST', '/other', 404),
                                                  ('PUT', '/wsman', 405)])
def test_other_methods_and_paths(transport_lab, method, path, status):
    sock = _connect(transport_lab, 'plain')
    with sock:
        sock.sendall(_request(b'', method=method, path=path))
        got, _headers, body = _read_response(sock)
    assert (got, body) == (status, b'')


def test_drop_connections_closes_the_first_connections_without_answering(transport_lab):
    for _attempt in range(2):
        sock = _connect(transport_lab, 'flaky')
        with sock:
            sock.sendall(_request(_soap(transport_lab, 'flaky')))
            assert _closed(sock, wait=5)
    sock = _connect(transport_lab, 'flaky')
    with sock:
        sock.sendall(_request(_soap(transport_lab, 'flaky')))
        status, _headers, _body = _read_response(sock)
    assert status == 401
    lines = transport_lab.requests('flaky')
    assert [(x['status'], x.get('note')) for x in lines[:2]] == [(None, 'dropped (fault drop_connections)')] * 2
    assert b'EnumerateResponse' in testing.pywinrm_protocol(transport_lab, 'flaky').send_message(
        _soap(transport_lab, 'flaky'))


def test_latency_delays_every_answer(transport_lab):
    sock = _connect(transport_lab, 'slow')
    with sock:
        started = time.monotonic()
        sock.sendall(_request(b''))
        status, _headers, _body = _read_response(sock)
        assert status == 401
        assert time.monotonic() - started >= 0.3


def test_refuse_auth_fails_every_handshake(transport_lab):
    before = transport_lab.host_state('locked')
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        testing.pywinrm_protocol(transport_lab, 'locked').send_message(_soap(transport_lab, 'locked'))
    legs = [(x['auth'], x['status']) for x in transport_lab.requests('locked')[-3:]]
    assert legs == [('none', 401), ('ntlm-negotiate', 401), ('ntlm-authenticate', 401)]
    status, _headers, body = _basic_exchange(transport_lab, 'locked', 'https')
    assert (status, body) == (401, b'')
    assert transport_lab.host_state('locked') == before


def test_request_log_records_each_leg_of_one_ntlm_session(transport_lab):
    proto = testing.pywinrm_protocol(transport_lab, 'plain')
    for _attempt in range(2):
        proto.send_message(_soap(transport_lab, 'plain'))
    lines = transport_lab.requests('plain')[-5:]
    assert len({x['conn'] for x in lines}) == 1          # one TCP connection, one handshake
    assert [(x['auth'], x['status'], x['action']) for x in lines] == [
        ('none', 401, ''), ('ntlm-negotiate', 401, ''), ('ntlm-authenticate', 200, ''),
        ('none', 200, ENUMERATE), ('none', 200, ENUMERATE)]
    assert lines[-1]['resource_uri'] == WIN32_SERVICE
    for line in lines:
        assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', line['time'])
        assert line['bytes_in'] > 0 and line['bytes_out'] > 0
    # the sealed request is bigger than the SOAP it carries
    assert lines[-1]['bytes_in'] > len(_soap(transport_lab, 'plain'))


def test_lab_still_serves_after_all_that(transport_lab):
    assert transport_lab.process.poll() is None
    assert b'EnumerateResponse' in testing.pywinrm_protocol(transport_lab, 'plain').send_message(
        _soap(transport_lab, 'plain'))
    assert 'Traceback' not in transport_lab.stderr()
