# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance over time: what changed since the previous run, the reports kept, the run a report is of."""

from __future__ import annotations

import json
import types

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.mailops.port25.plugins.action import report_write
from ansible_collections.mailops.port25.plugins.plugin_utils.report import history, model, run
from ansible_collections.mailops.port25.tests.unit.report_fixtures import KB_AFTER, KB_BEFORE, fleet_results, record


def _report(verdicts, generated, run_id):
    results = {}
    for host, verdict in verdicts.items():
        if verdict == 'compliant':
            results[host] = record(host, 'exchange55', KB_AFTER, KB_AFTER)
        elif verdict == 'noncompliant':
            results[host] = record(host, 'exchange55', KB_BEFORE, KB_BEFORE)
        elif verdict == 'failed':
            results[host] = dict(record(host, 'exchange55', KB_BEFORE, None), error='boom')
    return model.build_report(results, list(verdicts), generated, run={'id': run_id}, pending=[h for h, v in verdicts.items() if v == 'not_run'])


def test_changes_name_each_changed_host_by_kind():
    before = _report({'a': 'compliant', 'b': 'noncompliant', 'c': 'noncompliant', 'd': 'compliant', 'e': 'failed', 'g': 'compliant',
                      'p': 'compliant'}, '2026-11-27T06:15:00Z', 'r1')
    now = _report({'a': 'noncompliant', 'b': 'compliant', 'c': 'noncompliant', 'e': 'compliant', 'g': 'failed', 'n': 'compliant',
                   'p': 'not_run'}, '2026-11-28T06:15:00Z', 'r2')
    assert history.changes(now, before, 'old.json') == {
        'previous': {'run_id': 'r1', 'generated': '2026-11-27T06:15:00Z', 'source': 'old.json'},
        'newly_noncompliant': ['a'], 'fixed': ['b', 'e'], 'newly_failed': ['g'], 'new': ['n'], 'gone': ['d']}


def test_archive_names_sort_by_time_and_the_oldest_are_pruned():
    names = [history.archive_name({'generated': '2026-11-%02dT06:15:00Z' % day, 'run': {'id': 'run/%d' % day}}) for day in (3, 1, 2)]
    assert names[0] == 'port25-report-20261103T061500Z-run_3.json' and all(history.is_archive(n) for n in names)
    assert history.to_prune(names + ['notes.txt', 'port25-report.json'], 2) == ['port25-report-20261101T061500Z-run_1.json']
    assert history.to_prune(names, 0) == sorted(names)


def test_only_reports_are_read_back():
    assert history.parse_report('{"hosts": [], "generated": "x"}') == {'hosts': [], 'generated': 'x'}
    for text in (None, '', 'not json', '[]', '{"hosts": {}}', '{"hosts": []}'):
        assert history.parse_report(text) is None


def test_the_run_id_comes_from_the_engine_or_the_playbook_process():
    awx = run.describe({'awx_job_id': 4711, 'awx_workflow_job_id': 4700, 'target': 'mail'}, ['a'], 'T', 1)
    assert (awx['id'], awx['engine'], awx['job_id'], awx['workflow_job_id'], awx['target'], awx['slice']) == (
        'awx-job-4711', 'awx', '4711', '4700', 'mail', None)
    assert run.describe({'tower_job_id': 9}, [], 'T', 1)['id'] == 'tower-job-9'
    local = run.describe({}, ['a', 'b'], '2026-11-28T06:15:00Z', 1)
    assert local['id'].startswith('run-') and local['id'].endswith('-1') and local['targeted'] == ['a', 'b']
    assert run.describe({}, [], 'T', 1, run_id='nightly / 28')['id'] == 'nightly_28'
    assert run.artifact_key({'id': 'awx-job-4711', 'slice': {'number': 2, 'count': 4}}) == 'port25_piece_awx_job_4711_slice2'


@pytest.mark.parametrize('task_vars, explicit, expected', [
    ({}, (None, None), None),
    ({'awx_job_slice_number': 2, 'awx_job_slice_count': 4}, (None, None), {'number': 2, 'count': 4}),
    ({'tower_job_slice_number': '3', 'tower_job_slice_count': '4'}, (None, None), {'number': 3, 'count': 4}),
    ({'awx_job_slice_number': 2, 'awx_job_slice_count': 4}, (1, 2), {'number': 1, 'count': 2}),
    ({}, (1, 1), None),
])
def test_the_slice_comes_from_explicit_settings_or_the_engine(task_vars, explicit, expected):
    assert run.slice_of(task_vars, *explicit) == expected


