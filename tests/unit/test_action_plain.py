# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""action.plain(): task arguments and inventory values as builtin types on every ansible-core we support.

Before 2.19 Ansible hands the action AnsibleUnicode / AnsibleUnsafeText (a str whose __str__ returns itself),
AnsibleMapping / AnsibleSequence and, for a vaulted variable, an object that is not a str at all. The stand-ins
below have the same shapes, so the test runs on any core.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.plugin_utils import action


class UnsafeText(str):
    def __str__(self):  # pylint: disable=invalid-str-returned
        return self


class TaggedInt(int):
    pass


class MappingOf(dict):
    pass


class SequenceOf(list):
    pass


class Vaulted(object):
    """Like AnsibleVaultEncryptedUnicode: flagged __ENCRYPTED__, str() decrypts."""

    __ENCRYPTED__ = True

    def __init__(self, plaintext):
        self._plaintext = plaintext

    def __str__(self):
        return self._plaintext


def test_plain_returns_builtin_types_with_the_same_values():
    value = MappingOf({UnsafeText("name"): SequenceOf([UnsafeText("SMTPSVC"), UnsafeText("IISADMIN")]),
                       "port": TaggedInt(25), "check": True, "timeout": 1.5, "none": None,
                       "nested": (MappingOf({"a": UnsafeText("b")}),)})
    result = action.plain(value)
    assert result == {"name": ["SMTPSVC", "IISADMIN"], "port": 25, "check": True, "timeout": 1.5, "none": None,
                      "nested": [{"a": "b"}]}
    assert [type(result)] == [dict]
    assert [type(key) for key in result] == [str] * 6
    assert [type(item) for item in result["name"]] == [str, str]
    assert (type(result["port"]), type(result["check"]), type(result["nested"][0]["a"])) == (int, bool, str)


def test_plain_decrypts_a_vaulted_value():
    result = action.plain({"ansible_password": Vaulted("s3cret!")})
    assert result == {"ansible_password": "s3cret!"}
    assert [type(result["ansible_password"])] == [str]
