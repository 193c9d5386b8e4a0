# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Characters XML cannot carry in one value: replaced by U+FFFD and flagged, the rest of the answer is used."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim, runner, wsman

from ansible_collections.mailops.port25.tests.captures import read_capture
from ansible_collections.mailops.port25.tests.unit.conftest import FakeProtocol

# A real Server 2012 answer (the 2nd page of Win32_Service *); one service's DisplayName is made hostile.
PAGE = read_capture("txwinrm_server_2012_Win32_Service_star_001.xml")
GOOD = b"<p:DisplayName>Application Identity</p:DisplayName>"


def hostile(display_name):
    assert GOOD in PAGE
    return PAGE.replace(GOOD, b"<p:DisplayName>" + display_name + b"</p:DisplayName>")


def display_names(page):
    return [item.get("DisplayName") for item in page.items]


@pytest.mark.parametrize("spelled,shown", [
    (b"App&#x1;Experience", "App\ufffdExperience"),
    (b"App&#1;Experience&#X1F;", None),            # '&#X' is not a character reference at all: malformed
    (b"App&#1;Experience&#x0;", "App\ufffdExperience\ufffd"),
    (b"App\x01Exp\x1bience\x00", "App\ufffdExp\ufffdience\ufffd"),
    (b"App\xef\xbf\xbeExperience", "App\ufffdExperience"),    # U+FFFE, raw
    (b"App&#xD800;&#65535;", "App\ufffd\ufffd"),              # a surrogate and U+FFFF, as references
])
def test_illegal_characters_replaced_and_flagged(spelled, shown):
    if shown is None:
        with pytest.raises(cim.ProtocolError, match="not well-formed"):
            cim.parse_enumeration(hostile(spelled))
        return
    page = cim.parse_enumeration(hostile(spelled))
    flagged = [item for item in page.items if cim.REPLACED_KEY in item]
    assert [(item["Name"], item[cim.REPLACED_KEY], item["DisplayName"]) for item in flagged] == [("AppIDSvc", ["DisplayName"], shown)]
    assert len(page.items) == 50


@pytest.mark.parametrize("codec", ["utf-8", "utf-16"])
def test_legal_references_and_controls_are_kept(codec):
    data = hostile(b"A&#x9;B&#xD;C&#10;D&#xE9;\tE").decode("utf-8").encode(codec)
    assert cim._parse(data)[1] == 0   # nothing counted as replaced
    page = cim.parse_enumeration(data)
    item = [i for i in page.items if i["Name"] == "AppIDSvc"][0]
    assert item["DisplayName"] == "A\tB\rC\nD\u00e9\tE" and cim.REPLACED_KEY not in item


def test_a_genuine_replacement_character_is_not_flagged():
    page = cim.parse_enumeration(hostile("A\ufffdB".encode("utf-8")))
    assert not any(cim.REPLACED_KEY in item for item in page.items)


def test_utf16_answer_with_illegal_characters():
    text = hostile(b"App&#x1;Exp\x02").decode("utf-8")
    page = cim.parse_enumeration(text.encode("utf-16"))
    item = [i for i in page.items if i["Name"] == "AppIDSvc"][0]
    assert (item["DisplayName"], item[cim.REPLACED_KEY]) == ("App\ufffdExp\ufffd", ["DisplayName"])


def test_get_and_embedded_objects_are_flagged():
    data = read_capture("climbe_getresponse_win32_logicaldisk.xml")
    name = data.split(b"<p:VolumeName>", 1)[1].split(b"<", 1)[0] if b"<p:VolumeName>" in data else None
    assert name is not None
    item = cim.parse_get(data.replace(b"<p:VolumeName>" + name, b"<p:VolumeName>" + name + b"&#x7;"))
    assert item[cim.REPLACED_KEY] == ["VolumeName"] and item["VolumeName"].endswith("\ufffd")
    assert cim._replaced_in({"__class__": "\ufffd", "Path": {"Inner": ["ok", "x\ufffd"]}, "N": "ok"}) == ["Path.Inner"]


def test_client_counts_per_class_and_property_and_items_stay_clean(settings):
    answers = [hostile(b"App&#x1;Experience").replace(b"<p:Name>ALG</p:Name>", b"<p:Name>A\x01LG</p:Name>"),
               read_capture("txwinrm_server_2012_Win32_Service_star_003.xml")]
    client = wsman.WSManClient(settings(), protocol=FakeProtocol(answers))
    items = client.enumerate("root/cimv2", "SELECT * FROM Win32_Service")
    assert not any(cim.REPLACED_KEY in item for item in items)
    assert "A\ufffdLG" in [item["Name"] for item in items]
    assert client.replaced_characters() == [{"class": "Win32_Service", "property": "DisplayName", "values": 1},
                                            {"class": "Win32_Service", "property": "Name", "values": 1}]


def test_runner_adds_warning_and_result_field():
    class Client(object):
        def replaced_characters(self):
            return [{"class": "Win32_Process", "property": "Name", "values": 2}]

    result = runner.with_replaced_characters({"owner": "x", "warnings": ["earlier"]}, Client())
    assert result == {"owner": "x", "replaced_characters": [{"class": "Win32_Process", "property": "Name", "values": 2}],
                      "warnings": ["earlier", "Win32_Process.Name: 2 value(s) held characters XML cannot carry (control "
                                   "characters); they are shown as U+FFFD"]}
    assert runner.with_replaced_characters({"owner": "x"}, object()) == {"owner": "x"}
