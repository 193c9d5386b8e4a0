# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FeatureAction: in-process run, inventory WinRM variables, precedence, validation, check/diff, no_log masking."""

from __future__ import annotations

import json
import types

import pytest
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.mailops.port25.plugins.module_utils import connection, runner
from ansible_collections.mailops.port25.plugins.module_utils.errors import AuthenticationFailure
from ansible_collections.mailops.port25.plugins.plugin_utils import action

PASSWORD = "Inv3ntory!pw"


class FakeClient(object):
    instances = []

    def __init__(self, settings):
        self.settings = settings
        FakeClient.instances.append(self)

    def close(self):
        pass


class Recorder(object):
    """A feature module stand-in that records what it was given."""

    ARGUMENT_SPEC = {"name": {"type": "str", "default": "SMTPSVC"}, "port": {"type": "int", "default": 25}}
    SUPPORTS_CHECK_MODE = True

    def __init__(self, result=None, error=None):
        self.calls = []
        self.result = result if result is not None else {"ok": True}
        self.error = error

    def run(self, client, params, check_mode=False, diff=False):
        self.calls.append({"settings": client.settings, "params": params, "check_mode": check_mode, "diff": diff})
        if self.error:
            raise self.error
        return dict(self.result)


class FakeConnection(object):
    """The action must never touch it: every attribute access but _shell fails the test."""

    def __init__(self):
        self._shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError("the action used the Ansible connection (%s)" % name)


def make_action(feature, args=None, check_mode=False, diff=False, task_vars=None, connection_keyword=None, play_context=None):
    task = types.SimpleNamespace(args=dict(args or {}), check_mode=check_mode, diff=diff, async_val=0,
                                 action="mailops.port25.conflict_info", connection=connection_keyword, delegate_to=None)
    templar = Templar(loader=DataLoader(), variables=task_vars or {})
    cls = type("ActionModule", (action.FeatureAction,), {"FEATURE": feature})
    return cls(task, FakeConnection(), play_context, DataLoader(), templar, None)


def run(feature, args=None, task_vars=None, **kwargs):
    task_vars = task_vars if task_vars is not None else {}
    plugin = make_action(feature, args, task_vars=task_vars, **kwargs)
    return plugin.run(task_vars=task_vars)


@pytest.fixture(autouse=True)
def fake_client(monkeypatch):
    FakeClient.instances = []
    monkeypatch.setattr(runner, "WSManClient", FakeClient)
    for name in list(connection.WINRM_ARGSPEC):
        monkeypatch.delenv("MAILOPS_WINRM_" + name[6:].upper(), raising=False)


WINRM_HOST = {
    "inventory_hostname": "ex55-smtp", "ansible_connection": "winrm", "ansible_host": "127.0.0.9", "ansible_port": 5985,
    "ansible_user": "lab\\admin", "ansible_password": PASSWORD, "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
}


def test_inventory_winrm_variables_are_used():
    feature = Recorder()
    result = run(feature, {}, dict(WINRM_HOST))
    assert result == {"ok": True, "changed": False}
    settings = feature.calls[0]["settings"]
    assert (settings.host, settings.port, settings.scheme, settings.user, settings.password, settings.transport) == \
        ("127.0.0.9", 5985, "http", "lab\\admin", PASSWORD, "ntlm")
    assert feature.calls[0]["params"]["port"] == 25


def test_fully_qualified_and_psrp_connection_names():
    for name in ("ansible.builtin.winrm", "psrp", "ansible.legacy.psrp"):
        feature = Recorder()
        run(feature, {}, dict(WINRM_HOST, ansible_connection=name))
        assert feature.calls[0]["settings"].host == "127.0.0.9"


def test_play_connection_keyword_counts_when_no_variable():
    host_vars = dict(WINRM_HOST)
    del host_vars["ansible_connection"]
    feature = Recorder()
    run(feature, {}, host_vars, connection_keyword="winrm")
    assert feature.calls[0]["settings"].host == "127.0.0.9"


