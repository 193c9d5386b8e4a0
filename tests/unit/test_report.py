# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model from host records, the port25_report filter and the report_write action (write stage)."""

from __future__ import annotations

import copy
import json
import os
import types
import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleActionFail, AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.mailops.port25.plugins.action import report_write
from ansible_collections.mailops.port25.plugins.filter import port25_report as report
from ansible_collections.mailops.port25.plugins.plugin_utils.report import html, junit, model, terminal
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    GENERATED, HOSTILE, KB_ACTIONS, KB_AFTER, KB_BEFORE, fleet_results, record)


def test_report_data_is_exact_for_a_fixed_host_and_a_host_without_result():
    # A field the report does not know (a newer diagnosis may add some) is kept in its state.
    after = dict(KB_AFTER, greeting='220 mail01 Microsoft ESMTP MAIL Service ready')
    results = {'mail01': dict(record('mail01', 'exchange55', KB_BEFORE, after, KB_ACTIONS), started='2026-11-28T16:07:41Z',
                              duration=4.5)}
    data = model.build_report(results, ['mail01', 'gone', 'mail01'], GENERATED, 'Weekly', '1.2.3')
    assert data == {
        'report_format': 1,
        'title': 'Weekly',
        'generated': GENERATED,
        'collection': {'name': 'mailops.port25', 'version': '1.2.3'},
        'mode': 'apply',
        'summary': {'hosts': 2, 'compliant': 1, 'noncompliant': 0, 'failed': 1, 'not_run': 0, 'changed': 1, 'flagged': 0,
                    'actions': 3, 'predicted': 0,
                    'before': {'compliant': 0, 'noncompliant': 1, 'unknown': 1},
                    'after': {'compliant': 1, 'noncompliant': 0, 'unknown': 1}, 'waived': 0, 'gate_failed': 0},
        'hosts': [
            {'report_format': 1, 'host': 'mail01', 'status': 'ok', 'verdict': 'compliant', 'error': None, 'profile': 'exchange55',
             'check_mode': False, 'changed': True, 'compliant': True, 'started': '2026-11-28T16:07:41Z', 'duration': 4.5,
             'before': dict(KB_BEFORE, verdict='noncompliant'), 'after': dict(after, verdict='compliant'),
             'findings': [], 'actions': KB_ACTIONS, 'flags': [], 'waived': False, 'port_host': None},
            {'report_format': 1, 'host': 'gone', 'status': 'failed', 'verdict': 'failed',
             'error': 'failed before any result was recorded', 'profile': None, 'check_mode': None, 'changed': False, 'compliant': None,
             'started': None, 'duration': None,
             'before': {'verdict': 'unknown', 'compliant': None, 'owner': None, 'findings': [], 'smtp_service': None, 'mail_service': None},
             'after': {'verdict': 'unknown', 'compliant': None, 'owner': None, 'findings': [], 'smtp_service': None, 'mail_service': None},
             'findings': [], 'actions': [], 'flags': [], 'waived': False, 'port_host': None},
        ],
    }


def test_actions_keep_the_fields_rollback_reads_and_any_extra_ones():
    action = dict(KB_ACTIONS[1], after={'state': 'stopped', 'start_mode': 'disabled', 'delayed_auto_start': False})
    results = {'h': record('h', 'exchange55', KB_BEFORE, KB_AFTER, [action])}
    entry = model.build_report(results, ['h'], GENERATED)['hosts'][0]
    assert entry['actions'] == [{'action': 'set_start_mode', 'service': 'SMTPSVC',
                                 'before': {'state': 'stopped', 'start_mode': 'auto'},
                                 'after': {'state': 'stopped', 'start_mode': 'disabled', 'delayed_auto_start': False},
                                 'changed': True}]


