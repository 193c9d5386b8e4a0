# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WQL literal quoting and query building (pure). The only way user text enters a query.

WQL string literals are delimited by quotes and use the backslash as escape
character, so ``quote()`` escapes backslash and both quote characters; control
characters (newline, NUL, ...) have no meaning in a Windows name and are refused
rather than encoded, so a query can never be split or truncated.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.mailops.port25.plugins.module_utils.errors import InvalidOption

_CONTROL = re.compile(u"[\x00-\x1f\x7f]")
# Lone surrogates cannot be encoded and U+FFFE/U+FFFF are not allowed in XML.
_INVALID = re.compile(u"[\ud800-\udfff\ufffe\uffff]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def checked_text(value, what):
    """``value`` as text; raises InvalidOption for non-text, invalid UTF-8, control and non-XML characters."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidOption("%s is not valid UTF-8 text" % what)
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidOption("%s must be a string, got %s" % (what, type(value).__name__))
    value = str(value)
    bad = _CONTROL.search(value)
    if bad:
        raise InvalidOption("%s contains a control character (U+%04X) at position %d; control characters are not allowed"
                            % (what, ord(bad.group()), bad.start()))
    bad = _INVALID.search(value)
    if bad:
        raise InvalidOption("%s contains an invalid character (U+%04X) at position %d" % (what, ord(bad.group()), bad.start()))
    return value


def quote(value, what="value"):
    """Return ``value`` as a single-quoted WQL string literal.

    Backslash, single and double quotes are escaped with a backslash. Raises
    InvalidOption for control characters (including NUL and newlines).
    """
    value = checked_text(value, what)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"') + "'"


def identifier(name, what="property name"):
    """Validate a class or property name (letters, digits, underscore) and return it."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise InvalidOption("%s %r is not a valid WMI identifier (letters, digits and _ only)" % (what, name))
    return name


def where_in(prop, values):
    """``(Prop = 'a' OR Prop = 'b')`` for a non-empty list of values."""
    prop = identifier(prop)
    values = list(values)
    if not values:
        raise InvalidOption("where_in(%s) needs at least one value" % prop)
    return "(" + " OR ".join("%s = %s" % (prop, quote(v, prop)) for v in values) + ")"


def like_escape(text, what="pattern"):
    """Escape the LIKE wildcards of ``text`` (``[``, ``%``, ``_``) so they match themselves.

    ``]`` outside a set is literal in WQL LIKE and ``^`` only matters inside a set,
    so wrapping ``[``, ``%`` and ``_`` in a one-character set is enough.
    """
    text = checked_text(text, what)
    out = []
    for char in text:
        if char in "[%_":
            out.append("[" + char + "]")
        else:
            out.append(char)
    return "".join(out)


def like_pattern(glob, what="pattern"):
    """Turn a user glob (``*`` any run, ``?`` one character) into a quoted WQL LIKE literal.

    Every other character, including ``[``, ``]``, ``%`` and ``_``, matches itself.
    """
    glob = checked_text(glob, what)
    parts = []
    for char in glob:
        if char == "*":
            parts.append("%")
        elif char == "?":
            parts.append("_")
        else:
            parts.append(like_escape(char, what))
    return quote("".join(parts), what)


def is_glob(text):
    """True when ``text`` holds a glob wildcard (``*`` or ``?``)."""
    return isinstance(text, str) and ("*" in text or "?" in text)


def dmtf(value):
    """Render a datetime as a DMTF CIM_DATETIME literal body in UTC: ``20261128160741.000000+000``.

    Naive datetimes are taken as UTC. The result contains only digits, ``.`` and
    ``+``, so it is safe inside quotes; wrap it with ``quote()`` anyway.
    """
    if not isinstance(value, datetime.datetime):
        raise InvalidOption("dmtf() needs a datetime, got %s" % type(value).__name__)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y%m%d%H%M%S") + ".%06d+000" % value.microsecond


def select(class_name, properties=None, where=None):
    """``SELECT a,b FROM Class [WHERE ...]``; properties and class are validated identifiers.

    ``where`` must have been built with quote()/where_in()/like_pattern().
    """
    class_name = identifier(class_name, "class name")
    props = "*" if not properties else ",".join(identifier(p) for p in properties)
    query = "SELECT %s FROM %s" % (props, class_name)
    if where:
        query += " WHERE " + where
    return query
