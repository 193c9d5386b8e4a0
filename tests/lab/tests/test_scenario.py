# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario files: the shipped ones load, generated fleets cycle through them, bad files name file/host/field."""
from __future__ import annotations

import os

import pytest
import yaml

from winlab import scenario

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')
SHIPPED = ['ex2003', 'ex2019-biglog', 'ex2019-iis-smtp', 'ex55-av-proxy', 'ex55-healthy', 'ex55-smtp-stopped-auto', 'ex55-smtp',
           'ex55-unknown-owner', 'oldos-ex55-smtp']


def _write(tmp_path, hosts, defaults=None, name='s.yml'):
    path = tmp_path / name
    data = {'defaults': defaults if defaults is not None else {'username': 'LAB\\ansible', 'password': 'pw'},
            'hosts': hosts}
    path.write_text(yaml.safe_dump(data), encoding='utf-8')
    return str(path)


def _by_name(spec):
    return {s['name']: s for s in spec.services}


def test_the_shipped_scenarios_load_one_host_per_file():
    files = scenario.scenario_files(SCENARIO_DIR)
    assert [os.path.basename(f) for f in files] == [n + '.yml' for n in SHIPPED]
    specs = scenario.load_many(files)
    assert [s.name for s in specs] == SHIPPED
    for spec in specs:
        assert 15 <= len(spec.services) <= 30, spec.name
        system = [p for p in spec.processes if p['name'] == 'System']
        assert system and system[0]['pid'] == 4 and {445, 5985} <= set(system[0]['listens']), spec.name
        assert (5986 in system[0]['listens']) == (spec.scheme == 'https'), spec.name
        assert _by_name(spec)['RpcSs']['listens'] == [135]
        assert spec.username == 'LAB\\ansible' and spec.auth == ['ntlm']


def test_shipped_scenarios_say_what_the_issue_asks():
    specs = {s.name: s for s in scenario.load_many(scenario.scenario_files(SCENARIO_DIR))}
    kb = _by_name(specs['ex55-smtp'])
    assert (kb['SMTPSVC']['state'], kb['SMTPSVC']['listens'], kb['MSExchangeIMC']['state']) == ('running', [25], 'stopped')
    assert [e['event_id'] for e in kb['MSExchangeIMC']['on_bind_failure']] == [4007, 4020]
    assert [e['time'] for e in specs['ex55-smtp'].events if e['event_id'] == 4007] == [-7200.0]
    av = _by_name(specs['ex55-av-proxy'])
    assert av['TmProxy']['listens'] == [25] and av['TmProxy']['state'] == 'running'
    assert av['ntrtscan']['state'] == 'running' and av['SMTPSVC']['start_mode'] == 'disabled'
    unknown = specs['ex55-unknown-owner']
    assert [p['name'] for p in unknown.processes if 25 in p['listens']] == ['mailrelay.exe']
    assert _by_name(specs['ex55-smtp-stopped-auto'])['SMTPSVC']['start_mode'] == 'auto'
    assert _by_name(specs['ex55-smtp-stopped-auto'])['SMTPSVC']['state'] == 'stopped'
    ex2003 = _by_name(specs['ex2003'])
    assert {'MSExchangeIS', 'RESvc', 'SMTPSVC'} <= set(ex2003) and ex2003['SMTPSVC']['state'] == 'running'
    ex2019 = specs['ex2019-iis-smtp']
    fet = _by_name(ex2019)['MSExchangeFrontEndTransport']
    assert fet['state'] == 'stopped' and [e['event_id'] for e in fet['on_bind_failure']] == [1019, 1018]
    assert all('10048' in e['message'] and e['source'] == 'MSExchangeFrontEndTransport' for e in fet['on_bind_failure'])
    assert _by_name(ex2019)['MSExchangeTransport']['listens'][0] == 2525 and ex2019.scheme == 'https'
    assert specs['oldos-ex55-smtp'].has_standardcimv2 is False and 'Server 2008' in specs['oldos-ex55-smtp'].os
    assert specs['ex55-smtp'].has_standardcimv2 is True


