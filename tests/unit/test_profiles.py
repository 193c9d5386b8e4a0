# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange profile detection and the facts each profile carries."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import profiles

WINDOWS = ['RpcSs', 'EventLog', 'Winmgmt', 'WinRM', 'IISADMIN', 'W3SVC']


@pytest.mark.parametrize('services, expected', [
    (WINDOWS, 'generic'),
    (WINDOWS + ['SMTPSVC'], 'generic'),
    # The KB's own host: Exchange 5.5 with the Option Pack SMTP service (MSExchangeIS + SMTPSVC present too).
    (WINDOWS + ['SMTPSVC', 'MSExchangeSA', 'MSExchangeIS', 'MSExchangeMTA', 'MSExchangeIMC'], 'exchange55'),
    (WINDOWS + ['MSExchangeIMC'], 'exchange55'),
    (WINDOWS + ['SMTPSVC', 'MSExchangeIS', 'RESvc', 'MSExchangeSA'], 'exchange2003'),
    (WINDOWS + ['SMTPSVC', 'RESvc'], 'exchange2003'),
    (WINDOWS + ['smtpsvc', 'msexchangeis'], 'exchange2003'),
    # Exchange 2000/2003 markers without SMTPSVC are not enough (the transport is SMTPSVC itself).
    (WINDOWS + ['MSExchangeIS', 'RESvc'], 'generic'),
    (WINDOWS + ['MSExchangeIS', 'MSExchangeTransport', 'MSExchangeADTopology'], 'exchange2007'),
    # Edge role of 2013+: Transport without Front End Transport.
    (WINDOWS + ['MSExchangeTransport', 'ADAM_MSExchange', 'MSExchangeEdgeCredential'], 'exchange2007'),
    (WINDOWS + ['SMTPSVC', 'MSExchangeIS', 'MSExchangeTransport', 'MSExchangeFrontEndTransport'], 'exchange2013'),
    (['MSEXCHANGEFRONTENDTRANSPORT'], 'exchange2013'),
    ([], 'generic'),
    ([None, ''], 'generic'),
    # The Proxy Server 2.0 host of KB Q222553 (the NT Option Pack SMTP service installed there too).
    (WINDOWS + ['WSPSRV', 'W3PROXY', 'SMTPSVC'], 'msproxy2'),
    (WINDOWS + ['wspsrv'], 'msproxy2'),
    # Exchange comes first: a Small Business Server with both is a mail host.
    (WINDOWS + ['WSPSRV', 'MSExchangeIMC'], 'exchange55'),
    (WINDOWS + ['WSPSRV', 'SMTPSVC', 'MSExchangeIS'], 'exchange2003'),
])
def test_detect(services, expected):
    assert profiles.detect(services) == expected


@pytest.mark.parametrize('name, mail, transport, signatures', [
    ('exchange55', 'MSExchangeIMC', False, [('Application', 'MSExchangeIMC', (4007, 4020))]),
    ('exchange2003', 'SMTPSVC', True, [('System', 'SMTPSVC', (115,))]),
    ('exchange2007', 'MSExchangeTransport', False, [('Application', 'MSExchangeTransport', (1018, 1019))]),
    ('exchange2013', 'MSExchangeFrontEndTransport', False,
     [('Application', 'MSExchangeFrontEndTransport', (1018, 1019)), ('Application', 'MSExchangeTransport', (1018, 1019))]),
    ('msproxy2', 'WSPSRV', False, []),
    ('generic', None, False,
     [('Application', 'MSExchangeIMC', (4007, 4020)), ('System', 'SMTPSVC', (115,)),
      ('Application', 'MSExchangeFrontEndTransport', (1018, 1019)), ('Application', 'MSExchangeTransport', (1018, 1019))]),
])
def test_profile_facts(name, mail, transport, signatures):
    profile = profiles.PROFILES[name]
    assert profile.name == name
    assert profile.mail_service == mail
    assert profile.smtp_is_transport is transport
    assert [tuple(sig) for sig in profile.events] == signatures


def test_only_exchange2003_treats_smtpsvc_as_transport():
    assert [p.name for p in profiles.PROFILES.values() if p.smtp_is_transport] == ['exchange2003']


def test_resolve_detected_and_option():
    services = ['SMTPSVC', 'MSExchangeIMC']
    profile, source = profiles.resolve('auto', services)
    assert (profile.name, source) == ('exchange55', 'detected')
    profile, source = profiles.resolve(None, services)
    assert (profile.name, source) == ('exchange55', 'detected')
    profile, source = profiles.resolve('exchange2013', services)
    assert (profile.name, source) == ('exchange2013', 'option')


def test_choices():
    assert profiles.PROFILE_CHOICES == ('auto', 'exchange55', 'exchange2003', 'exchange2007', 'exchange2013', 'msproxy2', 'generic')


@pytest.mark.parametrize('name, expected', [
    ('exchange2013', [(25, 'MSExchangeFrontEndTransport'), (587, 'MSExchangeFrontEndTransport'), (717, 'MSExchangeFrontEndTransport'),
                      (2525, 'MSExchangeTransport'), (465, 'MSExchangeTransport'), (475, 'MSExchangeDelivery')]),
    ('exchange55', []), ('exchange2003', []), ('exchange2007', []), ('msproxy2', []), ('generic', []),
])
def test_listeners_of_each_profile(name, expected):
    assert list(profiles.listeners(name)) == expected
