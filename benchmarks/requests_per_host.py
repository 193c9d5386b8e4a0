#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP requests and bytes received per host for one conflict_info run, counted from the lab's request log.

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/requests_per_host.py [--transports ntlm-http]

The lab pages like Windows (the first item in the EnumerateResponse, the rest by Pull). Runs ``ansible windows -m
mailops.port25.conflict_info`` once against every shipped scenario and the KB's remote-bind Exchange 5.5 host, over
NTLM/HTTP (message encryption), Basic/HTTPS, Kerberos/HTTP (message encryption) and Kerberos/HTTPS (channel binding;
the lab's own KDC), and prints one row per host: its kind, authentication legs, Enumerate, Pull, shell requests (the
netstat fallback of hosts without root/StandardCimv2, the type of the WinSock Proxy client's files on Exchange 5.5
hosts whose local picture does not explain the failure), the total and the bytes the controller received. The aim is
<= 7 requests per healthy or conflicted host. Not a test.
"""
from __future__ import annotations

import argparse
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
# The KB's own two-host setup: the Exchange 5.5 host whose IMS binds port 25 on its WinSock Proxy server.
REMOTE_BIND_FILE = os.path.join(ROOT, 'tests', 'lab', 'scenarios', 'topology', 'kb-proxy.yml')
REMOTE_BIND_HOST = 'ex55-wsp'
KINDS = {
    'ex55-healthy': 'healthy', 'ex55-smtp': 'conflicted SMTPSVC', 'ex55-smtp-stopped-auto': 'SMTPSVC enabled',
    'ex55-av-proxy': 'antivirus', 'ex55-unknown-owner': 'other program', 'ex2019-iis-smtp': 'Exchange 2019',
    'ex2019-biglog': 'Exchange 2019, big log',
    'ex2003': 'Exchange 2003, old OS', 'oldos-ex55-smtp': 'old OS', REMOTE_BIND_HOST: 'Exchange 5.5 remote bind',
}
COLUMNS = ('auth', 'Enumerate', 'Pull', 'shell', 'total', 'bytes_in')


def breakdown(records):
    """Counts of one run's request log lines by kind, and the bytes the client received (``bytes_in``)."""
    counts = collections.Counter()
    for record in records:
        action = record['action'].rsplit('/', 1)[-1]
        if record['auth'].startswith('ntlm-') or not action:
            counts['auth'] += 1     # handshake legs (NTLM negotiate/authenticate, Kerberos' empty POST, a probe)
        elif action in SHELL:
            counts['shell'] += 1
        else:
            counts[action] += 1
        counts['bytes_in'] += record['bytes_out']     # what the lab sent is what the controller received
    counts['total'] = len(records)
    return counts


def _run(lab, work, names, pattern='windows'):
    env = make_env()
    if lab.ready.get('krb5_conf'):      # the controller's Kerberos configuration: the lab realm; no ticket cache
        env['KRB5_CONFIG'] = lab.ready['krb5_conf']
        env.pop('KRB5CCNAME', None)
    marks = {name: len(lab.requests(name)) for name in names}
    result = adhoc(env, work, lab.inventory_path, 'mailops.port25.conflict_info', pattern=pattern)
    failed = [name for name in names if 'compliant' not in result.results.get(name, {})]
    if failed:
        raise SystemExit('conflict_info failed on %s:\n%s' % (failed, result.stdout[-3000:]))
    return {name: (breakdown(lab.requests(name)[marks[name]:]), result.results[name]['compliant']) for name in names}


def measure(label, transport, work):
    paths = [write_variant(work, name, **transport) for name in SHIPPED]
    with running_fleet(paths, state_dir=os.path.join(work, 'lab-' + label)) as lab:
        rows = _run(lab, work, SHIPPED)
    if label == 'ntlm-http':        # the topology file is NTLM/HTTP
        with running_fleet([REMOTE_BIND_FILE], state_dir=os.path.join(work, 'lab-topology')) as lab:
            rows.update(_run(lab, work, [REMOTE_BIND_HOST], pattern=REMOTE_BIND_HOST))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--transports', default=','.join(ALL_TRANSPORTS), help='comma-separated: %s' % ', '.join(ALL_TRANSPORTS))
    labels = [label for label in parser.parse_args(argv).transports.split(',') if label]
    summary = {}
    with tempfile.TemporaryDirectory(prefix='bench-requests-') as work:
        for label in labels:
            rows = measure(label, ALL_TRANSPORTS[label], work)
            print('\nconflict_info per host over %s, Windows-like paging (auth = handshake legs without a WS-Man '
                  'message; bytes_in = bytes received):' % label)
            print('  %-24s %-26s %-10s ' % ('host', 'kind', 'compliant') + ' '.join('%9s' % c for c in COLUMNS))
            for name in sorted(rows, key=lambda n: (n not in SHIPPED, n)):
                counts, compliant = rows[name]
                print('  %-24s %-26s %-10s ' % (name, KINDS.get(name, '?'), compliant)
                      + ' '.join('%9d' % counts[c] for c in COLUMNS))
            summary[label] = rows
    print('\nSUMMARY (aim <= 7 requests per healthy or conflicted host)')
    for label, rows in summary.items():
        cells = ['%s: %d req %d B' % (KINDS[name], rows[name][0]['total'], rows[name][0]['bytes_in'])
                 for name in (HEALTHY, CONFLICTED) if name in rows]
        print('  %-14s ' % label + '   '.join(cells))


if __name__ == '__main__':
    main()
