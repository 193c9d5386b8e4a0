# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules of Microsoft KB Q222553 as pure functions: who owns the port, what is wrong, is the host compliant.

Inputs are the normalised dicts of ``host_queries``; nothing here talks to a host.
KB sections (``kb_section``): ``Symptoms`` (the mail service fails to start and logs the bind failure),
``Cause`` (another service is already bound to port 25), and the three RESOLUTION steps in the KB's
order: ``Resolution step 1`` (the Windows SMTP service must not run), ``Resolution step 2`` (no other
service or application may use the port), ``Resolution step 3`` (the antivirus product may contribute).
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import antivirus

KB_SYMPTOMS = 'Symptoms'
KB_CAUSE = 'Cause'
KB_STEP_SMTP = 'Resolution step 1'
KB_STEP_OTHER = 'Resolution step 2'
KB_STEP_ANTIVIRUS = 'Resolution step 3'

OWNER_KINDS = ('none', 'mail_service', 'smtp_service', 'antivirus', 'other', 'unknown')
# When several processes listen (e.g. one per address), the owner reported is the most troublesome one.
_KIND_RANK = {'smtp_service': 0, 'antivirus': 1, 'other': 2, 'mail_service': 3}

# Classes whose absence hides who owns the port: without them no verdict can be given.
OWNER_CLASSES = ('MSFT_NetTCPConnection', 'Win32_Service')

_PORT_FINDINGS = {
    'smtp_service': ('PORT_HELD_BY_SMTP_SERVICE', KB_STEP_SMTP),
    'antivirus': ('PORT_HELD_BY_ANTIVIRUS', KB_STEP_ANTIVIRUS),
    'other': ('PORT_HELD_BY_OTHER', KB_STEP_OTHER),
}


def _same(name, other):
    return bool(name) and bool(other) and name.lower() == other.lower()


def _contains(names, wanted):
    return any(_same(name, wanted) for name in names or ())


def owner_services(listener):
    """``(pid, services)`` that explain a listener: its own services, else its parent's.

    The parent covers worker processes such as EdgeTransport.exe, whose parent MSExchangeTransport.exe
    hosts the service (Exchange's transport runs its work in EdgeTransport.exe, started by the service).
    """
    if listener.get('services'):
        return listener.get('pid'), list(listener['services'])
    parent = listener.get('parent_process') or {}
    if parent.get('services'):
        return parent.get('pid'), list(parent['services'])
    return listener.get('pid'), []


def port_pids(listeners):
    """PIDs that hold the port: each listener's own, and the parent that explains a worker process."""
    pids = set()
    for listener in listeners:
        pids.add(listener.get('pid'))
        pids.add(owner_services(listener)[0])
    pids.discard(None)
    return pids


def classify(listener, smtp_name, mail_name, smtp_is_transport, catalogue):
    """Return ``(kind, catalogue entry or None)`` for one listener."""
    _pid, services = owner_services(listener)
    process = listener.get('process') or {}
    # The catalogue first: an antivirus proxy stays antivirus whatever the smtp_service or mail_service options name.
    entry = catalogue.identify(services, process.get('name'))
    if entry:
        return 'antivirus', entry
    if _contains(services, mail_name) or (smtp_is_transport and _contains(services, smtp_name)):
        return 'mail_service', None
    if _contains(services, smtp_name):
        return 'smtp_service', None
    return 'other', None


def _owner_dict(kind, listener=None, entry=None):
    listener = listener or {}
    process = listener.get('process') or {}
    services = owner_services(listener)[1] if listener else []
    return {
        'kind': kind,
        'pid': listener.get('pid'),
        'process': process.get('name'),
        'path': process.get('path'),
        'services': services,
        'product': antivirus.product_ref(entry),
    }


