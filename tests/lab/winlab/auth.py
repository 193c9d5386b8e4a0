# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM authentication as a Windows host with AllowUnencrypted=false answers it.

* NTLM (raw NTLM tokens as requests-ntlm/pywinrm send them, or SPNEGO-wrapped as pypsrp sends them,
  under the `Negotiate` or `NTLM` scheme) with pyspnego as the acceptor, one context per TCP
  connection; after the handshake the connection is authenticated and, on HTTP, every SOAP body must
  be sealed (multipart/encrypted, application/HTTP-SPNEGO-session-encrypted).
* Basic only over HTTPS (over HTTP it is not offered and a Basic header gets 401).
* A failure is HTTP 401 with an empty body; nothing else is revealed.

pyspnego's NTLM acceptor looks the user up in the file named by the environment variable
NTLM_USER_FILE when it processes the AUTHENTICATE message.  Each distinct credential gets its own
file, and the variable is pointed at the host's file right before each acceptor step: the server
runs those steps one at a time on one thread, so a host only ever accepts its own user.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import re
import struct

import spnego
import spnego.channel_bindings
import spnego.exceptions
try:
    # private pyspnego parsers, used only to see whether a client sent channel bindings (see _bindings_for)
    from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2
    from spnego._spnego import unpack_token
except ImportError:     # another pyspnego layout: fall back to checking bindings strictly
    Authenticate = AvId = NTClientChallengeV2 = unpack_token = None

from winlab import write_file_atomic

ENCRYPTED_PROTOCOL = 'application/HTTP-SPNEGO-session-encrypted'
BOUNDARY = b'--Encrypted Boundary'
ENCRYPTED_CONTENT_TYPE = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % ENCRYPTED_PROTOCOL
_OCTET = b'\tContent-Type: application/octet-stream\r\n'
_BOUNDARY_RE = re.compile(r'boundary\s*=\s*"?([^";]+)"?', re.I)
_LENGTH_RE = re.compile(rb'Length=(\d+)')
NTLM_SCHEMES = ('negotiate', 'ntlm')


class EncryptionError(Exception):
    """A sealed body could not be parsed or did not verify."""


def _split_user(username):
    if '\\' in username:
        domain, user = username.split('\\', 1)
        return domain, user
    return '', username


def write_user_file(directory, username, password):
    """The NTLM_USER_FILE for one credential (domain and bare forms, as Windows accepts both)."""
    if any(c in password for c in ':\r\n') or any(c in username for c in ':\r\n'):
        raise ValueError('NTLM credentials for %r: user name and password may not contain ":" or line breaks'
                         % username)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    digest = hashlib.sha256(('%s\0%s' % (username, password)).encode('utf-8')).hexdigest()[:16]
    path = os.path.join(directory, digest + '.users')
    domain, user = _split_user(username)
    lines = ['%s:%s:%s' % (domain, user, password)]
    if domain:
        lines.append(':%s:%s' % (user, password))
    write_file_atomic(path, '\n'.join(lines) + '\n')
    return path


def sends_channel_bindings(token):
    """Does an NTLM AUTHENTICATE token (raw or inside SPNEGO) carry a channel-binding AV pair?

    Anything that cannot be read that way counts as carrying one, so the acceptor checks it strictly."""
    if unpack_token is None:
        return True
    try:
        raw = token
        if not raw.startswith(b'NTLMSSP\x00'):
            raw = getattr(unpack_token(raw), 'response_token', None) or b''
        if not raw.startswith(b'NTLMSSP\x00\x03\x00\x00\x00'):
            return True
        nt_response = Authenticate.unpack(raw).nt_challenge_response
        if not nt_response or len(nt_response) <= 24:
            return False        # NTLMv1 has no AV pairs at all
        return AvId.channel_bindings in NTClientChallengeV2.unpack(nt_response[16:]).av_pairs
    except Exception:  # pylint: disable=broad-except  # malformed tokens are the acceptor's to reject
        return True


