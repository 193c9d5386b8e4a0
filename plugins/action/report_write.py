# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the port 25 fleet report files on the controller (documentation: plugins/modules/report_write.py)."""

from __future__ import annotations

import datetime
import os

from ansible.plugins.action import ActionBase

from ansible_collections.mailops.port25.plugins.module_utils.text import printable
from ansible_collections.mailops.port25.plugins.plugin_utils import report_files
from ansible_collections.mailops.port25.plugins.plugin_utils.report import (
    history, html, junit, merge, model, records, run, terminal, waivers)

# File name and renderer of each report document; the keys are the path keys of the result's `output`.
FILES = (('json', 'port25-report.json', model.to_json), ('html', 'port25-report.html', html.render),
         ('junit', 'port25-report.xml', junit.render))
PIECE_PREFIX = 'port25_piece_'

ARGUMENT_SPEC = {
    'stage': {'type': 'str', 'choices': ['prepare', 'write', 'release'], 'default': 'write'},
    'dest': {'type': 'path', 'default': 'port25-report'},
    'lock_wait': {'type': 'int', 'default': 0},
    'hosts': {'type': 'list', 'elements': 'str'},
    'title': {'type': 'str', 'default': model.DEFAULT_TITLE},
    'play_hosts': {'type': 'list', 'elements': 'str'},
    'active_hosts': {'type': 'list', 'elements': 'str'},
    'merge': {'type': 'bool', 'default': False},
    'sources': {'type': 'list', 'elements': 'path', 'default': []},
    'history': {'type': 'int', 'default': 0},
    'waivers': {'type': 'path'},
    'run_id': {'type': 'str'},
    'slice_number': {'type': 'int'},
    'slice_count': {'type': 'int'},
    'publish': {'type': 'bool', 'default': True},
}
# Only the write stage of a run reports on hosts (the spec, not a check of our own, says so: one place per rule).
WRITE_SPEC = dict(ARGUMENT_SPEC, hosts=dict(ARGUMENT_SPEC['hosts'], required=True))


class ReportError(Exception):
    """A report setting or source is not usable; the message says which and why."""


def report_time() -> str:
    """Now, UTC, to the second: the report's `generated`."""
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def run_owner() -> int:
    """The PID that owns the run's lock: the ansible-playbook process.

    Ansible forks every worker from the ansible-playbook process, so it is the action's parent, the same one for
    every task and batch of the run (checked on ansible-core 2.19: three hosts, serial 2, -f 2 gave three workers,
    all children of the ansible-playbook PID).
    """
    return os.getppid()


def load_waivers(path):
    """The validated waivers of ``path`` ([] without a path); ReportError names the file and the problem."""
    if not path:
        return []
    text = report_files.read_regular(path, waivers.MAX_BYTES)
    if text is None:
        raise ReportError('the waivers file %s is not a regular, readable UTF-8 file of at most %d bytes; nothing was '
                          'written' % (path, waivers.MAX_BYTES))
    try:
        return waivers.parse(text, path)
    except waivers.WaiverError as exc:
        raise ReportError(str(exc)) from None


def _history_dir(directory):
    path = os.path.join(directory, history.HISTORY_DIR)
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        raise ReportError('%s is not a directory of this collection (a symlink or a file); remove it' % path)
    return path


