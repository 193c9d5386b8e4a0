#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: listener_info
short_description: Find who listens on a TCP port of a Windows host
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Lists the sockets listening on TCP port O(port) with their process (name, path), the services hosted in that
    process and, when no service runs in it, its parent process (so that a worker such as C(EdgeTransport.exe) maps to
    the service that started it).
  - Reads C(MSFT_NetTCPConnection) (C(State=2), listening) from C(root/StandardCimv2); where that namespace does not
    exist (Windows Server 2008 R2 and older) it runs C(netstat -ano) in a cmd shell instead.
  - At most three WQL queries - listeners, processes, then only the services of the PIDs found.
  - Talks to the host from the Ansible controller over WinRM (WMI over WS-Management); nothing runs on the Windows host
    but WMI (no PowerShell, no Python). Runs from an action plugin; it never uses the host's Ansible connection.
options:
  port:
    description: The TCP port.
    type: int
    default: 25
seealso:
  - module: mailops.port25.conflict_info
  - module: mailops.port25.service_info
extends_documentation_fragment:
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.attributes.info_module
"""

EXAMPLES = r"""
- name: Who holds port 25?
  mailops.port25.listener_info:
  register: smtp_port

- name: Name the owner
  ansible.builtin.debug:
    msg: "{{ smtp_port.listeners | map(attribute='process.name') | list }} {{ smtp_port.listeners | map(attribute='services') | list }}"

- name: The Exchange back-end transport port
  mailops.port25.listener_info:
    port: 2525
"""

RETURN = r"""
host:
  description: The WinRM host that was asked.
  returned: success
  type: str
  sample: mail01.example.com
port:
  description: The port asked about.
  returned: success
  type: int
  sample: 25
listening:
  description: Whether anything listens on the port.
  returned: success
  type: bool
  sample: true
listeners:
  description: The sockets listening on the port (one per local address), with their process and services.
  returned: success
  type: list
  elements: dict
  contains:
    local_address:
      description: Local address (C(0.0.0.0), C(::) or a specific address).
      type: str
    local_port:
      description: The port.
      type: int
    pid:
      description: Process ID that owns the socket.
      type: int
    process:
      description: The process (C(pid), C(name), C(path), C(parent_pid)); V(null) when processes could not be read.
      type: dict
    services:
      description: Services hosted in that process (several for shared processes such as C(inetinfo.exe)).
      type: list
      elements: str
    parent_process:
      description:
        - When no service runs in the process, its parent (C(pid), C(name), C(path), C(services)); this maps a worker
          such as C(EdgeTransport.exe) to its service. V(null) otherwise.
      type: dict
  sample:
    - local_address: 0.0.0.0
      local_port: 25
      pid: 1844
      process: {pid: 1844, name: inetinfo.exe, path: 'C:\Windows\system32\inetsrv\inetinfo.exe', parent_pid: 604}
      services: [IISADMIN, SMTPSVC]
      parent_process: null
gaps:
  description: WMI classes that could not be read (access denied or timed out), with the error. Empty when all were read.
  returned: success
  type: list
  elements: dict
  sample: []
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import listener_info as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
