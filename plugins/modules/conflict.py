#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: conflict
short_description: Fix the TCP port 25 bind conflict of Microsoft KB Q222553 on a Windows mail server, or undo the fix
version_added: 0.2.0
author: mailops.port25 developers (@mailops)
description:
  - The state twin of M(mailops.port25.conflict_info). With O(state=resolved) it diagnoses the host, stops and disables
    the Windows SMTP service when it is in the way, starts the mail service, verifies that the mail service owns the
    port with no new bind-failure event, and returns the host's record - all in one task and one WinRM session.
  - With O(state=rolled_back) it undoes a recorded run (O(record) or O(record_file)), service by service, latest-changed
    first, back to the state recorded before the first change.
  - 'The safety rules cannot be switched off by any option: a service the antivirus catalogue matches is never stopped,
    disabled or started (whatever O(smtp_service) and O(allowed_to_stop) say); the services Windows and the WinRM
    connection need (for example C(WinRM), C(Winmgmt), C(RpcSs), C(EventLog)) are never changed; the SMTP service is
    never stopped or disabled where it is the Exchange 2000/2003 transport, detected from the installed services; only the
    SMTP service is stopped or disabled, and only while it is on O(allowed_to_stop); only the mail service (and the service
    the profile expects on each of its other ports) is started; no process is ever killed.'
  - Every listener of the profile is fixed the same way - on Exchange 2013 and later a conflict on 2525 stops the SMTP
    service that holds it and starts C(MSExchangeTransport).
  - 'With O(port_host), the KB''s own two-host setup: the port is judged on the port host (the Proxy Server 2.0 host),
    its SMTP service is stopped and disabled there under the same rules (nothing is ever started there), the mail service
    is started on this host, and the verification checks on the port host that the WinSock Proxy service now holds the
    port and that it greets with the mail service''s software. Actions on the port host carry C(host). Runs that change
    hosts hold a lock per host on the controller, so two mail hosts that share one proxy take turns.'
  - The last step of the verification is the SMTP greeting of each port of a started service (O(greeting)).
  - A forced O(profile) that contradicts the installed services (for example V(exchange55) on an Exchange 2003 host) is
    refused with a message naming both, and nothing is changed.
  - Every method call Windows accepted is in RV(actions) with its before-state, even when waiting for its end failed
    (C(completed=false)); rollback handles such steps.
  - The result is the host's record (RV(host), RV(before), RV(actions), RV(after), RV(findings), RV(flags),
    RV(compliant), RV(error)). Register it as C(bind_conflict_result) and M(mailops.port25.report_write) reports it; a
    failed task still registers its record.
  - Runs on the controller from an action plugin; it never uses the host's Ansible connection.
