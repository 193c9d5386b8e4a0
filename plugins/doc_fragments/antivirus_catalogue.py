# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The antivirus_catalogue option of conflict_info and antivirus_info (mirrors antivirus.OPTION_SPEC)."""

    DOCUMENTATION = r'''
options:
  antivirus_catalogue:
    description:
      - Extra antivirus or mail-security products to recognise, added in front of the built-in catalogue (an entry here
        wins over a built-in entry with the same service or process name).
      - Names are matched exactly, without regard to case; process names are image file names such as C(avp.exe).
    type: list
    elements: dict
    default: []
    suboptions:
      vendor:
        description: Vendor name.
        type: str
        required: true
      product:
        description: Product name.
        type: str
        required: true
      services:
        description: Service short names of the product. At least one service or process name is required.
        type: list
        elements: str
      processes:
        description: Process image names of the product.
        type: list
        elements: str
      mail_scanning:
        description: Whether the product scans or proxies SMTP/POP3 traffic.
        type: bool
        default: false
      behaviour:
        description:
          - How the product touches mail traffic - V(listen) (a local SMTP server or proxy), V(intercept) (a driver or
            proxy that scans the traffic), V(block) (a rule that blocks the port) or V(none).
          - Defaults to V(listen) when O(antivirus_catalogue[].mail_scanning=true), else V(none).
        type: str
        choices: [listen, intercept, block, none]
      source:
        description: Where the names come from (shown with every match).
        type: str
        default: user catalogue
'''
