# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by every integration test (diagnosis, service/role, report).

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
``calls(env, cwd, inventory, plan)`` (function) -> (PlaybookResult, {host: {key: result}})
    Many module calls, each with optional task vars, in one ansible-playbook run (quicker than one run per call).

Session fleets for READ-ONLY tests: ``diag_fleets`` starts the eight shipped scenarios once over NTLM/HTTP and
once over Basic/HTTPS (``{'ntlm-http': handle, 'basic-https': handle}``). Tests that change a host or need faults
start their own fleet with ``start_fleet``.
"""
from __future__ import annotations

import collections
import contextlib
import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from winlab.testing import running_fleet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO_DIR = os.path.join(ROOT, 'tests', 'lab', 'scenarios')
VENV_BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, '.venv', 'collections')
SHIPPED = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(SCENARIO_DIR, '*.yml')))
TRANSPORTS = {'ntlm-http': {'scheme': 'http', 'auth': 'ntlm'}, 'basic-https': {'scheme': 'https', 'auth': 'basic'}}

AdhocResult = collections.namedtuple('AdhocResult', ['rc', 'stdout', 'stderr', 'results'])
PlaybookResult = collections.namedtuple('PlaybookResult', ['rc', 'stdout', 'stderr'])


def write_variant(directory, name, scheme=None, auth=None, faults=None, hosts=None):
    """Copy a shipped scenario into ``directory`` with other connection defaults; returns the new path."""
    with open(os.path.join(SCENARIO_DIR, name + '.yml'), encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    defaults = data.setdefault('defaults', {})
    if scheme:
        defaults['scheme'] = scheme
    if auth:
        defaults['auth'] = [auth]
    if hosts is not None:
        data['hosts'] = [host for host in data['hosts'] if host['name'] in hosts]
    if faults:
        for host in data['hosts']:
            host['faults'] = dict(host.get('faults') or {}, **faults)
    suffix = '-'.join(part for part in (scheme, auth, 'faults' if faults else None) if part)
    path = os.path.join(str(directory), '%s%s.yml' % (name, '-' + suffix if suffix else ''))
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)
    return path


def make_env(base=None):
    env = {k: v for k, v in (base or os.environ).items() if not k.startswith('MAILOPS_WINRM_')}
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'PYTHONPATH': os.pathsep.join([COLLECTIONS, os.path.join(ROOT, 'tests', 'lab')]),
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_DEPRECATION_WARNINGS': 'False',
        'ANSIBLE_SYSTEM_WARNINGS': 'False',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_FORKS': '16',
        'PATH': VENV_BIN + os.pathsep + (base or os.environ).get('PATH', ''),
    })
    return env


def adhoc(env, cwd, inventory, module, args=None, pattern='windows', check=False, extra=(), tree=None, timeout=600):
    """Run an ad-hoc module; results are read from the --tree directory (one JSON file per host)."""
    tree = tree or os.path.join(str(cwd), 'tree-%d' % len(os.listdir(str(cwd))))
    cmd = [os.path.join(VENV_BIN, 'ansible'), pattern, '-i', str(inventory), '-m', module, '--tree', tree]
    if args is not None:
        cmd += ['-a', json.dumps(args) if isinstance(args, dict) else args]
    if check:
        cmd.append('--check')
    cmd += list(extra)
    proc = subprocess.run(cmd, env=env, cwd=str(cwd), capture_output=True, text=True, timeout=timeout, check=False)
    results = {}
    if os.path.isdir(tree):
        for host in os.listdir(tree):
            with open(os.path.join(tree, host), encoding='utf-8') as handle:
                results[host] = json.load(handle)
    return AdhocResult(proc.returncode, proc.stdout, proc.stderr, results)


def playbook(env, cwd, path, inventory, extra_vars=None, check=False, extra=(), timeout=600):
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', str(inventory), str(path)]
    if extra_vars:
        cmd += ['-e', json.dumps(extra_vars)]
    if check:
        cmd.append('--check')
    cmd += list(extra)
    proc = subprocess.run(cmd, env=env, cwd=str(cwd), capture_output=True, text=True, timeout=timeout, check=False)
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr)


def calls(env, cwd, inventory, plan, extra=(), timeout=600):
    """Many module calls in ONE ansible-playbook run (one ansible start instead of one per call).

    ``plan``: {host: {key: (module, args, task_vars)}}; ``task_vars`` (or None) override the inventory for that task,
    e.g. {'ansible_password': '{{ wrong_password }}'} with ``extra=['-e', 'wrong_password=...']`` (Ansible shows the
    task's source lines when a task fails, so keep secrets out of the playbook text). Failing calls do not stop the others. Returns (PlaybookResult,
    {host: {key: registered result}}).
    """
    cwd = str(cwd)
    plays = []
    for host, tasks in plan.items():
        play_tasks = []
        for key, (module, args, task_vars) in tasks.items():
            task = {'name': key, module if '.' in module else 'mailops.port25.' + module: args or {}, 'register': 'r_' + key,
                    'ignore_errors': True, 'ignore_unreachable': True}
            if task_vars:
                task['vars'] = task_vars
            play_tasks.append(task)
        saved = '{' + ', '.join('"%s": r_%s' % (key, key) for key in tasks) + '}'
        play_tasks.append({'name': 'save', 'delegate_to': 'localhost', 'vars': {'ansible_connection': 'local'},
                           'ansible.builtin.copy': {'content': '{{ %s | to_json }}' % saved, 'mode': '0600',
                                                    'dest': os.path.join(cwd, 'calls-{{ inventory_hostname }}.json')}})
        plays.append({'name': 'calls on ' + host, 'hosts': host, 'gather_facts': False, 'tasks': play_tasks})
    path = os.path.join(cwd, 'calls.yml')
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(plays, handle, sort_keys=False)
    run = playbook(env, cwd, path, inventory, extra=extra, timeout=timeout)
    results = {}
    for host in plan:
        with open(os.path.join(cwd, 'calls-%s.json' % host), encoding='utf-8') as handle:
            results[host] = json.load(handle)
    return run, results


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
    """The eight shipped scenarios, once per transport, shared by every read-only test of the session."""
    base = tmp_path_factory.mktemp('diag')
    with contextlib.ExitStack() as stack:
        fleets = {}
        for label, transport in TRANSPORTS.items():
            paths = [write_variant(base, name, **transport) for name in SHIPPED]
            fleets[label] = stack.enter_context(running_fleet(paths, state_dir=str(base / label)))
        yield fleets
