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
  - The same data model is rendered as JSON (the record that rollback reads), as a self-contained HTML page (inline
    CSS, SVG and JavaScript only, every text HTML-escaped) and as JUnit XML (one test case per host).
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
      (C(action), C(service), C(before) with C(state) and C(start_mode), C(after), C(changed)) and C(flags).
  type: raw
"""

import hashlib
import base64
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:
    # ansible-core < 2.19 re-templates plain strings read back from variables; marking the result unsafe stops
    # hostile text (event messages, host names) from being evaluated as a template if someone stores it in a fact.
    from ansible.utils.unsafe_proxy import wrap_var
except ImportError:  # pragma: no cover - removed in a future ansible-core, where results are never re-templated
    def wrap_var(value):
        return value

COLLECTION = 'mailops.port25'
REPORT_FORMAT = 1
DEFAULT_TITLE = 'Port 25 bind conflict report'
NO_RESULT_ERROR = 'failed before any result was recorded'
LEFT_PLAY_ERROR = 'the host failed or became unreachable after its result was recorded'
NOT_IN_INVENTORY = 'the host is not in the inventory'
NOT_RUN_YET = 'not run yet'
OUTPUTS = ('data', 'json', 'html', 'junit')
VERDICTS = ('compliant', 'noncompliant', 'failed', 'not_run')
STATE_VERDICTS = ('compliant', 'noncompliant', 'unknown')

# What the KB says about each finding (docs/kb-q222553.md maps every sentence).
KB_TEXT = {
    'PORT_HELD_BY_SMTP_SERVICE': ('Resolution', 'Verify that the Windows NT SMTP service is not running on the proxy server. '
                                  'The SMTP service will grab and bind to port 25, preventing Exchange Server from using the port.'),
    'SMTP_SERVICE_ENABLED': ('Resolution', 'Verify that the Windows NT SMTP service is not running on the proxy server.'),
    'PORT_HELD_BY_ANTIVIRUS': ('Resolution', 'Some customers have found their anti-virus product a contributing factor. '
                               'Disable the anti-virus product on the proxy server and attempt to start the service. '
                               'If this works, please contact the anti-virus vendor for further assistance.'),
    'ANTIVIRUS_PRESENT': ('Resolution', 'Some customers have found their anti-virus product a contributing factor.'),
    'PORT_HELD_BY_OTHER': ('Resolution', 'Verify that no other service or application is using port 25 of the proxy server.'),
    'MAIL_SERVICE_NOT_RUNNING': ('Symptoms', 'The Microsoft Exchange Internet Mail Service may fail to start.'),
    'MAIL_SERVICE_MISSING': ('Symptoms', 'The Microsoft Exchange Internet Mail Service may fail to start.'),
    'BIND_FAILURE_EVENTS': ('Symptoms', '4007: The following error occurred while trying to bind the TCP/IP listener socket. 10048. '
                            '4020: Unable to start the service because WinSock could not be initialized.'),
    'PORT_FREE': ('Cause', 'This usually indicates another service is already bound to port 25.'),
}

_CONTROL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]')


def printable(value) -> str:
    """Text safe for XML 1.0 and for display: control characters become visible \\xNN / \\uNNNN escapes."""
    def escape(match):
        code = ord(match.group(0))
        return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code
    return _CONTROL.sub(escape, '' if value is None else str(value))


def plain(value):
    """Deep copy into JSON types (hostvars hand out lazy mappings and tagged strings)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def _state_verdict(state) -> str:
    compliant = state.get('compliant') if isinstance(state, dict) else None
    if compliant is True:
        return 'compliant'
    if compliant is False:
        return 'noncompliant'
    return 'unknown'


def _state(state) -> dict:
    state = state if isinstance(state, dict) else {}
    out = {
        'verdict': _state_verdict(state),
        'compliant': state.get('compliant') if isinstance(state.get('compliant'), bool) else None,
        'owner': state.get('owner'),
        'findings': state.get('findings') or [],
        'smtp_service': state.get('smtp_service'),
        'mail_service': state.get('mail_service'),
    }
    # Every port's owner, verdict and greeting, the remote bind and the port host, where the record has them.
    out.update((key, state[key]) for key in ('ports', 'greeting', 'remote_bind', 'port_host') if key in state)
    return out


