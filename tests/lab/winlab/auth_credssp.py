# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CredSSP as a Windows host accepts it (MS-CSSP), with pyspnego's CredSSP acceptor.

The handshake runs over several requests of one connection: a TLS handshake carried in the tokens, the
inner NTLM (or Kerberos) authentication, the public-key check, then the client delegates the user's
password (TSPasswordCreds), which must be the host's user and password: Windows logs the user on with
them, and a wrong one is refused (SEC_E_LOGON_DENIED).  The inner TLS uses the lab's RSA CredSSP
certificate (CredSSP binds the RSA public key; EC keys are not supported by the clients).
"""
from __future__ import annotations

import spnego
import spnego.tls
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from winlab.auth_ntlm import principal_matches


def tls_context(cert_path, key_path):
    """The CredSSP TLS context of the lab: its certificate and the public key CredSSP binds to."""
    ctx = spnego.tls.default_tls_context(usage='accept')
    ctx.context.load_cert_chain(cert_path, key_path)
    with open(cert_path, 'rb') as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    ctx.public_key = spnego.tls.get_certificate_public_key(cert.public_bytes(serialization.Encoding.DER))
    return ctx


def acceptor(context_tls):
    return spnego.server(protocol='credssp', service='HTTP', credssp_tls_context=context_tls)


def credentials_match(context, username, password):
    """Are the delegated credentials the host's user (DOMAIN\\user, user or user@domain) and password?"""
    creds = context.get_extra_info('client_credential')
    if creds is None or not hasattr(creds, 'password'):
        return False
    user = creds.username or ''
    if '@' in user:
        user = user.partition('@')[0]
    elif creds.domain_name:
        user = '%s\\%s' % (creds.domain_name, user)
    return principal_matches(user, username) and creds.password == password
