# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/report.schema.json describes every report the collection writes: a run's, with waivers and changes, a merge's."""

from __future__ import annotations

import datetime
import json
import os

import jsonschema
import pytest

from ansible_collections.mailops.port25.plugins.plugin_utils.report import history, merge, model, records, waivers
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    GENERATED, KB_ACTIONS, KB_BEFORE, fleet_results, port_results, record)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(ROOT, 'docs', 'report.schema.json'), encoding='utf-8') as _handle:
    SCHEMA = json.load(_handle)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
RUN = {'id': 'run-1', 'engine': 'awx', 'job_id': '12', 'workflow_job_id': '10', 'slice': {'number': 1, 'count': 2},
       'target': 'windows', 'limit': None, 'started': GENERATED, 'targeted': []}


def _valid(report):
    # As written: through JSON.
    VALIDATOR.validate(json.loads(model.to_json(report)))


def _fleet(**kwargs):
    results = fleet_results()
    return model.build_report(results, list(results) + ['never-ran'], GENERATED, version=records.collection_version(), **kwargs)


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_a_run_report_with_waivers_and_changes_is_valid():
    report = _fleet(run=dict(RUN, targeted=list(fleet_results())), pending=['never-ran'])
    waivers.apply(report, waivers.parse('- {host: "mail0*", code: PORT_HELD_BY_ANTIVIRUS, reason: r, by: b, expires: 2026-01-01}'),
                  datetime.date(2026, 11, 28), 'w.yml')
    report['changes'] = history.changes(report, _fleet(), 'old.json')
    model.refresh_summary(report)
    _valid(report)


def test_a_check_mode_report_is_valid():
    predicted = [dict(a, changed=False) for a in KB_ACTIONS]
    _valid(model.build_report({'a': record('a', 'exchange55', KB_BEFORE, KB_BEFORE, predicted, check_mode=True)}, ['a', 'b'], GENERATED))


def test_merged_reports_are_valid():
    file_piece = merge.check_piece(json.loads(model.to_json(_fleet(run=dict(RUN)))), 'a.json')
    artifact, _warning = merge.artifact(_fleet(run=dict(RUN, id='run-2', slice={'number': 2, 'count': 2})))
    pieces = [file_piece, merge.check_piece(artifact, 'artifact')]
    report, _warnings = merge.merge(pieces, GENERATED, 'F', records.collection_version(), {'id': 'merge'})
    assert report['merge']['overlaps']
    _valid(report)


def test_a_report_of_every_port_and_of_the_port_host_is_valid():
    # The states keep the diagnosis's ports, greeting, remote bind and the port host's summary (a dict naming the host).
    report = model.build_report(port_results(), list(port_results()), GENERATED)
    assert report['hosts'][2]['after']['port_host']['host'] == 'wsp-proxy'
    _valid(report)


@pytest.mark.parametrize('change', [
    lambda r: r.update(report_format=2),
    lambda r: r['hosts'][0].update(verdict='fine'),
    lambda r: r['hosts'][0]['actions'][0].pop('before'),
    lambda r: r['summary'].pop('gate_failed'),
    lambda r: r.update(generated='yesterday'),
])
def test_the_schema_refuses_what_is_not_a_report(change):
    report = json.loads(model.to_json(_fleet()))
    change(report)
    assert not VALIDATOR.is_valid(report)
