# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the pip bootstrap script that ansible-test downloads from the internet.

ansible-test runs it as ``python get_pip.py [pip options] pip==X ...`` inside a fresh virtual
environment.  Where that download is impossible (air-gapped controllers, this project's CI) we seed
ansible-test's cache with this file: it installs pip from the interpreter's own ``ensurepip`` wheel and
then lets that pip install the exact packages ansible-test asked for from the configured index.
"""
from __future__ import annotations

import os
import subprocess
import sys

# ansible-test passes these for the real get-pip.py; plain pip does not know them.
GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')
CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'


def main() -> int:
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    env = dict(os.environ)
    # ansible-test runs pip with a reduced environment; keep TLS working behind an inspecting proxy.
    if os.path.exists(CA_BUNDLE) and 'PIP_CERT' not in env:
        env['PIP_CERT'] = CA_BUNDLE
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], env=env)
    return subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
