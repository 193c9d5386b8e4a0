# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from a host made safe to show to a person: in a terminal line, a task message, a report.

A hostile or broken host can put control characters in a process name, a service description or an event message.
C0 and C1 controls can rewrite a terminal line (carriage return, escape sequences, CSI in C1), and Unicode bidi
controls reorder what is shown ("gnp.exe" with a right-to-left override reads as "exe.png"). Each such character is
replaced by its visible escape (``\\u202e``), so the text stays exact and readable. Tab and line feed are kept.
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls; bidi marks, embeddings, overrides and isolates (Unicode UAX #9).
_UNSAFE = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]')


def _escape(match):
    return '\\u%04x' % ord(match.group())


def printable(text):
    """``text`` with every control and bidi character replaced by its escape; anything not a str is returned as is."""
    if not isinstance(text, str):
        return text
    return _UNSAFE.sub(_escape, text)


def printable_data(value):
    """``printable`` applied to every string (keys included) of nested dicts, lists and tuples."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return dict((printable_data(key), printable_data(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(printable_data(item) for item in value)
    return value
