# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediation engine over several ports and two hosts: plan, verify and rollback of the KB's proxy-server setup
and of a conflict on 2525, with the same safety rules on the port host."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, remediation

CATALOGUE = antivirus.Catalogue()
OPTIONS = {'smtp_service': 'SMTPSVC', 'allowed_to_stop': ['SMTPSVC'], 'disable_smtp_service': True, 'start_mail_service': True,
           'profile': 'auto'}


def svc(name, state='running', mode='auto', exists=True):
    return {'name': name, 'exists': exists, 'state': state if exists else None, 'start_mode': mode if exists else None, 'pid': None}


def owner(kind, process=None, services=(), host=None, product=None):
    found = {'kind': kind, 'pid': 900 if process else None, 'process': process, 'path': None, 'services': list(services),
             'product': product}
    return dict(found, host=host) if host else found


NONE = owner('none')
SMTP_THERE = owner('smtp_service', 'inetinfo.exe', ['IISADMIN', 'SMTPSVC'])
WSPSRV = owner('mail_service', 'wspsrv.exe', ['WSPSRV'])
AV_THERE = owner('antivirus', 'TmProxy.exe', ['TmProxy'], product={'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One'})


def kb_topology(held_by=None, proxy_smtp=None, detected_there='msproxy2', imc='stopped', proxy_gaps=()):
    """The Exchange 5.5 host (no SMTP service of its own) and its proxy, where the port is."""
    held_by = SMTP_THERE if held_by is None else held_by
    entry = {'port': 25, 'service': 'MSExchangeIMC', 'host': 'proxy01', 'owner': held_by, 'verdict': 'x', 'greeting': None}
    return {'host': 'ex55', 'port': 25, 'profile': 'exchange55', 'detected_profile': 'exchange55',
            'owner': dict(held_by, host='proxy01'), 'smtp_service': dict(svc('SMTPSVC', exists=False), is_transport=False),
            'mail_service': svc('MSExchangeIMC', imc), 'port_services': [svc('MSExchangeIMC', imc)], 'ports': [entry],
            'port_host': {'host': 'proxy01', 'address': '10.0.0.9', 'detected_profile': detected_there,
                          'smtp_service': dict(proxy_smtp or svc('SMTPSVC'), is_transport=detected_there == 'exchange2003'),
                          'proxy_service': svc('WSPSRV'), 'antivirus': {}, 'gaps': list(proxy_gaps)},
            'findings': [], 'events': [], 'gaps': [], 'compliant': False}


def steps(result):
    return [(a['action'], a['service'], a.get('host'), a['after']['state'], a['after']['start_mode']) for a in result['actions']]


def plan(diag, predicted=False, **options):
    return remediation.plan(diag, dict(OPTIONS, **options), CATALOGUE, predicted=predicted)


STOP_THERE = ('stop', 'SMTPSVC', 'proxy01', 'stopped', 'auto')
DISABLE_THERE = ('set_start_mode', 'SMTPSVC', 'proxy01', 'stopped', 'disabled')
START_IMC = ('start', 'MSExchangeIMC', None, 'running', 'auto')


@pytest.mark.parametrize('case, diag, options, expected, flags', [
    ('the KB case', kb_topology(), {}, [STOP_THERE, DISABLE_THERE, START_IMC], []),
    ('SMTP already stopped, still auto', kb_topology(NONE, svc('SMTPSVC', 'stopped')), {}, [DISABLE_THERE, START_IMC], []),
    ('fixed already', kb_topology(WSPSRV, svc('SMTPSVC', 'stopped', 'disabled'), imc='running'), {}, [], []),
    ('not allowed', kb_topology(), {'allowed_to_stop': []}, [], ['SMTP_SERVICE_NOT_ALLOWED']),
    # KB Q222553: "Some customers have found their anti-virus product a contributing factor" - on the proxy server too.
    ('antivirus on the proxy', kb_topology(AV_THERE), {}, [], ['ANTIVIRUS_HOLDS_PORT']),
    ('the proxy is an Exchange 2003 server', kb_topology(SMTP_THERE, detected_there='exchange2003'), {},
     [], ['SMTP_SERVICE_IS_TRANSPORT']),
    ('another client holds it', kb_topology(dict(WSPSRV, kind='other', note='the WinSock Proxy service holds it for another client'),
                                            svc('SMTPSVC', 'stopped', 'disabled')), {}, [], ['UNKNOWN_OWNER']),
    ('unreadable port host', kb_topology(owner('unknown'), proxy_gaps=[{'class': 'MSFT_NetTCPConnection'}]), {}, [], ['UNKNOWN_OWNER']),
])
def test_plan_on_two_hosts(case, diag, options, expected, flags):
    result = plan(diag, **options)
    assert (steps(result), [flag['code'] for flag in result['flags']]) == (expected, flags), case


