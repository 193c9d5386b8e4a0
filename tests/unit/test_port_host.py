# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port host options and its session: names refused before anything is asked, its own settings, Kerberos."""
from __future__ import annotations

import contextlib

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, errors, port_host

CONNECTION = {'winrm_host': '10.0.0.9', 'winrm_port': 5985, 'winrm_transport': 'ntlm', 'winrm_user': 'LAB\\proxyop',
              'winrm_password': 'Proxy-Passw0rd!', 'winrm_path': '/wsman', 'winrm_cert_validation': 'validate',
              'winrm_message_encryption': 'auto', 'winrm_operation_timeout': 20, 'winrm_read_timeout': 30}


@pytest.mark.parametrize('params, message', [
    ({'port_host': 'bad name'}, "port_host must be an inventory host name, got 'bad name'"),
    ({'port_host': 'ex55'}, 'port_host ex55 is this host itself'),
    ({'port_host': 'proxy01'}, 'port_host proxy01 has no connection settings'),
    ({'port_host_connection': CONNECTION}, 'port_host_connection goes with port_host'),
    ({'port_host': 'proxy01', 'port_host_connection': dict(CONNECTION, winrm_password=None)},
     "port_host proxy01: winrm_password is required for winrm_transport=ntlm and user 'LAB\\proxyop'"),
])
def test_bad_port_hosts_are_refused(params, message):
    with pytest.raises(errors.InvalidOption) as info:
        with port_host.session(params, 'ex55'):
            pass
    assert message in str(info.value) and 'Passw0rd' not in str(info.value)


class Client(object):
    made = []

    def __init__(self, settings):
        self.settings, self.closed = settings, False
        Client.made.append(self)

    def close(self):
        self.closed = True


def test_no_port_host_no_session():
    with port_host.session({}, 'ex55', factory=Client) as client:
        assert client is None


def test_the_session_uses_the_port_hosts_own_settings_and_closes():
    with port_host.session({'port_host': 'proxy01', 'port_host_connection': CONNECTION}, 'ex55', factory=Client) as client:
        assert (client.settings.host, client.settings.user) == ('10.0.0.9', 'LAB\\proxyop') and not client.closed
    assert client.closed


def kerberos_settings(user):
    return connection.settings_from_params(dict(CONNECTION, winrm_transport='kerberos', winrm_user=user))


@pytest.fixture(name='tickets')
def tickets_fixture(monkeypatch):
    taken = []

    @contextlib.contextmanager
    def ticket(settings):
        taken.append(settings.user)
        yield
    monkeypatch.setattr(port_host.kerberos, 'ticket', ticket)
    return taken


KERBEROS = {'port_host': 'proxy01', 'port_host_connection': dict(CONNECTION, winrm_transport='kerberos', winrm_user='ops@LAB.TEST')}


def test_kerberos_port_host_gets_its_own_ticket_when_the_mail_host_has_none(tickets):
    with port_host.session(KERBEROS, 'ex55', connection.settings_from_params(CONNECTION), factory=Client):
        pass
    assert tickets == ['ops@LAB.TEST']


def test_kerberos_on_both_hosts_shares_the_ticket_of_one_user(tickets):
    with port_host.session(KERBEROS, 'ex55', kerberos_settings('OPS@lab.test'), factory=Client):
        pass
    assert tickets == []


def test_two_kerberos_users_in_one_task_are_refused(tickets):
    with pytest.raises(errors.InvalidOption) as info:
        with port_host.session(KERBEROS, 'ex55', kerberos_settings('mail@LAB.TEST'), factory=Client):
            pass
    assert 'one task holds one Kerberos ticket' in str(info.value) and tickets == []
