# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conflict_info: the whole KB Q222553 diagnosis of one host in one session and as few WS-Man requests as the verdict needs.

Windows answers a query of many instances with the first one and the rest by Pull (two requests), of one instance
whole (one request), so every query is narrow: listeners on every port the profiles name (MSFT_NetTCPConnection), the
services the verdict names, the antivirus catalogue's and those in the listening processes, the listening processes
(and the catalogue's images not shown by a running service). Over NTLM/HTTP, with the two authentication legs, that
is seven HTTP requests on a healthy host and on one whose port another program holds.

Only when the local picture does not explain the mail service's state (nothing here holds its port, or the owner
could not be read): the bind-failure events of the profile within the window, and on Exchange 5.5 hosts the WinSock
Proxy remote bind (``remote_bind``: one cmd shell ``type``, five requests). The conflict module reads the events
always (its verification compares them). Only with a port host: its own narrow reads. Then the SMTP greeting of each
held port, from the controller.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import (
    antivirus, diagnosis, host_queries as hq, port_checks, port_host, profiles, remote_bind, smtp_greeting, topology)

ARGUMENT_SPEC = dict(
    port=dict(type='int', default=25),
    ports=port_checks.PORTS_OPTION_SPEC,
    smtp_service=dict(type='str', default=profiles.SMTP_SERVICE),
    mail_service=dict(type='str'),
    profile=dict(type='str', default='auto', choices=list(profiles.PROFILE_CHOICES)),
    event_window_hours=dict(type='int', default=72),
    greeting=dict(type='bool', default=True),
    greeting_timeout=dict(type='int', default=10),
    greeting_pattern=dict(type='str'),
    antivirus_catalogue=antivirus.OPTION_SPEC,
    **port_host.ARGUMENT_SPEC
)
SUPPORTS_CHECK_MODE = True

# Every port any profile names: one listener query answers them all before the profile is known.
PROFILE_PORTS = sorted(set(number for name in profiles.PROFILE_NAMES for number, _service in profiles.listeners(name)))


