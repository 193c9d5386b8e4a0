# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merging pieces of a sliced run: overlaps, mixed modes and versions, corrupt and empty pieces, job artifacts."""

from __future__ import annotations

import json
import os
import types

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.mailops.port25.plugins.action import report_write
from ansible_collections.mailops.port25.plugins.plugin_utils.report import merge, model, records
from ansible_collections.mailops.port25.tests.unit.report_fixtures import GENERATED, fleet_results

VERSION = records.collection_version()


def _piece(hosts, generated, slice_number=None, mode_check=False, version=VERSION, started=None):
    results = {}
    for name in hosts:
        result = dict(fleet_results()['mail02.corp.example'], host=name, check_mode=mode_check, started=started or generated)
        results[name] = result
    run = {'id': 'job-%s' % slice_number, 'slice': {'number': slice_number, 'count': 3} if slice_number else None,
           'targeted': list(hosts)}
    return model.build_report(results, hosts, generated, version=version, run=run)


def _write(directory, name, report):
    os.makedirs(str(directory / name), exist_ok=True)
    path = directory / name / 'port25-report.json'
    path.write_text(model.to_json(report), encoding='utf-8')
    return str(path)


def test_pieces_merge_into_one_report_and_an_overlapping_host_keeps_its_newest_record():
    first = _piece(['a', 'b'], '2026-11-28T06:00:00Z', 1)
    second = _piece(['b', 'c'], '2026-11-28T06:05:00Z', 2)
    second['hosts'][0]['verdict'] = 'compliant'   # b, checked again later
    pieces = [merge.check_piece(second, 's2'), merge.check_piece(first, 's1')]
    report, warnings = merge.merge(pieces, GENERATED, 'Fleet', VERSION, {'id': 'merge-1'})
    assert warnings == []
    assert [(h['host'], h['verdict'], h['piece']) for h in report['hosts']] == [
        ('a', 'noncompliant', 'job-1'), ('b', 'compliant', 'job-2'), ('c', 'noncompliant', 'job-2')]
    assert report['merge']['overlaps'] == [{'host': 'b', 'kept': 'job-2', 'dropped': ['job-1']}]
    assert [(p['id'], p['slice'], p['hosts'], p['kept']) for p in report['merge']['pieces']] == [
        ('job-1', {'number': 1, 'count': 3}, 2, 1), ('job-2', {'number': 2, 'count': 3}, 2, 2)]
    assert report['run'] == {'id': 'merge-1', 'targeted': ['a', 'b', 'c']}
    assert report['summary']['hosts'] == 3 and report['mode'] == 'apply'


def test_an_older_record_read_later_does_not_replace_a_newer_one():
    newer = _piece(['a'], '2026-11-28T06:00:00Z', 1, started='2026-11-28T07:00:00Z')
    older = _piece(['a'], '2026-11-28T06:30:00Z', 2, started='2026-11-28T06:10:00Z')
    older['hosts'][0]['verdict'] = 'compliant'
    report, _warnings = merge.merge([merge.check_piece(newer, 'n'), merge.check_piece(older, 'o')], GENERATED, 'F', VERSION)
    assert (report['hosts'][0]['verdict'], report['merge']['overlaps']) == ('noncompliant', [{'host': 'a', 'kept': 'job-1', 'dropped': ['job-2']}])


def test_pieces_of_different_modes_or_versions_are_refused():
    check, apply = _piece(['a'], GENERATED, 1, mode_check=True), _piece(['b'], GENERATED, 2)
    with pytest.raises(merge.MergeError) as err:
        merge.merge([merge.check_piece(check, 'one.json'), merge.check_piece(apply, 'two.json')], GENERATED, 'F', VERSION)
    assert str(err.value).startswith('the pieces are of different modes (apply, check)')
    assert 'one.json is check; two.json is apply' in str(err.value) and str(err.value).endswith('nothing was written')
    old = _piece(['b'], GENERATED, 2, version='0.0.9')
    with pytest.raises(merge.MergeError, match=r'different collection versions \(0.0.9, %s\)' % VERSION.replace('.', r'\.')):
        merge.merge([merge.check_piece(apply, 'a.json'), merge.check_piece(old, 'b.json')], GENERATED, 'F', VERSION)


@pytest.mark.parametrize('text, message', [
    ('', 'p.json is empty: the run that wrote it may have been stopped while writing'),
    ('  \n', 'p.json is empty'),
    ('{"report_format": 1, "hosts": [', 'p.json is not JSON'),
    ('[]', 'p.json is not a port25 report'),
    ('{"report_format": 1, "generated": "x", "hosts": [], "collection": {"name": "other.thing"}}', "is not a report of mailops.port25"),
    ('{"report_format": 2, "generated": "x", "hosts": [], "mode": "check", "collection": {"name": "mailops.port25"}}', 'has report_format 2'),
    ('{"report_format": 1, "generated": "x", "hosts": [{"host": "a"}], "mode": "check", "collection": {"name": "mailops.port25"}}',
     'p.json: hosts[0] is not a host entry'),
    ('{"report_format": 1, "generated": "x", "hosts": [{"host": "a", "verdict": "compliant"}, {"host": "a", "verdict": "failed"}], '
     '"mode": "check", "collection": {"name": "mailops.port25"}}', 'p.json lists host a twice'),
])
def test_a_corrupt_or_empty_piece_is_refused_naming_it(text, message):
    with pytest.raises(merge.MergeError) as err:
        merge.parse_piece(text, 'p.json')
    assert message in str(err.value) and 'nothing was written' in str(err.value)


