# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollback.yml puts back exactly what a remediation recorded, in reverse order, and nothing else."""

from __future__ import annotations

import os

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, collection_playbook, fleet, invoke_requests, port_owner, scenario_hosts, services)


def method_calls(lab, host):
    return [(r['action'].rsplit('/', 1)[1]) for r in invoke_requests(lab, host)]


def test_rollback_restores_the_recorded_state_and_is_idempotent(tmp_path):
    hosts = scenario_hosts(KB_HOST, 'ex2019-iis-smtp', 'ex55-healthy')
    names = [h['name'] for h in hosts]
    with fleet(tmp_path, hosts) as lab:
        original = dict((name, services(lab, name)) for name in names)
        fix = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix')
        assert fix.rc == 0, fix.output
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Stopped', 'Disabled')
        calls_after_fix = dict((name, method_calls(lab, name)) for name in names)
        report = os.path.join(fix.report_dir, 'port25-report.json')

        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback', extra={'rollback_report': report})
        assert back.rc == 0, back.output
        # Every service of every host is as it was before the remediation (so nothing else was touched).
        assert dict((name, services(lab, name)) for name in names) == original
        assert services(lab, KB_HOST)['MSExchangeIMC'] == ('Stopped', 'Auto')
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')
        assert port_owner(lab, KB_HOST) == 'SMTPSVC'
        # Reverse order: the mail service is stopped before SMTPSVC is enabled and started again.
        assert method_calls(lab, KB_HOST)[len(calls_after_fix[KB_HOST]):] == ['StopService', 'ChangeStartMode', 'StartService']
        # The healthy host was not changed by the remediation, so the rollback sent it nothing either.
        assert method_calls(lab, 'ex55-healthy') == []
        assert back.recap[KB_HOST]['changed'] == 1 and back.recap['ex55-healthy']['changed'] == 0

        again = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback-again', extra={'rollback_report': report})
        assert again.rc == 0, again.output
        assert dict((h, r['changed']) for h, r in again.recap.items()) == dict((name, 0) for name in names)
        assert dict((name, services(lab, name)) for name in names) == original


def test_rollback_of_a_check_run_changes_nothing(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        check = collection_playbook('compliance', lab.inventory_path, tmp_path, 'compliance')
        assert check.rc == 0, check.output
        report = os.path.join(check.report_dir, 'port25-report.json')
        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback', extra={'rollback_report': report})
        assert back.rc == 0, back.output
        assert invoke_requests(lab, KB_HOST) == []
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')


def test_rollback_without_a_report_fails_clearly(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        back = collection_playbook('rollback', lab.inventory_path, tmp_path, 'rollback')
        assert back.rc != 0
        assert 'Set rollback_report to the port25-report.json' in back.output
        assert lab.requests(KB_HOST) == []
