#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time of a whole-fleet diagnosis: conflict_info on a generated lab fleet (default 1,000 hosts).

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/fleet_wall.py [--hosts 1000] [--forks 50]

The lab and the controller share this machine, so the figure includes the lab's own work. The fleet's start-up
is timed apart and not counted. The aim is under 90 s for 1,000 hosts. Not a test.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import yaml

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)

from controller_cpu import running_fleet, timed_playbook  # noqa: E402  pylint: disable=wrong-import-position


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--forks', type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='bench-wall-') as work:
        path = os.path.join(work, 'diagnose.yml')
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump([{'name': 'diagnose the fleet', 'hosts': 'windows', 'gather_facts': False,
                             'tasks': [{'name': 'diagnose', 'mailops.port25.conflict_info': {}}]}], handle)
        start = time.monotonic()
        with running_fleet(generate=args.hosts, state_dir=os.path.join(work, 'lab'), start_timeout=600) as lab:
            started = time.monotonic() - start
            rc, wall, cpu, lab_cpu, failed, stdout = timed_playbook(path, lab.inventory_path, args.forks, work, lab.process.pid)
    if rc != 0 or failed:
        raise SystemExit('the diagnosis failed on %d host(s) (rc %s):\n%s' % (len(failed), rc, stdout[-3000:]))
    print('%d hosts, -f %d: fleet start %.1f s (not counted)' % (args.hosts, args.forks, started))
    print('WALL %.1f s for the diagnosis of %d hosts (aim < 90 s); controller CPU %.1f s, lab CPU %.1f s, %.1f hosts/s'
          % (wall, args.hosts, cpu, lab_cpu, args.hosts / wall))


if __name__ == '__main__':
    main()
