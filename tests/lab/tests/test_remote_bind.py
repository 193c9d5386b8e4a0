# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Proxy Server 2.0 topology in the model: a remote bind takes the proxy's port in WSPSRV's process, fails the
KB way when the proxy's port is held, frees it on stop; state on both hosts; the scenario fields and their checks;
the cmd shell's ``type``."""
from __future__ import annotations

import os

import pytest
import yaml

from winlab import model, scenario, shell

KB_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios', 'topology', 'kb-proxy.yml')
T0 = 1_800_000_000.0


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


@pytest.fixture(name='clock')
def clock_fixture():
    return Clock()


def open_fleet(specs, state, clock):
    hosts = {spec.name: model.Host.open(spec, str(state), clock=clock) for spec in specs}
    for host in hosts.values():
        host.link(hosts)
    return hosts


@pytest.fixture(name='kb')
def kb_fixture(tmp_path, clock):
    return open_fleet(scenario.load_many([KB_FILE]), tmp_path / 'state', clock)


def holder(host, port):
    found = host.port_holder(port)
    return None if found is None else (found['owner'], host.processes[found['pid']]['name'])


def events(host, since=T0):
    return [(e['source'], e['event_id']) for e in host.events if e['time'] >= since]


def test_the_kb_case_fails_on_the_proxys_port(kb, clock):
    mail, proxy = kb['ex55-wsp'], kb['wsp-proxy']
    assert holder(mail, 25) is None                                  # the Exchange host has no listener of its own
    assert holder(proxy, 25) == ('service:SMTPSVC', 'inetinfo.exe')
    assert mail.start_service('MSExchangeIMC') == model.RC_SUCCESS
    clock.now += 2
    mail.refresh()
    imc = mail.service('MSExchangeIMC')
    assert (imc['state'], imc['exit_code'], imc['specific_exit_code']) == ('Stopped', 1066, 10048)
    assert events(mail) == [('MSExchangeIMC', 4007), ('MSExchangeIMC', 4020), ('Service Control Manager', 7024)]
    assert '10048' in [e for e in mail.events if e['event_id'] == 4007][-1]['message']
    assert holder(proxy, 25) == ('service:SMTPSVC', 'inetinfo.exe')


def test_the_fix_binds_the_proxys_port_in_wspsrv_and_a_stop_frees_it(kb, clock, tmp_path):
    mail, proxy = kb['ex55-wsp'], kb['wsp-proxy']
    assert proxy.stop_service('SMTPSVC') == model.RC_SUCCESS
    clock.now += 2
    assert proxy.change_start_mode('SMTPSVC', 'Disabled') == model.RC_SUCCESS
    assert mail.start_service('MSExchangeIMC') == model.RC_SUCCESS
    assert holder(proxy, 25) is None                                  # still Start Pending
    clock.now += 2
    mail.refresh()
    assert mail.service('MSExchangeIMC')['state'] == 'Running'
    assert holder(proxy, 25) == ('remote:ex55-wsp:MSExchangeIMC', 'wspsrv.exe')
    assert holder(mail, 25) is None
    # State on both hosts: a restarted lab continues from both files.
    again = open_fleet(scenario.load_many([KB_FILE]), tmp_path / 'state', clock)
    assert holder(again['wsp-proxy'], 25) == ('remote:ex55-wsp:MSExchangeIMC', 'wspsrv.exe')
    assert again['ex55-wsp'].service('MSExchangeIMC')['state'] == 'Running'
    assert mail.stop_service('MSExchangeIMC') == model.RC_SUCCESS
    assert holder(proxy, 25) is None


def test_a_proxy_without_its_winsock_proxy_service_refuses_the_bind(kb, clock):
    mail, proxy = kb['ex55-wsp'], kb['wsp-proxy']
    proxy.stop_service('SMTPSVC')
    proxy.stop_service('WSPSRV')
    clock.now += 2
    mail.start_service('MSExchangeIMC')
    clock.now += 2
    mail.refresh()
    imc = mail.service('MSExchangeIMC')
    assert (imc['state'], imc['specific_exit_code']) == ('Stopped', model.WSAECONNREFUSED)
    assert '10061' in [e for e in mail.events if e['event_id'] == 4007][-1]['message']


def test_a_stopped_wspsrv_drops_the_binds_it_held(kb, clock):
    mail, proxy = kb['ex55-wsp'], kb['wsp-proxy']
    proxy.stop_service('SMTPSVC')
    clock.now += 2
    mail.start_service('MSExchangeIMC')
    clock.now += 2
    mail.refresh()
    assert holder(proxy, 25)[0] == 'remote:ex55-wsp:MSExchangeIMC'
    assert proxy.stop_service('WSPSRV') == model.RC_SUCCESS
    assert holder(proxy, 25) is None


def test_observers_hear_of_every_change_on_both_hosts(kb, clock):
    heard = []
    for host in kb.values():
        host.observers.append(lambda h: heard.append(h.spec.name))
    kb['wsp-proxy'].stop_service('SMTPSVC')
    clock.now += 2
    kb['ex55-wsp'].start_service('MSExchangeIMC')
    clock.now += 2
    kb['ex55-wsp'].refresh()
    assert 'wsp-proxy' in heard and 'ex55-wsp' in heard


