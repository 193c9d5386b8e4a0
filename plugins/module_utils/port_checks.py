# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every listener of the profile: which ports a mail host must own, who holds each one, and the verdict per port.

Pure functions over the normalised dicts of ``host_queries``. The port the KB is about (option ``port``, 25) comes
first and keeps the rules of ``diagnosis``; the other ports of the profile (Exchange 2013 and later: 587, 717, 2525,
465, 475) or of the ``ports`` option are judged the same way, each against the service expected on it: the same
10048 failure on 2525 stops the Transport service as surely as one on 25 stops the front end.

Verdicts: ``ok`` (the expected service holds it), ``conflict`` (the SMTP service, antivirus or another program holds
it), ``free`` (nothing listens), ``unknown`` (the owner could not be read), ``not_installed`` (the expected service is
not on this host: the port is not this host's business), ``remote`` (the port is bound on another host, see
``topology``), ``unchecked`` (bound on another host that is not configured).
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import diagnosis, errors, profiles, wql

MAX_PORTS = 32
VERDICTS = ('ok', 'conflict', 'free', 'unknown', 'not_installed', 'remote', 'unchecked')
_VERDICT_OF_KIND = {'mail_service': 'ok', 'none': 'free', 'unknown': 'unknown',
                    'smtp_service': 'conflict', 'antivirus': 'conflict', 'other': 'conflict'}

PORTS_OPTION_SPEC = dict(type='list', elements='dict', options=dict(port=dict(type='int', required=True), service=dict(type='str')))


def check_option(entries, host=None):
    """The ``ports`` option checked: ``[(port, service or None)]``, or None when it is not set."""
    if entries is None:
        return None
    if not isinstance(entries, list) or not entries or len(entries) > MAX_PORTS:
        raise errors.InvalidOption('ports must list 1 to %d ports' % MAX_PORTS, host=host)
    out, seen = [], set()
    for index, entry in enumerate(entries):
        port = entry.get('port') if isinstance(entry, dict) else None
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise errors.InvalidOption('ports[%d].port must be a TCP port number from 1 to 65535, got %r' % (index, port), host=host)
        if port in seen:
            raise errors.InvalidOption('ports lists port %d twice' % port, host=host)
        seen.add(port)
        service = entry.get('service')
        if service is not None:
            # Windows service names have no slashes; quotes would not survive a record's check before a rollback.
            if not isinstance(service, str) or not service.strip() or any(c in service for c in '\'"\\/'):
                raise errors.InvalidOption('ports[%d].service must be a non-empty service name without quotes or slashes'
                                           % index, host=host)
            try:
                wql.quote(service, 'ports[%d].service' % index)
            except errors.InvalidOption as exc:
                raise errors.InvalidOption(exc.msg, host=host) from None
        out.append((port, service))
    return out


def wanted(profile_name, port, mail_service, option=None):
    """``[(port, expected service)]``: the KB's port with the mail service first, then the profile's other listeners
    (or the ``ports`` option, whose entries without a service take the profile's, else the mail service)."""
    named = dict(profiles.listeners(profile_name))
    if option is not None:
        pairs = [(number, service or named.get(number) or mail_service) for number, service in option]
    else:
        pairs = list(named.items())
    pairs = [(number, service) for number, service in pairs if number != port]
    return [(port, mail_service)] + pairs


def verdict(owner, service_exists):
    if service_exists is False:
        return 'not_installed'
    return _VERDICT_OF_KIND[owner['kind']]


def judge(pairs, listeners, smtp_name, smtp_is_transport, catalogue, gaps, services, remote=()):
    """One entry per wanted port: ``{port, service, host, owner, verdict, greeting}``.

    ``listeners``: every listener on the wanted ports; ``services``: the normalised services of the host (None when
    unreadable); ``remote``: ports bound on another host (their owner is found there).
    """
    entries = []
    for port, service in pairs:
        summary = diagnosis.service_summary(service, services)
        if port in remote:
            entries.append({'port': port, 'service': service, 'host': None, 'owner': None, 'verdict': 'unchecked', 'greeting': None})
            continue
        here = [listener for listener in listeners if listener.get('local_port') == port]
        owner = diagnosis.port_owner(diagnosis.owners(here, smtp_name, service, smtp_is_transport, catalogue), gaps)
        entries.append({'port': port, 'service': service, 'host': None, 'owner': owner,
                        'verdict': verdict(owner, summary['exists'] if service else None), 'greeting': None})
    return entries


def expected_services(entries, services):
    """Summaries of the distinct services expected on the ports, in port order (the mail service first)."""
    seen, out = set(), []
    for entry in entries:
        name = entry['service']
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(diagnosis.service_summary(name, services))
    return out


def findings(entries, listeners, smtp_name, smtp_is_transport, catalogue, gaps, summaries):
    """The findings of the ports after the first (the KB's port has its own, from ``diagnosis``): each owner that holds
    one in conflict, and each expected service other than the mail service that does not run."""
    out = []
    for entry in entries[1:]:
        if entry['verdict'] != 'conflict' or entry['host']:
            continue
        here = [listener for listener in listeners if listener.get('local_port') == entry['port']]
        all_owners = diagnosis.owners(here, smtp_name, entry['service'], smtp_is_transport, catalogue)
        for item in diagnosis.port_findings(entry['port'], all_owners, entry['owner'], gaps):
            item['message'] = item['message'].replace(
                'TCP port %s ' % entry['port'], 'TCP port %s (the port of %s) ' % (entry['port'], entry['service']), 1)
            item['port'] = entry['port']
            out.append(item)
    for summary in summaries[1:]:
        if summary.get('exists'):   # not installed: that port is not this host's business
            out.extend(diagnosis.mail_findings(summary))
    return out
