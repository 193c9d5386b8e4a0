# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host model: SCM return codes, pending states over time, shared processes, ports, events, persistence."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from winlab import model, scenario

T0 = 1_800_000_000.0
BIND_EVENTS = [
    {'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error',
     'message': 'The following error occurred while trying to bind the TCP/IP listener socket. 10048'},
    {'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4020, 'type': 'error',
     'message': 'Unable to start the service because WinSock could not be initialized.'},
]
SERVICES = [
    {'name': 'RpcSs', 'state': 'running', 'start_mode': 'auto', 'process': 'svchost.exe -k rpcss', 'protected': True,
     'listens': [135]},
    {'name': 'IISADMIN', 'state': 'running', 'start_mode': 'auto', 'process': 'inetinfo.exe',
     'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe'},
    {'name': 'SMTPSVC', 'display_name': 'Simple Mail Transfer Protocol (SMTP)', 'state': 'running',
     'start_mode': 'auto', 'process': 'inetinfo.exe', 'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe',
     'listens': [25], 'depends_on': ['IISADMIN'], 'stop_seconds': 2},
    {'name': 'MSExchangeMTA', 'state': 'stopped', 'start_mode': 'manual', 'process': 'emsmta.exe'},
    {'name': 'MSExchangeIMC', 'display_name': 'Microsoft Exchange Internet Mail Service', 'state': 'stopped',
     'start_mode': 'auto', 'process': 'msexcimc.exe', 'listens': [25], 'depends_on': ['MSExchangeMTA'],
     'start_seconds': 3, 'on_bind_failure': BIND_EVENTS},
    {'name': 'Disabled1', 'state': 'stopped', 'start_mode': 'disabled'},
    {'name': 'NeedsDisabled', 'state': 'stopped', 'start_mode': 'manual', 'depends_on': ['Disabled1']},
    {'name': 'Fast', 'state': 'stopped', 'start_mode': 'manual', 'listens': [8080]},
]


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture(name='spec')
def spec_fixture(tmp_path):
    path = tmp_path / 'm.yml'
    path.write_text(yaml.safe_dump({
        'defaults': {'username': 'LAB\\ansible', 'password': 'pw'},
        'hosts': [{'name': 'm1', 'services': SERVICES,
                   'processes': [{'name': 'System', 'pid': 4, 'listens': [445, 5985]},
                                 {'name': 'services.exe', 'pid': 600}],
                   'events': [{'log': 'Application', 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': 'error',
                               'time': '-2h', 'message': 'old'}]}]}), encoding='utf-8')
    return scenario.load_spec(str(path))[0]


@pytest.fixture(name='clock')
def clock_fixture():
    return Clock()


@pytest.fixture(name='host')
def host_fixture(spec, tmp_path, clock):
    return model.Host.open(spec, str(tmp_path / 'state'), clock=clock)


def _holder(host, port):
    listener = host.port_holder(port)
    return None if listener is None else (listener['owner'], listener['pid'])


def _events(host, since=T0):
    return [(e['log'], e['source'], e['event_id']) for e in host.events if e['time'] >= since]


def test_initial_state_from_the_spec(host):
    smtp, iis = host.service('smtpsvc'), host.service('IISADMIN')
    assert smtp['state'] == model.RUNNING and smtp['pid'] == iis['pid'] != 0     # shared inetinfo.exe
    assert host.processes[smtp['pid']]['name'] == 'inetinfo.exe'
    assert host.processes[smtp['pid']]['parent'] == 600                        # services.exe starts services
    assert _holder(host, 25) == ('service:SMTPSVC', smtp['pid'])
    assert _holder(host, 445) == ('process', 4)
    assert host.service('MSExchangeIMC')['pid'] == 0 and host.service('MSExchangeIMC')['exit_code'] == 0
    assert host.service('MSExchangeMTA')['exit_code'] == 1077                   # never started
    assert [(e['event_id'], e['time']) for e in host.events] == [(4007, T0 - 7200)]
    assert host.processes[0]['name'] == 'System Idle Process' and host.processes[4]['path'] is None


@pytest.mark.parametrize('name, code', [('RpcSs', 2), ('MSExchangeMTA', 5), ('IISADMIN', 3), ('SMTPSVC', 0)])
def test_stop_service_return_codes(host, name, code):
    assert host.stop_service(name) == code