def test_flags_name_the_port_host():
    result = plan(kb_topology(AV_THERE))
    assert result['flags'][0]['message'].startswith('Port 25 of the port host proxy01 is held by Trend Micro OfficeScan')
    result = plan(kb_topology(SMTP_THERE, detected_there='exchange2003'), predicted=True)
    assert result['flags'][0]['message'] == 'SMTPSVC is the Exchange transport on the port host proxy01; it would be left alone.'
    result = plan(kb_topology(), allowed_to_stop=[])
    assert result['flags'][0]['message'].startswith('SMTPSVC on the port host proxy01 is running (start mode auto) but SMTPSVC is '
                                                    'not on the allowed list')


@pytest.mark.parametrize('name', ['WSPSRV', 'TmProxy', 'WinRM'])
def test_nothing_but_the_smtp_service_is_ever_changed_on_the_port_host(name):
    diag = kb_topology(NONE, svc(name))
    diag['port_host']['smtp_service']['name'] = name
    result = plan(diag, smtp_service=name, allowed_to_stop=[name, 'SMTPSVC'])
    assert [s for s in steps(result) if s[2]] == [] and [f['code'] for f in result['flags']] == ['SERVICE_REFUSED']
    ctx = remediation.port_context(kb_topology(), OPTIONS, CATALOGUE)
    assert remediation.refusal('start', 'WSPSRV', ctx) is not None
    assert remediation.refusal('start', 'MSExchangeIMC', ctx) is not None
    assert remediation.refusal('stop', 'SMTPSVC', ctx) is None


# Exchange 2019: the Transport service's 2525 held by an IIS SMTP virtual server moved there; the front end runs.
def ex2019(smtp_state=('running', 'auto'), held=None):
    held = SMTP_THERE if held is None else held
    fet, transport = svc('MSExchangeFrontEndTransport'), svc('MSExchangeTransport', 'stopped')
    return {'host': 'ex2019', 'port': 25, 'profile': 'exchange2013', 'detected_profile': 'exchange2013',
            'owner': owner('mail_service', 'MSExchangeFrontendTransport.exe', ['MSExchangeFrontEndTransport']),
            'smtp_service': dict(svc('SMTPSVC', *smtp_state), is_transport=False), 'mail_service': fet,
            'port_services': [fet, transport, svc('MSExchangeDelivery', exists=False)],
            'ports': [{'port': 25, 'service': fet['name'], 'host': None, 'owner': owner('mail_service'), 'verdict': 'ok'},
                      {'port': 2525, 'service': transport['name'], 'host': None, 'owner': held, 'verdict': 'conflict'},
                      {'port': 465, 'service': transport['name'], 'host': None, 'owner': NONE, 'verdict': 'free'},
                      {'port': 475, 'service': 'MSExchangeDelivery', 'host': None, 'owner': NONE, 'verdict': 'not_installed'}],
            'findings': [], 'events': [], 'gaps': [], 'compliant': False}


def test_a_conflict_on_2525_starts_the_transport_service():
    assert steps(plan(ex2019())) == [('stop', 'SMTPSVC', None, 'stopped', 'auto'), ('set_start_mode', 'SMTPSVC', None, 'stopped', 'disabled'),
                                     ('start', 'MSExchangeTransport', None, 'running', 'auto')]


def test_antivirus_on_2525_leaves_everything_alone():
    result = plan(ex2019(held=AV_THERE))
    assert steps(result) == [] and [f['code'] for f in result['flags']] == ['ANTIVIRUS_HOLDS_PORT']
    assert result['flags'][0]['message'].startswith('Port 2525 is held by Trend Micro')


def test_the_smtp_service_holding_2525_is_stopped_even_while_another_port_is_blocked():
    diag = ex2019()
    diag['ports'][2]['owner'] = owner('other', 'relay.exe')
    assert [s[:2] for s in steps(plan(diag))] == [('stop', 'SMTPSVC'), ('set_start_mode', 'SMTPSVC')]


# ---------------------------------------------------------------------------------------------------- verify

def after_kb(held_by, greeting=None):
    diag = kb_topology(held_by, svc('SMTPSVC', 'stopped', 'disabled'), imc='running')
    diag['ports'][0]['greeting'] = greeting
    return diag


IMS_GREETING = {'text': 'EX55 ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready', 'error': None,
                'matches': True, 'expected_name': 'the IMS'}


@pytest.mark.parametrize('after, problems', [
    (after_kb(WSPSRV, IMS_GREETING), []),
    (after_kb(WSPSRV), []),
    (after_kb(SMTP_THERE), ['port 25 of proxy01 is held by inetinfo.exe (smtp_service), not by MSExchangeIMC',
                            'port 25 of proxy01 is still held by the SMTP service']),
    (after_kb(WSPSRV, dict(IMS_GREETING, text='relay ready', matches=False)), ['port 25 of proxy01 answers "relay ready", not the IMS']),
    (after_kb(WSPSRV, dict(IMS_GREETING, error='connected, but no greeting within 10 s', matches=None)),
     ['port 25 of proxy01 gives no SMTP greeting (connected, but no greeting within 10 s)']),
])
def test_verify_on_the_port_host_and_on_the_wire(after, problems):
    actions = plan(kb_topology())['actions']
    assert remediation.verify(actions, kb_topology(), after) == problems


