# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bind_conflict role through the compliance and remediate playbooks, on a fresh lab fleet per test."""

from __future__ import annotations

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, change_keys, collection_playbook, fleet, invoke_requests, port_owner, processes, renamed,
    scenario_hosts, services, state_bytes, write_inventory)

KB_FIX = [
    ('stop', 'SMTPSVC', {'state': 'running', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'auto'}),
    ('set_start_mode', 'SMTPSVC', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'disabled'}),
    ('start', 'MSExchangeIMC', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'running', 'start_mode': 'auto'}),
]
FET_FIX = [KB_FIX[0], KB_FIX[1],
           ('start', 'MSExchangeFrontEndTransport', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'running', 'start_mode': 'auto'})]
# What each shipped scenario needs (the verdict after a real run, and the flags it must carry).
EXPECTED = {
    'ex55-smtp': (KB_FIX, 'compliant', []),
    'oldos-ex55-smtp': (KB_FIX, 'compliant', []),
    'ex2019-iis-smtp': (FET_FIX, 'compliant', []),
    'ex2019-biglog': (FET_FIX, 'compliant', []),
    'ex55-smtp-stopped-auto': ([KB_FIX[1]], 'compliant', []),
    'ex55-healthy': ([], 'compliant', []),
    'ex2003': ([], 'compliant', ['SMTP_SERVICE_IS_TRANSPORT']),
    'ex55-av-proxy': ([], 'noncompliant', ['ANTIVIRUS_HOLDS_PORT']),
    'ex55-unknown-owner': ([], 'noncompliant', ['UNKNOWN_OWNER']),
}


def bind_failures(lab, host):
    return [(e['source'], e['event_id']) for e in lab.host_state(host)['events'] if e['event_id'] in (1018, 1019, 4007, 4020)]


def codes(items):
    return sorted(item['code'] for item in items)


def test_compliance_check_fix_and_second_run_over_every_shipped_scenario(tmp_path):
    hosts = scenario_hosts()
    names = sorted(h['name'] for h in hosts)
    assert names == sorted(EXPECTED)
    with fleet(tmp_path, hosts) as lab:
        inventory = lab.inventory_path
        pristine = state_bytes(lab, names)
        av_processes = processes(lab, 'ex55-av-proxy')
        fet_failures = bind_failures(lab, 'ex2019-iis-smtp')
        assert len(fet_failures) == 2

        # compliance.yml is read-only even without --check, and predicts the fix.
        compliance = collection_playbook('compliance', inventory, tmp_path, 'compliance')
        assert compliance.rc == 0, compliance.output
        assert state_bytes(lab, names) == pristine
        predicted = dict((h, change_keys(e['actions'])) for h, e in compliance.hosts().items())
        assert predicted == dict((h, EXPECTED[h][0]) for h in names)
        assert all(e['check_mode'] is True and e['error'] is None for e in compliance.hosts().values())

        # --check changes nothing either and predicts the same.
        check = collection_playbook('remediate', inventory, tmp_path, 'check', '--check')
        assert check.rc == 0, check.output
        assert state_bytes(lab, names) == pristine
        assert dict((h, change_keys(e['actions'])) for h, e in check.hosts().items()) == predicted
        assert all(invoke_requests(lab, name) == [] for name in names)

        # The real run makes exactly the predicted changes.
        fix = collection_playbook('remediate', inventory, tmp_path, 'fix')
        assert fix.rc == 0, fix.output
        made = fix.hosts()
        assert dict((h, change_keys(e['actions'])) for h, e in made.items()) == predicted
        for name in names:
            entry = made[name]
            assert (entry['verdict'], codes(entry['flags']), entry['error']) == EXPECTED[name][1:] + (None,), (name, entry)
            assert all(action['changed'] is True for action in entry['actions'])
            assert entry['changed'] is bool(EXPECTED[name][0])

        # The KB host: SMTPSVC stopped and disabled, MSExchangeIMC running and owning port 25.
        kb = services(lab, KB_HOST)
        assert kb['SMTPSVC'] == ('Stopped', 'Disabled')
        assert kb['MSExchangeIMC'] == ('Running', 'Auto')
        assert kb['IISADMIN'] == ('Running', 'Auto')
        assert port_owner(lab, KB_HOST) == 'MSExchangeIMC'
        assert made[KB_HOST]['before']['verdict'] == 'noncompliant'
        assert made[KB_HOST]['after']['owner']['kind'] == 'mail_service'
        assert port_owner(lab, 'oldos-ex55-smtp') == 'MSExchangeIMC'

        # Exchange 2019 with IIS SMTP: the front-end transport is the mail service, its 1019/1018 events were found.
        ex2019 = made['ex2019-iis-smtp']
        assert services(lab, 'ex2019-iis-smtp')['SMTPSVC'] == ('Stopped', 'Disabled')
        assert port_owner(lab, 'ex2019-iis-smtp') == 'MSExchangeFrontEndTransport'
        assert ex2019['before']['mail_service']['name'] == 'MSExchangeFrontEndTransport'
        assert 'BIND_FAILURE_EVENTS' in codes(ex2019['before']['findings'])
        assert [f['severity'] for f in ex2019['after']['findings'] if f['code'] == 'BIND_FAILURE_EVENTS'] == ['warning']   # old ones only
        assert bind_failures(lab, 'ex2019-iis-smtp') == fet_failures   # the start wrote no new 1018/1019

        # Exchange 2003: SMTPSVC is the transport and was never stopped (no method call at all).
        assert services(lab, 'ex2003')['SMTPSVC'] == ('Running', 'Auto')
        assert invoke_requests(lab, 'ex2003') == []

        # Antivirus and unknown owners: untouched, flagged with the KB's advice, the mail service not started.
        for name, holder in (('ex55-av-proxy', 'TmProxy'), ('ex55-unknown-owner', 'mailrelay.exe')):
            assert invoke_requests(lab, name) == [], name
            assert port_owner(lab, name) == holder
            assert services(lab, name)['MSExchangeIMC'] == ('Stopped', 'Auto')
        assert processes(lab, 'ex55-av-proxy') == av_processes
        av_flag = made['ex55-av-proxy']['flags'][0]
        assert 'disable the antivirus product by hand' in av_flag['advice'] and 'contact the antivirus vendor' in av_flag['advice']
        assert 'TmProxy' in av_flag['message']

        # A second run changes nothing anywhere.
        again = collection_playbook('remediate', inventory, tmp_path, 'again')
        assert again.rc == 0, again.output
        assert sorted(again.recap) == names
        assert dict((h, r['changed']) for h, r in again.recap.items()) == dict((h, 0) for h in names)
        assert all(e['actions'] == [] for e in again.hosts().values())

        # Compliance afterwards: only the hosts a human must look at are non-compliant, and fail_on_noncompliant fails the run.
        final = collection_playbook('compliance', inventory, tmp_path, 'final', extra={'fail_on_noncompliant': True})
        assert final.rc != 0
        verdicts = dict((h, e['verdict']) for h, e in final.hosts().items())
        assert verdicts == dict((h, EXPECTED[h][1]) for h in names)
        assert dict((h, r['failed']) for h, r in final.recap.items()) == dict((h, int(EXPECTED[h][1] != 'compliant')) for h in names)


