# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange profiles: which service should own TCP 25 and which events show that it could not.

Pure data and functions, no network. Each fact names its public source below; the KB itself is Microsoft KB
Q222553.
"""

from __future__ import annotations

from collections import namedtuple

# One event signature: the log it is written to, its source and the event IDs that mean "could not bind".
EventSignature = namedtuple('EventSignature', ['log', 'source', 'event_ids'])

# name: profile name; mail_service: the service that should own the port (None: not known);
# smtp_is_transport: SMTPSVC itself is the mail transport and must never be disabled;
# events: the bind-failure signatures; description: one line for humans.
Profile = namedtuple('Profile', ['name', 'mail_service', 'smtp_is_transport', 'events', 'description'])

SMTP_SERVICE = 'SMTPSVC'
# The WinSock Proxy service of Microsoft Proxy Server 2.0 (image wspsrv.exe).
PROXY_SERVICE = 'WSPSRV'

# Exchange 4.0-5.5 Internet Mail Service: KB Q222553 SYMPTOMS (events 4007 and 4020, source
# MSExchangeIMC, Application log); MSExchangeIMC is the service name of the Internet Mail Service.
_IMC_EVENTS = (EventSignature('Application', 'MSExchangeIMC', (4007, 4020)),)
# IIS SMTP service bind failure, event 115 "could not bind instance" (known from administrators' reports, not
# from a Microsoft article: reported as evidence, never acted upon alone).
_SMTPSVC_EVENTS = (EventSignature('System', 'SMTPSVC', (115,)),)
# SmtpReceive "Failed to start listening (Error: 10048)" 1019 and "The address is already in use" 1018,
# source MSExchangeTransport (KB 2958036); that the Front End Transport source logs the same IDs is our
# inference, not documented, so 2013+ queries both sources.
_TRANSPORT_EVENTS = (EventSignature('Application', 'MSExchangeTransport', (1018, 1019)),)
_FRONTEND_EVENTS = (EventSignature('Application', 'MSExchangeFrontEndTransport', (1018, 1019)),) + _TRANSPORT_EVENTS

PROFILES = {
    'exchange55': Profile(
        'exchange55', 'MSExchangeIMC', False, _IMC_EVENTS,
        'Exchange 4.0-5.5: the Internet Mail Service (MSExchangeIMC) owns TCP 25 (KB Q222553)'),
    'exchange2003': Profile(
        'exchange2003', SMTP_SERVICE, True, _SMTPSVC_EVENTS,
        'Exchange 2000/2003: the IIS SMTP service (SMTPSVC) is the Exchange transport (ExBPA rule "SMTP Service Disabled", KB 312395)'),
    'exchange2007': Profile(
        'exchange2007', 'MSExchangeTransport', False, _TRANSPORT_EVENTS,
        'Exchange 2007/2010 Hub or Edge, 2013+ Edge: Microsoft Exchange Transport owns TCP 25 (Exchange services overview)'),
    'exchange2013': Profile(
        'exchange2013', 'MSExchangeFrontEndTransport', False, _FRONTEND_EVENTS,
        'Exchange 2013-SE Client Access/Mailbox: Front End Transport owns TCP 25 (Exchange network ports, KB 2958036)'),
    # Not a mail server: the WinSock Proxy service of Proxy Server 2.0 holds, on this host, the ports its clients bind
    # remotely (the Exchange 5.5 Internet Mail Service's port 25 in KB Q222553; KB Q181420). No event of its own.
    'msproxy2': Profile(
        'msproxy2', 'WSPSRV', False, (),
        'Microsoft Proxy Server 2.0: the WinSock Proxy service (WSPSRV) holds the ports its clients bind on it (KB Q181420)'),
    # No known mail service: every known bind-failure signature is evidence that something holds the port.
    'generic': Profile(
        'generic', None, False, _IMC_EVENTS + _SMTPSVC_EVENTS + _FRONTEND_EVENTS,
        'No Exchange service found: only the port owner and the SMTP service are judged'),
}

PROFILE_NAMES = tuple(PROFILES)

# Every listener of a profile that has more than the mail service's port, with the service expected on it.
# Exchange 2013 to Subscription Edition (Microsoft's "Network ports for clients and mail flow in Exchange" and
# "Receive connectors" tables):
# Front End Transport on 25 (Default Frontend), 587 (Client Frontend) and 717 (Outbound Proxy Frontend); the
# Transport service on 2525 (Default) and 465 (Client Proxy); Mailbox Transport Delivery on 475.
LISTENERS = {
    'exchange2013': (
        (25, 'MSExchangeFrontEndTransport'), (587, 'MSExchangeFrontEndTransport'), (717, 'MSExchangeFrontEndTransport'),
        (2525, 'MSExchangeTransport'), (465, 'MSExchangeTransport'), (475, 'MSExchangeDelivery')),
}
PROFILE_CHOICES = ('auto',) + PROFILE_NAMES

# Detection markers (case-insensitive service names), checked in this order. Newest first, because a
# later Exchange still has services of the older ones (MSExchangeIS exists from 4.0 to 2019); the IMC
# check precedes the 2000/2003 one because an Exchange 5.5 host with the NT Option Pack SMTP service
# installed (the KB's own case) also has MSExchangeIS and SMTPSVC.
_EXCHANGE_2003_MARKERS = ('msexchangeis', 'resvc')


# Every service name detect() and the profiles look at: the services of a host beyond these change no profile.
SERVICE_NAMES = tuple(sorted(set(
    [SMTP_SERVICE, PROXY_SERVICE] + list(_EXCHANGE_2003_MARKERS)
    + [profile.mail_service for profile in PROFILES.values() if profile.mail_service]
    + [service for pairs in LISTENERS.values() for _port, service in pairs]), key=str.lower))


def detect(service_names) -> str:
    """Return the profile name that fits a host with these installed services (any case)."""
    names = {name.lower() for name in service_names if name}
    if 'msexchangefrontendtransport' in names:
        return 'exchange2013'
    if 'msexchangetransport' in names:
        # Exchange 2007/2010 and the 2013+ Edge role have no Front End Transport service (Exchange transport
        # architecture documentation).
        return 'exchange2007'
    if 'msexchangeimc' in names:
        return 'exchange55'
    if SMTP_SERVICE.lower() in names and any(marker in names for marker in _EXCHANGE_2003_MARKERS):
        return 'exchange2003'
    if PROXY_SERVICE.lower() in names:
        return 'msproxy2'
    return 'generic'


def listeners(profile_name):
    """``((port, expected service), ...)`` the profile names; empty when it names only the mail service's port."""
    return LISTENERS.get(profile_name, ())


def resolve(option, service_names):
    """Return ``(Profile, source)`` for the ``profile`` option (``auto`` or a profile name)."""
    if option in (None, 'auto'):
        return PROFILES[detect(service_names)], 'detected'
    return PROFILES[option], 'option'
