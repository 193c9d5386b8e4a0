# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos against the lab: its own KDC, pinned SPNs, mutual authentication, sealing, channel binding, refusals."""
from __future__ import annotations

import base64
import glob
import hashlib
import os
import ssl
import subprocess
import sys
import time

import xml.etree.ElementTree as ET

import pytest
import requests
import spnego
import spnego.channel_bindings
import winrm.exceptions
from pypsrp.wsman import WSMan

from winlab import kdc, testing

testing.require_kerberos()

WIN32_SERVICE = testing.CIMV2 + 'Win32_Service'
HOSTS = {
    'kh': {'auth': ['kerberos']},
    'ks': {'auth': ['kerberos'], 'scheme': 'https'},
    'both': {'auth': ['kerberos', 'ntlm']},
    'kip': {'auth': ['kerberos'], 'fqdn': 'mail01.corp.lab.test'},
    'kother': {'auth': ['kerberos'], 'username': 'LAB\\other', 'password': 'Other-Passw0rd!'},
    'klocked': {'auth': ['kerberos'], 'faults': {'refuse_auth': True}},
    'ntlmonly': {'auth': ['ntlm']},
}


@pytest.fixture(scope='module')
def krb_lab(tmp_path_factory):
    state = tmp_path_factory.mktemp('kerberos-lab')
    spec = testing.write_scenario(state / 'krb.yml', [testing.small_host(n, **f) for n, f in HOSTS.items()])
    with testing.running_fleet([spec], state / 'state') as lab:
        yield lab


@pytest.fixture
def ticket(krb_lab):
    with testing.kerberos_ticket(krb_lab) as ccache:
        yield ccache


def _soap(lab, name):
    return testing.enumerate_envelope(lab.endpoint(name), WIN32_SERVICE)


def _names(proto, lab, name):
    """Service names of every page (the lab pages like Windows: one item, then Pulls)."""
    pages = testing.enumerate_pages(proto.send_message, lab.endpoint(name), WIN32_SERVICE)
    return sorted(e.text for page in pages for e in page.iter('{%s}Name' % WIN32_SERVICE))


def _legs(lab, name, count):
    return [(r['auth'], r['status']) for r in lab.requests(name)[-count:]]


def _token(fqdn, bindings=None, protocol='kerberos', flags=spnego.ContextReq.default):
    client = spnego.client(hostname=fqdn, service='HTTP', protocol=protocol, channel_bindings=bindings, context_req=flags)
    return client, client.step()


def _post(lab, name, header, body=b'', session=None):
    verify = lab.ca_path if lab.hosts[name]['ansible_winrm_scheme'] == 'https' else False
    return (session or requests).post(lab.endpoint(name), data=body, headers={
        'Authorization': header, 'Content-Type': 'application/soap+xml;charset=UTF-8'}, verify=verify, timeout=10)


def test_the_fleet_runs_its_own_realm(krb_lab):
    ready = krb_lab.ready
    assert ready['realm'] == 'LAB.TEST' and ready['krb5_conf'] == os.path.join(krb_lab.state_dir, 'krb5.conf')
    with open(ready['krb5_conf'], encoding='utf-8') as handle:
        conf = handle.read()
    for line in ('kdc = 127.0.0.1:%d' % ready['kdc_port'], 'dns_lookup_kdc = false', 'dns_lookup_realm = false',
                 'dns_canonicalize_hostname = false', 'rdns = false'):
        assert line in conf
    host = krb_lab.hosts['kh']
    assert (host['ansible_winrm_transport'], host['ansible_user'], host['ansible_winrm_kerberos_hostname_override']) == (
        'kerberos', 'ansible@LAB.TEST', 'kh.lab.test')
    assert host['ansible_password'] == testing.LAB_PASSWORD
    assert krb_lab.hosts['kip']['ansible_winrm_kerberos_hostname_override'] == 'mail01.corp.lab.test'
    assert krb_lab.hosts['both']['ansible_winrm_transport'] == 'kerberos'
    assert krb_lab.hosts['ntlmonly']['ansible_user'] == testing.LAB_USER
    assert os.path.isdir(os.path.join(krb_lab.state_dir, 'kerberos', 'rcache'))


