# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet runner: inventory, addresses, --generate, ready file, signals, restart from the state dir."""
from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml
from cryptography import x509
from pypsrp.wsman import WSMan, SelectorSet

from winlab import cli, fleet, scenario, testing

SVC_NS = testing.CIMV2 + 'Win32_Service'


def _run_cli(capsys, args):
    """cli.main in this process (refusals happen before anything listens): (exit code, stderr)."""
    code = cli.main(args)
    return code, capsys.readouterr().err


def _wsman(lab, name):
    host = lab.hosts[name]
    return WSMan(host['ansible_host'], port=host['ansible_port'], username=host['ansible_user'],
                 password=host['ansible_password'], ssl=False, auth='ntlm')


def _selectors(name):
    sel = SelectorSet()
    sel.add_option('Name', name)
    return sel


def _start_mode(lab, host, service):
    with _wsman(lab, host) as client:
        body = client.get(SVC_NS, selector_set=_selectors(service))
    return body.findtext('.//{%s}StartMode' % SVC_NS)


def test_inventory_has_every_connection_variable(tmp_path):
    spec = testing.write_scenario(tmp_path / 'two.yml', [
        testing.small_host('ex55-a', address='127.0.61.7', groups=['exchange55', 'kb']),
        testing.small_host('ex19-b', scheme='https', auth=['basic'], groups=['exchange2019'], username='LAB\\op',
                           password='Other-Passw0rd!'),
    ])
    with testing.running_fleet([spec], tmp_path / 'state') as lab:
        inventory = lab.inventory
        ca_path = lab.ca_path
        assert lab.ready['hosts'] == 2
    assert ca_path == str(tmp_path / 'state' / 'tls' / 'ca.pem')
    children = inventory['all']['children']
    assert sorted(children) == ['exchange2019', 'exchange55', 'kb', 'windows']
    assert children['exchange55'] == {'hosts': {'ex55-a': None}}
    assert children['kb'] == {'hosts': {'ex55-a': None}}
    assert children['exchange2019'] == {'hosts': {'ex19-b': None}}
    assert children['windows']['hosts']['ex55-a'] == {
        'ansible_host': '127.0.61.7', 'ansible_port': lab.http_port, 'ansible_user': 'LAB\\ansible',
        'ansible_password': 'Lab-Passw0rd!', 'ansible_connection': 'winrm', 'ansible_winrm_transport': 'ntlm',
        'ansible_winrm_scheme': 'http', 'ansible_winrm_server_cert_validation': 'validate'}
    assert children['windows']['hosts']['ex19-b'] == {
        'ansible_host': '127.77.0.1', 'ansible_port': lab.https_port, 'ansible_user': 'LAB\\op',
        'ansible_password': 'Other-Passw0rd!', 'ansible_connection': 'winrm', 'ansible_winrm_transport': 'basic',
        'ansible_winrm_scheme': 'https', 'ansible_winrm_server_cert_validation': 'validate',
        'ansible_winrm_ca_trust_path': ca_path}


def test_inventory_is_read_by_ansible(tmp_path, small_spec):
    with testing.running_fleet([small_spec], tmp_path / 'state') as lab:
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i',
                               lab.inventory_path, '--list'], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    assert data['windows']['hosts'] == ['ex55']
    assert data['exchange55']['hosts'] == ['ex55']
    assert data['_meta']['hostvars']['ex55']['ansible_connection'] == 'winrm'


def test_generated_fleet_listens_everywhere(tmp_path):
    with testing.running_fleet(generate=12, state_dir=tmp_path / 'state') as lab:
        hosts = lab.hosts
        assert len(hosts) == 12
        assert len({h['ansible_host'] for h in hosts.values()}) == 12
        for name, host in hosts.items():
            assert name.rsplit('-', 1)[1].isdigit() and len(name.rsplit('-', 1)[1]) == 4
            assert host['ansible_host'].startswith('127.77.')
            with socket.create_connection((host['ansible_host'], host['ansible_port']), timeout=5) as sock:
                if host['ansible_winrm_scheme'] == 'https':
                    tls = ssl.create_default_context(cafile=host['ansible_winrm_ca_trust_path'])
                    sock = tls.wrap_socket(sock, server_hostname=host['ansible_host'])
                sock.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
                assert sock.recv(12) == b'HTTP/1.1 401'
        san = x509.load_pem_x509_certificate((tmp_path / 'state' / 'tls' / 'server.pem').read_bytes()).extensions
        ips = {str(i) for i in san.get_extension_for_class(x509.SubjectAlternativeName).value
               .get_values_for_type(x509.IPAddress)}
        assert {h['ansible_host'] for h in hosts.values()} <= ips
        names = sorted(hosts)
    expected = sorted(s.name for s in scenario.generate(12, fleet.SCENARIO_DIR))
    assert names == expected


