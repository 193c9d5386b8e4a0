# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conflict_info against every shipped lab scenario, over NTLM-encrypted HTTP and over HTTPS (Basic, CA-validated).

Connection settings come only from the lab's inventory. The verdict of each scenario is asserted exactly and printed
as a table (run with ``-s`` to see it); PIDs, process names and services are checked against the lab's own state.
"""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.mailops.port25.tests.integration.helpers import (
    SHIPPED, TRANSPORTS, adhoc, fleet, renamed, scenario_hosts)

# scenario -> (profile, owner kind, owner services, [(finding code, severity)], compliant)
VERDICTS = {
    'ex2003': ('exchange2003', 'mail_service', ['IISADMIN', 'RESvc', 'SMTPSVC'],
               [('SMTP_SERVICE_IS_TRANSPORT', 'info')], True),
    # the same conflict on a host in UTC-07:00 with a 100,000-record log and no message file for the transport
    'ex2019-biglog': ('exchange2013', 'smtp_service', ['IISADMIN', 'SMTPSVC'],
                      [('PORT_HELD_BY_SMTP_SERVICE', 'error'), ('SMTP_SERVICE_ENABLED', 'error'),
                       ('MAIL_SERVICE_NOT_RUNNING', 'error'), ('ANTIVIRUS_PRESENT', 'info')],
                      False),
    'ex2019-iis-smtp': ('exchange2013', 'smtp_service', ['IISADMIN', 'SMTPSVC'],
                        [('PORT_HELD_BY_SMTP_SERVICE', 'error'), ('SMTP_SERVICE_ENABLED', 'error'),
                         ('MAIL_SERVICE_NOT_RUNNING', 'error'), ('ANTIVIRUS_PRESENT', 'info')],
                        False),
    'ex55-av-proxy': ('exchange55', 'antivirus', ['TmProxy'],
                      [('PORT_HELD_BY_ANTIVIRUS', 'error'), ('MAIL_SERVICE_NOT_RUNNING', 'error'),
                       ('ANTIVIRUS_PRESENT', 'info')], False),
    'ex55-healthy': ('exchange55', 'mail_service', ['MSExchangeIMC'], [('ANTIVIRUS_PRESENT', 'info')], True),
    'ex55-smtp': ('exchange55', 'smtp_service', ['IISADMIN', 'SMTPSVC'],
                  [('PORT_HELD_BY_SMTP_SERVICE', 'error'), ('SMTP_SERVICE_ENABLED', 'error'), ('MAIL_SERVICE_NOT_RUNNING', 'error'),
                   ('ANTIVIRUS_PRESENT', 'info')], False),
    'ex55-smtp-stopped-auto': ('exchange55', 'mail_service', ['MSExchangeIMC'],
                               [('SMTP_SERVICE_ENABLED', 'error'), ('ANTIVIRUS_PRESENT', 'info')], False),
    'ex55-unknown-owner': ('exchange55', 'other', [],
                           [('PORT_HELD_BY_OTHER', 'error'), ('MAIL_SERVICE_NOT_RUNNING', 'error'),
                            ('ANTIVIRUS_PRESENT', 'info')], False),
    'oldos-ex55-smtp': ('exchange55', 'smtp_service', ['IISADMIN', 'SMTPSVC'],
                        [('PORT_HELD_BY_SMTP_SERVICE', 'error'), ('SMTP_SERVICE_ENABLED', 'error'), ('MAIL_SERVICE_NOT_RUNNING', 'error')],
                        False),
}
# Trend Micro's proxy holds the port on ex55-av-proxy; Defender is installed on every modern scenario.
PRODUCTS = {'ex2003': [], 'oldos-ex55-smtp': [], 'ex55-av-proxy': [('Microsoft Defender Antivirus', False), ('OfficeScan / Apex One', True)]}
# HTTP requests of one conflict_info run per host over NTLM/HTTP, counted from the lab's request log with the lab paging
# like Windows: (authentication legs, Enumerate, Pull, cmd shell requests, total). Every query of many instances costs an
# Enumerate and a Pull. Healthy and conflicted hosts: listeners, services, the listening process (aim: at most 7).
# Antivirus: the catalogue's Trend Micro images answer three processes (one Pull more). Another program: its parent's
# services are read (one Enumerate more). Exchange 2019: five listening processes. Old OS (no root/StandardCimv2):
# the listener query is refused and netstat runs in a cmd shell (five requests).
REQUESTS = {
    'ex55-healthy': (2, 3, 2, 0, 7), 'ex55-smtp': (2, 3, 2, 0, 7), 'ex55-smtp-stopped-auto': (2, 3, 2, 0, 7),
    'ex55-av-proxy': (2, 3, 3, 0, 8), 'ex55-unknown-owner': (2, 4, 2, 0, 8), 'ex2019-iis-smtp': (2, 3, 3, 0, 8),
    'ex2019-biglog': (2, 3, 3, 0, 8), 'ex2003': (2, 3, 0, 5, 10), 'oldos-ex55-smtp': (2, 3, 1, 5, 11),
}
SHELL = ('Create', 'Command', 'Receive', 'Signal', 'Delete')

STATE_WORDS = {'Running': 'running', 'Stopped': 'stopped'}


def expected_owner(state, port=25):
    """Owner facts from the lab's state file: the PID on the port, its process, and the running services in it."""
    pids = sorted({ln['pid'] for ln in state['listeners'] if ln['port'] == port})
    assert len(pids) == 1, pids
    process = next(p for p in state['processes'] if p['pid'] == pids[0])
    return pids[0], process