def _action(action) -> dict:
    """Keep every recorded field (rollback reads them); guarantee the documented ones exist."""
    action = dict(action) if isinstance(action, dict) else {'action': action}
    for key in ('action', 'service', 'before', 'after', 'changed'):
        action.setdefault(key, None)
    for key in ('before', 'after'):
        if isinstance(action[key], dict):
            action[key].setdefault('state', None)
            action[key].setdefault('start_mode', None)
    return action


def host_entry(host: str, result, left_play: bool = False, pending: bool = False) -> dict:
    """One host of the report from its bind_conflict_result (None when it never recorded one).

    ``pending``: the host is still in the play but has no record yet (a later batch of a rolling run): not run yet.
    """
    result = plain(result) if isinstance(result, Mapping) else None
    if result is None and pending:
        return dict(host_entry(host, {'compliant': False}), status='not_run', verdict='not_run', compliant=None, error=None)
    if result is None:
        error = NO_RESULT_ERROR
        result = {}
    else:
        # A record whose own task failed explains why the host left the play; only a later failure is unexplained.
        error = result.get('error') or (LEFT_PLAY_ERROR if left_play and result.get('failed') is not True else None)
        if not error and result.get('failed') is True and 'error' not in result:
            # A task that failed before it built a record (a template error in its arguments) says why in msg; a record
            # (it has an error field) that failed the task only as a gate (fail_on_noncompliant) keeps its verdict.
            error = result.get('msg') or 'the task failed without a message'
        elif error and not isinstance(error, str):
            error = (error.get('message') if isinstance(error, dict) else None) or result.get('msg') or error
    before = _state(result.get('before'))
    after = _state(result.get('after'))
    compliant = result.get('compliant') if isinstance(result.get('compliant'), bool) else None
    if error:
        verdict = 'failed'
    elif compliant is None:
        # A result without a verdict is not evidence of compliance.
        verdict, error = 'failed', 'the recorded result has no compliance verdict'
    else:
        verdict = 'compliant' if compliant else 'noncompliant'
    findings = result.get('findings')
    entry = {
        'report_format': REPORT_FORMAT,
        'host': host,
        'status': 'failed' if verdict == 'failed' else 'ok',
        'verdict': verdict,
        'error': str(error) if error else None,
        'profile': result.get('profile'),
        'check_mode': result.get('check_mode') if isinstance(result.get('check_mode'), bool) else None,
        'changed': bool(result.get('changed')),
        'compliant': compliant,
        'before': before,
        'after': after,
        'findings': findings if isinstance(findings, list) else after['findings'],
        'actions': [_action(a) for a in result.get('actions') or []],
        'flags': result.get('flags') or [],
    }
    if result.get('port_host'):
        entry['port_host'] = result['port_host']   # the other host the record covers (KB Q222553's proxy server)
    return entry


def summarize(hosts: list) -> dict:
    summary = {'hosts': len(hosts)}
    for verdict in VERDICTS:
        summary[verdict] = sum(1 for h in hosts if h['verdict'] == verdict)
    summary['changed'] = sum(1 for h in hosts if h['changed'])
    summary['flagged'] = sum(1 for h in hosts if h['flags'])
    summary['actions'] = sum(1 for h in hosts for a in h['actions'] if a.get('changed'))
    # Check-mode runs record the actions they would take with changed=false.
    summary['predicted'] = sum(len(h['actions']) for h in hosts if h['check_mode'])
    for when in ('before', 'after'):
        summary[when] = {v: sum(1 for h in hosts if h[when]['verdict'] == v) for v in STATE_VERDICTS}
    return summary


def run_mode(hosts: list) -> str:
    modes = {h['check_mode'] for h in hosts if h['check_mode'] is not None}
    if not modes:
        return 'unknown'
    if len(modes) == 2:
        return 'mixed'
    return 'check' if modes.pop() else 'apply'


def build_report(results: dict, hosts: list, generated: str, title: str = DEFAULT_TITLE, version: str = 'unknown',
                 left_play=(), pending=()) -> dict:
    """The report data model. results: host -> bind_conflict_result or None; left_play: hosts that dropped out;
    pending: hosts still in the play (a result missing there means not run yet)."""
    entries = []
    seen = set()
    for host in hosts:
        host = str(host)
        if host in seen:
            continue
        seen.add(host)
        entries.append(host_entry(host, results.get(host), host in left_play, host in pending))
    return {
        'report_format': REPORT_FORMAT,
        'title': str(title),
        'generated': str(generated),
        'collection': {'name': COLLECTION, 'version': str(version)},
        'mode': run_mode(entries),
        'summary': summarize(entries),
        'hosts': entries,
    }


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False) + '\n'