def check_params(params, host):
    hq.check_port(host, params['port'])
    hq.check_window(host, params['event_window_hours'], 'event_window_hours')
    hq.check_name(host, params['smtp_service'], 'smtp_service')
    hq.check_name(host, params.get('mail_service'), 'mail_service')
    hq.check_catalogue(host, params.get('antivirus_catalogue'))


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only: check mode and diff change nothing here."""
    with port_host.session(params, params.get('host_name') or client.host, getattr(client, 'settings', None)) as port_client:
        return diagnose(client, params, port_client, all_events=False)[0]


def check_params(params, host):
    """Every option checked before the client exists: bad input changes nothing and costs no round trip."""
    options(params, host)


def options(params, host):
    """The checked options and what is derived from them (the ports wanted, the compiled greeting pattern)."""
    return {
        'port': hq.check_port(host, params['port']),
        'ports': port_checks.check_option(params.get('ports'), host),
        'window': hq.check_window(host, params['event_window_hours'], 'event_window_hours'),
        'smtp_name': hq.check_name(host, params['smtp_service'], 'smtp_service'),
        'mail_option': hq.check_name(host, params.get('mail_service'), 'mail_service'),
        'catalogue': hq.check_catalogue(host, params.get('antivirus_catalogue')),
        'pattern': smtp_greeting.check_pattern(params.get('greeting_pattern'), host),
        'greeting_timeout': smtp_greeting.check_timeout(params.get('greeting_timeout', 10), host),
        'port_host': port_host.check(params, params.get('host_name') or host),
    }


def verdict_services(opts):
    """The services a verdict names: the SMTP service, the mail service option, those of the ports option and every
    service the profiles detect or expect (the profile is known only from the answer)."""
    return [opts['smtp_name'], opts['mail_option']] + list(profiles.SERVICE_NAMES) + \
        [service for _number, service in opts['ports'] or ()]


def diagnose(client, params, port_client=None, all_events=True):
    """The diagnosis result and the antivirus catalogue it used (the conflict module's rules need both).

    ``params`` have passed ``check_params``; deriving them again here costs no request. ``all_events``: read the
    bind-failure events even when the local picture explains the mail service's state (the conflict module compares
    them before and after a fix); conflict_info reads them only when it does not.
    """
    opts = options(params, client.host)
    port, catalogue, smtp_name = opts['port'], opts['catalogue'], opts['smtp_name']

    gaps = []
    asked = sorted(set([port] + PROFILE_PORTS + [number for number, _service in opts['ports'] or ()]))
    all_listeners, services, processes = hq.read_port_holders(client, asked, gaps, names=verdict_services(opts),
                                                              catalogue=catalogue)
    names = [s['name'] for s in services or ()]
    profile, profile_source = profiles.resolve(params['profile'], names)

    pairs = port_checks.wanted(profile.name, port, opts['mail_option'] or profile.mail_service, opts['ports'])
    checked_ports = set(number for number, _service in pairs)
    listeners = [item for item in all_listeners if item.get('local_port') in checked_ports]
    products = antivirus.find_products(catalogue, services or [], processes or [], diagnosis.port_pids(listeners))
    smtp_service = diagnosis.service_summary(smtp_name, services)
    smtp_service['is_transport'] = bool(profile.smtp_is_transport and smtp_service['exists'])
    mail_service = diagnosis.service_summary(opts['mail_option'] or profile.mail_service, services)
    main = [item for item in listeners if item.get('local_port') == port]
    explained = diagnosis.explains_failure(diagnosis.port_owner(
        diagnosis.owners(main, smtp_name, mail_service.get('name'), profile.smtp_is_transport, catalogue), gaps))

    events = []
    if profile.events and (all_events or not explained):
        events = hq.read_events_tolerant(client, hq.since_hours(opts['window']), gaps, signatures=profile.events)
    remote = None
    if profile.name == 'exchange55' and mail_service.get('exists') and not explained:
        remote = remote_bind.read(client, service_path(mail_service, services, processes), gaps)
    remote_ports = topology.remote_ports(remote, opts['port_host'], port, [number for number, _service in pairs])
    verdict = diagnosis.diagnose(port, profile, main, smtp_service, mail_service, products, events or [], gaps,
                                 catalogue, window_hours=opts['window'])
    entries = port_checks.judge(pairs, listeners, smtp_name, profile.smtp_is_transport, catalogue, gaps, services, remote_ports)
    summaries = port_checks.expected_services(entries, services)
    findings = verdict['findings'] + port_checks.findings(entries, listeners, smtp_name, profile.smtp_is_transport,
                                                          catalogue, gaps, summaries)
    result = {
        'changed': False,
        'host': client.host,
        'port': port,
        'profile': profile.name,
        'profile_source': profile_source,
        'detected_profile': profiles.detect(names) if services is not None else None,
        'listeners': main,
        'owner': verdict['owner'],
        'smtp_service': smtp_service,
        'mail_service': mail_service,
        'port_services': summaries,
        'ports': entries,
        'remote_bind': remote,
        'port_host': None,
        'antivirus': antivirus.summary(products),
        'events': events or [],
        'findings': findings,
        'gaps': gaps,
    }
    view = port_host_view(port_client, opts, remote_ports, catalogue) if port_client is not None and remote_ports else None
    if view is not None:
        topology.judge(entries, view, services, catalogue)
        result['port_host'] = topology.summary(view)
    if port in remote_ports:
        # The KB's port is not on this host: "nothing listens" here is not a finding, the port host's owner is the owner.
        result['findings'] = [item for item in findings if item['code'] != 'PORT_FREE']
        result['owner'] = topology.owner_of(entries, port) or dict(
            diagnosis.port_owner([]), kind='unknown', note='is not known: the port is bound on another host (a WinSock Proxy remote '
                                                           'bind) that is not checked; set port_host')
    result['findings'] += topology.findings(result, view, port_host_names(params, port_client))
    if params.get('greeting'):
        greet(entries, client, port_client, opts)
        result['findings'] += smtp_greeting.findings(entries)
    result['greeting'] = next((entry['greeting'] for entry in entries if entry['port'] == port), None)
    result['compliant'] = not any(item['severity'] == 'error' for item in result['findings'])
    return result, catalogue


def service_path(mail_service, services, processes):
    """The mail service's image path: from its process when it runs and was read, else from its PathName."""
    pid = mail_service.get('pid')
    process = next((item for item in processes or () if pid and item.get('pid') == pid), None)
    if process and process.get('path'):
        return process['path']
    found = next((item for item in services or () if (item.get('name') or '').lower() == mail_service['name'].lower()), None)
    return found['path'] if found else None


def port_host_view(port_client, opts, ports, catalogue):
    """What the port host says about the remote ports: its narrow listener, service and process reads; no events."""
    gaps = []
    listeners, services, processes = hq.read_port_holders(port_client, ports, gaps, names=verdict_services(opts),
                                                          catalogue=catalogue)
    names = [s['name'] for s in services or ()]
    detected = profiles.detect(names) if services is not None else None
    smtp = diagnosis.service_summary(opts['smtp_name'], services)
    smtp['is_transport'] = bool(detected and profiles.PROFILES[detected].smtp_is_transport and smtp['exists'])
    products = antivirus.find_products(catalogue, services or [], processes or [], diagnosis.port_pids(listeners))
    return {'host': opts['port_host'], 'address': port_client.host, 'detected_profile': detected, 'listeners': listeners,
            'smtp_service': smtp, 'proxy_service': diagnosis.service_summary(profiles.PROXY_SERVICE, services),
            'antivirus': antivirus.summary(products), 'products': products, 'gaps': gaps, 'catalogue': catalogue}


def port_host_names(params, port_client):
    """What the port host is called: its inventory name and the address the task reaches it at."""
    return [params.get('port_host'), getattr(port_client, 'host', None)]


def greet(entries, client, port_client, opts):
    """The SMTP greeting of every port something holds (from the controller; QUIT only, never mail)."""
    for entry in entries:
        if entry['verdict'] not in ('ok', 'conflict', 'unknown'):
            continue
        address = port_client.host if entry['host'] and port_client is not None else client.host
        found = smtp_greeting.read_greeting(address, entry['port'], opts['greeting_timeout'])
        entry['greeting'] = smtp_greeting.evidence(found, smtp_greeting.expected_software(entry['service']), opts['pattern'])
