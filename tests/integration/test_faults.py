# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults end one host with a clear message within its timeout; the other hosts finish and every host is reported."""

from __future__ import annotations

import time

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, collection_playbook, fleet, port_owner, renamed, scenario_hosts, services, write_inventory)
from winlab.testing import free_port

# Short WinRM timeouts for the faulty hosts, so that the test takes seconds (the defaults are 20 s and 30 s).
FAST = {'ansible_winrm_operation_timeout_sec': 2, 'ansible_winrm_read_timeout_sec': 4}


def test_faulty_hosts_fail_alone_with_clear_messages(tmp_path):
    kb = scenario_hosts(KB_HOST)[0]
    hosts = [
        kb,
        renamed(kb, 'stop-times-out', faults={'operation_timeout_on': ['StopService']}),
        renamed(kb, 'drops-connections', faults={'drop_connections': 100000}),
        renamed(kb, 'wrong-password'),
    ]
    with fleet(tmp_path, hosts) as lab:
        inventory = dict(lab.hosts)
        for name in ('stop-times-out', 'drops-connections', 'wrong-password'):
            inventory[name] = dict(inventory[name], **FAST)
        inventory['wrong-password']['ansible_password'] = 'not-the-password'
        inventory['unreachable'] = dict(inventory[KB_HOST], ansible_host='127.0.0.1', ansible_port=free_port(), **FAST)
        path = write_inventory(tmp_path / 'inventory.yml', inventory)

        untouched = dict((name, services(lab, name)) for name in ('drops-connections', 'wrong-password'))
        started = time.monotonic()
        run = collection_playbook('remediate', path, tmp_path, 'fix', timeout=240)
        elapsed = time.monotonic() - started
        assert run.rc != 0
        entries = run.hosts()
        assert sorted(entries) == sorted(inventory)

        # The healthy KB host was fixed although the others failed.
        assert entries[KB_HOST]['verdict'] == 'compliant', entries[KB_HOST]
        assert run.recap[KB_HOST]['failed'] == 0
        assert port_owner(lab, KB_HOST) == 'MSExchangeIMC'

        failed = dict((name, entries[name]['error']) for name in inventory if name != KB_HOST)
        assert all(entries[name]['verdict'] == 'failed' and run.recap[name]['failed'] == 1 for name in failed), failed

        # StopService timed out: not repeated, the host still has SMTPSVC running, and the message says so.
        assert 'StopService' in failed['stop-times-out'] and 'not repeated' in failed['stop-times-out']
        assert services(lab, 'stop-times-out')['SMTPSVC'] == ('Running', 'Auto')
        assert services(lab, 'stop-times-out')['MSExchangeIMC'] == ('Stopped', 'Auto')
        assert entries['stop-times-out']['actions'] == []

        assert 'LAB\\ansible' in failed['wrong-password'] and 'not-the-password' not in run.output
        for name in ('drops-connections', 'unreachable'):
            assert inventory[name]['ansible_host'] in failed[name], failed[name]
        assert dict((name, services(lab, name)) for name in untouched) == untouched
        # Within the timeouts: nothing waited for the 20/30 s defaults or for a hung connection.
        assert elapsed < 120, elapsed


def test_failed_verification_is_recorded_with_the_changes_already_made(tmp_path):
    kb = scenario_hosts(KB_HOST)[0]
    # This mail service starts fine but listens elsewhere, so port 25 stays free: the fix cannot be verified.
    for service in kb['services']:
        if service['name'] == 'MSExchangeIMC':
            service['listens'] = [2525]
    with fleet(tmp_path, [kb]) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix',
                                  extra={'bind_conflict_verify_retries': 2, 'bind_conflict_verify_delay': 0})
        assert run.rc != 0
        assert run.recap[KB_HOST]['failed'] == 1
        entry = run.hosts()[KB_HOST]
        assert entry['verdict'] == 'failed'
        assert entry['error'] == 'verification failed after 2 attempt(s): port 25 is held by nobody (none), not by MSExchangeIMC'
        # The changes were made and are in the report, so that rollback can undo them.
        assert [(a['action'], a['service'], a['changed']) for a in entry['actions']] == [
            ('stop', 'SMTPSVC', True), ('set_start_mode', 'SMTPSVC', True), ('start', 'MSExchangeIMC', True)]
        assert entry['changed'] is True
        assert services(lab, KB_HOST)['MSExchangeIMC'] == ('Running', 'Auto')


def test_owner_that_cannot_be_read_is_flagged_and_nothing_changes(tmp_path):
    host = renamed(scenario_hosts(KB_HOST)[0], 'no-tcp-table', faults={'access_denied_classes': ['MSFT_NetTCPConnection']})
    with fleet(tmp_path, [host]) as lab:
        run = collection_playbook('remediate', lab.inventory_path, tmp_path, 'fix')
        assert run.rc == 0, run.output
        entry = run.hosts()['no-tcp-table']
        assert (entry['actions'], entry['verdict']) == ([], 'noncompliant')
        assert [f['code'] for f in entry['flags']] == ['UNKNOWN_OWNER']
        assert 'could not be read (MSFT_NetTCPConnection)' in entry['flags'][0]['message']
        assert services(lab, 'no-tcp-table')['SMTPSVC'] == ('Running', 'Auto')
