#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every benchmark script in this folder, one after the other, and print their figures.

    make bench                     # all of them
    make bench BENCH=lab_throughput # one (the file name without .py)

Benchmarks are run on demand, never by `make test`: the machines are shared and noisy, so each script
compares ratios measured within one run instead of asserting absolute times.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    wanted = [name for name in argv if name]
    scripts = sorted(name[:-3] for name in os.listdir(HERE) if name.endswith('.py') and name != os.path.basename(__file__))
    unknown = [name for name in wanted if name not in scripts]
    if unknown:
        print('unknown benchmark(s): %s (have: %s)' % (', '.join(unknown), ', '.join(scripts)), file=sys.stderr)
        return 2
    failed = []
    for name in wanted or scripts:
        print('=== %s' % name, flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, os.path.join(HERE, name + '.py')])
        print('=== %s: exit %d after %.0f s' % (name, rc, time.monotonic() - started), flush=True)
        if rc:
            failed.append(name)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
