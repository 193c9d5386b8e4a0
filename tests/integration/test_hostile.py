# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Windows and hostile hosts send, against the lab: an idle connection closed by the host."""

from __future__ import annotations

import time

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, wsman
from ansible_collections.mailops.port25.tests.integration.helpers import KB_HOST, SCENARIO_DIR, adhoc, write_inventory

ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
CHANGE_START_MODE = "http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service/ChangeStartMode"


def lab_client(lab, name):
    options = connection.options_from_inventory(dict(lab.hosts[name], inventory_hostname=name))
    return wsman.WSManClient(connection.settings_from_params(options))


def legs(log):
    return [(r["conn"], r["auth"], r["status"], r["action"].rpartition("/")[2]) for r in log]


@pytest.fixture(name="idle_lab")
def _idle_lab(start_fleet):
    # HTTP.sys closes a keep-alive connection idle for IdleConnectionTimeout (120 s by default); 3 s here.
    return start_fleet("%s/%s.yml" % (SCENARIO_DIR, KB_HOST), extra_args=["--idle-timeout", "3"])


def test_read_after_idle_close_authenticates_once_more(idle_lab):
    query = "SELECT Name FROM Win32_Service WHERE Name = 'SMTPSVC'"
    with lab_client(idle_lab, KB_HOST) as client:
        assert [s["Name"] for s in client.enumerate("root/cimv2", query)] == ["SMTPSVC"]
        before = len(idle_lab.requests(KB_HOST))
        time.sleep(4)
        assert [s["Name"] for s in client.enumerate("root/cimv2", query)] == ["SMTPSVC"]
    log = idle_lab.requests(KB_HOST)
    first = log[0]["conn"]
    assert legs(log[:before]) == [(first, "ntlm-negotiate", 401, ""), (first, "ntlm-authenticate", 200, ""),
                                  (first, "none", 200, "Enumerate")]
    # The sealed request on the new connection is refused unread (401); one new NTLM handshake, the request once more.
    after = legs(log[before:])
    refused, fresh = after[0][0], after[1][0]
    assert after == [(refused, "none", 401, ""), (fresh, "ntlm-negotiate", 401, ""), (fresh, "ntlm-authenticate", 200, ""),
                     (fresh, "none", 200, "Enumerate")]
    assert first < refused < fresh
    assert [r["action"] for r in log].count(ENUMERATE) == 2


def test_method_call_after_idle_close_is_processed_exactly_once(idle_lab):
    with lab_client(idle_lab, KB_HOST) as client:
        assert client.get("root/cimv2", "Win32_Service", {"Name": "IISADMIN"})["StartMode"] == "Auto"
        time.sleep(4)
        assert client.invoke("root/cimv2", "Win32_Service", "ChangeStartMode", {"Name": "IISADMIN"},
                             {"StartMode": "Manual"}) == {"ReturnValue": "0"}
        assert client.get("root/cimv2", "Win32_Service", {"Name": "IISADMIN"})["StartMode"] == "Manual"
    log = idle_lab.requests(KB_HOST)
    assert [r["action"] for r in log].count(CHANGE_START_MODE) == 1
    assert [r["auth"] for r in log].count("ntlm-authenticate") == 2


# ------------------------------------------------------------------------------------------- MAILOPS_WINRM_HOST

def test_env_host_refused_for_two_local_hosts(start_fleet, ansible_env, tmp_path):
    lab = start_fleet("%s/%s.yml" % (SCENARIO_DIR, KB_HOST))
    host = lab.hosts[KB_HOST]
    env = dict(ansible_env, MAILOPS_WINRM_HOST=host["ansible_host"], MAILOPS_WINRM_PORT=str(host["ansible_port"]),
               MAILOPS_WINRM_SCHEME=host["ansible_winrm_scheme"], MAILOPS_WINRM_USER=host["ansible_user"],
               MAILOPS_WINRM_PASSWORD=host["ansible_password"])
    inventory = write_inventory(tmp_path / "local.yml", {"mail-a": {"ansible_connection": "local"},
                                                          "mail-b": {"ansible_connection": "local"}})
    both = adhoc(env, tmp_path, inventory, "mailops.port25.conflict_info", None, pattern="windows")
    assert sorted(both.results) == ["mail-a", "mail-b"]
    assert both.rc != 0 and "mail-a | FAILED!" in both.stdout and "mail-b | FAILED!" in both.stdout
    for name, result in both.results.items():
        assert result["msg"].startswith(
            "MAILOPS_WINRM_HOST (%s) names one Windows server, but 2 hosts of this play have no WinRM inventory settings "
            "(mail-a, mail-b)" % host["ansible_host"]), (name, result)
    assert wsman_requests(lab) == []   # refused before any request reached the server

    one = adhoc(env, tmp_path, inventory, "mailops.port25.conflict_info", None, pattern="mail-a")
    assert sorted(one.results) == ["mail-a"]
    assert one.rc == 0 and "msg" not in one.results["mail-a"], one.results["mail-a"]
    assert one.results["mail-a"]["compliant"] is False and one.results["mail-a"]["owner"]["services"] == ["IISADMIN", "SMTPSVC"]
    assert wsman_requests(lab) != []


def wsman_requests(lab):
    return [r for r in lab.requests(KB_HOST) if r["action"]]
