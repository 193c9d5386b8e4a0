# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conflict module: the KB Q222553 fix of one host in one task and one WinRM session.

``state=resolved``: diagnose, plan (``remediation.plan``), apply, verify, record.
``state=rolled_back``: diagnose, check the recorded run against the rules (``remediation.rollback_plan``), undo, record.
Every decision is taken in ``remediation``; this file does the I/O in the right order and keeps the record whole:
whatever fails, the result is the host's record with the error in it.

With a port host (``port_host``: where the mail host's port is bound, KB Q222553's proxy server) a second session
talks to it: the diagnosis covers both hosts, actions marked with ``host`` run there, and one record names both.
A run that changes hosts holds their locks (``host_lock``) so that two mail hosts sharing one proxy take turns.
"""

from __future__ import annotations

import copy
import time

from ansible_collections.mailops.port25.plugins.module_utils import (
    errors, host_lock, host_queries as hq, port_host, remediation, report_record, service_control as sc)
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict_info
from ansible_collections.mailops.port25.plugins.module_utils.features import service as service_feature

ARGUMENT_SPEC = dict(copy.deepcopy(conflict_info.ARGUMENT_SPEC),
                     state=dict(type='str', choices=['resolved', 'rolled_back'], default='resolved'),
                     disable_smtp_service=dict(type='bool', default=True),
                     start_mail_service=dict(type='bool', default=True),
                     antivirus_action=dict(type='str', choices=['flag', 'fail'], default='flag'),
                     allowed_to_stop=dict(type='list', elements='str', default=['SMTPSVC']),
                     timeout=dict(type='int', default=60),
                     verify_retries=dict(type='int', default=5),
                     verify_delay=dict(type='int', default=2),
                     fail_on_noncompliant=dict(type='bool', default=False),
                     host_name=dict(type='str'),
                     record=dict(type='dict'),
                     record_file=dict(type='path'),
                     force=dict(type='bool', default=False),
                     read_only=dict(type='bool', default=False),
                     vars_prefix=dict(type='str'))
MUTUALLY_EXCLUSIVE = [['record', 'record_file']]
REQUIRED_IF = [['state', 'rolled_back', ['record', 'record_file'], True]]
SUPPORTS_CHECK_MODE = True

WANTED = {'running': 'started', 'stopped': 'stopped'}
# How long a run waits for another task of this controller that changes the same host: a few of its service deadlines.
LOCK_WAIT_TIMEOUTS = 10


def check_params(params, host):
    """Refusals that need no request to the host (types and choices are the argument spec's)."""
    def invalid(msg):
        raise errors.InvalidOption(msg, host=host, operation='conflict')

    conflict_info.check_params(params, host)
    for name in params.get('allowed_to_stop') or ():
        hq.check_name(host, name, 'allowed_to_stop')
    for option, least in (('timeout', 1), ('verify_retries', 1), ('verify_delay', 0)):
        if params[option] < least:
            invalid('%s must be at least %d, got %d' % (option, least, params[option]))
    if params['state'] == 'resolved' and (params.get('record') is not None or params.get('record_file')):
        invalid('record and record_file go with state=rolled_back only')
    if params.get('vars_prefix') is not None:
        # The action plugin reads the variables and removes the option; a module process cannot see variables.
        invalid('vars_prefix is only understood when the task runs through the action plugin (not as a module process)')


def run(client, params, check_mode=False, diff=False, sleep=time.sleep):
    # When the record was made and how long it took: the report's JUnit times and the newest record of a merge.
    started, clock = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), time.monotonic()
    out = _run(client, params, check_mode, diff, sleep)
    out.update(started=started, duration=round(time.monotonic() - clock, 3))
    return out


