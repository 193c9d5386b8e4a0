# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lab CA and one server certificate for every host address, kept in the state directory.

EC P-256 keys because generating them takes milliseconds.  The CA is made once and kept; the
server certificate is reissued (by the same CA) only when a host address it does not cover appears,
so inventories written earlier keep validating.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from winlab import write_file_atomic

CA_NAME = 'winlab test CA'
VALID_DAYS = 3650


@dataclasses.dataclass
class TlsFiles:
    """Where the lab's TLS material lives, and the data NTLM channel binding needs."""

    ca_path: str
    cert_path: str
    key_path: str
    cert_hash: bytes          # RFC 5929 tls-server-end-point hash of the server certificate

    def server_context(self, client_certificates=False):
        """An SSLContext serving the lab certificate (TLS 1.2+).

        client_certificates: ask for a client certificate from the lab CA (CERT_OPTIONAL, so clients without
        one, Basic or NTLM, still connect)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_path, self.key_path)
        if client_certificates:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(self.ca_path)
        return ctx

    def ca_certificate(self):
        with open(self.ca_path, 'rb') as handle:
            return x509.load_pem_x509_certificate(handle.read())


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _validity():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now - datetime.timedelta(days=1), now + datetime.timedelta(days=VALID_DAYS)


def _builder(common_name, issuer_name, public_key):
    """A certificate builder with subject CN, issuer, key, a random serial and the lab's validity."""
    not_before, not_after = _validity()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name or subject).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after))


def _make_ca(ca_path, ca_key_path, name=CA_NAME):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(name, None, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    write_file_atomic(ca_key_path, _key_pem(key))
    write_file_atomic(ca_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert, key


def _load_ca(ca_path, ca_key_path):
    with open(ca_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    with open(ca_key_path, 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), password=None)
    return cert, key


def _make_server(ca_cert, ca_key, addresses, names, cert_path, key_path):
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(set(addresses), key=ipaddress.ip_address)]
    sans += [x509.DNSName(n) for n in sorted(set(names))]
    cert = (_builder('winlab', ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_file_atomic(key_path, _key_pem(key))
    write_file_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def _covers(cert_path, addresses, names):
    """True when the existing server certificate names every address and host name."""
    try:
        with open(cert_path, 'rb') as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have_ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    have_names = set(san.get_values_for_type(x509.DNSName))
    remaining = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return set(addresses) <= have_ips and set(names) <= have_names and remaining > datetime.timedelta(days=1)


def cert_hash(cert_path):
    """tls-server-end-point channel binding hash: SHA-256 of the DER certificate (it is signed with SHA-256)."""
    with open(cert_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()


def ensure_certificates(state_dir, addresses, names=()):
    """Create (or reuse) the CA and a server certificate whose SANs cover addresses and names."""
    tls_dir = os.path.join(state_dir, 'tls')
    os.makedirs(tls_dir, exist_ok=True)
    ca_path = os.path.join(tls_dir, 'ca.pem')
    ca_key_path = os.path.join(tls_dir, 'ca.key')
    cert_path = os.path.join(tls_dir, 'server.pem')
    key_path = os.path.join(tls_dir, 'server.key')
    # DNS SANs must be valid host names; scenario names (letters, digits, '-', '.') are, others are skipped
    names = [n.lower() for n in names if n and all(c.isalnum() or c in '-.' for c in n)]
    if os.path.exists(ca_path) and os.path.exists(ca_key_path):
        ca_cert, ca_key = _load_ca(ca_path, ca_key_path)
    else:
        ca_cert, ca_key = _make_ca(ca_path, ca_key_path)
    if not (os.path.exists(key_path) and _covers(cert_path, addresses, names)):
        _make_server(ca_cert, ca_key, addresses, names, cert_path, key_path)
    return TlsFiles(ca_path=ca_path, cert_path=cert_path, key_path=key_path, cert_hash=cert_hash(cert_path))


def load_lab_ca(state_dir):
    """(certificate, key) of a state directory's lab CA."""
    tls_dir = os.path.join(state_dir, 'tls')
    return _load_ca(os.path.join(tls_dir, 'ca.pem'), os.path.join(tls_dir, 'ca.key'))


def issue_client_certificate(state_dir, upn, name, client_auth=True, issuer=None):
    """A client certificate for `upn` (subject CN and a UPN otherName, as an AD CA issues a user certificate),
    written to DIR/tls/<name>.pem and <name>.key; returns both paths.

    issuer: (certificate, key) of another CA (default: the lab CA); client_auth=False leaves out the extended key
    usage extension (a certificate for any purpose as far as TLS goes, which the mapping still refuses).  Tests use
    both to make certificates the host must refuse."""
    from winlab.auth_certificate import UPN_OID, encode_upn  # pylint: disable=import-outside-toplevel
    ca_cert, ca_key = issuer or load_lab_ca(state_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (_builder(upn.partition('@')[0], ca_cert.subject, key.public_key())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if client_auth:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = (builder
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(UPN_OID, encode_upn(upn))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    tls_dir = os.path.join(state_dir, 'tls')
    cert_path = os.path.join(tls_dir, name + '.pem')
    key_path = os.path.join(tls_dir, name + '.key')
    write_file_atomic(key_path, _key_pem(key))
    write_file_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def make_ca(directory, name):
    """Another CA (certificate, key) written to directory/<name>.pem and .key (for tests of foreign issuers)."""
    return _make_ca(os.path.join(directory, name + '.pem'), os.path.join(directory, name + '.key'), name)


def ensure_credssp_certificate(state_dir):
    """The RSA certificate of CredSSP's inner TLS (CredSSP clients bind an RSA public key), made once."""
    tls_dir = os.path.join(state_dir, 'tls')
    cert_path = os.path.join(tls_dir, 'credssp.pem')
    key_path = os.path.join(tls_dir, 'credssp.key')
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path
    ca_cert, ca_key = load_lab_ca(state_dir)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (_builder('winlab CredSSP', ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_file_atomic(key_path, _key_pem(key))
    write_file_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path
