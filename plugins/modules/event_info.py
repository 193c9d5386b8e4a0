#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: event_info
short_description: Read Windows event log records within a time window
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Returns the records of one event log (C(Win32_NTLogEvent)) generated within the last O(window_hours) hours,
    optionally only from some sources and with some event IDs, newest first.
  - The time window is always applied - unbounded event log queries take tens of seconds on big logs.
  - Adds RV(events[].winsock_error) when a message carries a WinSock error code (for example V(10048), address already
    in use, the code of KB Q222553). When the host cannot load the source's message file (RV(events[].message) is
    V(null)), the code is taken from RV(events[].insertion_strings).
  - Times are reported in UTC whatever the host's time zone, and the window is the last O(window_hours) hours in
    absolute time.
  - When WMI refuses the query (it times out or hits a WMI quota on a big log, or the account lacks the privilege the
    Security log needs, C(SeSecurityPrivilege)), the module does not fail; it returns no events, names the reason in
    RV(gaps) and warns.
  - One WQL query; log and source names go into it as quoted literals.
  - Talks to the host from the Ansible controller over WinRM (WMI over WS-Management); nothing runs on the Windows host
    but WMI (no PowerShell, no Python). Runs from an action plugin; it never uses the host's Ansible connection.
options:
  log:
    description: The event log (C(Logfile)), for example V(Application) or V(System).
    type: str
    default: Application
  sources:
    description: Only records from these sources (C(SourceName)). Empty means every source.
    type: list
    elements: str
    default: []
  event_ids:
    description: Only records with these event IDs (C(EventCode), 0 to 65535). Empty means every ID.
    type: list
    elements: int
    default: []
  window_hours:
    description: How many hours back to look (1 to 8784).
    type: int
    default: 72
seealso:
  - module: mailops.port25.conflict_info
extends_documentation_fragment:
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.attributes.info_module
"""

EXAMPLES = r"""
- name: The Internet Mail Service bind failures of the last three days (KB Q222553)
  mailops.port25.event_info:
    log: Application
    sources: [MSExchangeIMC]
    event_ids: [4007, 4020]
  register: imc_events

- name: Front End Transport "address in use" events of the last day
  mailops.port25.event_info:
    sources: [MSExchangeFrontEndTransport, MSExchangeTransport]
    event_ids: [1018, 1019]
    window_hours: 24
"""

RETURN = r"""
host:
  description: The WinRM host that was asked.
  returned: success
  type: str
  sample: mail01.example.com
log:
  description: The log that was read.
  returned: success
  type: str
  sample: Application
since:
  description: Start of the window (ISO 8601, UTC).
  returned: success
  type: str
  sample: '2026-11-25T16:07:41Z'
events:
  description: The records, newest first. Empty when none matched.
  returned: success
  type: list
  elements: dict
  contains:
    log:
      description: Event log name.
      type: str
    source:
      description: Event source.
      type: str
    event_id:
      description: Event ID (C(EventCode)).
      type: int
    type:
      description: V(error), V(warning), V(information), V(audit_success) or V(audit_failure).
      type: str
    time:
      description: When the event was generated (ISO 8601, UTC).
      type: str
    message:
      description: The event message; V(null) when the host cannot load the source's message file.
      type: str
    insertion_strings:
      description: The strings the message was formatted from (C(InsertionStrings)); the only text when
        RV(events[].message) is V(null).
      type: list
      elements: str
    winsock_error:
      description: The WinSock error code in the message, or else in the insertion strings (for example V(10048),
        address in use); V(null) when there is none.
      type: int
    record_number:
      description: The record number in its log.
      type: int
  sample:
    - {log: Application, source: MSExchangeIMC, event_id: 4007, type: error, time: '2026-11-28T14:07:41Z',
       message: The following error occurred while trying to bind the TCP/IP listener socket. 10048,
       insertion_strings: ['10048'], winsock_error: 10048, record_number: 812}
gaps:
  description: Why the log could not be read, when WMI refused the query (then RV(events) is empty). One entry naming
    the class and the reason.
  returned: success
  type: list
  elements: dict
  contains:
    class:
      description: V(Win32_NTLogEvent).
      type: str
    error:
      description: The reason (operation timeout, WMI quota, missing privilege, access denied) with the fault's code.
      type: str
  sample:
    - {class: Win32_NTLogEvent, error: 'WMI stopped the event log query at its quota (a big log): narrow the window
        (WSManFault 2150859174, w:InternalError)'}
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import event_info as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
