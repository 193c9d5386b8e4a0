# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KB Q222553 fix as pure functions: what to change (``plan``), whether it worked (``verify``) and how to undo
a recorded run (``rollback_plan``).

Inputs are plain dicts: a ``conflict_info`` result (the diagnosis) and the validated options. Nothing here talks to a
host. The safety rules live in ``refusal`` and are applied to every change this collection makes, planned or rolled
back; no option reaches them:

- a service the antivirus catalogue matches is never stopped, disabled or started (checked first, whatever
  ``smtp_service`` or ``allowed_to_stop`` say);
- a few services Windows or this collection's own connection need are never changed;
- the WinSock Proxy service of Proxy Server 2.0 (WSPSRV), which holds the mail host's port on a proxy, is never
  stopped or disabled;
- the SMTP service is never stopped or disabled where it is the Exchange 2000/2003 transport (detected from the
  installed services; a forced profile that says otherwise is refused);
- only the SMTP service is stopped or disabled, and only while it is on ``allowed_to_stop``; only the mail service
  (and the services the profile expects on its other ports) is started; nothing else (no process is ever killed:
  there is no such action).

The same rules hold on a port host (the proxy server of KB Q222553, where the mail host's port is bound): there only
the SMTP service may be stopped and disabled, nothing is ever started. Its actions carry ``host``.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.mailops.port25.plugins.module_utils import errors, profiles
from ansible_collections.mailops.port25.plugins.module_utils.antivirus import product_text
from ansible_collections.mailops.port25.plugins.module_utils.features import service as service_feature

REPORT_FORMAT = 1

# Services whose stop would take down Windows itself or the WinRM session this collection talks through.
PROTECTED_SERVICES = frozenset(name.lower() for name in (
    'WinRM', 'Winmgmt', 'RpcSs', 'RpcEptMapper', 'DcomLaunch', 'EventLog', 'LanmanServer', 'LanmanWorkstation',
    'Netlogon', 'SamSs', 'Dnscache', 'Dhcp', 'NlaSvc', 'BFE', 'MpsSvc', 'CryptSvc', 'PlugPlay', 'Power', 'lsass'))

ACTIONS = ('stop', 'set_start_mode', 'start')
RESTORABLE_STATES = ('running', 'stopped')
RESTORABLE_START_MODES = ('auto', 'manual', 'disabled')
RECORDED_STATES = RESTORABLE_STATES + ('start_pending', 'stop_pending', 'paused', 'unknown')
PENDING = ('start_pending', 'stop_pending')

# Flag codes: what is left for a human, with the advice that follows KB Q222553's resolution.
ADVICE = {
    'ANTIVIRUS_HOLDS_PORT': (
        'KB Q222553: some antivirus products are a contributing factor. As a test, disable the antivirus product by hand '
        '(its mail scanning / SMTP proxy) and start the mail service; if it then starts, contact the antivirus vendor to '
        'stop the product from binding the port. This automation never stops or disables antivirus.'),
    'UNKNOWN_OWNER': (
        'KB Q222553: make sure no other service or application uses the port. Identify the program that holds it '
        '(process and path above), stop or reconfigure it by hand, then run the remediation again.'),
    'SMTP_SERVICE_IS_TRANSPORT': (
        'On Exchange 2000/2003 the SMTP service is the Exchange transport: it must keep the port, so it is never stopped '
        'or disabled. Look for another program on the port if mail still fails.'),
    'SMTP_SERVICE_NOT_ALLOWED': (
        'The SMTP service is not on the allowed list (allowed_to_stop), so it is left alone. Add it to the list to let '
        'the automation stop and disable it, or stop and disable it by hand (KB Q222553: the SMTP service must not run).'),
    'SERVICE_REFUSED': (
        'The safety rules of this collection forbid the change: antivirus, the Exchange transport and the services '
        'Windows needs are never changed by automation. Check the smtp_service and mail_service options.'),
    'ROLLBACK_REFUSED': (
        'Rollback only undoes what the remediation can do (stop and disable the allowed SMTP service, start the mail '
        'service) and only while each service is still as the run left it. Check the report, or put the service back '
        'by hand; force=true skips only the check that the service is unchanged since the run.'),
}

# The services a change may concern on this host, and what protects them. ``listeners``: the services the profile
# expects on its other ports (started like the mail service).
Context = namedtuple('Context', ['smtp', 'mail', 'allowed', 'transport', 'catalogue', 'listeners'], defaults=((),))


def _same(name, other):
    return bool(name) and bool(other) and str(name).lower() == str(other).lower()


def context(diagnosis, options, catalogue):
    """The names and protections that every rule below reads, from the diagnosis and the options.

    The transport rule follows the installed services as well as the profile: a host whose services are those of
    Exchange 2000/2003 keeps its SMTP service even when a profile option says otherwise.
    """
    detected = diagnosis.get('detected_profile')
    transport = bool(diagnosis['smtp_service'].get('is_transport')) or bool(
        detected and profiles.PROFILES[detected].smtp_is_transport)
    return Context(smtp=diagnosis['smtp_service'].get('name') or options['smtp_service'],
                   mail=diagnosis['mail_service'].get('name'),
                   allowed=tuple(options.get('allowed_to_stop') or ()),
                   transport=transport, catalogue=catalogue,
                   listeners=tuple(item['name'] for item in diagnosis.get('port_services') or () if item.get('name')))


def port_context(diagnosis, options, catalogue):
    """The rules on the port host: only its SMTP service may change (stopped and disabled, or put back); nothing is
    started there; the transport rule follows that host's own installed services."""
    view = diagnosis.get('port_host')
    if not view:
        return None
    detected = view.get('detected_profile')
    transport = bool(view['smtp_service'].get('is_transport')) or bool(detected and profiles.PROFILES[detected].smtp_is_transport)
    return Context(smtp=view['smtp_service'].get('name') or options['smtp_service'], mail=None,
                   allowed=tuple(options.get('allowed_to_stop') or ()), transport=transport, catalogue=catalogue)


def check_profile(option, detected, host=None):
    """A forced profile must not contradict the installed services (which would switch off the transport rule)."""
    if option in (None, 'auto') or detected in (None, 'generic') or option == detected:
        return
    raise errors.InvalidOption(
        'profile=%s contradicts the installed services, which are those of %s (%s); nothing was changed. Remove the '
        'profile option (auto detects it) or set it to %s' % (option, detected, profiles.PROFILES[detected].description, detected),
        host=host, operation='conflict')


def antivirus_entry(name, catalogue):
    """The catalogue entry of a service by its name, or by an image name it shares (TmProxy runs TmProxy.exe)."""
    if not name:
        return None
    return catalogue.identify([name], None if name.lower().endswith('.exe') else name + '.exe')


def refusal(kind, name, ctx, undo=False, recorded=False):
    """Why the change ``kind`` (stop, disable, enable, start) of service ``name`` is forbidden, or None.

    ``undo``: the change puts back what a remediation did (start or enable the SMTP service, stop the mail service).
    ``recorded``: the change is read from a record (the refusal then says the remediation never makes it).
    """
    entry = antivirus_entry(name, ctx.catalogue)
    if entry:
        return ('%s is %s, an antivirus product: automation never stops, disables or starts antivirus'
                % (name, product_text(entry)))
    if str(name).lower() in PROTECTED_SERVICES:
        return '%s is a service Windows or the WinRM connection needs: automation never changes it' % name
    if kind in ('stop', 'disable') and _same(name, profiles.PROXY_SERVICE):
        return ('%s is the WinSock Proxy service, which holds the port for the mail host (a remote bind): it is never stopped '
                'or disabled' % name)
    is_smtp = _same(name, ctx.smtp)
    is_mail = _same(name, ctx.mail) or any(_same(name, other) for other in ctx.listeners)
    if kind in ('stop', 'disable') and is_smtp and ctx.transport:
        return '%s is the Exchange transport on this host (Exchange 2000/2003): it is never stopped or disabled' % name
    smtp_kinds = ('start', 'enable') if undo else ('stop', 'disable')
    mail_kinds = ('stop',) if undo else ('start',)
    if kind in smtp_kinds and is_smtp:
        if not any(_same(name, allowed) for allowed in ctx.allowed):
            return '%s is not on the allowed list (allowed_to_stop: %s)' % (name, ', '.join(ctx.allowed) or 'empty')
        return None
    if kind in mail_kinds and is_mail and (not is_smtp or ctx.transport):
        return None
    if undo or recorded:
        return 'the remediation never changes %s that way, so there is nothing of it to undo' % name
    return 'only the SMTP service (%s) may be stopped or disabled and only the mail service (%s) started' % (
        ctx.smtp, ctx.mail or 'none')


def change_kinds(before, after):
    """The kinds of change (stop, disable, enable, start) that take a service from ``before`` to ``after``."""
    kinds = []
    if before.get('state') != 'stopped' and after.get('state') == 'stopped':
        kinds.append('stop')
    if before.get('start_mode') != after.get('start_mode'):
        kinds.append('disable' if after.get('start_mode') == 'disabled' else 'enable')
    if before.get('state') != 'running' and after.get('state') == 'running':
        kinds.append('start')
    return kinds


# ---------------------------------------------------------------------------------------------------- plan

def _where(owner):
    text = '%s (PID %s' % (owner.get('process') or 'unknown process', owner.get('pid'))
    if owner.get('path'):
        text += ', %s' % owner['path']
    return text + ')'


def _flag(code, message):
    return {'code': code, 'message': message, 'advice': ADVICE[code]}


def _tense(predicted, past, conditional):
    return conditional if predicted else past


def _owner_flags(owner, port, gaps, predicted, host=None):
    not_started = _tense(predicted, 'the mail service was not started', 'the mail service would not be started')
    kind = owner['kind']
    port = '%s of the port host %s' % (port, host) if host else port
    if kind == 'antivirus':
        product = product_text(owner['product']) if owner.get('product') else 'an antivirus product'
        return [_flag('ANTIVIRUS_HOLDS_PORT', 'Port %s is held by %s: %s; %s.' % (port, product, _where(owner), not_started))]
    if kind == 'other':
        why = ' (%s)' % owner['note'] if owner.get('note') else ''
        return [_flag('UNKNOWN_OWNER', 'Port %s is held by %s%s, which is neither the SMTP service nor a known antivirus '
                                       'product; %s.' % (port, _where(owner), why, not_started))]
    if kind == 'unknown':
        why = owner.get('note') or 'could not be read (%s)' % ', '.join(gap.get('class') or '?' for gap in gaps)
        return [_flag('UNKNOWN_OWNER', 'The owner of port %s %s; %s.'
                      % (port, why, _tense(predicted, 'nothing was changed', 'nothing would be changed')))]
    return []


def port_entries(diagnosis):
    """``[{port, host, owner, service}]`` the plan judges: every checked port of the diagnosis (the KB's port with the
    result's ``owner``), or only the KB's port for a diagnosis without ``ports``. Ports whose expected service is not
    installed, or that are bound on a host that was not checked, are left out."""
    main = {'port': diagnosis['port'], 'host': (diagnosis['owner'] or {}).get('host'), 'owner': diagnosis['owner'],
            'service': (diagnosis.get('mail_service') or {}).get('name')}
    entries = [main]
    for entry in diagnosis.get('ports') or ():
        if entry['port'] == diagnosis['port'] or entry['owner'] is None or entry['verdict'] == 'not_installed':
            continue
        entries.append({'port': entry['port'], 'host': entry.get('host'), 'owner': entry['owner'], 'service': entry['service']})
    return entries


def _hosts(diagnosis, ctx, options, catalogue):
    """``[(host or None, SMTP service summary, Context, what to call it)]``: the mail host, then the port host."""
    hosts = [(None, diagnosis['smtp_service'], ctx, 'this %s host' % (diagnosis.get('detected_profile') or diagnosis['profile']))]
    view = diagnosis.get('port_host')
    if view:
        hosts.append((view['host'], view['smtp_service'], port_context(diagnosis, options, catalogue), 'the port host %s' % view['host']))
    return hosts


def _on_host(actions, host):
    return [dict(action, host=host) for action in actions] if host else actions


def _will_be_free(entry, stopping):
    kind = entry['owner']['kind']
    return kind in ('none', 'mail_service') or (kind == 'smtp_service' and entry['host'] in stopping)


def plan(diagnosis, options, catalogue, predicted=False):
    """What the fix changes on this host: ``{'actions': [...], 'flags': [...]}``.

    ``actions`` are the service actions in the order they run, each ``{action, service, before, after}``;
    ``flags`` name what is left for a human, worded for a real run or, with ``predicted``, for a check run.
    Raises InvalidOption when a forced profile contradicts the installed services.
    """
    check_profile(options.get('profile'), diagnosis.get('detected_profile'), diagnosis.get('host'))
    ctx = context(diagnosis, options, catalogue)
    left_alone = _tense(predicted, 'it was left alone', 'it would be left alone')
    entries = port_entries(diagnosis)
    flags = []
    for entry in entries:
        gaps = (diagnosis.get('port_host') or {}).get('gaps') if entry['host'] else diagnosis.get('gaps')
        flags.extend(_owner_flags(entry['owner'], entry['port'], gaps or [], predicted, entry['host']))
    actions, stopping = [], set()
    for host, smtp, hctx, where in _hosts(diagnosis, ctx, options, catalogue):
        if hctx.transport and smtp.get('exists'):
            flags.append(_flag('SMTP_SERVICE_IS_TRANSPORT', '%s is the Exchange transport on %s; %s.' % (smtp['name'], where, left_alone)))
        here = [entry for entry in entries if entry['host'] == host]
        holds = any(entry['owner']['kind'] == 'smtp_service' for entry in here)
        blocked = any(entry['owner']['kind'] not in ('none', 'smtp_service', 'mail_service') for entry in here)
        # While another program holds a port of this host, the SMTP service is left for a human (unless it holds one).
        in_the_way = (bool(smtp.get('exists')) and not hctx.transport
                      and (smtp.get('state') != 'stopped' or smtp.get('start_mode') != 'disabled') and (holds or not blocked))
        if not (in_the_way and options.get('disable_smtp_service', True)):
            continue
        why = next((refusal(kind, smtp['name'], hctx) for kind in ('stop', 'disable') if refusal(kind, smtp['name'], hctx)), None)
        if why is None:
            planned = _on_host(service_feature.plan(smtp, 'stopped', 'disabled'), host)
            actions.extend(planned)
            if any(action['action'] == 'stop' for action in planned):
                stopping.add(host)
        else:
            code = 'SMTP_SERVICE_NOT_ALLOWED' if 'allowed list' in why else 'SERVICE_REFUSED'
            on = ' on the port host %s' % host if host else ''
            flags.append(_flag(code, '%s%s is %s (start mode %s) but %s; %s.'
                               % (smtp['name'], on, smtp.get('state'), smtp.get('start_mode'), why, left_alone)))
    for mail in diagnosis.get('port_services') or [diagnosis['mail_service']]:
        ports = [entry for entry in entries if _same(entry['service'], mail.get('name'))]
        wants_start = (options.get('start_mail_service', True) and bool(mail.get('exists'))
                       and mail.get('state') not in ('running', 'start_pending')
                       and all(_will_be_free(entry, stopping) for entry in ports))
        if not wants_start:
            continue
        why = refusal('start', mail['name'], ctx)
        if why is None:
            actions.extend(service_feature.plan(mail, 'started', None))
        else:
            flags.append(_flag('SERVICE_REFUSED', 'The mail service %s is %s but %s; %s.'
                               % (mail['name'], mail.get('state'), why,
                                  _tense(predicted, 'it was not started', 'it would not be started'))))
    return {'actions': actions, 'flags': flags}


def antivirus_failure(flags):
    """The error of a host whose port an antivirus product holds, for antivirus_action=fail (else None)."""
    flag = next((flag for flag in flags if flag['code'] == 'ANTIVIRUS_HOLDS_PORT'), None)
    if flag is None:
        return None
    return '%s (antivirus_action=fail). %s' % (flag['message'], flag['advice'])


# ---------------------------------------------------------------------------------------------------- verify

def _newest_records(events):
    seen = {}
    for event in events or ():
        number = event.get('record_number') or 0
        seen[event.get('log')] = max(seen.get(event.get('log'), 0), number)
    return seen


def _port_name(entry):
    return '%s of %s' % (entry['port'], entry['host']) if entry['host'] else '%s' % entry['port']


def _greeting_problem(entry, service):
    greeting = entry.get('greeting')
    if not greeting:
        return None
    if greeting.get('error'):
        return 'port %s gives no SMTP greeting (%s)' % (_port_name(entry), greeting['error'])
    if greeting.get('matches') is False:
        return 'port %s answers "%s", not %s' % (_port_name(entry), greeting.get('text'), greeting.get('expected_name') or service)
    return None


def verify(actions, before, after):
    """What is still wrong after the actions were made (an empty list: verified).

    A started service must own the KB's port when it is its port (on the port host: through the WinSock Proxy
    service), and no other program may hold its other ports (a port it does not listen on is its configuration, not
    a conflict); the SMTP service must no longer hold a port of a host where it was stopped; no new bind-failure error
    event (newer than the newest one the diagnosis saw) may have been written; and, last, each port a started service
    holds must greet with that service's software when the greeting was read (the proof on the wire, KB Q146157).
    """
    problems = []
    entries = port_entries(dict(after, port=after.get('port', before.get('port'))))
    started = [a['service'] for a in actions if a['action'] == 'start']
    for service in started:
        for entry in entries:
            owner = entry['owner']
            # (A diagnosis that does not name its mail service: its port is the one the started service needs.)
            mine = _same(entry['service'], service) or (entry['service'] is None and entry is entries[0])
            wrong = owner['kind'] != 'mail_service' if entry is entries[0] else owner['kind'] not in ('mail_service', 'none')
            if mine and wrong:
                problems.append('port %s is held by %s (%s), not by %s'
                                % (_port_name(entry), owner.get('process') or 'nobody', owner['kind'], service))
    for host in set(a.get('host') for a in actions if a['action'] == 'stop'):
        for entry in entries:
            if entry['host'] == host and entry['owner']['kind'] == 'smtp_service':
                problems.append('port %s is still held by the SMTP service' % _port_name(entry))
    seen = _newest_records(before.get('events'))
    for event in after.get('events') or ():
        if event.get('type') == 'error' and (event.get('record_number') or 0) > seen.get(event.get('log'), 0):
            problems.append('new %s event %s %s: %s' % (event.get('log'), event.get('source'), event.get('event_id'),
                                                        event.get('message')))
    if not problems:
        for service in started:
            for entry in after.get('ports') or ():
                held = (entry.get('owner') or {}).get('kind') == 'mail_service'
                problem = _greeting_problem(entry, service) if held and _same(entry['service'], service) else None
                if problem:
                    problems.append(problem)
    return problems


# ---------------------------------------------------------------------------------------------------- record

STATE_KEYS = ('compliant', 'owner', 'findings', 'smtp_service', 'mail_service')
# Kept when the diagnosis has them: every port's owner, verdict and greeting; the remote bind; the port host.
MORE_STATE_KEYS = ('ports', 'greeting', 'remote_bind', 'port_host')


def state_of(diagnosis):
    """The part of a diagnosis a record keeps as its before- or after-state."""
    if not diagnosis:
        return None
    state = dict((key, diagnosis[key]) for key in STATE_KEYS)
    state.update((key, diagnosis[key]) for key in MORE_STATE_KEYS if key in diagnosis)
    return state


def record(host, predicted, before, actions, after, flags, error=None):
    """The host's record: what the report shows and what rollback reads."""
    made = [dict(action, changed=not predicted) for action in actions]
    final = after or before
    return {
        'report_format': REPORT_FORMAT,
        'host': host,
        'profile': before['profile'] if before else None,
        # The other host this record changes or judges (the proxy server of KB Q222553), or None.
        'port_host': ((before or {}).get('port_host') or {}).get('host'),
        'check_mode': bool(predicted),
        'before': state_of(before),
        'actions': made,
        'after': state_of(final),
        'findings': final['findings'] if final else [],
        'flags': flags,
        'compliant': bool(final['compliant']) and not error if final else False,
        # As in the report: a check run's record says whether the real run would change the host.
        'changed': bool(made),
        'error': error,
    }


# ---------------------------------------------------------------------------------------------------- rollback

def _invalid_record(host, problem):
    return errors.InvalidOption('the record to roll back is not valid: %s; nothing was changed' % problem,
                                host=host, operation='rollback')


def _is_bool(value):
    return isinstance(value, bool)


def _check_state(value, where, host):
    if not isinstance(value, dict):
        raise _invalid_record(host, '%s must be a dict with state and start_mode' % where)
    if value.get('state') not in RECORDED_STATES:
        raise _invalid_record(host, '%s.state must be one of %s, got %r' % (where, ', '.join(RECORDED_STATES), value.get('state')))
    if value.get('start_mode') not in RESTORABLE_START_MODES + ('boot', 'system'):
        raise _invalid_record(host, '%s.start_mode must be one of %s, got %r'
                              % (where, ', '.join(RESTORABLE_START_MODES), value.get('start_mode')))


def validate_record(entry, host):
    """Check a recorded host entry (as read from a report) before anything is done with it; returns it.

    Trusts nothing: the host, the format, the mode and every type are checked; booleans must be booleans.
    """
    if not isinstance(entry, dict):
        raise _invalid_record(host, 'it must be a host entry of a port25 report (a dict), got %s' % type(entry).__name__)
    if entry.get('host') != host:
        raise _invalid_record(host, 'it is the record of host %r, not of %s' % (entry.get('host'), host))
    if entry.get('report_format') != REPORT_FORMAT or _is_bool(entry.get('report_format')):
        raise _invalid_record(host, 'report_format must be %d, got %r' % (REPORT_FORMAT, entry.get('report_format')))
    for key in ('check_mode', 'changed'):
        if not _is_bool(entry.get(key)):
            raise _invalid_record(host, '%s must be true or false, got %r' % (key, entry.get(key)))
    actions = entry.get('actions')
    if not isinstance(actions, list):
        raise _invalid_record(host, 'actions must be a list, got %s' % type(actions).__name__)
    for index, action in enumerate(actions):
        where = 'actions[%d]' % index
        if not isinstance(action, dict):
            raise _invalid_record(host, '%s must be a dict' % where)
        if action.get('action') not in ACTIONS:
            raise _invalid_record(host, '%s.action must be one of %s, got %r' % (where, ', '.join(ACTIONS), action.get('action')))
        name = action.get('service')
        if not isinstance(name, str) or not name.strip() or any(c in name for c in '\'"\\\r\n\x00'):
            raise _invalid_record(host, '%s.service must be a service name, got %r' % (where, name))
        other = action.get('host')
        if other is not None and (not isinstance(other, str) or not other.strip() or len(other) > 253
                                  or any(c in other for c in '\'"\\/ \r\n\t\x00')):
            raise _invalid_record(host, '%s.host must be the inventory name of a host, got %r' % (where, other))
        for key in ('changed', 'completed'):
            if key in action and not _is_bool(action[key]):
                raise _invalid_record(host, '%s.%s must be true or false, got %r' % (where, key, action[key]))
        if not _is_bool(action.get('changed')):
            raise _invalid_record(host, '%s.changed must be true or false, got %r' % (where, action.get('changed')))
        _check_state(action.get('before'), where + '.before', host)
        _check_state(action.get('after'), where + '.after', host)
        if action['changed'] and entry['check_mode']:
            raise _invalid_record(host, '%s is marked as made, but the record is of a check-mode run, which changes nothing' % where)
    return entry


def _group(actions):
    """Made actions per host and service (case-insensitive), in the order of their last change, latest first."""
    groups = {}
    order = []
    for action in actions:
        key = ((action.get('host') or '').lower(), action['service'].lower())
        if key in order:
            order.remove(key)
        order.append(key)
        groups.setdefault(key, []).append(action)
    return [groups[key] for key in reversed(order)]


def _plan_could_have(action, ctx):
    """Why a recorded action is not one ``plan`` can make on this host, or None."""
    kinds = change_kinds(action['before'], action['after']) or ['stop' if action['action'] == 'stop' else 'start']
    for kind in kinds:
        why = refusal(kind, action['service'], ctx, recorded=True)
        if why:
            return why
    return None


def _matches(current, wanted):
    return current.get('state') == wanted.get('state') and current.get('start_mode') == wanted.get('start_mode')


def rollback_plan(entry, current, ctx, force=False, port_host=None):
    """Turn a validated record into the steps that undo it: ``{'steps': [...], 'refused': [...]}``.

    ``current``: {lower-case service name: {name, exists, state, start_mode}} as the host reports now.
    Each step is ``{service, state, start_mode}``: the service back to its state before its first recorded change,
    latest-changed service first. A service is refused when the recorded change is one the remediation could never
    make here, when undoing it breaks a safety rule, or when the service is no longer as the run left it (unless
    ``force``). A service already back as it was needs no step, so a second rollback changes nothing.

    ``port_host``: ``(name, current, Context)`` of the port host the task is connected to; actions the record made
    there (``host``) are undone there under its own rules (their steps carry ``host``), and refused when the task
    has no port host or another one.
    """
    steps, refused = [], []
    for group in _group([action for action in entry['actions'] if action['changed']]):
        name = group[-1]['service']
        where = group[-1].get('host')
        here, hctx = current, ctx
        if where and where.lower() != str(entry['host']).lower():
            if not port_host or port_host[0].lower() != where.lower():
                refused.append({'service': name, 'host': where, 'reason': 'the run changed it on the port host %s; roll back with '
                                                                          'port_host set to %s (bind_conflict_port_host)' % (where, where)})
                continue
            here, hctx = port_host[1], port_host[2]
        else:
            where = None
        target = dict(group[0]['before'])
        why = next((_plan_could_have(action, hctx) for action in group if _plan_could_have(action, hctx)), None)
        now = here.get(name.lower())
        if why is None and (target['state'] not in RESTORABLE_STATES or target['start_mode'] not in RESTORABLE_START_MODES):
            why = 'its recorded state before the run (%s, start mode %s) cannot be restored' % (target['state'], target['start_mode'])
        if why is None and not (now and now.get('exists')):
            why = 'there is no service named %s on %s now' % (name, 'the port host %s' % where if where else 'this host')
        if why is None and _matches(now, target):
            continue
        if why is None and not force:
            left = group[-1]['after']
            unfinished = any(action.get('completed') is False for action in group)
            # An accepted call whose wait failed may have finished later, or not yet.
            fine = _matches(now, left) or (unfinished and (now.get('state') in PENDING or _matches(now, group[-1]['before'])))
            if not fine:
                why = ('it is %s (start mode %s) now, not %s (start mode %s) as the run left it: someone changed it since '
                       '(force=true undoes it anyway)' % (now.get('state'), now.get('start_mode'), left['state'], left['start_mode']))
        if why is None:
            why = next((refusal(kind, name, hctx, undo=True) for kind in change_kinds(now, target)
                        if refusal(kind, name, hctx, undo=True)), None)
        if why:
            refused.append(dict({'service': name, 'reason': why}, **({'host': where} if where else {})))
        else:
            step = {'service': now.get('name') or name, 'state': target['state'], 'start_mode': target['start_mode']}
            steps.append(dict(step, host=where) if where else step)
    return {'steps': steps, 'refused': refused}


def refusal_flags(refused, predicted):
    verb = _tense(predicted, 'was not rolled back', 'would not be rolled back')
    flags = []
    for item in refused:
        where = ' on %s' % item['host'] if item.get('host') else ''
        flags.append(_flag('ROLLBACK_REFUSED', '%s%s %s: %s.' % (item['service'], where, verb, item['reason'])))
    return flags
