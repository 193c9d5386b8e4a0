# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""text.printable: what a person is shown of host data."""

from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils.text import printable, printable_data


@pytest.mark.parametrize('raw, shown', [
    ('msexcimc.exe', 'msexcimc.exe'),
    ('Dienst f\u00fcr SMTP \u2013 \u65e5\u672c', 'Dienst f\u00fcr SMTP \u2013 \u65e5\u672c'),   # letters of any script stay
    ('line one\nline two\tcolumn', 'line one\nline two\tcolumn'),                              # tab and line feed stay
    ('gnp\u202e.exe', 'gnp\\u202e.exe'),                                                       # right-to-left override
    ('a\u2066b\u2069c\u200fd\u061ce', 'a\\u2066b\\u2069c\\u200fd\\u061ce'),                    # isolates and marks
    ('ok\rFAKED', 'ok\\u000dFAKED'),                                                          # carriage return
    ('\x1b[2J\x1b]0;title\x07', '\\u001b[2J\\u001b]0;title\\u0007'),                          # ESC sequences, BEL
    ('c1\x9b31m\x85', 'c1\\u009b31m\\u0085'),                                                 # C1 CSI, NEL
    ('nul\x00del\x7f', 'nul\\u0000del\\u007f'),
    ('', ''),
])
def test_printable_escapes_controls_and_bidi_and_keeps_the_rest(raw, shown):
    assert printable(raw) == shown


@pytest.mark.parametrize('value', [None, 25, 2.5, True, b'\x1b'])
def test_printable_leaves_what_is_not_text_alone(value):
    assert printable(value) is value


def test_printable_data_walks_dicts_lists_and_tuples_keys_included():
    data = {'name\u202e': ['x\x1by', ('\x9b', 7)], 'pid': 4, 'nested': {'msg': 'a\rb'}}
    assert printable_data(data) == {'name\\u202e': ['x\\u001by', ('\\u009b', 7)], 'pid': 4, 'nested': {'msg': 'a\\u000db'}}