def principal_matches(principal, username):
    """Does the authenticated 'DOMAIN\\user' (or 'user') name the configured account?"""
    got_domain, got_user = _split_user(principal or '')
    want_domain, want_user = _split_user(username)
    if got_user.casefold() != want_user.casefold():
        return False
    return not got_domain or got_domain.casefold() == want_domain.casefold()


@dataclasses.dataclass
class HostAuth:
    """One host's authentication settings (shared by all its connections)."""

    username: str
    password: str
    methods: list             # subset of ['ntlm', 'basic']
    user_file: str | None     # NTLM_USER_FILE for this host, None when NTLM is off
    refuse: bool = False      # fault refuse_auth: every handshake ends in 401
    cert_hash: bytes | None = None   # for NTLM channel binding over HTTPS

    def challenge_headers(self, scheme):
        """WWW-Authenticate values of a 401: what this host offers on this scheme."""
        headers = []
        if 'ntlm' in self.methods:
            headers.append('Negotiate')
        if 'basic' in self.methods and scheme == 'https':
            headers.append('Basic realm="WSMAN"')
        return headers

    def check_basic(self, token):
        try:
            user, _sep, password = base64.b64decode(token, validate=True).decode('utf-8').partition(':')
        except (binascii.Error, UnicodeDecodeError):
            return False
        return not self.refuse and principal_matches(user, self.username) and password == self.password


@dataclasses.dataclass
class AuthResult:
    leg: str                       # request log auth leg
    ok: bool                       # the request may go on to WS-Man
    headers: list                  # extra (name, value) response headers
    close: bool = False            # close the connection after answering


