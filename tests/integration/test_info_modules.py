# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""listener_info, service_info, event_info and antivirus_info on every shipped scenario, over NTLM-encrypted HTTP and
over HTTPS with certificate validation; expected values come from the lab's own state file of each host."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.mailops.port25.tests.integration.helpers import (
    ROOT, SHIPPED, TRANSPORTS, adhoc, make_env, playbook)
from winlab import cim as lab_cim

STATE_WORDS = {'Running': 'running', 'Stopped': 'stopped'}
PORT = 25


def processes_by_pid(state):
    return {p['pid']: p for p in state['processes']}


def running_services(state, pid):
    return sorted((s['name'] for s in state['services'] if s['state'] == 'Running' and s['pid'] == pid), key=str.lower)


# Every read-only call of this file, in one playbook run per transport (one ansible start instead of twenty).
CALLS = {
    'listener_info': ('listener_info', {}, True),
    'listener_info_free': ('listener_info', {'port': 2}, False),
    'service_info': ('service_info', {'name': ['smtpsvc', 'MSExchange*', 'NoSuchService']}, False),
    'event_info': ('event_info', {'log': 'Application', 'sources': ['MSExchangeIMC', 'MSExchangeFrontEndTransport'],
                                  'event_ids': [4007, 4020, 1018, 1019]}, False),
    'event_info_system': ('event_info', {'log': 'System', 'event_ids': [7024], 'window_hours': 24}, True),
    'antivirus_info': ('antivirus_info', {}, False),
}


def write_playbook(path, out_dir):
    tasks = []
    for key, (module, args, check) in CALLS.items():
        tasks.append({'name': key, 'mailops.port25.' + module: args, 'register': key, 'check_mode': check})
    results = '{' + ', '.join('"%s": %s' % (key, key) for key in CALLS) + '}'
    tasks.append({'name': 'save', 'delegate_to': 'localhost',
                  'ansible.builtin.copy': {'content': '{{ %s | to_json }}' % results,
                                           'dest': '%s/{{ inventory_hostname }}.json' % out_dir, 'mode': '0600'}})
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump([{'name': 'info modules', 'hosts': 'windows', 'gather_facts': False, 'tasks': tasks}], handle, sort_keys=False)


@pytest.fixture(scope='module')
def info_results(diag_fleets, ansible_env, tmp_path_factory):
    out = {}
    for transport, lab in diag_fleets.items():
        work = tmp_path_factory.mktemp('info-' + transport)
        before = {name: lab.host_state(name)['services'] for name in SHIPPED}
        write_playbook(work / 'info.yml', work)
        run = playbook(ansible_env, work, work / 'info.yml', lab.inventory_path)
        assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
        results = {}
        for name in SHIPPED:
            with open(os.path.join(str(work), name + '.json'), encoding='utf-8') as handle:
                results[name] = json.load(handle)
            assert lab.host_state(name)['services'] == before[name]      # read-only
        out[transport] = (lab, results)
    return out


def run_everywhere(info_results, transport, key):
    lab, results = info_results[transport]
    for name in SHIPPED:
        res = results[name][key]
        assert res['changed'] is False and not res.get('failed'), (name, res.get('msg'))
        assert res['host'] == lab.hosts[name]['ansible_host']
    return lab, {name: results[name][key] for name in SHIPPED}


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_listener_info(info_results, transport):
    lab, results = run_everywhere(info_results, transport, 'listener_info')
    for name in SHIPPED:
        state = lab.host_state(name)
        procs = processes_by_pid(state)
        pids = [ln['pid'] for ln in state['listeners'] if ln['port'] == PORT]
        expected = []
        for address in ('0.0.0.0', '::'):
            for pid in pids:
                proc = procs[pid]
                services = running_services(state, pid)
                parent = None
                if not services:
                    ppid = proc['parent']
                    parent = {'pid': ppid, 'name': procs[ppid]['name'], 'path': procs[ppid]['path'],
                              'services': running_services(state, ppid)}
                expected.append({'local_address': address, 'local_port': PORT, 'pid': pid,
                                 'process': {'pid': pid, 'name': proc['name'], 'path': proc['path'], 'parent_pid': proc['parent']},
                                 'services': services, 'parent_process': parent})
        res = results[name]
        assert res['listeners'] == expected, name
        assert (res['port'], res['listening'], res['gaps']) == (PORT, True, [])
    # the program that is not a service: its parent is named instead
    assert results['ex55-unknown-owner']['listeners'][0]['parent_process']['name'] == 'System'


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_listener_info_free_port(info_results, transport):
    _lab, results = run_everywhere(info_results, transport, 'listener_info_free')
    assert {name: (res['listening'], res['listeners']) for name, res in results.items()} == {name: (False, []) for name in SHIPPED}


