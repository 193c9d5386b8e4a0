# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's WQL subset: truth tables of the operators and hostile input, which must only ever raise WQLError."""
from __future__ import annotations

import datetime

import pytest

from winlab import wql

SCHEMA = wql.Schema('Win32_Service', {'Name': 'string', 'State': 'string', 'ProcessId': 'uint32',
                                      'Started': 'boolean', 'PathName': 'string', 'TimeGenerated': 'datetime'})
UTC = datetime.timezone.utc
ROWS = [
    {'Name': 'SMTPSVC', 'State': 'Running', 'ProcessId': 1520, 'Started': True, 'PathName': 'C:\\x\\inetinfo.exe',
     'TimeGenerated': datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)},
    {'Name': 'MSExchangeIMC', 'State': 'Stopped', 'ProcessId': 0, 'Started': False, 'PathName': None,
     'TimeGenerated': datetime.datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)},
    {'Name': "O'Brien_svc", 'State': 'Start Pending', 'ProcessId': 77, 'Started': True, 'PathName': 'a"b',
     'TimeGenerated': None},
]


def _select(where):
    query = wql.parse('SELECT * FROM Win32_Service WHERE ' + where)
    predicate = wql.compile_where(query, SCHEMA)
    return [r['Name'] for r in ROWS if predicate(r)]


@pytest.mark.parametrize('where, names', [
    ("Name = 'SMTPSVC'", ['SMTPSVC']),
    ("name = 'smtpsvc'", ['SMTPSVC']),                                  # names and strings are case-insensitive
    ("Name <> 'SMTPSVC'", ['MSExchangeIMC', "O'Brien_svc"]),
    ("Name != 'SMTPSVC'", ['MSExchangeIMC', "O'Brien_svc"]),
    ('ProcessId > 0', ['SMTPSVC', "O'Brien_svc"]),
    ('ProcessId >= 77', ['SMTPSVC', "O'Brien_svc"]),
    ('ProcessId < 77', ['MSExchangeIMC']),
    ('ProcessId <= 77', ['MSExchangeIMC', "O'Brien_svc"]),
    ('77 < ProcessId', ['SMTPSVC']),                                    # constant on the left
    ("ProcessId = '1520'", ['SMTPSVC']),                                # WMI converts the string for a number
    ('Started = TRUE', ['SMTPSVC', "O'Brien_svc"]),
    ('Started = false', ['MSExchangeIMC']),
    ("Name LIKE 'MSExch%'", ['MSExchangeIMC']),
    ("Name LIKE '%svc'", ['SMTPSVC', "O'Brien_svc"]),
    ("Name LIKE 'SMTPSV_'", ['SMTPSVC']),
    ("Name LIKE '[MS]%'", ['SMTPSVC', 'MSExchangeIMC']),
    ("Name LIKE '[^M]%'", ['SMTPSVC', "O'Brien_svc"]),
    ("Name NOT LIKE 'MSExch%'", ['SMTPSVC', "O'Brien_svc"]),
    ("Name LIKE '%s%c'", ['SMTPSVC', 'MSExchangeIMC', "O'Brien_svc"]),    # inner segments, leftmost first
    ("Name LIKE 'M%[a-h]_%C'", ['MSExchangeIMC']),
    ("Name LIKE '%V%V%'", []),
    ("Name LIKE '%[%]%'", []),                                            # [%] is a literal percent sign
    ('PathName IS NULL', ['MSExchangeIMC']),
    ('PathName IS NOT NULL', ['SMTPSVC', "O'Brien_svc"]),
    ('PathName = NULL', ['MSExchangeIMC']),
    ("NOT State = 'Running'", ['MSExchangeIMC', "O'Brien_svc"]),
    ("State = 'Running' OR State = 'Stopped' AND ProcessId > 0", ['SMTPSVC']),      # AND binds tighter than OR
    ("(State = 'Running' OR State = 'Stopped') AND ProcessId = 0", ['MSExchangeIMC']),
    ("Name = 'O\\'Brien_svc'", ["O'Brien_svc"]),                      # backslash escapes
    ('Name = "O\'Brien_svc"', ["O'Brien_svc"]),                       # double quotes
    ("PathName = 'C:\\\\x\\\\inetinfo.exe'", ['SMTPSVC']),
    ("PathName = 'a\"b'", ["O'Brien_svc"]),
    ("TimeGenerated > '20261128110000.000000-000'", ['SMTPSVC']),
    ("TimeGenerated >= '20261128100000.000000+000'", ['SMTPSVC', 'MSExchangeIMC']),
    ("TimeGenerated < '20261128130000.000000+060'", ['MSExchangeIMC']),  # +060: one hour east of UTC
    ("Name = 'SMTPSVC' OR 1 = ProcessId OR Name = 'none'", ['SMTPSVC']),
])
def test_truth_table(where, names):
    assert _select(where) == names


