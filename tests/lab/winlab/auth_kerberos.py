# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos as a Windows host accepts it: pyspnego's acceptor (gssapi + MIT krb5) pinned to the host's SPN.

The fleet's keytab holds every Kerberos host's HTTP/<fqdn> key.  An acceptor given no credentials would
accept a ticket for any of them, so each host acquires its own SPN only (`credentials='HTTP@<fqdn>'`): a
ticket for another host's SPN fails here as it fails on Windows.  The client principal must be the host's
user as the realm names it (user@REALM).  Tokens come under `Negotiate` (raw krb5 as pywinrm sends it, or
inside SPNEGO as pypsrp sends it) or `Kerberos`; the answer carries the AP-REP for mutual authentication.
Over HTTPS, channel bindings (tls-server-end-point) the client sends must match the certificate.
"""
from __future__ import annotations

import spnego

try:
    import gssapi  # noqa: F401  pylint: disable=unused-import  # what pyspnego's Kerberos acceptor runs on
    import krb5  # noqa: F401  pylint: disable=unused-import
    MISSING = None
except ImportError as exc:
    MISSING = str(exc)


def check_available():
    """Raise RuntimeError naming what is missing when this Python cannot accept Kerberos."""
    if MISSING:
        raise RuntimeError('Kerberos hosts need the Python packages gssapi and krb5 (pip install "pyspnego[kerberos]", '
                           'pinned in requirements/dev.txt): %s' % MISSING)


def acceptor(fqdn):
    """A fresh acceptor for HTTP/<fqdn> only (one per handshake; the replay cache keeps tickets single-use)."""
    return spnego.server(protocol='negotiate', service='HTTP', hostname=fqdn, credentials='HTTP@' + fqdn)


def principal_matches(principal, wanted):
    """Is the ticket's client 'user@REALM' the host's user? (AD compares names without regard to case.)"""
    return bool(principal) and principal.rstrip('\x00').casefold() == wanted.casefold()


def delegated(context):
    """Did the client forward its ticket-granting ticket (kerberos_delegation)?"""
    return bool(context.context_attr & spnego.ContextReq.delegate)
