# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos options, tickets and failure messages (the KDC-backed cases are in tests/integration/test_kerberos.py)."""

from __future__ import annotations

import os

import pytest
import winrm.exceptions

from ansible_collections.mailops.port25.plugins.module_utils import connection, kerberos
from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    AuthenticationFailure, ConnectionFailure, InvalidOption)
from winlab.testing import require_kerberos

require_kerberos()

import kerberos as pykerberos  # noqa: E402  pylint: disable=wrong-import-position,wrong-import-order
from winrm.vendor.requests_kerberos.exceptions import (  # noqa: E402  pylint: disable=wrong-import-position
    KerberosExchangeError, MutualAuthenticationError)

PASSWORD = "Kerb-S3cret!"


@pytest.fixture(autouse=True)
def lab_realm(tmp_path, monkeypatch):
    """A krb5.conf whose default realm is CORP.EXAMPLE (nothing is contacted)."""
    conf = tmp_path / "krb5.conf"
    conf.write_text("[libdefaults]\n default_realm = CORP.EXAMPLE\n dns_lookup_kdc = false\n dns_lookup_realm = false\n",
                    encoding="utf-8")
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    monkeypatch.delenv("KRB5CCNAME", raising=False)
    return conf


def settings(**params):
    base = {"winrm_host": "10.1.2.3", "winrm_transport": "kerberos", "winrm_user": "ops@CORP.EXAMPLE",
            "winrm_password": PASSWORD, "winrm_port": 5985}
    base.update(params)
    return connection.settings_from_params(base)


def test_inventory_variables_of_ansible_winrm_and_psrp():
    assert connection.options_from_inventory({
        "inventory_hostname": "m", "ansible_winrm_kerberos_hostname_override": "mail01.corp.example",
        "ansible_winrm_kerberos_delegation": True, "ansible_winrm_kinit_mode": "manual"}) == {
        "winrm_host": "m", "winrm_kerberos_hostname_override": "mail01.corp.example", "winrm_kerberos_delegation": True,
        "winrm_kinit_mode": "manual"}
    assert connection.options_from_inventory({
        "inventory_hostname": "m", "ansible_psrp_negotiate_hostname_override": "mail02", "ansible_psrp_negotiate_delegate": False}) == {
        "winrm_host": "m", "winrm_kerberos_hostname_override": "mail02", "winrm_kerberos_delegation": False}


