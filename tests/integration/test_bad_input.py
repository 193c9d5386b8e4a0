# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input and hostile conditions: a clear error naming what was wrong, no secret in it, and nothing changed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import certifi
import pytest
from ansible.release import __version__ as ansible_version

from ansible_collections.mailops.port25.tests.integration.helpers import ROOT, calls, make_env, write_variant
from winlab.testing import free_port, running_fleet

PASSWORD = 'Lab-Passw0rd!'
WRONG_PASSWORD = 'Wrong-Secret-42!'
HOSTS = {
    'ex55-smtp': {'scheme': 'http', 'auth': 'ntlm'},
    'ex55-healthy': {'scheme': 'https', 'auth': 'basic'},
    'ex55-av-proxy': {'scheme': 'http', 'auth': 'basic'},
    'ex55-unknown-owner': {'scheme': 'http', 'auth': 'ntlm', 'faults': {'access_denied_classes': ['Win32_NTLogEvent']}},
    'ex2019-iis-smtp': {'scheme': 'http', 'auth': 'ntlm', 'faults': {'access_denied_classes': ['MSFT_NetTCPConnection']}},
}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp('bad-input')
    paths = [write_variant(base, name, **settings) for name, settings in HOSTS.items()]
    with running_fleet(paths, state_dir=str(base / 'lab')) as handle:
        yield handle


# How the argument validator names a str: ansible-core 2.19 says "str", older ones "<class 'str'>".
STR_TYPE = 'str' if tuple(int(part) for part in ansible_version.split('.')[:2]) >= (2, 19) else "<class 'str'>"
OPTION_ERRORS = [
    ('conflict_info', {'port': 0}, 'port must be a TCP port number from 1 to 65535, got 0'),
    ('conflict_info', {'port': 70000}, 'port must be a TCP port number from 1 to 65535, got 70000'),
    ('conflict_info', {'port': 'x'}, "argument 'port' is of type %s and we were unable to convert to int" % STR_TYPE),
    ('listener_info', {'port': 0}, 'port must be a TCP port number from 1 to 65535, got 0'),
    ('listener_info', {'port': 70000}, 'port must be a TCP port number from 1 to 65535, got 70000'),
    ('listener_info', {'port': 'x'}, "argument 'port' is of type %s and we were unable to convert to int" % STR_TYPE),
    ('antivirus_info', {'port': 0}, 'port must be a TCP port number from 1 to 65535, got 0'),
    ('antivirus_info', {'port': 70000}, 'port must be a TCP port number from 1 to 65535, got 70000'),
    ('antivirus_info', {'port': 'x'}, "argument 'port' is of type %s and we were unable to convert to int" % STR_TYPE),
    ('conflict_info', {'event_window_hours': -1}, 'event_window_hours must be a number of hours from 1 to 8784, got -1'),
    ('event_info', {'window_hours': 0}, 'window_hours must be a number of hours from 1 to 8784, got 0'),
    ('event_info', {'event_ids': [70000]}, 'event_ids must be numbers from 0 to 65535, got 70000'),
    ('conflict_info', {'smtp_service': 'SMTPSVC\nOR 1=1'}, 'smtp_service contains a control character (U+000A) at position 7'),
    ('service_info', {'name': ['SMTPSVC\x00']}, 'name contains a control character (U+0000) at position 7'),
    ('event_info', {'sources': ['MSExchangeIMC\r']}, 'sources contains a control character (U+000D)'),
    ('conflict_info', {'antivirus_catalogue': [{'vendor': 'A', 'product': 'B'}]},
     'antivirus_catalogue[0].services: give at least one service or process name'),
    ('conflict_info', {'antivirus_catalogue': [{'vendor': 'A', 'product': 'B', 'processes': ['C:\\x.exe']}]},
     "antivirus_catalogue[0].processes: 'C:\\\\x.exe' is not a valid name"),
    ('conflict_info', {'profile': 'exchange5'}, 'value of profile must be one of'),
]
HOSTILE = ["SMTPSVC' OR Name LIKE '%", 'SMTPSVC" OR Name <> "', "x') OR ('1'='1", '%', "\\' OR 1=1 --"]


def snapshot(lab):
    return {host: (lab.host_state(host)['services'], len(lab.requests(host))) for host in HOSTS}


