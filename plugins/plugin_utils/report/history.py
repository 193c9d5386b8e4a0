# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance over time: what changed since the previous run, and the names of the reports kept beside the current one.

Pure functions; the report_write action reads and writes the files (with the safety of ``report_files``).
"""

from __future__ import annotations

import json
import re

HISTORY_DIR = 'history'
_NAME = re.compile(r'^port25-report-(\d{8}T\d{6}Z)-([A-Za-z0-9_.-]+)\.json$')
_UNSAFE = re.compile(r'[^A-Za-z0-9_.-]+')


def parse_report(text):
    """A report dict from JSON text, or None when the text is not a port25 report."""
    if text is None:
        return None
    try:
        report = json.loads(text)
    except ValueError:
        return None
    if not isinstance(report, dict) or not isinstance(report.get('hosts'), list) or not isinstance(report.get('generated'), str):
        return None
    return report


def run_id(report):
    run = report.get('run')
    return run.get('id') if isinstance(run, dict) else None


def same_run(report, other):
    """Two reports of one run (a rolling run rewrites its report after every batch)."""
    mine = run_id(report)
    return mine is not None and mine == run_id(other)


def archive_name(report):
    """File name of a report in the history directory: sortable by its time, unique per run."""
    stamp = re.sub(r'[^0-9TZ]', '', report.get('generated') or '')[:16] or '00000000T000000Z'
    return 'port25-report-%s-%s.json' % (stamp, _UNSAFE.sub('_', run_id(report) or 'unknown')[:80])


def is_archive(name):
    return bool(_NAME.match(name))


def to_prune(names, keep):
    """Archive names beyond the newest ``keep``."""
    archives = sorted(n for n in names if is_archive(n))
    return archives[:-keep] if keep > 0 else archives


def _verdicts(report):
    out = {}
    for host in report.get('hosts') or []:
        if isinstance(host, dict) and isinstance(host.get('host'), str):
            out[host['host']] = host.get('verdict')
    return out


def changes(current, previous, source=None):
    """What changed since ``previous``: hosts newly non-compliant, fixed, newly failed, new and gone (each sorted).

    Hosts not run yet (a rolling run in progress) are neither new nor gone, and their verdict does not count.
    """
    now, before = _verdicts(current), _verdicts(previous)
    both = [h for h in now if h in before and now[h] != 'not_run' and before[h] != 'not_run']
    return {
        'previous': {'run_id': run_id(previous), 'generated': previous.get('generated'), 'source': source},
        'newly_noncompliant': sorted(h for h in both if now[h] == 'noncompliant' and before[h] != 'noncompliant'),
        'fixed': sorted(h for h in both if now[h] == 'compliant' and before[h] != 'compliant'),
        'newly_failed': sorted(h for h in both if now[h] == 'failed' and before[h] != 'failed'),
        'new': sorted(h for h in now if h not in before),
        'gone': sorted(h for h in before if h not in now),
    }
