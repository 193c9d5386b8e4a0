#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP requests per host of a remote-bind diagnosis (KB Q222553's two-host setup), from the lab's request log.

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/remote_bind_requests.py

Starts the lab's kb-proxy topology (an Exchange 5.5 host whose IMS binds port 25 on a Proxy Server 2.0 host) and runs
``ansible ex55-wsp -m mailops.port25.conflict_info`` twice over NTLM/HTTP: without a port host (the remote bind is
read and reported) and with ``port_host=wsp-proxy`` (the port is diagnosed on the proxy too). Prints one row per
host and run: authentication legs, Enumerate, Pull, shell requests (the one ``type`` of Wspcfg.ini and Mspclnt.ini)
the total and the bytes received. The SMTP greeting is a TCP connection from the controller, not an HTTP request. Not a test.
"""
from __future__ import annotations

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'lab'), os.path.join(ROOT, 'tests', 'integration'), os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)

from helpers import adhoc, make_env  # noqa: E402  pylint: disable=wrong-import-position
from requests_per_host import breakdown  # noqa: E402  pylint: disable=wrong-import-position
from winlab.testing import running_fleet  # noqa: E402  pylint: disable=wrong-import-position

KB_FILE = os.path.join(ROOT, 'tests', 'lab', 'scenarios', 'topology', 'kb-proxy.yml')
MAIL, PROXY = 'ex55-wsp', 'wsp-proxy'


def main():
    columns = ('auth', 'Enumerate', 'Pull', 'shell', 'total', 'bytes_in')
    with tempfile.TemporaryDirectory(prefix='bench-remote-bind-') as work:
        with running_fleet([KB_FILE], state_dir=os.path.join(work, 'lab')) as lab:
            print('remote-bind diagnosis over ntlm-http, requests per host and run (auth = handshake legs):')
            print('  %-34s %-10s ' % ('run / host', 'compliant') + ' '.join('%9s' % c for c in columns))
            for label, args in (('without port_host', {}), ('with port_host=%s' % PROXY, {'port_host': PROXY})):
                seen = dict((name, len(lab.requests(name))) for name in (MAIL, PROXY))
                result = adhoc(make_env(), work, lab.inventory_path, 'mailops.port25.conflict_info', args or None, pattern=MAIL)
                res = result.results.get(MAIL) or {}
                if 'compliant' not in res:
                    raise SystemExit('conflict_info failed:\n%s' % result.stdout[-3000:])
                for name in (MAIL, PROXY):
                    counts = breakdown(lab.requests(name)[seen[name]:])
                    print('  %-34s %-10s ' % ('%s / %s' % (label, name), res['compliant']) +
                          ' '.join('%9d' % counts[c] for c in columns))
                codes = sorted(f['code'] for f in res['findings'] if f['severity'] in ('error', 'warning'))
                print('    findings: %s' % ', '.join(codes))


if __name__ == '__main__':
    main()
