#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: service
short_description: Stop, start, enable or disable a Windows service over WMI, with a deadline
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Brings one Windows service to a state (running or stopped) and a start mode (auto, manual or disabled) with the
    C(Win32_Service) methods C(StopService), C(StartService) and C(ChangeStartMode), called over WinRM
    (WS-Management) from the Ansible controller. Nothing runs on the Windows host but WMI (no PowerShell, no Python).
  - Idempotent. Every change is returned in RV(actions) with the state and start mode before and after it, so that
    it can be undone exactly.
  - Pending states (C(start_pending), C(stop_pending)) are polled until O(timeout); a service still pending then is an
    error, reported as such, never as success. A service that stops again right after it was started (for example
    because another program holds its TCP port) is an error that names its exit codes.
  - A method call is never repeated. When a call gets no answer (timeout, dropped connection) the service is read again
    and the module goes on, or fails, from what the host reports.
  - A call the host accepted is always recorded. When the wait after it fails (still pending at O(timeout), the service
    stopped again, the connection lost), the task fails with C(changed=true) and lists that action in C(error.actions)
    with C(completed=false), because its change may still happen after the task has ended.
  - Every C(Win32_Service) return value (0 to 24) is reported with its meaning.
  - Never kills a process. Refuses, without any request to the host, a service that is not on O(allowed) when
    O(allowed) is given.
  - Runs on the controller from an action plugin; it never uses the host's Ansible connection.
options:
  name:
    description:
      - Short name of the service (C(Win32_Service.Name)), for example C(SMTPSVC). Compared without regard to case.
    type: str
    required: true
  state:
    description:
      - V(started) starts the service when it is not running, V(stopped) stops it when it is not stopped.
      - Not given, the state is left as it is.
      - At least one of O(state) and O(start_mode) is required.
    type: str
    choices: [started, stopped]
  start_mode:
    description:
      - Start mode to set with C(ChangeStartMode). V(auto) is C(Automatic).
      - Not given, the start mode is left as it is.
      - V(disabled) cannot be combined with O(state=started).
      - The C(DelayedAutoStart) flag is not changed (C(ChangeStartMode) cannot set it).
    type: str
    choices: [auto, manual, disabled]
  timeout:
    description:
      - Seconds the service may stay in a pending state, counted from the start of the task, before the module fails.
      - The operating system's own limit for a control request is 30 seconds; Exchange services may need several minutes
        to start.
    type: int
    default: 60
  dependents:
    description:
      - What to do when O(state=stopped) and other running services depend on the service.
      - V(fail) fails before anything is stopped, naming the dependents.
      - When the dependency links cannot be read (access denied, timed out, or no C(Win32_DependentService) on the host),
        RV(gaps) says so and the stop goes ahead; C(StopService) itself then refuses (return value 3) while dependents run.
      - V(stop) stops them first (the deepest first) and lists them in RV(stopped_dependents); when O(allowed) is given
        they must be on it too.
    type: str
    choices: [fail, stop]
    default: fail
  allowed:
    description:
      - When given, the only services this task may act on (compared without regard to case). Any other O(name) is
        refused before a request is sent, and so are dependents that O(dependents=stop) would stop.
    type: list
    elements: str
notes:
  - Results and errors never contain the password.
  - C(Win32_Service) return values (for the record) are 0 accepted, 1 not supported, 2 access denied, 3 running dependents,
    4 invalid control, 5 cannot accept control in this state, 6 not active, 7 request timeout, 8 unknown failure,
    9 path not found, 10 already running, 11 database locked, 12 dependency deleted, 13 dependency failure, 14 disabled,
    15 logon failed, 16 marked for deletion, 17 no thread, 18 circular dependency, 19 duplicate name, 20 invalid name,
    21 invalid parameter, 22 invalid service account, 23 service exists, 24 already paused.
seealso:
  - module: mailops.port25.service_info
  - module: mailops.port25.conflict_info
  - ref: mailops.port25.bind_conflict role <ansible_collections.mailops.port25.bind_conflict_role>
    description: The role that uses this module to fix the port 25 bind conflict of KB Q222553.