def owners(listeners, smtp_name, mail_name, smtp_is_transport, catalogue):
    """One owner dict per distinct listening PID, most troublesome first."""
    seen = {}
    for listener in listeners:
        if listener.get('pid') in seen:
            continue
        kind, entry = classify(listener, smtp_name, mail_name, smtp_is_transport, catalogue)
        seen[listener.get('pid')] = _owner_dict(kind, listener, entry)
    return sorted(seen.values(), key=lambda owner: _KIND_RANK[owner['kind']])


def port_owner(all_owners, gaps=()):
    """The single ``owner`` of the result."""
    if any(gap.get('class') in OWNER_CLASSES for gap in gaps):
        return _owner_dict('unknown')
    return all_owners[0] if all_owners else _owner_dict('none')


def explains_failure(owner):
    """Whether the local picture explains the mail service's state: something on this host holds the port (the mail
    service itself, or the program in its way). When nothing here listens, or the owner could not be read, the
    bind-failure events and (Exchange 5.5) the WinSock Proxy client's files are what is left to say why."""
    return owner['kind'] in _KIND_RANK


def finding(code, severity, message, kb_section):
    """One finding dict: code, severity (error, warning, info), message, the KB section it comes from."""
    return {'code': code, 'severity': severity, 'message': message, 'kb_section': kb_section}


def describe(owner):
    """``PID n (image) hosting services, product`` of an owner dict, for messages."""
    text = 'PID %s (%s)' % (owner['pid'], owner['process'] or 'process name unknown')
    if owner['services']:
        text += ' hosting %s' % ', '.join(owner['services'])
    if owner['product']:
        text += ', %s %s' % (owner['product']['vendor'], owner['product']['product'])
    return text


def port_findings(port, all_owners, owner, gaps):
    """The findings about who holds ``port``: PORT_FREE, or one PORT_HELD_BY_* per troublesome owner."""
    if owner['kind'] == 'unknown':
        return []
    if not all_owners:
        return [finding('PORT_FREE', 'info', 'Nothing listens on TCP port %s.' % port, KB_CAUSE)]
    findings = []
    for item in all_owners:
        if item['kind'] in _PORT_FINDINGS:
            code, section = _PORT_FINDINGS[item['kind']]
            findings.append(finding(code, 'error', 'TCP port %s is held by %s.' % (port, describe(item)), section))
    if any(gap.get('class') == 'Win32_Process' for gap in gaps) and owner['kind'] == 'other':
        findings[-1]['message'] += ' Process names could not be read, so an antivirus product may not have been recognised.'
    return findings


def smtp_findings(smtp_service, smtp_is_transport):
    """SMTP_SERVICE_IS_TRANSPORT, or SMTP_SERVICE_ENABLED while the SMTP service can start again."""
    if not smtp_service.get('exists'):
        return []
    name = smtp_service['name']
    if smtp_is_transport:
        return [finding('SMTP_SERVICE_IS_TRANSPORT', 'info',
                        '%s is the Exchange transport on this host (Exchange 2000/2003): it must keep running and '
                        'must never be disabled; look for another program on the port instead.' % name, KB_STEP_SMTP)]
    start_mode = smtp_service.get('start_mode')
    if start_mode == 'disabled':
        return []
    # Automatic start brings the conflict back at the next boot (whichever service starts first wins the
    # port), so it is an error even while the service is stopped; manual is a warning.
    severity = 'warning' if start_mode == 'manual' else 'error'
    return [finding('SMTP_SERVICE_ENABLED', severity,
                    '%s is %s with start mode %s: it can start again and take the port; stop it and set it to disabled '
                    '(KB Q181420: "stop and disable the SMTP service from starting").'
                    % (name, smtp_service.get('state'), start_mode), KB_STEP_SMTP)]