def test_pywinrm_kerberos_over_http_seals_every_message(krb_lab, ticket):
    proto = testing.pywinrm_protocol(krb_lab, 'kh')
    assert _names(proto, krb_lab, 'kh') == ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']
    assert proto.transport.encryption is not None and proto.transport.encryption.protocol == 'kerberos'
    # one authentication leg (the blank POST pywinrm sends to set up sealing), then the sealed Enumerate and Pull
    assert _legs(krb_lab, 'kh', 3) == [('kerberos', 200), ('none', 200), ('none', 200)]


def test_pywinrm_kerberos_over_https_with_channel_binding(krb_lab, ticket):
    proto = testing.pywinrm_protocol(krb_lab, 'ks')
    assert proto.transport.send_cbt
    assert _names(proto, krb_lab, 'ks') == ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']
    assert proto.transport.encryption is None
    assert _legs(krb_lab, 'ks', 2) == [('kerberos', 200), ('none', 200)]


def test_mutual_authentication_answer_completes_the_client(krb_lab, ticket):
    client, token = _token('kh.lab.test')
    resp = _post(krb_lab, 'kh', 'Negotiate ' + base64.b64encode(token).decode())
    assert resp.status_code == 200
    scheme, _sep, reply = resp.headers['WWW-Authenticate'].partition(' ')
    assert scheme == 'Negotiate'
    client.step(base64.b64decode(reply))           # the AP-REP: raises unless it is the host's
    assert client.complete


def test_kerberos_scheme_and_spnego_wrapped_tokens(krb_lab, ticket):
    _client, token = _token('kh.lab.test')
    resp = _post(krb_lab, 'kh', 'Kerberos ' + base64.b64encode(token).decode())
    assert resp.status_code == 200 and resp.headers['WWW-Authenticate'].startswith('Kerberos ')
    # pypsrp wraps Kerberos in SPNEGO
    wsman = WSMan(krb_lab.hosts['kh']['ansible_host'], port=krb_lab.http_port, ssl=False, auth='negotiate',
                  negotiate_hostname_override='kh.lab.test', negotiate_service='HTTP', username='ansible@LAB.TEST')
    with wsman:
        body = wsman.enumerate(WIN32_SERVICE, ET.fromstring(
            '<n:Enumerate xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
            'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><w:OptimizeEnumeration/>'
            '<w:MaxElements>32000</w:MaxElements></n:Enumerate>'))
    assert 'IISADMIN' in ET.tostring(body).decode()        # the first service: Windows answers one item first
    assert krb_lab.requests('kh')[-2]['auth'] == 'kerberos'


def test_delegation_is_seen_by_the_host(krb_lab, ticket):
    testing.pywinrm_protocol(krb_lab, 'kh', kerberos_delegation=True).send_message(_soap(krb_lab, 'kh'))
    assert krb_lab.requests('kh')[-2]['note'] == 'delegated'
    testing.pywinrm_protocol(krb_lab, 'kh').send_message(_soap(krb_lab, 'kh'))
    assert 'note' not in krb_lab.requests('kh')[-2]


def _assert_refused(resp):
    assert (resp.status_code, resp.content) == (401, b'')
    assert resp.headers['WWW-Authenticate'] == 'Negotiate, Kerberos'