# ---------------------------------------------------------------- JUnit XML

def _findings_text(findings) -> str:
    lines = []
    for finding in findings or []:
        if isinstance(finding, dict):
            lines.append('[%s] %s: %s' % (finding.get('severity'), finding.get('code'), finding.get('message')))
    return '\n'.join(lines)


def _action_text(action: dict, predicted: bool) -> str:
    if predicted:
        note = ' (predicted, check mode)'
    else:
        note = '' if action.get('changed') else ' (no change)'
    return '%s %s: %s -> %s%s' % (action.get('action'), action.get('service'), _state_text(action.get('before')),
                                  _state_text(action.get('after')), note)


def _state_text(state) -> str:
    if not isinstance(state, dict):
        return '-'
    return '%s/%s' % (state.get('state') or '-', state.get('start_mode') or '-')


def render_junit(report: dict) -> str:
    """JUnit XML: one testcase per host; failure = non-compliant, error = the host failed."""
    summary = report['summary']
    attrs = {'name': printable(report['title']), 'tests': str(summary['hosts']),
             'failures': str(summary['noncompliant']), 'errors': str(summary['failed']), 'skipped': str(summary['not_run']),
             'time': '0'}
    suites = ET.Element('testsuites', attrs)
    suite = ET.SubElement(suites, 'testsuite', dict(attrs, timestamp=printable(report['generated']),
                                                    hostname='localhost'))
    props = ET.SubElement(suite, 'properties')
    for name, value in (('collection', report['collection']['name']), ('collection_version', report['collection']['version']),
                        ('mode', report['mode'])):
        ET.SubElement(props, 'property', {'name': name, 'value': printable(value)})
    for host in report['hosts']:
        case = ET.SubElement(suite, 'testcase', {'name': printable(host['host']),
                                                 'classname': '%s.%s' % (COLLECTION, printable(host['profile'] or 'unknown')),
                                                 'time': '0'})
        errors = [f for f in host['findings'] if isinstance(f, dict) and f.get('severity') == 'error']
        if host['verdict'] == 'not_run':
            ET.SubElement(case, 'skipped', {'message': NOT_RUN_YET})
        elif host['verdict'] == 'failed':
            node = ET.SubElement(case, 'error', {'message': printable(host['error']), 'type': 'host_failed'})
            node.text = printable(host['error'])
        elif host['verdict'] == 'noncompliant':
            message = '; '.join(str(f.get('code')) for f in errors) or 'non-compliant'
            node = ET.SubElement(case, 'failure', {'message': printable(message), 'type': 'noncompliant'})
            details = [_findings_text(host['findings']), _flags_text(host['flags'])]
            node.text = printable('\n'.join(text for text in details if text))
        out = ['verdict before: %s, after: %s' % (host['before']['verdict'], host['after']['verdict'])]
        out.extend(_action_text(a, bool(host['check_mode'])) for a in host['actions'])
        ET.SubElement(case, 'system-out').text = printable('\n'.join(out))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding='unicode') + '\n'


def _flags_text(flags) -> str:
    return '\n'.join('FLAG %s: %s %s' % (f.get('code'), f.get('message'), f.get('advice') or '')
                     for f in flags or [] if isinstance(f, dict))


# ---------------------------------------------------------------- HTML

def esc(value) -> str:
    return html.escape(printable(value), quote=True)


OWNER_KIND = {'mail_service': 'mail service', 'smtp_service': 'SMTP service', 'antivirus': 'antivirus', 'other': 'other program'}
VERDICT_LABEL = {'compliant': 'Compliant', 'noncompliant': 'Non-compliant', 'failed': 'Failed', 'unknown': 'Unknown',
                 'not_run': 'Not run yet'}