def _run(client, params, check_mode, diff, sleep):
    host = params.get('host_name') or client.host
    # read_only: a check run whatever the task says, and a predicted change is not a change of the host.
    check_mode = check_mode or params.get('read_only', False)
    try:
        entry = load_record(client, params, host) if params['state'] == 'rolled_back' else None
        # The lock, then the port host's session (its Kerberos ticket, if any): both raise before any host is asked.
        with host_lock.hosts_locked([] if check_mode else [host, params.get('port_host')], LOCK_WAIT_TIMEOUTS * params['timeout']), \
                port_host.session(params, host, getattr(client, 'settings', None)) as port_client:
            clients = Clients(client, port_client, params.get('port_host'))
            if params['state'] == 'rolled_back':
                return roll_back(clients, params, host, entry, check_mode, diff)
            return resolve(clients, params, host, check_mode, diff, sleep)
    except errors.Port25Error as exc:
        return result(remediation.record(host, check_mode, None, [], None, [], error=str(exc)), [], params, diff)


class Clients(object):
    """The mail host's client and, when there is one, the port host's: ``of(action)`` picks the one an action runs on."""

    def __init__(self, main, port=None, port_name=None):
        self.main, self.port, self.port_name = main, port, port_name

    def of(self, item):
        where = item.get('host')
        return self.port if where and self.port is not None and where.lower() == str(self.port_name).lower() else self.main


def load_record(client, params, host):
    entry = params.get('record')
    if entry is None:
        entry = report_record.read_entry(params['record_file'], host)
        if entry is None:
            return None
    return remediation.validate_record(entry, host)


def apply(clients, actions, timeout):
    """Make the actions, one deadline per service; a failure carries every action Windows accepted so far."""
    made = []
    for group in _by_service(actions):
        try:
            service_feature.apply_all(clients.of(group[0]), group, sc.Deadline(timeout))
        except errors.Port25Error as exc:
            raise errors.ServiceControlError(exc.text(), host=exc.host, operation=exc.operation,
                                             actions=made + list(getattr(exc, 'actions', None) or []),
                                             accepted=getattr(exc, 'accepted', False))
        made.extend(group)
    return made


def _by_service(actions):
    groups = []
    for action in actions:
        if groups and (groups[-1][0]['service'].lower(), groups[-1][0].get('host')) == (action['service'].lower(), action.get('host')):
            groups[-1].append(action)
        else:
            groups.append([action])
    return groups


def _verified_after(clients, params, before, made, sleep):
    """Diagnose again until ``verify`` finds nothing wrong; ``(after, problems)`` of the last attempt."""
    again = dict(params, mail_service=before['mail_service']['name'] or params.get('mail_service'), profile=before['profile'])
    for attempt in range(params['verify_retries']):
        if attempt:
            sleep(params['verify_delay'])
        after = conflict_info.diagnose(clients.main, again, clients.port)[0]
        problems = remediation.verify(made, before, after)
        if not problems:
            break
    return after, problems


def _make(clients, params, before, actions, sleep):
    """Apply and verify: ``(made, after, error)``; the made actions are kept whatever fails."""
    try:
        made = apply(clients, actions, params['timeout'])
    except errors.Port25Error as exc:
        return list(getattr(exc, 'actions', None) or []), None, str(exc)
    try:
        after, problems = _verified_after(clients, params, before, made, sleep)
    except errors.Port25Error as exc:
        return made, None, 'verification: %s' % exc
    if problems:
        return made, after, 'verification failed after %d attempt(s): %s' % (params['verify_retries'], '; '.join(problems))
    return made, after, None


def resolve(clients, params, host, check_mode, diff, sleep):
    before = None
    try:
        before, catalogue = conflict_info.diagnose(clients.main, params, clients.port)
        outcome = remediation.plan(before, params, catalogue, predicted=check_mode)
    except errors.Port25Error as exc:
        return result(remediation.record(host, check_mode, before, [], None, [], error=str(exc)), [], params, diff)
    actions, flags = outcome['actions'], outcome['flags']
    error = remediation.antivirus_failure(flags) if params['antivirus_action'] == 'fail' else None
    made, after = (actions if check_mode else []), None
    if error is None and actions and not check_mode:
        made, after, error = _make(clients, params, before, actions, sleep)
    return result(remediation.record(host, check_mode, before, made, after, flags, error), made, params, diff)


