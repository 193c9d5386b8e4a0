# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the lab tests: a transport fleet with one host per auth mode and fault."""
from __future__ import annotations

import os
import sys

import pytest

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if LAB_DIR not in sys.path:
    sys.path.insert(0, LAB_DIR)

from winlab import testing  # noqa: E402  pylint: disable=wrong-import-position

SCENARIO_DIR = os.path.join(LAB_DIR, 'scenarios')

# a small Exchange 5.5 host: enough services for the transport tests, SMTPSVC holding port 25
SMALL_SERVICES = [
    {'name': 'IISADMIN', 'display_name': 'IIS Admin Service', 'state': 'running', 'start_mode': 'auto',
     'process': 'inetinfo.exe', 'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe'},
    {'name': 'SMTPSVC', 'display_name': 'Simple Mail Transfer Protocol (SMTP)', 'state': 'running',
     'start_mode': 'auto', 'process': 'inetinfo.exe', 'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe',
     'listens': [25], 'depends_on': ['IISADMIN']},
    {'name': 'MSExchangeIMC', 'display_name': 'Microsoft Exchange Internet Mail Service', 'state': 'stopped',
     'start_mode': 'auto', 'process': 'msexcimc.exe', 'path': 'C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe',
     'listens': [25]},
]

# name -> extra host fields; every host also listens on the HTTPS port
TRANSPORT_HOSTS = {
    'plain': {},
    'secure': {'scheme': 'https', 'auth': ['basic', 'ntlm']},
    'slow': {'faults': {'latency_ms': 300}},
    'flaky': {'faults': {'drop_connections': 2}},
    'locked': {'auth': ['ntlm', 'basic'], 'faults': {'refuse_auth': True}},
}
READ_TIMEOUT = 1.0
IDLE_TIMEOUT = 3.0


def small_host(name, **fields):
    host = {'name': name, 'groups': ['exchange55'], 'services': [dict(s) for s in SMALL_SERVICES]}
    host.update(fields)
    return host


@pytest.fixture(scope='session')
def transport_lab(tmp_path_factory):
    """One fleet for the read-only transport tests (short timeouts so stalled and idle connections end fast)."""
    state = tmp_path_factory.mktemp('transport-lab')
    spec = testing.write_scenario(state / 'transport.yml', [small_host(n, **f) for n, f in TRANSPORT_HOSTS.items()])
    with testing.running_fleet([spec], state / 'state', extra_args=['--read-timeout', READ_TIMEOUT, '--idle-timeout', IDLE_TIMEOUT]) as lab:
        yield lab


@pytest.fixture
def small_spec(tmp_path):
    """A scenario file with one small NTLM/HTTP host 'ex55' (for tests that change state or restart)."""
    return testing.write_scenario(tmp_path / 'small.yml', [small_host('ex55')])
