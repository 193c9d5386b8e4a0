# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The diagnosis options shared by conflict_info and conflict (mirrors features.conflict_info.ARGUMENT_SPEC)."""

    DOCUMENTATION = r'''
options:
  port:
    description:
      - The TCP port the mail service must own.
    type: int
    default: 25
  smtp_service:
    description:
      - Short name of the Windows SMTP service (IIS SMTP) that the KB says must not run.
    type: str
    default: SMTPSVC
  mail_service:
    description:
      - Short name of the service that should own the port.
      - Default from the profile (the C(profile) result) - V(MSExchangeIMC) for V(exchange55), V(SMTPSVC) for V(exchange2003),
        V(MSExchangeTransport) for V(exchange2007), V(MSExchangeFrontEndTransport) for V(exchange2013), none for
        V(generic).
    type: str
  profile:
    description:
      - Which Exchange generation the host runs, which decides the mail service and the bind-failure events to look for.
      - V(auto) detects it from the installed services - C(MSExchangeFrontEndTransport) means V(exchange2013) (2013 to
        Subscription Edition), C(MSExchangeTransport) without it V(exchange2007) (2007, 2010 and the 2013+ Edge role),
        C(MSExchangeIMC) V(exchange55) (4.0 to 5.5), C(SMTPSVC) with C(MSExchangeIS) or C(RESvc) V(exchange2003)
        (2000 and 2003, where C(SMTPSVC) is the Exchange transport), C(WSPSRV) V(msproxy2) (a Proxy Server 2.0 host,
        whose WinSock Proxy service holds the ports its clients bind on it), anything else V(generic).
    type: str
    choices: [auto, exchange55, exchange2003, exchange2007, exchange2013, msproxy2, generic]
    default: auto
  event_window_hours:
    description:
      - How many hours back to look for bind-failure events. The event query is always bounded by time.
    type: int
    default: 72
  ports:
    description:
      - Every listener the mail host must own, each judged like O(port) against the service expected on it.
      - Default from the profile - V(exchange2013) names 25, 587 and 717 (C(MSExchangeFrontEndTransport)), 2525 and 465
        (C(MSExchangeTransport)) and 475 (C(MSExchangeDelivery)); the other profiles only O(port).
      - O(port) is always judged, with the mail service, whatever this list says.
      - Ports whose service is not installed are shown with the verdict V(not_installed) and judged no further.
    type: list
    elements: dict
    suboptions:
      port:
        description: TCP port number (1-65535).
        type: int
        required: true
      service:
        description: Short name of the service that must own it; default the profile's service for that port, else the mail service.
        type: str
  greeting:
    description:
      - Read the SMTP greeting of every held port from the controller (connect, read the C(220) reply, send C(QUIT);
        never a mail command) and compare the software it names with the expected owner's (KB Q146157).
      - Another program's greeting on a port that WMI says the mail service holds is the finding C(GREETING_OTHER_PROGRAM).
      - Set V(false) where the controller may not reach the mail ports of the hosts.
    type: bool
    default: true
  greeting_timeout:
    description:
      - Seconds the connection and the greeting together may take (1-120); the answer to C(QUIT) is awaited 2 seconds more at most.
    type: int
    default: 10
  greeting_pattern:
    description:
      - A regular expression a greeting must match, instead of naming the expected software (for customised banners, KB 281224).
    type: str
'''
