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

# name -> extra host fields; every host also listens on the HTTPS port
TRANSPORT_HOSTS = {
    'plain': {},
    'secure': {'scheme': 'https', 'auth': ['basic', 'ntlm']},
    'slow': {'faults': {'latency_ms': 300}},
    'flaky': {'faults': {'drop_connections': 2}},
    'locked': {'auth': ['ntlm', 'basic'], 'faults': {'refuse_auth': True}},
    'stuck': {'faults': {'operation_timeout_on': ['Get']}},
}
READ_TIMEOUT = 1.0
IDLE_TIMEOUT = 3.0


@pytest.fixture(scope='session')
def transport_lab(tmp_path_factory):
    """One fleet for the read-only transport tests (short timeouts so stalled and idle connections end fast)."""
    state = tmp_path_factory.mktemp('transport-lab')
    spec = testing.write_scenario(state / 'transport.yml', [testing.small_host(n, **f) for n, f in TRANSPORT_HOSTS.items()])
    with testing.running_fleet([spec], state / 'state', extra_args=['--read-timeout', READ_TIMEOUT, '--idle-timeout', IDLE_TIMEOUT]) as lab:
        yield lab


@pytest.fixture
def small_spec(tmp_path):
    """A scenario file with one small NTLM/HTTP host 'ex55' (for tests that change state or restart)."""
    return testing.write_scenario(tmp_path / 'small.yml', [testing.small_host('ex55')])
