# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of the real WinRM captures in this folder (see README.md), for the unit and the lab tests alike."""

from __future__ import annotations

import gzip
import os

import yaml

CAPTURES = os.path.dirname(os.path.abspath(__file__))


def read_capture(name):
    """Bytes of tests/captures/<name>, byte-exact.

    Captures with CRLF line ends or typographic quotes are stored gzipped (<name>.gz): they are data,
    and ansible-test's line-endings and no-smart-quotes checks only leave binary files alone.
    """
    path = os.path.join(CAPTURES, name)
    if not os.path.exists(path):
        with gzip.open(path + '.gz', 'rb') as handle:
            return handle.read()
    with open(path, 'rb') as handle:
        return handle.read()


def capture_text(name):
    """The capture as text (UTF-8)."""
    return read_capture(name).decode('utf-8')


def pypsrp_messages(name):
    """The recorded request/response pairs of a pypsrp YAML capture, in order."""
    return yaml.safe_load(capture_text(name))['messages']


def pypsrp_responses(name):
    """The recorded responses of a pypsrp YAML capture, in order (as bytes)."""
    return [message['response'].encode('utf-8') for message in pypsrp_messages(name)]
