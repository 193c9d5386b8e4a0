# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults as Windows sends them, end to end: a German server is understood by its codes, access denied and WinRM
quota exhaustion give clear messages naming the host and the class."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, calls, fleet, make_env, renamed, scenario_hosts)

OLD_HOST = 'oldos-ex55-smtp'
# The parts of a diagnosis that do not depend on the host's name, address or process ids.
COMPARED = ('compliant', 'owner', 'smtp_service', 'mail_service', 'gaps')


def without_pids(value):
    if isinstance(value, dict):
        return dict((k, without_pids(v)) for k, v in value.items() if k != 'pid')
    if isinstance(value, list):
        return [without_pids(v) for v in value]
    return value


@pytest.fixture(name='answered', scope='module')
def answered_fixture(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('faults-as-windows')
    kb, old = scenario_hosts(KB_HOST)[0], scenario_hosts(OLD_HOST)[0]
    hosts = [
        renamed(kb, 'kb-en'),
        renamed(kb, 'kb-de', locale='de-DE'),
        renamed(old, 'old-en'),
        renamed(old, 'old-de', locale='de-DE'),
        renamed(kb, 'denied-de', locale='de-DE',
                faults={'access_denied_classes': ['MSFT_NetTCPConnection', 'Win32_NTLogEvent']}),
        renamed(kb, 'no-namespace-de', locale='de-DE', faults={'access_denied_namespaces': ['root/standardcimv2']}),
        # old defaults (15 operations) lowered to 1: the netstat command's operation is held until its shell closes
        renamed(old, 'quota-old', winrm={'max_concurrent_operations_per_user': 1}),
        # every request refused by the quota, in the newer shape (InternalError with only an MSFT_WmiError)
        renamed(kb, 'quota-new', locale='de-DE', faults={'internal_error_requests': 1000}),
    ]
    with fleet(tmp, hosts) as lab:
        inventory = tmp / 'lab' / 'inventory.yml'
        plan = dict((host['name'], {'diagnosis': ('conflict_info', {}, None)}) for host in hosts)
        run, results = calls(make_env(), tmp, inventory, plan)
        yield lab, dict((name, result['diagnosis']) for name, result in results.items()), run


def test_german_servers_get_the_same_diagnosis(answered):
    _lab, results, _run = answered
    for english, german in (('kb-en', 'kb-de'), ('old-en', 'old-de')):
        assert results[german]['failed'] is False, results[german]
        assert without_pids(dict((k, results[german][k]) for k in COMPARED)) == \
            without_pids(dict((k, results[english][k]) for k in COMPARED))
        assert [f['code'] for f in results[german]['findings']] == [f['code'] for f in results[english]['findings']]
    # the old host has no root/StandardCimv2: its German "namespace invalid" fault was recognised by its codes
    assert results['old-de']['owner']['kind'] == 'smtp_service' and results['old-de']['gaps'] == []


def test_access_denied_on_a_german_server_names_the_class_and_what_to_check(answered):
    _lab, results, _run = answered
    res = results['denied-de']
    assert res['failed'] is False
    gaps = dict((gap['class'], gap['error']) for gap in res['gaps'])
    assert sorted(gaps) == ['MSFT_NetTCPConnection', 'Win32_NTLogEvent']
    assert gaps['MSFT_NetTCPConnection'].startswith('access denied by the WMI provider of this class: ')
    assert gaps['MSFT_NetTCPConnection'].endswith('(WSManFault 2150859013, w:AccessDenied)')
    assert gaps['Win32_NTLogEvent'].startswith('access denied by the WMI service: check that the account is in')
    assert 'Remote Enable' in gaps['Win32_NTLogEvent']
    assert res['owner']['kind'] == 'unknown' and res['compliant'] is False


def test_namespace_refused_at_connect_is_access_denied_not_a_missing_namespace(answered):
    _lab, results, _run = answered
    res = results['no-namespace-de']
    gaps = dict((gap['class'], gap['error']) for gap in res['gaps'])
    assert list(gaps) == ['MSFT_NetTCPConnection']
    assert gaps['MSFT_NetTCPConnection'].startswith('access denied when connecting to the WMI namespace: ')
    assert res['owner']['kind'] == 'unknown'                        # no netstat fallback: the namespace exists


def test_operations_quota_fails_the_host_with_a_clear_message(answered):
    lab, results, _run = answered
    res = results['quota-old']
    assert res['failed'] is True
    address = lab.hosts['quota-old']['ansible_host']
    assert address in res['msg'] or 'quota-old' in res['msg']
    assert 'WSManFault 2150859174 (w:InternalError): too many operations' in res['msg']
    assert 'MaxConcurrentOperationsPerUser' in res['msg']
    assert 'Lab-Passw0rd!' not in res['msg']
    # the other hosts of the run were not affected
    assert results['old-en']['failed'] is False


def test_newer_quota_shape_from_a_german_server_names_host_and_class(answered):
    lab, results, _run = answered
    res = results['quota-new']
    assert res['failed'] is True
    assert res['msg'].startswith(lab.hosts['quota-new']['ansible_host'] + ': enumerate MSFT_NetTCPConnection '
                                 '(root/standardcimv2): ')
    assert 'WSManFault 2150859174 (w:InternalError): too many operations' in res['msg']
    assert 'Für diesen Benutzer sind maximal 1500 gleichzeitige Vorgänge zulässig' in res['msg']
