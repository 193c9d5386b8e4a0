# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WQL quoting: hostile names can never change the shape of a query."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import wql
from ansible_collections.mailops.port25.plugins.module_utils.errors import InvalidOption

HOSTILE = [
    "SMTPSVC",
    "O'Brien",
    "a' OR Name LIKE '%",
    "x' OR 1=1 --",
    '" OR ""="',
    "back\\slash",
    "trailing\\",
    "\\'",
    "\\\\'\\\\",
    "%_[]^",
    "ünïcødé サービス 服务",
    "emoji \U0001F4E7",
    "') OR ('1'='1",
    "a" * 10240,
    "'" * 5000,
    "\\" * 5000,
]


@pytest.fixture(scope="module")
def lab_wql():
    # The lab's WQL reader (tests/lab/winlab/wql.py) is an implementation of the grammar independent of ours.
    return pytest.importorskip("winlab.wql")


@pytest.mark.parametrize("value", HOSTILE)
def test_quote_round_trips_and_stays_one_literal(lab_wql, value):
    query = "SELECT Name FROM Win32_Service WHERE Name = %s AND State = 'Running'" % wql.quote(value)
    tokens = [(t.kind, t.value) for t in lab_wql.tokenize(query)]
    assert tokens == [("kw", "SELECT"), ("name", "Name"), ("kw", "FROM"), ("name", "Win32_Service"), ("kw", "WHERE"),
                      ("name", "Name"), ("op", "="), ("str", value), ("kw", "AND"), ("name", "State"), ("op", "="),
                      ("str", "Running"), ("end", None)]


@pytest.mark.parametrize("value", HOSTILE)
def test_lab_parser_reads_back_the_same_value(lab_wql, value):
    query = lab_wql.parse("SELECT Name FROM Win32_Service WHERE Name = %s" % wql.quote(value))
    assert query.where == ("cmp", "Name", "=", value)


def test_quote_exact_output():
    assert wql.quote("SMTPSVC") == "'SMTPSVC'"
    assert wql.quote("O'Brien") == "'O\\'Brien'"
    assert wql.quote('say "hi"') == "'say \\\"hi\\\"'"
    assert wql.quote("C:\\Windows") == "'C:\\\\Windows'"
    assert wql.quote(1234) == "'1234'"


@pytest.mark.parametrize("value", ["line\nbreak", "nul\x00byte", "tab\there", "cr\r", "\x1b[31m", "del\x7f"])
def test_control_characters_refused(value):
    with pytest.raises(InvalidOption, match="control character"):
        wql.quote(value, "service name")


def test_control_character_message():
    with pytest.raises(InvalidOption) as caught:
        wql.quote("SMTPSVC\nOR 1=1", "smtp_service")
    assert str(caught.value) == "smtp_service contains a control character (U+000A) at position 7; control characters are not allowed"


@pytest.mark.parametrize("value,code", [("lone \ud800 surrogate", "U+D800"), ("non-character \uffff", "U+FFFF")])
def test_invalid_characters_refused(value, code):
    with pytest.raises(InvalidOption) as caught:
        wql.quote(value, "name")
    assert "name contains an invalid character (%s) at position " % code in str(caught.value)


@pytest.mark.parametrize("value", [None, ["a"], {"a": 1}, True, 1.5])
def test_non_text_refused(value):
    with pytest.raises(InvalidOption, match="must be a string"):
        wql.quote(value)


def test_bytes_must_be_utf8():
    assert wql.quote("Dienst".encode("utf-8")) == "'Dienst'"
    with pytest.raises(InvalidOption, match="UTF-8"):
        wql.quote(b"\xff\xfe")


def test_where_in():
    assert wql.where_in("Name", ["SMTPSVC", "MSExchangeIMC"]) == "(Name = 'SMTPSVC' OR Name = 'MSExchangeIMC')"
    assert wql.where_in("ProcessId", [4, 1234]) == "(ProcessId = '4' OR ProcessId = '1234')"
    assert wql.where_in("Name", ["a' OR '1'='1"]) == "(Name = 'a\\' OR \\'1\\'=\\'1')"
    with pytest.raises(InvalidOption, match="at least one"):
        wql.where_in("Name", [])
    with pytest.raises(InvalidOption, match="not a valid WMI identifier"):
        wql.where_in("Name = 'x' OR Name", ["a"])


@pytest.mark.parametrize("glob,expected", [
    ("MSExchange*", "'MSExchange%'"),
    ("SMTP?VC", "'SMTP_VC'"),
    ("100%_done", "'100[%][_]done'"),
    ("[abc]", "'[[]abc]'"),
    ("*'*", "'%\\'%'"),
    ("a\\b*", "'a\\\\b%'"),
    ("", "''"),
])
def test_like_pattern(glob, expected):
    assert wql.like_pattern(glob) == expected


def test_like_escape_only_escapes():
    assert wql.like_escape("50%_x[y]") == "50[%][_]x[[]y]"
    with pytest.raises(InvalidOption):
        wql.like_pattern("a\nb")


def test_like_pattern_matches_literally_in_lab_evaluator(lab_wql):
    for glob, name, expected in (("100%*", "100%done", True), ("100%*", "1000", False), ("a_b", "a_b", True),
                                 ("a_b", "axb", False), ("[x]*", "[x]yz", True), ("[x]*", "xyz", False),
                                 ("MSExchange*", "MSExchangeIMC", True), ("SMTP?VC", "SMTPSVC", True),
                                 ("it's*", "it's mine", True), ("a\\b", "a\\b", True)):
        where = lab_wql.parse("SELECT Name FROM X WHERE Name LIKE %s" % wql.like_pattern(glob)).where
        assert where[0] == "like"
        assert bool(where[2].match(name)) is expected, (glob, name)


def test_is_glob():
    assert wql.is_glob("MSExchange*") and wql.is_glob("a?c")
    assert not wql.is_glob("SMTPSVC") and not wql.is_glob(None)


def test_dmtf():
    assert wql.dmtf(datetime.datetime(2026, 11, 28, 16, 7, 41)) == "20261128160741.000000+000"
    aware = datetime.datetime(2026, 11, 28, 17, 7, 41, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert wql.dmtf(aware) == "20261128160741.123456+000"
    with pytest.raises(InvalidOption):
        wql.dmtf("2026-11-28")


def test_select_builder():
    assert wql.select("Win32_Service") == "SELECT * FROM Win32_Service"
    assert wql.select("Win32_Service", ["Name", "State"], wql.where_in("Name", ["SMTPSVC"])) == \
        "SELECT Name,State FROM Win32_Service WHERE (Name = 'SMTPSVC')"
    for bad in ("Win32_Service;", "Win32 Service", "", "Win32_Service WHERE 1=1"):
        with pytest.raises(InvalidOption):
            wql.select(bad)
    with pytest.raises(InvalidOption):
        wql.select("Win32_Service", ["Name", "State FROM X"])
