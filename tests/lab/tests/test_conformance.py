# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Third-party clients against the lab: pywinrm, pypsrp's WSMan and Ansible's own winrm connection."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import requests.exceptions
from pypsrp.exceptions import WSManFaultError
from pypsrp.wsman import WSMan, SelectorSet

from winlab import testing

NS = {
    's': 'http://www.w3.org/2003/05/soap-envelope',
    'n': 'http://schemas.xmlsoap.org/ws/2004/09/enumeration',
    'w': 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
    'svc': testing.CIMV2 + 'Win32_Service',
}
WIN32_SERVICE = testing.CIMV2 + 'Win32_Service'


def _service_names(bodies):
    """Names of the typed Win32_Service items of an EnumerateResponse and its PullResponses (found by namespace)."""
    first = bodies[0].find('.//n:EnumerateResponse/w:Items', NS)
    assert first is not None, ET.tostring(bodies[0])[:500]
    pulled = [body.find('.//n:PullResponse/n:Items', NS) for body in bodies[1:]]
    assert None not in pulled
    return sorted(i.findtext('svc:Name', namespaces=NS) for items in [first] + pulled
                  for i in items.findall('svc:Win32_Service', NS))


def _pypsrp_pages(client):
    """pypsrp's Enumerate, then its Pull until EndOfSequence: the lab answers the first item only, like Windows."""
    bodies = [client.enumerate(WIN32_SERVICE, _enumerate_body())]
    while bodies[-1].find('.//n:EndOfSequence', NS) is None and bodies[-1].find('.//w:EndOfSequence', NS) is None:
        pull = ET.Element('{%s}Pull' % NS['n'])
        ET.SubElement(pull, '{%s}EnumerationContext' % NS['n']).text = bodies[-1].findtext('.//n:EnumerationContext',
                                                                                           namespaces=NS)
        ET.SubElement(pull, '{%s}MaxElements' % NS['n']).text = '32000'
        bodies.append(client.pull(WIN32_SERVICE, pull))
    return bodies


def _service_state(bodies, name):
    for item in (i for body in bodies for i in body.iter('{%s}Win32_Service' % NS['svc'])):
        if item.findtext('svc:Name', namespaces=NS) == name:
            return item.findtext('svc:State', namespaces=NS)
    raise AssertionError('%s not in the answers' % name)


def _wsman(lab, name, **overrides):
    host = lab.hosts[name]
    kwargs = {'server': host['ansible_host'], 'port': host['ansible_port'], 'username': host['ansible_user'],
              'password': host['ansible_password'], 'ssl': host['ansible_winrm_scheme'] == 'https',
              'auth': 'ntlm' if host['ansible_winrm_transport'] == 'ntlm' else 'basic',
              'cert_validation': host.get('ansible_winrm_ca_trust_path', True)}
    kwargs.update(overrides)
    return WSMan(**kwargs)


def _selectors(name):
    selectors = SelectorSet()
    selectors.add_option('Name', name)
    return selectors


def _enumerate_body():
    body = ET.Element('{%s}Enumerate' % NS['n'])
    ET.SubElement(body, '{%s}OptimizeEnumeration' % NS['w'])
    ET.SubElement(body, '{%s}MaxElements' % NS['w']).text = '32000'
    return body


EXPECTED = ['IISADMIN', 'MSExchangeIMC', 'SMTPSVC']


def test_pywinrm_ntlm_with_message_encryption(transport_lab):
    proto = testing.pywinrm_protocol(transport_lab, 'plain')
    pages = testing.enumerate_pages(proto.send_message, transport_lab.endpoint('plain'), WIN32_SERVICE)
    assert proto.transport.encryption is not None      # pywinrm sealed the exchange (HTTP + NTLM)
    assert _service_names(pages) == EXPECTED
    assert transport_lab.requests('plain')[-1]['bytes_in'] > 0