def test_non_winrm_host_vars_are_ignored():
    feature = Recorder()
    result = run(feature, {}, dict(WINRM_HOST, ansible_connection="ssh"))
    assert result["failed"] and result["msg"] == "missing required arguments: winrm_host"
    assert feature.calls == []


def test_inventory_hostname_when_no_ansible_host():
    host_vars = dict(WINRM_HOST)
    del host_vars["ansible_host"]
    feature = Recorder()
    run(feature, {}, host_vars)
    assert feature.calls[0]["settings"].host == "ex55-smtp"


def test_delegate_to_localhost_keeps_inventory_host_vars():
    host_vars = dict(WINRM_HOST)
    host_vars["ansible_delegated_vars"] = {"localhost": {"ansible_connection": "local", "ansible_host": "127.0.0.1"}}
    feature = Recorder()
    run(feature, {}, host_vars)
    assert feature.calls[0]["settings"].host == "127.0.0.9"


def test_precedence_task_over_inventory_over_env_over_default(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_PORT", "6000")
    monkeypatch.setenv("MAILOPS_WINRM_PATH", "/from-env")
    monkeypatch.setenv("MAILOPS_WINRM_USER", "env-user")
    feature = Recorder()
    run(feature, {"winrm_user": "task-user"}, dict(WINRM_HOST))
    settings = feature.calls[0]["settings"]
    assert settings.user == "task-user"            # task > inventory
    assert settings.port == 5985                   # inventory > env
    assert settings.path == "/from-env"            # env > default
    assert settings.operation_timeout == 20        # default


def test_env_only_without_inventory(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "10.1.1.1")
    monkeypatch.setenv("MAILOPS_WINRM_USER", "u")
    monkeypatch.setenv("MAILOPS_WINRM_PASSWORD", "p")
    feature = Recorder()
    run(feature, {}, {"inventory_hostname": "x", "ansible_connection": "local"})
    assert (feature.calls[0]["settings"].host, feature.calls[0]["settings"].port) == ("10.1.1.1", 5986)


def test_inventory_values_are_templated():
    host_vars = dict(WINRM_HOST, vault_pw=PASSWORD, ansible_password=trust_as_template("{{ vault_pw }}"),
                     ansible_port=trust_as_template("{{ 5980 + 5 }}"))
    feature = Recorder()
    run(feature, {}, host_vars)
    assert (feature.calls[0]["settings"].password, feature.calls[0]["settings"].port) == (PASSWORD, 5985)


def test_template_error_in_the_password_variable_does_not_show_the_password(monkeypatch):
    host_vars = dict(WINRM_HOST)
    plugin = make_action(Recorder(), {}, task_vars=host_vars)
    real_template = plugin._templar.template

    def template(value, **kwargs):
        # ansible-core before 2.19 quotes the template text in its message.
        if value == PASSWORD:
            raise AnsibleError("template error while templating string: unexpected char '!'. String: %s" % value)
        return real_template(value, **kwargs)

    monkeypatch.setattr(plugin._templar, "template", template)
    result = plugin.run(task_vars=host_vars)
    assert result == {"failed": True, "changed": False, "msg": "cannot template the inventory variable ansible_password: "
                      "template error while templating string: unexpected char '!'. String: ********"}


def test_ask_pass_password_from_play_context():
    host_vars = dict(WINRM_HOST)
    del host_vars["ansible_password"]
    feature = Recorder()
    run(feature, {}, host_vars, play_context=types.SimpleNamespace(password="from-ask-pass"))
    assert feature.calls[0]["settings"].password == "from-ask-pass"
    feature = Recorder()
    run(feature, {}, dict(WINRM_HOST), play_context=types.SimpleNamespace(password="from-ask-pass"))
    assert feature.calls[0]["settings"].password == PASSWORD  # the inventory variable wins, as in Ansible


def test_remote_user_from_play_context():
    host_vars = dict(WINRM_HOST)
    del host_vars["ansible_user"]
    feature = Recorder()
    run(feature, {}, host_vars, play_context=types.SimpleNamespace(remote_user="LAB\\from-u", password=None))
    assert feature.calls[0]["settings"].user == "LAB\\from-u"
    feature = Recorder()
    run(feature, {}, dict(WINRM_HOST), play_context=types.SimpleNamespace(remote_user="LAB\\from-u", password=None))
    assert feature.calls[0]["settings"].user == "lab\\admin"  # the inventory variable wins, as in Ansible


def test_inventory_transport_list_takes_first_supported():
    feature = Recorder()
    run(feature, {}, dict(WINRM_HOST, ansible_winrm_transport=["plaintext", "ntlm"]))
    assert feature.calls[0]["settings"].transport == "ntlm"


def test_validation_errors_reported_like_a_module():
    feature = Recorder()
    result = run(feature, {"port": "x", "bogus": 1}, dict(WINRM_HOST))
    assert result["failed"] is True and result["changed"] is False
    assert "Unsupported parameters for (mailops.port25.conflict_info) module: bogus" in result["msg"]
    assert "port" in result["msg"] and "int" in result["msg"]
    assert feature.calls == []


def test_invalid_choice_reported():
    result = run(Recorder(), {"winrm_transport": "negotiate"}, dict(WINRM_HOST))
    assert result["failed"] and "winrm_transport" in result["msg"] and "negotiate" in result["msg"]


def test_basic_over_http_refused():
    result = run(Recorder(), {}, dict(WINRM_HOST, ansible_winrm_transport="basic"))
    assert result["failed"] and "Basic authentication over plain HTTP" in result["msg"]
    assert PASSWORD not in json.dumps(result)


def test_check_mode_and_diff_are_passed():
    feature = Recorder({"changed": True, "diff": {"before": "a", "after": "b"}})
    result = run(feature, {}, dict(WINRM_HOST), check_mode=True, diff=True)
    assert (feature.calls[0]["check_mode"], feature.calls[0]["diff"]) == (True, True)
    assert result == {"changed": True, "diff": {"before": "a", "after": "b"}}
    feature = Recorder({"changed": True, "diff": {"before": "a", "after": "b"}})
    result = run(feature, {}, dict(WINRM_HOST))
    assert (feature.calls[0]["check_mode"], feature.calls[0]["diff"]) == (False, False)
    assert "diff" not in result


def test_no_log_values_masked_in_result():
    feature = Recorder({"echo": "the password is %s" % PASSWORD, "nested": [{"pw": PASSWORD}]})
    result = run(feature, {}, dict(WINRM_HOST))
    assert PASSWORD not in json.dumps(result)
    assert result["echo"] == "the password is ********"


def test_auth_failure_names_user_and_host_not_password():
    error = AuthenticationFailure("user 'lab\\admin' was rejected by 127.0.0.9:5985 (HTTP 401)", host="127.0.0.9", operation="enumerate")
    result = run(Recorder(error=error), {}, dict(WINRM_HOST))
    assert result["failed"] and result["msg"].startswith("127.0.0.9: enumerate: user 'lab\\admin' was rejected")
    assert PASSWORD not in json.dumps(result)


def test_missing_pywinrm(monkeypatch):
    monkeypatch.setattr(connection, "HAS_WINRM", False)
    result = run(Recorder(), {}, dict(WINRM_HOST))
    assert result["failed"] and "pywinrm" in result["msg"]


def test_action_never_executes_a_module():
    plugin = make_action(Recorder(), {}, task_vars=dict(WINRM_HOST))
    plugin._execute_module = None  # would raise TypeError if called
    assert plugin.run(task_vars=dict(WINRM_HOST))["ok"] is True
    assert action.FeatureAction._requires_connection is False
