# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety rules on the lab: tampered reports and role variables cannot make the collection touch antivirus, the
Exchange 2003 transport or any service outside the fix; accepted calls whose wait failed are recorded and undone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from winlab.testing import running_fleet, write_scenario

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, collection_playbook, fleet, invoke_requests, make_env, playbook_command, Run, scenario_hosts,
    services, state_bytes)


def method_calls(lab, host):
    return [r['action'].rsplit('/', 1)[1] for r in invoke_requests(lab, host)]


def made(action, name, before, after):
    return {'action': action, 'service': name, 'before': {'state': before[0], 'start_mode': before[1]},
            'after': {'state': after[0], 'start_mode': after[1]}, 'changed': True, 'completed': True}


def write_report(path, report):
    with open(str(path), 'w', encoding='utf-8') as handle:
        json.dump(report, handle)
    return str(path)


def test_a_tampered_report_cannot_make_rollback_touch_antivirus_the_transport_or_other_services(tmp_path):
    hosts = scenario_hosts(KB_HOST, 'ex55-av-proxy', 'ex2003')
    names = [h['name'] for h in hosts]
    with fleet(tmp_path, hosts) as lab:
        fix = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix')
        assert fix.rc == 0, fix.output
        report = fix.report()
        entries = dict((entry['host'], entry) for entry in report['hosts'])
        # The KB host's real record gains a stop of W3SVC; the antivirus host "stopped" TmProxy and disabled WinDefend;
        # the Exchange 2003 host "stopped and disabled" its transport.
        entries[KB_HOST]['actions'].append(made('stop', 'W3SVC', ('running', 'auto'), ('running', 'auto')))
        entries['ex55-av-proxy']['actions'] = [made('stop', 'TmProxy', ('running', 'auto'), ('running', 'auto')),
                                               made('set_start_mode', 'WinDefend', ('running', 'auto'), ('running', 'auto'))]
        entries['ex2003']['actions'] = [made('stop', 'SMTPSVC', ('running', 'auto'), ('running', 'auto')),
                                        made('set_start_mode', 'SMTPSVC', ('running', 'auto'), ('running', 'auto'))]
        tampered = write_report(tmp_path / 'tampered.json', report)
        calls = dict((name, method_calls(lab, name)) for name in names)
        untouched = dict((name, services(lab, name)) for name in ('ex55-av-proxy', 'ex2003'))

        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback', extra={'rollback_report': tampered})
        assert back.rc != 0
        result = back.hosts()
        # What the remediation did on the KB host is undone; W3SVC is refused and left running.
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')
        assert services(lab, KB_HOST)['MSExchangeIMC'] == ('Stopped', 'Auto')
        assert services(lab, KB_HOST)['W3SVC'] == ('Running', 'Auto')
        assert method_calls(lab, KB_HOST)[len(calls[KB_HOST]):] == ['StopService', 'ChangeStartMode', 'StartService']
        assert [f['message'] for f in result[KB_HOST]['flags']] == [
            'W3SVC was not rolled back: the remediation never changes W3SVC that way, so there is nothing of it to undo.']
        # Antivirus and the transport: refused, not one method call.
        for name in ('ex55-av-proxy', 'ex2003'):
            assert method_calls(lab, name) == calls[name], name
            assert services(lab, name) == untouched[name], name
            assert result[name]['verdict'] == 'failed' and result[name]['actions'] == []
        messages = [f['message'] for f in result['ex55-av-proxy']['flags']]
        assert any('TmProxy' in m and 'an antivirus product' in m for m in messages), messages
        assert any('WinDefend' in m and 'an antivirus product' in m for m in messages), messages
        assert 'is the Exchange transport on this host' in result['ex2003']['flags'][0]['message']
        assert sorted(back.recap) == sorted(names)

        # Strings where booleans belong, and a JSON file that is not a report: refused, nothing sent.
        report['hosts'][0]['changed'] = 'false'
        for label, data in (('strings', report), ('not-a-report', {'hosts': {'x': 1}})):
            path = write_report(tmp_path / (label + '.json'), data)
            before = dict((name, method_calls(lab, name)) for name in names)
            bad = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback-' + label, extra={'rollback_report': path})
            assert bad.rc != 0, label
            assert dict((name, method_calls(lab, name)) for name in names) == before, label
        assert "changed must be true or false, got 'false'" in bad.output or 'is not a port25 report' in bad.output