def test_pywinrm_basic_over_https_with_validation(transport_lab):
    proto = testing.pywinrm_protocol(transport_lab, 'secure')
    assert transport_lab.hosts['secure']['ansible_winrm_transport'] == 'basic'
    pages = testing.enumerate_pages(proto.send_message, transport_lab.endpoint('secure'), WIN32_SERVICE)
    assert _service_names(pages) == EXPECTED
    assert transport_lab.requests('secure')[-1]['auth'] == 'basic'


@pytest.mark.parametrize('host, overrides', [
    ('plain', {}),                                   # NTLM over HTTP, sealed
    ('plain', {'auth': 'negotiate'}),                # SPNEGO-wrapped NTLM, sealed
    ('secure', {}),                                  # Basic over HTTPS, CA validated
    ('secure', {'auth': 'ntlm'}),                    # NTLM over HTTPS with channel binding
], ids=['ntlm-http', 'negotiate-http', 'basic-https', 'ntlm-https-cbt'])
def test_pypsrp_enumerate(transport_lab, host, overrides):
    with _wsman(transport_lab, host, **overrides) as client:
        bodies = _pypsrp_pages(client)
    assert _service_names(bodies) == EXPECTED


def test_pypsrp_https_validation_is_really_on(transport_lab):
    # the system CA store does not know the lab CA: validation must fail
    with pytest.raises(requests.exceptions.SSLError):
        with _wsman(transport_lab, 'secure', cert_validation=True) as client:
            client.enumerate(WIN32_SERVICE, _enumerate_body())


def test_pypsrp_get_by_selector(transport_lab):
    with _wsman(transport_lab, 'plain') as client:
        body = client.get(WIN32_SERVICE, selector_set=_selectors('SMTPSVC'))
    item = body.find('svc:Win32_Service', NS)
    assert item is not None, ET.tostring(body)[:500]
    assert (item.findtext('svc:Name', namespaces=NS), item.findtext('svc:State', namespaces=NS)) == ('SMTPSVC', 'Running')


def test_operation_timeout_fault_waits_out_the_clients_timeout(transport_lab):
    # the WS-Man layer asks for a delay (Reply.delay); the transport holds the answer that long
    with _wsman(transport_lab, 'stuck', operation_timeout=1) as client:
        started = time.monotonic()
        with pytest.raises(WSManFaultError) as err:
            client.get(WIN32_SERVICE, selector_set=_selectors('SMTPSVC'))
        elapsed = time.monotonic() - started
    assert err.value.code == 2150858793        # w:TimedOut
    assert elapsed >= 1.0
    line = transport_lab.requests('stuck')[-1]
    assert (line['status'], line['action']) == (500, 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get')


def test_pypsrp_invoke_stop_service_changes_the_host(tmp_path, small_spec):
    with testing.running_fleet([small_spec], tmp_path / 'state') as lab:
        method_input = ET.Element('{%s}StopService_INPUT' % NS['svc'])
        with _wsman(lab, 'ex55') as client:
            out = client.invoke(WIN32_SERVICE + '/StopService', WIN32_SERVICE, method_input,
                                selector_set=_selectors('SMTPSVC'))
            assert out.findtext('.//svc:StopService_OUTPUT/svc:ReturnValue', namespaces=NS) == '0'
            bodies = _pypsrp_pages(client)
        assert _service_state(bodies, 'SMTPSVC') in ('Stop Pending', 'Stopped')
        assert [r['action'] for r in lab.requests('ex55')][-len(bodies) - 1] == WIN32_SERVICE + '/StopService'


@pytest.mark.parametrize('host', ['plain', 'secure'], ids=['ntlm-http-sealed', 'basic-https-validated'])
def test_ansible_raw_through_the_winrm_connection_plugin(transport_lab, host):
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default',
               ANSIBLE_LOCAL_TEMP=str(os.path.join(transport_lab.state_dir, 'ansible-tmp')))
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    proc = subprocess.run([ansible, '-i', transport_lab.inventory_path, host, '-m', 'raw', '-a', 'sc query SMTPSVC'],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '%s | CHANGED | rc=0' % host in proc.stdout
    assert 'SERVICE_NAME: SMTPSVC' in proc.stdout
    assert 'RUNNING' in proc.stdout