def test_a_piece_without_hosts_is_merged_with_a_warning():
    empty = model.build_report({}, [], GENERATED, version=VERSION, run={'id': 'job-3', 'targeted': []})
    report, warnings = merge.merge([merge.check_piece(_piece(['a'], GENERATED, 1), 'one'), merge.check_piece(empty, 'three')],
                                   GENERATED, 'F', VERSION)
    assert warnings == ['three has no hosts'] and [h['host'] for h in report['hosts']] == ['a']
    with pytest.raises(merge.MergeError, match='there is nothing to merge'):
        merge.merge([], GENERATED, 'F', VERSION)


def test_the_artifact_of_a_run_is_small_and_merges_like_its_file():
    report = _piece(['h%04d' % i for i in range(1000)], GENERATED, 1)
    piece, warning = merge.artifact(report)
    size = len(json.dumps(piece, separators=(',', ':')))
    assert warning is None and size < 260 * 1000
    assert dict(zip(piece['columns'], piece['hosts'][0])) == {
        'host': 'h0000', 'verdict': 'noncompliant', 'profile': 'exchange55', 'check_mode': False, 'changed': False,
        'compliant': False, 'started': GENERATED, 'duration': None, 'error': None,
        'owner': ['antivirus', 'iwss.exe', 3100, 'Trend Micro InterScan VirusWall'],
        'findings': ['error:PORT_HELD_BY_ANTIVIRUS', 'error:MAIL_SERVICE_NOT_RUNNING'], 'flags': ['ANTIVIRUS_HOLDS_PORT']}
    merged, _warnings = merge.merge([merge.check_piece(piece, 'artifact')], GENERATED, 'F', VERSION)
    by_file, _warnings = merge.merge([merge.check_piece(report, 'file')], GENERATED, 'F', VERSION)
    assert [(h['host'], h['verdict'], [f['code'] for f in h['findings']], h['after']['owner']['kind'], h['after']['owner']['process'])
            for h in merged['hosts']] == [
        (h['host'], h['verdict'], [f['code'] for f in h['findings']], h['after']['owner']['kind'], h['after']['owner']['process'])
        for h in by_file['hosts']]
    assert merged['hosts'][0]['detail'] == 'summary'
    small, warning = merge.artifact(report, limit=1000)
    assert small['hosts'] is None and 'more than 1000' in warning
    with pytest.raises(merge.MergeError, match='merge that run from its report file instead'):
        merge.check_piece(small, 'artifact x')


# ---------------------------------------------------------------- through the report_write action

class _NoConnection:
    _shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


def _merge(args, task_vars=None, check_mode=False):
    task = types.SimpleNamespace(args=dict(args, merge=True), check_mode=check_mode, diff=False, async_val=0,
                                 action='mailops.port25.report_write', delegate_to='localhost')
    plugin = report_write.ActionModule(task, _NoConnection(), None, DataLoader(), Templar(loader=DataLoader()), None)
    return plugin.run(task_vars=dict(task_vars or {}))


def test_the_action_merges_directories_and_artifacts(tmp_path):
    pieces = tmp_path / 'pieces'
    _write(pieces, 'slice1', _piece(['a', 'b'], '2026-11-28T06:00:00Z', 1))
    _write(pieces, 'slice2', _piece(['c'], '2026-11-28T06:01:00Z', 2))
    artifact, _warning = merge.artifact(_piece(['d'], '2026-11-28T06:02:00Z', 3))
    result = _merge({'sources': [str(pieces)], 'dest': str(tmp_path / 'out'), 'publish': True},
                    {'port25_piece_job_3_slice3': artifact, 'unrelated': 1})
    assert not result.get('failed'), result
    assert 'artifact' not in result and result['output']['summary']['hosts'] == 4
    written = json.loads((tmp_path / 'out' / 'port25-report.json').read_text(encoding='utf-8'))
    assert [(h['host'], h['piece']) for h in written['hosts']] == [('a', 'job-1'), ('b', 'job-1'), ('c', 'job-2'), ('d', 'job-3')]
    assert [p['source'] for p in written['merge']['pieces']] == ['file', 'file', 'artifact']


def test_the_action_refuses_a_corrupt_piece_and_writes_nothing(tmp_path):
    pieces = tmp_path / 'pieces'
    _write(pieces, 'slice1', _piece(['a'], GENERATED, 1))
    os.makedirs(str(pieces / 'slice2'))
    (pieces / 'slice2' / 'port25-report.json').write_text('{"report_format": 1, "hos', encoding='utf-8')
    result = _merge({'sources': [str(pieces)], 'dest': str(tmp_path / 'out')})
    assert result['failed'] is True and result['msg'].startswith('%s is not JSON' % (pieces / 'slice2' / 'port25-report.json'))
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('setup, message', [
    (lambda p: None, 'does not exist'),
    (lambda p: os.makedirs(str(p)), 'is a directory without port25-report.json'),
    (lambda p: os.mkfifo(str(p)), 'is not a regular, readable UTF-8 file'),
])
def test_the_action_names_a_source_it_cannot_read(tmp_path, setup, message):
    source = tmp_path / 'source'
    setup(source)
    result = _merge({'sources': [str(source)], 'dest': str(tmp_path / 'out')})
    assert result['failed'] is True and message in result['msg'] and not (tmp_path / 'out').exists()


def test_the_merged_report_may_not_replace_a_piece(tmp_path):
    path = _write(tmp_path, 'slice1', _piece(['a'], GENERATED, 1))
    result = _merge({'sources': [path], 'dest': os.path.dirname(path)})
    assert result['failed'] is True and 'would replace the piece' in result['msg']
    assert json.loads(open(path, encoding='utf-8').read())['hosts'][0]['host'] == 'a'
