#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service_info
short_description: Read Windows services by name or pattern, with their dependents
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Returns the services named in O(name) - exact names, or patterns with C(*) (any run of characters) and C(?) (one
    character); every other character, including the WQL wildcards C(%), C(_) and C([), matches itself. Names are
    compared without regard to case, as Windows does.
  - Every name goes into the WQL query as a quoted literal, so no name can change the query.
  - One WQL query for the services, plus one for the dependency links when O(dependents=true).
  - Talks to the host from the Ansible controller over WinRM (WMI over WS-Management); nothing runs on the Windows host
    but WMI (no PowerShell, no Python). Runs from an action plugin; it never uses the host's Ansible connection.
options:
  name:
    description: Service short names or patterns (C(Win32_Service.Name), for example C(SMTPSVC) or C(MSExchange*)).
    type: list
    elements: str
    required: true
    aliases: [names]
  dependents:
    description: Also return, for each service, the services that depend on it (C(Win32_DependentService)).
    type: bool
    default: true
seealso:
  - module: mailops.port25.service
  - module: mailops.port25.conflict_info
extends_documentation_fragment:
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.attributes.info_module
"""

EXAMPLES = r"""
- name: The IIS SMTP service and the Exchange 5.5 Internet Mail Service
  mailops.port25.service_info:
    name: [SMTPSVC, MSExchangeIMC]
  register: mail_services

- name: Every Exchange service
  mailops.port25.service_info:
    name: MSExchange*
    dependents: false
"""

RETURN = r"""
host:
  description: The WinRM host that was asked.
  returned: success
  type: str
  sample: mail01.example.com
exists:
  description: Whether any service matched.
  returned: success
  type: bool
  sample: true
missing:
  description: The exact names in O(name) (not patterns) that no service has.
  returned: success
  type: list
  elements: str
  sample: []
gaps:
  description:
    - Classes that could not be read, with the error - C(Win32_DependentService) when the dependency links are not
      readable (RV(services[].dependents) is then V(null)). Empty when everything was read.
  returned: success
  type: list
  elements: dict
  sample: []
services:
  description: The matching services, sorted by name. Empty when nothing matched.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Short name as the host spells it.
      type: str
    display_name:
      description: Display name.
      type: str
    state:
      description: V(running), V(stopped), V(start_pending), V(stop_pending), V(continue_pending), V(pause_pending), V(paused) or V(unknown).
      type: str
    start_mode:
      description: V(auto), V(manual), V(disabled), V(boot) or V(system).
      type: str
    delayed_auto_start:
      description: Whether an automatic service starts delayed; V(null) where Windows does not report it.
      type: bool
    pid:
      description: Process ID, or V(null) when the service has no process.
      type: int
    path:
      description: The service command line (C(PathName)).
      type: str
    dependents:
      description:
        - Services that depend on this one (only when O(dependents=true)); V(null) when the links could not be read.
      type: list
      elements: str
  sample:
    - {name: SMTPSVC, display_name: Simple Mail Transfer Protocol (SMTP), state: running, start_mode: auto,
       delayed_auto_start: false, pid: 1844, path: 'C:\Windows\system32\inetsrv\inetinfo.exe', dependents: []}
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import service_info as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
