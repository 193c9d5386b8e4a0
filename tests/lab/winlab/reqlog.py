# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host request log: DIR/<host>.requests.jsonl, one JSON object per HTTP request.

The server writes a line before it sends the response, so a client that has its answer can read
the line at once.  Fields: time (UTC, ms), conn (connection id), auth (ntlm-negotiate,
ntlm-authenticate, kerberos, credssp, certificate, basic, none), action, resource_uri, status (None when the connection was dropped
by a fault without answering), bytes_in, bytes_out, and note for transport events (dropped, ...).
"""
from __future__ import annotations

import datetime
import json
import os

AUTH_LEGS = ('ntlm-negotiate', 'ntlm-authenticate', 'kerberos', 'credssp', 'certificate', 'basic', 'none')


def log_path(state_dir, host_name):
    return os.path.join(state_dir, host_name + '.requests.jsonl')


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


class RequestLog:
    """Append-only JSON lines for one host; the file is opened on first use and kept open."""

    def __init__(self, path):
        self.path = path
        self._handle = None

    def write(self, conn, auth, status, bytes_in, bytes_out, action='', resource_uri='', note=''):
        if auth not in AUTH_LEGS:
            raise ValueError('unknown auth leg %r' % auth)
        record = {'time': _now(), 'conn': conn, 'auth': auth, 'action': action, 'resource_uri': resource_uri,
                  'status': status, 'bytes_in': bytes_in, 'bytes_out': bytes_out}
        if note:
            record['note'] = note
        if self._handle is None:
            self._handle = open(self.path, 'a', encoding='utf-8')  # pylint: disable=consider-using-with
        self._handle.write(json.dumps(record, separators=(',', ':')) + '\n')
        self._handle.flush()

    def close(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_log(path):
    """The parsed lines of a request log ([] when the host has had no request yet)."""
    try:
        with open(path, encoding='utf-8') as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