def roll_back(clients, params, host, entry, check_mode, diff):
    before = None
    try:
        before, catalogue = conflict_info.diagnose(clients.main, params, clients.port)
        remediation.check_profile(params.get('profile'), before.get('detected_profile'), host)
        ctx = remediation.context(before, params, catalogue)
        current = settled(clients.main, params, [before['smtp_service']] + (before.get('port_services') or [before['mail_service']]))
        there = None
        if before.get('port_host'):
            view = before['port_host']
            there = (view['host'], settled(clients.port, params, (view['smtp_service'],)),
                     remediation.port_context(before, params, catalogue))
        outcome = (remediation.rollback_plan(entry, current, ctx, force=params['force'], port_host=there) if entry
                   else {'steps': [], 'refused': []})
    except errors.Port25Error as exc:
        return result(remediation.record(host, check_mode, before, [], None, [], error=str(exc)), [], params, diff)
    actions = []
    for step in outcome['steps']:
        now = (there[1] if step.get('host') else current)[step['service'].lower()]
        planned = service_feature.plan(now, WANTED[step['state']], step['start_mode'])
        actions.extend([dict(action, host=step['host']) for action in planned] if step.get('host') else planned)
    flags = remediation.refusal_flags(outcome['refused'], check_mode)
    error = '; '.join(flag['message'] for flag in flags) or None
    made, after = (actions if check_mode else []), None
    if actions and not check_mode:
        try:
            made = apply(clients, actions, params['timeout'])
            after = conflict_info.diagnose(clients.main, params, clients.port)[0]
        except errors.Port25Error as exc:
            made = list(getattr(exc, 'actions', None) or made)
            error = '; '.join(part for part in (error, str(exc)) if part)
    return result(remediation.record(host, check_mode, before, made, after, flags, error), made, params, diff)


def settled(client, params, summaries):
    """{lower-case name: service} of the SMTP and mail services, a pending one read again once it has settled.

    A stop accepted by the run being undone may still be under way (the run's wait failed); its end is awaited
    before anything is decided about the service.
    """
    current = {}
    for summary in summaries:
        if not summary.get('name'):
            continue
        if summary.get('state') in sc.PENDING_STATES:
            summary = sc.wait_until_settled(client, summary['name'], sc.Deadline(params['timeout']), 'rollback')
        current[summary['name'].lower()] = summary
    return current


def _service_text(state):
    return 'state: %s\nstart_mode: %s\n' % (state.get('state'), state.get('start_mode'))


def service_diffs(actions):
    """One diff per service changed, headed with the service's name (and the port host's, for its actions)."""
    diffs = []
    for group in _by_service(actions):
        name = group[0]['service'] + (' on %s' % group[0]['host'] if group[0].get('host') else '')
        diffs.append({'before_header': 'service %s' % name, 'after_header': 'service %s' % name,
                      'before': _service_text(group[0]['before']), 'after': _service_text(group[-1]['after'])})
    return diffs


def result(rec, actions, params, diff):
    """The task result: the record itself (register it as the host's record) plus Ansible's keys."""
    out = dict(rec)
    out['changed'] = bool(actions) and not params.get('read_only', False)
    failed = rec['error'] is not None or (params.get('fail_on_noncompliant') and not rec['compliant'])
    if failed:
        out['failed'] = True
        out['msg'] = rec['error'] or 'not compliant: %s' % ', '.join(
            f['code'] for f in rec['findings'] if f.get('severity') == 'error')
    else:
        verdict = 'compliant' if rec['compliant'] else 'not compliant'
        out['msg'] = '%s: %s, %d action(s) %s' % (rec['host'], verdict, len(actions), 'predicted' if rec['check_mode'] else 'made')
    if diff:
        out['diff'] = service_diffs(actions)
    return out
