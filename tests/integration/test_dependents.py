# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dependent services end to end: the lab serves Win32_DependentService, the collection reads and acts on it.

On ex55-smtp, SMTPSVC and W3SVC depend on IISADMIN (all three running). service_info reports them as IISADMIN's
dependents; the service module refuses to stop IISADMIN unless dependents=stop, then stops the dependents first.
"""
from __future__ import annotations

import os

HOST = 'ex55-smtp'
IIS = ('IISADMIN', 'SMTPSVC', 'W3SVC')
ALLOWED = list(IIS)


def _state_bytes(lab):
    with open(os.path.join(lab.state_dir, HOST + '.json'), 'rb') as handle:
        return handle.read()


def _states(lab):
    return {svc['name']: svc['state'] for svc in lab.host_state(HOST)['services'] if svc['name'] in IIS}


def _method_calls(lab):
    return [r['action'].rsplit('/', 1)[1] for r in lab.requests(HOST) if '/Win32_Service/' in (r.get('action') or '')]


def _stopped_events(lab):
    """Display names of the services the SCM reported stopped (event 7036), oldest first."""
    suffix = ' service entered the stopped state.'
    return [e['message'][len('The '):-len(suffix)] for e in lab.host_state(HOST)['events']
            if e['event_id'] == 7036 and e['message'].endswith(suffix)]


def _one(result, failed=False):
    """The host's result; ``failed``: whether ansible must report the task failed (--tree results carry no 'failed')."""
    assert set(result.results) == {HOST}, result.stdout + result.stderr
    assert (result.rc != 0) == failed, result.stdout + result.stderr
    return result.results[HOST]


def test_service_info_reports_the_dependents(scenario_variant, start_fleet, run_adhoc):
    lab = start_fleet(scenario_variant('ex55-smtp', hosts=[HOST]))
    before = _state_bytes(lab)
    info = _one(run_adhoc(lab.inventory_path, 'mailops.port25.service_info', {'name': ['IISADMIN', 'SMTPSVC', 'RpcSs']}, pattern=HOST))
    assert info['gaps'] == []
    assert {s['name']: s['dependents'] for s in info['services']} == {
        'IISADMIN': ['SMTPSVC', 'W3SVC'], 'RpcSs': ['IISADMIN', 'LanmanServer', 'MSExchangeSA', 'Schedule', 'Spooler', 'Winmgmt', 'WinRM'],
        'SMTPSVC': []}
    assert _state_bytes(lab) == before


def test_stop_with_running_dependents(scenario_variant, start_fleet, run_adhoc):
    lab = start_fleet(scenario_variant('ex55-smtp', hosts=[HOST]))
    inventory = lab.inventory_path
    before = _state_bytes(lab)
    events_before = _stopped_events(lab)

    # default dependents=fail: refused before any method call, naming the running dependents
    refused = _one(run_adhoc(inventory, 'mailops.port25.service', {'name': 'IISADMIN', 'state': 'stopped', 'allowed': ALLOWED},
                             pattern=HOST), failed=True)
    assert refused['error']['actions'] == []
    assert 'running services depend on IISADMIN: SMTPSVC, W3SVC; nothing was stopped' in refused['msg']
    # a dependent off the allowed list: refused too, naming it
    narrow = _one(run_adhoc(inventory, 'mailops.port25.service',
                            {'name': 'IISADMIN', 'state': 'stopped', 'dependents': 'stop', 'allowed': ['IISADMIN', 'SMTPSVC']},
                            pattern=HOST), failed=True)
    assert 'dependents W3SVC are not on the allowed list; nothing was stopped' in narrow['msg']
    # check mode predicts the stops, dependents first, and changes nothing
    args = {'name': 'IISADMIN', 'state': 'stopped', 'dependents': 'stop', 'allowed': ALLOWED, 'timeout': 30}
    predicted = _one(run_adhoc(inventory, 'mailops.port25.service', args, pattern=HOST, check=True))
    assert predicted['changed'] is True
    assert predicted['stopped_dependents'] == ['SMTPSVC', 'W3SVC']
    assert [(a['service'], a['action']) for a in predicted['actions']] == [('SMTPSVC', 'stop'), ('W3SVC', 'stop'), ('IISADMIN', 'stop')]
    assert _method_calls(lab) == []
    assert _state_bytes(lab) == before

    made = _one(run_adhoc(inventory, 'mailops.port25.service', args, pattern=HOST))
    assert made['changed'] is True
    assert made['stopped_dependents'] == ['SMTPSVC', 'W3SVC']
    assert made['actions'] == predicted['actions']
    assert _method_calls(lab) == ['StopService'] * 3
    assert _states(lab) == {'IISADMIN': 'Stopped', 'SMTPSVC': 'Stopped', 'W3SVC': 'Stopped'}
    assert _stopped_events(lab)[len(events_before):] == [
        'Simple Mail Transfer Protocol (SMTP)', 'World Wide Web Publishing Service', 'IIS Admin Service']

    again = _one(run_adhoc(inventory, 'mailops.port25.service', args, pattern=HOST))
    assert (again['changed'], again['actions'], again['stopped_dependents']) == (False, [], [])
    assert _method_calls(lab) == ['StopService'] * 3
