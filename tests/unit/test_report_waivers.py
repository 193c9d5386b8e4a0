# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waivers: the file's validation (each error names file, entry and field) and what they change in a report."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mailops.port25.plugins.plugin_utils.report import model, waivers
from ansible_collections.mailops.port25.tests.unit.report_fixtures import GENERATED, fleet_results

TODAY = datetime.date(2026, 11, 28)
AV = '{host: "mail0?.corp.example", code: [PORT_HELD_BY_ANTIVIRUS, MAIL_SERVICE_NOT_RUNNING], reason: proxy, by: ops, expires: %s}'


def _applied(text, today=TODAY):
    report = model.build_report(fleet_results(), list(fleet_results()), GENERATED)
    waivers.apply(report, waivers.parse(text, 'w.yml'), today, 'w.yml')
    return model.refresh_summary(report)


def test_a_waiver_accepts_findings_and_the_host_does_not_fail_the_gate():
    report = _applied('waivers:\n  - ' + AV % '2026-11-28')
    hosts = {h['host']: h for h in report['hosts']}
    av = hosts['mail02.corp.example']
    assert (av['verdict'], av['waived']) == ('noncompliant', True)
    assert [f['waiver'] for f in av['findings']] == [{'waiver': 1, 'reason': 'proxy', 'by': 'ops', 'expires': '2026-11-28',
                                                      'expired': False}] * 2
    assert (report['summary']['noncompliant'], report['summary']['waived'], report['summary']['gate_failed']) == (2, 1, 1)
    assert 'mail02.corp.example' not in model.gate_failures(report)
    assert report['waivers'] == {'source': 'w.yml', 'today': '2026-11-28', 'count': 1, 'expired': [], 'unused': []}


def test_an_expired_waiver_is_called_out_and_fails_the_gate():
    report = _applied('- ' + AV % '2026-11-27')
    assert report['summary']['waived'] == 0 and 'mail02.corp.example' in model.gate_failures(report)
    assert [(e['host'], e['code'], e['expires']) for e in report['waivers']['expired']] == [
        ('mail02.corp.example', 'PORT_HELD_BY_ANTIVIRUS', '2026-11-27'), ('mail02.corp.example', 'MAIL_SERVICE_NOT_RUNNING', '2026-11-27')]


def test_a_waiver_of_some_error_findings_does_not_waive_the_host():
    report = _applied('- {host: "*", code: PORT_HELD_BY_ANTIVIRUS, reason: r, by: b, expires: 2099-01-01}\n'
                      '- {host: nothing.example, code: PORT_FREE, reason: r, by: b, expires: 2099-01-01}')
    av = next(h for h in report['hosts'] if h['host'] == 'mail02.corp.example')
    assert av['waived'] is False and av['findings'][0]['waiver']['expired'] is False and 'waiver' not in av['findings'][1]
    assert report['waivers']['unused'] == [2]
    # Compliant hosts are never "waived", failed hosts neither.
    assert [h['host'] for h in report['hosts'] if h['waived']] == []


@pytest.mark.parametrize('text, message', [
    ('- {host: a, code: X_Y, reason: r, by: b}', "w.yml: waiver 1: expires must be a date (YYYY-MM-DD), got None"),
    ('- {host: a, code: "*", reason: r, by: b, expires: 2026-01-01}', "code '*' is not a finding code"),
    ('- {host: a, code: [], reason: r, by: b, expires: 2026-01-01}', 'code must be a finding code or a list of them'),
    ('- {host: "", code: A, reason: r, by: b, expires: 2026-01-01}', "waiver 1: host must be a non-empty string, got ''"),
    ('- {host: a, code: A, reason: r, by: b, expires: 2026-01-01, safety: off}', 'unknown field(s) safety'),
    ('- {host: a, code: A, reason: " ", by: b, expires: 2026-01-01}', 'reason must be a non-empty string'),
    ('- {host: a, code: A, reason: r, by: b, expires: tomorrow}', "expires must be a date (YYYY-MM-DD), got 'tomorrow'"),
    ('host: a', 'must be a list of waivers'),
    ('- [a]', 'waiver 1: must be a mapping'),
    ('- {a: [}', 'is not valid YAML'),
])
def test_a_broken_waivers_file_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(waivers.WaiverError) as err:
        waivers.parse(text, 'w.yml')
    assert message in str(err.value) and str(err.value).startswith('w.yml') and 'nothing was written' in str(err.value)


def test_an_empty_file_has_no_waivers():
    assert waivers.parse('', 'w.yml') == [] and waivers.parse('waivers:\n', 'w.yml') == []