class ConnectionAuth:
    """Authentication state of one TCP connection."""

    def __init__(self, host_auth, scheme):
        self.host_auth = host_auth
        self.scheme = scheme
        self.context = None
        self.ntlm_done = False

    def _unauthorized(self, leg):
        return AuthResult(leg, False, [('WWW-Authenticate', h) for h in self.host_auth.challenge_headers(self.scheme)])

    def _new_context(self):
        os.environ['NTLM_USER_FILE'] = self.host_auth.user_file
        return spnego.server(protocol='negotiate', service='HTTP')

    def _bindings_for(self, token):
        """Channel bindings to check for this AUTHENTICATE token, as Windows' default CbtHardeningLevel
        (Relaxed) does: bindings a client sends over HTTPS must match the certificate; a client that
        sends none is accepted."""
        if self.scheme != 'https' or not self.host_auth.cert_hash or not sends_channel_bindings(token):
            return None
        return spnego.channel_bindings.GssChannelBindings(
            application_data=b'tls-server-end-point:' + self.host_auth.cert_hash)

    def authorize(self, header):
        """Process one request's Authorization header (or None)."""
        if not header:
            if self.ntlm_done:
                return AuthResult('none', True, [])
            return self._unauthorized('none')
        scheme, _sep, token = header.strip().partition(' ')
        scheme = scheme.lower()
        token = token.strip()
        if scheme == 'basic':
            self.context = None
            self.ntlm_done = False
            if self.scheme != 'https' or 'basic' not in self.host_auth.methods:
                return self._unauthorized('basic')
            if self.host_auth.check_basic(token):
                return AuthResult('basic', True, [])
            return self._unauthorized('basic')
        if scheme in NTLM_SCHEMES and 'ntlm' in self.host_auth.methods:
            return self._ntlm(scheme, token)
        return self._unauthorized('none')

    def _ntlm(self, scheme, token):
        try:
            data = base64.b64decode(token, validate=True)
        except binascii.Error:
            return self._unauthorized('ntlm-negotiate')
        starts_handshake = data.startswith(b'NTLMSSP\x00\x01\x00\x00\x00') or data[:1] == b'\x60'
        leg = 'ntlm-negotiate' if starts_handshake else 'ntlm-authenticate'
        if starts_handshake:
            self.ntlm_done = False
            self.context = self._new_context()
        elif self.context is None or self.ntlm_done:
            return self._unauthorized(leg)
        os.environ['NTLM_USER_FILE'] = self.host_auth.user_file
        try:
            out = self.context.step(data, channel_bindings=None if starts_handshake else self._bindings_for(data))
        except (spnego.exceptions.SpnegoError, ValueError, struct.error, KeyError, IndexError, TypeError):
            # any malformed or wrong token: the handshake is over, start again from NEGOTIATE
            self.context = None
            return self._unauthorized(leg)
        word = 'Negotiate' if scheme == 'negotiate' else 'NTLM'
        if not self.context.complete:
            return AuthResult(leg, False, [('WWW-Authenticate', '%s %s' % (word, base64.b64encode(out or b'').decode()))])
        if self.host_auth.refuse or not principal_matches(self.context.client_principal, self.host_auth.username):
            self.context = None
            return self._unauthorized(leg)
        self.ntlm_done = True
        headers = [('WWW-Authenticate', '%s %s' % (word, base64.b64encode(out).decode()))] if out else []
        return AuthResult(leg, True, headers)

    # message encryption ------------------------------------------------------------------

    @property
    def can_seal(self):
        return self.ntlm_done and self.context is not None

    def unwrap(self, content_type, body):
        """The SOAP text of a multipart/encrypted body (EncryptionError when it is not one we can open)."""
        if not self.can_seal:
            raise EncryptionError('no NTLM session to decrypt with')
        match = _BOUNDARY_RE.search(content_type)
        if not match:
            raise EncryptionError('no boundary in Content-Type')
        boundary = b'--' + match.group(1).encode('latin-1')
        trailer = boundary + b'--\r\n'
        if not body.startswith(boundary + b'\r\n') or not body.endswith(trailer):
            raise EncryptionError('body is not framed by the boundary')
        head, sep, rest = body[len(boundary) + 2:-len(trailer)].partition(boundary + b'\r\n')
        length = _LENGTH_RE.search(head)
        if not sep or not length or ENCRYPTED_PROTOCOL.encode().lower() not in head.lower() or not rest.startswith(_OCTET):
            raise EncryptionError('malformed encrypted part headers')
        data = rest[len(_OCTET):]
        if len(data) < 4:
            raise EncryptionError('truncated encrypted part')
        sig_len = struct.unpack('<i', data[:4])[0]
        if sig_len < 0 or sig_len > len(data) - 4:
            raise EncryptionError('bad signature length')
        try:
            plain = self.context.unwrap_winrm(data[4:4 + sig_len], data[4 + sig_len:])
        except (spnego.exceptions.SpnegoError, ValueError) as exc:
            raise EncryptionError('signature check failed: %s' % exc) from None
        # OriginalContent is outside the signature: bound its digits before int(), which raises beyond 4300
        if len(length.group(1)) > 12 or len(plain) != int(length.group(1)):
            raise EncryptionError('decrypted length does not match OriginalContent Length')
        return plain

    def wrap(self, body):
        """(Content-Type, payload) of a sealed response body."""
        result = self.context.wrap_winrm(body)
        payload = b''.join([
            BOUNDARY, b'\r\n',
            b'\tContent-Type: ', ENCRYPTED_PROTOCOL.encode(), b'\r\n',
            b'\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n' % (len(body) + result.padding_length),
            BOUNDARY, b'\r\n', _OCTET,
            struct.pack('<i', len(result.header)), result.header, result.data,
            BOUNDARY, b'--\r\n',
        ])
        return ENCRYPTED_CONTENT_TYPE, payload


def is_encrypted(content_type):
    ctype = (content_type or '').lower()
    return ctype.startswith('multipart/encrypted') and ENCRYPTED_PROTOCOL.lower() in ctype