def expected_service(svc, modern):
    return {'name': svc['name'], 'display_name': svc['display_name'], 'state': STATE_WORDS[svc['state']],
            'start_mode': svc['start_mode'].lower(), 'delayed_auto_start': svc['delayed_auto_start'] if modern else None,
            'pid': svc['pid'] if svc['state'] == 'Running' else None, 'path': svc['path']}


def dependents_of(state, name):
    return sorted((s['name'] for s in state['services'] if name.lower() in [d.lower() for d in s['depends_on']]), key=str.lower)


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_service_info(info_results, transport):
    lab, results = run_everywhere(info_results, transport, 'service_info')
    has_links = 'win32_dependentservice' in lab_cim.CLASSES
    for name in SHIPPED:
        state = lab.host_state(name)
        modern = lab_cim.modern_os(state['os'])
        wanted = [s for s in state['services'] if s['name'] == 'SMTPSVC' or s['name'].lower().startswith('msexchange')]
        expected = [expected_service(s, modern) for s in sorted(wanted, key=lambda s: s['name'].lower())]
        res = results[name]
        if has_links:
            for item, svc in zip(expected, sorted(wanted, key=lambda s: s['name'].lower())):
                item['dependents'] = dependents_of(state, svc['name'])
            assert res['gaps'] == []
        else:
            # This lab has no Win32_DependentService: the services still come back, the gap is named.
            for item in expected:
                item['dependents'] = None
            assert [gap['class'] for gap in res['gaps']] == ['Win32_DependentService']
        assert res['services'] == expected, name
        assert (res['exists'], res['missing']) == (True, ['NoSuchService'])