def test_verify_every_port_of_a_started_service():
    actions = plan(ex2019())['actions']
    after = ex2019(('stopped', 'disabled'), held=owner('mail_service', 'EdgeTransport.exe', ['MSExchangeTransport']))
    after['port_services'][1]['state'] = 'running'
    # 465 free: the Transport service does not listen there (its configuration), no other program does.
    assert remediation.verify(actions, ex2019(), after) == []
    after['ports'][2]['owner'] = owner('other', 'relay.exe')
    assert remediation.verify(actions, ex2019(), after) == ['port 465 is held by relay.exe (other), not by MSExchangeTransport']
    after['ports'][2]['owner'] = after['ports'][1]['owner']
    after['ports'][1]['greeting'] = {'text': 'relay ready', 'error': None, 'matches': False, 'expected_name': 'Exchange'}
    assert remediation.verify(actions, ex2019(), after) == ['port 2525 answers "relay ready", not Exchange']


def test_the_record_names_the_port_host_and_keeps_every_port():
    before = kb_topology()
    record = remediation.record('ex55', False, before, plan(before)['actions'], None, [])
    assert record['port_host'] == 'proxy01'
    assert record['before']['ports'] == before['ports'] and record['before']['port_host']['host'] == 'proxy01'
    assert [a.get('host') for a in record['actions']] == ['proxy01', 'proxy01', None]


# ---------------------------------------------------------------------------------------------------- rollback

def made(action, name, before, after, host=None):
    item = {'action': action, 'service': name, 'before': {'state': before[0], 'start_mode': before[1]},
            'after': {'state': after[0], 'start_mode': after[1]}, 'changed': True, 'completed': True}
    return dict(item, host=host) if host else item


RECORD = {'report_format': remediation.REPORT_FORMAT, 'host': 'ex55', 'check_mode': False, 'changed': True, 'actions': [
    made('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto'), 'proxy01'),
    made('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled'), 'proxy01'),
    made('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))]}


def contexts():
    diag = kb_topology()
    return remediation.context(diag, OPTIONS, CATALOGUE), remediation.port_context(diag, OPTIONS, CATALOGUE)


def test_rollback_covers_both_hosts():
    ctx, port_ctx = contexts()
    current = {'msexchangeimc': dict(svc('MSExchangeIMC'))}
    there = ('proxy01', {'smtpsvc': svc('SMTPSVC', 'stopped', 'disabled')}, port_ctx)
    outcome = remediation.rollback_plan(remediation.validate_record(RECORD, 'ex55'), current, ctx, port_host=there)
    assert outcome == {'refused': [], 'steps': [
        {'service': 'MSExchangeIMC', 'state': 'stopped', 'start_mode': 'auto'},
        {'service': 'SMTPSVC', 'state': 'running', 'start_mode': 'auto', 'host': 'proxy01'}]}
    # Once back, nothing more to do.
    current = {'msexchangeimc': svc('MSExchangeIMC', 'stopped')}
    there = ('proxy01', {'smtpsvc': svc('SMTPSVC')}, port_ctx)
    assert remediation.rollback_plan(RECORD, current, ctx, port_host=there) == {'steps': [], 'refused': []}


@pytest.mark.parametrize('there', [None, ('proxy02', {'smtpsvc': svc('SMTPSVC', 'stopped', 'disabled')}, None)])
def test_rollback_without_that_port_host_refuses_its_part(there):
    ctx, port_ctx = contexts()
    if there:
        there = (there[0], there[1], port_ctx)
    outcome = remediation.rollback_plan(RECORD, {'msexchangeimc': svc('MSExchangeIMC')}, ctx, port_host=there)
    assert outcome['steps'] == [{'service': 'MSExchangeIMC', 'state': 'stopped', 'start_mode': 'auto'}]
    assert outcome['refused'] == [{'service': 'SMTPSVC', 'host': 'proxy01', 'reason': 'the run changed it on the port host proxy01; '
                                   'roll back with port_host set to proxy01 (bind_conflict_port_host)'}]
    assert remediation.refusal_flags(outcome['refused'], False)[0]['message'].startswith('SMTPSVC on proxy01 was not rolled back')


def test_rollback_on_the_port_host_keeps_its_rules():
    ctx, port_ctx = contexts()
    record = dict(RECORD, actions=[made('start', 'WSPSRV', ('stopped', 'auto'), ('running', 'auto'), 'proxy01')])
    there = ('proxy01', {'wspsrv': svc('WSPSRV')}, port_ctx)
    outcome = remediation.rollback_plan(record, {}, ctx, port_host=there)
    assert outcome['steps'] == [] and 'never changes WSPSRV that way' in outcome['refused'][0]['reason']


@pytest.mark.parametrize('host', ['', 'a b', 'x/y', 5, 'a\nb'])
def test_a_record_with_a_bad_host_is_refused(host):
    record = dict(RECORD, actions=[dict(RECORD['actions'][0], host=host)])
    with pytest.raises(Exception) as info:
        remediation.validate_record(record, 'ex55')
    assert 'actions[0].host must be the inventory name of a host' in str(info.value)