def service_state(state, name):
    svc = next(s for s in state['services'] if s['name'].lower() == name.lower())
    return {'name': svc['name'], 'exists': True, 'state': STATE_WORDS[svc['state']], 'start_mode': svc['start_mode'].lower(),
            'pid': svc['pid'] if svc['state'] == 'Running' else None}


def test_scenarios_are_all_covered():
    assert sorted(VERDICTS) == SHIPPED


@pytest.fixture(scope='module')
def diagnoses(diag_fleets, ansible_env, tmp_path_factory):
    """conflict_info once per transport over the whole fleet (read-only, so the fleets are shared)."""
    out = {}
    for label, lab in diag_fleets.items():
        cwd = tmp_path_factory.mktemp('conflict-' + label)
        before = {name: lab.host_state(name) for name in SHIPPED}
        marks = {name: len(lab.requests(name)) for name in SHIPPED}
        result = adhoc(ansible_env, cwd, lab.inventory_path, 'mailops.port25.conflict_info')
        check = adhoc(ansible_env, cwd, lab.inventory_path, 'mailops.port25.conflict_info', check=True)
        # The request log lines of these two runs only (the fleets are shared with other read-only tests).
        logs = {name: lab.requests(name)[marks[name]:] for name in SHIPPED}
        out[label] = (lab, result, check, before, logs)
    return out


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_verdict_of_every_scenario(diagnoses, transport, request):
    lab, result, _check, before, _logs = diagnoses[transport]
    assert result.rc == 0, result.stdout[-3000:]
    rows = []
    for name in SHIPPED:
        res = result.results[name]
        assert not res.get('failed'), (name, res.get('msg'))
        profile, kind, services, findings, compliant = VERDICTS[name]
        state = before[name]
        pid, process = expected_owner(state)
        assert res['changed'] is False
        assert res['host'] == lab.hosts[name]['ansible_host']
        assert (res['port'], res['profile'], res['profile_source']) == (25, profile, 'detected')
        assert res['owner']['kind'] == kind
        assert res['owner']['pid'] == pid
        assert res['owner']['process'] == process['name']
        assert res['owner']['path'] == process['path']
        assert res['owner']['services'] == services
        assert [(f['code'], f['severity']) for f in res['findings']] == findings
        assert res['compliant'] is compliant
        assert res['gaps'] == []
        assert [(l['local_address'], l['local_port'], l['pid']) for l in res['listeners']] == [('0.0.0.0', 25, pid), ('::', 25, pid)]
        assert res['smtp_service'] == dict(service_state(state, 'SMTPSVC'), is_transport=(profile == 'exchange2003'))
        mail_name = {'exchange55': 'MSExchangeIMC', 'exchange2003': 'SMTPSVC', 'exchange2013': 'MSExchangeFrontEndTransport'}[profile]
        assert res['mail_service'] == service_state(state, mail_name)
        products = PRODUCTS.get(name, [('Microsoft Defender Antivirus', False)])
        assert [(p['product'], p['holds_port']) for p in res['antivirus']['products']] == products
        assert res['antivirus']['holds_port'] is (kind == 'antivirus')
        # every port holder is on the host: the events are not needed to explain the mail service's state
        assert res['events'] == [] and res['remote_bind'] is None
        if kind == 'antivirus':
            assert res['owner']['product'] == {'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One'}
        rows.append((name, res['profile'], kind, '%s/%s' % (res['owner']['process'], ','.join(services) or '-'),
                     'yes' if compliant else 'NO', ' '.join(f['code'] for f in res['findings'] if f['severity'] == 'error') or '-'))
    widths = [max(len(str(r[i])) for r in rows + [('scenario', 'profile', 'owner', 'process/services', 'ok', 'errors')])
              for i in range(6)]
    lines = ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in [('scenario', 'profile', 'owner', 'process/services', 'ok', 'errors')] + rows]
    print('\n'.join(lines))
    # shown in the terminal summary of every run (see conftest.pytest_terminal_summary)
    tables = getattr(request.config, 'diag_tables', [])
    tables.append(('conflict_info verdicts over %s' % transport, lines))
    request.config.diag_tables = tables