# scenario -> the sources whose message file the host cannot load (their events come without Message)
NO_MESSAGE_FILE = {'ex2019-biglog': ('MSExchangeFrontEndTransport',)}


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_event_info(info_results, transport):
    lab, results = run_everywhere(info_results, transport, 'event_info')
    args = CALLS['event_info'][1]
    for name in SHIPPED:
        state = lab.host_state(name)
        wanted = [e for e in state['events'] if e['log'] == 'Application' and e['source'] in args['sources']
                  and e['event_id'] in args['event_ids']]
        wanted.sort(key=lambda e: (e['time'], e['record']), reverse=True)
        res = results[name]
        since = datetime.datetime.strptime(res['since'], '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()
        wanted = [e for e in wanted if e['time'] >= since]
        silent = NO_MESSAGE_FILE.get(name, ())
        assert [(e['source'], e['event_id'], e['record_number'], e['message'], e['type']) for e in res['events']] == \
            [(e['source'], e['event_id'], e['record'], None if e['source'] in silent else e['message'], e['type'])
             for e in wanted], name
        for event, raw in zip(res['events'], wanted):
            assert event['log'] == 'Application'
            assert event['time'] == datetime.datetime.fromtimestamp(int(raw['time']), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            assert event['winsock_error'] == (10048 if '10048' in raw['message'] else None)
            assert event['insertion_strings'] == raw['strings']
    assert [e['event_id'] for e in results['ex55-smtp']['events']] == [4020, 4007]
    assert results['ex55-healthy']['events'] == []


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_event_info_system_log(info_results, transport):
    _lab, results = run_everywhere(info_results, transport, 'event_info_system')
    assert [e['source'] for e in results['ex55-av-proxy']['events']] == ['Service Control Manager']
    assert results['ex55-av-proxy']['events'][0]['message'].startswith('The Microsoft Exchange Internet Mail Service service terminated')
    assert results['ex55-healthy']['events'] == []


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_antivirus_info(info_results, transport):
    lab, results = run_everywhere(info_results, transport, 'antivirus_info')
    for name in SHIPPED:
        state = lab.host_state(name)
        res = results[name]
        defender = [s for s in state['services'] if s['name'] == 'WinDefend']
        expected = [('Microsoft Defender Antivirus', 'service', 'WinDefend', True, defender[0]['pid'], False)] if defender else []
        if name == 'ex55-av-proxy':
            tmproxy = next(p for p in state['processes'] if p['name'] == 'TmProxy.exe')
            expected.append(('OfficeScan / Apex One', 'process', 'TmProxy.exe', True, tmproxy['pid'], True))
        assert [(p['product'], p['match_kind'], p['match_name'], p['running'], p['pid'], p['holds_port'])
                for p in res['products']] == expected, name
        assert res['present'] is bool(expected)
        assert res['holds_port'] is (name == 'ex55-av-proxy')
        assert res['gaps'] == []


def test_antivirus_info_user_catalogue(diag_fleets, ansible_env, tmp_path):
    lab = diag_fleets['ntlm-http']
    catalogue = [{'vendor': 'Example', 'product': 'Relay guard', 'processes': ['MAILRELAY.EXE'], 'mail_scanning': True,
                  'source': 'site list'}]
    result = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.antivirus_info', {'antivirus_catalogue': catalogue},
                   pattern='ex55-unknown-owner')
    products = result.results['ex55-unknown-owner']['products']
    # user entries come first in the catalogue
    assert [(p['vendor'], p['product'], p['behaviour'], p['holds_port']) for p in products] == [
        ('Example', 'Relay guard', 'listen', True), ('Microsoft', 'Microsoft Defender Antivirus', 'none', False)]
    assert products[0]['source'] == 'site list'
    # and the diagnosis then calls the owner antivirus
    result = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.conflict_info', {'antivirus_catalogue': catalogue},
                   pattern='ex55-unknown-owner')
    owner = result.results['ex55-unknown-owner']['owner']
    assert (owner['kind'], owner['product']) == ('antivirus', {'vendor': 'Example', 'product': 'Relay guard'})


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_module_file_runs_on_its_own(diag_fleets, tmp_path, transport):
    """The module file is a working plain module too (the action plugin is only the fast path)."""
    lab = diag_fleets[transport]
    host = lab.hosts['ex55-av-proxy']
    args = {'winrm_host': host['ansible_host'], 'winrm_port': host['ansible_port'], 'winrm_user': host['ansible_user'],
            'winrm_password': host['ansible_password'], 'winrm_scheme': host['ansible_winrm_scheme'],
            'winrm_transport': host['ansible_winrm_transport'], 'winrm_ca_trust_path': host.get('ansible_winrm_ca_trust_path'),
            '_ansible_check_mode': True}
    path = tmp_path / 'args.json'
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}), encoding='utf-8')
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'plugins', 'modules', 'conflict_info.py'), str(path)], env=make_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert host['ansible_password'] not in proc.stdout
    assert (result['changed'], result['owner']['kind'], result['owner']['process']) == (False, 'antivirus', 'TmProxy.exe')
    assert [f['code'] for f in result['findings']] == ['PORT_HELD_BY_ANTIVIRUS', 'MAIL_SERVICE_NOT_RUNNING', 'ANTIVIRUS_PRESENT']
