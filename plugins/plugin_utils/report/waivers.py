# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waivers: accepted exceptions that a person is handling, read from a YAML file and applied to a report.

A waiver names a host pattern, one or more finding codes, the reason, who accepted it and until when. It changes
only how a finding counts in the report and in the fail_on_noncompliant gate: the finding stays in the report, marked
waived, and the host's verdict stays what the diagnosis found. No waiver reaches the modules, so none can change what
the remediation does or relax a safety rule. A waiver past its expiry date no longer counts and is called out.
"""

from __future__ import annotations

import datetime
import fnmatch
import re

import yaml

FIELDS = ('host', 'code', 'reason', 'by', 'expires')
_CODE = re.compile(r'^[A-Z][A-Z0-9_]*$')
MAX_BYTES = 4 * 1024 * 1024


class WaiverError(ValueError):
    """The waivers file is not valid; the message names the file, the entry and the field."""


def _problem(path, index, text):
    where = '%s: waiver %d' % (path, index + 1) if index is not None else path
    return WaiverError('%s: %s; nothing was written' % (where, text))


def _text(entry, key, path, index):
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _problem(path, index, '%s must be a non-empty string, got %r' % (key, value))
    return value.strip()


def _date(entry, path, index):
    value = entry.get('expires')
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        raise _problem(path, index, 'expires must be a date (YYYY-MM-DD), got %r' % (value,)) from None


def _codes(entry, path, index):
    codes = entry.get('code')
    codes = [codes] if isinstance(codes, str) else codes
    if not isinstance(codes, list) or not codes:
        raise _problem(path, index, 'code must be a finding code or a list of them, got %r' % (entry.get('code'),))
    for code in codes:
        # A pattern would accept findings nobody has looked at: each code is named.
        if not isinstance(code, str) or not _CODE.match(code):
            raise _problem(path, index, 'code %r is not a finding code (upper-case letters, digits and _, such as '
                                        'PORT_HELD_BY_ANTIVIRUS)' % (code,))
    return codes


def parse(text, path='waivers'):
    """The validated waivers of a YAML document: a list of entries, or a mapping with the key ``waivers``."""
    try:
        data = yaml.safe_load(text) if text.strip() else []
    except yaml.YAMLError as exc:
        raise _problem(path, None, 'is not valid YAML (%s)' % str(exc).replace('\n', ' ')) from None
    if isinstance(data, dict) and set(data) == {'waivers'}:
        data = data['waivers'] or []
    if not isinstance(data, list):
        raise _problem(path, None, 'must be a list of waivers (or a mapping with the key "waivers")')
    waivers = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise _problem(path, index, 'must be a mapping with %s' % ', '.join(FIELDS))
        unknown = sorted(set(map(str, entry)) - set(FIELDS))
        if unknown:
            raise _problem(path, index, 'unknown field(s) %s; the fields are %s' % (', '.join(unknown), ', '.join(FIELDS)))
        waivers.append({'index': index + 1, 'host': _text(entry, 'host', path, index), 'codes': _codes(entry, path, index),
                        'reason': _text(entry, 'reason', path, index), 'by': _text(entry, 'by', path, index),
                        'expires': _date(entry, path, index).isoformat()})
    return waivers


def _matches(waiver, host, code):
    return code in waiver['codes'] and fnmatch.fnmatchcase(host, waiver['host'])


def _note(waiver, expired):
    return {'waiver': waiver['index'], 'reason': waiver['reason'], 'by': waiver['by'], 'expires': waiver['expires'],
            'expired': expired}


def apply(report, waivers, today, source=None):
    """Mark the findings that waivers accept and the hosts they waive; returns the report (changed in place).

    ``today`` (a date) decides expiry: a waiver counts up to and including its expiry date. A host is waived when it
    is non-compliant and an unexpired waiver accepts every one of its error findings.
    """
    used = set()
    expired_hits = []
    for host in report['hosts']:
        errors_left = waived_errors = 0
        for finding in host['findings']:
            if not isinstance(finding, dict):
                continue
            hits = [w for w in waivers if _matches(w, host['host'], finding.get('code'))]
            active = [w for w in hits if datetime.date.fromisoformat(w['expires']) >= today]
            used.update(w['index'] for w in hits)
            if active:
                finding['waiver'] = _note(active[0], False)
            elif hits:
                finding['waiver'] = _note(hits[0], True)
                expired_hits.append({'host': host['host'], 'code': finding.get('code'), 'expires': hits[0]['expires'],
                                     'by': hits[0]['by'], 'reason': hits[0]['reason'], 'waiver': hits[0]['index']})
            if finding.get('severity') == 'error':
                waived_errors += bool(active)
                errors_left += not active
        host['waived'] = host['verdict'] == 'noncompliant' and errors_left == 0 and waived_errors > 0
    report['waivers'] = {
        'source': source,
        'today': today.isoformat(),
        'count': len(waivers),
        'expired': expired_hits,
        'unused': [w['index'] for w in waivers if w['index'] not in used],
    }
    return report