def test_stop_goes_through_stop_pending_then_frees_the_port(host, clock):
    pid = host.service('SMTPSVC')['pid']
    assert host.stop_service('SMTPSVC') == 0
    smtp = host.service('SMTPSVC')
    assert (smtp['state'], smtp['wait_hint'], smtp['pid']) == (model.STOP_PENDING, 2000, pid)
    assert _holder(host, 25) == ('service:SMTPSVC', pid)
    assert host.stop_service('SMTPSVC') == 5                                    # cannot accept control while pending
    assert host.start_service('SMTPSVC') == 10
    clock.now += 2
    host.refresh()
    assert (smtp['state'], smtp['pid'], smtp['exit_code']) == (model.STOPPED, 0, 0)
    assert _holder(host, 25) is None
    assert pid in host.processes                                                # IISADMIN still runs in inetinfo.exe
    assert _events(host)[-1] == ('System', 'Service Control Manager', 7036)
    assert host.stop_service('IISADMIN') == 0
    assert pid not in host.processes                                            # last service gone: process ends


@pytest.mark.parametrize('name, code', [('Disabled1', 14), ('SMTPSVC', 10), ('NeedsDisabled', 13), ('Fast', 0)])
def test_start_service_return_codes(host, name, code):
    assert host.start_service(name) == code


def test_start_takes_the_port_with_its_pid(host):
    assert host.start_service('Fast') == 0
    fast = host.service('Fast')
    assert fast['state'] == model.RUNNING and fast['pid'] > 0
    assert _holder(host, 8080) == ('service:Fast', fast['pid'])
    assert host.processes[fast['pid']]['name'] == 'fast.exe'


def test_bind_failure_is_accepted_then_stops_with_1066_and_writes_the_events(host, clock):
    assert host.start_service('MSExchangeIMC') == 0
    imc = host.service('MSExchangeIMC')
    assert host.service('MSExchangeMTA')['state'] == model.RUNNING             # the SCM started the dependency
    assert imc['state'] == model.START_PENDING and imc['pid'] > 0 and imc['wait_hint'] == 3000
    assert host.start_service('MSExchangeIMC') == 10
    clock.now += 3
    host.refresh()
    assert (imc['state'], imc['exit_code'], imc['specific_exit_code'], imc['pid']) == (model.STOPPED, 1066, 10048, 0)
    assert _holder(host, 25)[0] == 'service:SMTPSVC'
    assert _events(host, T0 + 3) == [('Application', 'MSExchangeIMC', 4007), ('Application', 'MSExchangeIMC', 4020),
                                     ('System', 'Service Control Manager', 7024)]
    scm = host.events[-1]
    assert scm['type'] == 'error' and 'Microsoft Exchange Internet Mail Service' in scm['message']
    assert 'Only one usage of each socket address' in scm['message']
    assert not [p for p in host.processes.values() if p['name'] == 'msexcimc.exe']


def test_the_kb_fix_in_the_model(host, clock):
    assert host.stop_service('SMTPSVC') == 0
    assert host.change_start_mode('SMTPSVC', 'Disabled') == 0
    clock.now += 2
    assert host.start_service('MSExchangeIMC') == 0
    clock.now += 3
    host.refresh()
    imc = host.service('MSExchangeIMC')
    assert imc['state'] == model.RUNNING and _holder(host, 25) == ('service:MSExchangeIMC', imc['pid'])
    assert host.start_service('SMTPSVC') == 14


def test_a_port_held_by_a_plain_process_also_fails_the_start(host):
    host.listeners.append({'port': 8080, 'pid': 4, 'owner': 'process', 'created': T0})
    assert host.start_service('Fast') == 0
    fast = host.service('Fast')
    assert (fast['state'], fast['exit_code'], fast['specific_exit_code']) == (model.STOPPED, 1066, 10048)
    assert _events(host)[-1] == ('System', 'Service Control Manager', 7024)


@pytest.mark.parametrize('mode, code, stored', [
    ('Automatic', 0, 'Auto'), ('Manual', 0, 'Manual'), ('Disabled', 0, 'Disabled'), ('disabled', 0, 'Disabled'),
    ('Boot', 21, 'Auto'), ('System', 21, 'Auto'), ('Auto', 21, 'Auto'), ('', 21, 'Auto'), (None, 21, 'Auto'),
])
def test_change_start_mode(host, mode, code, stored):
    assert host.change_start_mode('SMTPSVC', mode) == code
    assert host.service('SMTPSVC')['start_mode'] == stored


