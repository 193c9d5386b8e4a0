# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module and the remediation over Kerberos (HTTP with message encryption, HTTPS with channel binding) and
over client certificates, with the settings of the inventory only; and every Kerberos failure a user meets, each
with a clear message and never the password, also at -vvvv.

The controller's Kerberos configuration is the lab realm's krb5.conf (KRB5_CONFIG, as /etc/krb5.conf would be on a
real controller). No test runs kinit for the modules and no ticket cache is in their environment: the modules get
their tickets themselves (managed mode). Only the manual-mode failures (clock skew, expired ticket) are set up with
kinit, as a user of manual mode would have done.
"""
from __future__ import annotations

import glob
import re
import socket
import struct
import subprocess
import time

import pytest

from ansible_collections.mailops.port25.tests.integration.helpers import (
    calls, collection_playbook, make_env, port_owner, renamed, scenario_hosts, services)
from winlab import tls
from winlab.testing import LAB_PASSWORD, require_kerberos, running_fleet, write_scenario

require_kerberos()

WRONG_PASSWORD = 'Not-The-Passw0rd!'
HOSTS = {'kerb-http': {'auth': ['kerberos']}, 'kerb-https': {'auth': ['kerberos'], 'scheme': 'https'},
         'cert-https': {'auth': ['certificate'], 'scheme': 'https'}, 'credssp-http': {'auth': ['credssp']},
         'kerb-bad': {'auth': ['kerberos']}}
INFO_CALLS = {
    'listener_info': ('listener_info', {}, None),
    'service_info': ('service_info', {'name': ['SMTPSVC', 'MSExchangeIMC']}, None),
    'event_info': ('event_info', {'log': 'Application', 'sources': ['MSExchangeIMC'], 'event_ids': [4007, 4020]}, None),
    'antivirus_info': ('antivirus_info', {}, None),
    'conflict_info': ('conflict_info', {}, None),
    'service': ('service', {'name': 'IISADMIN', 'state': 'started'}, None),
}


@pytest.fixture(scope='module')
def auth_lab(tmp_path_factory):
    base = scenario_hosts('ex55-smtp')[0]
    work = tmp_path_factory.mktemp('kerberos')
    spec = write_scenario(str(work / 'auth.yml'), [renamed(base, name, **fields) for name, fields in HOSTS.items()])
    with running_fleet([spec], str(work / 'lab')) as lab:
        yield lab


@pytest.fixture
def krb_env(auth_lab, monkeypatch):
    """The controller's environment: the lab realm's krb5.conf, no ticket cache."""
    monkeypatch.setenv('KRB5_CONFIG', auth_lab.ready['krb5_conf'])
    monkeypatch.delenv('KRB5CCNAME', raising=False)
    monkeypatch.delenv('KRB5_CLIENT_KTNAME', raising=False)
    return make_env()


def _ticket_files():
    return set(glob.glob('/tmp/krb5cc*')) | set(glob.glob('/var/tmp/krb5*'))


def test_every_module_and_the_remediation_over_kerberos_certificates_and_credssp(auth_lab, krb_env, tmp_path):
    hosts = ['kerb-http', 'kerb-https', 'cert-https', 'credssp-http']
    assert 'KRB5CCNAME' not in krb_env
    files_before = _ticket_files()
    run, results = calls(krb_env, tmp_path, auth_lab.inventory_path, {host: INFO_CALLS for host in hosts}, extra=['-vvvv'])
    assert run.rc == 0, run.stdout[-3000:]
    assert LAB_PASSWORD not in run.stdout + run.stderr
    for host in hosts:
        got = results[host]
        for key in INFO_CALLS:
            assert not got[key].get('failed'), (host, key, got[key].get('msg'))
        assert got['conflict_info']['compliant'] is False
        assert sorted(s['name'] for s in got['service_info']['services']) == ['MSExchangeIMC', 'SMTPSVC']
        assert {l['local_port'] for l in got['listener_info']['listeners']} == {25}
        assert got['service']['changed'] is False
    legs = {host: {r['auth'] for r in auth_lab.requests(host)} for host in hosts}
    assert legs == {'kerb-http': {'kerberos', 'none'}, 'kerb-https': {'kerberos', 'none'}, 'cert-https': {'certificate'},
                    'credssp-http': {'credssp', 'none'}}

    remediate = collection_playbook('remediate', auth_lab.inventory_path, tmp_path, 'remediate', '--limit', ','.join(hosts),
                                    '-vvvv')
    assert remediate.rc == 0, remediate.output[-3000:]
    assert LAB_PASSWORD not in remediate.output
    for host in hosts:
        assert remediate.hosts()[host]['verdict'] == 'compliant', remediate.hosts()[host]
        assert services(auth_lab, host)['SMTPSVC'] == ('Stopped', 'Disabled')
        assert services(auth_lab, host)['MSExchangeIMC'] == ('Running', 'Auto')
        assert port_owner(auth_lab, host) == 'MSExchangeIMC'
    assert not {r['auth'] for h in hosts for r in auth_lab.requests(h)} & {'ntlm-negotiate', 'ntlm-authenticate', 'basic'}
    assert _ticket_files() == files_before          # managed tickets never touch a file


def _conflict_info_requests(lab, env, tmp_path, host):
    tmp_path.mkdir()
    before = len(lab.requests(host))
    run, results = calls(env, tmp_path, lab.inventory_path, {host: {'ci': ('conflict_info', {}, None)}})
    assert run.rc == 0 and 'compliant' in results[host]['ci'], run.stdout[-2000:]
    return lab.requests(host)[before:]


def test_conflict_info_over_kerberos_takes_one_authentication_leg(auth_lab, krb_env, tmp_path, request):
    table = []
    for host in ('kerb-http', 'kerb-https'):
        records = _conflict_info_requests(auth_lab, krb_env, tmp_path / host, host)
        legs = [r['auth'] for r in records]
        assert legs.count('kerberos') == 1 and legs[0] == 'kerberos' and set(legs[1:]) == {'none'}, legs
        assert all(r['status'] == 200 for r in records)
        table.append('%-10s %d requests: %s' % (host, len(records), ', '.join(
            '%s %s' % (r['auth'], r['action'].rsplit('/', 1)[-1] or '(empty POST)') for r in records)))
    request.config.diag_tables = getattr(request.config, 'diag_tables', []) + [('conflict_info over Kerberos', table)]


def _run_bad(env, tmp_path, lab, tasks, *extra):
    """The tasks on kerb-bad at -vvvv; returns ({task: result}, full output)."""
    tmp_path.mkdir(exist_ok=True)
    secrets = tmp_path / 'secrets.yml'          # not on the command line, which -vvvv prints
    secrets.write_text('wrong_password: %s\n' % WRONG_PASSWORD, encoding='utf-8')
    run, results = calls(env, tmp_path, lab.inventory_path, {'kerb-bad': tasks},
                         extra=['-vvvv', '-e', '@%s' % secrets] + list(extra))
    output = run.stdout + run.stderr
    for secret in (LAB_PASSWORD, WRONG_PASSWORD):
        assert secret not in output
    for result in results['kerb-bad'].values():
        assert result.get('failed') and LAB_PASSWORD not in str(result)
    return results['kerb-bad'], output


def _ci(**task_vars):
    return ('conflict_info', {}, task_vars)


def test_kerberos_failures_with_the_kdc_answering(auth_lab, krb_env, tmp_path):
    address = auth_lab.hosts['kerb-bad']['ansible_host']
    results, _output = _run_bad(krb_env, tmp_path, auth_lab, {
        'unknown_user': _ci(ansible_user='nobody@LAB.TEST'),
        'wrong_password': _ci(ansible_password='{{ wrong_password }}'),
        'unknown_spn': _ci(ansible_winrm_kerberos_hostname_override=''),
        'other_hosts_spn': _ci(ansible_winrm_kerberos_hostname_override='kerb-http.lab.test'),
        'domain_user': _ci(ansible_user='LAB\\ansible'),
    })
    msg = {key: result['msg'] for key, result in results.items()}
    assert msg['unknown_user'].startswith('%s: kinit: the KDC of realm LAB.TEST does not know user nobody@LAB.TEST' % address)
    assert msg['wrong_password'].startswith(
        '%s: kinit: the KDC of realm LAB.TEST refused the password of user ansible@LAB.TEST' % address)
    assert ('no service principal HTTP/%s@LAB.TEST, so user ansible@LAB.TEST' % address) in msg['unknown_spn']
    assert 'winrm_kerberos_hostname_override (ansible_winrm_kerberos_hostname_override)' in msg['unknown_spn']
    assert ('refused the Kerberos ticket of user ansible@LAB.TEST for HTTP/kerb-http.lab.test@LAB.TEST (HTTP 401)'
            in msg['other_hosts_spn'])
    assert msg['domain_user'].startswith("%s: winrm_user 'LAB\\ansible' is a DOMAIN\\user name" % address)
    assert "'ansible@LAB.TEST'" in msg['domain_user']
    assert {r['error']['type'] for r in results.values()} == {'AuthenticationFailure', 'InvalidOption'}


def test_no_kdc_reachable(auth_lab, krb_env, tmp_path):
    with open(auth_lab.ready['krb5_conf'], encoding='utf-8') as handle:
        conf = handle.read()
    broken = tmp_path / 'krb5-no-kdc.conf'
    with socket.socket() as sock:     # a port nobody listens on
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    broken.write_text(re.sub(r'kdc = 127\.0\.0\.1:\d+', 'kdc = 127.0.0.1:%d' % port, conf), encoding='utf-8')
    env = dict(krb_env, KRB5_CONFIG=str(broken))
    results, _output = _run_bad(env, tmp_path, auth_lab, {'no_kdc': _ci()})
    assert results['no_kdc']['msg'].startswith(
        '%s: kinit: cannot get a Kerberos ticket for user ansible@LAB.TEST: no KDC of realm LAB.TEST answered'
        % auth_lab.hosts['kerb-bad']['ansible_host'])
    assert 'KRB5_CONFIG=%s' % broken in results['no_kdc']['msg']
    assert results['no_kdc']['error']['type'] == 'ConnectionFailure'


def _kinit(env, ccache, *options):
    """kinit into a file cache of the test (manual mode is about tickets the user got beforehand)."""
    done = subprocess.run(['kinit'] + list(options) + ['ansible@LAB.TEST'], input=LAB_PASSWORD + '\n', text=True,
                          capture_output=True, env=dict(env, KRB5CCNAME='FILE:' + ccache), timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def _shift_clock(ccache, seconds):
    """Give a file cache a KDC time offset (its header's DELTATIME tag, ccache format 4): with kdc_timesync, which
    is on by default, MIT Kerberos applies it to every request made with the cache, as if this controller's clock
    were `seconds` off the KDC's; no root needed to move a clock."""
    with open(ccache, 'rb') as handle:
        data = handle.read()
    version, header_len = struct.unpack('>HH', data[:4])
    assert version == 0x0504
    header = struct.pack('>HHii', 1, 8, seconds, 0)
    with open(ccache, 'wb') as handle:
        handle.write(struct.pack('>HH', 0x0504, len(header)) + header + data[4 + header_len:])


def test_clock_skew_expired_ticket_and_no_ticket_in_manual_mode(auth_lab, krb_env, tmp_path):
    address = auth_lab.hosts['kerb-bad']['ansible_host']
    manual = {'ansible_winrm_kinit_mode': 'manual'}
    skewed = str(tmp_path / 'skewed.cc')
    _kinit(krb_env, skewed)
    _shift_clock(skewed, 3600)
    results, _output = _run_bad(dict(krb_env, KRB5CCNAME='FILE:' + skewed), tmp_path / 'skew', auth_lab,
                                {'skew': _ci(**manual)})
    # the first request to the host asks the KDC for the service ticket: the KDC refuses the shifted clock
    assert results['skew']['msg'] == (
        '%s: enumerate MSFT_NetTCPConnection (root/standardcimv2): user ansible@LAB.TEST: the clock of this controller '
        'and the clock of the KDC of realm LAB.TEST (or of the host) differ by more than Kerberos allows, 5 minutes by '
        'default (Clock skew too great): synchronise the clocks (NTP)' % address)

    expired = str(tmp_path / 'expired.cc')
    _kinit(krb_env, expired, '-l', '2s')
    time.sleep(3)
    results, _output = _run_bad(dict(krb_env, KRB5CCNAME='FILE:' + expired), tmp_path / 'expired', auth_lab,
                                {'expired': _ci(**manual)})
    assert results['expired']['msg'].startswith(
        '%s: kinit: the Kerberos ticket of user ansible@LAB.TEST in FILE:%s has expired' % (address, expired))

    missing = str(tmp_path / 'missing.cc')
    results, _output = _run_bad(dict(krb_env, KRB5CCNAME='FILE:' + missing), tmp_path / 'missing', auth_lab,
                                {'no_ticket': _ci(**manual)})
    assert results['no_ticket']['msg'].startswith(
        '%s: kinit: no Kerberos ticket for user ansible@LAB.TEST in FILE:%s' % (address, missing))


def test_manual_mode_uses_the_controllers_ticket(auth_lab, krb_env, tmp_path):
    ccache = str(tmp_path / 'user.cc')
    _kinit(krb_env, ccache)
    env = dict(krb_env, KRB5CCNAME='FILE:' + ccache)
    run, results = calls(env, tmp_path, auth_lab.inventory_path, {'kerb-bad': {
        'ci': ('conflict_info', {}, {'ansible_winrm_kinit_mode': 'manual', 'ansible_password': ''})}})
    assert run.rc == 0 and results['kerb-bad']['ci']['compliant'] is False, results


def test_refused_client_certificates_are_named(auth_lab, krb_env, tmp_path):
    foreign = tls.make_ca(str(tmp_path), 'foreign-ca')
    untrusted = tls.issue_client_certificate(str(tmp_path / 'foreign'), 'ansible@lab.test', 'foreign', issuer=foreign)
    unmapped = tls.issue_client_certificate(str(tmp_path / 'lab'), 'someone@lab.test', 'unmapped',
                                            issuer=tls.load_lab_ca(auth_lab.state_dir))
    _run, results = calls(krb_env, tmp_path, auth_lab.inventory_path, {'cert-https': {
        key: ('conflict_info', {}, {'ansible_winrm_cert_pem': cert, 'ansible_winrm_cert_key_pem': key_path})
        for key, (cert, key_path) in (('untrusted', untrusted), ('unmapped', unmapped))}})
    address = '%s:%d' % (auth_lab.hosts['cert-https']['ansible_host'], auth_lab.https_port)
    got = results['cert-https']
    assert '%s closed the TLS connection (' % address in got['untrusted']['msg']
    assert '%s answered HTTP 401: it does not accept the client certificate %s' % (address, unmapped[0]) in got['unmapped']['msg']
    for result in got.values():
        assert result['error']['type'] == 'AuthenticationFailure'
        assert 'must be issued by a CA the host trusts, carry the Client Authentication usage' in result['msg']
