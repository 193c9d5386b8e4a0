# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the port 25 fleet report files on the controller (documentation: plugins/modules/report_write.py)."""

from __future__ import annotations

import datetime
import os

from ansible.plugins.action import ActionBase

from ansible_collections.mailops.port25.plugins.filter.port25_report import (
    DEFAULT_TITLE, fleet_report, render_html, render_json, render_junit)
from ansible_collections.mailops.port25.plugins.plugin_utils import report_files

# File name and renderer of each report document; the keys are the path keys of the result's `output`.
FILES = (('json', 'port25-report.json', render_json), ('html', 'port25-report.html', render_html),
         ('junit', 'port25-report.xml', render_junit))

ARGUMENT_SPEC = {
    'stage': {'type': 'str', 'choices': ['prepare', 'write', 'release'], 'default': 'write'},
    'dest': {'type': 'path', 'default': 'port25-report'},
    'lock_wait': {'type': 'int', 'default': 0},
    'hosts': {'type': 'list', 'elements': 'str'},
    'title': {'type': 'str', 'default': DEFAULT_TITLE},
    'play_hosts': {'type': 'list', 'elements': 'str'},
    'active_hosts': {'type': 'list', 'elements': 'str'},
}
# Only the write stage reports on hosts (the spec, not a check of our own, says so: one place per rule).
WRITE_SPEC = dict(ARGUMENT_SPEC, hosts=dict(ARGUMENT_SPEC['hosts'], required=True))


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


class ActionModule(ActionBase):
    """Check and lock the report directory, build the report once from hostvars and write it; no module runs."""

    # Not BYPASS_HOST_LOOP: the free strategy refuses such actions, and the role already runs it with run_once.
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        stage = self._task.args.get('stage', 'write')
        _spec, args = self.validate_argument_spec(WRITE_SPEC if stage == 'write' else ARGUMENT_SPEC)
        # Relative to the worker's working directory, which is the one ansible-playbook was started from.
        directory = os.path.realpath(os.path.abspath(args['dest']))
        try:
            if args['stage'] == 'prepare':
                directory = report_files.check_directory(directory)
                lock = report_files.acquire_lock(directory, run_owner(), args['lock_wait'])
                self._warn(result, lock.warning)
                result.update(changed=False, output={'dir': directory, 'lock': lock.path})
            elif args['stage'] == 'release':
                released = report_files.release_lock(directory, run_owner())
                result.update(changed=False, output={'dir': directory, 'released': released})
            else:
                result.update(self._write(directory, args, task_vars))
        except report_files.ReportDirError as err:
            result.update(failed=True, msg=str(err))
        return result

    @staticmethod
    def _warn(result, warning):
        if warning:
            result.setdefault('warnings', []).append(warning)

    def _write(self, directory, args, task_vars):
        report = fleet_report(args['hosts'], task_vars.get('hostvars', {}), report_time(), args['title'],
                              args['play_hosts'], args['active_hosts'])
        paths = {key: os.path.join(directory, name) for key, name, _render in FILES}
        texts = {key: render(report) for key, _name, render in FILES}
        result = {'output': dict(paths, dir=directory, summary=report['summary'])}
        if self._task.check_mode:
            result['changed'] = any(report_files.read_regular(paths[key]) != texts[key] for key in paths)
            return result
        report_files.check_directory(directory)
        # Without a prepare stage the lock is held for this write only; after it, the run's lock is kept.
        lock = report_files.acquire_lock(directory, run_owner(), args['lock_wait'])
        self._warn(result, lock.warning)
        try:
            # Compared under the lock: another run cannot be half-way through replacing these files.
            changed = [key for key in paths if report_files.read_regular(paths[key]) != texts[key]]
            for key in changed:
                report_files.write_atomic(paths[key], texts[key])
        except OSError as err:
            # Files written before the failure stay: each one is a complete report of this run.
            return {'failed': True, 'msg': 'cannot write the report into %s: %s' % (directory, err.strerror or err)}
        finally:
            if lock.acquired:
                report_files.release_lock(directory, run_owner())
        result['changed'] = bool(changed)
        return result