def test_env_fallbacks(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_KINIT_MODE", "manual")
    monkeypatch.setenv("MAILOPS_WINRM_KERBEROS_HOSTNAME_OVERRIDE", "mail03.corp.example")
    monkeypatch.setenv("MAILOPS_WINRM_KERBEROS_DELEGATION", "yes")
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    values = ArgumentSpecValidator(connection.WINRM_ARGSPEC).validate({"winrm_host": "h"}).validated_parameters
    assert (values["winrm_kinit_mode"], values["winrm_kerberos_hostname_override"], values["winrm_kerberos_delegation"]) == (
        "manual", "mail03.corp.example", True)


@pytest.mark.parametrize("mode, password, expected", [
    (None, PASSWORD, "managed"), (None, None, "manual"), ("manual", PASSWORD, "manual"), ("managed", PASSWORD, "managed"),
])
def test_kinit_mode_follows_ansible(mode, password, expected):
    assert kerberos.kinit_mode(settings(winrm_kinit_mode=mode, winrm_password=password)) == expected


def test_domain_backslash_user_is_refused_with_the_upn_form():
    with pytest.raises(InvalidOption) as err:
        settings(winrm_user="CORP\\ops")
    text = str(err.value)
    assert text.startswith("10.1.2.3: winrm_user 'CORP\\ops' is a DOMAIN\\user name")
    assert "'ops@CORP.EXAMPLE'" in text and PASSWORD not in text
    # NTLM keeps DOMAIN\user
    assert settings(winrm_transport="ntlm", winrm_user="CORP\\ops").user == "CORP\\ops"


def test_managed_needs_user_and_password():
    with pytest.raises(InvalidOption, match="winrm_kinit_mode=managed gets the Kerberos ticket from winrm_user and winrm_password"):
        settings(winrm_kinit_mode="managed", winrm_password=None)
    with pytest.raises(InvalidOption, match="winrm_kinit_mode=managed"):
        settings(winrm_user=None)
    assert settings(winrm_kinit_mode="manual", winrm_user=None, winrm_password=None).user is None
    with pytest.raises(InvalidOption, match="is not a host name"):
        settings(winrm_kerberos_hostname_override="bad name")


def test_protocol_gets_the_override_and_delegation():
    transport = connection.create_protocol(settings(winrm_kerberos_hostname_override="mail01.corp.example",
                                                    winrm_kerberos_delegation=True)).transport
    assert (transport.auth_method, transport.kerberos_hostname_override, transport.kerberos_delegation, transport.username) == (
        "kerberos", "mail01.corp.example", True, "ops@CORP.EXAMPLE")


CASES = [
    (-1765328228, "Cannot contact any KDC for realm 'CORP.EXAMPLE'", ConnectionFailure,
     ["no KDC of realm CORP.EXAMPLE answered", "ops@CORP.EXAMPLE", "KRB5_CONFIG="]),
    (-1765328378, "Client not found in Kerberos database", AuthenticationFailure,
     ["does not know user ops@CORP.EXAMPLE", "winrm_user"]),
    (-1765328360, "Preauthentication failed", AuthenticationFailure, ["refused the password of user ops@CORP.EXAMPLE"]),
    (-1765328377, "Server not found in Kerberos database", AuthenticationFailure,
     ["no service principal HTTP/10.1.2.3@CORP.EXAMPLE", "winrm_kerberos_hostname_override",
      "ansible_winrm_kerberos_hostname_override"]),
    (-1765328347, "Clock skew too great", AuthenticationFailure, ["ops@CORP.EXAMPLE", "clock", "differ"]),
    (-1765328352, "Ticket expired", AuthenticationFailure, ["ticket of user ops@CORP.EXAMPLE", "has expired", "kinit"]),
    (-1765328189, "No credentials cache found", AuthenticationFailure, ["no Kerberos ticket for user ops@CORP.EXAMPLE"]),
]


@pytest.mark.parametrize("code, text, kind, words", CASES)
def test_failures_name_host_user_and_what_to_do(code, text, kind, words):
    error = kerberos.explain_code(code, text, settings(), "kinit")
    assert type(error) is kind  # pylint: disable=unidiomatic-typecheck
    rendered = str(error)
    assert rendered.startswith("10.1.2.3: kinit: ") and text in rendered and PASSWORD not in rendered
    for word in words:
        assert word in rendered, (word, rendered)


def test_pykerberos_errors_from_pywinrm_are_explained():
    def raised():
        try:
            raise pykerberos.GSSError(("Unspecified GSS failure.", 851968), ("Server not found in Kerberos database", 2529638919))
        except pykerberos.GSSError as error:
            try:
                raise KerberosExchangeError("authGSSClientStep() failed: %s" % (error.args,))
            except KerberosExchangeError as exc:
                return exc
    error = connection.map_error(raised(), settings(winrm_kerberos_hostname_override="mail01.corp.example"), "enumerate")
    assert isinstance(error, AuthenticationFailure)
    assert "no service principal HTTP/mail01.corp.example@CORP.EXAMPLE" in str(error)


def test_401_and_mutual_authentication_failures():
    error = connection.map_error(winrm.exceptions.InvalidCredentialsError("rejected"), settings(), "enumerate")
    assert "10.1.2.3:5985 refused the Kerberos ticket of user ops@CORP.EXAMPLE for HTTP/10.1.2.3@CORP.EXAMPLE (HTTP 401)" in str(error)
    error = connection.map_error(MutualAuthenticationError("Unable to authenticate"), settings(), "enumerate")
    assert "mutual authentication failed" in str(error)


def test_ticket_leaves_other_transports_and_the_environment_alone(monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:/somewhere")
    with kerberos.ticket(settings(winrm_transport="ntlm", winrm_user="CORP\\ops")):
        assert os.environ["KRB5CCNAME"] == "FILE:/somewhere"
    with kerberos.ticket(None):
        pass


def test_manual_mode_without_a_ticket_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:%s" % (tmp_path / "none"))
    with pytest.raises(AuthenticationFailure) as err:
        with kerberos.ticket(settings(winrm_kinit_mode="manual")):
            pass
    text = str(err.value)
    assert "no Kerberos ticket for user ops@CORP.EXAMPLE in FILE:%s" % (tmp_path / "none") in text and "kinit" in text


def test_managed_mode_restores_the_environment_when_the_kdc_cannot_be_found(monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:/keep/me")
    with pytest.raises((ConnectionFailure, AuthenticationFailure)) as err:
        with kerberos.ticket(settings()):
            pass
    assert "ops@CORP.EXAMPLE" in str(err.value) and PASSWORD not in str(err.value)
    assert os.environ["KRB5CCNAME"] == "FILE:/keep/me"