def test_generate_cycles_through_the_scenarios_with_numbered_names():
    specs = scenario.generate(11, SCENARIO_DIR)
    assert [s.name for s in specs[:10]] == ['%s-%04d' % (n, i + 1) for i, n in enumerate(SHIPPED + SHIPPED[:1])]
    assert specs[10].name == 'ex2019-biglog-0011'
    assert all(s.address is None for s in specs)
    names = [s.hostname for s in specs]
    assert len(set(names)) == 11 and all(len(n) <= 15 and n == n.upper() for n in names)
    assert specs[2].hostname == 'EX2019-IIS-0003'
    with pytest.raises(ValueError):
        scenario.generate(0, SCENARIO_DIR)


def test_defaults_apply_and_hosts_override_them(tmp_path):
    path = _write(tmp_path, [{'name': 'a'}, {'name': 'b', 'scheme': 'https', 'auth': ['basic'], 'address': '127.0.3.4'}],
                  {'username': 'LAB\\x', 'password': 'pw', 'auth': ['ntlm'], 'scheme': 'http', 'groups': ['g']})
    first, second = scenario.load_spec(path)
    assert (first.scheme, first.auth, first.groups, first.address, first.hostname) == ('http', ['ntlm'], ['g'], None, 'A')
    assert (second.scheme, second.auth, second.address) == ('https', ['basic'], '127.0.3.4')
    assert first.faults == {'latency_ms': 0, 'drop_connections': 0, 'internal_error_requests': 0,
                            'operation_timeout_on': [], 'access_denied_classes': [], 'access_denied_namespaces': [],
                            'refuse_auth': False}


def test_realm_and_fqdn_default_from_the_name_and_follow_a_generated_name(tmp_path):
    path = _write(tmp_path, [{'name': 'Mail01'}, {'name': 'b', 'fqdn': 'mx.corp.example', 'auth': ['kerberos']},
                             {'name': 'c', 'realm': 'OTHER.TEST'}],
                  {'username': 'LAB\\x', 'password': 'pw', 'realm': 'CORP.EXAMPLE'})
    first, second, third = scenario.load_spec(path)
    assert (first.realm, first.host_fqdn) == ('CORP.EXAMPLE', 'mail01.corp.example')
    assert (second.auth, second.host_fqdn) == (['kerberos'], 'mx.corp.example')
    assert (third.realm, third.host_fqdn) == ('OTHER.TEST', 'c.other.test')
    assert scenario.generate(1, SCENARIO_DIR)[0].host_fqdn == SHIPPED[0] + '-0001.lab.test'