options:
  state:
    description:
      - V(resolved) applies the fix of KB Q222553; V(rolled_back) undoes a recorded run.
    type: str
    choices: [resolved, rolled_back]
    default: resolved
  disable_smtp_service:
    description:
      - Stop and disable the SMTP service when it is running or not yet disabled and the port is free or held by the SMTP
        or mail service (never while an antivirus product or an unknown program holds it).
    type: bool
    default: true
  start_mail_service:
    description:
      - Start the mail service once the port is free.
    type: bool
    default: true
  antivirus_action:
    description:
      - When an antivirus product holds the port, V(flag) marks the host non-compliant with the KB's advice; V(fail) does
        the same and fails the task. The product is never touched either way.
    type: str
    choices: [flag, fail]
    default: flag
  allowed_to_stop:
    description:
      - The SMTP service is stopped and disabled only when it is on this list (names compare without regard to case).
      - Naming another service here does not let the module stop it; naming an antivirus service is of no effect.
    type: list
    elements: str
    default: [SMTPSVC]
  timeout:
    description:
      - Seconds each service may stay in a pending state before the task fails (the accepted call is still recorded).
    type: int
    default: 60
  verify_retries:
    description:
      - How many times the verification is tried after a change.
    type: int
    default: 5
  verify_delay:
    description:
      - Seconds between two verification attempts.
    type: int
    default: 2
  fail_on_noncompliant:
    description:
      - Fail the task when the host is not compliant at the end (after the fix, or as predicted in check mode).
    type: bool
    default: false
  host_name:
    description:
      - The name the record is kept under and that a rolled-back record must carry.
      - Default from the action plugin - the inventory name of the host (C(inventory_hostname)).
    type: str
  record:
    description:
      - With O(state=rolled_back), the host entry of a port25 report to undo (one item of its C(hosts) list, with
        C(report_format)).
      - Checked before anything is done - its host, format, mode and types; booleans must be booleans.
    type: dict
  record_file:
    description:
      - With O(state=rolled_back), a C(port25-report.json) written by a remediation run; the entry of this host is read
        from it (a host not in the report has nothing to undo).
      - Read as a regular file only, never blocking.
    type: path
  force:
    description:
      - Undo a service even when it is no longer in the state the run left it in (someone changed it since).
      - The safety rules still apply.
    type: bool
    default: false
  read_only:
    description:
      - Run as in check mode whatever the task's mode (diagnose and predict, never change anything) and never report
        C(changed). For compliance checks, where a predicted change is not a change of the host.
    type: bool
    default: false
  vars_prefix:
    description:
      - Take each option not set in the task from the variable C(<vars_prefix>_<option>) when that variable is set and not
        empty (for example V(bind_conflict) reads C(bind_conflict_port), C(bind_conflict_allowed_to_stop)). O(state),
        O(host_name), O(record) and O(record_file) are never taken from variables.
      - This is how the P(mailops.port25.bind_conflict#role) role passes its variables; only the variables that are set
        are templated. An error about such an option names the variable it came from.
      - Only the action plugin can read variables; run as a module process the option is refused.
      - Variables cannot switch the safety rules off any more than options can.
    type: str
notes:
  - Check mode diagnoses, predicts RV(actions) exactly and changes nothing; C(changed) then says whether the real run
    would change the host, and RV(flags) speak in the conditional.
  - Results and errors never contain the password.
seealso:
  - module: mailops.port25.conflict_info
  - module: mailops.port25.service
  - module: mailops.port25.report_write
  - name: "KB Q222553: XFOR: IMC Events 4020, 4007 with Error 10048"
    description: The Microsoft knowledge base article this module implements (archived copy).
    link: https://github.com/jeffpar/kbarchive/blob/master/kb/222/Q222553/README.md
extends_documentation_fragment:
  - mailops.port25.diagnosis
  - mailops.port25.port_host
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.antivirus_catalogue
attributes:
  check_mode:
    support: full
    details:
      - Diagnoses and predicts the actions exactly; sends no method call.
  diff_mode:
    support: full
    details:
      - One diff per service changed, headed with the service's name.
"""

EXAMPLES = r"""
# In a play that targets the Windows hosts (gather_facts: false): the connection settings come from the inventory.
- name: Fix the port 25 conflict of KB Q222553
  mailops.port25.conflict:
    state: resolved
  register: bind_conflict_result

- name: Only predict (a compliance check), failing the hosts that are not compliant
  mailops.port25.conflict:
    read_only: true
    fail_on_noncompliant: true
  register: bind_conflict_result

- name: The fix with its options from variables (bind_conflict_port, bind_conflict_allowed_to_stop, ...)
  mailops.port25.conflict:
    vars_prefix: bind_conflict
  register: bind_conflict_result

- name: Undo what a remediation run recorded
  mailops.port25.conflict:
    state: rolled_back
    record_file: /var/tmp/port25/port25-report.json

- name: Exchange 5.5 behind Proxy Server 2.0 (KB Q222553) - port 25 is bound on the proxy, an inventory host
  mailops.port25.conflict:
    port_host: proxy01
"""

RETURN = r"""
report_format:
  description: Version of the record's layout.
  returned: always
  type: int
  sample: 1
host:
  description: The name the record is kept under (O(host_name)).
  returned: always
  type: str
  sample: mail01
port_host:
  description: The port host the record also covers (O(port_host)), V(null) without one.
  returned: always
  type: str
  sample: proxy01
profile:
  description: The Exchange profile used, V(null) when the host could not be diagnosed.
  returned: always
  type: str
  sample: exchange55
check_mode:
  description: Whether the actions were predicted (check mode) rather than made.
  returned: always
  type: bool
  sample: false
before:
  description:
    - The diagnosis before any change (C(compliant), C(owner), C(findings), C(smtp_service), C(mail_service), C(ports),
      C(greeting), C(remote_bind), C(port_host), as returned by M(mailops.port25.conflict_info)); V(null) when the host
      could not be diagnosed.
  returned: always
  type: dict
actions:
  description:
    - The service actions made (or predicted in check mode), in order.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: V(stop), V(set_start_mode) or V(start).
      type: str
    service:
      description: The service's name as the host spells it.
      type: str
    before:
      description: C(state) and C(start_mode) before the action.
      type: dict
    after:
      description: C(state) and C(start_mode) after the action.
      type: dict
    changed:
      description: True when made, false when predicted.
      type: bool
    completed:
      description: False when Windows accepted the call but waiting for its end failed.
      type: bool
    host:
      description: The port host the action ran on; absent for actions on this host.
      type: str
  sample:
    - {action: stop, service: SMTPSVC, before: {state: running, start_mode: auto}, after: {state: stopped, start_mode: auto},
       changed: true, completed: true}
after:
  description: The diagnosis after the changes (the same keys as RV(before)); the before-state when nothing was made.
  returned: always
  type: dict
findings:
  description: The findings of RV(after) (see M(mailops.port25.conflict_info)).
  returned: always
  type: list
  elements: dict
flags:
  description:
    - What is left for a human, each with C(code), C(message) and C(advice). Codes - C(ANTIVIRUS_HOLDS_PORT),
      C(UNKNOWN_OWNER), C(SMTP_SERVICE_IS_TRANSPORT), C(SMTP_SERVICE_NOT_ALLOWED), C(SERVICE_REFUSED),
      C(ROLLBACK_REFUSED).
  returned: always
  type: list
  elements: dict
compliant:
  description: True when no finding of RV(after) is an error and no step failed.
  returned: always
  type: bool
error:
  description: Why the task failed (after the changes recorded in RV(actions)), V(null) when it did not.
  returned: always
  type: str
started:
  description: When the task started on this host, UTC (ISO 8601).
  returned: always
  type: str
  sample: "2026-11-28T16:07:41Z"
duration:
  description: Seconds the task took on this host (the JUnit time of the host in the report).
  returned: always
  type: float
  sample: 1.874
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
