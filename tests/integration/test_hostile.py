# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Windows and hostile hosts send, against the lab: an idle connection closed by the host, control and bidi
characters in host data, the MAILOPS_WINRM_HOST fallback for several hosts."""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, wsman
from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, SCENARIO_DIR, adhoc, collection_playbook, fleet, renamed, scenario_hosts, write_inventory)

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


def test_basic_over_https_after_idle_close_needs_nothing_more(start_fleet, scenario_variant):
    # Basic authenticates every request: the new connection is used as it is, no request is refused or repeated.
    lab = start_fleet(scenario_variant(KB_HOST, scheme="https", auth="basic"), extra_args=["--idle-timeout", "3"])
    with lab_client(lab, KB_HOST) as client:
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["Name"] == "SMTPSVC"
        time.sleep(4)
        assert client.get("root/cimv2", "Win32_Service", {"Name": "SMTPSVC"})["Name"] == "SMTPSVC"
    log = lab.requests(KB_HOST)
    assert [(r["auth"], r["status"], r["action"].rpartition("/")[2]) for r in log] == [("basic", 200, "Get")] * 2
    assert log[0]["conn"] != log[1]["conn"]


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
    local = {"ansible_connection": "local"}
    inventory = write_inventory(tmp_path / "local.yml", {"mail-a": dict(local), "mail-b": dict(local)})
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


# ------------------------------------------------------------------------------------------- hostile characters

UNKNOWN_OWNER = "ex55-unknown-owner"
# The unknown program on port 25, renamed: a control character (XML cannot carry it), a bidi override and a C1 CSI.
HOSTILE_NAMES = {"ctl-owner": "mail\x01relay.exe", "bidi-owner": "gnp\u202e.exe", "csi-owner": "mail\x9b2Jrelay.exe"}
SHOWN = {"ctl-owner": "mail\ufffdrelay.exe", "bidi-owner": "gnp\\u202e.exe", "csi-owner": "mail\\u009b2Jrelay.exe"}
UNSAFE = ("\x01", "\u202e", "\x9b")


def hostile_host(name):
    host = renamed(scenario_hosts(UNKNOWN_OWNER)[0], name)
    for process in host["processes"]:
        if process["name"] == "mailrelay.exe":
            process["name"] = HOSTILE_NAMES[name]
    return host


@pytest.fixture(name="hostile_lab", scope="module")
def _hostile_lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-chars")
    with fleet(base, [hostile_host(name) for name in HOSTILE_NAMES]) as lab:
        yield lab, base


def test_conflict_info_survives_and_neutralises_host_characters(hostile_lab, ansible_env, tmp_path):
    lab, _base = hostile_lab
    run = adhoc(ansible_env, tmp_path, lab.inventory_path, "mailops.port25.conflict_info", None, pattern="windows")
    assert run.rc == 0, run.stdout + run.stderr
    for name, shown in SHOWN.items():
        result = run.results[name]
        assert result["owner"]["kind"] == "other" and result["owner"]["process"] == shown, (name, result["owner"])
        assert [f["code"] for f in result["findings"] if f["severity"] == "error"][0] == "PORT_HELD_BY_OTHER"
    # The control character is flagged where it was found (the result names class and property, and warns).
    assert run.results["ctl-owner"]["replaced_characters"] == [{"class": "Win32_Process", "property": "Name", "values": 1}]
    assert "[WARNING]: Win32_Process.Name: 1 value(s) held characters XML cannot carry" in run.stderr, run.stderr
    assert "replaced_characters" not in run.results["bidi-owner"]
    # Nothing unsafe reaches the terminal, whatever the callback prints.
    assert not any(char in run.stdout + run.stderr for char in UNSAFE)


def test_report_html_and_junit_show_them_neutralised(hostile_lab, tmp_path):
    lab, _base = hostile_lab
    run = collection_playbook("compliance", lab.inventory_path, tmp_path, "report")
    assert run.recap and all(run.recap[name]["failed"] == 0 for name in HOSTILE_NAMES), run.output
    hosts = run.hosts()
    assert dict((name, hosts[name]["before"]["owner"]["process"]) for name in HOSTILE_NAMES) == SHOWN
    documents = {}
    for file_name in ("port25-report.html", "port25-report.xml", "port25-report.json"):
        with open(os.path.join(run.report_dir, file_name), encoding="utf-8") as handle:
            documents[file_name] = handle.read()
    for file_name, text in documents.items():
        assert not any(char in text for char in UNSAFE), file_name
    # The JUnit file names the owner in the failing test case's message; the HTML's data holds the owner text.
    assert "gnp\\u202e.exe" in documents["port25-report.xml"] and "mail\ufffdrelay.exe" in documents["port25-report.xml"]
    assert "gnp\\\\u202e.exe" in documents["port25-report.html"]
    assert not any(char in run.output for char in UNSAFE)
    json.loads(documents["port25-report.json"])
