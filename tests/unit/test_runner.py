# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runner: spec merging, execute() (client lifecycle, error mapping) and module_main() as a plain module."""

from __future__ import annotations

import json
import types

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, runner
from ansible_collections.mailops.port25.plugins.module_utils.errors import WSManFault

PASSWORD = "S3cret!pass"
PARAMS = {"winrm_host": "mail01", "winrm_port": 5985, "winrm_user": "ops", "winrm_password": PASSWORD}


class FakeClient(object):
    instances = []

    def __init__(self, settings):
        self.settings = settings
        self.closed = False
        FakeClient.instances.append(self)

    def close(self):
        self.closed = True


def make_feature(run, spec=None, **extra):
    feature = types.SimpleNamespace(ARGUMENT_SPEC=spec or {"name": {"type": "str", "required": True}}, SUPPORTS_CHECK_MODE=True, run=run)
    for key, value in extra.items():
        setattr(feature, key, value)
    return feature


@pytest.fixture(autouse=True)
def reset_instances():
    FakeClient.instances = []


def test_argument_spec_is_a_merged_copy():
    feature = make_feature(None, {"port": {"type": "int", "default": 25}})
    spec = runner.argument_spec(feature)
    assert set(spec) == set(connection.WINRM_ARGSPEC) | {"port"}
    spec["winrm_host"]["required"] = False
    spec["port"]["default"] = 1
    assert connection.WINRM_ARGSPEC["winrm_host"]["required"] is True
    assert feature.ARGUMENT_SPEC["port"]["default"] == 25


def test_validation_rules_merge_connection_rules():
    feature = make_feature(None, MUTUALLY_EXCLUSIVE=[["a", "b"]], REQUIRED_IF=[["state", "x", ["a"]]])
    rules = runner.validation_rules(feature)
    assert rules["mutually_exclusive"] == [["a", "b"]]
    assert rules["required_if"] == connection.WINRM_REQUIRED_IF + [["state", "x", ["a"]]]
    assert rules["required_together"] == connection.WINRM_REQUIRED_TOGETHER
    assert "required_by" not in rules and "required_one_of" not in rules


def test_execute_runs_feature_and_closes_client():
    seen = {}

    def run(client, params, check_mode=False, diff=False):
        seen.update(client=client, params=params, check_mode=check_mode, diff=diff)
        return {"answer": 42, "diff": {"before": {}, "after": {}}}

    result = runner.execute(make_feature(run), dict(PARAMS, name="x"), check_mode=True, diff=False, client_factory=FakeClient)
    assert result == {"answer": 42, "changed": False}  # diff dropped when not asked
    client = FakeClient.instances[0]
    assert client.closed and seen["client"] is client
    assert (client.settings.host, client.settings.port, client.settings.scheme) == ("mail01", 5985, "http")
    assert (seen["check_mode"], seen["diff"], seen["params"]["name"]) == (True, False, "x")


def test_execute_keeps_diff_when_asked():
    result = runner.execute(make_feature(lambda c, p, check_mode, diff: {"changed": True, "diff": {"before": 1, "after": 2}}),
                            PARAMS, diff=True, client_factory=FakeClient)
    assert result == {"changed": True, "diff": {"before": 1, "after": 2}}


def test_execute_maps_port25_errors_and_closes():
    def run(client, params, check_mode=False, diff=False):
        raise WSManFault("Access is denied.", host="mail01", operation="enumerate Win32_NTLogEvent", fault_code="w:AccessDenied", wsman_code=5)

    result = runner.execute(make_feature(run), PARAMS, client_factory=FakeClient)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("mail01: enumerate Win32_NTLogEvent: WSManFault 5 (w:AccessDenied): access denied")
    assert result["error"]["type"] == "WSManFault" and result["error"]["wsman_code"] == 5
    assert FakeClient.instances[0].closed


def test_execute_invalid_settings_never_opens_client():
    result = runner.execute(make_feature(None), dict(PARAMS, winrm_transport="basic"), client_factory=FakeClient)
    assert result["failed"] and "Basic authentication over plain HTTP" in result["msg"]
    assert PASSWORD not in json.dumps(result)
    assert FakeClient.instances == []


def test_execute_unexpected_error_is_a_failure_without_password():
    def run(client, params, check_mode=False, diff=False):
        raise KeyError("bug with %s" % params["winrm_password"])

    result = runner.execute(make_feature(run), PARAMS, client_factory=FakeClient)
    assert result["failed"] and result["msg"].startswith("unexpected error: KeyError")
    assert PASSWORD not in json.dumps(result)
    assert FakeClient.instances[0].closed


# ------------------------------------------------------------------------------------------- module_main as a plain module

def run_module(monkeypatch, feature, args, capsys):
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args):
        with pytest.raises(SystemExit):
            runner.module_main(feature)
    return json.loads(capsys.readouterr().out)


def test_module_main_success(monkeypatch, capsys):
    monkeypatch.setattr(runner, "WSManClient", FakeClient)
    feature = make_feature(lambda client, params, check_mode=False, diff=False: {"name": params["name"], "check": check_mode})
    result = run_module(monkeypatch, feature, dict(PARAMS, name="SMTPSVC", _ansible_check_mode=True), capsys)
    assert (result["name"], result["check"], result["changed"]) == ("SMTPSVC", True, False)
    assert "failed" not in result


def test_module_main_failure_masks_password(monkeypatch, capsys):
    monkeypatch.setattr(runner, "WSManClient", FakeClient)

    def run(client, params, check_mode=False, diff=False):
        raise WSManFault("denied %s" % PASSWORD, host="mail01", operation="op", wsman_code=5)

    result = run_module(monkeypatch, make_feature(run), dict(PARAMS, name="x"), capsys)
    assert result["failed"] is True
    assert PASSWORD not in json.dumps(result)


def test_module_main_validation_error(monkeypatch, capsys):
    result = run_module(monkeypatch, make_feature(None), dict(PARAMS), capsys)
    assert result["failed"] and result["msg"] == "missing required arguments: name"


def test_module_main_missing_pywinrm(monkeypatch, capsys):
    monkeypatch.setattr(connection, "HAS_WINRM", False)
    monkeypatch.setattr(connection, "WINRM_IMPORT_ERROR", "Traceback: No module named 'winrm'")
    result = run_module(monkeypatch, make_feature(None), dict(PARAMS, name="x"), capsys)
    assert result["failed"]
    assert result["msg"].startswith("Failed to import the required Python library (pywinrm)")


def test_failure_after_changes_reports_changed():
    from ansible_collections.mailops.port25.plugins.module_utils.errors import ServiceControlError

    made = {"action": "stop", "service": "SMTPSVC", "before": {"state": "running", "start_mode": "auto"},
            "after": {"state": "stopped", "start_mode": "auto"}}

    def run(client, params, check_mode=False, diff=False):
        raise ServiceControlError("ChangeStartMode returned 2 (access denied)", host="mail01", operation="ChangeStartMode", actions=[made])

    result = runner.execute(make_feature(run), dict(PARAMS, name="SMTPSVC"), client_factory=FakeClient)
    assert result["failed"] is True
    assert result["changed"] is True
    assert result["error"]["actions"] == [made]


def test_failure_before_any_change_reports_unchanged():
    def run(client, params, check_mode=False, diff=False):
        raise WSManFault("access denied", host="mail01", operation="Enumerate")

    result = runner.execute(make_feature(run), dict(PARAMS, name="SMTPSVC"), client_factory=FakeClient)
    assert result["failed"] is True
    assert result["changed"] is False