def test_a_ticket_for_another_hosts_spn_is_401_and_the_connection_stays(krb_lab, ticket):
    _client, token = _token('kh.lab.test')
    with requests.Session() as session:
        _assert_refused(_post(krb_lab, 'kip', 'Negotiate ' + base64.b64encode(token).decode(), session=session))
        # the same connection answers the next request (no reset, no traceback)
        _client, good = _token('mail01.corp.lab.test')
        assert _post(krb_lab, 'kip', 'Negotiate ' + base64.b64encode(good).decode(), session=session).status_code == 200
    assert _legs(krb_lab, 'kip', 2) == [('kerberos', 401), ('kerberos', 200)]
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        testing.pywinrm_protocol(krb_lab, 'kip', kerberos_hostname_override='kh.lab.test').send_message(_soap(krb_lab, 'kip'))
    assert 'Traceback' not in krb_lab.stderr()


def test_a_ticket_sealed_with_a_wrong_key_or_replayed_is_401(krb_lab, ticket):
    _client, token = _token('kh.lab.test')
    broken = bytearray(token)
    broken[-20] ^= 0xFF              # inside the encrypted authenticator: it no longer decrypts with the host's key
    _assert_refused(_post(krb_lab, 'kh', 'Negotiate ' + base64.b64encode(bytes(broken)).decode()))
    assert _post(krb_lab, 'kh', 'Negotiate ' + base64.b64encode(token).decode()).status_code == 200
    _assert_refused(_post(krb_lab, 'kh', 'Negotiate ' + base64.b64encode(token).decode()))   # a replay
    junk = bytes.fromhex('6010' + '06092a864886f712010202' + '0100') + b'\x6e\x03\x02\x01\x05'
    _assert_refused(_post(krb_lab, 'kh', 'Negotiate ' + base64.b64encode(junk).decode()))
    assert 'Traceback' not in krb_lab.stderr()


def test_wrong_channel_binding_over_https_is_401(krb_lab, ticket):
    with open(os.path.join(krb_lab.state_dir, 'tls', 'server.pem'), encoding='ascii') as handle:
        good_hash = hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).digest()
    for app_data, status in ((b'\x01' * 32, 401), (good_hash, 200)):
        bindings = spnego.channel_bindings.GssChannelBindings(application_data=b'tls-server-end-point:' + app_data)
        _client, token = _token('ks.lab.test', bindings)
        assert _post(krb_lab, 'ks', 'Negotiate ' + base64.b64encode(token).decode()).status_code == status
    assert 'Traceback' not in krb_lab.stderr()


def test_the_user_must_be_the_hosts(krb_lab):
    with testing.kerberos_ticket(krb_lab, 'other@LAB.TEST', 'Other-Passw0rd!'):
        assert _names(testing.pywinrm_protocol(krb_lab, 'kother'), krb_lab, 'kother')
        with pytest.raises(winrm.exceptions.InvalidCredentialsError):
            testing.pywinrm_protocol(krb_lab, 'kh', username='other@LAB.TEST').send_message(_soap(krb_lab, 'kh'))
    assert _legs(krb_lab, 'kh', 1) == [('kerberos', 401)]


def test_allowed_methods_ntlm_on_a_kerberos_only_host_and_back(krb_lab, ticket):
    # requests-ntlm sees a 401 with no NTLM challenge to its NEGOTIATE
    with pytest.raises(PermissionError, match='did not respond with NTLM challenge'):
        testing.pywinrm_protocol(krb_lab, 'kh', transport='ntlm', username=testing.LAB_USER).send_message(_soap(krb_lab, 'kh'))
    assert _legs(krb_lab, 'kh', 1) == [('ntlm-negotiate', 401)]
    # a host with both accepts both
    assert _names(testing.pywinrm_protocol(krb_lab, 'both', transport='ntlm', username=testing.LAB_USER), krb_lab,
                  'both')
    assert _names(testing.pywinrm_protocol(krb_lab, 'both'), krb_lab, 'both')
    # an NTLM-only host offers no Kerberos and refuses a ticket
    _client, token = _token('kh.lab.test')          # (the NTLM-only host has no SPN of its own)
    resp = _post(krb_lab, 'ntlmonly', 'Negotiate ' + base64.b64encode(token).decode())
    assert (resp.status_code, resp.headers['WWW-Authenticate']) == (401, 'Negotiate')


