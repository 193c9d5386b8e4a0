# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cim.parse_xml against hostile bodies: DTDs in every encoding XML knows are refused before any parsing."""

from __future__ import annotations

import codecs

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim
from ansible_collections.mailops.port25.plugins.module_utils.errors import ProtocolError

from ansible_collections.mailops.port25.tests.captures import read_capture
from ansible_collections.mailops.port25.tests.unit.conftest import FakeProtocol
from ansible_collections.mailops.port25.plugins.module_utils import wsman

# Billion laughs: expanded, &l4; would be 10^4 copies; a parser that expands it proves the hole.
ENTITY_DOC = ('<?xml version="1.0" encoding="%s"?>'
              '<!DOCTYPE s:Envelope [<!ENTITY l0 "lol"><!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;&l0;">'
              '<!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;&l1;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">'
              '<!ENTITY l4 "&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;&l3;">]>'
              '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>&l4;</s:Body></s:Envelope>')

ENCODED = [
    ("utf-16 LE with BOM", codecs.BOM_UTF16_LE + (ENTITY_DOC % "UTF-16").encode("utf-16-le"), "UTF-16"),
    ("utf-16 BE with BOM", codecs.BOM_UTF16_BE + (ENTITY_DOC % "UTF-16").encode("utf-16-be"), "UTF-16"),
    ("utf-16 LE without BOM", (ENTITY_DOC % "UTF-16").encode("utf-16-le"), "UTF-16-LE"),
    ("utf-16 BE without BOM", (ENTITY_DOC % "UTF-16").encode("utf-16-be"), "UTF-16-BE"),
    ("utf-32 LE with BOM", codecs.BOM_UTF32_LE + (ENTITY_DOC % "UTF-32").encode("utf-32-le"), "UTF-32"),
    ("utf-32 BE with BOM", codecs.BOM_UTF32_BE + (ENTITY_DOC % "UTF-32").encode("utf-32-be"), "UTF-32"),
    ("utf-32 LE without BOM", (ENTITY_DOC % "UTF-32").encode("utf-32-le"), "UTF-32-LE"),
    ("utf-32 BE without BOM", (ENTITY_DOC % "UTF-32").encode("utf-32-be"), "UTF-32-BE"),
    ("utf-8 with BOM", codecs.BOM_UTF8 + (ENTITY_DOC % "UTF-8").encode("utf-8"), "UTF-8"),
]


@pytest.mark.parametrize("label,data,codec", ENCODED, ids=[e[0] for e in ENCODED])
def test_dtd_refused_in_every_encoding(label, data, codec):
    assert b"<!DOCTYPE" not in data or label.startswith("utf-8")
    with pytest.raises(ProtocolError) as caught:
        cim.parse_xml(data)
    assert str(caught.value) == ("the response contains a DTD (in %s), which WS-Management never sends; refusing to parse it"
                                 % codec), label


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_dtd_refused_in_utf16_without_declaration(codec):
    # expat reads a document that starts with '<' and a zero byte as UTF-16 even without BOM or declaration
    data = ENTITY_DOC.split("?>", 1)[1].encode(codec)
    with pytest.raises(ProtocolError, match=r"^the response contains a DTD \(in %s\)" % codec.upper()):
        cim.parse_xml(data)


def test_dtd_refused_in_utf8_and_text():
    for data in ((ENTITY_DOC % "UTF-8").encode("utf-8"), ENTITY_DOC % "UTF-8"):
        with pytest.raises(ProtocolError, match=r"^the response contains a DTD, which WS-Management never sends"):
            cim.parse_xml(data)


@pytest.mark.parametrize("encoding", ["cp500", "UTF-7", "ISO-8859-1", "Shift_JIS"])
def test_other_declared_encodings_refused(encoding):
    # cp500 (EBCDIC) would spell <!DOCTYPE in bytes no 8-bit check can see; DSP0226 allows UTF-8 and UTF-16 only.
    data = ('<?xml version="1.0" encoding="%s"?>' % encoding).encode("ascii") + "<x/>".encode("cp500")
    with pytest.raises(ProtocolError) as caught:
        cim.parse_xml(data)
    assert str(caught.value) == ("the response declares the encoding '%s'; WS-Management responses are UTF-8 or UTF-16, "
                                 "refusing to parse it" % encoding)


def test_utf32_without_dtd_refused():
    with pytest.raises(ProtocolError, match="^the response is in UTF-32; WS-Management responses are UTF-8 or UTF-16"):
        cim.parse_xml('<?xml version="1.0" encoding="UTF-32"?><x/>'.encode("utf-32"))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_real_capture_reencoded_still_parses(codec):
    """A genuine Windows answer in UTF-16 (allowed by DSP0226) parses to the same items as in UTF-8."""
    original = read_capture("txwinrm_server_2012_Win32_Service_star_001.xml")
    text = original.decode("utf-8")
    if text.startswith("<?xml"):
        text = text.replace('encoding="utf-8"', 'encoding="UTF-16"').replace("encoding='utf-8'", "encoding='UTF-16'")
    if codec == "utf-8-sig":
        text = text.replace('encoding="UTF-16"', 'encoding="utf-8"')
    page = cim.parse_enumeration(text.encode(codec))
    assert [item["Name"] for item in page.items] == [item["Name"] for item in cim.parse_enumeration(original).items]
    assert len(page.items) == 50


def test_utf16_dtd_from_host_names_host_and_operation(settings):
    client = wsman.WSManClient(settings(), protocol=FakeProtocol([ENCODED[0][1]]))
    with pytest.raises(ProtocolError) as caught:
        client.enumerate("root/cimv2", "SELECT Name FROM Win32_Process")
    assert str(caught.value) == ("mail01.example.test: enumerate Win32_Process (root/cimv2): the response contains a DTD "
                                 "(in UTF-16), which WS-Management never sends; refusing to parse it")