def test_restart_continues_from_the_state_dir(tmp_path, small_spec):
    state = tmp_path / 'state'
    with testing.running_fleet([small_spec], state) as lab:
        method_input = ET.Element('{%s}ChangeStartMode_INPUT' % SVC_NS)
        ET.SubElement(method_input, '{%s}StartMode' % SVC_NS).text = 'Disabled'
        with _wsman(lab, 'ex55') as client:
            out = client.invoke(SVC_NS + '/ChangeStartMode', SVC_NS, method_input, selector_set=_selectors('SMTPSVC'))
        assert out.findtext('.//{%s}ReturnValue' % SVC_NS) == '0'
        first_lines = len(lab.requests('ex55'))
    ca_before = (state / 'tls' / 'ca.pem').read_bytes()
    with testing.running_fleet([small_spec], state) as lab:
        assert _start_mode(lab, 'ex55', 'SMTPSVC') == 'Disabled'
        assert _start_mode(lab, 'ex55', 'IISADMIN') == 'Auto'
        assert len(lab.requests('ex55')) > first_lines            # the log is appended to, not replaced
    assert (state / 'tls' / 'ca.pem').read_bytes() == ca_before     # inventories written before stay valid


def test_restart_after_a_killed_fleet(tmp_path, small_spec):
    state = tmp_path / 'state'
    with testing.running_fleet([small_spec], state) as lab:
        lab.process.kill()                     # no clean stop: the old ready file stays behind
        lab.process.wait(15)
        first_pid = lab.ready['pid']
    assert (state / 'ready.json').exists()
    with testing.running_fleet([small_spec], state) as lab:
        assert lab.ready['pid'] == lab.process.pid != first_pid
        with socket.create_connection((lab.hosts['ex55']['ansible_host'], lab.http_port), timeout=5) as sock:
            sock.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
            assert sock.recv(12) == b'HTTP/1.1 401'


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_signal_stops_cleanly(tmp_path, small_spec, sig):
    with testing.running_fleet([small_spec], tmp_path / 'state') as lab:
        ready = os.path.join(lab.state_dir, 'ready.json')
        assert os.path.exists(ready)
        address = (lab.hosts['ex55']['ansible_host'], lab.http_port)
        # clients still connected when the signal comes: one idle keep-alive, one half-way through a request
        with socket.create_connection(address, timeout=5) as idle, \
                socket.create_connection(address, timeout=5) as busy:
            idle.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
            assert idle.recv(12) == b'HTTP/1.1 401'
            busy.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<s:Env')
            time.sleep(0.2)
            lab.process.send_signal(sig)
            assert lab.process.wait(15) == 0
        assert not os.path.exists(ready)
        assert 'Traceback' not in lab.stderr()


@pytest.mark.parametrize('hosts, words', [
    ([{'name': 'bad', 'services': [{'name': 'SMTPSVC', 'state': 'sideways'}]}], ['bad', 'services[0].state']),
    ([{'name': 'dup'}, {'name': 'dup'}], ['dup', 'name']),
    ([{'name': 'x', 'address': '10.0.0.1'}], ['x', 'address']),
], ids=['bad-state', 'duplicate-host', 'address-off-loopback'])
def test_invalid_scenario_is_refused_at_start(tmp_path, capsys, hosts, words):
    spec = testing.write_scenario(tmp_path / 'bad.yml', hosts)
    inventory = tmp_path / 'inv.yml'
    code, err = _run_cli(capsys, ['fleet', '--spec', spec, '--state-dir', str(tmp_path / 'state'),
                                  '--inventory', str(inventory), '--ready-file', str(tmp_path / 'ready'),
                                  '--http-port', str(testing.free_port()), '--https-port', str(testing.free_port())])
    assert code == 2
    assert err.startswith('winlab: error: ' + spec)
    for word in words:
        assert word in err
    assert testing.LAB_PASSWORD not in err
    assert not inventory.exists() and not (tmp_path / 'ready').exists()


@pytest.mark.parametrize('extra, message', [
    (['--subnet', '10.1.0.0/16'], 'must lie inside 127.0.0.0/8'),
    (['--subnet', 'nonsense'], "--subnet 'nonsense'"),
    (['--http-port', '7000', '--https-port', '7000'], '--http-port and --https-port must differ'),
    (['--http-port', '0'], '--http-port must be 1-65535'),
], ids=['subnet-outside-loopback', 'subnet-garbage', 'same-ports', 'port-zero'])
def test_bad_options_are_refused(tmp_path, capsys, small_spec, extra, message):
    code, err = _run_cli(capsys, ['fleet', '--spec', small_spec, '--state-dir', str(tmp_path / 'state'),
                                  '--inventory', str(tmp_path / 'inv.yml')] + extra)
    assert code == 2
    assert message in err
    assert not (tmp_path / 'inv.yml').exists()


