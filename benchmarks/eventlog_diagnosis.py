#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A conflict_info diagnosis against the 100,000-record event log of ex2019-biglog, beside the same conflict with a
small log (ex2019-iis-smtp).

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/eventlog_diagnosis.py [--runs 3]

Runs the diagnosis in this process (the code behind the module and its action plugin, NTLM over HTTP, no SMTP
greeting) and prints, per case: the wall time of each run, the operation timeout, whether the run ended within it, the
events found and the gaps named. The cases: the default 72-hour window on both hosts; then a whole-year window on
the big log, with the default operation timeout (the scan runs into WMI's quota) and with a 2-second one (it times
out). Every case must end within its operation timeout (beyond the time the small-log diagnosis takes) with either
the events or a named gap; a quota fault, which Windows reports as an InternalError, is tried three times by the
client (0.5 s and 1.5 s pauses). Not a test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'lab'), os.path.join(ROOT, 'tests', 'integration')):
    if path not in sys.path:
        sys.path.insert(0, path)

# pylint: disable=wrong-import-position
from ansible_collections.mailops.port25.plugins.module_utils import connection, runner  # noqa: E402
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict_info  # noqa: E402
from helpers import write_variant  # noqa: E402
from winlab.testing import running_fleet  # noqa: E402

BIG, SMALL = 'ex2019-biglog', 'ex2019-iis-smtp'
CASES = (
    ('72 h window, small log', SMALL, {}),
    ('72 h window, 100,000 records', BIG, {}),
    ('whole year, default timeout', BIG, {'event_window_hours': 8784}),
    ('whole year, 2 s timeout', BIG, {'event_window_hours': 8784, 'winrm_operation_timeout': 2, 'winrm_read_timeout': 10}),
)


def params_for(lab, name, overrides):
    """The module's parameters with their defaults, pointed at a lab host as its inventory entry says."""
    host = lab.hosts[name]
    params = {key: spec.get('default') for key, spec in dict(connection.WINRM_ARGSPEC, **conflict_info.ARGUMENT_SPEC).items()}
    params.update(winrm_host=host['ansible_host'], winrm_port=host['ansible_port'], winrm_scheme=host['ansible_winrm_scheme'],
                  winrm_transport=host['ansible_winrm_transport'], winrm_user=host['ansible_user'],
                  winrm_password=host['ansible_password'], greeting=False)
    params.update(overrides)
    return params


class EveryEvent:
    """conflict_info's diagnosis with the events read whoever holds the port (as the conflict module reads them):
    conflict_info itself reads no events where SMTPSVC holds the port, as on these hosts."""
    check_params = staticmethod(conflict_info.check_params)

    @staticmethod
    def run(client, params, **_kwargs):
        return conflict_info.diagnose(client, params)[0]


def run_case(lab, name, overrides, runs):
    params = params_for(lab, name, overrides)
    walls, result = [], None
    for _run in range(runs):
        started = time.monotonic()
        result = runner.execute(EveryEvent, dict(params))
        walls.append(time.monotonic() - started)
        if result.get('failed'):
            raise SystemExit('conflict_info failed on %s: %s' % (name, result.get('msg')))
    return walls, params['winrm_operation_timeout'], result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--runs', type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='bench-eventlog-') as work:
        paths = [write_variant(work, name, scheme='http', auth='ntlm') for name in (BIG, SMALL)]
        with running_fleet(paths, state_dir=os.path.join(work, 'lab')) as lab:
            print('conflict_info against the event log (%d runs per case, NTLM over HTTP, in-process):' % args.runs)
            header = ('case', 'median s', 'max s', 'timeout', 'in time', 'events', 'gaps')
            print('  %-32s %8s %8s %8s %9s %7s  %s' % header)
            ok = True
            baseline = None
            for label, name, overrides in CASES:
                walls, timeout, result = run_case(lab, name, overrides, args.runs)
                baseline = max(walls) if baseline is None else baseline
                # in time: the event query within the operation timeout, the rest of the diagnosis as long as on the
                # small log (the first case)
                within = max(walls) <= timeout + baseline and (result['events'] or result['gaps'])
                ok = ok and bool(within)
                gaps = '; '.join(gap['error'] for gap in result['gaps']) or '-'
                row = (label, statistics.median(walls), max(walls), timeout, 'yes' if within else 'NO',
                       len(result['events']), gaps)
                print('  %-32s %8.2f %8.2f %8d %9s %7d  %s' % row)
    print('\nSUMMARY: every case ended within its operation timeout with events or a named gap: %s'
          % ('yes' if ok else 'NO'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
