# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the remediation, rollback and fault tests: lab fleets from the shipped scenarios (with changes),
the collection playbooks run as a user runs them, and what the lab's state files and the report say afterwards."""

from __future__ import annotations

import contextlib
import copy
import glob
import json
import os
import re
import subprocess
import sys

import yaml

from winlab.testing import running_fleet, write_scenario

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO_DIR = os.path.join(REPO, 'tests', 'lab', 'scenarios')
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')

KB_HOST = 'ex55-smtp'
RECAP_KEYS = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
_RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)',
                    re.MULTILINE)


def scenario_hosts(*names):
    """Host entries of shipped scenarios (all of them when no name is given), each with its file's defaults applied."""
    paths = sorted(glob.glob(os.path.join(SCENARIO_DIR, '*.yml')))
    hosts = []
    for path in paths:
        with open(path, encoding='utf-8') as handle:
            data = yaml.safe_load(handle)
        for host in data['hosts']:
            if names and host['name'] not in names:
                continue
            entry = dict(data.get('defaults') or {}, **copy.deepcopy(host))
            entry.pop('address', None)   # the fleet assigns free loopback addresses
            hosts.append(entry)
    return hosts


def renamed(host, name, **changes):
    """A copy of a scenario host under another name, with top-level fields replaced."""
    entry = copy.deepcopy(host)
    entry['name'] = name
    entry.update(changes)
    return entry


@contextlib.contextmanager
def fleet(tmp_path, hosts):
    """A fresh lab fleet of ``hosts`` (scenario host entries) with its state under tmp_path/lab."""
    spec = write_scenario(str(tmp_path / 'fleet.yml'), hosts)
    with running_fleet([spec], tmp_path / 'lab') as lab:
        yield lab


def env():
    environ = dict(os.environ)
    environ.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'PYTHONPATH': os.pathsep.join([COLLECTIONS, os.path.join(REPO, 'tests', 'lab')]),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_RETRY_FILES_ENABLED': '0',
        'ANSIBLE_HOST_KEY_CHECKING': '0',
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
        'ANSIBLE_DEPRECATION_WARNINGS': '0',
    })
    return environ


class Run(object):
    """One ansible-playbook run: exit code, output, the PLAY RECAP per host and the report it wrote."""

    def __init__(self, completed, report_dir):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.report_dir = report_dir
        recap = dict((m.group(1), dict(zip(RECAP_KEYS, (int(g) for g in m.groups()[1:])))) for m in _RECAP.finditer(self.stdout))
        # The playbooks' first and last plays run on the controller (prepare and release the report directory).
        self.controller = recap.pop('localhost', None)
        self.recap = recap

    @property
    def output(self):
        return self.stdout + self.stderr

    def report(self):
        with open(os.path.join(self.report_dir, 'port25-report.json'), encoding='utf-8') as handle:
            return json.load(handle)

    def hosts(self):
        """Report entries by host name."""
        return dict((entry['host'], entry) for entry in self.report()['hosts'])


def playbook_command(name, inventory, extra_vars, *args):
    return [os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), 'mailops.port25.%s' % name,
            '-e', json.dumps(extra_vars), '-f', '10'] + list(args)


def playbook(name, inventory, tmp_path, label, *args, extra=None, timeout=300, cwd=None):
    """Run ``ansible-playbook mailops.port25.<name>`` the way a user does; the report goes to tmp_path/<label>.

    ``label=None`` passes no report_dir: the playbook's default (relative to ``cwd``, default tmp_path) applies.
    """
    cwd = str(cwd or tmp_path)
    report_dir = str(tmp_path / label) if label else os.path.join(cwd, 'port25-report')
    extra_vars = dict({'report_dir': report_dir} if label else {}, **(extra or {}))
    completed = subprocess.run(playbook_command(name, inventory, extra_vars, *args), env=env(), cwd=cwd,
                               capture_output=True, text=True, timeout=timeout, check=False)
    return Run(completed, report_dir)


def adhoc(inventory, pattern, module, args, *options, timeout=120):
    """``ansible <pattern> -m <module> -a <json args>``; returns the CompletedProcess."""
    cmd = [os.path.join(BIN, 'ansible'), '-i', str(inventory), pattern, '-m', module, '-a', json.dumps(args)] + list(options)
    return subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout, check=False)


def state_bytes(lab, names):
    """The raw state file of each host (to prove a run wrote nothing)."""
    out = {}
    for name in names:
        with open(os.path.join(lab.state_dir, name + '.json'), 'rb') as handle:
            out[name] = handle.read()
    return out


def services(lab, name):
    """{service name: (State, StartMode)} from a host's state file."""
    return dict((svc['name'], (svc['state'], svc['start_mode'])) for svc in lab.host_state(name)['services'])


def service_record(lab, host, service):
    for svc in lab.host_state(host)['services']:
        if svc['name'].lower() == service.lower():
            return svc
    raise KeyError(service)


def port_owner(lab, host, port=25):
    """Name of the service (or process) whose PID holds ``port`` in the host's state file, or None."""
    state = lab.host_state(host)
    for listener in state['listeners']:
        if listener['port'] == port:
            for svc in state['services']:
                if svc['pid'] == listener['pid'] and port in svc['listens']:
                    return svc['name']
            for proc in state['processes']:
                if proc['pid'] == listener['pid']:
                    return proc['name']
            return 'pid %s' % listener['pid']
    return None


def processes(lab, host):
    return sorted((proc['pid'], proc['name']) for proc in lab.host_state(host)['processes'])


def write_inventory(path, hosts, group='windows'):
    """An inventory of ``{name: host vars}`` in one group (for edited copies of the lab's inventory)."""
    with open(str(path), 'w', encoding='utf-8') as handle:
        yaml.safe_dump({'all': {'children': {group: {'hosts': hosts}}}}, handle, default_flow_style=False)
    return str(path)


def change_keys(actions):
    """What an action list does, without the changed flag (which says whether it was made or predicted)."""
    return [(a['action'], a['service'], a['before'], a['after']) for a in actions]


def invoke_requests(lab, host):
    """The Win32_Service method calls a host's request log shows."""
    return [r for r in lab.requests(host) if '/Win32_Service/' in (r.get('action') or '')]