@pytest.mark.parametrize('transport', sorted(TRANSPORTS))
def test_read_only_and_check_mode(diagnoses, transport):
    lab, result, check, before, logs = diagnoses[transport]
    for name in SHIPPED:
        res, predicted = dict(result.results[name]), dict(check.results[name])
        assert predicted['changed'] is False
        # Same answer in check mode (event times and PIDs do not move: nothing was changed in between).
        for key in ('owner', 'findings', 'compliant', 'smtp_service', 'mail_service', 'listeners', 'events', 'profile'):
            assert predicted[key] == res[key], (name, key)
        after = lab.host_state(name)
        assert [(s['name'], s['state'], s['start_mode']) for s in after['services']] == \
            [(s['name'], s['state'], s['start_mode']) for s in before[name]['services']]
        # Only reads went over the wire: enumerations (and the netstat shell on hosts without root/StandardCimv2; no
        # type of the WinSock Proxy client's files: the local picture explains every shipped host).
        actions = {r['action'].rsplit('/', 1)[-1] for r in logs[name] if r['action']}
        assert actions <= {'Enumerate', 'Pull', 'Create', 'Command', 'Receive', 'Signal', 'Delete'}, actions
        assert bool(set(SHELL) & actions) is (name in ('ex2003', 'oldos-ex55-smtp'))


def test_one_session_and_the_request_budget(diagnoses):
    """Per host and run: one TCP connection, one NTLM handshake at its start, and exactly the requests of REQUESTS."""
    _lab, _result, _check, _before, logs = diagnoses['ntlm-http']
    for name in SHIPPED:
        log = logs[name]
        runs = sorted({r['conn'] for r in log})
        assert len(runs) == 2      # the normal run and the check-mode run: one connection each
        for run in runs:
            lines = [r for r in log if r['conn'] == run]
            # one NTLM handshake, at the start; every WS-Man message after it rides on the authenticated connection
            legs = [r['auth'] for r in lines if r['auth'].startswith('ntlm-')]
            assert [r['auth'] for r in lines[:2]] == legs == ['ntlm-negotiate', 'ntlm-authenticate']
            assert all(r['auth'] == 'none' for r in lines if r['action'])
            actions = [r['action'].rsplit('/', 1)[-1] for r in lines if r['action'] and not r['auth'].startswith('ntlm-')]
            counts = (len(legs), actions.count('Enumerate'), actions.count('Pull'), sum(a in SHELL for a in actions), len(lines))
            assert counts == REQUESTS[name], (name, [(r['auth'], r['action']) for r in lines])
    assert max(REQUESTS[name][-1] for name in ('ex55-healthy', 'ex55-smtp')) <= 7


def test_event_window_excludes_old_events(ansible_env, tmp_path):
    """Nothing holds port 25 on this host (SMTPSVC runs without listening) and the IMS does not run: the events are read,
    and the lab's bind-failure events are two hours old, so a one-hour window must not see them."""
    host = scenario_hosts('ex55-smtp')[0]
    services = [dict(svc, listens=[]) if svc['name'] == 'SMTPSVC' else svc for svc in host['services']]
    with fleet(tmp_path, [renamed(host, 'ex55-free', services=services)]) as lab:
        result = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.conflict_info', {'event_window_hours': 1})
        res = result.results['ex55-free']
        assert res['owner']['kind'] == 'none' and res['events'] == []
        assert 'BIND_FAILURE_EVENTS' not in [f['code'] for f in res['findings']]
        res = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.conflict_info').results['ex55-free']
        assert [(e['event_id'], e['winsock_error']) for e in res['events']] == [(4020, None), (4007, 10048)]
        times = [datetime.datetime.strptime(e['time'], '%Y-%m-%dT%H:%M:%SZ') for e in res['events']]
        assert len(times) == 2
        assert [(f['code'], f['severity']) for f in res['findings'] if f['code'] == 'BIND_FAILURE_EVENTS'] == [
            ('BIND_FAILURE_EVENTS', 'error')]
        # the IMS's own Wspcfg.ini is typed too (nothing local explains its failure): no remote bind configured
        assert res['remote_bind']['configured'] is False
        actions = [r['action'].rsplit('/', 1)[-1] for r in lab.requests('ex55-free') if r['action']]
        assert actions.count('Create') == 2     # one type per run


def test_profile_and_mail_service_options(diag_fleets, ansible_env, tmp_path):
    lab = diag_fleets['basic-https']
    result = adhoc(ansible_env, tmp_path, lab.inventory_path, 'mailops.port25.conflict_info',
                   {'profile': 'generic', 'mail_service': 'MSExchangeIMC', 'port': 389}, pattern='ex55-smtp')
    res = result.results['ex55-smtp']
    assert (res['profile'], res['profile_source'], res['port']) == ('generic', 'option', 389)
    assert res['owner']['kind'] == 'other' and res['owner']['services'] == ['MSExchangeDS']
    assert res['mail_service']['name'] == 'MSExchangeIMC' and res['mail_service']['state'] == 'stopped'