CSS = """
:root{--ok:#1b7f3b;--bad:#c0392b;--fail:#6c5b7b;--unk:#9aa0a6;--ink:#1f2328;--mute:#5f6670;--line:#d8dee4;--bg:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#24292f;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#c9d1d9;font-size:13px}
main{padding:20px 32px;max-width:1400px}
h2{font-size:17px;margin:28px 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid var(--line);border-left:6px solid var(--unk);border-radius:6px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:28px;line-height:1.1}
.card span{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.compliant{border-left-color:var(--ok)}.card.noncompliant{border-left-color:var(--bad)}.card.failed{border-left-color:var(--fail)}
.card.changed{border-left-color:#0969da}.card.flagged{border-left-color:#bf8700}
.panel{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 16px}
.chart text{font-size:13px;fill:var(--ink)}
.chart .n{fill:#fff;font-weight:600}
.legend{display:flex;gap:16px;margin-top:6px;color:var(--mute);font-size:12px}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.sw.compliant,.seg.compliant{background:var(--ok);fill:var(--ok)}
.sw.noncompliant,.seg.noncompliant{background:var(--bad);fill:var(--bad)}
.sw.failed,.seg.failed{background:var(--fail);fill:var(--fail)}
.sw.unknown,.seg.unknown{background:var(--unk);fill:var(--unk)}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#eef1f4;position:sticky;top:0;white-space:nowrap}
th button{all:unset;cursor:pointer;font-weight:600}
th button::after{content:" \\2195";color:var(--unk)}
th[aria-sort=ascending] button::after{content:" \\2191";color:var(--ink)}
th[aria-sort=descending] button::after{content:" \\2193";color:var(--ink)}
tbody tr:hover{background:#f3f6fa}
td.host{min-width:14em;max-width:20em;overflow-wrap:anywhere}
td.host a{color:#0969da;text-decoration:none;font-weight:600}
td.wrap{overflow-wrap:break-word;min-width:12em;max-width:28em}
.arrow{color:var(--mute);margin:0 4px}
td.nowrap{white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--unk);white-space:nowrap}
.badge.not_run{background:var(--unk)}.badge.compliant{background:var(--ok)}.badge.noncompliant{background:var(--bad)}.badge.failed{background:var(--fail)}
.sev{display:inline-block;min-width:58px;font-size:11px;font-weight:700;text-transform:uppercase}
.sev.error{color:var(--bad)}.sev.warning{color:#9a6700}.sev.info{color:var(--mute)}
.err{color:var(--bad)}
.muted{color:var(--mute)}
#filter{padding:6px 10px;border:1px solid var(--line);border-radius:6px;width:280px;margin:0 0 8px}
details.host{background:#fff;border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:0 14px}
details.host>summary{cursor:pointer;padding:10px 0;font-weight:600}
details.host>summary .badge{margin-right:8px}
details.host h4{margin:12px 0 4px;font-size:13px;color:var(--mute);text-transform:uppercase;letter-spacing:.04em}
details.host ul{margin:0;padding-left:18px}
details.host li{margin:4px 0}
.kb{display:block;color:var(--mute);font-size:12px;border-left:3px solid var(--line);padding-left:8px;margin-top:2px}
.flag{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 10px;margin:6px 0}
table.actions{margin:4px 0 12px}
table.actions td,table.actions th{padding:4px 8px}
code{font:12px ui-monospace,SFMono-Regular,Consolas,monospace;background:#eef1f4;padding:0 4px;border-radius:3px}
footer{color:var(--mute);font-size:12px;padding:10px 32px 30px}
"""

