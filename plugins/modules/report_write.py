#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: report_write
short_description: Write the port 25 fleet report files (JSON, HTML, JUnit XML) on the controller
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Reads the C(bind_conflict_result) fact of every host in O(hosts), builds the report once (the same data model as the
    P(mailops.port25.port25_report#filter) filter) and writes C(port25-report.json), C(port25-report.html) and
    C(port25-report.xml) into O(dest) on the controller. O(dest) is created when missing (mode C(0755)); each file is
    replaced in one step (mode C(0644)), and only when its content differs.
  - The directory may be shared with other users of the controller, so the files in it are never trusted. A previous
    report is only read when it is a regular file (a symlink is not followed, a FIFO or device is not opened for
    reading), and a symlink at a report's path is replaced, not written through.
  - O(dest) is refused, and nothing is written, when other users could change what is in it, that is when it is writable by
    its group or by every user without the sticky bit, or when a user other than the one running C(ansible-playbook)
    owns it.
  - A run locks O(dest) with the file C(.port25-report.lock) in it, which names the C(ansible-playbook) process (PID
    and start time), its user and when it took the lock. O(stage=prepare) takes the lock for the whole run,
    O(stage=release) drops it. Another run that finds the lock held by a live run fails at once with a message naming
    that run, or waits for up to O(lock_wait) seconds first. A lock left by a run that has ended (killed, or a playbook
    without the release stage) is taken over, with a warning.
  - Runs entirely in an action plugin on the controller; no module is sent anywhere and the host's connection is never
    used. Give the task C(run_once=true); the report covers O(hosts), whichever host runs it.
  - A host without C(bind_conflict_result) is reported as failed with the error C(failed before any result was recorded);
    a host in O(play_hosts) but not in O(active_hosts) is reported as failed even when it recorded a result.
  - With O(merge=true) the report is built from pieces instead, from the report files and directories in O(sources) and
    from the C(port25_piece_*) job artifacts that earlier runs published (see RV(artifact)). A host in several pieces keeps its
    newest record (the report lists these overlaps under C(merge.overlaps)); pieces of different modes or collection
    versions, and pieces that are not complete port25 reports, are refused and nothing is written.
  - O(waivers) marks accepted findings as waived, O(history) keeps previous reports, and the report says what changed
    since the previous run's report in O(dest).
  - The report records the run (C(run)) - its id, the engine and job, the slice of a sliced run and the hosts it targeted.
    The JSON Schema of the report is C(docs/report.schema.json) in the collection.
  - Used by the P(mailops.port25.report#role) role, which sets C(check_mode=false) on it so that the files are written in
    check-mode runs too.
options:
  stage:
    description:
      - V(prepare) runs before any host is changed. It creates O(dest) when missing, checks that it is safe and
        writable, and takes the lock for the rest of the C(ansible-playbook) run. It writes no report.
      - V(write) builds the report and writes the three files. It refuses to write while another live run holds the
        lock. After O(stage=prepare) it keeps the run's lock, so that a rolling run can write after every batch.
        Without it, the lock is taken for this write only.
      - V(release) drops the lock of this run, if this run holds it. It never removes the lock of another run.
      - O(stage=prepare) and O(stage=release) never report RV(ignore:changed).
    type: str
    choices: [prepare, write, release]
    default: write
  dest:
    description:
      - Directory on the controller for the three files. A relative path is resolved against the directory
        C(ansible-playbook) was started from.
    type: path
    default: port25-report
  lock_wait:
    description:
      - How many seconds to wait for the lock when another live run holds it. With V(0), fail at once.
      - Failing at once is the default because a scheduled run that queues up behind a long remediation would
        report on a fleet that has changed since it was started.
    type: int
    default: 0
  hosts:
    description:
      - Inventory host names to report on, in the order they appear in the report.
      - Required with O(stage=write) unless O(merge=true); ignored by the other stages.
    type: list
    elements: str
  title:
    description: Title of the HTML page and name of the JUnit test suite.
    type: str
    default: Port 25 bind conflict report
  play_hosts:
    description: All hosts the play targeted (C(ansible_play_hosts_all)). Only used together with O(active_hosts).
    type: list
    elements: str
  active_hosts:
    description: Hosts still active in the play (C(ansible_play_hosts)).
    type: list
    elements: str
  merge:
    description:
      - Build the report from the pieces in O(sources) and from every C(port25_piece_*) variable instead of the hosts'
        records. O(hosts) is not used then.
    type: bool
    default: false
  sources:
    description:
      - With O(merge=true), report files to merge, or directories holding a C(port25-report.json) (in the directory or
        in its subdirectories, one level deep). A relative path is resolved against the working directory.
      - O(dest) must not be the directory of a piece.
    type: list
    elements: path
    default: []
  history:
    description:
      - How many previous reports to keep in C(history/) inside O(dest). V(0) keeps none.
      - The previous run's report is kept when the new one is written; a report of the same run (an earlier batch of a
        rolling run) is replaced. The report's C(changes) compares it with the previous run's report whatever this is.
    type: int
    default: 0
  waivers:
    description:
      - A YAML file of accepted exceptions. Each entry has C(host) (a pattern with C(*) and C(?)), C(code) (a finding
        code or a list of codes), C(reason), C(by) and C(expires) (C(YYYY-MM-DD)); nothing else.
      - A finding a waiver accepts gets a C(waiver) (C(reason), C(by), C(expires), C(expired)); a non-compliant host
        whose every error finding an unexpired waiver accepts is C(waived) and is not in RV(output.gate_failed). A
        waiver counts up to and including its expiry date; after it the finding counts again and the report lists it
        under C(waivers.expired).
      - Checked by O(stage=prepare) too, so that a broken file stops a run before any host is contacted.
    type: path
  run_id:
    description: Id of the run in the report and in its artifact. Default is C(<engine>-job-<id>) from C(awx_job_id)
      (or C(tower_job_id)), else the start time and PID of C(ansible-playbook).
    type: str
  slice_number:
    description:
      - Number of this slice of a sliced run, from 1, with O(slice_count). Default is C(awx_job_slice_number) (or
        C(tower_)) when set.
    type: int
  slice_count:
    description: Number of slices of a sliced run. Default is C(awx_job_slice_count) (or C(tower_)) when set.
    type: int
  publish:
    description:
      - Return the run's hosts in RV(artifact), for C(set_stats) (not with O(merge=true)).
    type: bool
    default: true
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
    details: Use C(run_once=true); several hosts running it at once would write the same files.
  check_mode:
    support: partial
    details:
      - With O(stage=write), nothing is written in check mode and RV(ignore:changed) says whether a file would change.
      - O(stage=prepare) and O(stage=release) do the same in check mode as in a normal run. The directory and the lock
        are the run's own bookkeeping, not a change to a managed host.
  connection:
    support: none
  delegation:
    support: none
    details: Always runs on the controller; C(delegate_to) changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: The files are written on the controller.
notes:
  - The lock's owner is the C(ansible-playbook) process. When a run is killed, its lock stays until the next run takes
    it over. That run can only do so after the process has ended, because the lock records the process's start time
    as well as its PID.
  - The report time (C(generated)) is the time of the run, so every run rewrites the files.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
seealso:
  - plugin: mailops.port25.port25_report
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check the report directory and lock it before any host is changed
  mailops.port25.report_write:
    stage: prepare
    dest: /var/tmp/port25
  run_once: true
  check_mode: false

- name: Write the report of the play's hosts
  mailops.port25.report_write:
    dest: /var/tmp/port25
    hosts: "{{ ansible_play_hosts_all }}"
    play_hosts: "{{ ansible_play_hosts_all }}"
    active_hosts: "{{ ansible_play_hosts }}"
  run_once: true
  register: port25_written

- name: Show where the HTML page is
  ansible.builtin.debug:
    msg: "{{ port25_written.output.summary.noncompliant }} non-compliant host(s), see {{ port25_written.output.html }}"

- name: Drop the lock at the end of the run
  mailops.port25.report_write:
    stage: release
    dest: /var/tmp/port25
  run_once: true
  check_mode: false
"""

RETURN = r"""
output:
  description: Where the report is and what it says.
  returned: success
  type: dict
  contains:
    dir:
      description: Absolute path of O(dest), symlinks resolved.
      type: str
      sample: /var/tmp/port25
    lock:
      description: Path of the lock file that this run holds.
      returned: O(stage=prepare)
      type: str
      sample: /var/tmp/port25/.port25-report.lock
    released:
      description: Whether this run held the lock and dropped it.
      returned: O(stage=release)
      type: bool
      sample: true
    json:
      description: Path of the JSON report (the record that rollback reads).
      type: str
      returned: O(stage=write)
      sample: /var/tmp/port25/port25-report.json
    html:
      description: Path of the self-contained HTML page.
      type: str
      returned: O(stage=write)
      sample: /var/tmp/port25/port25-report.html
    junit:
      description: Path of the JUnit XML file (one test case per host).
      type: str
      returned: O(stage=write)
      sample: /var/tmp/port25/port25-report.xml
    summary:
      description:
        - Counts of the report, as in its C(summary) key; C(hosts), C(compliant), C(noncompliant), C(failed),
          C(changed), C(flagged), C(actions), C(predicted), and C(before) and C(after) (C(compliant), C(noncompliant),
          C(unknown)).
      returned: O(stage=write)
      type: dict
      sample: {hosts: 2, compliant: 1, noncompliant: 0, failed: 1, changed: 1, flagged: 0, actions: 3, predicted: 0,
               before: {compliant: 0, noncompliant: 2, unknown: 0}, after: {compliant: 1, noncompliant: 0, unknown: 1},
               waived: 0, gate_failed: 0}
    attention:
      description:
        - The hosts that are not compliant, worst first, one line each (at most 20, then how many more), with the
          verdict, the error codes with the port (and port host) each is about, and the ports in conflict with who holds
          them.
      returned: O(stage=write)
      type: list
      elements: str
      sample:
        - 'ex2019.corp.example: Non-compliant: PORT_HELD_BY_SMTP_SERVICE (port 2525); conflict on port 2525: SMTP service: inetinfo.exe'
    gate_failed:
      description: Hosts that are non-compliant and not waived (those that C(fail_on_noncompliant) fails).
      returned: O(stage=write)
      type: list
      elements: str
      sample: [mail02.corp.example]
    changes:
      description: How many hosts changed since the previous run, by kind (empty without a previous report).
      returned: O(stage=write)
      type: dict
      sample: {newly_noncompliant: 1, fixed: 3, newly_failed: 0, new: 0, gone: 1}
artifact:
  description:
    - The run's hosts for C(set_stats), under the key C(port25_piece_<run id>) (unique per run and slice, because AWX
      merges the artifacts of a workflow's jobs key by key). Each host has C(host), C(verdict), C(profile),
      C(check_mode), C(changed), C(compliant), C(started), C(duration), C(error) (at most 500 characters), C(owner),
      C(findings) (C(code), C(severity)) and C(flags) (C(code)); about 250 bytes a host.
    - Above 1 MiB its C(hosts) is null and a warning says to merge the run from its report file.
  returned: O(stage=write) with O(publish=true) and O(merge=false)
  type: dict
  sample: {port25_piece_awx-job-4711: {port25_piece: 1, mode: check, run: {id: awx-job-4711, slice: {number: 2, count: 4}},
           hosts: [{host: mail02.corp.example, verdict: noncompliant, findings: [{code: PORT_HELD_BY_ANTIVIRUS, severity: error}]}]}}
"""