class ActionModule(ActionBase):
    """Check and lock the report directory, build the report once and write it; no module runs."""

    # Not BYPASS_HOST_LOOP: the free strategy refuses such actions, and the role already runs it with run_once.
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        stage = self._task.args.get('stage', 'write')
        merging = self._task.args.get('merge') in (True, 'true', 'yes', 'True')
        _spec, args = self.validate_argument_spec(WRITE_SPEC if stage == 'write' and not merging else ARGUMENT_SPEC)
        # Relative to the worker's working directory, which is the one ansible-playbook was started from.
        directory = os.path.realpath(os.path.abspath(args['dest']))
        try:
            if args['history'] < 0:
                raise ReportError('history must be 0 or more (the number of previous reports kept), got %d' % args['history'])
            if args['stage'] == 'prepare':
                # A broken waivers file or run setting stops the run before any host is contacted.
                load_waivers(args['waivers'])
                self._run(task_vars, args, [], report_time())
                directory = report_files.check_directory(directory)
                lock = report_files.acquire_lock(directory, run_owner(), args['lock_wait'])
                self._warn(result, lock.warning)
                result.update(changed=False, output={'dir': directory, 'lock': lock.path})
            elif args['stage'] == 'release':
                released = report_files.release_lock(directory, run_owner())
                result.update(changed=False, output={'dir': directory, 'released': released})
            else:
                result.update(self._write(directory, args, task_vars))
        except (report_files.ReportDirError, ReportError, merge.MergeError, run.RunError, records.RecordsError) as err:
            result.update(failed=True, msg=printable(str(err)))
        return result

    @staticmethod
    def _warn(result, warning):
        if warning:
            result.setdefault('warnings', []).append(printable(warning))

    @staticmethod
    def _run(task_vars, args, targeted, generated):
        try:
            return run.describe(task_vars, targeted, generated, run_owner(), args['run_id'], args['slice_number'], args['slice_count'])
        except run.RunError as exc:
            raise ReportError('report run settings: %s; nothing was written' % exc) from None

    def _build(self, directory, args, task_vars, generated):
        """(report, warnings) of this run's hosts, or of the pieces to merge."""
        if not args['merge']:
            return records.fleet_report(args['hosts'], task_vars.get('hostvars', {}), generated, args['title'], args['play_hosts'],
                                        args['active_hosts'], self._run(task_vars, args, args['hosts'], generated)), []
        pieces = []
        for path in merge.collect(args['sources']):
            if os.path.dirname(path) == directory:
                raise merge.MergeError('the merged report would replace the piece %s: give report_dir another directory '
                                       'than the sources; nothing was written' % path)
            pieces.append(merge.parse_piece(report_files.read_regular(path), path))
        for key in sorted(k for k in task_vars if str(k).startswith(PIECE_PREFIX)):
            pieces.append(merge.check_piece(task_vars[key], 'the job artifact %s' % key))
        return merge.merge(pieces, generated, args['title'], records.collection_version(), self._run(task_vars, args, [], generated))

    def _write(self, directory, args, task_vars):
        generated = report_time()
        report, warnings = self._build(directory, args, task_vars, generated)
        if args['waivers']:
            waivers.apply(report, load_waivers(args['waivers']), datetime.date.fromisoformat(generated[:10]), args['waivers'])
        paths = {key: os.path.join(directory, name) for key, name, _render in FILES}
        previous_text = report_files.read_regular(paths['json'])
        previous = history.parse_report(previous_text)
        archive = previous if previous is not None and not history.same_run(previous, report) else None
        base, source = (archive, paths['json']) if archive is not None else self._newest_archive(directory, report)
        if base is not None:
            report['changes'] = history.changes(report, base, source)
        model.refresh_summary(report)
        texts = {key: render(report) for key, _name, render in FILES}
        result = {'output': dict(paths, dir=directory, summary=report['summary'], gate_failed=model.gate_failures(report),
                                 attention=terminal.lines(report),
                                 changes={k: len(v) for k, v in report.get('changes', {}).items() if isinstance(v, list)})}
        for warning in warnings:
            self._warn(result, warning)
        if args['publish'] and not args['merge']:
            piece, warning = merge.artifact(report)
            result['artifact'] = {run.artifact_key(report['run']): piece}
            self._warn(result, warning)
        if self._task.check_mode:
            result['changed'] = any(report_files.read_regular(paths[key]) != texts[key] for key in paths)
            return result
        report_files.check_directory(directory)
        # Without a prepare stage the lock is held for this write only; after it, the run's lock is kept.
        lock = report_files.acquire_lock(directory, run_owner(), args['lock_wait'])
        self._warn(result, lock.warning)
        try:
            if archive is not None and args['history'] > 0:
                self._archive(directory, archive, previous_text, args['history'])
            # Compared under the lock: another run cannot be half-way through replacing these files.
            changed = [key for key in paths if report_files.read_regular(paths[key]) != texts[key]]
            for key in changed:
                report_files.write_atomic(paths[key], texts[key])
        except OSError as err:
            # Files written before the failure stay: each one is a complete report of this run.
            return {'failed': True, 'msg': printable('cannot write the report into %s: %s' % (directory, err.strerror or err))}
        finally:
            if lock.acquired:
                report_files.release_lock(directory, run_owner())
        result['changed'] = bool(changed)
        return result

    @staticmethod
    def _newest_archive(directory, report):
        """(report, path) of the newest kept report of another run than ``report``, or (None, None)."""
        path = _history_dir(directory)
        if not os.path.isdir(path):
            return None, None
        for name in sorted((n for n in os.listdir(path) if history.is_archive(n)), reverse=True):
            older = history.parse_report(report_files.read_regular(os.path.join(path, name)))
            if older is not None and not history.same_run(older, report):
                return older, os.path.join(path, name)
        return None, None

    @staticmethod
    def _archive(directory, previous, text, keep):
        """Keep the previous run's report in history/ and drop the oldest beyond ``keep``."""
        path = _history_dir(directory)
        if not os.path.isdir(path):
            os.mkdir(path, 0o755)
        report_files.write_atomic(os.path.join(path, history.archive_name(previous)), text)
        for name in history.to_prune(os.listdir(path), keep):
            os.unlink(os.path.join(path, name))