extends_documentation_fragment:
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
attributes:
  check_mode:
    support: full
    details:
      - Reads the service and predicts C(changed), RV(actions) and RV(after) exactly; sends no method call.
      - Failures the host would give (a disabled service asked to start, running dependents) are predicted too.
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Stop and disable the IIS SMTP service (and nothing else)
  mailops.port25.service:
    name: SMTPSVC
    state: stopped
    start_mode: disabled
    allowed: [SMTPSVC]
    timeout: 120

- name: Start the Exchange 5.5 Internet Mail Service
  mailops.port25.service:
    name: MSExchangeIMC
    state: started
    timeout: 300
  register: imc

- name: Show what was done
  ansible.builtin.debug:
    msg: "{{ imc.actions | map(attribute='action') | join(', ') }} -> {{ imc.after.state }} (PID {{ imc.after.pid }})"

- name: Stop IIS Admin and the services that depend on it, with explicit connection settings
  mailops.port25.service:
    name: IISADMIN
    state: stopped
    dependents: stop
    allowed: [IISADMIN, SMTPSVC, W3SVC]
    winrm_host: mail01.example.com
    winrm_user: EXAMPLE\ansible
    winrm_password: "{{ vault_winrm_password }}"
"""

RETURN = r"""
name:
  description: The service name as the host spells it.
  returned: success
  type: str
  sample: SMTPSVC
before:
  description: The service before the task (after any pending state it was found in had finished).
  returned: success
  type: dict
  contains:
    state:
      description: V(running), V(stopped), V(paused), ...
      type: str
      sample: running
    start_mode:
      description: V(auto), V(manual), V(disabled), V(boot) or V(system).
      type: str
      sample: auto
    pid:
      description: Process ID, or V(null) when the service has no process.
      type: int
      sample: 1234
    exists:
      description: Always V(true) in a successful result (a missing service is an error).
      type: bool
      sample: true
after:
  description:
    - The service after the task, with the same keys as RV(before).
    - In check mode, the predicted state; C(after.pid) is V(null) when the state would change.
  returned: success
  type: dict
  sample: {state: stopped, start_mode: disabled, pid: null, exists: true}
actions:
  description:
    - The changes made (or, in check mode, that would be made), in order. Empty when nothing had to change.
    - Dependents stopped because of O(dependents=stop) come first.
  returned: success
  type: list
  elements: dict
  contains:
    action:
      description: V(stop), V(start) or V(set_start_mode).
      type: str
    service:
      description: The service the action applies to.
      type: str
    before:
      description: C(state) and C(start_mode) just before the action.
      type: dict
    after:
      description: C(state) and C(start_mode) just after the action.
      type: dict
    completed:
      description:
        - V(true) when the action was carried out (in check mode, the prediction of that).
        - V(false) only in C(error.actions), for a call the host accepted whose wait or read-back then failed.
      type: bool
  sample:
    - {action: stop, service: SMTPSVC, before: {state: running, start_mode: auto}, after: {state: stopped, start_mode: auto},
       completed: true}
    - {action: set_start_mode, service: SMTPSVC, before: {state: stopped, start_mode: auto}, after: {state: stopped, start_mode: disabled},
       completed: true}
stopped_dependents:
  description: Dependent services stopped (or that would be stopped) first because of O(dependents=stop).
  returned: success
  type: list
  elements: str
  sample: []
gaps:
  description:
    - What could not be read and was done without, as C(class) and C(error); empty when nothing was missing.
    - Today only the dependency links (C(Win32_DependentService)) of a service to stop.
  returned: success
  type: list
  elements: dict
  sample: []
error:
  description:
    - On failure, what failed (C(type), C(host), C(operation), C(message)).
    - For a failure in the middle of the changes, C(actions) lists the changes already made, with their before-state
      and C(completed=true), then the failed one with C(completed=false) when the host had accepted its call.
    - C(accepted) is V(true) when the host accepted the failed call (its change may still happen), V(false) when it
      refused it or the call never reached it.
  returned: failure
  type: dict
  sample:
    type: ServiceControlError
    host: mail01.example.com
    operation: StartService
    message: "service MSExchangeIMC stopped again right after it was started: exit code 1066 (...), service-specific error 10048 (...)"
    accepted: true
    actions:
      - {action: start, service: MSExchangeIMC, before: {state: stopped, start_mode: auto}, after: {state: running, start_mode: auto},
         completed: false}
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import service as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
