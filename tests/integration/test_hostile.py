# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Windows and hostile hosts send, against the lab: an idle connection closed by the host."""

from __future__ import annotations

import time

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import connection, wsman
from ansible_collections.mailops.port25.tests.integration.helpers import KB_HOST, SCENARIO_DIR

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
