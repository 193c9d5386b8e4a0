#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller CPU per host of conflict_info, as a ratio against ansible.builtin.ping delegated to localhost.

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/controller_cpu.py [--hosts 200] [--forks 25]

Starts one generated lab fleet, then runs two playbooks on the same hosts in the same run: ``ping`` delegated to
localhost (a Python module process per host) and ``conflict_info`` (the action plugin, inventory-only settings).
Controller CPU = user+sys of ansible-playbook and all its children (resource.getrusage(RUSAGE_CHILDREN) around each
subprocess); the lab's CPU (same machine) is read from /proc separately. The aim is a ratio <= 0.25. Not a test.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'lab'), os.path.join(ROOT, 'tests', 'integration')):
    if path not in sys.path:
        sys.path.insert(0, path)

from helpers import VENV_BIN, make_env  # noqa: E402  pylint: disable=wrong-import-position
from winlab.testing import running_fleet  # noqa: E402  pylint: disable=wrong-import-position

PLAYS = {
    'ping delegated to localhost': [{'name': 'ping', 'ansible.builtin.ping': {}, 'delegate_to': 'localhost',
                                     'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}],
    # one task only (a second task would add Ansible's own per-task cost); a failed host shows in the recap
    'conflict_info': [{'name': 'diagnose', 'mailops.port25.conflict_info': {}}],
}


def process_cpu(pid):
    """user+sys CPU seconds of a running process (all its threads), from /proc."""
    with open('/proc/%d/stat' % pid, encoding='ascii') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def timed_playbook(path, inventory, forks, cwd, lab_pid=None, extra=()):
    """Run ansible-playbook; return (rc, wall s, controller CPU s incl. children, lab CPU s, recap line)."""
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', inventory, '-f', str(forks), path] + list(extra)
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lab_before = process_cpu(lab_pid) if lab_pid else 0.0
    start = time.monotonic()
    proc = subprocess.run(cmd, env=make_env(), cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lab_cpu = (process_cpu(lab_pid) - lab_before) if lab_pid else 0.0
    cpu = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime - before_children.ru_stime)
    recap = [line for line in proc.stdout.splitlines() if 'ok=' in line]
    failed = [line for line in recap if ' failed=0 ' not in line + ' ' or 'unreachable=0' not in line]
    return proc.returncode, wall, cpu, lab_cpu, failed, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--forks', type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='bench-cpu-') as work:
        with running_fleet(generate=args.hosts, state_dir=os.path.join(work, 'lab'), start_timeout=300) as lab:
            figures = {}
            for title, tasks in PLAYS.items():
                path = os.path.join(work, title.split()[0] + '.yml')
                with open(path, 'w', encoding='utf-8') as handle:
                    yaml.safe_dump([{'name': title, 'hosts': 'windows', 'gather_facts': False, 'tasks': tasks}], handle)
                rc, wall, cpu, lab_cpu, failed, stdout = timed_playbook(path, lab.inventory_path, args.forks, work, lab.process.pid)
                if rc != 0 or failed:
                    raise SystemExit('%s failed (rc %s):\n%s' % (title, rc, stdout[-3000:]))
                figures[title] = (wall, cpu, lab_cpu)
    print('%d hosts, -f %d (controller CPU = ansible-playbook + children; lab CPU measured apart)' % (args.hosts, args.forks))
    print('  %-28s %8s %14s %16s %12s' % ('play', 'wall s', 'controller CPU', 'CPU per host ms', 'lab CPU s'))
    for title, (wall, cpu, lab_cpu) in figures.items():
        print('  %-28s %8.1f %14.1f %16.1f %12.1f' % (title, wall, cpu, 1000.0 * cpu / args.hosts, lab_cpu))
    ratio = figures['conflict_info'][1] / figures['ping delegated to localhost'][1]
    print('RATIO conflict_info / ping-delegated controller CPU: %.3f (aim <= 0.25)' % ratio)


if __name__ == '__main__':
    main()