def test_role_variables_cannot_switch_the_safety_rules_off(tmp_path):
    hosts = scenario_hosts('ex55-av-proxy', 'ex2003')
    with fleet(tmp_path, hosts) as lab:
        av = collection_playbook('remediate', lab.inventory_path, tmp_path, 'av', '--limit', 'ex55-av-proxy',
                                 extra={'bind_conflict_smtp_service': 'TmProxy', 'bind_conflict_allowed_to_stop': ['TmProxy']})
        entry = av.hosts()['ex55-av-proxy']
        assert services(lab, 'ex55-av-proxy')['TmProxy'] == ('Running', 'Auto')
        assert method_calls(lab, 'ex55-av-proxy') == []
        assert entry['verdict'] == 'noncompliant' and entry['actions'] == []
        assert [f['code'] for f in entry['flags']] == ['ANTIVIRUS_HOLDS_PORT']

        forced = collection_playbook('remediate', lab.inventory_path, tmp_path, 'forced', '--limit', 'ex2003',
                                     extra={'bind_conflict_profile': 'exchange55'})
        assert forced.rc != 0
        entry = forced.hosts()['ex2003']
        assert entry['verdict'] == 'failed'
        assert 'profile=exchange55 contradicts the installed services, which are those of exchange2003' in entry['error']
        assert services(lab, 'ex2003')['SMTPSVC'] == ('Running', 'Auto')
        assert method_calls(lab, 'ex2003') == []


def slow_kb_host(stop_seconds):
    host = scenario_hosts(KB_HOST)[0]
    for service in host['services']:
        if service['name'] == 'SMTPSVC':
            service['stop_seconds'] = stop_seconds
    return host


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_a_stop_slower_than_the_deadline_is_recorded_and_rolled_back(tmp_path):
    with fleet(tmp_path, [slow_kb_host(4)]) as lab:
        fix = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix', extra={'bind_conflict_timeout': 1})
        assert fix.rc != 0
        entry = fix.hosts()[KB_HOST]
        assert [(a['action'], a['service'], a['changed'], a['completed']) for a in entry['actions']] == [
            ('stop', 'SMTPSVC', True, False)]
        assert 'timeout' in entry['error'] and entry['verdict'] == 'failed'
        # The stop goes on after the run gave up (the lab finishes it at the next request after its 4 s); the record
        # still lets rollback put the service back.
        time.sleep(4)
        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback',
                                   extra={'rollback_report': os.path.join(fix.report_dir, 'port25-report.json')})
        assert back.rc == 0, back.output
        assert [(a['action'], a['before']['state']) for a in back.hosts()[KB_HOST]['actions']] == [('start', 'stopped')]
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')


def test_a_lab_killed_while_a_stop_is_pending_is_recorded_and_rolled_back(tmp_path):
    spec = write_scenario(str(tmp_path / 'fleet.yml'), [slow_kb_host(6)])
    state = tmp_path / 'lab'
    with running_fleet([spec], state) as lab:
        inventory = os.path.join(str(tmp_path), 'inventory.yml')
        with open(lab.inventory_path, encoding='utf-8') as source, open(inventory, 'w', encoding='utf-8') as copy_:
            copy_.write(source.read())
        report_dir = str(tmp_path / 'fix')
        with subprocess.Popen(playbook_command('remediate', inventory, {'report_dir': report_dir}), env=make_env(),
                              cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as run:
            assert wait_for(lambda: 'StopService' in method_calls(lab, KB_HOST), 60), 'StopService never sent'
            lab.process.send_signal(signal.SIGKILL)
            lab.process.wait()
            output = run.communicate(timeout=300)[0]
        fixed = Run(subprocess.CompletedProcess(run.args, run.returncode, output, ''), report_dir)
    assert fixed.rc != 0
    entry = fixed.hosts()[KB_HOST]
    assert [(a['action'], a['service'], a['changed'], a['completed']) for a in entry['actions']] == [
        ('stop', 'SMTPSVC', True, False)], entry
    with running_fleet([spec], state) as lab:
        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback',
                                   extra={'rollback_report': os.path.join(report_dir, 'port25-report.json')})
        assert back.rc == 0, back.output
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')
        assert services(lab, KB_HOST)['MSExchangeIMC'] == ('Stopped', 'Auto')


