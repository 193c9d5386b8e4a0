# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as JUnit XML (ElementTree): one test case per host.

A non-compliant host is a failure, a failed host an error, a host not run yet or waived is skipped. Each case's
time is the time the host's record took; the suite's time is their sum. A failure's message names each error code with
the port (and port host) it is about, its text starts with the ports in conflict; the case's output lists every port
with its expected and actual owner and verdict, and the actions with the host they were made on.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ansible_collections.mailops.port25.plugins.module_utils.text import printable, printable_data
from ansible_collections.mailops.port25.plugins.plugin_utils.report import model, ports

NOT_RUN_YET = 'not run yet'
# Characters XML 1.0 cannot carry at all and that printable() leaves alone (surrogates, U+FFFE, U+FFFF).
_NOT_XML = re.compile('[\ud800-\udfff\ufffe\uffff]')


def xml_text(value) -> str:
    text = printable('' if value is None else str(value))
    return _NOT_XML.sub(lambda m: '\\u%04x' % ord(m.group()), text)


def state_text(state) -> str:
    if not isinstance(state, dict):
        return '-'
    return '%s/%s' % (state.get('state') or '-', state.get('start_mode') or '-')


def action_text(action: dict, predicted: bool) -> str:
    if predicted:
        note = ' (predicted, check mode)'
    else:
        note = '' if action.get('changed') else ' (no change)'
    return '%s %s: %s -> %s%s' % (action.get('action'), ports.action_service(action), state_text(action.get('before')),
                                  state_text(action.get('after')), note)


def waiver_text(waiver) -> str:
    state = 'EXPIRED on' if waiver['expired'] else 'until'
    return 'waived %s %s by %s: %s' % (state, waiver['expires'], waiver['by'], waiver['reason'])


def _finding_line(finding) -> str:
    line = '[%s] %s: %s' % (finding.get('severity'), finding.get('code'), finding.get('message') or '')
    if isinstance(finding.get('waiver'), dict):
        line += ' (%s)' % waiver_text(finding['waiver'])
    return line


def port_line(row) -> str:
    """``port 2525 (expected MSExchangeTransport): Conflict - SMTP service: inetinfo.exe ...; greeting "220 ..." (...)``"""
    verdict = ports.verdict_text(row['verdict'])
    line = 'port %s (expected %s): %s - %s' % (row['where'], row['expected'], verdict, row['owner'])
    if row['before']:
        line += ' (before: %s - %s)' % (row['before']['label'], row['before']['owner'])
    if row['greeting']:
        text, note, _matches = row['greeting']
        line += '; greeting %s(%s)' % ('"%s" ' % text if text is not None else '', note)
    return line


def _seconds(value) -> str:
    return '%.3f' % (value or 0)


def _case(suite, host):
    host = printable_data(host)
    case = ET.SubElement(suite, 'testcase', {'name': xml_text(host['host']),
                                             'classname': '%s.%s' % (model.COLLECTION, xml_text(host['profile'] or 'unknown')),
                                             'time': _seconds(host.get('duration'))})
    findings = [f for f in host['findings'] if isinstance(f, dict)]
    errors = [f for f in findings if f.get('severity') == 'error']
    details = '\n'.join(['CONFLICT %s' % text for text in ports.conflicts(host)] + [_finding_line(f) for f in findings] + [
        'FLAG %s: %s %s' % (f.get('code'), f.get('message') or '', f.get('advice') or '') for f in host['flags']])
    if host['verdict'] == 'not_run':
        ET.SubElement(case, 'skipped', {'message': NOT_RUN_YET})
    elif host['verdict'] == 'failed':
        node = ET.SubElement(case, 'error', {'message': xml_text(host['error']), 'type': 'host_failed'})
        node.text = xml_text(host['error'])
    elif host['verdict'] == 'noncompliant' and host.get('waived'):
        waivers = sorted({waiver_text(f['waiver']) for f in errors if isinstance(f.get('waiver'), dict)})
        node = ET.SubElement(case, 'skipped', {'message': xml_text('waived: %s' % '; '.join(waivers))})
        node.text = xml_text(details)
    elif host['verdict'] == 'noncompliant':
        codes = ['%s (waiver expired %s)' % (ports.code_text(f, host), f['waiver']['expires'])
                 if isinstance(f.get('waiver'), dict) and f['waiver']['expired'] else ports.code_text(f, host)
                 for f in errors if not (isinstance(f.get('waiver'), dict) and not f['waiver']['expired'])]
        node = ET.SubElement(case, 'failure', {'message': xml_text('; '.join(codes) or 'non-compliant'), 'type': 'noncompliant'})
        node.text = xml_text(details)
    out = ['verdict before: %s, after: %s' % (host['before']['verdict'], host['after']['verdict'])]
    if host.get('port_host'):
        out.append('port host: %s' % host['port_host'])
    out.extend(port_line(row) for row in ports.rows(host))
    out.extend(action_text(a, bool(host['check_mode'])) for a in host['actions'])
    ET.SubElement(case, 'system-out').text = xml_text('\n'.join(out))


def render(report: dict) -> str:
    summary = report['summary']
    total = sum(h.get('duration') or 0 for h in report['hosts'])
    attrs = {'name': xml_text(report['title']), 'tests': str(summary['hosts']), 'failures': str(summary['gate_failed']),
             'errors': str(summary['failed']), 'skipped': str(summary['not_run'] + summary['waived']), 'time': _seconds(total)}
    suites = ET.Element('testsuites', attrs)
    suite = ET.SubElement(suites, 'testsuite', dict(attrs, timestamp=xml_text(report['generated']), hostname='localhost'))
    props = ET.SubElement(suite, 'properties')
    run = report.get('run') or {}
    slice_ = run.get('slice') or {}
    for name, value in (('collection', report['collection']['name']), ('collection_version', report['collection']['version']),
                        ('mode', report['mode']), ('run_id', run.get('id')),
                        ('slice', '%s/%s' % (slice_['number'], slice_['count']) if slice_ else None),
                        ('pieces', len(report['merge']['pieces']) if report.get('merge') else None)):
        if value is not None:
            ET.SubElement(props, 'property', {'name': name, 'value': xml_text(value)})
    for host in report['hosts']:
        _case(suite, host)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding='unicode') + '\n'
