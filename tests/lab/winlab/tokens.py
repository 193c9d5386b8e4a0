# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which mechanism an `Authorization: Negotiate|NTLM|Kerberos <token>` starts: NTLM or Kerberos.

A token is raw NTLM (`NTLMSSP\\0`, what requests-ntlm sends), a GSS-API InitialContextToken
(RFC 2743 3.1: [APPLICATION 0] with the mechanism's OID first) for Kerberos (what pywinrm's Kerberos
transport sends) or SPNEGO (RFC 4178, what pypsrp sends), whose NegTokenInit lists the mechanisms and
carries the first one's token, or a SPNEGO NegTokenResp that continues a handshake.  Only the DER needed
to find the OIDs and the optimistic token is read here; the acceptors parse the rest.
"""
from __future__ import annotations

NTLM = 'ntlm'
KERBEROS = 'kerberos'
CONTINUE = 'continue'

KRB5_OIDS = (bytes.fromhex('2a864886f712010202'),      # 1.2.840.113554.1.2.2 (RFC 4121)
             bytes.fromhex('2a864882f712010202'))      # 1.2.840.48018.1.2.2 (Microsoft's variant)
NTLM_OID = bytes.fromhex('2b06010401823702020a')      # 1.3.6.1.4.1.311.2.2.10
SPNEGO_OID = bytes.fromhex('2b0601050502')            # 1.3.6.1.5.5.2
NTLM_SIGNATURE = b'NTLMSSP\x00'


def _length(data, pos):
    """(DER length, position after it)."""
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if not 0 < count <= 4 or pos + count > len(data):
        raise ValueError('bad DER length')
    return int.from_bytes(data[pos:pos + count], 'big'), pos + count


def _tlv(data, pos, tag):
    """(content start, content end) of the element with `tag` at pos."""
    if pos >= len(data) or data[pos] != tag:
        raise ValueError('expected tag 0x%02x' % tag)
    length, start = _length(data, pos + 1)
    if start + length > len(data):
        raise ValueError('element runs past the token')
    return start, start + length


def gss_oid(token):
    """The mechanism OID (DER content bytes) of a GSS-API InitialContextToken, or None."""
    try:
        start, _end = _tlv(token, 0, 0x60)
        oid_start, oid_end = _tlv(token, start, 0x06)
    except (ValueError, IndexError):
        return None
    return token[oid_start:oid_end]


def _neg_token_init(token):
    """(mechanism OIDs, optimistic mechanism token or b'') of a SPNEGO NegTokenInit."""
    start, end = _tlv(token, 0, 0x60)
    _oid_start, pos = _tlv(token, start, 0x06)
    pos, end = _tlv(token, pos, 0xA0)
    pos, end = _tlv(token, pos, 0x30)
    mechs, mech_token = [], b''
    while pos < end:
        tag = token[pos]
        field_start, field_end = _tlv(token, pos, tag)
        if tag == 0xA0:                               # mechTypes: SEQUENCE OF OID
            seq, seq_end = _tlv(token, field_start, 0x30)
            while seq < seq_end:
                oid_start, oid_end = _tlv(token, seq, 0x06)
                mechs.append(token[oid_start:oid_end])
                seq = oid_end
        elif tag == 0xA2:                             # mechToken: OCTET STRING
            data_start, data_end = _tlv(token, field_start, 0x04)
            mech_token = token[data_start:data_end]
        pos = field_end
    return mechs, mech_token


def mechanism(token):
    """NTLM, KERBEROS, CONTINUE (a SPNEGO NegTokenResp) or None for a token that starts neither."""
    if token.startswith(NTLM_SIGNATURE):
        return NTLM
    if token[:1] == b'\xa1':
        return CONTINUE
    oid = gss_oid(token)
    if oid in KRB5_OIDS:
        return KERBEROS
    if oid != SPNEGO_OID:
        return None
    try:
        mechs, mech_token = _neg_token_init(token)
    except (ValueError, IndexError):
        return None
    if mech_token.startswith(NTLM_SIGNATURE):
        return NTLM
    if gss_oid(mech_token) in KRB5_OIDS:
        return KERBEROS
    if not mech_token and mechs:
        return KERBEROS if mechs[0] in KRB5_OIDS else NTLM if mechs[0] == NTLM_OID else None
    return None
