# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces of a sliced run merged into one report; the compact piece a run publishes as a job artifact.

A piece is a report of some hosts: a ``port25-report.json`` file, or the artifact a run published with set_stats.
Pieces of different modes (check and apply) or collection versions are refused: their verdicts do not mean the same.
A host in several pieces keeps its newest record, and the merged report lists every such overlap.
"""

from __future__ import annotations

import json
import os

from ansible_collections.mailops.port25.plugins.module_utils.antivirus import product_text
from ansible_collections.mailops.port25.plugins.plugin_utils.report import model

REPORT_NAME = 'port25-report.json'
PIECE_FORMAT = 1
# The artifact of one run: a summary of each host, about 250 bytes a host. AWX stores artifacts in its database and
# hands them to the next workflow node as extra variables, so a piece above this is published without its hosts
# (the files then carry them): 1 MiB holds about 5,000 hosts.
ARTIFACT_LIMIT = 1024 * 1024
ERROR_CHARS = 500


class MergeError(ValueError):
    """A piece cannot be merged; the message names it and says why. Nothing is written."""


# ---------------------------------------------------------------- the artifact of a run

# Each host of an artifact is a row of these columns; the owner is [kind, process, pid, product], a finding
# "severity:CODE", a flag its code.
COLUMNS = ('host', 'verdict', 'profile', 'check_mode', 'changed', 'compliant', 'started', 'duration', 'error', 'owner',
           'findings', 'flags')


def _owner_row(owner):
    if not isinstance(owner, dict):
        return None
    product = owner.get('product') if isinstance(owner.get('product'), dict) else None
    return [owner.get('kind'), owner.get('process'), owner.get('pid'), product_text(product) if product else None]


def compact_host(entry):
    """What the artifact keeps of a host: verdict, finding codes, owner, flag codes, error, timing."""
    state = entry['after'] if entry['after'].get('owner') else entry['before']
    error = entry['error']
    return [entry['host'], entry['verdict'], entry['profile'], entry['check_mode'], entry['changed'], entry['compliant'],
            entry['started'], entry['duration'], error[:ERROR_CHARS] if isinstance(error, str) else error,
            _owner_row(state.get('owner')),
            ['%s:%s' % (f.get('severity'), f.get('code')) for f in entry['findings'] if isinstance(f, dict)],
            [f.get('code') for f in entry['flags']]]


def artifact(report, limit=ARTIFACT_LIMIT):
    """(piece, warning): the compact piece of a run's report for set_stats, without its hosts when over ``limit``."""
    run = dict(report.get('run') or {})
    run.pop('targeted', None)
    piece = {'port25_piece': PIECE_FORMAT, 'report_format': report['report_format'], 'title': report['title'],
             'generated': report['generated'], 'collection': report['collection'], 'mode': report['mode'], 'run': run,
             'summary': report['summary'], 'columns': list(COLUMNS), 'hosts': [compact_host(h) for h in report['hosts']]}
    size = len(json.dumps(piece, separators=(',', ':')))
    if size <= limit:
        return piece, None
    piece['hosts'] = None
    return piece, ('the job artifact holds the summary of this run only: its %d hosts take %d bytes, more than %d; '
                   'merge this run from its report file' % (len(report['hosts']), size, limit))


def _expand_host(row, piece_id, name, index):
    """A report entry from an artifact row: the fields the artifact keeps, the others empty."""
    if not isinstance(row, list) or len(row) != len(COLUMNS):
        raise MergeError('%s: hosts[%d] is not a host row of %d columns; nothing was written' % (name, index, len(COLUMNS)))
    host = dict(zip(COLUMNS, row))
    owner = host['owner']
    if isinstance(owner, list) and len(owner) == 4:
        owner = {'kind': owner[0], 'process': owner[1], 'pid': owner[2],
                 'product': {'vendor': '', 'product': owner[3]} if owner[3] else None}
    findings = [dict(zip(('severity', 'code'), str(f).split(':', 1))) for f in host['findings'] or []]
    state = {'compliant': host['compliant'], 'owner': owner, 'findings': findings}
    entry = model.host_entry(host['host'], {'compliant': host['compliant'], 'profile': host['profile'],
                                            'check_mode': host['check_mode'], 'changed': host['changed'],
                                            'started': host['started'], 'duration': host['duration'], 'error': host['error'],
                                            'before': state, 'after': state, 'findings': findings,
                                            'flags': [{'code': code} for code in host['flags'] or []]})
    # The artifact keeps the verdict as the run decided it (a host that left the play is failed without an error text).
    if host['verdict'] in model.VERDICTS:
        entry['verdict'] = host['verdict']
    entry['status'] = {'failed': 'failed', 'not_run': 'not_run'}.get(entry['verdict'], 'ok')
    entry['detail'] = 'summary'
    entry['piece'] = piece_id
    return entry


# ---------------------------------------------------------------- reading pieces

def collect(sources):
    """The report files named by ``sources``: a file as given; a directory's port25-report.json and those of its
    subdirectories (one level: one directory per slice). Raises MergeError for a source that does not exist."""
    files = []
    for source in sources:
        path = os.path.abspath(os.path.expanduser(str(source)))
        if os.path.isdir(path):
            found = [os.path.join(path, REPORT_NAME)] + [os.path.join(path, name, REPORT_NAME) for name in sorted(os.listdir(path))
                                                         if name != 'history' and os.path.isdir(os.path.join(path, name))]
            found = [f for f in found if os.path.lexists(f)]
            if not found:
                raise MergeError('report source %s is a directory without %s in it or in its subdirectories; nothing '
                                 'was written' % (path, REPORT_NAME))
            files.extend(found)
        elif os.path.lexists(path):
            files.append(path)
        else:
            raise MergeError('report source %s does not exist; nothing was written' % path)
    unique = []
    for path in files:
        if path not in unique:
            unique.append(path)
    return unique


