# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by every integration test (diagnosis, service/role, report); the plain helpers are in helpers.py.

Fixtures
--------
``scenario_variant(name, scheme=None, auth=None, faults=None, hosts=None)`` -> path
    A shipped scenario (``tests/lab/scenarios/<name>.yml``) written to ``tmp_path`` with its connection
    defaults overridden: ``scheme='http', auth='ntlm'`` (NTLM with message encryption) or
    ``scheme='https', auth='basic'`` (Basic over TLS, certificate validated against the lab CA). ``faults``
    (a dict, see winlab.scenario FAULT_KEYS) is set on every host; ``hosts`` keeps only the named hosts.
``start_fleet(*scenario_paths, **running_fleet_kwargs)`` -> winlab FleetHandle
    Starts a lab fleet with ``winlab.testing.running_fleet`` (free ports, state under ``tmp_path``) and
    stops it when the test ends. ``handle.inventory_path``, ``handle.hosts[name]``,
    ``handle.host_state(name)``, ``handle.requests(name)``.
``ansible_env`` -> dict
    The environment for ansible subprocesses: collection path, PYTHONPATH, no host key checking, no colour,
    no retry files, and no ``MAILOPS_WINRM_*`` variables (connection settings come from the inventory only).
``run_adhoc(inventory, module, args=None, pattern='windows', check=False, extra=())`` -> AdhocResult
    Runs ``ansible <pattern> -m <module> -a <json args> --tree DIR``; ``.results`` maps each host to its parsed
    JSON result, ``.rc``, ``.stdout``, ``.stderr``.
``run_playbook(playbook, inventory, extra_vars=None, check=False, extra=())`` -> PlaybookResult
    Runs ``ansible-playbook``; ``.rc``, ``.stdout``, ``.stderr``.

Session fleets for READ-ONLY tests: ``diag_fleets`` starts the shipped scenarios once over NTLM/HTTP and
once over Basic/HTTPS (``{'ntlm-http': handle, 'basic-https': handle}``). Tests that change a host or need faults
start their own fleet with ``start_fleet``.
"""
from __future__ import annotations

import contextlib

import pytest

from winlab.testing import running_fleet

from ansible_collections.mailops.port25.tests.integration.helpers import (
    SHIPPED, TRANSPORTS, adhoc, make_env, playbook, write_variant)


def pytest_terminal_summary(terminalreporter, config):
    """Show tables that tests attached to ``config.diag_tables`` (e.g. the conflict_info verdict of every scenario)."""
    for title, lines in getattr(config, 'diag_tables', []):
        terminalreporter.write_sep('-', title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def scenario_variant(tmp_path):
    def make(name, scheme=None, auth=None, faults=None, hosts=None):
        return write_variant(tmp_path, name, scheme, auth, faults, hosts)
    return make


@pytest.fixture
def start_fleet(tmp_path):
    with contextlib.ExitStack() as stack:
        count = [0]

        def start(*paths, **kwargs):
            count[0] += 1
            kwargs.setdefault('state_dir', str(tmp_path / ('lab%d' % count[0])))
            return stack.enter_context(running_fleet(list(paths), **kwargs))
        yield start


@pytest.fixture(scope='session')
def ansible_env():
    return make_env()


@pytest.fixture
def run_adhoc(ansible_env, tmp_path):
    def run(inventory, module, args=None, pattern='windows', check=False, extra=()):
        return adhoc(ansible_env, tmp_path, inventory, module, args, pattern, check, extra)
    return run


@pytest.fixture
def run_playbook(ansible_env, tmp_path):
    def run(path, inventory, extra_vars=None, check=False, extra=()):
        return playbook(ansible_env, tmp_path, path, inventory, extra_vars, check, extra)
    return run


@pytest.fixture(scope='session')
def diag_fleets(tmp_path_factory):
    """The shipped scenarios, once per transport, shared by every read-only test of the session."""
    base = tmp_path_factory.mktemp('diag')
    with contextlib.ExitStack() as stack:
        fleets = {}
        for label, transport in TRANSPORTS.items():
            paths = [write_variant(base, name, **transport) for name in SHIPPED]
            fleets[label] = stack.enter_context(running_fleet(paths, state_dir=str(base / label)))
        yield fleets
