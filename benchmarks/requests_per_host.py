#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP requests per host for one conflict_info run, counted from the lab's request log (authentication legs included).

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/requests_per_host.py

Runs ``ansible windows -m mailops.port25.conflict_info`` once against every shipped scenario, over NTLM/HTTP (message
encryption), Basic/HTTPS, Kerberos/HTTP (message encryption) and Kerberos/HTTPS (channel binding; the lab's own KDC,
tickets obtained by the modules from the inventory's password), and prints one row per host: authentication legs,
Enumerate, Pull, shell requests (the netstat fallback of hosts without root/StandardCimv2) and the total. The aim is
<= 7 per host. Not a test.
"""
from __future__ import annotations

import collections
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'lab'), os.path.join(ROOT, 'tests', 'integration')):
    if path not in sys.path:
        sys.path.insert(0, path)

from helpers import SHIPPED, TRANSPORTS, adhoc, make_env, write_variant  # noqa: E402  pylint: disable=wrong-import-position
from winlab.testing import running_fleet  # noqa: E402  pylint: disable=wrong-import-position

HEALTHY, CONFLICTED = 'ex55-healthy', 'ex55-smtp'
ALL_TRANSPORTS = dict(TRANSPORTS, **{'kerberos-http': {'scheme': 'http', 'auth': 'kerberos'},
                                     'kerberos-https': {'scheme': 'https', 'auth': 'kerberos'}})
SHELL = ('Create', 'Command', 'Receive', 'Signal', 'Delete')


def breakdown(records):
    """Counts of one run's request log lines by kind."""
    counts = collections.Counter()
    for record in records:
        action = record['action'].rsplit('/', 1)[-1]
        if record['auth'].startswith('ntlm-') or not action:
            counts['auth'] += 1     # handshake legs (NTLM negotiate/authenticate, Kerberos' empty POST, a probe)
        elif action in SHELL:
            counts['shell'] += 1
        else:
            counts[action] += 1
    counts['total'] = len(records)
    return counts


def measure(label, transport, work):
    paths = [write_variant(work, name, **transport) for name in SHIPPED]
    with running_fleet(paths, state_dir=os.path.join(work, 'lab-' + label)) as lab:
        env = make_env()
        if lab.ready.get('krb5_conf'):      # the controller's Kerberos configuration: the lab realm; no ticket cache
            env['KRB5_CONFIG'] = lab.ready['krb5_conf']
            env.pop('KRB5CCNAME', None)
        result = adhoc(env, work, lab.inventory_path, 'mailops.port25.conflict_info')
        failed = [name for name in SHIPPED if 'compliant' not in result.results.get(name, {})]
        if failed:
            raise SystemExit('conflict_info failed on %s:\n%s' % (failed, result.stdout[-3000:]))
        return {name: (breakdown(lab.requests(name)), result.results[name]['compliant']) for name in SHIPPED}


def main():
    columns = ('auth', 'Enumerate', 'Pull', 'shell', 'total')
    summary = []
    with tempfile.TemporaryDirectory(prefix='bench-requests-') as work:
        for label, transport in ALL_TRANSPORTS.items():
            rows = measure(label, transport, work)
            print('\nconflict_info requests per host over %s (auth = handshake legs without a WS-Man message):' % label)
            print('  %-24s %-10s ' % ('host', 'compliant') + ' '.join('%9s' % c for c in columns))
            for name in SHIPPED:
                counts, compliant = rows[name]
                print('  %-24s %-10s ' % (name, compliant) + ' '.join('%9d' % counts[c] for c in columns))
            summary.append((label, rows[HEALTHY][0]['total'], rows[CONFLICTED][0]['total']))
    print('\nSUMMARY (aim <= 7 per host)')
    for label, healthy, conflicted in summary:
        print('  %-12s healthy host (%s): %d requests   conflicted host (%s): %d requests' % (label, HEALTHY, healthy, CONFLICTED, conflicted))


if __name__ == '__main__':
    main()