def test_antivirus_action_fail_fails_that_host_only(tmp_path):
    hosts = scenario_hosts('ex55-av-proxy', KB_HOST)
    with fleet(tmp_path, hosts) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix', extra={'bind_conflict_antivirus_action': 'fail'})
        assert run.rc != 0
        assert (run.recap['ex55-av-proxy']['failed'], run.recap[KB_HOST]['failed']) == (1, 0)
        entries = run.hosts()
        av = entries['ex55-av-proxy']
        assert av['verdict'] == 'failed'
        assert 'TmProxy' in av['error'] and '(antivirus_action=fail)' in av['error']
        assert av['actions'] == [] and codes(av['flags']) == ['ANTIVIRUS_HOLDS_PORT']
        assert invoke_requests(lab, 'ex55-av-proxy') == []
        assert entries[KB_HOST]['verdict'] == 'compliant'
        assert port_owner(lab, KB_HOST) == 'MSExchangeIMC'


def test_smtp_service_not_on_the_allow_list_is_left_alone(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix', extra={'bind_conflict_allowed_to_stop': ['IISADMIN']})
        assert run.rc == 0, run.output
        entry = run.hosts()[KB_HOST]
        assert (entry['actions'], codes(entry['flags']), entry['verdict']) == ([], ['SMTP_SERVICE_NOT_ALLOWED'], 'noncompliant')
        assert invoke_requests(lab, KB_HOST) == []
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')


BAD_VARIABLES = [
    ({'bind_conflict_port': 0}, 'port must be a TCP port number from 1 to 65535, got 0'),
    ({'bind_conflict_antivirus_action': 'kill'}, 'value of antivirus_action must be one of: flag, fail, got: kill'),
    ({'bind_conflict_event_window_hours': 9000}, 'event_window_hours must be a number of hours from 1 to 8784, got 9000'),
    ({'bind_conflict_timeout': 0}, 'timeout must be at least 1, got 0'),
    ({'bind_conflict_disable_smtp_service': 'treu'}, "The value 'treu' is not a valid boolean"),
    ({'bind_conflict_allowed_to_stop': 'SMTPSVC'}, None),
]


def test_bad_variables_are_rejected_before_anything_runs(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        pristine = state_bytes(lab, [KB_HOST])
        for index, (extra, message) in enumerate(BAD_VARIABLES[:-1]):
            run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix%d' % index, extra=extra)
            assert run.rc != 0, extra
            assert message in run.output, (extra, run.output)
            assert run.recap[KB_HOST]['failed'] == 1
            assert message in run.hosts()[KB_HOST]['error']
        assert lab.requests(KB_HOST) == []
        assert state_bytes(lab, [KB_HOST]) == pristine


def test_hostile_service_names_are_quoted_and_match_nothing(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        # An SMTP service name that matches nothing: the real SMTPSVC is then an unknown program on the port.
        smtp = collection_playbook('remediate', lab.inventory_path, tmp_path, 'smtp', extra={'bind_conflict_smtp_service': "SMTPSVC' OR Name LIKE '%"})
        assert smtp.rc == 0, smtp.output
        entry = smtp.hosts()[KB_HOST]
        assert (entry['actions'], [f['code'] for f in entry['flags']]) == ([], ['UNKNOWN_OWNER'])
        assert invoke_requests(lab, KB_HOST) == []
        # A mail service name that matches nothing: the SMTP service is still in the way, and nothing is started.
        mail = collection_playbook('remediate', lab.inventory_path, tmp_path, 'mail', extra={'bind_conflict_mail_service': 'MSExchangeIMC" OR Name="SMTPSVC'})
        assert mail.rc == 0, mail.output
        assert [(a['action'], a['service']) for a in mail.hosts()[KB_HOST]['actions']] == [
            ('stop', 'SMTPSVC'), ('set_start_mode', 'SMTPSVC')]
        assert services(lab, KB_HOST)['MSExchangeIMC'] == ('Stopped', 'Auto')


def test_limit_serial_and_max_fail_percentage(tmp_path):
    kb = scenario_hosts(KB_HOST)[0]
    with fleet(tmp_path, [renamed(kb, 'a-bad-password'), kb, renamed(kb, 'z-other')]) as lab:
        inventory = dict(lab.hosts)
        inventory['a-bad-password'] = dict(inventory['a-bad-password'], ansible_password='wrong')
        path = write_inventory(tmp_path / 'inventory.yml', inventory)

        # --limit: only the named host is touched and reported.
        limited = collection_playbook('remediate', path, tmp_path, 'limited', '--limit', KB_HOST)
        assert limited.rc == 0, limited.output
        assert sorted(limited.hosts()) == [KB_HOST]
        assert services(lab, 'z-other')['SMTPSVC'] == ('Running', 'Auto')
        assert port_owner(lab, KB_HOST) == 'MSExchangeIMC'

        # One host per batch and no failure tolerated: the first batch fails, the later batches never start,
        # and the report written before the stop still lists every targeted host.
        rolling = collection_playbook('remediate', path, tmp_path, 'rolling', extra={"rollout_batch": 1, "rollout_max_fail_percentage": 0})
        assert rolling.rc != 0
        assert rolling.recap['a-bad-password']['failed'] == 1
        assert 'z-other' not in rolling.recap
        assert services(lab, 'z-other')['SMTPSVC'] == ('Running', 'Auto')
        assert invoke_requests(lab, 'z-other') == []
        entries = rolling.hosts()
        assert sorted(entries) == ['a-bad-password', KB_HOST, 'z-other']
        # Hosts of batches that never ran are "not run yet", not failed.
        assert dict((h, e['verdict']) for h, e in entries.items()) == {
            'a-bad-password': 'failed', KB_HOST: 'not_run', 'z-other': 'not_run'}
        assert 'wrong' not in entries['a-bad-password']['error'] and 'LAB\\ansible' in entries['a-bad-password']['error']

        # Without the failure limit the batches go on after a failed host.
        tolerant = collection_playbook('remediate', path, tmp_path, 'tolerant', extra={"rollout_batch": 1})
        assert tolerant.rc != 0
        assert (tolerant.recap['a-bad-password']['failed'], tolerant.recap['z-other']['failed']) == (1, 0)
        # The reason is printed once, where the host failed (the last play only says that it failed).
        assert tolerant.output.count('[ERROR]: Task failed: Action failed: 127.') == 1, tolerant.output
        assert 'The remediation of this host failed in its batch' in tolerant.output
        assert port_owner(lab, 'z-other') == 'MSExchangeIMC'
        assert dict((h, e['verdict']) for h, e in tolerant.hosts().items()) == {
            'a-bad-password': 'failed', KB_HOST: 'compliant', 'z-other': 'compliant'}


def test_exchange2003_transport_is_started_never_stopped(tmp_path):
    ex2003 = scenario_hosts('ex2003')[0]
    for service in ex2003['services']:
        if service['name'] == 'SMTPSVC':
            service['state'] = 'stopped'   # the transport is down and port 25 is free
    with fleet(tmp_path, [ex2003]) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix')
        assert run.rc == 0, run.output
        entry = run.hosts()['ex2003']
        assert change_keys(entry['actions']) == [
            ('start', 'SMTPSVC', {'state': 'stopped', 'start_mode': 'auto'}, {'state': 'running', 'start_mode': 'auto'})]
        assert (entry['verdict'], codes(entry['flags'])) == ('compliant', ['SMTP_SERVICE_IS_TRANSPORT'])
        assert [r['action'].rsplit('/', 1)[1] for r in invoke_requests(lab, 'ex2003')] == ['StartService']
        assert port_owner(lab, 'ex2003') == 'SMTPSVC'