@pytest.mark.parametrize('host, field, words', [
    ({'name': 'h', 'colour': 'red'}, 'colour', 'unknown field'),
    ({'name': 'h', 'services': [{'name': 'A', 'state': 'paused'}]}, 'services[0].state', 'must be one of'),
    ({'name': 'h', 'services': [{'name': 'A', 'start_mode': 'sometimes'}]}, 'services[0].start_mode', 'must be one of'),
    ({'name': 'h', 'services': [{'name': 'A', 'listens': [70000]}]}, 'services[0].listens[0]', 'between'),
    ({'name': 'h', 'services': [{'name': 'A'}, {'name': 'a'}]}, 'services[1].name', 'duplicate'),
    ({'name': 'h', 'services': [{'name': 'A', 'depends_on': ['B']}]}, 'services[0].depends_on[0]', 'unknown service'),
    ({'name': 'h', 'services': [{'name': 'A', 'depends_on': ['B']}, {'name': 'B', 'depends_on': ['c']},
                                {'name': 'C', 'depends_on': ['a']}]}, 'services[0].depends_on', 'circular dependency'),
    ({'name': 'h', 'services': [{'name': 'A', 'depends_on': ['A']}]}, 'services[0].depends_on', 'circular dependency'),
    ({'name': 'h', 'services': [{'name': 'A', 'stop_seconds': -1}]}, 'services[0].stop_seconds', '>= 0'),
    ({'name': 'h', 'services': [{'name': 'A', 'protected': 'yes'}]}, 'services[0].protected', 'true or false'),
    ({'name': 'h', 'services': [{'name': 'A', 'on_bind_failure': [{'log': 'Application', 'source': 'x'}]}]},
     'services[0].on_bind_failure[0].event_id', 'required'),
    ({'name': 'h', 'events': [{'log': 'Application', 'source': 's', 'event_id': 1, 'time': 'yesterday'}]},
     'events[0].time', 'relative time'),
    ({'name': 'h', 'events': [{'log': 'Mail', 'source': 's', 'event_id': 1}]}, 'events[0].log', 'must be one of'),
    ({'name': 'h', 'faults': {'explode': True}}, 'faults.explode', 'unknown field'),
    ({'name': 'h', 'faults': {'operation_timeout_on': ['Reboot']}}, 'faults.operation_timeout_on[0]', 'must be one of'),
    ({'name': 'h', 'auth': ['negotiate']}, 'auth[0]', 'must be one of'),
    ({'name': 'h', 'auth': ['certificate']}, 'auth', 'over HTTPS only'),
    ({'name': 'h', 'realm': 'lab.test'}, 'realm', 'invalid value'),
    ({'name': 'h', 'fqdn': 'no_dots'}, 'fqdn', 'invalid value'),
    ({'name': 'h', 'fqdn': 'Upper.Lab.Test'}, 'fqdn', 'invalid value'),
    ({'name': 'h', 'scheme': 'ftp'}, 'scheme', 'must be one of'),
    ({'name': 'h', 'address': '10.0.0.1'}, 'address', 'loopback'),
    ({'name': 'h', 'standardcimv2': 'no'}, 'standardcimv2', 'true or false'),
    ({'name': 'h', 'processes': [{'name': 'a.exe', 'listens': [25]}, {'name': 'b.exe', 'listens': [25]}]},
     'processes[1].listens', 'already held'),
    ({'name': 'bad name!'}, 'name', 'invalid value'),
])
def test_invalid_scenarios_name_file_host_and_field(tmp_path, host, field, words):
    path = _write(tmp_path, [host])
    with pytest.raises(scenario.ScenarioError) as err:
        scenario.load_spec(path)
    text = str(err.value)
    assert path in text and repr(host['name']) in text and repr(field) in text and words in text, text
    assert err.value.field == field


def test_duplicate_hosts_across_files_and_broken_files(tmp_path):
    one = _write(tmp_path, [{'name': 'h'}], name='one.yml')
    two = _write(tmp_path, [{'name': 'h'}], name='two.yml')
    with pytest.raises(scenario.ScenarioError, match="host 'h': field 'name': duplicate host name"):
        scenario.load_many([one, two])
    broken = tmp_path / 'broken.yml'
    broken.write_text('hosts: [\n', encoding='utf-8')
    with pytest.raises(scenario.ScenarioError, match='broken.yml: invalid YAML'):
        scenario.load_spec(str(broken))
    with pytest.raises(scenario.ScenarioError, match="field 'hosts': must be a non-empty list"):
        scenario.load_spec(_write(tmp_path, [], name='empty.yml'))
    with pytest.raises(scenario.ScenarioError, match="field 'password': is required"):
        scenario.load_spec(_write(tmp_path, [{'name': 'h'}], {'username': 'u'}, name='nopw.yml'))
    with pytest.raises(scenario.ScenarioError, match='cannot read'):
        scenario.load_spec(str(tmp_path / 'missing.yml'))


def test_a_bad_password_is_never_echoed(tmp_path):
    path = _write(tmp_path, [{'name': 'h', 'password': 98765432}])
    with pytest.raises(scenario.ScenarioError, match="host 'h': field 'password': must be a non-empty string") as err:
        scenario.load_spec(path)
    assert '98765432' not in str(err.value)


@pytest.mark.parametrize('text, seconds', [('-2h', -7200.0), ('-30m', -1800.0), ('-10s', -10.0), ('-1d', -86400.0),
                                           ('5m', 300.0), (-90, -90.0), ('-1.5h', -5400.0)])
def test_relative_times(text, seconds):
    assert scenario.parse_relative_time(text) == seconds
