# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""C1 controls and bidi overrides from a host never reach a person raw: task results, failures, action messages."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.errors import WSManFault

from ansible_collections.mailops.port25.tests.unit.test_action import Recorder, run as run_action
from ansible_collections.mailops.port25.tests.unit.test_report_write import run as run_report_write
from ansible_collections.mailops.port25.tests.unit.test_runner import PARAMS, FakeClient, make_feature


@pytest.fixture(autouse=True)
def _instances():
    FakeClient.instances = []


def test_result_fields_are_neutralised():
    def run(client, params, check_mode=False, diff=False):
        return {"owner": {"process": "gnp\u202e.exe", "services": ["svc\u2066x\u2069"]},
                "events": [{"message": "bind\x9b2J failed\u200f", "code": 10048}],
                "findings": [{"code": "PORT_HELD_BY_OTHER", "message": "port 25 is held by gnp\u202e.exe (pid 856)\tnext\nline"}]}

    result = runner.execute(make_feature(run), PARAMS, client_factory=FakeClient)
    assert result == {
        "changed": False,
        "owner": {"process": "gnp\\u202e.exe", "services": ["svc\\u2066x\\u2069"]},
        "events": [{"message": "bind\\u009b2J failed\\u200f", "code": 10048}],
        "findings": [{"code": "PORT_HELD_BY_OTHER", "message": "port 25 is held by gnp\\u202e.exe (pid 856)\tnext\nline"}],
    }


def test_failure_built_from_host_data_is_neutralised():
    def run(client, params, check_mode=False, diff=False):
        raise WSManFault("Access is denied.", host="mail01", operation="get Win32_Service", fault_code="w:AccessDenied",
                         wsman_code=5, provider_message="denied for \u202eexe.gnp\x85")

    result = runner.execute(make_feature(run), PARAMS, client_factory=FakeClient)
    assert result["msg"] == ("mail01: get Win32_Service: WSManFault 5 (w:AccessDenied): access denied: the account may not "
                             "use this WMI class, namespace or method [denied for \\u202eexe.gnp\\u0085]")
    assert result["error"]["provider_message"] == "denied for \\u202eexe.gnp\\u0085"


def test_unexpected_error_is_neutralised():
    def run(client, params, check_mode=False, diff=False):
        raise KeyError("gnp\u202e.exe")

    result = runner.execute(make_feature(run), PARAMS, client_factory=FakeClient)
    assert result["msg"] == "unexpected error: KeyError: 'gnp\\u202e.exe'"
    assert "\u202e" not in result["exception"]


def test_action_own_failure_message_is_neutralised():
    # a task argument built from host data (a registered process name) is quoted back in the validation message
    result = run_action(Recorder(), {"winrm_host": "win01", "winrm_user": "u", "winrm_password": "p",
                                     "port": "2\u202e5"}, {})
    assert result["failed"] and "2\\u202e5" in result["msg"] and "\u202e" not in result["msg"]


def test_report_write_failure_message_is_neutralised():
    result = run_report_write({"stage": "prepare", "dest": "/proc/gnp\u202e"})
    assert result["failed"] is True and result["msg"].startswith("cannot write the report into /proc/gnp\\u202e: ")
