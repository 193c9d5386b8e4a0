# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WinRM message encryption framing (MS-WSMV 2.2.9.1), the same for every authentication that seals.

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plain length>\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <4-byte little-endian header length><header (signature / TLS trailer)><sealed data>
    --Encrypted Boundary--\\r\\n

NTLM and Kerberos seal under `application/HTTP-SPNEGO-session-encrypted` (pywinrm labels Kerberos that way
too; `application/HTTP-Kerberos-session-encrypted` is the Kerberos scheme's name, accepted as well).  CredSSP
seals under `application/HTTP-CredSSP-session-encrypted`, and a message over 16 KiB travels as
`multipart/x-multi-encrypted`: one encrypted part per 16 KiB of plain text, in order, one closing boundary
(MS-WSMV 2.2.9.1.3).  `context` is any pyspnego context with wrap_winrm/unwrap_winrm.
"""
from __future__ import annotations

import re
import struct

SPNEGO_PROTOCOL = 'application/HTTP-SPNEGO-session-encrypted'
KERBEROS_PROTOCOL = 'application/HTTP-Kerberos-session-encrypted'
CREDSSP_PROTOCOL = 'application/HTTP-CredSSP-session-encrypted'
PROTOCOLS = {'ntlm': (SPNEGO_PROTOCOL,), 'kerberos': (SPNEGO_PROTOCOL, KERBEROS_PROTOCOL), 'credssp': (CREDSSP_PROTOCOL,)}
CREDSSP_CHUNK = 16384
BOUNDARY = b'--Encrypted Boundary'
_OCTET = b'\tContent-Type: application/octet-stream\r\n'
_BOUNDARY_RE = re.compile(r'boundary\s*=\s*"?([^";]+)"?', re.I)
_PROTOCOL_RE = re.compile(r'protocol\s*=\s*"?([^";]+)"?', re.I)
_LENGTH_RE = re.compile(rb'Length=(\d+)')
_TYPES = ('multipart/encrypted', 'multipart/x-multi-encrypted')


class EncryptionError(Exception):
    """A sealed body could not be parsed or did not verify."""


def content_type(protocol, multi=False):
    return '%s;protocol="%s";boundary="Encrypted Boundary"' % (_TYPES[1] if multi else _TYPES[0], protocol)


def sealed_protocol(ctype):
    """The protocol of a sealed body's Content-Type ('application/HTTP-...-session-encrypted'), or None."""
    ctype = ctype or ''
    if not ctype.lower().startswith(_TYPES):
        return None
    match = _PROTOCOL_RE.search(ctype)
    if not match:
        return None
    for known in (SPNEGO_PROTOCOL, KERBEROS_PROTOCOL, CREDSSP_PROTOCOL):
        if match.group(1).strip().lower() == known.lower():
            return known
    return None


def is_multi(ctype):
    return (ctype or '').lower().startswith(_TYPES[1])


def _parts(ctype, body, protocol):
    """[(declared length, sealed bytes)] of a sealed body, in order."""
    match = _BOUNDARY_RE.search(ctype)
    if not match:
        raise EncryptionError('no boundary in Content-Type')
    boundary = b'--' + match.group(1).encode('latin-1')
    trailer = boundary + b'--\r\n'
    if not body.startswith(boundary + b'\r\n') or not body.endswith(trailer):
        raise EncryptionError('body is not framed by the boundary')
    sections = body[:-len(trailer)].split(boundary + b'\r\n')[1:]
    if not sections or len(sections) % 2:
        raise EncryptionError('malformed encrypted parts')
    parts = []
    for head, rest in zip(sections[::2], sections[1::2]):
        length = _LENGTH_RE.search(head)
        if not length or protocol.encode().lower() not in head.lower() or not rest.startswith(_OCTET):
            raise EncryptionError('malformed encrypted part headers')
        # OriginalContent is outside the signature: bound its digits before int(), which raises beyond 4300
        if len(length.group(1)) > 12:
            raise EncryptionError('OriginalContent Length too long')
        parts.append((int(length.group(1)), rest[len(_OCTET):]))
    return parts


def unwrap(context, ctype, body, protocol):
    """The plain SOAP of a sealed body (EncryptionError when it is not one `context` can open)."""
    parts = _parts(ctype, body, protocol)
    if len(parts) > 1 and protocol != CREDSSP_PROTOCOL:
        raise EncryptionError('only CredSSP splits a message into several encrypted parts')
    plain = []
    for declared, data in parts:
        if len(data) < 4:
            raise EncryptionError('truncated encrypted part')
        header_len = struct.unpack('<i', data[:4])[0]
        if header_len < 0 or header_len > len(data) - 4:
            raise EncryptionError('bad signature length')
        try:
            text = context.unwrap_winrm(data[4:4 + header_len], data[4 + header_len:])
        except Exception as exc:  # pylint: disable=broad-except  # any library error: the body does not verify
            raise EncryptionError('signature check failed: %s: %s' % (type(exc).__name__, exc)) from None
        if len(text) != declared:
            raise EncryptionError('decrypted length does not match OriginalContent Length')
        plain.append(text)
    return b''.join(plain)


def wrap(context, body, protocol):
    """(Content-Type, payload) of a sealed answer; CredSSP answers over 16 KiB go in 16 KiB parts."""
    if protocol == CREDSSP_PROTOCOL and len(body) > CREDSSP_CHUNK:
        chunks = [body[i:i + CREDSSP_CHUNK] for i in range(0, len(body), CREDSSP_CHUNK)]
    else:
        chunks = [body]
    out = []
    for chunk in chunks:
        result = context.wrap_winrm(chunk)
        out += [BOUNDARY, b'\r\n',
                b'\tContent-Type: ', protocol.encode(), b'\r\n',
                b'\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=%d\r\n' % (len(chunk) + result.padding_length),
                BOUNDARY, b'\r\n', _OCTET,
                struct.pack('<i', len(result.header)), result.header, result.data]
    out += [BOUNDARY, b'--\r\n']
    return content_type(protocol, multi=len(chunks) > 1), b''.join(out)
