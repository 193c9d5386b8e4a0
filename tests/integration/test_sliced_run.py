# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sliced compliance run through ansible-runner, the engine AWX runs jobs with, merged into one fleet report.

Two lab processes serve 2,000 generated hosts on distinct loopback ranges. compliance.yml runs as four slices in
parallel, each on its part of the inventory cut the way AWX cuts a sliced job's inventory (every fourth host), with
process isolation off; report_merge.yml merges the slices' report files, and again their job artifacts only, as a
workflow's merge node receives them. The merged report must equal one unsliced run of the same fleet, host by host.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess

import ansible_runner
import yaml

from winlab.testing import running_fleet

from ansible_collections.mailops.port25.tests.integration.helpers import SCENARIO_DIR, VENV_BIN, make_env

HOSTS_PER_LAB = 1000
SLICES = 4
SUBNETS = ('127.81.0.0/16', '127.82.0.0/16')
# The generated fleet cycles these scenarios: every owner kind and verdict (SMTP service, antivirus, unknown program,
# mail service, the Exchange 2003 transport), over NTLM with message encryption. The cmd-shell (netstat) and HTTPS
# scenarios, which the other integration tests cover, are left out to keep the 4,000 diagnoses of this test short.
SCENARIOS = ('ex2003', 'ex55-av-proxy', 'ex55-healthy', 'ex55-smtp', 'ex55-unknown-owner')


def _inventory(path, hosts):
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump({'all': {'children': {'windows': {'hosts': hosts}}}}, handle, default_flow_style=False)
    return path


def _runner(private_dir, inventory, extravars, ident):
    """Start compliance.yml with ansible-runner (no process isolation); returns (thread, runner).

    One private data directory per run: ansible-runner writes the run's extra variables into it.
    """
    os.makedirs(str(private_dir))
    env = make_env()
    envvars = {key: env[key] for key in env if key.startswith('ANSIBLE_') or key in ('PATH', 'PYTHONPATH')}
    return ansible_runner.run_async(private_data_dir=str(private_dir), playbook='mailops.port25.compliance',
                                    inventory=inventory, extravars=extravars, envvars=envvars, ident=ident,
                                    process_isolation=False, quiet=True, forks=8)


def _artifacts(runner):
    """The set_stats data of a finished run, from its playbook_on_stats event (what AWX stores as job artifacts)."""
    for event in runner.events:
        if event.get('event') == 'playbook_on_stats':
            return event['event_data'].get('artifact_data') or {}
    return {}


def _view(report):
    """What must match host by host: verdict, findings and the owner of the port before and after."""
    return {h['host']: (h['verdict'], [(f['code'], f['severity'], f['message']) for f in h['findings']],
                        h['before']['owner'], h['after']['owner']) for h in report['hosts']}


def _merge(tmp_path, label, extra):
    report_dir = str(tmp_path / label)
    # In a file, as AWX hands a job its extra variables: the artifacts are too long for one command-line argument.
    extra_vars = tmp_path / (label + '.json')
    extra_vars.write_text(json.dumps(dict(extra, report_dir=report_dir)), encoding='utf-8')
    cmd = [os.path.join(VENV_BIN, 'ansible-playbook'), 'mailops.port25.report_merge', '-e', '@%s' % extra_vars]
    proc = subprocess.run(cmd, env=make_env(), cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(report_dir, 'port25-report.json'), encoding='utf-8') as handle:
        return json.load(handle)