def test_fleet_summary_and_verdicts():
    results = fleet_results()
    data = model.build_report(results, list(results) + ['never-ran'], GENERATED)
    verdicts = {h['host']: (h['verdict'], h['before']['verdict'], h['after']['verdict']) for h in data['hosts']}
    assert verdicts == {
        'mail01.corp.example': ('compliant', 'noncompliant', 'compliant'),
        'mail02.corp.example': ('noncompliant', 'noncompliant', 'noncompliant'),
        'ex2003.corp.example': ('compliant', 'compliant', 'compliant'),
        'ex2019.corp.example': ('compliant', 'noncompliant', 'compliant'),
        'mail05.corp.example': ('failed', 'noncompliant', 'unknown'),
        HOSTILE: ('noncompliant', 'noncompliant', 'noncompliant'),
        'never-ran': ('failed', 'unknown', 'unknown'),
    }
    assert data['summary'] == {'hosts': 7, 'compliant': 3, 'noncompliant': 2, 'failed': 2, 'not_run': 0, 'changed': 3, 'flagged': 2,
                               'actions': 7, 'predicted': 0, 'before': {'compliant': 1, 'noncompliant': 5, 'unknown': 1},
                               'after': {'compliant': 3, 'noncompliant': 2, 'unknown': 2}, 'waived': 0, 'gate_failed': 2}
    assert model.gate_failures(data) == ['mail02.corp.example', HOSTILE]
    failed = {h['host']: h['error'] for h in data['hosts'] if h['status'] == 'failed'}
    assert failed == {'mail05.corp.example': 'mail05.corp.example: StopService SMTPSVC: still stop_pending after 60 s',
                      'never-ran': 'failed before any result was recorded'}


def test_hosts_that_left_the_play_are_failed_even_with_a_result():
    results = {'a': record('a', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS)}
    entry = model.build_report(results, ['a'], GENERATED, left_play={'a'})['hosts'][0]
    assert (entry['verdict'], entry['status'], entry['error']) == (
        'failed', 'failed', 'the host failed or became unreachable after its result was recorded')
    assert entry['actions'] == KB_ACTIONS


def test_a_result_without_verdict_is_not_counted_compliant():
    entry = model.build_report({'a': {'host': 'a', 'before': KB_BEFORE}}, ['a'], GENERATED)['hosts'][0]
    assert (entry['verdict'], entry['error']) == ('failed', 'the recorded result has no compliance verdict')


def test_mode_is_check_when_every_recorded_host_ran_in_check_mode():
    # The bind_conflict role records predicted actions with changed=false and the host as changed.
    predicted = [dict(a, changed=False) for a in KB_ACTIONS]
    results = {h: dict(record(h, 'exchange55', KB_BEFORE, KB_BEFORE, predicted, check_mode=True), changed=True) for h in ('a', 'b')}
    data = model.build_report(results, ['a', 'b', 'c'], GENERATED)
    assert data['mode'] == 'check'
    assert (data['summary']['changed'], data['summary']['actions'], data['summary']['predicted']) == (2, 0, 6)
    case = ET.fromstring(junit.render(data)).find('testsuite/testcase')
    assert case.find('system-out').text.splitlines()[1] == 'stop SMTPSVC: running/auto -> stopped/auto (predicted, check mode)'
    results['b']['check_mode'] = False
    assert model.build_report(results, ['a', 'b'], GENERATED)['mode'] == 'mixed'
    assert model.build_report({}, ['c'], GENERATED)['mode'] == 'unknown'


def test_json_round_trips_to_the_data_model():
    results = fleet_results()
    data = model.build_report(results, list(results), GENERATED)
    text = model.to_json(data)
    assert json.loads(text) == data
    assert '"host": "evil<script>alert(\\"x\\")</script>&amp;\'\\u001b]]>"' in text


class _LazyHostVars:
    """Behaves like Ansible's HostVars: item access per host, then .get() on that host's variables."""

    def __init__(self, data):
        self._data = data

    def __getitem__(self, host):
        return self._data[host]

    def __contains__(self, host):
        return host in self._data


def test_filter_reads_hostvars_and_renders_each_output():
    results = fleet_results()
    hostvars = _LazyHostVars({h: {'bind_conflict_result': r, 'other': 1} for h, r in results.items()})
    hostvars._data['down'] = {'ansible_host': '192.0.2.1'}
    hosts = ['mail01.corp.example', 'down']
    data = report.port25_report(hosts, hostvars, generated=GENERATED, play_hosts=hosts + ['mail02.corp.example'],
                                active_hosts=['mail02.corp.example'])
    assert [(h['host'], h['verdict'], h['error']) for h in data['hosts']] == [
        ('mail01.corp.example', 'failed', model.LEFT_PLAY_ERROR), ('down', 'failed', model.NO_RESULT_ERROR)]
    assert json.loads(report.port25_report(hosts, hostvars, 'json', GENERATED)) == report.port25_report(hosts, hostvars, generated=GENERATED)
    assert report.port25_report(hosts, hostvars, 'html', GENERATED).startswith('<!DOCTYPE html>')
    assert ET.fromstring(report.port25_report(hosts, hostvars, 'junit', GENERATED).encode()).get('tests') == '2'
    hostvars._data['odd'] = {'bind_conflict_result': 'not a mapping'}
    assert [(h['host'], h['error']) for h in report.port25_report(['typo', 'odd'], hostvars, generated=GENERATED)['hosts']] == [
        ('typo', 'the host is not in the inventory'), ('odd', 'failed before any result was recorded')]
    # Without active_hosts nothing is inferred from the play.
    assert report.port25_report(['mail01.corp.example'], hostvars, generated=GENERATED)['hosts'][0]['verdict'] == 'compliant'


