# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mailops.port25.service against lab hosts, with the connection taken from the lab's inventory only."""

from __future__ import annotations

import json
import re

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, adhoc_process, fleet, invoke_requests, port_owner, renamed, scenario_hosts, service_record, services)

_RESULT = re.compile(r'^(\S+) \| (\w+)!? => (\{.*?^\})', re.MULTILINE | re.DOTALL)


def results(completed):
    """{host: (status, result dict)} from ad-hoc output."""
    return dict((m.group(1), (m.group(2), json.loads(m.group(3)))) for m in _RESULT.finditer(completed.stdout))


def service(lab, args, *options, host=KB_HOST):
    completed = adhoc_process(lab.inventory_path, host, 'mailops.port25.service', args, *options)
    found = results(completed)
    assert host in found, completed.stdout + completed.stderr
    return found[host]


def methods(lab, host=KB_HOST):
    return [r['action'].rsplit('/', 1)[1] for r in invoke_requests(lab, host)]


def test_check_apply_idempotent_and_diff(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        args = {'name': 'smtpsvc', 'state': 'stopped', 'start_mode': 'disabled', 'allowed': ['SMTPSVC']}
        status, predicted = service(lab, args, '--check', '--diff')
        assert status == 'CHANGED'
        assert methods(lab) == []
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Running', 'Auto')

        status, made = service(lab, args, '--diff')
        assert status == 'CHANGED'
        assert made['actions'] == predicted['actions']
        assert [a['action'] for a in made['actions']] == ['stop', 'set_start_mode']
        assert made['before'] == dict(predicted['before'])
        assert made['after'] == {'state': 'stopped', 'start_mode': 'disabled', 'pid': None, 'exists': True} == predicted['after']
        assert made['name'] == 'SMTPSVC'
        assert methods(lab) == ['StopService', 'ChangeStartMode']
        assert services(lab, KB_HOST)['SMTPSVC'] == ('Stopped', 'Disabled')
        assert services(lab, KB_HOST)['IISADMIN'] == ('Running', 'Auto')   # shares inetinfo.exe; never touched
        assert port_owner(lab, KB_HOST) is None

        status, again = service(lab, args)
        assert (status, again['changed'], again['actions']) == ('SUCCESS', False, [])
        assert methods(lab) == ['StopService', 'ChangeStartMode']

        status, started = service(lab, {'name': 'MSExchangeIMC', 'state': 'started', 'timeout': 30})
        assert status == 'CHANGED' and started['after']['state'] == 'running'
        assert port_owner(lab, KB_HOST) == 'MSExchangeIMC'


def test_refusals_change_nothing(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        status, refused = service(lab, {'name': 'WinDefend', 'state': 'stopped', 'allowed': ['SMTPSVC']})
        assert status == 'FAILED'
        assert 'refusing to act on service WinDefend: it is not on the allowed list (SMTPSVC)' in refused['msg']
        assert lab.requests(KB_HOST) == []

        # IIS Admin has running dependents (SMTPSVC, W3SVC): refused before any method call, nothing stopped.
        status, deps = service(lab, {'name': 'IISADMIN', 'state': 'stopped'})
        assert status == 'FAILED'
        assert 'running services depend on IISADMIN: SMTPSVC, W3SVC' in deps['msg'] and 'dependents=stop' in deps['msg']
        assert methods(lab) == []
        assert [services(lab, KB_HOST)[n] for n in ('IISADMIN', 'SMTPSVC', 'W3SVC')] == [('Running', 'Auto')] * 3


def test_start_while_the_port_is_held_fails_with_the_winsock_error(tmp_path):
    with fleet(tmp_path, scenario_hosts(KB_HOST)) as lab:
        status, result = service(lab, {'name': 'MSExchangeIMC', 'state': 'started', 'timeout': 30})
        assert status == 'FAILED'
        assert 'MSExchangeIMC stopped again right after it was started' in result['msg']
        assert '10048 (WSAEADDRINUSE' in result['msg']
        assert methods(lab) == ['StartService']
        record = service_record(lab, KB_HOST, 'MSExchangeIMC')
        assert (record['state'], record['exit_code'], record['specific_exit_code']) == ('Stopped', 1066, 10048)


def test_timed_out_stop_is_not_repeated(tmp_path):
    host = renamed(scenario_hosts(KB_HOST)[0], 'slow', faults={'operation_timeout_on': ['StopService']})
    with fleet(tmp_path, [host]) as lab:
        status, result = service(lab, {'name': 'SMTPSVC', 'state': 'stopped', 'timeout': 10}, '-e', 'ansible_winrm_operation_timeout_sec=2',
                                 '-e', 'ansible_winrm_read_timeout_sec=4', host='slow')
        assert status == 'FAILED'
        assert 'StopService on SMTPSVC got no answer' in result['msg'] and 'not repeated' in result['msg']
        assert methods(lab, 'slow') == ['StopService']
        assert services(lab, 'slow')['SMTPSVC'] == ('Running', 'Auto')
