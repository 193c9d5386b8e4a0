# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client certificate authentication as WinRM's ClientCertificate mapping does it.

The client sends `Authorization: http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual` over
TLS with a certificate.  WinRM maps a certificate to a local account by its issuer (the mapping names the
issuing CA's thumbprint) and the user principal name in the subject alternative name (otherName
1.3.6.1.4.1.311.20.2.3), and needs the Client Authentication extended key usage; anything else is 401.

The TLS layer (Python's ssl, CERT_OPTIONAL with the lab CA) checks the chain, the validity dates and, when
the certificate lists extended key usages, that client authentication is one of them: a certificate from an
issuer the lab does not trust, or one for other purposes only, ends the TLS handshake (with TLS 1.3 the
client sees the connection closed after its handshake) instead of reaching this mapping, because Python's
ssl has no verify callback that could defer the decision.  A certificate with no extended key usage at
all passes TLS and is refused here.
"""
from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

SCHEME = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual'
UPN_OID = x509.ObjectIdentifier('1.3.6.1.4.1.311.20.2.3')


def encode_upn(upn):
    """DER UTF8String of a UPN, the value of the otherName."""
    data = upn.encode('utf-8')
    if len(data) >= 128:
        raise ValueError('UPN too long for the lab: %r' % upn)
    return b'\x0c' + bytes([len(data)]) + data


def upns(cert):
    """The UPNs in a certificate's subject alternative name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out = []
    for name in san.get_values_for_type(x509.OtherName):
        if name.type_id == UPN_OID and name.value[:1] == b'\x0c' and len(name.value) >= 2:
            out.append(name.value[2:2 + name.value[1]].decode('utf-8', 'replace'))
    return out


def client_auth_usage(cert):
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage


def maps_to(der, issuer, upn):
    """Why the DER certificate does not map to the account `upn` under CA `issuer`, or None when it does."""
    if not der:
        return 'no client certificate'
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return 'unreadable client certificate'
    if cert.issuer != issuer.subject:
        return 'issuer %s is not the mapped CA' % cert.issuer.rfc4514_string()
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):  # pylint: disable=broad-except  # InvalidSignature and friends
        return 'not signed by the mapped CA'
    if not client_auth_usage(cert):
        return 'no Client Authentication extended key usage'
    if not any(name.casefold() == upn.casefold() for name in upns(cert)):
        return 'UPN %s is not mapped' % (', '.join(upns(cert)) or '(none)')
    return None
