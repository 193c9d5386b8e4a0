# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two hosts of KB Q222553: a mail host whose port is bound on another host, the port host.

KB Q222553, CAUSE: "For Exchange Server to use the proxy features of Proxy Server 2.0, it must bind and listen on
port 25 of the proxy server". With a WinSock Proxy remote bind (``remote_bind``) the Exchange host has no listener of
its own: the port is held on the proxy by the WinSock Proxy service (WSPSRV) on the client's behalf, and it is there
that the SMTP service, an antivirus product or another program takes it first (RESOLUTION: "Verify that the Windows
NT SMTP service is not running on the proxy server ... that no other service or application is using port 25 of the
proxy server").

Pure functions: which ports are remote, who holds them on the port host (``judge``), and the findings that say so
(``findings``). The port host's own diagnosis is read by ``features.conflict_info``.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import diagnosis, port_checks, profiles

PROXY_SERVICE = profiles.PROXY_SERVICE
STARTED = ('running', 'start_pending')


def remote_ports(remote, port_host, port, wanted):
    """The wanted ports bound on another host: those of a configured remote bind, else the KB's port when a port host
    is named (the operator says it is bound there), else none."""
    if remote and remote.get('configured'):
        return [number for number in wanted if number in remote['ports']]
    if port_host:
        return [port]
    return []


def _for_another_client(owner):
    # The WinSock Proxy service holds the port while this host's service does not run: it holds it for another client
    # of the proxy, and this host's service cannot bind it.
    return dict(owner, kind='other', note='the WinSock Proxy service holds it for another client of the proxy')


def judge(entries, view, services, catalogue):
    """Fill in the remote entries from the port host's ``view`` (its listeners, SMTP service, gaps): owner, verdict
    and the port host's name. The WinSock Proxy service holding a port counts as the expected owner while the mail
    host's service runs (it holds it on that service's behalf), else as another program."""
    for entry in entries:
        if entry['verdict'] != 'unchecked':
            continue
        here = [listener for listener in view['listeners'] if listener.get('local_port') == entry['port']]
        smtp = view['smtp_service']
        owner = diagnosis.port_owner(diagnosis.owners(here, smtp.get('name'), PROXY_SERVICE, smtp.get('is_transport'), catalogue),
                                     view['gaps'])
        client = diagnosis.service_summary(entry['service'], services)
        if owner['kind'] == 'mail_service' and client.get('state') not in STARTED:
            owner = _for_another_client(owner)
        entry.update(host=view['host'], owner=owner, verdict=port_checks.verdict(owner, True))
    return entries


def owner_of(entries, port):
    """The owner of the KB's port as the result's ``owner`` shows it: with ``host`` when it is on the port host."""
    entry = next((item for item in entries if item['port'] == port), None)
    if entry is None or entry['owner'] is None:
        return None
    return dict(entry['owner'], host=entry['host']) if entry['host'] else entry['owner']


def _on(host, found, port=None):
    """Findings about the port host: named as such, with ``host`` (and ``port``) set."""
    out = []
    for item in found:
        item = dict(item, host=host, message='On the port host %s: %s' % (host, item['message']))
        if port is not None:
            item['port'] = port
        out.append(item)
    return out


def _bind_text(remote, service):
    ports = ', '.join(str(port) for port in remote['ports'])
    proxy = ('the WinSock Proxy server %s (%s)' % (remote['proxy'], remote['proxy_source']) if remote.get('proxy')
             else 'its WinSock Proxy server (not named in %s)' % ' or '.join(remote['files']))
    return ('%s binds TCP port %s on %s: Wspcfg.ini [%s] ServerBindTcpPorts (KB Q181420, Q181847)'
            % (service or 'The mail service', ports, proxy, remote['application'].upper()))


def _same_host(proxy, names):
    first = str(proxy).split('.', maxsplit=1)[0].lower()
    return any(str(name).split('.', maxsplit=1)[0].lower() == first for name in names if name)


def findings(result, view, port_host_names=()):
    """The findings of a remote bind: where the port is, what is wrong on the port host, what the operator must set."""
    remote, mail = result.get('remote_bind'), result['mail_service']
    out = []
    if remote and remote.get('configured'):
        text = _bind_text(remote, mail.get('name'))
        if view is None:
            running = mail.get('state') in STARTED
            out.append(diagnosis.finding(
                'REMOTE_BIND_PORT_HOST_NOT_SET', 'warning' if running else 'error',
                '%s. That host holds the port, so the cause of a bind failure is there (KB Q222553), and it is not '
                'checked: set bind_conflict_port_host (the port_host option) to its inventory name.' % text, diagnosis.KB_CAUSE))
        else:
            out.append(diagnosis.finding('REMOTE_BIND', 'info', '%s; the port host is %s.' % (text, view['host']), diagnosis.KB_CAUSE))
            if remote.get('proxy') and not _same_host(remote['proxy'], port_host_names):
                out.append(diagnosis.finding(
                    'PORT_HOST_NOT_THE_PROXY', 'warning', 'The port host %s does not look like the proxy %s that Wspcfg.ini '
                    'binds to: check bind_conflict_port_host.' % (view['host'], remote['proxy']), diagnosis.KB_CAUSE))
    if view is None:
        return out
    for entry in result['ports']:
        if entry['host'] != view['host'] or entry['verdict'] != 'conflict':
            continue
        here = [listener for listener in view['listeners'] if listener.get('local_port') == entry['port']]
        smtp = view['smtp_service']
        all_owners = [entry['owner']] if entry['owner'].get('note') else diagnosis.owners(
            here, smtp.get('name'), PROXY_SERVICE, smtp.get('is_transport'), view['catalogue'])
        found = diagnosis.port_findings(entry['port'], all_owners, entry['owner'], view['gaps'])
        for item in found:
            if entry['owner'].get('note'):
                item['message'] = item['message'][:-1] + ': %s.' % entry['owner']['note']
        out.extend(_on(view['host'], found, entry['port']))
    proxy = view['proxy_service']
    if not proxy.get('exists') and proxy.get('exists') is not None:
        out.extend(_on(view['host'], [diagnosis.finding(
            'PROXY_SERVICE_MISSING', 'error', 'the WinSock Proxy service (%s) is not installed: this host cannot hold the '
            'port for the mail host.' % PROXY_SERVICE, diagnosis.KB_CAUSE)]))
    elif proxy.get('exists') and proxy.get('state') not in STARTED:
        out.extend(_on(view['host'], [diagnosis.finding(
            'PROXY_SERVICE_NOT_RUNNING', 'error', 'the WinSock Proxy service (%s) is %s (start mode %s): the remote bind '
            'cannot be made; start it by hand (automation only starts the mail service).'
            % (PROXY_SERVICE, proxy.get('state'), proxy.get('start_mode')), diagnosis.KB_CAUSE)]))
    out.extend(_on(view['host'], diagnosis.smtp_findings(view['smtp_service'], view['smtp_service'].get('is_transport'))))
    out.extend(_on(view['host'], diagnosis.antivirus_findings(view['products'])))
    out.extend(_on(view['host'], diagnosis.gap_findings(view['gaps'])))
    return out


def summary(view):
    """The port host part of the result (what the record keeps): no raw listeners or product lists."""
    return {'host': view['host'], 'address': view['address'], 'detected_profile': view['detected_profile'],
            'smtp_service': view['smtp_service'], 'proxy_service': view['proxy_service'], 'antivirus': view['antivirus'],
            'gaps': view['gaps']}
