# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port host: the inventory host on which a mail host's port is bound (the Proxy Server 2.0 host of KB Q222553).

Options ``port_host`` (its inventory name) and ``port_host_connection`` (its own ``winrm_*`` settings, which the
action plugin reads from that host's inventory variables: never the mail host's). One more WinRM session per task,
opened only when a port host is named.

Kerberos: the task's ticket lives in one credential cache of this process (``kerberos.ticket``). A port host over
Kerberos gets its own ticket when the mail host does not use Kerberos, and shares the mail host's when both use the
same user (one ticket-granting ticket serves both service tickets); two Kerberos users in one task are refused.
"""

from __future__ import annotations

import contextlib
import copy
import re

from ansible_collections.mailops.port25.plugins.module_utils import connection, errors, kerberos, text
from ansible_collections.mailops.port25.plugins.module_utils.wsman import WSManClient

_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$')


def connection_spec():
    """The ``winrm_*`` options as suboptions: no environment fallbacks (those are the mail host's settings)."""
    spec = copy.deepcopy(connection.WINRM_ARGSPEC)
    for option in spec.values():
        option.pop('fallback', None)
    return spec


ARGUMENT_SPEC = dict(
    port_host=dict(type='str'),
    port_host_connection=dict(type='dict', options=connection_spec()),
)


def check(params, host=None):
    """The port host's name, or None; InvalidOption when it is not usable (nothing has been asked of any host yet)."""
    name = params.get('port_host')
    if name is None or name == '':
        if params.get('port_host_connection'):
            raise errors.InvalidOption('port_host_connection goes with port_host', host=host)
        return None
    if not isinstance(name, str) or not _NAME.match(name):
        raise errors.InvalidOption('port_host must be an inventory host name, got %r' % text.printable(name), host=host)
    if host and name.lower() == str(host).lower():
        raise errors.InvalidOption('port_host %s is this host itself: name the host on which its port is bound' % name, host=host)
    if not params.get('port_host_connection'):
        raise errors.InvalidOption(
            'port_host %s has no connection settings: run the task through its action plugin (the settings are read from '
            'that host\'s inventory variables) or give port_host_connection' % name, host=host)
    return name


def settings(params, host=None):
    """The port host's validated ConnectionSettings (errors name the port host, never a password)."""
    name = check(params, host)
    try:
        return connection.settings_from_params(params['port_host_connection'])
    except errors.InvalidOption as exc:
        raise errors.InvalidOption('port_host %s: %s' % (name, exc.msg), host=host) from None


def _ticket(port_settings, main_settings, name, host):
    """The Kerberos context the port host's session needs (see the module doc)."""
    if port_settings.transport != 'kerberos':
        return contextlib.nullcontext()
    if main_settings is None or main_settings.transport != 'kerberos':
        return kerberos.ticket(port_settings)
    if str(port_settings.user or '').lower() != str(main_settings.user or '').lower():
        raise errors.InvalidOption(
            'port_host %s uses Kerberos as %s, and this host as %s: one task holds one Kerberos ticket; use the same user '
            'for both hosts, or another transport for the port host' % (name, port_settings.user, main_settings.user), host=host)
    return contextlib.nullcontext()     # this host's ticket serves both


@contextlib.contextmanager
def session(params, host=None, main_settings=None, factory=None):
    """A WSManClient for the port host while the block runs (None when no port host is named); closed afterwards."""
    name = check(params, host)
    if name is None:
        yield None
        return
    port_settings = settings(params, host)
    with _ticket(port_settings, main_settings, name, host):
        client = (factory or WSManClient)(port_settings)
        try:
            yield client
        finally:
            client.close()
