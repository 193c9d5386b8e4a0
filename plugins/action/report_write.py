# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the port 25 fleet report files on the controller (documentation: plugins/modules/report_write.py)."""

from __future__ import annotations

import datetime
import os
import tempfile

from ansible.plugins.action import ActionBase

from ansible_collections.mailops.port25.plugins.filter.port25_report import (
    DEFAULT_TITLE, fleet_report, render_html, render_json, render_junit)

# File name and renderer of each report document; the keys are the path keys of the result's `output`.
FILES = (('json', 'port25-report.json', render_json), ('html', 'port25-report.html', render_html),
         ('junit', 'port25-report.xml', render_junit))

ARGUMENT_SPEC = {
    'dest': {'type': 'path', 'required': True},
    'hosts': {'type': 'list', 'elements': 'str', 'required': True},
    'title': {'type': 'str', 'default': DEFAULT_TITLE},
    'play_hosts': {'type': 'list', 'elements': 'str'},
    'active_hosts': {'type': 'list', 'elements': 'str'},
}


def report_time() -> str:
    """Now, UTC, to the second: the report's `generated`."""
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _current(path: str):
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def _write(path: str, text: str):
    """Replace the file in one step (a reader never sees half a report), mode 0644."""
    handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


class ActionModule(ActionBase):
    """Build the report once from hostvars and write its three renderings; no module runs."""

    # Not BYPASS_HOST_LOOP: the free strategy refuses such actions, and the role already runs it with run_once.
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _spec, args = self.validate_argument_spec(ARGUMENT_SPEC)
        directory = os.path.realpath(os.path.abspath(args['dest']))
        report = fleet_report(args['hosts'], task_vars.get('hostvars', {}), report_time(), args['title'],
                              args['play_hosts'], args['active_hosts'])
        paths = {key: os.path.join(directory, name) for key, name, _render in FILES}
        texts = {key: render(report) for key, _name, render in FILES}
        changed = [key for key in paths if _current(paths[key]) != texts[key]]
        if changed and not self._task.check_mode:
            try:
                os.makedirs(directory, mode=0o755, exist_ok=True)
                for key in changed:
                    _write(paths[key], texts[key])
            except OSError as err:
                # Files written before the failure stay: each one is a complete report of this run.
                result.update(failed=True, msg='cannot write the report into %s: %s' % (directory, err.strerror or err))
                return result
        result.update(changed=bool(changed), output=dict(paths, dir=directory, summary=report['summary']))
        return result
