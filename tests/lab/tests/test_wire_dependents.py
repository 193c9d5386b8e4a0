# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Win32_DependentService: association instances whose Antecedent/Dependent are EPRs of Win32_Service instances.

The reference shape is the one Windows uses for an instance's address (<cim:Location> in Microsoft's WinRM Get
example): <a:Address> anonymous, then <a:ReferenceParameters> with <w:ResourceURI> and <w:SelectorSet>.
The last tests feed the lab's answer to the collection's own parser and read_dependents, so the two must agree.
"""
from __future__ import annotations

import os

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import cim as collection_cim
from ansible_collections.mailops.port25.plugins.module_utils import host_queries
from winlab import model, scenario, soap, testing, wsman

SCENARIOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
NS = {'s': soap.NS_S, 'a': soap.NS_A, 'n': soap.NS_N, 'w': soap.NS_W,
      'p': CIMV2 + 'Win32_DependentService', 'xsi': 'http://www.w3.org/2001/XMLSchema-instance'}
ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'
SERVICE_URI = CIMV2 + 'Win32_Service'
# ex55-smtp.yml: (antecedent, dependent) for every depends_on entry naming a service of the host,
# ordered by the dependent's name
EX55_LINKS = [('RpcSs', 'IISADMIN'), ('RpcSs', 'LanmanServer'), ('MSExchangeSA', 'MSExchangeDS'),
              ('MSExchangeMTA', 'MSExchangeIMC'), ('MSExchangeIS', 'MSExchangeIMC'), ('MSExchangeDS', 'MSExchangeIS'),
              ('MSExchangeDS', 'MSExchangeMTA'), ('RpcSs', 'MSExchangeSA'), ('LanmanWorkstation', 'MSExchangeSA'),
              ('EventLog', 'MSExchangeSA'), ('DcomLaunch', 'RpcSs'), ('RpcEptMapper', 'RpcSs'), ('RpcSs', 'Schedule'),
              ('EventLog', 'Schedule'), ('IISADMIN', 'SMTPSVC'), ('RpcSs', 'Spooler'), ('IISADMIN', 'W3SVC'),
              ('RpcSs', 'Winmgmt'), ('RpcSs', 'WinRM')]


@pytest.fixture(name='host')
def host_fixture():
    return model.Host.open(scenario.load_spec(os.path.join(SCENARIOS, 'ex55-smtp.yml'))[0], None)


def _enumerate(host, query):
    """The items of every page (the first answer holds one item, like Windows; Pulls bring the rest)."""
    raw, send = [], testing.in_process(host)
    pages = testing.enumerate_pages(lambda text: raw.append(send(text)) or raw[-1], 'http://lab/wsman', CIMV2 + '*',
                                    wql=query)
    items = list(pages[0].find('.//n:EnumerateResponse/w:Items', NS))
    for page in pages[1:]:
        items.extend(page.find('.//n:PullResponse/n:Items', NS))
    assert pages[-1].find('.//n:EndOfSequence', NS) is not None or pages[-1].find('.//w:EndOfSequence', NS) is not None
    return b''.join(raw), items


def _selector(ref):
    return [(s.get('Name'), s.text) for s in ref.findall('a:ReferenceParameters/w:SelectorSet/w:Selector', NS)]


def _expected_links(host):
    links = []
    for svc in sorted(host.services.values(), key=lambda s: s['name'].lower()):
        links.extend((dep, svc['name']) for dep in svc['depends_on'] if host.service(dep))
    return links


def test_scenario_links_are_what_the_test_expects(host):
    assert _expected_links(host) == EX55_LINKS


def test_typed_items_carry_references_as_eprs(host):
    body, items = _enumerate(host, 'SELECT * FROM Win32_DependentService')
    assert len(items) == len(EX55_LINKS)
    first = items[0]
    assert first.tag == '{%s}Win32_DependentService' % NS['p']
    assert first.get('{%s}type' % NS['xsi']) == 'p:Win32_DependentService_Type'
    assert [c.tag for c in first] == ['{%s}%s' % (NS['p'], n) for n in ('Antecedent', 'Dependent', 'TypeOfDependency')]
    antecedent = first.find('p:Antecedent', NS)
    assert [c.tag for c in antecedent] == ['{%s}Address' % soap.NS_A, '{%s}ReferenceParameters' % soap.NS_A]
    assert antecedent.findtext('a:Address', namespaces=NS) == ANONYMOUS
    params = antecedent.find('a:ReferenceParameters', NS)
    assert [c.tag for c in params] == ['{%s}ResourceURI' % soap.NS_W, '{%s}SelectorSet' % soap.NS_W]
    assert params.findtext('w:ResourceURI', namespaces=NS) == SERVICE_URI
    assert _selector(antecedent) == [('Name', 'RpcSs')]
    assert _selector(first.find('p:Dependent', NS)) == [('Name', 'IISADMIN')]
    assert first.find('p:TypeOfDependency', NS).get('{%s}nil' % NS['xsi']) == 'true'
    pairs = [(_selector(i.find('p:Antecedent', NS))[0][1], _selector(i.find('p:Dependent', NS))[0][1]) for i in items]
    assert pairs == EX55_LINKS
    # the a: and w: prefixes of the EPRs are the envelope's, exactly as the headers use them
    assert b'<p:Antecedent><a:Address>' + ANONYMOUS.encode() + b'</a:Address><a:ReferenceParameters><w:ResourceURI>' in body


def test_projection_gives_fragments_with_unqualified_reference_elements(host):
    _body, items = _enumerate(host, "SELECT Dependent, Antecedent FROM Win32_DependentService WHERE Dependent LIKE '%\"W3SVC\"'")
    assert len(items) == 1
    fragment = items[0]
    assert fragment.tag == '{%s}XmlFragment' % soap.NS_W
    assert [c.tag for c in fragment] == ['Antecedent', 'Dependent']
    assert _selector(fragment.find('Antecedent')) == [('Name', 'IISADMIN')]
    assert fragment.findtext('Dependent/a:ReferenceParameters/w:ResourceURI', namespaces=NS) == SERVICE_URI


def test_where_compares_the_wmi_object_path(host):
    path = '\\\\\\\\%s\\\\root\\\\cimv2:Win32_Service.Name=\\"IISADMIN\\"' % host.hostname
    _body, items = _enumerate(host, "SELECT * FROM Win32_DependentService WHERE Antecedent = \"%s\"" % path)
    assert [_selector(i.find('p:Dependent', NS))[0][1] for i in items] == ['SMTPSVC', 'W3SVC']


def test_links_follow_the_host_not_the_scenario(host):
    host.services['w3svc']['depends_on'] = []
    host.services['smtpsvc']['depends_on'] = ['IISADMIN', 'NoSuchService']    # a missing service is no instance
    _body, items = _enumerate(host, 'SELECT * FROM Win32_DependentService')
    pairs = [(_selector(i.find('p:Antecedent', NS))[0][1], _selector(i.find('p:Dependent', NS))[0][1]) for i in items]
    assert pairs == [link for link in EX55_LINKS if link != ('IISADMIN', 'W3SVC')]


def test_denied_class_is_access_denied(host):
    host.spec.faults['access_denied_classes'] = ['Win32_DependentService']
    reply = wsman.handle(host, testing.request_envelope(soap.ACT_ENUMERATE, CIMV2 + '*',
                                                        testing.enumerate_body('SELECT * FROM Win32_DependentService')))
    assert reply.status == 500
    assert collection_cim.fault_info(reply.body)['subcode'] == 'w:AccessDenied'


class LabClient:
    """The collection's enumerate() contract (list of parsed items) answered by the lab in-process."""

    host = 'lab'

    def __init__(self, lab_host):
        self.lab_host = lab_host

    def enumerate(self, namespace, query):
        uri = collection_cim.resource_uri(namespace)
        reply = wsman.handle(self.lab_host, testing.request_envelope(soap.ACT_ENUMERATE, uri, testing.enumerate_body(query)))
        page = collection_cim.parse_enumeration(reply.body)
        items = list(page.items)
        while not page.finished:
            reply = wsman.handle(self.lab_host, testing.request_envelope(soap.ACT_PULL, uri, testing.pull_body(page.context)))
            page = collection_cim.parse_enumeration(reply.body)
            items.extend(page.items)
        return items


def test_collection_parser_reads_the_lab_references(host):
    items = LabClient(host).enumerate('root/cimv2', 'SELECT * FROM Win32_DependentService')
    assert items[0] == {
        '__class__': 'Win32_DependentService',
        'Antecedent': {'Address': ANONYMOUS, 'ReferenceParameters': {'ResourceURI': SERVICE_URI, 'SelectorSet': {'Name': 'RpcSs'}}},
        'Dependent': {'Address': ANONYMOUS, 'ReferenceParameters': {'ResourceURI': SERVICE_URI, 'SelectorSet': {'Name': 'IISADMIN'}}},
        'TypeOfDependency': None,
    }
    links = host_queries.read_dependents(LabClient(host))
    assert links['iisadmin'] == ['SMTPSVC', 'W3SVC']
    assert links['rpcss'] == ['IISADMIN', 'LanmanServer', 'MSExchangeSA', 'Schedule', 'Spooler', 'Winmgmt', 'WinRM']
    assert links['msexchangeds'] == ['MSExchangeIS', 'MSExchangeMTA']
    assert sum(len(v) for v in links.values()) == len(EX55_LINKS)
