# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which run a report is of: its id, the engine and job, the slice of a sliced run, the hosts it targeted.

AWX and Automation Platform pass job metadata to every job as extra variables with the prefixes ``awx_`` and
``tower_`` (``awx_meta_vars`` in AWX's ``awx/main/models/unified_jobs.py`` and ``jobs.py``): ``awx_job_id``, and for a
job started by a workflow ``awx_workflow_job_id`` - for the slices of a sliced job template that is the workflow job
that groups them. The slice number and count are fields of the job record (``job_slice_number``,
``job_slice_count``), shown in the API and in notifications, but AWX does not pass them as variables; they are read
here when an engine or the job template sets ``awx_job_slice_number`` / ``awx_job_slice_count`` (or ``tower_``), and
``report_slice_number`` / ``report_slice_count`` set them for any other engine.
"""

from __future__ import annotations

import datetime
import os
import re

ENGINES = ('awx', 'tower')
_ID = re.compile(r'[^A-Za-z0-9_.-]+')


class RunError(ValueError):
    """A run setting is not valid; the message names it."""


def _int(value, name):
    if value is None or value == '':
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RunError('%s must be a whole number, got %r' % (name, value)) from None
    if number < 1:
        raise RunError('%s must be 1 or more, got %d' % (name, number))
    return number


def _engine_var(task_vars, suffix):
    """(engine, value) of the first of awx_<suffix>, tower_<suffix> that is set."""
    for engine in ENGINES:
        value = task_vars.get('%s_%s' % (engine, suffix))
        if value not in (None, ''):
            return engine, value
    return None, None


def process_started(pid):
    """Wall-clock start of process ``pid`` (UTC, ISO 8601), from /proc; None where there is no /proc."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            ticks = int(handle.read().rsplit(b')', 1)[1].split()[19])
        with open('/proc/stat', 'rb') as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith(b'btime '))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    when = datetime.datetime.fromtimestamp(boot + ticks / os.sysconf('SC_CLK_TCK'), datetime.timezone.utc)
    return when.strftime('%Y%m%dT%H%M%SZ')


def slice_of(task_vars, number=None, count=None):
    """{'number', 'count'} of a sliced run, or None. Explicit values (report_slice_*) win over the engine's."""
    if number in (None, '') and count in (None, ''):
        _engine, number = _engine_var(task_vars, 'job_slice_number')
        _engine, count = _engine_var(task_vars, 'job_slice_count')
    number, count = _int(number, 'the slice number'), _int(count, 'the slice count')
    if number is None and count is None:
        return None
    if number is None or count is None:
        raise RunError('a slice needs both its number and the slice count (report_slice_number and report_slice_count), '
                       'got number %s and count %s' % (number, count))
    if number > count:
        raise RunError('slice %d of %d: the slice number cannot exceed the slice count' % (number, count))
    return {'number': number, 'count': count} if count > 1 else None


def describe(task_vars, targeted, generated, owner_pid, run_id=None, slice_number=None, slice_count=None):
    """The ``run`` section of a report.

    ``owner_pid`` is the ansible-playbook process: without an engine job id the run id is its start time and PID, so
    every batch of a rolling run writes the same id and the next run another one.
    """
    engine, job_id = _engine_var(task_vars, 'job_id')
    _engine, workflow_job_id = _engine_var(task_vars, 'workflow_job_id')
    if not run_id:
        if job_id not in (None, ''):
            run_id = '%s-job-%s' % (engine, job_id)
        else:
            run_id = 'run-%s-%d' % (process_started(owner_pid) or generated.replace('-', '').replace(':', ''), owner_pid)
    run_id = _ID.sub('_', str(run_id)).strip('_')
    if not run_id:
        raise RunError('the run id must contain letters or digits')
    return {
        'id': run_id[:120],
        'engine': engine or 'ansible',
        'job_id': str(job_id) if job_id not in (None, '') else None,
        'workflow_job_id': str(workflow_job_id) if workflow_job_id not in (None, '') else None,
        'slice': slice_of(task_vars, slice_number, slice_count),
        'target': str(task_vars['target']) if task_vars.get('target') not in (None, '') else None,
        'limit': str(task_vars['ansible_limit']) if task_vars.get('ansible_limit') else None,
        'started': generated,
        'targeted': [str(h) for h in targeted],
    }


def artifact_key(run):
    """The set_stats key of a run's piece: unique per piece, because AWX merges the artifacts of a workflow's jobs
    with dict.update (``WorkflowJob.get_effective_artifacts``): one shared key would keep only the last slice."""
    # set_stats takes only valid variable names: letters, digits and underscores.
    key = 'port25_piece_' + re.sub(r'\W', '_', run['id'], flags=re.ASCII)
    if run.get('slice'):
        key += '_slice%d' % run['slice']['number']
    return key