def mail_findings(mail_service):
    """MAIL_SERVICE_MISSING or MAIL_SERVICE_NOT_RUNNING for a service summary (any service expected on a port)."""
    name = mail_service.get('name')
    if not name:
        return []
    if mail_service.get('exists') is None:
        return []  # services could not be read: DATA_GAP says so
    if not mail_service['exists']:
        return [finding('MAIL_SERVICE_MISSING', 'warning', 'The mail service %s is not installed on this host.' % name, KB_SYMPTOMS)]
    state = mail_service.get('state')
    if state == 'running':
        return []
    # A start in progress is not yet a failure; anything else means the mail service is not serving.
    severity = 'warning' if state == 'start_pending' else 'error'
    return [finding('MAIL_SERVICE_NOT_RUNNING', severity, 'The mail service %s is %s (start mode %s).'
                    % (name, state, mail_service.get('start_mode')), KB_SYMPTOMS)]


def _event_findings(events, mail_service, window_hours):
    if not events:
        return []
    newest = events[0]
    text = '%d bind-failure event(s) in the last %s h; newest: %s %s at %s' % (
        len(events), window_hours, newest.get('source'), newest.get('event_id'), newest.get('time'))
    if newest.get('winsock_error'):
        text += ' (WinSock error %s)' % newest['winsock_error']
    # Past failures of a mail service that runs now are history (e.g. after a fix), not a current fault.
    failing = bool(mail_service.get('exists')) and mail_service.get('state') not in ('running', 'start_pending')
    return [finding('BIND_FAILURE_EVENTS', 'error' if failing else 'warning', text + '.', KB_SYMPTOMS)]


def antivirus_findings(products):
    """ANTIVIRUS_PRESENT for the products that do not hold the port themselves."""
    others = [product for product in products if not product.get('holds_port')]
    if not others:
        return []
    names = ', '.join('%s%s' % (antivirus.product_text(p), ' (scans mail)' if p['mail_scanning'] else '') for p in others)
    severity = 'warning' if any(p['mail_scanning'] for p in others) else 'info'
    return [finding('ANTIVIRUS_PRESENT', severity,
                    'Antivirus present: %s. The KB names antivirus as a possible contributor: test with it disabled '
                    'and contact the vendor; automation never stops it.' % names, KB_STEP_ANTIVIRUS)]


def gap_findings(gaps):
    """One DATA_GAP per class that could not be read (an error when it hides the owner)."""
    return [finding('DATA_GAP', 'error' if gap.get('class') in OWNER_CLASSES else 'warning',
                    '%s could not be read: %s.' % (gap.get('class'), gap.get('error')), None) for gap in gaps]


def diagnose(port, profile, listeners, smtp_service, mail_service, products, events, gaps, catalogue, window_hours=72):
    """The verdict: ``{'owner', 'findings', 'compliant'}``.

    ``profile``: a ``profiles.Profile``; ``smtp_service``/``mail_service``: summaries from
    ``service_summary``; ``products``: ``antivirus.find_products`` output; ``gaps``: [{class, error}].
    A host is compliant when no finding is an error.
    """
    all_owners = owners(listeners, smtp_service.get('name'), mail_service.get('name'), profile.smtp_is_transport, catalogue)
    owner = port_owner(all_owners, gaps)
    findings = (port_findings(port, all_owners, owner, gaps)
                + smtp_findings(smtp_service, profile.smtp_is_transport)
                + mail_findings(mail_service)
                + _event_findings(events, mail_service, window_hours)
                + antivirus_findings(products)
                + gap_findings(gaps))
    return {'owner': owner, 'findings': findings, 'compliant': not any(f['severity'] == 'error' for f in findings)}


def service_summary(name, services, is_transport=None):
    """``{name, exists, state, start_mode, pid}`` of one service from a list of normalised services.

    ``services`` is None when they could not be read: ``exists`` is then None (unknown).
    """
    match = next((service for service in services or () if _same(service.get('name'), name)), None)
    summary = {
        'name': match['name'] if match else name,
        'exists': (match is not None) if services is not None and name else (None if name else False),
        'state': match.get('state') if match else None,
        'start_mode': match.get('start_mode') if match else None,
        'pid': match.get('pid') if match else None,
    }
    if is_transport is not None:
        summary['is_transport'] = is_transport
    return summary
