# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NTLM as the lab accepts it: the user files pyspnego's acceptor reads, channel bindings, user names.

pyspnego's NTLM acceptor looks the user up in the file named by the environment variable
NTLM_USER_FILE when it processes the AUTHENTICATE message.  Each distinct credential gets its own
file, and the variable is pointed at the host's file right before each acceptor step: the server
runs those steps one at a time on one thread, so a host only ever accepts its own user.
"""
from __future__ import annotations

import hashlib
import os

import spnego
try:
    # private pyspnego parsers, used only to see whether a client sent channel bindings
    from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2
    from spnego._spnego import unpack_token
except ImportError:     # another pyspnego layout: fall back to checking bindings strictly
    Authenticate = AvId = NTClientChallengeV2 = unpack_token = None

from winlab import write_file_atomic


def split_user(username):
    """'DOMAIN\\user' -> ('DOMAIN', 'user'); 'user' -> ('', 'user')."""
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
    domain, user = split_user(username)
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
    got_domain, got_user = split_user(principal or '')
    want_domain, want_user = split_user(username)
    if got_user.casefold() != want_user.casefold():
        return False
    return not got_domain or got_domain.casefold() == want_domain.casefold()


def use_user_file(user_file):
    """Point pyspnego's NTLM acceptor at a host's user file (before every step: hosts share the process)."""
    os.environ['NTLM_USER_FILE'] = user_file or os.devnull


def acceptor(user_file):
    """A fresh NTLM acceptor that knows only the host's own user."""
    use_user_file(user_file)
    return spnego.server(protocol='negotiate', service='HTTP')
