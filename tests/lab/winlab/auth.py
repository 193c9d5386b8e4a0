# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM authentication as a Windows host with AllowUnencrypted=false answers it, per connection.

* NTLM (raw NTLM tokens as requests-ntlm/pywinrm send them, or SPNEGO-wrapped as pypsrp sends them) under
  `Negotiate` or `NTLM`, with pyspnego as the acceptor (auth_ntlm.py), one context per TCP connection.
* Kerberos under `Negotiate` or `Kerberos`, one leg, pinned to the host's SPN (auth_kerberos.py).
* CredSSP under `CredSSP`, several legs, the delegated password checked (auth_credssp.py).
* A client certificate over HTTPS, mapped to the user (auth_certificate.py).
* Basic only over HTTPS.
A host accepts only the methods its scenario lists (`auth`): an NTLM token on a Kerberos-only host is
refused like a wrong password.  After NTLM, Kerberos or CredSSP the connection is authenticated and, on
HTTP, every SOAP body must be sealed (sealing.py).  Every failure, also one the libraries report by raising
something unexpected on hostile input, is HTTP 401 with an empty body; nothing else is revealed.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import logging

import spnego.channel_bindings

from winlab import auth_certificate, auth_credssp, auth_kerberos, auth_ntlm, sealing, tokens
from winlab.auth_ntlm import principal_matches, sends_channel_bindings
from winlab.sealing import EncryptionError

LOG = logging.getLogger('winlab.auth')
ENCRYPTED_PROTOCOL = sealing.SPNEGO_PROTOCOL
ENCRYPTED_CONTENT_TYPE = sealing.content_type(ENCRYPTED_PROTOCOL)
NTLM_SCHEMES = ('negotiate', 'ntlm')
KERBEROS_SCHEMES = ('negotiate', 'kerberos')
SEALING = ('ntlm', 'kerberos', 'credssp')


@dataclasses.dataclass
class HostAuth:
    """One host's authentication settings (shared by all its connections)."""

    username: str
    password: str
    methods: list             # subset of scenario.AUTHS
    user_file: str | None     # NTLM_USER_FILE for this host, None when NTLM and CredSSP are off
    refuse: bool = False      # fault refuse_auth: every handshake ends in 401
    cert_hash: bytes | None = None   # for channel binding over HTTPS
    fqdn: str | None = None          # Kerberos: the SPN is HTTP/<fqdn>
    principal: str | None = None     # Kerberos: the user as the realm names it, user@REALM
    client_ca: object = None         # certificate: the mapped issuer (cryptography Certificate)
    client_upn: str | None = None    # certificate: the mapped UPN
    credssp_tls: object = None       # CredSSP: the inner TLS context

    def challenge_headers(self, scheme):
        """WWW-Authenticate values of a 401: what this host offers on this scheme."""
        headers = []
        if 'ntlm' in self.methods or 'kerberos' in self.methods:
            headers.append('Negotiate')
        if 'kerberos' in self.methods:
            headers.append('Kerberos')
        if 'basic' in self.methods and scheme == 'https':
            headers.append('Basic realm="WSMAN"')
        if 'credssp' in self.methods:
            headers.append('CredSSP')
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
    note: str = ''                 # request log note (e.g. a delegated ticket)