def test_spec_and_generate_are_exclusive(tmp_path, capsys, small_spec):
    with pytest.raises(SystemExit) as exc:
        cli.main(['fleet', '--spec', small_spec, '--generate', '3', '--state-dir', str(tmp_path),
                  '--inventory', str(tmp_path / 'inv.yml')])
    assert exc.value.code == 2
    assert 'not allowed with argument' in capsys.readouterr().err


def test_port_taken_is_reported(tmp_path, small_spec):
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(('0.0.0.0', 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(testing.FleetStartError, match='cannot listen'):
            with testing.running_fleet([small_spec], tmp_path / 'state', http_port=port,
                                       https_port=testing.free_port()):
                pass
        assert time.monotonic() - started < 60


def test_running_fleet_reports_why_a_fleet_did_not_start(tmp_path):
    spec = testing.write_scenario(tmp_path / 'bad.yml', [{'name': 'bad', 'auth': ['negotiate']}])
    with pytest.raises(testing.FleetStartError) as err:
        with testing.running_fleet([spec], tmp_path / 'state'):
            pass
    assert 'exit code 2' in str(err.value)
    assert "host 'bad'" in str(err.value) and 'auth[0]' in str(err.value)


def test_handle_reads_state_and_request_log(tmp_path, small_spec):
    with testing.running_fleet([small_spec], tmp_path / 'state') as lab:
        assert lab.requests('ex55') == []
        assert lab.host_state('ex55') == json.loads((tmp_path / 'state' / 'ex55.json').read_text())
        with socket.create_connection((lab.hosts['ex55']['ansible_host'], lab.http_port), timeout=5) as sock:
            sock.sendall(b'POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
            assert sock.recv(12) == b'HTTP/1.1 401'
        assert [(x['auth'], x['status'], x['bytes_in']) for x in lab.requests('ex55')] == [('none', 401, 52)]
        assert lab.endpoint('ex55') == 'http://%s:%d/wsman' % (lab.hosts['ex55']['ansible_host'], lab.http_port)


def _specs(tmp_path, hosts):
    return scenario.load_spec(testing.write_scenario(tmp_path / 'addr.yml', hosts))


def test_addresses_are_assigned_in_file_order_around_fixed_ones(tmp_path):
    specs = _specs(tmp_path, [testing.small_host('a'), testing.small_host('b', address='127.9.0.2'),
                              testing.small_host('c'), testing.small_host('d')])
    assert fleet.assign_addresses(specs, '127.9.0.0/29') == {
        'a': '127.9.0.1', 'b': '127.9.0.2', 'c': '127.9.0.3', 'd': '127.9.0.4'}


def test_a_subnet_too_small_is_refused(tmp_path):
    specs = _specs(tmp_path, [testing.small_host('a'), testing.small_host('b'), testing.small_host('c')])
    with pytest.raises(fleet.FleetError, match='--subnet 127.9.0.0/30 has no free address left for host c'):
        fleet.assign_addresses(specs, '127.9.0.0/30')


def test_hosts_name_themselves_by_the_address_the_fleet_gave_them(tmp_path):
    import winrm.exceptions  # pylint: disable=import-outside-toplevel  # as testing.pywinrm_protocol does
    spec = testing.write_scenario(tmp_path / 'named.yml', [testing.small_host('auto'), testing.small_host('fixed', address='127.0.62.9')])
    with testing.running_fleet([spec], tmp_path / 'state') as lab:
        for name in ('auto', 'fixed'):
            address = lab.hosts[name]['ansible_host']
            proto = testing.pywinrm_protocol(lab, name)
            with pytest.raises(winrm.exceptions.WSManFaultError) as caught:
                proto.send_message(testing.enumerate_envelope(lab.endpoint(name), testing.CIMV2 + '*',
                                                              'SELECT * FROM Win32_NoSuchClass'))
            fault = ET.fromstring(caught.value.response).find('.//{http://schemas.microsoft.com/wbem/wsman/1/wsmanfault}WSManFault')
            assert fault.get('Machine') == address
            raw = proto.send_message(testing.enumerate_envelope(
                lab.endpoint(name), testing.CIMV2.replace('/cimv2/', '/standardcimv2/') + '*',
                'SELECT LocalAddress, State FROM MSFT_NetTCPConnection WHERE State = 5'))
            local = [e.text for e in ET.fromstring(raw).iter('LocalAddress')]
            assert local and set(local) == {address}
        assert lab.hosts['fixed']['ansible_host'] == '127.0.62.9' != lab.hosts['auto']['ansible_host']