def test_compliance_with_the_defaults_writes_the_report_in_the_working_directory(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST, 'ex55-healthy')) as lab:
        pristine = state_bytes(lab, [KB_HOST, 'ex55-healthy'])
        work = tmp_path / 'work'
        work.mkdir()
        run = collection_playbook('compliance', lab.inventory_path, tmp_path, None, cwd=work)
        assert run.rc == 0, run.output
        assert os.path.isfile(str(work / 'port25-report' / 'port25-report.json'))
        assert sorted(run.hosts()) == sorted([KB_HOST, 'ex55-healthy'])
        # Read-only: changed=0 everywhere, the flags speak in the conditional, and nothing was written on the hosts.
        assert dict((h, r['changed']) for h, r in run.recap.items()) == {KB_HOST: 0, 'ex55-healthy': 0}
        assert run.controller['changed'] == 0
        assert state_bytes(lab, [KB_HOST, 'ex55-healthy']) == pristine
        assert 'changed:' not in run.stdout


def test_no_hosts_matched_is_a_failure_naming_the_pattern_and_the_inventory(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        missing = collection_playbook('compliance', str(tmp_path / 'no-such-inventory.yml'), tmp_path, 'missing',
                                      extra={'fail_on_noncompliant': True})
        assert missing.rc != 0
        assert "No hosts matched the pattern 'windows'" in missing.output
        other = collection_playbook('remediate', lab.inventory_path, tmp_path, 'other', extra={'target': 'exchange_servers'})
        assert other.rc != 0
        assert "No hosts matched the pattern 'exchange_servers' in the inventory %s" % lab.inventory_path in other.output
        assert lab.requests(KB_HOST) == []


def test_an_unwritable_report_dir_fails_before_any_host_changes(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        pristine = state_bytes(lab, [KB_HOST])
        for report_dir in ('/proc/port25', str(tmp_path / 'a-file')):
            (tmp_path / 'a-file').write_text('x', encoding='utf-8')
            run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'unused', extra={'report_dir': report_dir})
            assert run.rc != 0, report_dir
            assert report_dir in run.output
            assert KB_HOST not in run.recap
        assert lab.requests(KB_HOST) == []
        assert state_bytes(lab, [KB_HOST]) == pristine


def test_two_runs_on_one_report_dir_do_not_interleave(tmp_path):
    host = scenario_hosts(KB_HOST)[0]
    for service in host['services']:
        if service['name'] == 'MSExchangeIMC':
            service['start_seconds'] = 4
    with fleet(tmp_path, [host]) as lab:
        report_dir = str(tmp_path / 'shared')
        lock = os.path.join(report_dir, '.port25-report.lock')
        with subprocess.Popen(playbook_command('remediate', lab.inventory_path, {'report_dir': report_dir}), env=make_env(),
                              cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as first:
            assert wait_for(lambda: os.path.exists(lock), 60), 'the first run never locked the report directory'
            second = collection_playbook('compliance', lab.inventory_path, tmp_path, 'shared')
            first_output = first.communicate(timeout=300)[0]
        assert first.returncode == 0, first_output
        assert second.rc != 0
        assert 'another run' in second.output and str(first.pid) in second.output
        assert KB_HOST not in second.recap
        # The report is the first run's, whole: the second wrote nothing into it.
        entry = second.hosts()[KB_HOST]
        assert entry['check_mode'] is False and [a['action'] for a in entry['actions']] == ['stop', 'set_start_mode', 'start']
        assert not os.path.exists(lock)
