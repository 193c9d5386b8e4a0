# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The antivirus catalogue: its own consistency, user entries, and matching."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, errors


def test_builtin_catalogue_is_valid_and_every_name_is_unique():
    entries = antivirus.validate_entries(antivirus.CATALOGUE)
    assert len(entries) == len(antivirus.CATALOGUE)
    names = [('s', n.lower()) for e in entries for n in e['services']] + [('p', n.lower()) for e in entries for n in e['processes']]
    assert len(names) == len(set(names))
    for entry in entries:
        assert entry['source'] and entry['source'] != antivirus.USER_SOURCE


@pytest.mark.parametrize('service, process, product', [
    ('WinDefend', None, 'Microsoft Defender Antivirus'),
    ('windefend', None, 'Microsoft Defender Antivirus'),
    (None, 'MSMPENG.EXE', 'Microsoft Defender Antivirus'),
    (None, r'C:\Program Files (x86)\Trend Micro\OfficeScan Client\TmProxy.exe', 'OfficeScan / Apex One'),
    (None, 'tmproxy.exe', 'OfficeScan / Apex One'),
    ('McShield', None, 'McAfee VirusScan Enterprise'),
    ('KAVFS', None, 'Kaspersky Security for Windows Server'),
    (None, 'avp.exe', 'Kaspersky Internet Security / Endpoint Security'),
    (None, 'ekrn.exe', 'ESET Endpoint / File / Mail Security'),
    ('SMTPSVC', 'inetinfo.exe', None),
    (None, 'avp', None),          # exact image names only
    (None, 'notavp.exe', None),
    ('', '', None),
])
def test_identify(service, process, product):
    entry = antivirus.Catalogue().identify([service] if service else [], process)
    assert (entry['product'] if entry else None) == product


def test_user_entries_extend_and_win_on_shared_names():
    catalogue = antivirus.Catalogue([
        {'vendor': 'Acme', 'product': 'Acme Mail Guard', 'services': ['AcmeGuard'], 'processes': ['acmeproxy.exe'],
         'mail_scanning': True},
        {'vendor': 'Acme', 'product': 'Acme rebadged Defender', 'processes': ['MsMpEng.exe'], 'source': 'site inventory 2026'},
    ])
    assert catalogue.by_service('ACMEGUARD')['product'] == 'Acme Mail Guard'
    entry = catalogue.by_process('acmeproxy.exe')
    assert entry == {'vendor': 'Acme', 'product': 'Acme Mail Guard', 'services': ['AcmeGuard'], 'processes': ['acmeproxy.exe'],
                     'mail_scanning': True, 'behaviour': 'listen', 'source': 'user catalogue'}
    assert catalogue.by_process('msmpeng.exe')['product'] == 'Acme rebadged Defender'
    assert catalogue.by_process('msmpeng.exe')['source'] == 'site inventory 2026'
    # the built-in entry still matches by its service
    assert catalogue.by_service('WinDefend')['product'] == 'Microsoft Defender Antivirus'


@pytest.mark.parametrize('entry, message', [
    ('McShield', 'antivirus_catalogue[0].entry: must be a dictionary'),
    ({'vendor': 'A', 'product': 'B'}, 'antivirus_catalogue[0].services: give at least one service or process name'),
    ({'vendor': 'A', 'product': 'B', 'services': 'x'}, "antivirus_catalogue[0].services: must be a list of names, got 'x'"),
    ({'vendor': 'A', 'product': 'B', 'processes': ['C:\\x\\y.exe']}, 'antivirus_catalogue[0].processes: '),
    ({'vendor': 'A', 'product': 'B', 'processes': ['*.exe']}, 'no path, wildcard or control characters'),
    ({'vendor': 'A', 'product': 'B', 'processes': ['a\nb.exe']}, 'antivirus_catalogue[0].processes: '),
    ({'vendor': 'A', 'product': 'B', 'processes': [3]}, 'antivirus_catalogue[0].processes: 3 is not a valid name'),
    ({'vendor': '', 'product': 'B', 'processes': ['a.exe']}, 'antivirus_catalogue[0].vendor: must be a non-empty string'),
    ({'product': 'B', 'processes': ['a.exe']}, 'antivirus_catalogue[0].vendor: must be a non-empty string'),
    ({'vendor': 'A', 'product': 'B', 'processes': ['a.exe'], 'mail_scanning': 'yes'}, 'antivirus_catalogue[0].mail_scanning'),
    ({'vendor': 'A', 'product': 'B', 'processes': ['a.exe'], 'behaviour': 'eat'}, 'antivirus_catalogue[0].behaviour'),
    ({'vendor': 'A', 'product': 'B', 'processes': ['a.exe'], 'colour': 'red'}, 'antivirus_catalogue[0].colour: unknown key'),
])
def test_invalid_user_entries_are_rejected_with_the_field_named(entry, message):
    with pytest.raises(errors.InvalidOption) as caught:
        antivirus.Catalogue([entry])
    assert message in str(caught.value)


def test_quotes_are_plain_characters_of_a_name():
    # Names are compared in Python, never put into a query, so a quote is just a character to match.
    hostile = "x' OR Name LIKE '%"
    catalogue = antivirus.Catalogue([{'vendor': 'A', 'product': 'B', 'services': [hostile]}])
    assert catalogue.by_service(hostile.upper())['product'] == 'B'
    assert catalogue.by_service('x') is None


def test_second_entry_index_is_named():
    with pytest.raises(errors.InvalidOption) as caught:
        antivirus.validate_entries([{'vendor': 'A', 'product': 'B', 'processes': ['a.exe']}, {'vendor': 'A'}])
    assert 'antivirus_catalogue[1].product' in str(caught.value)


SERVICES = [
    {'name': 'WinDefend', 'state': 'running', 'pid': 2100},
    {'name': 'ntrtscan', 'state': 'running', 'pid': 3100},
    {'name': 'TmProxy', 'state': 'running', 'pid': 3300},
    {'name': 'McShield', 'state': 'stopped', 'pid': None},
    {'name': 'SMTPSVC', 'state': 'stopped', 'pid': None},
]
PROCESSES = [
    {'pid': 2100, 'name': 'MsMpEng.exe'},
    {'pid': 3100, 'name': 'ntrtscan.exe'},
    {'pid': 3300, 'name': 'TmProxy.exe'},
    {'pid': 900, 'name': 'inetinfo.exe'},
]


def test_find_products_one_per_entry_with_the_match_that_explains_it():
    products = antivirus.find_products(antivirus.Catalogue(), SERVICES, PROCESSES, port_pids=[3300])
    assert [(p['product'], p['match_kind'], p['match_name'], p['running'], p['pid'], p['holds_port']) for p in products] == [
        ('Microsoft Defender Antivirus', 'service', 'WinDefend', True, 2100, False),
        ('McAfee VirusScan Enterprise', 'service', 'McShield', False, None, False),
        ('OfficeScan / Apex One', 'process', 'TmProxy.exe', True, 3300, True),
    ]
    trend = products[2]
    assert trend['vendor'] == 'Trend Micro' and trend['mail_scanning'] is True and trend['behaviour'] == 'intercept'
    assert trend['source'].startswith('Trend Micro Control Manager / OfficeScan client documentation')
    assert all('domain.md' not in entry['source'] for entry in antivirus.CATALOGUE)


def test_find_products_nothing_installed():
    assert antivirus.find_products(antivirus.Catalogue(), SERVICES[4:], PROCESSES[3:]) == []
