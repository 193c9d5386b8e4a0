#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of the report role alone, with ansible-playbook, over fake bind_conflict_result facts.

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/report_role.py [--hosts 1 8 200 1000] [--tasks]

Each host records a bind_conflict_result built as tests/integration/test_report.py builds them (one set_fact per
host, read from an untrusted JSON file, as a module result would be); then the play includes the report role the way
playbooks/remediate.yml does. A small callback times every task; the figure is the report role (from its
include to the end of the play), not the fact setup. Without --run-once, Ansible includes the role and validates its
arguments once per host (most of the time at scale); --run-once includes it once. --tasks prints the slowest tasks.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, 'tests', 'lab')):
    if path not in sys.path:
        sys.path.insert(0, path)

from helpers import VENV_BIN, make_env  # noqa: E402  pylint: disable=wrong-import-position
from test_report import _results  # noqa: E402  pylint: disable=wrong-import-position

REPORT_TASK = 'Write the report'

# Records when each task starts and when the play ends, as JSON lines in $REPORT_BENCH_TIMES.
CALLBACK = '''
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'report_bench'
    CALLBACK_NEEDS_ENABLED = True

    def _mark(self, name):
        with open(os.environ['REPORT_BENCH_TIMES'], 'a', encoding='utf-8') as handle:
            handle.write(json.dumps([time.monotonic(), name]) + '\\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._mark(task.get_name())

    def v2_playbook_on_stats(self, stats):
        self._mark(None)
'''


def fake_results(count, work):
    """count results cycling through the integration test's kinds (fixed, antivirus, hostile text, error, unchanged)."""
    kinds = list(_results(_Path(work)).values())
    hosts = {}
    for index in range(count):
        name = 'mail%04d.corp.example' % index
        hosts[name] = dict(kinds[index % len(kinds)], host=name)
    return hosts


class _Path(str):
    """What _results() needs of a pathlib.Path: the / operator (it names a file that must never be created)."""

    def __truediv__(self, other):
        return _Path(os.path.join(self, other))


def run(count, work, forks, run_once=False):
    """Run the play over count hosts; return [(task name, seconds)] of every task in order, and the report role's total."""
    os.makedirs(work)
    results_dir = os.path.join(work, 'results')
    os.makedirs(results_dir)
    hosts = fake_results(count, work)
    for name, result in hosts.items():
        with open(os.path.join(results_dir, name + '.json'), 'w', encoding='utf-8') as handle:
            json.dump(result, handle)
    inventory = {'all': {'children': {'fleet': {'hosts': {name: {} for name in hosts}}},
                         'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}
    play = [{'name': 'report benchmark', 'hosts': 'fleet', 'gather_facts': False, 'tasks': [
        {'name': 'Record the fake result', 'ansible.builtin.set_fact': {
            'bind_conflict_result': "{{ lookup('ansible.builtin.file', results_dir ~ '/' ~ inventory_hostname ~ '.json') | from_json }}"}},
        {'name': REPORT_TASK, 'ansible.builtin.include_role': {'name': 'mailops.port25.report'}, 'run_once': run_once,
         'vars': {'report_dir': os.path.join(work, 'out'), 'report_title': 'Benchmark'}}]}]
    for name, data in (('inventory.yml', inventory), ('play.yml', play)):
        with open(os.path.join(work, name), 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
    os.makedirs(os.path.join(work, 'callbacks'))
    with open(os.path.join(work, 'callbacks', 'report_bench.py'), 'w', encoding='utf-8') as handle:
        handle.write(CALLBACK)
    times = os.path.join(work, 'times.jsonl')
    env = dict(make_env(), ANSIBLE_CALLBACK_PLUGINS=os.path.join(work, 'callbacks'), ANSIBLE_CALLBACKS_ENABLED='report_bench',
               REPORT_BENCH_TIMES=times, ANSIBLE_FORKS=str(forks), ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'))
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', os.path.join(work, 'inventory.yml'), os.path.join(work, 'play.yml'),
           '-e', 'results_dir=%s' % results_dir]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit('ansible-playbook failed (rc %d) for %d hosts:\n%s%s' % (proc.returncode, count, proc.stdout[-3000:], proc.stderr[-2000:]))
    with open(os.path.join(work, 'out', 'port25-report.json'), encoding='utf-8') as handle:
        reported = json.load(handle)['summary']['hosts']
    if reported != count:
        raise SystemExit('the report covers %d host(s), expected %d' % (reported, count))
    with open(times, encoding='utf-8') as handle:
        marks = [json.loads(line) for line in handle]
    tasks = [(name, marks[i + 1][0] - start) for i, (start, name) in enumerate(marks[:-1])]
    names = [name for name, _seconds in tasks]
    total = sum(seconds for _name, seconds in tasks[names.index(REPORT_TASK):])
    return tasks, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, nargs='+', default=[1, 8, 200, 1000])
    parser.add_argument('--forks', type=int, default=16)
    parser.add_argument('--tasks', action='store_true', help="also print the report role's slowest tasks")
    parser.add_argument('--run-once', action='store_true', help='include the role with run_once: true (validated once, not per host)')
    args = parser.parse_args()
    print('report role alone, include_role%s, ansible-playbook -f %d (seconds, from its include to the end of the play)'
          % (' with run_once' if args.run_once else '', args.forks))
    with tempfile.TemporaryDirectory(prefix='bench-report-') as work:
        for count in args.hosts:
            tasks, total = run(count, os.path.join(work, str(count)), args.forks, args.run_once)
            print('%6d hosts: %7.2f s  (%.1f ms per host)' % (count, total, 1000.0 * total / count), flush=True)
            if args.tasks:
                start = [name for name, _seconds in tasks].index(REPORT_TASK)
                for name, seconds in sorted(tasks[start:], key=lambda task: -task[1])[:6]:
                    print('          %7.2f s  %s' % (seconds, name))


if __name__ == '__main__':
    main()
