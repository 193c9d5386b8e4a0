# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab pages and writes NULL like the Windows captures (tests/captures), and the collection's parser reads both alike.

Paging: real Server 2008/2012 answered an optimized Enumerate of `select * from Win32_Service` (MaxElements 32000)
with one item and a context, then Pulls each with a new context, the last with EndOfSequence and no context; a result
of one instance came whole (empty context, EndOfSequence); Server 2003 R2 answered everything at once.
"""
from __future__ import annotations

import dataclasses
import os
import re
import xml.etree.ElementTree as ET

import pytest

from winlab import model, scenario, soap, testing

from ansible_collections.mailops.port25.plugins.module_utils import cim as collection_cim
from ansible_collections.mailops.port25.tests.captures import capture_text, read_capture

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(os.path.dirname(HERE), 'scenarios')
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
SERVICE_NS = CIMV2 + 'Win32_Service'
NS = {'s': soap.NS_S, 'a': soap.NS_A, 'n': soap.NS_N, 'w': soap.NS_W}
XSI_NIL = '{http://www.w3.org/2001/XMLSchema-instance}nil'
OS_NAMES = {'2008': 'Microsoft Windows Server 2008 Standard', '2012': 'Microsoft Windows Server 2012 Standard',
            '2019': 'Microsoft Windows Server 2019 Standard',
            '2003': 'Microsoft(R) Windows(R) Server 2003, Enterprise Edition'}
CAPTURE_PAGES = {'2008': 4, '2012': 4}


def lab_host(version):
    spec = scenario.load_spec(os.path.join(SCENARIOS, 'ex55-smtp.yml'))[0]
    return model.Host.open(dataclasses.replace(spec, os=OS_NAMES[version]), None)


def capture_pages(version):
    return ['txwinrm_server_%s_Win32_Service_star_%03d.xml' % (version, n) for n in range(CAPTURE_PAGES[version])]


def lab_pages(host, wql, pull_max=32000):
    """The raw answers to an Enumerate (MaxElements 32000, as the captures' client asked) and the Pulls after it."""
    raw = []
    send = testing.in_process(host)
    reply = send(testing.request_envelope(soap.ACT_ENUMERATE, CIMV2 + '*', testing.enumerate_body(wql)))
    raw.append(reply)
    while True:
        root = ET.fromstring(raw[-1])
        context = root.findtext('.//n:EnumerationContext', namespaces=NS)
        if not context:
            return raw
        raw.append(send(testing.request_envelope(soap.ACT_PULL, CIMV2 + '*', testing.pull_body(context, pull_max))))


def page_form(raw):
    """What a page is, apart from its data: action, the response's children in order, item count class, context."""
    root = ET.fromstring(raw)
    response = root.find('s:Body', NS)[0]
    items = response.find('w:Items', NS)
    if items is None:
        items = response.find('n:Items', NS)
    context = response.findtext('n:EnumerationContext', namespaces=NS)
    count = len(items) if items is not None else 0
    return {
        'action': root.findtext('s:Header/a:Action', namespaces=NS).rsplit('/', 1)[-1],
        'children': [child.tag for child in response],
        'items': 'one' if count == 1 else ('none' if count == 0 else 'many'),
        'context': None if context is None else ('empty' if context == '' else bool(re.match(r'^uuid:[0-9A-F-]{36}$', context))),
    }


@pytest.mark.parametrize('version', ['2008', '2012'])
def test_optimized_enumerate_then_pulls_like_the_capture(version):
    """One item and a context first, whatever MaxElements says; Pulls with a new context each; EndOfSequence last."""
    host = lab_host(version)
    theirs = [page_form(read_capture(name)) for name in capture_pages(version)]
    ours = lab_pages(host, 'select * from Win32_Service', pull_max=7)        # 21 services: 1 + 7 + 7 + 6
    assert [page_form(raw) for raw in ours] == theirs
    contexts = [ET.fromstring(raw).findtext('.//n:EnumerationContext', namespaces=NS) for raw in ours[:-1]]
    assert len(set(contexts)) == len(contexts)
    # with the captures' own Pull (MaxElements 32000) the rest fits one page: first + last page forms only
    ours = lab_pages(host, 'select * from Win32_Service')
    assert [page_form(raw) for raw in ours] == [theirs[0], theirs[-1]]


def test_envelope_size_bounds_a_pull_like_windows():
    """Server 2012's Pulls stop at its 150 KB envelope (UTF-16): about 75,000 characters a page in the captures."""
    sizes = [len(capture_text(name)) for name in capture_pages('2012')[1:-1]]
    assert all(70000 < size * 2 <= 153600 for size in sizes), sizes
    host = lab_host('2012')
    for number in range(300):
        host.services['extra%03d' % number] = dict(host.services['w3svc'], name='Extra%03d' % number, pid=None,
                                                   state=model.STOPPED, description='x' * 400)
    ours = lab_pages(host, 'select * from Win32_Service')
    forms = [page_form(raw) for raw in ours]
    assert forms[0]['items'] == 'one' and forms[1]['context'] is True and forms[-1]['context'] is None
    assert all(len(raw.decode('utf-8')) * 2 <= 153600 for raw in ours)
    assert max(len(raw.decode('utf-8')) * 2 for raw in ours[1:-1]) > 140000           # pages fill the envelope


@pytest.mark.parametrize('wql, items', [
    ("select * from Win32_Service where Name = 'SMTPSVC'", 'one'),
    ("select * from Win32_Service where Name = 'NoSuchService'", 'none'),
])
def test_one_instance_or_none_comes_whole_like_the_os_capture(wql, items):
    theirs = page_form(read_capture('txwinrm_server_2012_Win32_OperatingSystem_star_000.xml'))
    assert theirs['items'] == 'one'
    ours = lab_pages(lab_host('2012'), wql)
    assert len(ours) == 1
    assert page_form(ours[0]) == dict(theirs, items=items)


def test_server_2003_answers_everything_at_once_like_its_capture():
    theirs = page_form(read_capture('txwinrm_server_2003_Win32_Service_star_000.xml'))
    ours = lab_pages(lab_host('2003'), 'select * from Win32_Service')
    assert [page_form(raw) for raw in ours] == [theirs]
    assert theirs['items'] == 'many'


def test_unset_values_are_nil_like_the_capture():
    """A service without a description: <p:Description xsi:nil="true"/> (NVWMI in the 2012 capture); an empty string
    stays an empty element (Win32_OperatingSystem.Description in its capture)."""
    capture = capture_text('txwinrm_server_2012_Win32_Service_star_002.xml')
    nvwmi = re.search(r'<p:Description[^>]*/>(?=<p:DesktopInteract>false</p:DesktopInteract><p:DisplayName>NVIDIA WMI)',
                      capture)
    assert nvwmi.group(0) == '<p:Description xsi:nil="true"/>'
    host = lab_host('2012')
    assert not host.service('SMTPSVC')['description']
    raw = lab_pages(host, "select * from Win32_Service where Name = 'SMTPSVC'")[0].decode('utf-8')
    assert '<p:Description xsi:nil="true"/><p:DesktopInteract>' in raw
    assert '<p:Description></p:Description>' not in raw
    item = ET.fromstring(raw).find('.//{%s}Win32_Service' % SERVICE_NS)
    theirs = ET.fromstring(capture).find('.//{%s}Win32_Service[{%s}Name="NVWMI"]' % (SERVICE_NS, SERVICE_NS))
    for element in (item, theirs):
        description = element.find('{%s}Description' % SERVICE_NS)
        assert (description.attrib, description.text, list(description)) == ({XSI_NIL: 'true'}, None, [])
    os_raw = lab_pages(host, 'select * from Win32_OperatingSystem')[0].decode('utf-8')
    assert '<p:Description></p:Description>' in os_raw
    assert '<p:Description></p:Description>' in capture_text('txwinrm_server_2012_Win32_OperatingSystem_star_000.xml')
    raw = lab_pages(host, "select Name, Description from Win32_Service where Name = 'SMTPSVC'")[0].decode('utf-8')
    assert '<Description xsi:nil="true"/>' in raw                                      # the XmlFragment form too


def _parsed(pages):
    return [collection_cim.parse_enumeration(raw, 'Win32_Service') for raw in pages]


@pytest.mark.parametrize('version', ['2008', '2012'])
def test_the_collections_parser_reads_the_lab_and_the_capture_alike(version):
    theirs = _parsed([read_capture(name) for name in capture_pages(version)])
    ours = _parsed(lab_pages(lab_host(version), 'select * from Win32_Service', pull_max=7))
    for pages in (theirs, ours):
        assert [len(p.items) == 1 for p in pages[:1]] == [True]
        assert [p.finished for p in pages] == [False] * (len(pages) - 1) + [True]
        assert all(p.context.startswith('uuid:') for p in pages[:-1]) and pages[-1].context is None
    assert sorted(theirs[0].items[0]) == sorted(ours[0].items[0])                 # the same properties, parsed
    nil = [item['Name'] for page in theirs for item in page.items if item['Description'] is None]
    assert len(nil) == 1                                                          # a service without a description
    assert all(item['Description'] is None for page in ours for item in page.items)  # the lab's services: none set
    names = [item['Name'] for page in ours for item in page.items]
    assert names == sorted(names, key=str.lower) and len(names) == 21


def test_pages_of_the_lab_over_http_are_what_wsman_handle_answers(tmp_path):
    """The same paging through the lab's HTTP server and NTLM (what the collection meets)."""
    spec = testing.write_scenario(tmp_path / 'one.yml', [testing.small_host('paging')])
    with testing.running_fleet([spec], tmp_path / 'state') as lab:
        proto = testing.pywinrm_protocol(lab, 'paging')
        pages = testing.enumerate_pages(proto.send_message, lab.endpoint('paging'), SERVICE_NS,
                                        wql='select Name from Win32_Service')
        assert [page_form(ET.tostring(p))['items'] for p in pages] == ['one', 'many']
        actions = [r['action'].rsplit('/', 1)[-1] for r in lab.requests('paging') if r['action']]
        assert actions == ['Enumerate', 'Pull']