def test_like_does_not_backtrack():
    # '%a%a...%b' as one regex backtracked exponentially (28 s on these 30 characters) under the host lock
    query = wql.parse("SELECT * FROM Win32_Service WHERE Name LIKE '%s'" % ('%a' * 20 + '%b'))
    predicate = wql.compile_where(query, SCHEMA)
    assert [predicate({'Name': 'a' * n}) for n in (0, 30, 3000)] == [False, False, False]
    assert predicate({'Name': 'a' * 3000 + 'b'}) is True


def test_select_lists_and_class_names():
    query = wql.parse('select name,  State from win32_service')
    assert (query.properties, query.class_name, query.where) == (['name', 'State'], 'win32_service', None)
    assert wql.parse('SELECT * FROM X').properties is None
    assert sorted(wql.parse("select * from x where a = 1 and (b = 2 or not c like 'x')").referenced()) == ['a', 'b', 'c']


@pytest.mark.parametrize('text', [
    '',
    '   ',
    'DELETE FROM Win32_Service',
    'SELECT FROM Win32_Service',
    'SELECT * Win32_Service',
    'SELECT * FROM',
    'SELECT * FROM Win32_Service WHERE',
    "SELECT * FROM Win32_Service WHERE Name = 'x",                       # unterminated string
    "SELECT * FROM Win32_Service WHERE Name = 'x'; DROP TABLE x",       # injection attempt
    "SELECT * FROM Win32_Service WHERE Name = 'x' OR '1'='1'",          # comparison of two constants
    'SELECT * FROM Win32_Service WHERE Name = State',                    # two properties
    "SELECT * FROM Win32_Service WHERE ((Name = 'x')",                   # unbalanced
    "SELECT * FROM Win32_Service WHERE (Name = 'x'))",
    "SELECT * FROM Win32_Service WHERE Name = 'x' --",
    "SELECT * FROM Win32_Service WHERE Name = 'a\\nb'",                  # unknown escape
    'SELECT * FROM Win32_Service WHERE Name LIKE 5',
    "SELECT * FROM Win32_Service WHERE Name LIKE '[abc'",
    'SELECT * FROM Win32_Service WHERE Name IS 5',
    'SELECT * FROM Win32_Service WHERE Name > NULL',
    'SELECT * FROM Win32_Service WHERE ProcessId = 1 + 2',
    'SELECT *, Name FROM Win32_Service',
    'SELECT Name, FROM Win32_Service',
    'SELECT * FROM Win32_Service WHERE Name = \x00',
    'SELECT * FROM Win32_Service WHERE ' + '(' * 5000 + "Name = 'x'" + ')' * 5000,
    'SELECT * FROM Win32_Service WHERE ' + 'NOT ' * 5000 + "Name = 'x'",
    "SELECT * FROM Win32_Service WHERE Name = '" + 'x' * 100000,
    'SELECT * FROM Win32_Service WHERE ProcessId = ' + '9' * 5000,     # beyond int()'s digit limit
])
def test_hostile_input_only_raises_wql_error(text):
    with pytest.raises(wql.WQLError):
        wql.parse(text)


@pytest.mark.parametrize('where', [
    "Nope = 'x'",                                                       # not a property of the class
    "TimeGenerated > 'yesterday'",                                      # not a DMTF datetime
    "TimeGenerated > '20261340000000.000000+000'",                      # month 13
    "ProcessId = 'many'",
    "Started = 'perhaps'",
])
def test_semantic_errors_are_wql_errors(where):
    query = wql.parse('SELECT * FROM Win32_Service WHERE ' + where)
    with pytest.raises(wql.WQLError):
        wql.compile_where(query, SCHEMA)


def test_a_100_kb_filter_is_parsed_and_evaluated():
    where = ' OR '.join("Name = 'svc%05d'" % i for i in range(6000)) + " OR Name = 'SMTPSVC'"
    assert len(where) > 100000
    assert _select(where) == ['SMTPSVC']


def test_unknown_property_in_select_list():
    with pytest.raises(wql.WQLError, match="'Colour' is not a property of Win32_Service"):
        SCHEMA.resolve('Colour')
    assert SCHEMA.resolve('processid') == 'ProcessId'


def test_dmtf_parsing():
    value = wql.parse_dmtf('20261128120000.500000-060')
    assert value == datetime.datetime(2026, 11, 28, 13, 0, 0, 500000, tzinfo=UTC)
