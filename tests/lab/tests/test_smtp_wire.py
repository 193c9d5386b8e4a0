# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab on the wire: real sockets on each host address that open and close with the model's listeners and greet
like their owner, read with Python's smtplib (KB Q146157's check); the KB's proxy topology end to end over WinRM."""
from __future__ import annotations

import asyncio
import ipaddress
import os
import smtplib
import socket
import time

import pytest

from winlab import smtp, testing

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')
KB_FILE = os.path.join(SCENARIOS, 'topology', 'kb-proxy.yml')
IIS = ' Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready at '
IMS = ' ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready'
EXCHANGE = ' Microsoft ESMTP MAIL Service ready at '


def refused(address, port=25):
    try:
        socket.create_connection((address, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait(check, seconds=10):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, 'not in %s s' % seconds
        time.sleep(0.1)


def test_the_kb_topology_on_the_wire(tmp_path):
    with testing.running_fleet([KB_FILE], tmp_path / 'state') as lab:
        testing.require_smtp(lab)
        mail, proxy = lab.hosts['ex55-wsp']['ansible_host'], lab.hosts['wsp-proxy']['ansible_host']
        assert testing.smtp_greeting(proxy) == (220, 'wsp-proxy.lab.test' + IIS + testing.smtp_greeting(proxy)[1].split(' ready at ')[1])
        assert refused(mail)                                   # the Exchange host listens on no port 25 of its own
        to_proxy = testing.ServiceClient.over(testing.pywinrm_protocol(lab, 'wsp-proxy'))
        to_mail = testing.ServiceClient.over(testing.pywinrm_protocol(lab, 'ex55-wsp'))

        # The KB's failure: the IMS start fails on the proxy's port, nothing changes on the wire.
        assert to_mail.invoke('StartService', 'MSExchangeIMC') == 0
        wait(lambda: to_mail.service('MSExchangeIMC')['ServiceSpecificExitCode'] == '10048' and
             to_mail.service('MSExchangeIMC')['State'] == 'Stopped')
        assert 'Version:' in testing.smtp_greeting(proxy)[1]

        # The fix: SMTPSVC stopped on the proxy closes its socket; the IMS's start opens the proxy's port for it,
        # without another request (the socket follows the model's clock).
        assert to_proxy.invoke('StopService', 'SMTPSVC') == 0
        assert to_proxy.change_start_mode('SMTPSVC', 'Disabled') == 0
        wait(lambda: refused(proxy))
        assert to_mail.invoke('StartService', 'MSExchangeIMC') == 0
        wait(lambda: not refused(proxy))
        assert testing.smtp_greeting(proxy) == (220, 'ex55-wsp.lab.test' + IMS)
        assert refused(mail)
        pid = int(to_proxy.service('WSPSRV')['ProcessId'])
        assert to_proxy.listeners(25) == [pid]                 # WMI on the proxy: WSPSRV's process holds it

        # Stopping the IMS frees the proxy's port.
        assert to_mail.invoke('StopService', 'MSExchangeIMC') == 0
        wait(lambda: refused(proxy))
        assert to_proxy.listeners(25) == []


SILENT = {'name': 'ex55-silent', 'services': [
    {'name': 'MSExchangeIMC', 'state': 'running', 'start_mode': 'auto', 'process': 'msexcimc.exe', 'listens': [25]}],
    'processes': [{'name': 'mailscan.exe', 'intercepts': [25], 'banner': '{fqdn} ESMTP MailScan gateway ready'}]}
TARPIT = {'name': 'tarpit', 'processes': [{'name': 'tarpit.exe', 'listens': [25], 'banner': ''}]}


def test_every_owner_greets_its_own_way(tmp_path):
    hosts = [SILENT, TARPIT, testing.small_host('ex55')]
    spec = testing.write_scenario(tmp_path / 'greet.yml', hosts)
    ex2019 = os.path.join(SCENARIOS, 'ex2019-iis-smtp.yml')
    with testing.running_fleet([spec, ex2019], tmp_path / 'state') as lab:
        testing.require_smtp(lab)
        address = dict((name, host['ansible_host']) for name, host in lab.hosts.items())
        code, text = testing.smtp_greeting(address['ex55'])                    # IIS SMTP holds 25 on the small Exchange 5.5 host
        assert code == 220 and text.startswith('ex55.lab.test' + IIS)
        code, text = testing.smtp_greeting(address['ex2019-iis-smtp'], 2525)    # the Exchange 2019 Transport service
        assert code == 220 and text.startswith('ex2019-iis-smtp.lab.test' + EXCHANGE)
        assert testing.smtp_greeting(address['ex2019-iis-smtp'], 475)[1].startswith('ex2019-iis-smtp.lab.test' + EXCHANGE)
        assert refused(address['ex2019-iis-smtp'], 717)        # the front end is stopped: its ports are closed
        # KB Q146157's silent conflict: WMI shows the IMS holding 25, another program answers.
        assert testing.smtp_greeting(address['ex55-silent']) == (220, 'ex55-silent.lab.test ESMTP MailScan gateway ready')
        # A listener that accepts and never greets.
        with socket.create_connection((address['tarpit'], 25), timeout=5) as sock:
            sock.settimeout(1.5)
            with pytest.raises(socket.timeout):
                sock.recv(10)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtplib.SMTP(address['tarpit'], 25, timeout=1)


def test_an_smtp_port_taken_on_the_fleets_addresses_stops_the_start(tmp_path):
    """Fleets run side by side: a collision is an exit code 3 (running_fleet then tries another block)."""
    subnet = testing.random_subnet()
    first = str(next(ipaddress.ip_network(subnet).hosts()))
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind((first, 25))
        taken.listen(1)
        spec = testing.write_scenario(tmp_path / 'one.yml', [testing.small_host('ex55')])
        with pytest.raises(testing.FleetStartError) as info:
            with testing.running_fleet([spec], tmp_path / 'state', extra_args=['--subnet', subnet]):
                pass
    assert 'exit code 3' in str(info.value) and 'cannot listen for SMTP on %s:25 (in use' % first in str(info.value)


def test_a_refused_privileged_port_is_said_once_and_winrm_goes_on(monkeypatch, capsys):
    class Host:      # what the wire service reads of a model host
        def __init__(self, name):
            self.spec = type('Spec', (), {'name': name, 'os': ''})()
            self.services, self.processes, self.observers = {}, {}, []
            self.listeners = [{'port': 25, 'pid': 8, 'owner': 'process'}, {'port': 2525, 'pid': 8, 'owner': 'process'}]

    real_bind = socket.socket.bind

    def bind(sock, address):
        if address[1] < 1024:
            raise PermissionError(13, 'Permission denied')
        return real_bind(sock, address)
    monkeypatch.setattr(socket.socket, 'bind', bind)
    loop = asyncio.new_event_loop()
    subnet = ipaddress.ip_network(testing.random_subnet())
    addresses = dict(zip(('a', 'b'), (str(a) for a in subnet.hosts())))
    wire = smtp.WireService({'a': Host('a'), 'b': Host('b')}, addresses, loop=loop)
    try:
        assert wire.start() == []
        status = wire.status()
        assert status['served'] is False and 'binding port 25 is not allowed for this user' in status['reason']
        assert sorted(key for key in wire.sockets) == [('a', 2525), ('b', 2525)]   # the other ports are still served
        assert capsys.readouterr().err.count('SMTP greetings are not served') == 1
    finally:
        loop.run_until_complete(wire.close())
        loop.close()
