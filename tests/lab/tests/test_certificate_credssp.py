# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client certificate and CredSSP authentication against the lab."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests
import requests.exceptions
import winrm.exceptions
from requests_credssp.exceptions import AuthenticationException, NTStatusException

from winlab import testing, tls

WIN32_SERVICE = testing.CIMV2 + 'Win32_Service'
MANY = [{'name': 'Svc%03d' % i, 'display_name': 'A service with a long display name number %03d' % i,
         'description': 'x' * 200} for i in range(120)]
HOSTS = {
    'cert': {'auth': ['certificate', 'basic'], 'scheme': 'https'},
    'cs': {'auth': ['credssp']},
    'css': {'auth': ['credssp'], 'scheme': 'https'},
    'csbig': {'auth': ['credssp']},
    'plain': {'auth': ['ntlm']},
}


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    state = tmp_path_factory.mktemp('cert-credssp-lab')
    hosts = [testing.small_host(n, **f) for n, f in HOSTS.items()]
    hosts[3]['services'] += MANY
    spec = testing.write_scenario(state / 'cc.yml', hosts)
    with testing.running_fleet([spec], state / 'state') as running:
        yield running


def _soap(lab, name, wql=None):
    return testing.enumerate_envelope(lab.endpoint(name), WIN32_SERVICE, wql=wql)


def _names(raw):
    return sorted(e.text for e in ET.fromstring(raw).iter('{%s}Name' % WIN32_SERVICE))


def _all_names(proto, lab, name, wql=None):
    """Service names of every page (the lab pages like Windows: one item, then Pulls)."""
    pages = testing.enumerate_pages(proto.send_message, lab.endpoint(name), WIN32_SERVICE, wql=wql)
    return sorted(e.text for page in pages for e in page.iter('{%s}Name' % WIN32_SERVICE))


def _cert_post(lab, cert):
    return requests.post(lab.endpoint('cert'), data=_soap(lab, 'cert'), cert=cert, verify=lab.ca_path, timeout=10,
                         headers={'Authorization': 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual',
                                  'Content-Type': 'application/soap+xml;charset=UTF-8'})


def test_certificate_mapped_by_issuer_upn_and_usage(lab):
    host = lab.hosts['cert']
    assert host['ansible_winrm_transport'] == 'certificate' and 'ansible_password' not in host
    assert host['ansible_winrm_cert_pem'].startswith(lab.state_dir)
    proto = testing.pywinrm_protocol(lab, 'cert')
    assert _all_names(proto, lab, 'cert') == ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']
    assert lab.requests('cert')[-1]['auth'] == 'certificate'


def test_wrong_or_unmapped_certificates_are_401(lab):
    unmapped = tls.issue_client_certificate(lab.state_dir, 'someone@lab.test', 'test-unmapped')
    no_usage = tls.issue_client_certificate(lab.state_dir, 'ansible@lab.test', 'test-no-usage', client_auth=False)
    for cert in (unmapped, no_usage, None):
        resp = _cert_post(lab, cert)
        assert (resp.status_code, resp.content) == (401, b''), cert
        assert resp.headers['WWW-Authenticate'] == 'Basic realm="WSMAN"'
    assert [r['auth'] for r in lab.requests('cert')[-3:]] == ['certificate'] * 3
    good = (lab.hosts['cert']['ansible_winrm_cert_pem'], lab.hosts['cert']['ansible_winrm_cert_key_pem'])
    assert _cert_post(lab, good).status_code == 200


def test_a_certificate_from_an_untrusted_issuer_ends_the_tls_handshake(lab, tmp_path):
    foreign = tls.make_ca(str(tmp_path), 'foreign-ca')
    cert = tls.issue_client_certificate(str(tmp_path / 'other'), 'ansible@lab.test', 'foreign', issuer=foreign)
    with pytest.raises(requests.exceptions.ConnectionError):       # TLS 1.3: closed right after the handshake
        _cert_post(lab, cert)
    # the lab goes on serving, and clients without a certificate are not asked for one
    resp = requests.post(lab.endpoint('cert'), data=_soap(lab, 'cert'), verify=lab.ca_path, timeout=10,
                         auth=(testing.LAB_USER, testing.LAB_PASSWORD),
                         headers={'Content-Type': 'application/soap+xml;charset=UTF-8'})
    assert resp.status_code == 200