class ConnectionAuth:
    """Authentication state of one TCP connection."""

    def __init__(self, host_auth, scheme, peer_certificate=None):
        self.host_auth = host_auth
        self.scheme = scheme
        self.peer_certificate = peer_certificate   # DER of the TLS client certificate, if one was sent
        self.context = None         # the handshake in progress, then the context that seals
        self.protocol = None        # 'ntlm', 'kerberos' or 'credssp' once the connection is authenticated
        self.sealed_as = sealing.SPNEGO_PROTOCOL

    def _unauthorized(self, leg, note=''):
        return AuthResult(leg, False, [('WWW-Authenticate', h) for h in self.host_auth.challenge_headers(self.scheme)],
                          note=note)

    def _reset(self):
        self.context = None
        self.protocol = None

    def _bindings(self):
        if self.scheme != 'https' or not self.host_auth.cert_hash:
            return None
        return spnego.channel_bindings.GssChannelBindings(
            application_data=b'tls-server-end-point:' + self.host_auth.cert_hash)

    def authorize(self, header):
        """Process one request's Authorization header (or None)."""
        if not header:
            if self.protocol:
                return AuthResult('none', True, [])
            return self._unauthorized('none')
        scheme, _sep, token = header.strip().partition(' ')
        if scheme == auth_certificate.SCHEME:
            self._reset()
            return self._certificate()
        scheme = scheme.lower()
        token = token.strip()
        if scheme == 'basic':
            self._reset()
            if self.scheme != 'https' or 'basic' not in self.host_auth.methods:
                return self._unauthorized('basic')
            if self.host_auth.check_basic(token):
                return AuthResult('basic', True, [])
            return self._unauthorized('basic')
        try:
            data = base64.b64decode(token, validate=True)
        except binascii.Error:
            data = b''
        if scheme == 'credssp' and 'credssp' in self.host_auth.methods:
            return self._credssp(data)
        mech = tokens.mechanism(data)
        if mech == tokens.CONTINUE and self.context is not None and self.protocol is None:
            mech = tokens.NTLM          # the next SPNEGO leg of the NTLM handshake in progress
        if mech == tokens.NTLM and scheme in NTLM_SCHEMES and 'ntlm' in self.host_auth.methods:
            return self._ntlm(scheme, data)
        if mech == tokens.KERBEROS and scheme in KERBEROS_SCHEMES and 'kerberos' in self.host_auth.methods:
            return self._kerberos(scheme, data)
        self._reset()
        leg = {tokens.NTLM: 'ntlm-negotiate', tokens.KERBEROS: 'kerberos'}.get(mech, 'none')
        return self._unauthorized(leg)

    # NTLM ----------------------------------------------------------------------------------

    def _ntlm(self, scheme, data):
        starts_handshake = data.startswith(b'NTLMSSP\x00\x01\x00\x00\x00') or data[:1] == b'\x60'
        leg = 'ntlm-negotiate' if starts_handshake else 'ntlm-authenticate'
        if starts_handshake:
            self._reset()
            self.context = auth_ntlm.acceptor(self.host_auth.user_file)
        elif self.context is None or self.protocol:
            return self._unauthorized(leg)
        auth_ntlm.use_user_file(self.host_auth.user_file)
        bindings = None
        if not starts_handshake and sends_channel_bindings(data):
            # Windows' default CbtHardeningLevel (Relaxed): bindings a client sends over HTTPS must match the
            # certificate; a client that sends none is accepted
            bindings = self._bindings()
        try:
            out = self.context.step(data, channel_bindings=bindings)
        except Exception as exc:  # pylint: disable=broad-except  # any malformed or wrong token: start again
            LOG.info('NTLM handshake refused: %s: %s', type(exc).__name__, exc)
            self._reset()
            return self._unauthorized(leg)
        word = 'Negotiate' if scheme == 'negotiate' else 'NTLM'
        if not self.context.complete:
            return AuthResult(leg, False, [('WWW-Authenticate', '%s %s' % (word, base64.b64encode(out or b'').decode()))])
        if (self.host_auth.refuse or self.context.negotiated_protocol != 'ntlm'
                or not principal_matches(self.context.client_principal, self.host_auth.username)):
            self._reset()
            return self._unauthorized(leg)
        self.protocol = 'ntlm'
        headers = [('WWW-Authenticate', '%s %s' % (word, base64.b64encode(out).decode()))] if out else []
        return AuthResult(leg, True, headers)

    # Kerberos --------------------------------------------------------------------------------

    def _kerberos(self, scheme, data):
        self._reset()
        try:
            context = auth_kerberos.acceptor(self.host_auth.fqdn)
            out = context.step(data, channel_bindings=self._bindings())
            complete = context.complete
            principal = context.client_principal if complete else None
        except Exception as exc:  # pylint: disable=broad-except
            # a ticket for another SPN, a wrong key, a replay, bad channel bindings: gssapi reports some of these
            # as AttributeError from deep inside; whatever it is, the answer is 401, never a dropped connection
            LOG.info('%s: Kerberos ticket refused: %s: %s', self.host_auth.fqdn, type(exc).__name__, exc)
            return self._unauthorized('kerberos')
        if not complete or self.host_auth.refuse or not auth_kerberos.principal_matches(principal, self.host_auth.principal):
            LOG.info('%s: Kerberos client %s refused', self.host_auth.fqdn, principal)
            return self._unauthorized('kerberos')
        self.context = context
        self.protocol = 'kerberos'
        word = 'Kerberos' if scheme == 'kerberos' else 'Negotiate'
        headers = [('WWW-Authenticate', '%s %s' % (word, base64.b64encode(out).decode()))] if out else []
        return AuthResult('kerberos', True, headers, note='delegated' if auth_kerberos.delegated(context) else '')

    # CredSSP ---------------------------------------------------------------------------------

    def _credssp(self, data):
        if data[:1] == b'\x16' and (self.context is None or self.protocol):
            self._reset()                   # a TLS ClientHello starts a new handshake
            self.context = auth_credssp.acceptor(self.host_auth.credssp_tls)
        elif self.context is None or self.protocol:
            return self._unauthorized('credssp')
        auth_ntlm.use_user_file(self.host_auth.user_file)     # the inner NTLM authentication's users
        try:
            out = self.context.step(data)
        except Exception as exc:  # pylint: disable=broad-except  # see _kerberos
            LOG.info('CredSSP handshake refused: %s: %s', type(exc).__name__, exc)
            self._reset()
            return self._unauthorized('credssp')
        if not self.context.complete:
            if not out:                     # pyspnego ends a failed inner authentication without a token
                self._reset()
                return self._unauthorized('credssp')
            return AuthResult('credssp', False, [('WWW-Authenticate', 'CredSSP ' + base64.b64encode(out).decode())])
        user, password = self.host_auth.username, self.host_auth.password
        if self.host_auth.refuse or not auth_credssp.credentials_match(self.context, user, password):
            self._reset()
            return self._unauthorized('credssp')
        self.protocol = 'credssp'
        return AuthResult('credssp', True, [])

    # certificate -----------------------------------------------------------------------------

    def _certificate(self):
        if self.scheme != 'https' or 'certificate' not in self.host_auth.methods or self.host_auth.refuse:
            return self._unauthorized('certificate')
        why = auth_certificate.maps_to(self.peer_certificate, self.host_auth.client_ca, self.host_auth.client_upn)
        if why:
            LOG.info('client certificate refused: %s', why)
            return self._unauthorized('certificate')
        return AuthResult('certificate', True, [])

    # message encryption ------------------------------------------------------------------

    @property
    def can_seal(self):
        return self.protocol in SEALING and self.context is not None

    def unwrap(self, content_type, body):
        """The SOAP text of a sealed body (EncryptionError when it is not one we can open)."""
        if not self.can_seal:
            raise EncryptionError('no authenticated session to decrypt with')
        protocol = sealing.sealed_protocol(content_type)
        if protocol not in sealing.PROTOCOLS[self.protocol]:
            raise EncryptionError('%s is not the protocol of this %s session' % (protocol, self.protocol))
        if sealing.is_multi(content_type) and self.protocol != 'credssp':
            raise EncryptionError('multipart/x-multi-encrypted is for CredSSP only')
        plain = sealing.unwrap(self.context, content_type, body, protocol)
        self.sealed_as = protocol
        return plain

    def wrap(self, body):
        """(Content-Type, payload) of a sealed response body, in the protocol the request was sealed with."""
        return sealing.wrap(self.context, body, self.sealed_as)


def is_encrypted(content_type):
    return sealing.sealed_protocol(content_type) is not None