@pytest.fixture(scope='module')
def refused(lab, ansible_env, tmp_path_factory):
    """Calls that must be refused before anything is sent: bad options, TLS failure, Basic over HTTP."""
    plan = {'ex55-smtp': {'option%d' % i: (module, args, None) for i, (module, args, _msg) in enumerate(OPTION_ERRORS)},
            'ex55-healthy': {'tls': ('conflict_info', None, {'ansible_winrm_ca_trust_path': certifi.where()})},
            'ex55-av-proxy': {'basic_http': ('conflict_info', None, None)}}
    before = snapshot(lab)
    run, results = calls(ansible_env, tmp_path_factory.mktemp('refused'), lab.inventory_path, plan)
    after = snapshot(lab)
    return run, results, before, after


@pytest.fixture(scope='module')
def answered(lab, ansible_env, tmp_path_factory):
    """Calls that reach the host: hostile names, wrong password, closed port, access denied, the lab CA."""
    plan = {'ex55-smtp': {}, 'ex55-healthy': {'tls_ok': ('conflict_info', None, None)},
            # port 587: nothing holds it, so the events are read (and refused)
            'ex55-unknown-owner': {'denied_events': ('conflict_info', {'port': 587}, None)},
            'ex2019-iis-smtp': {'denied_listeners': ('conflict_info', None, None),
                                'denied_listener_info': ('listener_info', None, None)}}
    smtp = plan['ex55-smtp']
    for i, hostile in enumerate(HOSTILE):
        smtp['service%d' % i] = ('service_info', {'name': [hostile]}, None)
        smtp['diag%d' % i] = ('conflict_info', {'smtp_service': hostile, 'mail_service': hostile}, None)
        smtp['events%d' % i] = ('event_info', {'sources': [hostile], 'log': hostile}, None)
    smtp['globs'] = ('service_info', {'name': ['SMTP_VC', 'SMTPSV?', 'MSExchangeI[MS]C']}, None)
    smtp['wrong_password'] = ('conflict_info', None, {'ansible_password': '{{ wrong_password }}'})
    smtp['closed_port'] = ('conflict_info', None, {'ansible_port': free_port()})
    before = snapshot(lab)
    run, results = calls(ansible_env, tmp_path_factory.mktemp('answered'), lab.inventory_path, plan,
                         extra=['-e', 'wrong_password=' + WRONG_PASSWORD])
    return run, results, before, snapshot(lab), smtp['closed_port'][2]['ansible_port']


def no_secret(run, results):
    for text in (run.stdout, run.stderr, json.dumps(results)):
        for secret in (PASSWORD, WRONG_PASSWORD):
            assert secret not in text, text[max(0, text.find(secret) - 1500):text.find(secret) + 200]


def test_refused_calls_send_nothing_and_change_nothing(refused):
    run, results, before, after = refused
    no_secret(run, results)
    assert after == before        # same services, and not one request more in any host's log


@pytest.mark.parametrize('index', range(len(OPTION_ERRORS)), ids=['%s-%s' % (call[0], sorted(call[1])[0]) for call in OPTION_ERRORS])
def test_bad_options_name_the_problem(refused, index):
    res = refused[1]['ex55-smtp']['option%d' % index]
    assert res['failed'] is True
    assert OPTION_ERRORS[index][2] in res['msg']


def test_tls_verification_failure_names_host_and_ca(lab, refused):
    res = refused[1]['ex55-healthy']['tls']
    host = lab.hosts['ex55-healthy']
    assert res['failed'] is True
    expected = 'TLS certificate verification of %s:%d failed using CA path %s' % (host['ansible_host'], host['ansible_port'], certifi.where())
    assert expected in res['msg']


def test_basic_over_http_is_refused_before_sending_the_password(refused):
    res = refused[1]['ex55-av-proxy']['basic_http']
    assert res['failed'] is True
    assert "Basic authentication over plain HTTP would send the password of user 'LAB\\ansible' unencrypted" in res['msg']
    assert 'winrm_allow_basic_over_http' in res['msg']


def test_answered_calls_change_nothing(answered):
    run, results, before, after, _port = answered
    no_secret(run, results)
    assert {host: state for host, (state, _count) in after.items()} == {host: state for host, (state, _count) in before.items()}


