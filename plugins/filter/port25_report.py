# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet report of the mailops.port25 collection: one data model, rendered as JSON, HTML and JUnit XML."""

from __future__ import annotations

DOCUMENTATION = r"""
name: port25_report
author: mailops.port25 developers
version_added: 0.1.0
short_description: Build the port 25 fleet report (data, JSON, HTML or JUnit XML)
description:
  - Reads the C(bind_conflict_result) host fact that the P(mailops.port25.bind_conflict#role) role records on every host
    and builds one report over all the given hosts.
  - A host without C(bind_conflict_result) is reported as failed with the error C(failed before any result was recorded).
    A host that is in O(play_hosts) but not in O(active_hosts) failed or became unreachable during the play, and is
    reported as failed even when it recorded a result.
  - The same data model is rendered as JSON (the record that rollback reads), as a self-contained HTML page (its own
    stylesheet and script inlined and allowed by hash, every text escaped; summary first, hosts grouped by finding
    code, the host table sorted worst first, filtered and paged) and as JUnit XML (one test case per host).
  - The facts are read as they were recorded, without templating them again (from C(hostvars.raw_get()) when the
    mapping has it), so text such as C({{ ... }}) in a result is reported as text.
  - Used by the P(mailops.port25.report#role) role; the filter has no side effects.
positional: hostvars
options:
  _input:
    description: Inventory host names to report on, in the order they should appear.
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) magic variable (or any mapping of host name to that host's variables).
    type: dict
    required: true
  output:
    description:
      - V(data) returns the report as a dictionary, V(json) as indented JSON text, V(html) as an HTML page,
        V(junit) as JUnit XML text.
    type: str
    choices: [data, json, html, junit]
    default: data
  generated:
    description: When the report was generated, ISO 8601 UTC (for example C(2026-11-28T16:07:41Z)).
    type: str
    required: true
  title:
    description: Title shown in the HTML page and used as the JUnit test suite name.
    type: str
    default: Port 25 bind conflict report
  play_hosts:
    description: All hosts the play targeted (C(ansible_play_hosts_all)). Only used together with O(active_hosts).
    type: list
    elements: str
    default: []
  active_hosts:
    description: Hosts still active in the play (C(ansible_play_hosts)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Write the HTML report
  ansible.builtin.copy:
    content: >-
      {{ ansible_play_hosts_all | mailops.port25.port25_report(hostvars, output='html',
         generated=now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ'),
         play_hosts=ansible_play_hosts_all, active_hosts=ansible_play_hosts) }}
    dest: /var/tmp/port25-report.html
    mode: "0644"
  delegate_to: localhost
  run_once: true

- name: Count the non-compliant hosts
  ansible.builtin.debug:
    msg: "{{ (groups['mail'] | mailops.port25.port25_report(hostvars, generated='2026-11-28T16:07:41Z')).summary.noncompliant }}"
"""

RETURN = r"""
_value:
  description:
    - The report. With O(output=data) a dictionary with the keys C(report_format), C(title), C(generated),
      C(collection) (C(name), C(version)), C(mode) (check, apply, mixed or unknown), C(summary) and C(hosts);
      otherwise its text rendering.
    - Each entry of C(hosts) has C(report_format), C(host), C(status) (ok, failed or not_run), C(verdict) (compliant,
      noncompliant, failed, or not_run for a host a rolling run has not reached yet), C(error), C(profile),
      C(check_mode), C(changed), C(compliant), C(before) and C(after) (C(verdict), C(compliant), C(owner),
      C(findings), C(smtp_service), C(mail_service)), C(findings) (of the state after the run), C(actions)
      (C(action), C(service), C(before) with C(state) and C(start_mode), C(after), C(changed)), C(flags),
      C(started) and C(duration) (when the host's record was made and how many seconds it took) and C(waived).
    - The JSON Schema of the report is C(docs/report.schema.json) in the collection.
  type: raw
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.mailops.port25.plugins.plugin_utils.report import html, junit, model, records

try:
    # ansible-core < 2.19 re-templates plain strings read back from variables; marking the result unsafe stops
    # hostile text (event messages, host names) from being evaluated as a template if someone stores it in a fact.
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # pragma: no cover - removed in a future ansible-core, where results are never re-templated
    def wrap_var(value):
        return value

RENDERERS = {'data': lambda report: report, 'json': model.to_json, 'html': html.render, 'junit': junit.render}


def port25_report(hosts, hostvars, output='data', generated=None, title=model.DEFAULT_TITLE, play_hosts=None, active_hosts=None):
    """Filter entry point: see DOCUMENTATION."""
    if output not in RENDERERS:
        raise AnsibleFilterError('port25_report: output must be one of %s, got %r' % (', '.join(RENDERERS), output))
    try:
        report = records.fleet_report(hosts, hostvars, generated, title, play_hosts, active_hosts)
    except records.RecordsError as exc:
        raise AnsibleFilterError('port25_report: %s' % exc) from None
    return wrap_var(RENDERERS[output](report))


class FilterModule:
    """mailops.port25 report filter."""

    def filters(self):
        return {'port25_report': port25_report}
