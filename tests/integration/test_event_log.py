# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The 100,000-record log of ex2019-biglog over the wire: the diagnosis reads its 72 hours and takes the WinSock code
from InsertionStrings; a whole-log query times out or hits WMI's quota, the Security log needs a privilege the account
lacks, and each refusal is a named gap with a warning, never a failed task."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.tests.integration.helpers import adhoc

HOST = 'ex2019-biglog'
WHOLE_LOG = {'log': 'Application', 'window_hours': 8784}


def _event_info(diag_fleets, ansible_env, tmp_path, args, extra=()):
    lab = diag_fleets['ntlm-http']
    result = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.event_info', args, pattern=HOST,
                   extra=extra)
    assert result.rc == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return lab, result, result.results[HOST]


def test_the_diagnosis_reads_the_window_and_the_codes_without_messages(diag_fleets, ansible_env, tmp_path):
    lab = diag_fleets['ntlm-http']
    mark = len(lab.requests(HOST))
    # a port nothing holds, so the events are read (on port 25 SMTPSVC explains the failure: conflict_info reads none)
    res = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.conflict_info', {'port': 2526},
                pattern=HOST).results[HOST]
    assert res['gaps'] == []
    assert [(e['event_id'], e['message'], e['insertion_strings'][-1], e['winsock_error']) for e in res['events']] == [
        (1018, None, '10048', 10048), (1019, None, '0.0.0.0:25', 10048)]
    assert all(e['time'].endswith('Z') for e in res['events'])
    enumerates = [r for r in lab.requests(HOST)[mark:] if r['action'].endswith('/Enumerate')]
    assert len(enumerates) == 4


def test_a_whole_log_query_that_times_out_is_a_gap(diag_fleets, ansible_env, tmp_path):
    args = dict(WHOLE_LOG, winrm_operation_timeout=1, winrm_read_timeout=5)
    _lab, result, res = _event_info(diag_fleets, ansible_env, tmp_path, args)
    assert res['events'] == [] and not res.get('failed')
    assert res['gaps'] == [{'class': 'Win32_NTLogEvent', 'error': (
        'the event log query did not finish within the operation timeout (a big log): narrow the window or raise '
        'winrm_operation_timeout (WSManFault 2150858793, w:TimedOut)')}]
    assert '[WARNING]: The Application log of %s could not be read: the event log query' % res['host'] in result.stderr


def test_a_whole_log_query_within_the_timeout_hits_the_quota(diag_fleets, ansible_env, tmp_path):
    _lab, result, res = _event_info(diag_fleets, ansible_env, tmp_path, WHOLE_LOG)
    assert res['events'] == []
    assert res['gaps'] == [{'class': 'Win32_NTLogEvent', 'error': (
        'WMI stopped the event log query at its quota (a big log): narrow the window (WSManFault 2150859174, '
        'w:InternalError)')}]
    # Ansible shows the module's warning (and keeps it out of the saved result)
    assert '[WARNING]: The Application log of %s could not be read: WMI stopped' % res['host'] in result.stderr


@pytest.mark.parametrize('log, refused', [('Security', True), ('System', False)])
def test_the_security_log_needs_a_privilege_the_account_lacks(diag_fleets, ansible_env, tmp_path, log, refused):
    _lab, _result, res = _event_info(diag_fleets, ansible_env, tmp_path, {'log': log})
    if refused:
        assert res['gaps'] == [{'class': 'Win32_NTLogEvent', 'error': (
            'the account does not hold SeSecurityPrivilege, which the Security log needs (WSManFault 2147749986, '
            'w:AccessDenied)')}]
    else:
        assert res['gaps'] == [] and res['events'] and 'warnings' not in res