@pytest.mark.parametrize('explicit, message', [
    ((2, None), 'a slice needs both its number and the slice count'),
    ((5, 4), 'slice 5 of 4: the slice number cannot exceed the slice count'),
    (('x', 4), "the slice number must be a whole number, got 'x'"),
    ((0, 4), 'the slice number must be 1 or more'),
])
def test_a_wrong_slice_is_refused(explicit, message):
    with pytest.raises(run.RunError, match=message):
        run.slice_of({}, *explicit)


# ---------------------------------------------------------------- through the report_write action

class _NoConnection:
    _shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


def _write(args, results, stage='write'):
    task = types.SimpleNamespace(args=dict(args, stage=stage), check_mode=False, diff=False, async_val=0,
                                 action='mailops.port25.report_write', delegate_to='localhost')
    plugin = report_write.ActionModule(task, _NoConnection(), None, DataLoader(), Templar(loader=DataLoader()), None)
    return plugin.run(task_vars={'hostvars': {h: {'bind_conflict_result': r} for h, r in results.items()}})


def test_history_keeps_the_previous_runs_and_the_report_says_what_changed(tmp_path, monkeypatch):
    results = fleet_results()
    hosts = ['mail01.corp.example', 'mail02.corp.example']
    for day, run_id in ((1, 'r1'), (2, 'r2'), (2, 'r2'), (3, 'r3')):
        monkeypatch.setattr(report_write, 'report_time', lambda day=day: '2026-11-%02dT06:15:00Z' % day)
        if run_id == 'r3':
            results['mail01.corp.example'] = results['mail02.corp.example']
            hosts = ['mail01.corp.example', 'ex2003.corp.example']
        out = _write({'dest': str(tmp_path), 'hosts': hosts, 'history': 2, 'run_id': run_id}, results)
        assert not out.get('failed'), out
    kept = sorted(p.name for p in (tmp_path / 'history').iterdir())
    # r2 was written twice (as a rolling run's batches are): kept once.
    assert kept == ['port25-report-20261101T061500Z-r1.json', 'port25-report-20261102T061500Z-r2.json']
    current = json.loads((tmp_path / 'port25-report.json').read_text(encoding='utf-8'))
    assert current['changes'] == {'previous': {'run_id': 'r2', 'generated': '2026-11-02T06:15:00Z', 'source': str(tmp_path / 'port25-report.json')},
                                  'newly_noncompliant': ['mail01.corp.example'], 'fixed': [], 'newly_failed': [],
                                  'new': ['ex2003.corp.example'], 'gone': ['mail02.corp.example']}
    assert out['output']['changes'] == {'newly_noncompliant': 1, 'fixed': 0, 'newly_failed': 0, 'new': 1, 'gone': 1}
    monkeypatch.setattr(report_write, 'report_time', lambda: '2026-11-04T06:15:00Z')
    _write({'dest': str(tmp_path), 'hosts': hosts, 'history': 2, 'run_id': 'r4'}, results)
    assert sorted(p.name for p in (tmp_path / 'history').iterdir()) == [
        'port25-report-20261102T061500Z-r2.json', 'port25-report-20261103T061500Z-r3.json']


def test_a_broken_waivers_file_stops_the_run_at_prepare(tmp_path):
    waivers = tmp_path / 'waivers.yml'
    waivers.write_text('- {host: a, code: A, reason: r, by: b}\n', encoding='utf-8')
    out = _write({'dest': str(tmp_path / 'out'), 'waivers': str(waivers)}, {}, stage='prepare')
    assert out['failed'] is True and out['msg'] == '%s: waiver 1: expires must be a date (YYYY-MM-DD), got None; nothing was written' % waivers
    assert not (tmp_path / 'out').exists()
    out = _write({'dest': str(tmp_path / 'out'), 'waivers': str(tmp_path / 'missing.yml')}, {}, stage='prepare')
    assert 'is not a regular, readable UTF-8 file' in out['msg']
    out = _write({'dest': str(tmp_path / 'out'), 'slice_number': 3, 'slice_count': 2}, {}, stage='prepare')
    assert out['msg'] == 'report run settings: slice 3 of 2: the slice number cannot exceed the slice count; nothing was written'