def test_type_answers_the_files_of_the_host(kb):
    mail = kb['ex55-wsp']
    out, err, code = shell.run(mail, 'type', ['C:\\EXCHSRVR\\connect\\msexcimc\\bin\\wspcfg.ini'])
    assert (out, err, code) == (b'[MSEXCIMC]\r\nServerBindTcpPorts=25\r\nPersistent=1\r\nKillOldSession=1\r\n', b'', 0)
    out, err, code = shell.run(mail, 'type', ['C:\\nowhere.ini'])
    assert (out, err, code) == (b'', b'The system cannot find the file specified.\r\n', 1)
    out, err, code = shell.run(mail, 'cmd', ['/c', 'type', 'C:\\Mspclnt\\Mspclnt.ini', 'C:\\x.ini'])
    assert out.endswith(b'WWW-Proxy=WSP-PROXY') and code == 1
    assert err == (b'\r\nC:\\Mspclnt\\Mspclnt.ini\r\n\r\n\r\nThe system cannot find the file specified.\r\n'
                   b'Error occurred while processing: C:\\x.ini.\r\n')
    assert shell.run(mail, 'type', []) == (b'', b'The syntax of the command is incorrect.\r\n', 1)


def test_type_takes_quoted_paths(tmp_path, clock):
    path = tmp_path / 'q.yml'
    path.write_text(yaml.safe_dump({'defaults': {'username': 'u', 'password': 'p'}, 'hosts': [
        {'name': 'q', 'files': {'D:\\Exchange Server\\bin\\Wspcfg.ini': 'x'}}]}), encoding='utf-8')
    host = model.Host.open(scenario.load_spec(str(path))[0], None, clock=clock)
    # WinRS hands the arguments split at spaces; cmd's quotes group them again.
    assert shell.run(host, 'type', ['"D:\\Exchange', 'Server\\bin\\Wspcfg.ini"']) == (b'x', b'', 0)


def write(tmp_path, hosts):
    path = tmp_path / 'bad.yml'
    path.write_text(yaml.safe_dump({'defaults': {'username': 'u', 'password': 'p'}, 'hosts': hosts}), encoding='utf-8')
    return str(path)


PROXY = {'name': 'px', 'services': [{'name': 'WSPSRV', 'state': 'running', 'start_mode': 'auto'}]}


def client(**bind):
    return {'name': 'cl', 'services': [{'name': 'MSExchangeIMC', 'listens': [25], 'remote_bind': dict({'via': 'px', 'ports': [25]}, **bind)}]}


@pytest.mark.parametrize('hosts, field, problem', [
    ([client(via='nowhere'), PROXY], 'services[0].remote_bind.via', "must name another host of the fleet, got 'nowhere'"),
    ([client(via='cl'), PROXY], 'services[0].remote_bind.via', "must name another host of the fleet, got 'cl'"),
    ([client(), {'name': 'px'}], 'services[0].remote_bind.via', "host 'px' has no WSPSRV service"),
    ([client(ports=[26]), PROXY], 'services[0].remote_bind.ports', 'port 26 is not in listens'),
    ([client(ports=[]), PROXY], 'services[0].remote_bind.ports', 'must name at least one port'),
    ([client(other=1), PROXY], 'services[0].remote_bind.other', 'unknown field'),
    ([dict(client(), files={'relative.ini': 'x'}), PROXY], 'files', "'relative.ini' is not a Windows path"),
    ([dict(client(), files={'C:\\a.ini': 1}), PROXY], 'files.C:\\a.ini', 'must be text'),
    ([dict(client(), files={'C:\\a.ini': 'x', 'c:\\A.INI': 'y'}), PROXY], 'files.c:\\A.INI', 'names a file twice'),
    ([dict(client(), services=[dict(client()['services'][0], banner='two\nlines')]), PROXY], 'services[0].banner', 'one line'),
])
def test_bad_topology_fields_are_named(tmp_path, hosts, field, problem):
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load_many([write(tmp_path, hosts)])
    assert info.value.field == field and problem in info.value.problem


def test_a_running_remote_bind_on_a_held_proxy_port_is_refused(tmp_path):
    proxy = dict(PROXY, services=PROXY['services'] + [{'name': 'SMTPSVC', 'state': 'running', 'listens': [25]}])
    bound = client()
    bound['services'][0]['state'] = 'running'
    with pytest.raises(scenario.ScenarioError) as info:
        scenario.load_many([write(tmp_path, [bound, proxy])])
    assert info.value.problem == "port 25 is already held on 'px'"


def test_generated_fleets_bind_to_the_proxy_of_their_own_round(tmp_path):
    directory = tmp_path / 'scenarios'
    directory.mkdir()
    (directory / 'kb.yml').write_bytes(open(KB_FILE, 'rb').read())
    specs = scenario.generate(5, str(directory))
    binds = [(spec.name, [s['remote_bind'] for s in spec.services if s['name'] == 'MSExchangeIMC']) for spec in specs
             if spec.name.startswith('ex55')]
    assert binds == [('ex55-wsp-0001', [{'via': 'wsp-proxy-0002', 'ports': [25]}]),
                     ('ex55-wsp-0003', [{'via': 'wsp-proxy-0004', 'ports': [25]}]),
                     ('ex55-wsp-0005', [None])]                     # its proxy is not in a fleet of five: it binds locally
    scenario.check_remote_binds(specs)