def parse_piece(text, name):
    """A piece from the text of a report file; MergeError names the file and the problem."""
    if text is None:
        raise MergeError('%s is not a regular, readable UTF-8 file; nothing was written' % name)
    if not text.strip():
        raise MergeError('%s is empty: the run that wrote it may have been stopped while writing; remove it from the '
                         'sources or run that slice again; nothing was written' % name)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MergeError('%s is not JSON (%s): it is not a complete port25 report; nothing was written' % (name, exc)) from None
    return check_piece(data, name)


def check_piece(data, name):
    """The piece as a report (an artifact expanded); MergeError when it is not a port25 report of format 1."""
    if not isinstance(data, dict) or not isinstance(data.get('hosts'), (list, type(None))) or 'generated' not in data:
        raise MergeError('%s is not a port25 report (no generated time and list of hosts); nothing was written' % name)
    collection = data.get('collection') if isinstance(data.get('collection'), dict) else {}
    if collection.get('name') != model.COLLECTION:
        raise MergeError('%s is not a report of %s (collection %r); nothing was written' % (name, model.COLLECTION, collection.get('name')))
    if data.get('report_format') != model.REPORT_FORMAT:
        raise MergeError('%s has report_format %r; this collection merges format %d; nothing was written'
                         % (name, data.get('report_format'), model.REPORT_FORMAT))
    if data.get('mode') not in model.MODES:
        raise MergeError('%s has an unknown mode %r; nothing was written' % (name, data.get('mode')))
    if data.get('hosts') is None:
        raise MergeError('%s is the artifact of a run with too many hosts for it (its summary only); merge that run '
                         'from its report file instead; nothing was written' % name)
    run = data.get('run') if isinstance(data.get('run'), dict) else {}
    piece_id = str(run.get('id') or name)
    seen = set()
    hosts = []
    for index, entry in enumerate(data['hosts']):
        entry = _expand_host(entry, piece_id, name, index) if data.get('port25_piece') else dict(entry, piece=piece_id) \
            if isinstance(entry, dict) else entry
        if not isinstance(entry, dict) or not isinstance(entry.get('host'), str) or entry.get('verdict') not in model.VERDICTS:
            raise MergeError('%s: hosts[%d] is not a host entry (host name and verdict); nothing was written' % (name, index))
        if entry['host'] in seen:
            raise MergeError('%s lists host %s twice; nothing was written' % (name, entry['host']))
        seen.add(entry['host'])
        hosts.append(entry)
    return {'name': name, 'id': piece_id, 'generated': str(data['generated']), 'mode': data['mode'],
            'version': str(collection.get('version')), 'run': run, 'hosts': hosts,
            'source': 'artifact' if data.get('port25_piece') else 'file'}


# ---------------------------------------------------------------- merging

def _check_alike(pieces):
    versions = sorted({p['version'] for p in pieces})
    if len(versions) > 1:
        raise MergeError('the pieces come from different collection versions (%s); merge only the pieces of one run: %s; '
                         'nothing was written' % (', '.join(versions), '; '.join('%s is %s' % (p['name'], p['version']) for p in pieces)))
    modes = sorted({p['mode'] for p in pieces if p['mode'] != 'unknown'})
    if len(modes) > 1:
        raise MergeError('the pieces are of different modes (%s): a check run predicts what an apply run does, so their '
                         'verdicts cannot be added up; merge only the pieces of one run: %s; nothing was written'
                         % (', '.join(modes), '; '.join('%s is %s' % (p['name'], p['mode']) for p in pieces)))


def _order(piece):
    slice_ = piece['run'].get('slice') if isinstance(piece['run'].get('slice'), dict) else {}
    return (slice_.get('number') or 0, piece['generated'], piece['name'])


def _newness(entry, piece):
    return (entry.get('started') or piece['generated'], piece['generated'])


def merge(pieces, generated, title, version, run=None):
    """One report of all the pieces' hosts (``pieces`` from ``check_piece``); returns (report, warnings)."""
    if not pieces:
        raise MergeError('there is nothing to merge: give report_sources (report files or directories) or run the merge '
                         'after the runs that published their pieces; nothing was written')
    _check_alike(pieces)
    pieces = sorted(pieces, key=_order)
    warnings = ['%s has no hosts' % p['name'] for p in pieces if not p['hosts']]
    kept, where, dropped = {}, {}, {}
    order = []
    for piece in pieces:
        for entry in piece['hosts']:
            host = entry['host']
            if host not in kept:
                order.append(host)
            elif _newness(entry, piece) > _newness(kept[host], where[host]):
                dropped.setdefault(host, []).append(where[host]['id'])
            else:
                dropped.setdefault(host, []).append(piece['id'])
                continue
            kept[host], where[host] = entry, piece
    overlaps = [{'host': host, 'kept': where[host]['id'], 'dropped': dropped[host]} for host in order if host in dropped]
    run = dict(run or {}, targeted=sorted({h for p in pieces for h in (p['run'].get('targeted') or [e['host'] for e in p['hosts']])}))
    report = model.assemble([kept[h] for h in order], generated, title, version, run)
    report['merge'] = {
        'pieces': [{'id': p['id'], 'source': p['source'], 'name': p['name'], 'generated': p['generated'], 'mode': p['mode'],
                    'slice': p['run'].get('slice'), 'job_id': p['run'].get('job_id'), 'hosts': len(p['hosts']),
                    'kept': sum(1 for h in order if where[h] is p)} for p in pieces],
        'overlaps': overlaps,
    }
    return report, warnings