@pytest.mark.parametrize('args, kwargs, message', [
    ((['a'], {}), {'output': 'pdf', 'generated': GENERATED}, "output must be one of data, json, html, junit, got 'pdf'"),
    (('a', {}), {'generated': GENERATED}, 'the input must be a list of host names, got str'),
    ((['a'], 42), {'generated': GENERATED}, 'hostvars must be the hostvars mapping, got int'),
    ((['a'], {}), {}, 'generated (the report time, ISO 8601 UTC) is required'),
])
def test_filter_rejects_bad_arguments(args, kwargs, message):
    with pytest.raises(AnsibleFilterError) as err:
        report.port25_report(*args, **kwargs)
    assert message in str(err.value)


def test_build_report_does_not_modify_its_input():
    results = fleet_results()
    snapshot = copy.deepcopy(results)
    html.render(model.build_report(results, list(results), GENERATED))
    assert results == snapshot


def test_filter_module_exports_the_filter():
    assert report.FilterModule().filters() == {'port25_report': report.port25_report}


# ---------------------------------------------------------------- report_write action

class _NoConnection:
    """The action writes on the controller itself: any use of the connection but _shell fails the test."""

    _shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


def _write_report(args, hostvars, check_mode=False):
    task = types.SimpleNamespace(args=dict(args), check_mode=check_mode, diff=False, async_val=0,
                                 action='mailops.port25.report_write', delegate_to='localhost')
    plugin = report_write.ActionModule(task, _NoConnection(), None, DataLoader(), Templar(loader=DataLoader()), None)
    return plugin.run(task_vars={'hostvars': hostvars})


@pytest.fixture(name='frozen_time')
def _frozen_time(monkeypatch):
    monkeypatch.setattr(report_write, 'report_time', lambda: GENERATED)


