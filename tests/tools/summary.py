# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print one closing line for `make test`: the pytest results of every suite added up.

    python tests/tools/summary.py out/test-results/*.xml

Reads the JUnit XML files that pytest wrote (--junitxml) and prints, per suite and in total,
``N passed, N failed, N skipped``. Exits non-zero when a file is missing or unreadable, or when a
suite ran no test, so that a silent suite cannot pass for a green one.
"""
from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET


def counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
    total = dict(tests=0, failures=0, errors=0, skipped=0)
    for suite in suites:
        for key in total:
            total[key] += int(suite.get(key, 0))
    failed = total['failures'] + total['errors']
    return total['tests'] - failed - total['skipped'], failed, total['skipped']


def main(paths):
    if not paths:
        print('summary: no result files given', file=sys.stderr)
        return 2
    grand = [0, 0, 0]
    status = 0
    for path in paths:
        try:
            passed, failed, skipped = counts(path)
        except (OSError, ET.ParseError) as exc:
            print('summary: cannot read %s: %s' % (path, exc), file=sys.stderr)
            return 2
        name = os.path.splitext(os.path.basename(path))[0]
        print('  %-12s %d passed, %d failed, %d skipped' % (name, passed, failed, skipped))
        if passed + failed == 0:
            print('summary: suite %s ran no test' % name, file=sys.stderr)
            status = 1
        status = status or (1 if failed else 0)
        grand = [a + b for a, b in zip(grand, (passed, failed, skipped))]
    print('tests: %d passed, %d failed, %d skipped' % tuple(grand))
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
