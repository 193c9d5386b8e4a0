# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of every integration test: lab fleets from the shipped scenarios (as they are or changed), the ansible
commands run as a user runs them (one environment for all), and what the lab's state files and the reports say.

Fleets
    ``write_variant(directory, name, scheme=None, auth=None, faults=None, hosts=None)``: a shipped scenario with other
    connection defaults or faults; ``scenario_hosts(*names)`` / ``renamed(host, name, **changes)``: host entries to
    build a fleet from; ``fleet(tmp_path, hosts)``: a running fleet of them.
Commands (all with ``make_env()``: collection path, no colour, no MAILOPS_WINRM_* variables)
    ``adhoc(env, cwd, inventory, module, ...)`` -> AdhocResult with each host's parsed result;
    ``adhoc_process(inventory, pattern, module, args, *options)`` -> CompletedProcess;
    ``playbook(env, cwd, path, inventory, ...)`` -> PlaybookResult; ``calls(env, cwd, inventory, plan)``: many module
    calls in one run; ``collection_playbook(name, inventory, tmp_path, label, ...)`` -> Run: one of the collection's
    playbooks with its recap and report.
Written reports
    ``written_report(report_dir)`` -> (port rows by host from the HTML page's data block, JUnit cases by host).
State
    ``services``, ``service_record``, ``port_owner``, ``processes``, ``state_bytes``, ``invoke_requests``.
"""
from __future__ import annotations

import collections
import contextlib
import copy
import glob
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

from winlab.testing import running_fleet, write_scenario

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
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
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


def written_report(report_dir):
    """What the written HTML and JUnit files say per host: ``({host: {'ports': [[port, expected, owner, verdict, before]],
    'port_host', 'owner', 'conflicts', 'actions': [[action, service]]}}, {host: JUnit testcase element})``."""
    with open(os.path.join(report_dir, 'port25-report.html'), encoding='utf-8') as handle:
        page = handle.read()
    data = json.loads(page.split('<script type="application/json" id="report-data">', 1)[1].split('</script>', 1)[0])

    def text(index):
        return data['s'][index] if index >= 0 else None

    rows = dict((row['h'], {'ports': [[text(p[0]), text(p[1]), text(p[2]), p[3], text(p[6])] for p in row['d']['pt']],
                            'port_host': text(row['ph']), 'owner': text(row['o']), 'conflicts': [text(i) for i in row['cf']],
                            'cause': text(row['x']), 'actions': [[text(a[0]), text(a[1])] for a in row['d']['a']]})
                for row in data['rows'])
    suite = ET.parse(os.path.join(report_dir, 'port25-report.xml')).getroot()
    return rows, dict((case.get('name'), case) for case in suite.iter('testcase'))


def playbook_command(name, inventory, extra_vars, *args):
    return [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', str(inventory), 'mailops.port25.%s' % name,
            '-e', json.dumps(extra_vars), '-f', '10'] + list(args)


def collection_playbook(name, inventory, tmp_path, label, *args, extra=None, timeout=300, cwd=None):
    """Run ``ansible-playbook mailops.port25.<name>`` the way a user does; the report goes to tmp_path/<label>.

    ``label=None`` passes no report_dir: the playbook's default (relative to ``cwd``, default tmp_path) applies.
    """
    cwd = str(cwd or tmp_path)
    report_dir = str(tmp_path / label) if label else os.path.join(cwd, 'port25-report')
    extra_vars = dict({'report_dir': report_dir} if label else {}, **(extra or {}))
    completed = subprocess.run(playbook_command(name, inventory, extra_vars, *args), env=make_env(), cwd=cwd,
                               capture_output=True, text=True, timeout=timeout, check=False)
    return Run(completed, report_dir)


def adhoc_process(inventory, pattern, module, args, *options, timeout=120):
    """``ansible <pattern> -m <module> -a <json args>``; returns the CompletedProcess."""
    cmd = [os.path.join(VENV_BIN, 'ansible'), '-i', str(inventory), pattern, '-m', module, '-a', json.dumps(args)] + list(options)
    return subprocess.run(cmd, env=make_env(), capture_output=True, text=True, timeout=timeout, check=False)


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