@pytest.mark.usefixtures('frozen_time')
def test_report_write_builds_once_and_writes_the_three_documents(tmp_path):
    results = fleet_results()
    hostvars = {h: {'bind_conflict_result': r} for h, r in results.items()}
    hosts = list(results) + ['never-ran']
    dest = tmp_path / 'new' / 'dir'
    result = _write_report({'dest': str(dest), 'hosts': hosts, 'title': 'Nightly', 'play_hosts': hosts, 'active_hosts': hosts},
                           hostvars)
    expected = report.port25_report(hosts, hostvars, generated=GENERATED, title='Nightly', play_hosts=hosts, active_hosts=hosts)
    paths = {'json': str(dest / 'port25-report.json'), 'html': str(dest / 'port25-report.html'), 'junit': str(dest / 'port25-report.xml')}
    written = json.loads((dest / 'port25-report.json').read_text(encoding='utf-8'))
    run = written.pop('run')
    assert written == expected
    assert (run['engine'], run['slice'], run['targeted'], run['started']) == ('ansible', None, hosts, GENERATED)
    assert run['id'].startswith('run-') and run['id'].endswith('-%d' % os.getppid())
    artifact = result.pop('artifact')
    key = 'port25_piece_' + run['id'].replace('-', '_')
    assert list(artifact) == [key] and len(artifact[key]['hosts']) == len(hosts)
    attention = result['output'].pop('attention')
    assert result == {'changed': True, 'output': dict(paths, dir=str(dest), summary=expected['summary'], changes={},
                                                      gate_failed=['mail02.corp.example', HOSTILE])}
    assert attention == terminal.lines(expected) and len(attention) == 4
    assert attention[0] == 'mail05.corp.example: Failed: StopService SMTPSVC: still stop_pending after 60 s'
    assert sorted(p.name for p in dest.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']
    written['run'] = run
    assert (dest / 'port25-report.html').read_text(encoding='utf-8') == html.render(written)
    assert (dest / 'port25-report.xml').read_text(encoding='utf-8') == junit.render(written)
    assert {oct(os.stat(p).st_mode & 0o777) for p in paths.values()} == {'0o644'}
    # The same report again changes nothing.
    mtimes = {p: os.stat(p).st_mtime_ns for p in paths.values()}
    again = _write_report({'dest': str(dest), 'hosts': hosts, 'title': 'Nightly', 'play_hosts': hosts, 'active_hosts': hosts},
                          hostvars)
    assert again['changed'] is False and {p: os.stat(p).st_mtime_ns for p in paths.values()} == mtimes


@pytest.mark.usefixtures('frozen_time')
def test_report_write_only_replaces_the_files_that_differ(tmp_path):
    results = fleet_results()
    hostvars = {h: {'bind_conflict_result': r} for h, r in results.items()}
    _write_report({'dest': str(tmp_path), 'hosts': list(results)}, hostvars)
    (tmp_path / 'port25-report.xml').write_text('stale', encoding='utf-8')
    json_mtime = os.stat(str(tmp_path / 'port25-report.json')).st_mtime_ns
    assert _write_report({'dest': str(tmp_path), 'hosts': list(results)}, hostvars)['changed'] is True
    assert ET.parse(str(tmp_path / 'port25-report.xml')).getroot().get('tests') == str(len(results))
    assert os.stat(str(tmp_path / 'port25-report.json')).st_mtime_ns == json_mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']


@pytest.mark.usefixtures('frozen_time')
def test_report_write_in_check_mode_writes_nothing(tmp_path):
    result = _write_report({'dest': str(tmp_path / 'out'), 'hosts': ['a']}, {'a': {}}, check_mode=True)
    assert result['changed'] is True and result['output']['summary']['failed'] == 1
    assert not (tmp_path / 'out').exists()


def test_report_write_resolves_a_relative_dest_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _write_report({'dest': 'reports', 'hosts': []}, {})
    assert result['output']['dir'] == str(tmp_path.resolve() / 'reports')
    assert json.loads((tmp_path / 'reports' / 'port25-report.json').read_text(encoding='utf-8'))['summary']['hosts'] == 0


def test_report_write_names_the_directory_it_cannot_write(tmp_path):
    (tmp_path / 'taken').write_text('a file', encoding='utf-8')
    result = _write_report({'dest': str(tmp_path / 'taken'), 'hosts': ['a']}, {'a': {}})
    assert result == {'failed': True, 'msg': 'cannot write the report into %s: File exists' % (tmp_path / 'taken')}
    assert (tmp_path / 'taken').read_text(encoding='utf-8') == 'a file'


def test_report_write_rejects_bad_arguments(tmp_path):
    with pytest.raises(AnsibleActionFail, match='missing required arguments: hosts'):
        _write_report({'dest': str(tmp_path)}, {})
    with pytest.raises(AnsibleActionFail, match='Unsupported parameters'):
        _write_report({'dest': str(tmp_path), 'hosts': [], 'output': 'pdf'}, {})
    assert not list(tmp_path.iterdir())


def test_filter_reads_real_hostvars_as_recorded_without_templating(tmp_path):
    """Ansible's own HostVars: facts are read once as recorded, and text that looks like a template stays text."""
    inventory_file = tmp_path / 'inventory.ini'
    inventory_file.write_text('[fleet]\nmail01\nmail02\n', encoding='utf-8')
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(inventory_file)])
    variables = VariableManager(loader=loader, inventory=inventory)
    recorded = record('mail01', 'exchange55', KB_BEFORE, KB_AFTER, KB_ACTIONS)
    recorded['flags'] = [{'code': 'UNKNOWN_OWNER', 'message': trust_as_template('{{ 6 * 7 }}'), 'advice': 'look'}]
    variables.set_nonpersistent_facts('mail01', {'bind_conflict_result': recorded})
    data = report.port25_report(['mail01', 'mail02', 'typo'], HostVars(inventory, variables, loader), generated=GENERATED)
    assert [(h['host'], h['verdict'], h['error']) for h in data['hosts']] == [
        ('mail01', 'compliant', None), ('mail02', 'failed', model.NO_RESULT_ERROR), ('typo', 'failed', model.NOT_IN_INVENTORY)]
    assert data['hosts'][0]['flags'] == [{'code': 'UNKNOWN_OWNER', 'message': '{{ 6 * 7 }}', 'advice': 'look'}]
    assert data['hosts'][0]['actions'] == KB_ACTIONS
