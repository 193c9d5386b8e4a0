# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read one host's entry from a port25 report file, trusting nothing about the file.

The file is opened without blocking (a FIFO cannot hang the run), must be a regular file of bounded size, and must
be a port25 report; what the entry says is checked afterwards by ``remediation.validate_record``.
"""

from __future__ import annotations

import json
import os
import stat

from ansible_collections.mailops.port25.plugins.module_utils import errors

# A 10,000-host report is about 40 MB; anything much larger is not one.
MAX_REPORT_BYTES = 256 * 1024 * 1024


def _invalid(path, host, problem):
    return errors.InvalidOption('record_file %s: %s; nothing was changed' % (path, problem), host=host, operation='rollback')


def read_report(path, host=None):
    """The parsed report at ``path`` (a dict with a ``hosts`` list), or InvalidOption naming what is wrong."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        raise _invalid(path, host, 'cannot be opened (%s)' % (exc.strerror or exc)) from None
    with os.fdopen(descriptor, 'rb') as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _invalid(path, host, 'is not a regular file')
        if info.st_size > MAX_REPORT_BYTES:
            raise _invalid(path, host, 'is %d bytes, more than a report can be (%d)' % (info.st_size, MAX_REPORT_BYTES))
        data = handle.read(MAX_REPORT_BYTES + 1)
    try:
        report = json.loads(data.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _invalid(path, host, 'is not JSON (%s)' % exc) from None
    if not isinstance(report, dict) or not isinstance(report.get('hosts'), list):
        raise _invalid(path, host, 'is not a port25 report (it has no list of hosts)')
    return report


def read_entry(path, host):
    """The report entry of ``host`` with the report's ``report_format``, or None when the report has no such host."""
    report = read_report(path, host)
    entries = [entry for entry in report['hosts'] if isinstance(entry, dict) and entry.get('host') == host]
    if len(entries) > 1:
        raise _invalid(path, host, 'lists host %s %d times' % (host, len(entries)))
    if not entries:
        return None
    entry = dict(entries[0])
    if entry.get('report_format', report.get('report_format')) != report.get('report_format'):
        raise _invalid(path, host, 'the entry of %s and the report disagree on report_format' % host)
    entry['report_format'] = report.get('report_format')
    return entry
