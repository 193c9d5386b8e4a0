# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""KB Q222553 played end to end through WS-Man alone: the failure, then the fix, on the shipped ex55-smtp host."""
from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET

import pytest

from winlab import model, scenario, testing, wsman

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')
Client = testing.ServiceClient


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(name='lab')
def lab_fixture(tmp_path):
    spec = scenario.load_spec(os.path.join(SCENARIOS, 'ex55-smtp.yml'))[0]
    clock = Clock()
    host = model.Host.open(spec, str(tmp_path), clock=clock)

    def send(body):
        reply = wsman.handle(host, body)
        assert reply.status == 200, reply.body[:1000]
        return ET.fromstring(reply.body)
    return host, clock, Client(send), spec, tmp_path


def test_kb_case_through_wsman(lab):
    host, clock, client, spec, state_dir = lab
    smtp_pid = int(client.service('SMTPSVC')['ProcessId'])
    assert client.listeners(25) == [smtp_pid]
    imc = client.service('MSExchangeIMC')
    assert (imc['State'], imc['ExitCode'], imc['ServiceSpecificExitCode']) == ('Stopped', '1066', '10048')

    # 1. starting the Internet Mail Service while SMTPSVC holds 25: accepted, then it fails with the KB events
    start = clock.now
    assert client.invoke('StartService', 'MSExchangeIMC') == 0
    assert client.service('MSExchangeIMC')['State'] == 'Start Pending'
    clock.now += 1
    imc = client.service('MSExchangeIMC')
    assert (imc['State'], imc['ProcessId'], imc['ExitCode'], imc['ServiceSpecificExitCode']) == \
        ('Stopped', '0', '1066', '10048')
    assert client.events_since(start) == [('Application', 'MSExchangeIMC', 4007), ('Application', 'MSExchangeIMC', 4020),
                                          ('System', 'Service Control Manager', 7024)]
    assert client.listeners(25) == [smtp_pid]

    # 2. the fix: stop and disable SMTPSVC, then start the Internet Mail Service
    clock.now += 60
    fix = clock.now
    assert client.invoke('StopService', 'SMTPSVC') == 0
    assert client.change_start_mode('SMTPSVC', 'Disabled') == 0
    assert client.service('SMTPSVC')['State'] == 'Stop Pending'
    clock.now += 1
    assert client.listeners(25) == []
    assert client.invoke('StartService', 'MSExchangeIMC') == 0
    clock.now += 1
    imc = client.service('MSExchangeIMC')
    assert (imc['State'], imc['ExitCode'], imc['ServiceSpecificExitCode']) == ('Running', '0', '0')
    assert client.listeners(25) == [int(imc['ProcessId'])] and int(imc['ProcessId']) != smtp_pid
    assert client.invoke('StartService', 'SMTPSVC') == 14                 # disabled: it cannot come back
    assert client.events_since(fix) == [('System', 'Service Control Manager', 7036),
                                        ('System', 'Service Control Manager', 7036),
                                        ('System', 'Service Control Manager', 7040)]

    # 3. the evidence is on disk: a lab restarted from the state directory sees the fixed host
    again = model.Host.open(spec, str(state_dir), clock=clock)
    assert again.service('SMTPSVC')['start_mode'] == 'Disabled'
    assert again.port_holder(25)['owner'] == 'service:MSExchangeIMC'
    assert host.port_holder(25) == again.port_holder(25)


def test_kb_case_over_http_with_pywinrm(tmp_path):
    """The same story through a real fleet: HTTP, NTLM with message encryption, pywinrm's Protocol."""
    spec = os.path.join(SCENARIOS, 'ex55-smtp.yml')
    with testing.running_fleet([spec], tmp_path / 'state') as fleet:
        proto = testing.pywinrm_protocol(fleet, 'ex55-smtp')
        client = Client(lambda body: ET.fromstring(proto.send_message(body.decode('utf-8'))))

        def wait_for(name, state):
            deadline = time.time() + 10
            while client.service(name)['State'] != state:
                assert time.time() < deadline, '%s never became %s' % (name, state)
                time.sleep(0.2)
            return client.service(name)

        assert client.invoke('StartService', 'MSExchangeIMC') == 0
        imc = wait_for('MSExchangeIMC', 'Stopped')
        assert (imc['ExitCode'], imc['ServiceSpecificExitCode']) == ('1066', '10048')
        assert client.invoke('StopService', 'SMTPSVC') == 0
        assert client.change_start_mode('SMTPSVC', 'Disabled') == 0
        wait_for('SMTPSVC', 'Stopped')
        assert client.invoke('StartService', 'MSExchangeIMC') == 0
        imc = wait_for('MSExchangeIMC', 'Running')
        assert client.listeners(25) == [int(imc['ProcessId'])]
