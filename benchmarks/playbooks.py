#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's playbooks cost against the bare diagnosis they wrap, measured in one run.

    make bench BENCH=playbooks            # 200 hosts, -f 25; 1,000-host compliance; rolling remediation
    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/playbooks.py [--hosts 200] [--forks 25]
        [--wall-hosts 1000] [--skip-wall] [--skip-rolling]

1. On one generated fleet: controller CPU (ansible-playbook and its children) of the bare conflict_info task, of
   compliance.yml and of remediate.yml --check; the ratios are the figures (aim <= 1.5).
2. compliance.yml on a --wall-hosts fleet: wall time (aim < 90 s at 1,000 hosts).
3. remediate.yml on two fresh fleets: all hosts in one batch, then rollout_batch=10%; the ratio of the wall times
   (aim about 3).
The lab shares this machine; its CPU is measured apart and not counted as controller CPU. Not a test.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)

from controller_cpu import running_fleet, timed_playbook  # noqa: E402  pylint: disable=wrong-import-position


def run(target, lab, forks, work, label, *extra):
    """One playbook run that must pass; returns (wall s, controller CPU s, lab CPU s)."""
    rc, wall, cpu, lab_cpu, failed, stdout = timed_playbook(target, lab.inventory_path, forks, work, lab.process.pid,
                                                            extra=list(extra) + ['-e', 'report_dir=%s' % os.path.join(work, label)])
    if rc != 0 or failed:
        raise SystemExit('%s failed (rc %s):\n%s' % (label, rc, stdout[-3000:]))
    return wall, cpu, lab_cpu


def bare_playbook(work):
    path = os.path.join(work, 'bare.yml')
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump([{'name': 'bare diagnosis', 'hosts': 'windows', 'gather_facts': False,
                         'tasks': [{'name': 'diagnose', 'mailops.port25.conflict_info': {}}]}], handle)
    return path


def cpu_ratios(args, work):
    with running_fleet(generate=args.hosts, state_dir=os.path.join(work, 'lab-cpu'), start_timeout=300) as lab:
        figures = {
            'conflict_info (bare)': run(bare_playbook(work), lab, args.forks, work, 'bare'),
            'compliance.yml': run('mailops.port25.compliance', lab, args.forks, work, 'compliance'),
            'remediate.yml --check': run('mailops.port25.remediate', lab, args.forks, work, 'check', '--check'),
        }
    print('%d hosts, -f %d (controller CPU = ansible-playbook + children; lab CPU apart)' % (args.hosts, args.forks))
    print('  %-24s %8s %14s %12s %10s' % ('play', 'wall s', 'controller CPU', 'ms per host', 'lab CPU s'))
    for title, (wall, cpu, lab_cpu) in figures.items():
        print('  %-24s %8.1f %14.1f %12.1f %10.1f' % (title, wall, cpu, 1000.0 * cpu / args.hosts, lab_cpu))
    bare = figures['conflict_info (bare)'][1]
    for title in ('compliance.yml', 'remediate.yml --check'):
        print('RATIO %s / bare conflict_info controller CPU: %.2f (aim <= 1.5)' % (title, figures[title][1] / bare))


def compliance_wall(args, work):
    with running_fleet(generate=args.wall_hosts, state_dir=os.path.join(work, 'lab-wall'), start_timeout=600) as lab:
        wall, cpu, lab_cpu = run('mailops.port25.compliance', lab, 50, work, 'wall')
    print('WALL compliance.yml, %d hosts, -f 50: %.1f s (aim < 90 s); controller CPU %.1f s, lab CPU %.1f s'
          % (args.wall_hosts, wall, cpu, lab_cpu))


def rolling(args, work):
    walls = {}
    for label, extra in (('one batch', ()), ('batches of 10%', ('-e', 'rollout_batch=10%'))):
        state = os.path.join(work, 'lab-' + label.replace(' ', '-').replace('%', ''))
        with running_fleet(generate=args.hosts, state_dir=state, start_timeout=300) as lab:
            walls[label] = run('mailops.port25.remediate', lab, args.forks, work, label.replace(' ', '-'), *extra)[0]
    print('WALL remediate.yml, %d hosts, -f %d: one batch %.1f s, batches of 10%% %.1f s; RATIO %.2f (aim about 3)'
          % (args.hosts, args.forks, walls['one batch'], walls['batches of 10%'], walls['batches of 10%'] / walls['one batch']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--forks', type=int, default=25)
    parser.add_argument('--wall-hosts', type=int, default=1000)
    parser.add_argument('--skip-wall', action='store_true')
    parser.add_argument('--skip-rolling', action='store_true')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='bench-playbooks-') as work:
        cpu_ratios(args, work)
        if not args.skip_wall:
            compliance_wall(args, work)
        if not args.skip_rolling:
            rolling(args, work)


if __name__ == '__main__':
    main()