@pytest.mark.parametrize('index', range(len(HOSTILE)))
def test_hostile_names_are_quoted_and_match_nothing(answered, index):
    results = answered[1]['ex55-smtp']
    hostile = HOSTILE[index]
    services = results['service%d' % index]
    assert (services['failed'], services['exists'], services['services'], services['missing']) == (False, False, [], [hostile])
    diag = results['diag%d' % index]
    assert diag['smtp_service'] == {'name': hostile, 'exists': False, 'state': None, 'start_mode': None, 'pid': None,
                                    'is_transport': False}
    assert diag['mail_service']['exists'] is False
    assert diag['owner']['kind'] == 'other'     # inetinfo.exe hosts SMTPSVC, which is not the service named
    assert results['events%d' % index]['events'] == []


def test_glob_wildcards_are_the_only_wildcards(answered):
    res = answered[1]['ex55-smtp']['globs']
    assert [s['name'] for s in res['services']] == ['SMTPSVC']


def test_wrong_password_names_user_and_host(lab, answered):
    res = answered[1]['ex55-smtp']['wrong_password']
    host = lab.hosts['ex55-smtp']
    assert res['failed'] is True
    assert "user 'LAB\\ansible' was rejected by %s:%d (HTTP 401)" % (host['ansible_host'], host['ansible_port']) in res['msg']


def test_unreachable_host(lab, answered):
    res, port = answered[1]['ex55-smtp']['closed_port'], answered[4]
    assert res['failed'] is True
    assert 'cannot reach %s:%d' % (lab.hosts['ex55-smtp']['ansible_host'], port) in res['msg']


def test_tls_with_the_lab_ca_works(answered):
    res = answered[1]['ex55-healthy']['tls_ok']
    assert res['failed'] is False and res['compliant'] is True


def test_access_denied_on_the_event_log_keeps_the_rest(answered):
    res = answered[1]['ex55-unknown-owner']['denied_events']
    assert res['failed'] is False
    assert [gap['class'] for gap in res['gaps']] == ['Win32_NTLogEvent']
    assert 'access denied' in res['gaps'][0]['error']
    assert res['events'] == []
    assert res['owner']['kind'] == 'none' and res['port'] == 587
    assert [(f['code'], f['severity']) for f in res['findings']] == [
        ('PORT_FREE', 'info'), ('MAIL_SERVICE_NOT_RUNNING', 'error'), ('ANTIVIRUS_PRESENT', 'info'), ('DATA_GAP', 'warning')]
    assert res['findings'][-1]['message'].startswith('Win32_NTLogEvent could not be read: access denied')


def test_access_denied_on_listeners_gives_no_verdict(answered):
    res = answered[1]['ex2019-iis-smtp']['denied_listeners']
    assert res['failed'] is False
    assert [gap['class'] for gap in res['gaps']] == ['MSFT_NetTCPConnection']
    assert res['owner']['kind'] == 'unknown' and res['listeners'] == []
    assert res['mail_service']['state'] == 'stopped' and len(res['events']) == 2
    assert ('DATA_GAP', 'error') in [(f['code'], f['severity']) for f in res['findings']]
    assert res['compliant'] is False
    # listener_info has nothing to give without its class: it fails and says why
    res = answered[1]['ex2019-iis-smtp']['denied_listener_info']
    assert res['failed'] is True and 'access denied' in res['msg']


def test_missing_pywinrm_gives_missing_required_lib(tmp_path):
    """The module file run as a plain module by a Python that cannot import winrm."""
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'winrm_host': '127.0.0.1', 'winrm_user': 'u', 'winrm_password': PASSWORD}}),
                    encoding='utf-8')
    runner = ("import runpy, sys; sys.modules['winrm'] = None; sys.argv = ['conflict_info', %r]; "
              "runpy.run_path(%r, run_name='__main__')" % (str(args), os.path.join(ROOT, 'plugins', 'modules', 'conflict_info.py')))
    proc = subprocess.run([sys.executable, '-c', runner], env=make_env(), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result['failed'] is True
    assert result['msg'].startswith('Failed to import the required Python library (pywinrm)')
    assert PASSWORD not in proc.stdout