def test_certificate_header_on_another_host_or_over_http_is_401(lab):
    good = (lab.hosts['cert']['ansible_winrm_cert_pem'], lab.hosts['cert']['ansible_winrm_cert_key_pem'])
    resp = requests.post(lab.endpoint('plain').replace('http:', 'http:'), data=b'', cert=None, timeout=10,
                         headers={'Authorization': 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual'})
    assert resp.status_code == 401
    https_plain = 'https://%s:%d/wsman' % (lab.hosts['plain']['ansible_host'], lab.https_port)
    resp = requests.post(https_plain, data=b'', cert=good, verify=lab.ca_path, timeout=10,
                         headers={'Authorization': 'http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual'})
    assert resp.status_code == 401


def test_credssp_over_http_seals_and_delegates_the_password(lab):
    proto = testing.pywinrm_protocol(lab, 'cs')
    assert lab.hosts['cs']['ansible_winrm_transport'] == 'credssp'
    assert _all_names(proto, lab, 'cs') == ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']
    assert proto.transport.encryption.protocol == 'credssp'
    legs = [r['auth'] for r in lab.requests('cs')]
    assert legs[0] == 'none' and set(legs[1:-2]) == {'credssp'} and legs[-1] == 'none'


def test_credssp_bodies_over_16_kib_both_ways(lab):
    proto = testing.pywinrm_protocol(lab, 'csbig')
    assert _all_names(proto, lab, 'csbig')[:3] == ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']
    seen = []
    proto.transport.session.hooks['response'].append(lambda resp, **_kw: seen.append(resp.headers['Content-Type']))
    wql = "SELECT * FROM Win32_Service WHERE Name <> '%s'" % ('x' * 20000)     # a request over 16 KiB
    names = _all_names(proto, lab, 'csbig', wql=wql)
    assert len(names) > 40
    lines = lab.requests('csbig')
    enumerate_line = [line for line in lines if line['action'].endswith('/Enumerate')][-1]
    pull_line = lines[lines.index(enumerate_line) + 1]
    assert enumerate_line['status'] == 200 and enumerate_line['bytes_in'] > 20000
    assert pull_line['status'] == 200 and pull_line['bytes_out'] > 2 * 16384    # the Pull's page: over 32 KiB
    # the Enumerate's one-item answer fits one 16 KiB block; the Pull's page over 32 KiB comes in several
    assert seen[:2] == ['multipart/encrypted;protocol="application/HTTP-CredSSP-session-encrypted";boundary="Encrypted Boundary"',
                        'multipart/x-multi-encrypted;protocol="application/HTTP-CredSSP-session-encrypted";'
                        'boundary="Encrypted Boundary"']


def test_credssp_over_https(lab):
    assert _all_names(testing.pywinrm_protocol(lab, 'css'), lab, 'css')


def test_credssp_wrong_password_or_user_is_refused(lab):
    # Windows answers SEC_E_LOGON_DENIED (0x8009030c) in the TSRequest
    with pytest.raises(NTStatusException, match='0x8009030c'):
        testing.pywinrm_protocol(lab, 'cs', password='not-the-password').send_message(_soap(lab, 'cs'))
    with pytest.raises((AuthenticationException, winrm.exceptions.InvalidCredentialsError)):
        testing.pywinrm_protocol(lab, 'plain', transport='credssp').send_message(_soap(lab, 'plain'))
    garbage = requests.post(lab.endpoint('cs'), data=b'', timeout=10, headers={'Authorization': 'CredSSP FgMBAAA='})
    assert garbage.status_code == 401
    assert 'Traceback' not in lab.stderr()