def test_change_start_mode_writes_7040_only_on_a_change(host):
    assert host.change_start_mode('SMTPSVC', 'Disabled') == 0
    event = host.events[-1]
    assert (event['log'], event['source'], event['event_id'], event['type']) == \
        ('System', 'Service Control Manager', 7040, 'information')
    assert event['message'] == ('The start type of the Simple Mail Transfer Protocol (SMTP) service was changed from '
                                'auto start to disabled.')
    count = len(host.events)
    assert host.change_start_mode('SMTPSVC', 'Disabled') == 0
    assert len(host.events) == count
    assert host.change_start_mode('RpcSs', 'Manual') == 2


def test_state_is_saved_atomically_and_reopened(host, spec, tmp_path, clock):
    path = tmp_path / 'state' / 'm1.json'
    assert json.loads(path.read_text(encoding='utf-8'))['services'][2]['state'] == 'Running'
    assert host.stop_service('SMTPSVC') == 0
    assert host.change_start_mode('SMTPSVC', 'Disabled') == 0
    saved = json.loads(path.read_text(encoding='utf-8'))
    assert [s['state'] for s in saved['services'] if s['name'] == 'SMTPSVC'] == ['Stop Pending']
    assert not [f for f in os.listdir(tmp_path / 'state') if f.endswith('.tmp')]
    clock.now += 5
    again = model.Host.open(spec, str(tmp_path / 'state'), clock=clock)
    again.refresh()                                                             # the pending stop completes
    smtp = again.service('SMTPSVC')
    assert (smtp['state'], smtp['start_mode']) == (model.STOPPED, 'Disabled')
    assert again.port_holder(25) is None and again.epoch == host.epoch
    assert [e['event_id'] for e in again.events][-2:] == [7040, 7036]


def test_saved_file_is_the_compact_encoding_and_a_failed_save_keeps_the_old_one(host, tmp_path):
    path = tmp_path / 'state' / 'm1.json'
    assert host.stop_service('SMTPSVC') == 0
    assert path.read_text(encoding='utf-8') == json.dumps(host.to_dict(), separators=(',', ':'))
    before = path.read_bytes()
    host.services['smtpsvc']['pending_until'] = object()      # not JSON: the encoding fails before any file is made
    with pytest.raises(TypeError):
        host.save()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path / 'state')) == ['m1.json']


def test_a_rejected_call_changes_nothing_on_disk(host, tmp_path):
    path = tmp_path / 'state' / 'm1.json'
    before = path.read_bytes()
    assert host.stop_service('RpcSs') == 2
    assert host.start_service('Disabled1') == 14
    assert host.change_start_mode('SMTPSVC', 'Boot') == 21
    assert path.read_bytes() == before


def test_a_corrupt_state_file_is_reported(spec, tmp_path):
    state = tmp_path / 'bad'
    state.mkdir()
    (state / 'm1.json').write_text('{"format": 1', encoding='utf-8')
    with pytest.raises(ValueError, match='m1.json: cannot continue from this state file'):
        model.Host.open(spec, str(state))


def test_the_event_log_is_bounded(host, monkeypatch):
    monkeypatch.setattr(model, 'MAX_EVENTS', 40)
    for _round in range(model.MAX_EVENTS):
        host.change_start_mode('Fast', 'Disabled')
        host.change_start_mode('Fast', 'Manual')
    assert len(host.events) == model.MAX_EVENTS
    assert host.events[-1]['record'] == 2 * model.MAX_EVENTS               # System log numbering continues


def test_tcp_table_lists_ipv4_then_ipv6(host):
    smtp = host.service('SMTPSVC')['pid']
    rows = [(a, p, r, rp, st, pid) for a, p, r, rp, st, pid, _c in host.tcp_table()]
    assert rows == [('0.0.0.0', 25, '0.0.0.0', 0, 'Listen', smtp), ('0.0.0.0', 135, '0.0.0.0', 0, 'Listen', host.service('RpcSs')['pid']),
                    ('0.0.0.0', 445, '0.0.0.0', 0, 'Listen', 4), ('0.0.0.0', 5985, '0.0.0.0', 0, 'Listen', 4),
                    ('127.0.0.1', 25, '10.0.0.25', 51234, 'Established', smtp),
                    ('127.0.0.1', 5985, '10.0.0.10', 50112, 'Established', 4),
                    ('127.0.0.1', 49702, '10.0.0.30', 443, 'TimeWait', 0),
                    ('::', 25, '::', 0, 'Listen', smtp), ('::', 135, '::', 0, 'Listen', host.service('RpcSs')['pid']),
                    ('::', 445, '::', 0, 'Listen', 4), ('::', 5985, '::', 0, 'Listen', 4)]
