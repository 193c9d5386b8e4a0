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
        (2000 and 2003, where C(SMTPSVC) is the Exchange transport), anything else V(generic).
    type: str
    choices: [auto, exchange55, exchange2003, exchange2007, exchange2013, generic]
    default: auto
  event_window_hours:
    description:
      - How many hours back to look for bind-failure events. The event query is always bounded by time.
    type: int
    default: 72
'''
