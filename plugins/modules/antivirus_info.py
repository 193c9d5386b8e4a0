#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: antivirus_info
short_description: Find antivirus and mail-security products on a Windows host, and whether one holds a TCP port
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Matches the installed services and the running processes against a catalogue of antivirus and mail-security
    products (vendor, product, whether it scans mail, and where each name comes from), extended by
    O(antivirus_catalogue).
  - Tells whether a product's process listens on TCP port O(port) (KB Q222553 names antivirus as a possible cause).
  - Only reports; the collection never stops or disables antivirus.
  - C(root/SecurityCenter2) is not used - it does not exist on Windows Server.
  - Three WQL queries - listeners, services, processes.
  - Talks to the host from the Ansible controller over WinRM (WMI over WS-Management); nothing runs on the Windows host
    but WMI (no PowerShell, no Python). Runs from an action plugin; it never uses the host's Ansible connection.
options:
  port:
    description: The TCP port to check.
    type: int
    default: 25
seealso:
  - module: mailops.port25.conflict_info
extends_documentation_fragment:
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.attributes.info_module
  - mailops.port25.antivirus_catalogue
"""

EXAMPLES = r"""
- name: Antivirus on the mail servers
  mailops.port25.antivirus_info:
  register: av

- name: Flag a product that holds port 25
  ansible.builtin.debug:
    msg: "{{ av.products | selectattr('holds_port') | map(attribute='product') | list }}"
  when: av.holds_port
"""

RETURN = r"""
host:
  description: The WinRM host that was asked.
  returned: success
  type: str
  sample: mail01.example.com
port:
  description: The port checked.
  returned: success
  type: int
  sample: 25
present:
  description: Whether any product was found.
  returned: success
  type: bool
  sample: true
holds_port:
  description: Whether a product's process listens on the port.
  returned: success
  type: bool
  sample: true
products:
  description: The products found, one entry per product, in catalogue order. Empty when none was found.
  returned: success
  type: list
  elements: dict
  contains:
    vendor:
      description: Vendor name.
      type: str
    product:
      description: Product name.
      type: str
    mail_scanning:
      description: Whether the product scans or proxies mail traffic.
      type: bool
    behaviour:
      description: V(listen), V(intercept), V(block) or V(none).
      type: str
    source:
      description: Where the catalogue entry's names come from.
      type: str
    match_kind:
      description: V(service) or V(process), how the product was recognised.
      type: str
    match_name:
      description: The service or process name that matched, as the host spells it.
      type: str
    running:
      description: Whether one of its services runs or one of its processes exists.
      type: bool
    pid:
      description: Process ID of the match, or V(null) for a stopped service.
      type: int
    holds_port:
      description: Whether one of its processes listens on O(port).
      type: bool
  sample:
    - {vendor: Trend Micro, product: OfficeScan / Apex One, mail_scanning: true, behaviour: intercept,
       source: 'Trend Micro Control Manager / OfficeScan client documentation: ...', match_kind: process,
       match_name: TmProxy.exe, running: true, pid: 3300, holds_port: true}
gaps:
  description: WMI classes that could not be read (access denied or timed out), with the error. Empty when all were read.
  returned: success
  type: list
  elements: dict
  sample: []
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import antivirus_info as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
