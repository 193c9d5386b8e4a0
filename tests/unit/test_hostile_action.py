# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""MAILOPS_WINRM_HOST names one server: refused when several hosts of a play would take it."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.plugin_utils import action

from ansible_collections.mailops.port25.tests.unit.test_action import (  # pylint: disable=unused-import
    FakeClient, Recorder, WINRM_HOST, fake_client, run)


@pytest.fixture(autouse=True)
def env_credentials(fake_client, monkeypatch):  # pylint: disable=unused-argument  # test_action's fixture runs first
    monkeypatch.setenv("MAILOPS_WINRM_USER", "lab\\admin")
    monkeypatch.setenv("MAILOPS_WINRM_PASSWORD", "env-password")


def test_decision_function():
    assert action.shared_env_host(None, ["a", "b"]) is None
    assert action.shared_env_host("", ["a", "b"]) is None
    assert action.shared_env_host("win01", []) is None
    assert action.shared_env_host("win01", ["a"]) is None
    assert action.shared_env_host("win01", ["a", "b"]) == (
        "MAILOPS_WINRM_HOST (win01) names one Windows server, but 2 hosts of this play have no WinRM inventory settings "
        "(a, b): each would be reported with that server's diagnosis. Give each host ansible_connection=winrm (or psrp) "
        "and ansible_host, set winrm_host on the task, or run the play for one host")
    many = action.shared_env_host("win01", ["h%d" % i for i in range(7)])
    assert "7 hosts of this play" in many and "(h0, h1, h2, h3, h4, ...)" in many
    assert "(gnp\\u202e.exe, b)" in action.shared_env_host("win01", ["gnp\u202e.exe", "b"])


def local_play(names, **own):
    hostvars = dict((name, {"inventory_hostname": name, "ansible_connection": "local"}) for name in names)
    hostvars.update(own)
    first = names[0]
    return dict(hostvars[first], hostvars=hostvars, ansible_play_hosts_all=list(names), ansible_play_hosts=list(names))


def test_two_local_hosts_refused_before_any_request(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "win01.example.test")
    feature = Recorder()
    result = run(feature, {}, local_play(["mail-a", "mail-b"]))
    assert result["failed"] and result["msg"].startswith(
        "MAILOPS_WINRM_HOST (win01.example.test) names one Windows server, but 2 hosts of this play have no WinRM "
        "inventory settings (mail-a, mail-b)")
    assert feature.calls == [] and FakeClient.instances == []


def test_one_local_host_may_use_the_environment(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "win01.example.test")
    feature = Recorder()
    assert run(feature, {}, local_play(["localhost"])) == {"ok": True, "changed": False}
    assert feature.calls[0]["settings"].host == "win01.example.test"


def test_winrm_hosts_of_the_play_do_not_count(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "win01.example.test")
    play = local_play(["localhost", "ex55-smtp"], **{"ex55-smtp": dict(WINRM_HOST)})
    feature = Recorder()
    assert run(feature, {}, play) == {"ok": True, "changed": False}
    assert feature.calls[0]["settings"].host == "win01.example.test"
    # ... and the WinRM host itself uses its inventory, whatever the environment says
    feature = Recorder()
    assert run(feature, {}, dict(play, **WINRM_HOST))["changed"] is False
    assert feature.calls[0]["settings"].host == "127.0.0.9"


def test_winrm_host_on_the_task_wins(monkeypatch):
    monkeypatch.setenv("MAILOPS_WINRM_HOST", "win01.example.test")
    feature = Recorder()
    assert run(feature, {"winrm_host": "win02.example.test"}, local_play(["mail-a", "mail-b"]))["changed"] is False
    assert feature.calls[0]["settings"].host == "win02.example.test"


def test_without_the_variable_nothing_changes():
    feature = Recorder()
    result = run(feature, {}, local_play(["mail-a", "mail-b"]))
    assert result["failed"] and result["msg"] == "missing required arguments: winrm_host"
