# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""service_info: Windows services by name or glob pattern, with the services that depend on them."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_queries as hq, wql

ARGUMENT_SPEC = dict(
    name=dict(type='list', elements='str', required=True, aliases=['names']),
    dependents=dict(type='bool', default=True),
)
SUPPORTS_CHECK_MODE = True

# The keys of each returned service (the module's RETURN), taken from the collection's service dict.
RETURNED = ('name', 'display_name', 'state', 'start_mode', 'delayed_auto_start', 'pid', 'path')


def check_params(params, host):
    if not params['name']:
        raise errors.InvalidOption('name must list at least one service name or pattern', host=host)
    for name in params['name']:
        hq.check_name(host, name, 'name')


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only. One request for the services, one more for the dependency links when asked."""
    wanted = params['name']
    names = [name for name in wanted if not wql.is_glob(name)]
    patterns = [name for name in wanted if wql.is_glob(name)]
    services = [dict((key, service[key]) for key in RETURNED)
                for service in hq.read_services(client, names=names, patterns=patterns, properties=hq.SERVICE_PROPERTIES)]
    services.sort(key=lambda service: service['name'].lower())
    found = {service['name'].lower() for service in services}
    gaps = []
    if params['dependents'] and services:
        # Not readable (denied, timed out, or no such class on this host): a gap, and the services are kept.
        links = hq.read_dependents_tolerant(client, gaps)
        for service in services:
            service['dependents'] = None if links is None else sorted(links.get(service['name'].lower(), []), key=str.lower)
    return {
        'changed': False,
        'host': client.host,
        'exists': bool(services),
        'services': services,
        'missing': [name for name in names if name.lower() not in found],
        'gaps': gaps,
    }
