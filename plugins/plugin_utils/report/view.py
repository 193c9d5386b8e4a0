# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The view model of the HTML page: what a person reads first, in which order, and what is open.

Everything the page shows is decided here, in plain data: the summary cards, the chart, what changed since the
previous run, the waivers, the pieces of a merge, the hosts grouped by finding code, and the host rows sorted worst
first with their details (the page's script renders the rows a page at a time from this data). Every string that
came from a host goes through ``printable`` first. Findings are rendered generically: a new finding code needs no
change here or in the template.
"""

from __future__ import annotations

import re

from ansible_collections.mailops.port25.plugins.module_utils.text import printable, printable_data
from ansible_collections.mailops.port25.plugins.plugin_utils.report import junit, ports
from ansible_collections.mailops.port25.plugins.plugin_utils.report.ports import owner_text

# Up to this many hosts, the details of the hosts that need attention are open when the page loads.
SMALL_FLEET = 10
PAGE_SIZE = 50
# Host names listed under each finding code and in each "changed since" group before "and N more".
SAMPLE = 12
SEVERITY_RANK = {'error': 0, 'warning': 1, 'info': 2}
# Worst first: what a person must act on, then what is accepted, then what is fine.
RANK = {'failed': 0, 'noncompliant': 1, 'waived': 2, 'not_run': 3, 'compliant': 4}
VERDICT_LABEL = {'compliant': 'Compliant', 'noncompliant': 'Non-compliant', 'failed': 'Failed', 'unknown': 'Unknown',
                 'not_run': 'Not run yet', 'waived': 'Waived'}
MODE_LABEL = {'check': 'check mode: nothing was changed', 'apply': 'changes applied', 'mixed': 'mixed check and apply',
              'unknown': 'mode unknown'}
KB_DOC = 'kb-q222553.md'
# What KB Q222553 says for a finding, quoted next to it. The KB is about Exchange 5.5's Internet Mail Service: the
# quotes naming that service or its events 4007/4020 are shown only for the exchange55 profile.
KB_QUOTE = {
    'PORT_HELD_BY_SMTP_SERVICE': (None, 'Verify that the Windows NT SMTP service is not running on the proxy server. The SMTP '
                                        'service will grab and bind to port 25, preventing Exchange Server from using the port.'),
    'SMTP_SERVICE_ENABLED': (None, 'Verify that the Windows NT SMTP service is not running on the proxy server.'),
    'PORT_HELD_BY_ANTIVIRUS': (None, 'Some customers have found their anti-virus product a contributing factor. Disable the '
                                     'anti-virus product on the proxy server and attempt to start the service. If this works, '
                                     'please contact the anti-virus vendor for further assistance.'),
    'ANTIVIRUS_PRESENT': (None, 'Some customers have found their anti-virus product a contributing factor.'),
    'PORT_HELD_BY_OTHER': (None, 'Verify that no other service or application is using port 25 of the proxy server.'),
    'PORT_FREE': (None, 'This usually indicates another service is already bound to port 25.'),
    'MAIL_SERVICE_NOT_RUNNING': ('exchange55', 'The Microsoft Exchange Internet Mail Service may fail to start.'),
    'MAIL_SERVICE_MISSING': ('exchange55', 'The Microsoft Exchange Internet Mail Service may fail to start.'),
    'BIND_FAILURE_EVENTS': ('exchange55', '4007: The following error occurred while trying to bind the TCP/IP listener '
                                          'socket. 10048. 4020: Unable to start the service because WinSock could not be '
                                          'initialized.'),
}


class Strings:
    """A string table: each distinct string once in the page's data, rows refer to it by index.

    Every string of a host row but the host's name passes through here, so this is where host text is made
    printable: once per distinct string.
    """

    def __init__(self):
        self.items = []
        self._index = {}

    def __call__(self, value):
        if value is None:
            return -1
        value = str(value)
        index = self._index.get(value)
        if index is None:
            index = self._index[value] = len(self.items)
            self.items.append(printable(value))
        return index


def kb_anchor(section):
    """The heading of the KB mapping page a finding's KB section is explained under."""
    word = str(section or '').split(' ', 1)[0].lower()
    return word if word in ('symptoms', 'cause', 'resolution') else None


def cause_first(error, host):
    """(cause, context) of an error: the message without the host name, its last part (the cause) first.

    Errors read "host: operation: ...: cause"; a person wants the cause, then where it happened.
    """
    if not error:
        return None, None
    text = str(error)
    if text.startswith(host + ': '):
        text = text[len(host) + 2:]
    parts = text.split(': ')
    if len(parts) < 2:
        return text, None
    return parts[-1], ': '.join(parts[:-1])


def display_verdict(host) -> str:
    return 'waived' if host['verdict'] == 'noncompliant' and host.get('waived') else host['verdict']


def predicted_verdict(host) -> str:
    """What a check-mode host would be after the real run: compliant when the plan changes it and leaves nothing
    for a person (no flag, no error); otherwise as it is."""
    if host['verdict'] == 'noncompliant' and host['actions'] and not host['flags'] and not host['error']:
        return 'compliant'
    return {'not_run': 'unknown', 'failed': 'failed'}.get(host['verdict'], host['verdict'])


def review_flags(host):
    return [] if host['verdict'] == 'compliant' else host['flags']


def _errors(host):
    return [f for f in host['findings'] if isinstance(f, dict) and f.get('severity') == 'error']


def sort_key(host):
    """Worst first: failed, non-compliant (most error findings first), waived, not run, compliant; then by name."""
    return (RANK[display_verdict(host)], -len(_errors(host)), -len(review_flags(host)), _natural(host['host']))


def _natural(name):
    return [(0, int(part), '') if part.isdigit() else (1, 0, part.lower()) for part in re.split(r'(\d+)', name)]


def is_open(host, small):
    """A host's details are open when the page loads only in a small fleet, and only when the host needs a look."""
    return small and (host['verdict'] != 'compliant' or host['changed'] or bool(review_flags(host)))


def _change_text(host):
    if host['check_mode']:
        count = len(host['actions'])
        return count, ('%d predicted' % count if count else '0')
    count = sum(1 for a in host['actions'] if a.get('changed'))
    return count, str(count)


def _findings(findings, profile, strings):
    out = []
    for finding in findings:
        if not isinstance(finding, dict):
            out.append([strings('info'), strings('-'), strings(finding), -1, -1, -1, 0])
            continue
        quote = KB_QUOTE.get(finding.get('code'))
        quoted = quote is not None and quote[0] in (None, profile)
        waiver = finding.get('waiver') if isinstance(finding.get('waiver'), dict) else None
        out.append([strings(finding.get('severity') or 'info'), strings(finding.get('code') or '-'), strings(finding.get('message')),
                    strings(finding.get('kb_section')), strings(quote[1]) if quoted else -1,
                    strings(junit.waiver_text(waiver)) if waiver else -1, 1 if waiver and waiver['expired'] else 0])
    return out


def _action_rows(host, strings):
    rows = []
    for action in host['actions']:
        if host['check_mode']:
            result = 'predicted (check mode)'
        else:
            result = 'changed' if action.get('changed') else 'no change'
            if action.get('completed') is False:
                result += ', not completed'
        rows.append([strings(action.get('action')), strings(ports.action_service(action)), strings(junit.state_text(action.get('before'))),
                     strings(junit.state_text(action.get('after'))), strings(result)])
    return rows


def _greeting(greeting, strings):
    text, note, matches = greeting
    return [strings(text), strings(note), {True: 1, False: 0}.get(matches, -1)]


def _port_rows(host, strings):
    """[where, expected service, owner, verdict key, verdict label, verdict note, before (verdict text and owner, when
    the verdict changed), greeting text, greeting note, greeting matches (1, 0, -1)] per port of the host."""
    out = []
    for row in ports.rows(host):
        was = row['before']
        greeting = _greeting(row['greeting'], strings) if row['greeting'] else [-1, -1, -1]
        out.append([strings(row['where']), strings(row['expected']), strings(row['owner']), _verdict_key(row['verdict']),
                    strings(row['label']), strings(row['note']), strings('%s: %s' % (was['label'], was['owner'])) if was else -1]
                   + greeting + [1 if row['attention'] else 0])
    return out


def _kb_owner(host):
    """Who holds the KB's port now (on the port host: for whom)."""
    rows = ports.rows(host)
    return rows[0]['owner'] if rows else owner_text(host['after']['owner'] or host['before']['owner'])


def _verdict_key(verdict):
    """A port verdict as the page's CSS class: only the known ones."""
    return verdict if verdict in ports.VERDICT_LABEL else 'unknown'


def host_row(host, small, strings):
    """One host of the page's data: the table row and its details (its strings in the table ``strings``)."""
    verdict = display_verdict(host)
    count, changes = _change_text(host)
    cause, context = cause_first(host['error'], host['host'])
    if cause is None:
        # Each code with the port (and port host) it is about: a conflict on 2525 reads differently from one on 25.
        codes = [ports.code_text(f, host) for f in _errors(host)]
        cause = ('waived: ' if verdict == 'waived' else '') + ', '.join(codes) if codes else None
    review = review_flags(host)
    details = {
        'bv': host['before']['verdict'], 'av': host['after']['verdict'],
        'ob': strings(owner_text(host['before']['owner'])), 'oa': strings(owner_text(host['after']['owner'])),
        'f': _findings(host['findings'], host['profile'], strings),
        'a': _action_rows(host, strings),
        'g': [[strings(f.get('code')), strings(f.get('message')), strings(f.get('advice')), 1 if review else 0] for f in host['flags']],
        't': printable(host.get('started')), 'du': host.get('duration'), 'pc': strings(host.get('piece')),
        'sm': 1 if host.get('detail') == 'summary' else 0,
        'pt': _port_rows(host, strings),
    }
    if not details['pt']:
        # A record without port entries may still have read the greeting of the KB's port.
        greeting = ports.greeting_text(host['after'].get('greeting') or host['before'].get('greeting'))
        if greeting:
            details['gr'] = _greeting(greeting, strings)
    before = host['before']['findings']
    if before and before != host['findings']:
        details['fb'] = _findings(before, host['profile'], strings)
    return {
        'h': printable(host['host']), 'v': verdict, 'r': RANK[verdict], 'p': strings(host['profile'] or '-'),
        'o': strings(_kb_owner(host)),
        'c': count, 'cl': changes, 'g': [strings(f.get('code')) for f in review],
        'x': strings(cause), 'xc': strings(context),
        'k': sorted({strings(f.get('code')) for f in host['findings'] if isinstance(f, dict)}),
        'op': 1 if is_open(host, small) else 0, 'd': details,
        'ph': strings(host.get('port_host')), 'cf': [strings(text) for text in ports.conflicts(host, others_only=True)],
    }


def finding_groups(hosts, docs):
    """Hosts grouped by finding code: one group per code with its worst severity, host count and sample names."""
    groups = {}
    for host in hosts:
        for finding in host['findings']:
            if not isinstance(finding, dict):
                continue
            code = printable(str(finding.get('code') or '-'))
            group = groups.setdefault(code, {'code': code, 'severity': 'info', 'hosts': 0, 'waived': 0, 'expired': 0,
                                             'sample': [], 'section': None, '_seen': set()})
            severity = finding.get('severity') if finding.get('severity') in SEVERITY_RANK else 'info'
            if SEVERITY_RANK[severity] < SEVERITY_RANK[group['severity']]:
                group['severity'] = severity
            group['section'] = group['section'] or finding.get('kb_section')
            if host['host'] in group['_seen']:
                continue
            group['_seen'].add(host['host'])
            group['hosts'] += 1
            waiver = finding.get('waiver') if isinstance(finding.get('waiver'), dict) else None
            group['waived'] += bool(waiver and not waiver['expired'])
            group['expired'] += bool(waiver and waiver['expired'])
            if len(group['sample']) < SAMPLE:
                group['sample'].append(printable(host['host']))
    out = []
    for group in groups.values():
        del group['_seen']
        group['more'] = group['hosts'] - len(group['sample'])
        anchor = kb_anchor(group['section'])
        group['kb_label'] = printable(str(group['section'])) if group['section'] else None
        group['kb_href'] = '%s#%s' % (docs, anchor) if docs and anchor else docs if docs and group['section'] else None
        out.append(group)
    return sorted(out, key=lambda g: (SEVERITY_RANK[g['severity']], -g['hosts'], g['code']))


def cards(report):
    summary = report['summary']
    check = report['mode'] == 'check'
    out = [('hosts', 'Hosts', summary['hosts'], None), ('compliant', 'Compliant', summary['compliant'], None),
           ('noncompliant', 'Non-compliant', summary['gate_failed'],
            '+ %d waived' % summary['waived'] if summary['waived'] else None)]
    if summary['waived'] or report.get('waivers'):
        out.append(('waived', 'Waived', summary['waived'], None))
    out.append(('failed', 'Failed', summary['failed'], None))
    if summary['not_run']:
        out.append(('not_run', 'Not run yet', summary['not_run'], None))
    out.append(('changed', 'Hosts to change (predicted)' if check else 'Hosts changed', summary['changed'], None))
    out.append(('flagged', 'Flagged for review', summary['flagged'], None))
    return [{'cls': c, 'label': label, 'count': count, 'note': note} for c, label, count, note in out]


def chart(report):
    """Two stacked bars of host verdicts, before and after; in check mode the after bar is the prediction.

    Positions are percentages of the page's width and the text keeps its size, so the chart reads the same from a
    phone to a wide screen.
    """
    hosts = report['hosts']
    total = max(len(hosts), 1)
    label_h, bar_h, gap = 18, 26, 10
    before = [(v, sum(1 for h in hosts if h['before']['verdict'] == v)) for v in ('compliant', 'noncompliant', 'unknown')]
    if report['mode'] == 'check':
        label, predicted = 'After (predicted: what a real run would leave)', True
        after = [(v, sum(1 for h in hosts if predicted_verdict(h) == v)) for v in ('compliant', 'noncompliant', 'failed', 'unknown')]
    else:
        label, predicted = 'After', False
        after = [(v, sum(1 for h in hosts if display_verdict(h) == v)) for v in ('compliant', 'waived', 'noncompliant', 'failed', 'not_run')]
    rows = []
    for index, (name, segments, pred) in enumerate((('Before', before, False), (label, after, predicted))):
        top = index * (label_h + bar_h + gap)
        x = 0.0
        parts = []
        for verdict, count in segments:
            if not count:
                continue
            w = 100.0 * count / total
            parts.append({'verdict': verdict, 'count': count, 'x': round(x, 3), 'w': round(w, 3), 'mid': round(x + w / 2, 3),
                          'label': VERDICT_LABEL[verdict], 'show': w >= 4})
            x += w
        rows.append({'label': name, 'ty': top + 13, 'y': top + label_h, 'ny': top + label_h + bar_h // 2 + 5, 'predicted': pred,
                     'segments': parts})
    return {'bar': bar_h, 'height': 2 * (label_h + bar_h + gap) - gap, 'rows': rows, 'predicted': predicted, 'empty': not hosts}


def _sample(hosts):
    hosts = [printable(h) for h in hosts]
    return {'count': len(hosts), 'sample': hosts[:SAMPLE * 4], 'more': max(0, len(hosts) - SAMPLE * 4)}


def changes(report):
    diff = report.get('changes')
    if not diff:
        return None
    labels = (('newly_noncompliant', 'Newly non-compliant'), ('newly_failed', 'Newly failed'), ('fixed', 'Fixed'),
              ('new', 'New hosts'), ('gone', 'Gone hosts'))
    groups = [dict(_sample(diff.get(key) or []), key=key, label=label) for key, label in labels]
    previous = diff.get('previous') or {}
    return {'previous': printable(previous.get('generated') or '?'), 'previous_run': printable(previous.get('run_id') or '?'),
            'groups': groups, 'none': not any(g['count'] for g in groups)}


def run_line(report):
    run = report.get('run') or {}
    parts = []
    if report.get('merge'):
        parts.append('merged from %d pieces' % len(report['merge']['pieces']))
    elif run.get('slice'):
        parts.append('slice %d of %d' % (run['slice']['number'], run['slice']['count']))
    if run.get('id'):
        parts.append('run %s' % run['id'])
    if run.get('engine') and run['engine'] != 'ansible':
        parts.append('%s job %s' % (run['engine'].upper(), run.get('job_id')))
    return printable(' \u00b7 '.join(parts)) if parts else None


def build(report, docs=None):
    """The view model of ``report``; ``docs``: URL of the shipped KB mapping page (None: no links)."""
    hosts = sorted(report['hosts'], key=sort_key)
    small = len(hosts) <= SMALL_FLEET
    strings = Strings()
    rows = [host_row(h, small, strings) for h in hosts]
    waivers = report.get('waivers')
    merge = report.get('merge')
    return {
        'title': printable(report['title']),
        'generated': printable(report['generated']),
        'mode': report['mode'],
        'mode_label': MODE_LABEL.get(report['mode'], report['mode']),
        'version': printable(report['collection']['version']),
        'run_line': run_line(report),
        'cards': cards(report),
        'chart': chart(report),
        'changes': changes(report),
        'waivers': printable_data(waivers) if waivers else None,
        'merge': {'pieces': printable_data(merge['pieces']), 'overlaps': _sample([o['host'] for o in merge['overlaps']])}
        if merge else None,
        'findings': finding_groups(report['hosts'], docs),
        'docs': docs,
        'small': small,
        'data': {'rows': rows, 's': strings.items, 'page': PAGE_SIZE, 'small': small, 'docs': docs,
                 'labels': VERDICT_LABEL, 'check': report['mode'] == 'check'},
    }