SCRIPT = """
(function () {
  var table = document.getElementById('hosts');
  var body = table.tBodies[0];
  function key(row, i) {
    var cell = row.cells[i];
    return cell.getAttribute('data-sort') || cell.textContent.trim();
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.querySelector('button').addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, i), y = key(b, i), nx = Number(x), ny = Number(y);
        var c = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, undefined, {numeric: true});
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  var filter = document.getElementById('filter');
  filter.hidden = false;
  filter.addEventListener('input', function () {
    var q = filter.value.toLowerCase();
    Array.prototype.forEach.call(body.rows, function (r) {
      r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode('utf-8')).digest()).decode('ascii')


def _badge(verdict: str) -> str:
    return '<span class="badge %s">%s</span>' % (esc(verdict), esc(VERDICT_LABEL.get(verdict, verdict)))


def _owner_text(owner) -> str:
    if not isinstance(owner, dict) or not owner.get('kind'):
        return '-'
    if owner.get('kind') == 'none':
        return 'nobody (port free)'
    parts = [str(owner.get('process') or 'pid %s' % owner.get('pid'))]
    if owner.get('services'):
        parts.append('(%s)' % ', '.join(str(s) for s in owner['services']))
    product = owner.get('product')
    if isinstance(product, dict) and product.get('product'):
        parts.append('- %s %s' % (product.get('vendor') or '', product.get('product')))
    return '%s: %s' % (OWNER_KIND.get(owner['kind'], owner['kind']), ' '.join(parts))


def _service_text(service) -> str:
    if not isinstance(service, dict) or not service.get('name'):
        return '-'
    if service.get('exists') is False:
        return '%s (not installed)' % service['name']
    return '%s %s/%s' % (service['name'], service.get('state') or '-', service.get('start_mode') or '-')


def _chart(summary: dict) -> str:
    """Two stacked bars (before, after) of host verdicts, drawn as inline SVG."""
    width, left, bar_h, gap, top = 1000, 60, 30, 14, 6
    total = max(summary['hosts'], 1)
    rows = [('Before', [(v, summary['before'][v]) for v in STATE_VERDICTS]),
            ('After', [('compliant', summary['compliant']), ('noncompliant', summary['noncompliant']),
                       ('failed', summary['failed'])])]
    height = top + len(rows) * (bar_h + gap)
    out = ['<svg class="chart" role="img" aria-label="Host verdicts before and after the run" viewBox="0 0 %d %d" '
           'width="100%%" height="%d" preserveAspectRatio="xMinYMid meet" xmlns="http://www.w3.org/2000/svg">'
           % (width, height, height)]
    for index, (label, segments) in enumerate(rows):
        y = top + index * (bar_h + gap)
        out.append('<text x="0" y="%d">%s</text>' % (y + bar_h // 2 + 5, label))
        x = float(left)
        span = width - left
        if summary['hosts'] == 0:
            out.append('<rect class="seg unknown" x="%d" y="%d" width="%d" height="%d" rx="3"/>' % (left, y, span, bar_h))
        for verdict, count in segments:
            if not count:
                continue
            w = span * count / total
            out.append('<rect class="seg %s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s %s: %d</title></rect>'
                       % (verdict, x, y, w, bar_h, label, VERDICT_LABEL[verdict], count))
            if w >= 24:
                out.append('<text class="n" x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x + w / 2, y + bar_h // 2 + 5, count))
            x += w
    out.append('</svg>')
    legend = ''.join('<span><i class="sw %s"></i>%s</span>' % (v, VERDICT_LABEL[v]) for v in ('compliant', 'noncompliant', 'failed', 'unknown'))
    return ''.join(out) + '<div class="legend">%s</div>' % legend


def _finding_html(finding) -> str:
    if not isinstance(finding, dict):
        return '<li>%s</li>' % esc(finding)
    code = finding.get('code')
    kb = KB_TEXT.get(code)
    section = finding.get('kb_section') or (kb[0] if kb else None)
    reference = ''
    if section:
        quote = ' &ldquo;%s&rdquo;' % esc(kb[1]) if kb else ''
        reference = '<span class="kb">KB %s%s</span>' % (esc('Q222553 \u00a7 %s' % section), quote)
    return ('<li><span class="sev %s">%s</span> <code>%s</code> %s%s</li>'
            % (esc(finding.get('severity')), esc(finding.get('severity')), esc(code), esc(finding.get('message')), reference))


def _actions_html(host: dict) -> str:
    if not host['actions']:
        return '<p class="muted">No actions.</p>'
    rows = []
    for action in host['actions']:
        if host['check_mode']:
            result = 'predicted, not made (check mode)'
        else:
            result = 'changed' if action.get('changed') else 'no change'
        rows.append('<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>'
                    % (esc(action.get('action')), esc(action.get('service')), esc(_state_text(action.get('before'))),
                       esc(_state_text(action.get('after'))), esc(result)))
    return ('<table class="actions"><thead><tr><th>Action</th><th>Service</th><th>Before (state/start mode)</th>'
            '<th>After</th><th>Result</th></tr></thead><tbody>%s</tbody></table>' % ''.join(rows))


def _host_details(index: int, host: dict) -> str:
    interesting = host['verdict'] != 'compliant' or host['changed'] or host['flags']
    parts = ['<details class="host" id="host-%d"%s><summary>%s%s</summary>'
             % (index, ' open' if interesting else '', _badge(host['verdict']), esc(host['host']))]
    if host['error']:
        parts.append('<p class="err"><b>Error:</b> %s</p>' % esc(host['error']))
    parts.append('<p>Profile <code>%s</code> &middot; before: %s &middot; after: %s &middot; port 25 owner before: %s'
                 ' &middot; after: %s</p>'
                 % (esc(host['profile'] or 'unknown'), _badge(host['before']['verdict']), _badge(host['after']['verdict']),
                    esc(_owner_text(host['before']['owner'])), esc(_owner_text(host['after']['owner']))))
    for flag in host['flags']:
        if isinstance(flag, dict):
            parts.append('<div class="flag"><b>%s</b> %s<br><span class="muted">Advice:</span> %s</div>'
                         % (esc(flag.get('code')), esc(flag.get('message')), esc(flag.get('advice'))))
    before = host['before']['findings']
    if before and before != host['findings']:
        parts.append('<h4>Findings before the run</h4><ul>%s</ul>' % ''.join(_finding_html(f) for f in before))
        parts.append('<h4>Findings after the run</h4>')
    else:
        parts.append('<h4>Findings</h4>')
    if host['findings']:
        parts.append('<ul>%s</ul>' % ''.join(_finding_html(f) for f in host['findings']))
    else:
        parts.append('<p class="muted">None.</p>' if host['after']['verdict'] != 'unknown' else '<p class="muted">Not recorded.</p>')
    parts.append('<h4>Actions%s</h4>%s</details>' % (' (predicted, check mode)' if host['check_mode'] else '', _actions_html(host)))
    return ''.join(parts)


def _host_row(index: int, host: dict) -> str:
    rank = {'failed': 0, 'noncompliant': 1, 'compliant': 2, 'unknown': 3, 'not_run': 4}
    if host['check_mode']:
        changed = len(host['actions'])
        changes = '%d predicted' % changed if changed else '0'
    else:
        changed = sum(1 for a in host['actions'] if a.get('changed'))
        changes = str(changed)
    codes = [f.get('code') for f in host['findings'] if isinstance(f, dict) and f.get('severity') == 'error']
    note = '<span class="err">%s</span>' % esc(host['error']) if host['error'] else '<br>'.join(esc(c) for c in codes) or '-'
    flags = '<br>'.join(esc(f.get('code')) for f in host['flags'] if isinstance(f, dict)) or '-'
    cells = [
        ('host', esc(host['host']), '<a href="#host-%d">%s</a>' % (index, esc(host['host']))),
        # The final verdict sorts first; a failed host shows "Failed" rather than an unknown after-state.
        ('nowrap', rank[host['verdict']] * 10 + rank[host['before']['verdict']],
         '%s<span class="arrow">&rarr;</span>%s' % (_badge(host['before']['verdict']), _badge(host['verdict']))),
        ('', None, esc(host['profile'] or '-')),
        ('wrap', None, esc(_owner_text(host['after']['owner'] or host['before']['owner']))),
        ('', changed, changes),
        ('', len(host['flags']), flags),
        ('wrap', None, note),
    ]
    return '<tr>%s</tr>' % ''.join('<td%s%s>%s</td>' % (' class="%s"' % cls if cls else '',
                                                        ' data-sort="%s"' % key if key is not None else '', html_)
                                   for cls, key, html_ in cells)


def render_html(report: dict) -> str:
    """A self-contained page: inline CSS, SVG and script (allowed by hash in the CSP), every text escaped."""
    summary = report['summary']
    mode = {'check': 'check mode (nothing changed)', 'apply': 'changes applied', 'mixed': 'mixed check and apply',
            'unknown': 'mode unknown'}[report['mode']]
    cards = [('hosts', 'Hosts', summary['hosts']), ('compliant', 'Compliant', summary['compliant']),
             ('noncompliant', 'Non-compliant', summary['noncompliant']), ('failed', 'Failed', summary['failed']),
             ('changed', 'Hosts to change' if report['mode'] == 'check' else 'Hosts changed', summary['changed']),
             ('flagged', 'Flagged for review', summary['flagged'])]
    if summary['not_run']:
        cards.insert(4, ('not_run', 'Not run yet', summary['not_run']))
    csp = ("default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'"
           % (_csp_hash(CSS), _csp_hash(SCRIPT)))
    head = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="%s">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="generator" content="%s %s">'
            '<title>%s</title><style>%s</style></head><body>'
            % (esc(csp), esc(COLLECTION), esc(report['collection']['version']), esc(report['title']), CSS))
    body = ['<header><h1>%s</h1><p>Generated %s &middot; %s &middot; %s %s</p></header><main>'
            % (esc(report['title']), esc(report['generated']), esc(mode), esc(COLLECTION), esc(report['collection']['version']))]
    body.append('<section class="cards">%s</section>' % ''.join(
        '<div class="card %s"><b>%d</b><span>%s</span></div>' % (cls, count, label) for cls, label, count in cards))
    body.append('<h2>Verdicts</h2><div class="panel">%s</div>' % _chart(summary))
    body.append('<h2>Hosts</h2><input id="filter" type="search" placeholder="Filter hosts, owners, errors" '
                'aria-label="Filter hosts" hidden>')
    headers = ['Host', 'Verdict (before \u2192 after)', 'Profile', 'Port 25 owner', 'Changes', 'Flags', 'Error / findings']
    body.append('<div class="scroll"><table id="hosts"><thead><tr>%s</tr></thead><tbody>%s</tbody></table></div>' % (
        ''.join('<th scope="col"><button type="button">%s</button></th>' % h for h in headers),
        ''.join(_host_row(i, h) for i, h in enumerate(report['hosts']))))
    body.append('<h2>Host details</h2>')
    body.extend(_host_details(i, h) for i, h in enumerate(report['hosts']))
    body.append('</main><footer>KB Q222553: XFOR: IMC Events 4020, 4007 with Error 10048. '
                'The JSON report next to this page is the record that rollback reads.</footer>')
    body.append('<script>%s</script></body></html>\n' % SCRIPT)
    return head + ''.join(body)


# ---------------------------------------------------------------- Ansible glue

def collection_version() -> str:
    """Version of the installed collection (MANIFEST.json) or of the source tree (galaxy.yml)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, 'MANIFEST.json'), encoding='utf-8') as handle:
            return str(json.load(handle)['collection_info']['version'])
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
            for line in handle:
                match = re.match(r'^version:\s*["\']?([^"\'\s#]+)', line)
                if match:
                    return match.group(1)
    except OSError:
        pass
    return 'unknown'