def test_four_slices_in_parallel_merge_into_the_report_of_one_unsliced_run(tmp_path):
    scenarios = tmp_path / 'scenarios'
    scenarios.mkdir()
    for name in SCENARIOS:
        shutil.copy(os.path.join(SCENARIO_DIR, name + '.yml'), str(scenarios))
    with contextlib.ExitStack() as stack:
        hosts = {}
        for index, subnet in enumerate(SUBNETS):
            lab = stack.enter_context(running_fleet(state_dir=str(tmp_path / ('lab%d' % index)), generate=HOSTS_PER_LAB,
                                                    extra_args=['--subnet', subnet, '--scenario-dir', str(scenarios)]))
            # Both labs generate the same names; the inventory names them apart (the lab knows a host by its address).
            hosts.update({'lab%d-%s' % (index, name): host_vars for name, host_vars in lab.hosts.items()})
        names = sorted(hosts)
        assert len(names) == HOSTS_PER_LAB * len(SUBNETS)
        # AWX gives slice n of N every N-th host of the inventory, starting at the n-th.
        slices = [names[number::SLICES] for number in range(SLICES)]
        started = []
        for number, part in enumerate(slices, 1):
            inventory = _inventory(str(tmp_path / ('slice%d.yml' % number)), {name: hosts[name] for name in part})
            started.append(_runner(tmp_path / ('runner%d' % number), inventory, {
                'report_dir': str(tmp_path / 'pieces' / ('slice%d' % number)), 'report_run_id': 'nightly-slice%d' % number,
                'report_slice_number': number, 'report_slice_count': SLICES}, 'slice%d' % number))
        # The unsliced run of the same fleet at the same time (read-only runs: they do not disturb each other).
        whole_inventory = _inventory(str(tmp_path / 'fleet.yml'), hosts)
        whole = _runner(tmp_path / 'runner-whole', whole_inventory, {'report_dir': str(tmp_path / 'whole')}, 'whole')
        for thread, _runner_ in started + [whole]:
            thread.join()
        for number, (_thread, runner) in enumerate(started + [whole], 1):
            assert (runner.status, runner.rc) == ('successful', 0), (number, runner.stdout.read()[-3000:])
        artifacts = {}
        for _thread, slice_runner in started:
            artifacts.update(_artifacts(slice_runner))

    with open(str(tmp_path / 'whole' / 'port25-report.json'), encoding='utf-8') as handle:
        whole = json.load(handle)
    merged = _merge(tmp_path, 'merged', {'report_sources': [str(tmp_path / 'pieces')]})
    assert len(merged['hosts']) == len(whole['hosts']) == len(names)
    assert _view(merged) == _view(whole)
    assert merged['summary'] == whole['summary'] and merged['mode'] == whole['mode'] == 'check'
    assert [(p['slice'], p['hosts']) for p in merged['merge']['pieces']] == [
        ({'number': n, 'count': SLICES}, len(slices[n - 1])) for n in range(1, SLICES + 1)]
    assert merged['merge']['overlaps'] == [] and merged['run']['targeted'] == names
    assert {h['host']: h['piece'] for h in merged['hosts']} == {
        name: 'nightly-slice%d' % n for n, part in enumerate(slices, 1) for name in part}
    # Every slice's report says which slice it is and which hosts it targeted.
    for number, part in enumerate(slices, 1):
        with open(str(tmp_path / 'pieces' / ('slice%d' % number) / 'port25-report.json'), encoding='utf-8') as handle:
            run = json.load(handle)['run']
        assert (run['slice'], run['targeted'], run['id']) == ({'number': number, 'count': SLICES}, part, 'nightly-slice%d' % number)

    # The job artifacts alone (as a workflow's merge node receives them as extra variables) give the same verdicts,
    # finding codes and owners.
    assert sorted(artifacts) == ['port25_piece_nightly_slice%d_slice%d' % (n, n) for n in range(1, SLICES + 1)] + ['port25_report']
    pieces = {key: value for key, value in artifacts.items() if key.startswith('port25_piece_')}
    from_artifacts = _merge(tmp_path, 'merged-artifacts', pieces)

    def summary(report):
        return {h['host']: (h['verdict'], [(f['code'], f['severity']) for f in h['findings']],
                            (h['after']['owner'] or {}).get('kind'), (h['after']['owner'] or {}).get('process'))
                for h in report['hosts']}
    assert summary(from_artifacts) == summary(whole)
    assert {p['source'] for p in from_artifacts['merge']['pieces']} == {'artifact'}
