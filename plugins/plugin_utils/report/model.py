# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report data model, built from the hosts' records (``bind_conflict_result``): pure functions, no I/O.

The model is the JSON record that rollback reads and that merges combine, so it keeps every recorded field and is
tolerant of fields it does not know (a newer diagnosis may add some). Text is kept exactly as recorded; the views
make it safe to show (``view``, ``junit``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

COLLECTION = 'mailops.port25'
REPORT_FORMAT = 1
DEFAULT_TITLE = 'Port 25 bind conflict report'
NO_RESULT_ERROR = 'failed before any result was recorded'
LEFT_PLAY_ERROR = 'the host failed or became unreachable after its result was recorded'
NOT_IN_INVENTORY = 'the host is not in the inventory'
NO_VERDICT_ERROR = 'the recorded result has no compliance verdict'
VERDICTS = ('compliant', 'noncompliant', 'failed', 'not_run')
STATE_VERDICTS = ('compliant', 'noncompliant', 'unknown')
MODES = ('check', 'apply', 'mixed', 'unknown')


def plain(value):
    """Deep copy into JSON types (hostvars hand out lazy mappings and tagged strings)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _state_verdict(state) -> str:
    compliant = state.get('compliant') if isinstance(state, dict) else None
    if compliant is True:
        return 'compliant'
    if compliant is False:
        return 'noncompliant'
    return 'unknown'


def _state(state) -> dict:
    """A before/after state: the documented keys always present, any other recorded key kept."""
    state = dict(state) if isinstance(state, dict) else {}
    out = dict(state)
    out.update({
        'verdict': _state_verdict(state),
        'compliant': state.get('compliant') if isinstance(state.get('compliant'), bool) else None,
        'owner': state.get('owner'),
        'findings': state.get('findings') if isinstance(state.get('findings'), list) else [],
        'smtp_service': state.get('smtp_service'),
        'mail_service': state.get('mail_service'),
    })
    return out


def _action(action) -> dict:
    """Keep every recorded field (rollback reads them); guarantee the documented ones exist."""
    action = dict(action) if isinstance(action, dict) else {'action': action}
    for key in ('action', 'service', 'before', 'after', 'changed'):
        action.setdefault(key, None)
    for key in ('before', 'after'):
        if isinstance(action[key], dict):
            action[key].setdefault('state', None)
            action[key].setdefault('start_mode', None)
    return action


def _error_text(result, left_play):
    """Why the host failed, or None. A record whose own task failed explains why the host left the play."""
    error = result.get('error') or (LEFT_PLAY_ERROR if left_play and result.get('failed') is not True else None)
    if not error and result.get('failed') is True and 'error' not in result:
        # A task that failed before it built a record (a template error in its arguments) says why in msg; a record
        # (it has an error field) that failed the task only as a gate (fail_on_noncompliant) keeps its verdict.
        return result.get('msg') or 'the task failed without a message'
    if error and not isinstance(error, str):
        return (error.get('message') if isinstance(error, dict) else None) or result.get('msg') or str(error)
    return error or None


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def host_entry(host: str, result, left_play: bool = False, pending: bool = False) -> dict:
    """One host of the report from its record (None when it never recorded one).

    ``pending``: the host is still in the play but has no record yet (a later batch of a rolling run): not run yet.
    """
    result = plain(result) if isinstance(result, Mapping) else None
    if result is None and pending:
        return dict(host_entry(host, {'compliant': False}), status='not_run', verdict='not_run', compliant=None, error=None)
    if result is None:
        error, result = NO_RESULT_ERROR, {}
    else:
        error = _error_text(result, left_play)
    compliant = result.get('compliant') if isinstance(result.get('compliant'), bool) else None
    if error:
        verdict = 'failed'
    elif compliant is None:
        # A result without a verdict is not evidence of compliance.
        verdict, error = 'failed', NO_VERDICT_ERROR
    else:
        verdict = 'compliant' if compliant else 'noncompliant'
    after = _state(result.get('after'))
    findings = result.get('findings')
    return {
        'report_format': REPORT_FORMAT,
        'host': host,
        'status': 'failed' if verdict == 'failed' else 'ok',
        'verdict': verdict,
        'error': str(error) if error else None,
        'profile': result.get('profile'),
        'check_mode': result.get('check_mode') if isinstance(result.get('check_mode'), bool) else None,
        'changed': bool(result.get('changed')),
        'compliant': compliant,
        # When the record was made and how long the host took (JUnit time, newest record of a merge).
        'started': result.get('started') if isinstance(result.get('started'), str) else None,
        'duration': _number(result.get('duration')),
        'before': _state(result.get('before')),
        'after': after,
        'findings': findings if isinstance(findings, list) else after['findings'],
        'actions': [_action(a) for a in result.get('actions') or []],
        'flags': [f for f in result.get('flags') or [] if isinstance(f, dict)],
        # Set by waivers.apply: non-compliant, with every error finding accepted by an unexpired waiver.
        'waived': False,
        # The other host the record covers (KB Q222553's proxy server), or None.
        'port_host': result.get('port_host') if isinstance(result.get('port_host'), str) else None,
    }


def review_flags(host: dict) -> list:
    """The flags a person has to act on. A flag on a compliant host only explains what was left alone (the Exchange
    2003 transport), so it is shown but not counted as "flagged for review"."""
    return [] if host['verdict'] == 'compliant' else host['flags']


def summarize(hosts: list) -> dict:
    summary = {'hosts': len(hosts)}
    for verdict in VERDICTS:
        summary[verdict] = sum(1 for h in hosts if h['verdict'] == verdict)
    # A check-mode host with predicted actions will change: its record says changed=false when the run was read-only
    # (the compliance playbook's), which must not make "hosts to change" read 0.
    summary['changed'] = sum(1 for h in hosts if h['changed'] or (h['check_mode'] and h['actions']))
    summary['flagged'] = sum(1 for h in hosts if review_flags(h))
    summary['actions'] = sum(1 for h in hosts for a in h['actions'] if a.get('changed'))
    # Check-mode runs record the actions they would take with changed=false.
    summary['predicted'] = sum(len(h['actions']) for h in hosts if h['check_mode'])
    for when in ('before', 'after'):
        summary[when] = {v: sum(1 for h in hosts if h[when]['verdict'] == v) for v in STATE_VERDICTS}
    # Non-compliant hosts whose every error finding an unexpired waiver accepts; the rest fail the gate.
    summary['waived'] = sum(1 for h in hosts if h.get('waived'))
    summary['gate_failed'] = sum(1 for h in hosts if h['verdict'] == 'noncompliant' and not h.get('waived'))
    return summary


def run_mode(hosts: list) -> str:
    modes = {h['check_mode'] for h in hosts if h['check_mode'] is not None}
    if not modes:
        return 'unknown'
    if len(modes) == 2:
        return 'mixed'
    return 'check' if modes.pop() else 'apply'


def build_report(results: dict, hosts: list, generated: str, title: str = DEFAULT_TITLE, version: str = 'unknown',
                 left_play=(), pending=(), run=None) -> dict:
    """The report data model. results: host -> record or None; left_play: hosts that dropped out; pending: hosts still
    in the play (a record missing there means not run yet); run: what ``run.describe`` says about this run."""
    entries = []
    seen = set()
    for host in hosts:
        host = str(host)
        if host in seen:
            continue
        seen.add(host)
        entries.append(host_entry(host, results.get(host), host in left_play, host in pending))
    return assemble(entries, generated, title, version, run)


def assemble(entries: list, generated: str, title: str = DEFAULT_TITLE, version: str = 'unknown', run=None) -> dict:
    """A report of ready host entries (a run's, or a merge's)."""
    report = {
        'report_format': REPORT_FORMAT,
        'title': str(title),
        'generated': str(generated),
        'collection': {'name': COLLECTION, 'version': str(version)},
        'mode': run_mode(entries),
    }
    if run is not None:
        report['run'] = run
    report['summary'] = summarize(entries)
    report['hosts'] = entries
    return report


def refresh_summary(report: dict) -> dict:
    """Count again after the entries were annotated (waivers)."""
    report['summary'] = summarize(report['hosts'])
    return report


def gate_failures(report: dict) -> list:
    """Hosts that fail ``fail_on_noncompliant``: non-compliant and not waived (failed hosts fail on their own)."""
    return [h['host'] for h in report['hosts'] if h['verdict'] == 'noncompliant' and not h.get('waived')]


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + '\n'