RENDERERS = {'data': lambda report: report, 'json': render_json, 'html': render_html, 'junit': render_junit}


def _host_result(hostvars, host: str):
    """The host's bind_conflict_result, None when it has none, or an error entry for a host not in the inventory."""
    try:
        if host not in hostvars:
            return {'error': NOT_IN_INVENTORY}
    except TypeError:
        pass
    # Ansible's HostVars templates a whole value on item access (about 2 ms per host in ansible-core 2.19); raw_get()
    # hands out the fact as recorded, which is all the report needs, and never evaluates text from a host.
    raw_get = getattr(hostvars, 'raw_get', None)
    try:
        result = (raw_get(host) if callable(raw_get) else hostvars[host]).get('bind_conflict_result')
    except (KeyError, AttributeError):
        return None
    # Anything else (an undefined value, a string) is not a recorded result.
    return result if isinstance(result, Mapping) else None


def fleet_report(hosts, hostvars, generated, title=DEFAULT_TITLE, play_hosts=None, active_hosts=None) -> dict:
    """The report data model read from hostvars (the filter with output=data, and the report_write action)."""
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('port25_report: the input must be a list of host names, got %s' % type(hosts).__name__)
    if not isinstance(hostvars, Mapping) and not hasattr(hostvars, '__getitem__'):
        raise AnsibleFilterError('port25_report: hostvars must be the hostvars mapping, got %s' % type(hostvars).__name__)
    if not generated or not isinstance(generated, str):
        raise AnsibleFilterError('port25_report: generated (the report time, ISO 8601 UTC) is required')
    hosts = [str(h) for h in hosts]
    played = set(str(h) for h in play_hosts or [])
    active = set(str(h) for h in active_hosts or [])
    left_play = played - active if active_hosts is not None and play_hosts is not None else set()
    pending = active if active_hosts is not None and play_hosts is not None else set()
    results = {h: _host_result(hostvars, h) for h in hosts}
    return build_report(results, hosts, generated, title or DEFAULT_TITLE, collection_version(), left_play, pending)


def port25_report(hosts, hostvars, output='data', generated=None, title=DEFAULT_TITLE, play_hosts=None, active_hosts=None):
    """Filter entry point: see DOCUMENTATION."""
    if output not in OUTPUTS:
        raise AnsibleFilterError('port25_report: output must be one of %s, got %r' % (', '.join(OUTPUTS), output))
    report = fleet_report(hosts, hostvars, generated, title, play_hosts, active_hosts)
    return wrap_var(RENDERERS[output](report))


class FilterModule:
    """mailops.port25 report filter."""

    def filters(self):
        return {'port25_report': port25_report}