def test_refuse_auth_fault_applies_to_kerberos(krb_lab, ticket):
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        testing.pywinrm_protocol(krb_lab, 'klocked').send_message(_soap(krb_lab, 'klocked'))


def test_the_kdc_is_a_child_stopped_with_the_fleet_and_nothing_lands_outside_the_state_dir(tmp_path):
    outside = set(glob.glob('/var/tmp/*')) | set(glob.glob('/tmp/krb5*'))
    spec = testing.write_scenario(tmp_path / 'k.yml', [testing.small_host('solo', auth=['kerberos'])])
    with testing.running_fleet([spec], tmp_path / 'state') as lab:
        pid = lab.ready['kdc_pid']
        with open('/proc/%d/stat' % pid, encoding='ascii') as handle:
            assert int(handle.read().rsplit(')', 1)[1].split()[1]) == lab.process.pid    # its parent is the lab
        with testing.kerberos_ticket(lab):
            testing.pywinrm_protocol(lab, 'solo').send_message(_soap(lab, 'solo'))
    deadline = time.monotonic() + 5
    while os.path.exists('/proc/%d' % pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists('/proc/%d' % pid)
    assert set(glob.glob('/var/tmp/*')) | set(glob.glob('/tmp/krb5*')) == outside
    assert os.listdir(str(tmp_path / 'state' / 'kerberos' / 'rcache'))        # the acceptor's replay cache is here


def test_fleet_refuses_two_realms_and_a_shared_fqdn(tmp_path):
    hosts = [testing.small_host('a', auth=['kerberos']), testing.small_host('b', auth=['kerberos'], realm='OTHER.TEST')]
    spec = testing.write_scenario(tmp_path / 'k.yml', hosts)
    with pytest.raises(testing.FleetStartError, match='one KDC per fleet: the Kerberos hosts name the realms LAB.TEST, OTHER.TEST'):
        with testing.running_fleet([spec], tmp_path / 'state'):
            pass
    hosts = [testing.small_host(name, auth=['kerberos'], fqdn='x.lab.test') for name in ('a', 'b')]
    spec = testing.write_scenario(tmp_path / 'k2.yml', hosts)
    with pytest.raises(testing.FleetStartError, match='hosts a and b have the same fqdn x.lab.test'):
        with testing.running_fleet([spec], tmp_path / 'state2'):
            pass


def test_missing_kdc_tools_are_named(monkeypatch):
    monkeypatch.setattr(kdc, '_SBIN', ())
    monkeypatch.setenv('PATH', '/nonexistent')
    with pytest.raises(kdc.KerberosSetupError, match='install the Debian packages krb5-kdc and krb5-admin-server'):
        kdc.find_tool('krb5kdc')


def test_ansible_raw_through_the_winrm_connection_plugin_with_kerberos(krb_lab):
    """Ansible's own winrm connection runs kinit itself (managed mode, the password from the inventory); the lab's
    inventory passes KRB5_CONFIG on to it (ansible_winrm_kinit_env_vars)."""
    scratch = os.path.join(krb_lab.state_dir, 'ansible-tmp')
    env = {k: v for k, v in os.environ.items() if k != 'KRB5CCNAME'}
    env.update(ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default',
               ANSIBLE_LOCAL_TEMP=scratch, TMPDIR=krb_lab.state_dir, KRB5_CONFIG=krb_lab.ready['krb5_conf'],
               PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get('PATH', '')]))
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    for host in ('kh', 'ks'):
        proc = subprocess.run([ansible, '-i', krb_lab.inventory_path, host, '-m', 'raw', '-a', 'sc query SMTPSVC'],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert 'SERVICE_NAME: SMTPSVC' in proc.stdout and 'RUNNING' in proc.stdout
        assert {r['auth'] for r in krb_lab.requests(host)[-3:]} <= {'kerberos', 'none'}
