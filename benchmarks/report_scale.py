#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report at fleet scale: merge of sliced pieces, HTML size, browser render time, page height.

    PYTHONPATH=.venv/collections:tests/lab .venv/bin/python benchmarks/report_scale.py [--hosts 10000] [--pieces 10]

The host records are real: a lab fleet of the shipped scenarios runs the compliance and the remediation
playbooks once, and their reports' hosts are cycled (renamed, one per fleet host) up to --hosts, as a generated lab
fleet cycles the scenarios. Figures:

- merge: --pieces report files totalling --hosts hosts (compliance records) merged by the report_write action's code
  path (read, check, merge, render JSON, HTML and JUnit), in a fresh process: wall time and peak RSS;
- the --hosts-host remediation report's HTML: size, and the time until headless Chromium has loaded and laid it out
  (a probe copy of the page without its CSP reports performance.now() after a forced layout at the load event; the
  whole browser run, start-up included, is given too);
- the 200-host page's height at 1,280 px with default settings, and whether any width from 360 to 1,920 px scrolls
  sideways (document scrollWidth against the window width).

Needs the Debian package chromium for the browser figures (they are skipped without it).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (os.path.join(ROOT, 'tests', 'lab'), os.path.join(ROOT, '.venv', 'collections')):
    if path not in sys.path:
        sys.path.insert(0, path)

from winlab.testing import running_fleet  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.mailops.port25.plugins.plugin_utils.report import html, model  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mailops.port25.tests.integration.helpers import collection_playbook  # noqa: E402  pylint: disable=wrong-import-position

SCENARIOS = os.path.join(ROOT, 'tests', 'lab', 'scenarios')
MERGE = '''
import json, resource, sys, time
from ansible_collections.mailops.port25.plugins.plugin_utils import report_files
from ansible_collections.mailops.port25.plugins.plugin_utils.report import html, junit, merge, model
started = time.monotonic()
pieces = [merge.parse_piece(report_files.read_regular(path), path) for path in merge.collect(sys.argv[1:])]
report, _warnings = merge.merge(pieces, '2026-11-28T06:15:00Z', 'merged', pieces[0]['version'], {'id': 'bench'})
sizes = [len(render(report)) for render in (model.to_json, html.render, junit.render)]
print(json.dumps({'seconds': time.monotonic() - started, 'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  'hosts': len(report['hosts']), 'sizes': sizes}))
'''
PROBE = ('<script>window.addEventListener("load",function(){var d=document.documentElement,w=d.scrollWidth;'
         'document.title=JSON.stringify({ms:performance.now(),scroll:w,width:innerWidth,height:d.scrollHeight});});</script>')


def lab_records(workdir):
    """(compliance report, remediation report) of the shipped scenarios."""
    scenarios = sorted(os.path.join(SCENARIOS, name) for name in os.listdir(SCENARIOS) if name.endswith('.yml'))
    with running_fleet(scenarios, os.path.join(workdir, 'lab')) as lab:
        check = collection_playbook('compliance', lab.inventory_path, _Dir(workdir), 'check')
        fix = collection_playbook('remediate', lab.inventory_path, _Dir(workdir), 'fix')
    return check.report(), fix.report()


class _Dir(str):
    """A path that collection_playbook can join with / (it takes pytest's tmp_path)."""

    def __truediv__(self, other):
        return _Dir(os.path.join(self, other))


def scaled(report, hosts, start=0, run_id='bench'):
    """``report`` with ``hosts`` hosts, cycling its real host entries under new names and PIDs."""
    entries = []
    for index in range(start, start + hosts):
        template = report['hosts'][index % len(report['hosts'])]
        entry = copy.deepcopy(template)
        entry['host'] = '%s-%05d' % (template['host'], index + 1)
        for state in (entry['before'], entry['after']):
            if isinstance(state.get('owner'), dict) and state['owner'].get('pid'):
                state['owner']['pid'] = 1000 + (index * 7) % 60000
        entries.append(entry)
    out = model.assemble(entries, report['generated'], report['title'], report['collection']['version'],
                         dict(report.get('run') or {}, id=run_id, targeted=[e['host'] for e in entries]))
    return out


def browser(page_path, width, height=1000):
    """(probe figures, wall seconds of the whole browser run) of ``page_path`` at ``width`` px, or (None, None)."""
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    if not chromium:
        return None, None
    with open(page_path, encoding='utf-8') as handle:
        page = handle.read()
    probe = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', '', page, count=1).replace('</body>', PROBE + '</body>')
    probe_path = page_path + '.probe.html'
    with open(probe_path, 'w', encoding='utf-8') as handle:
        handle.write(probe)
    started = time.monotonic()
    out = subprocess.run([chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=%d,%d' % (width, height),
                          '--dump-dom', 'file://' + probe_path], capture_output=True, text=True, timeout=120, check=False)
    wall = time.monotonic() - started
    match = re.search(r'<title>(\{.*?\})</title>', out.stdout)
    return (json.loads(match.group(1).replace('&quot;', '"')) if match else None), wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--hosts', type=int, default=10000)
    parser.add_argument('--pieces', type=int, default=10)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix='port25-report-scale-')
    try:
        check, fix = lab_records(workdir)
        print('records: %d hosts of the shipped scenarios (compliance and remediation runs)' % len(check['hosts']))

        per_piece = args.hosts // args.pieces
        sources = []
        for number in range(args.pieces):
            piece = scaled(check, per_piece, number * per_piece, 'slice-%d' % (number + 1))
            piece['run']['slice'] = {'number': number + 1, 'count': args.pieces}
            directory = os.path.join(workdir, 'pieces', 'slice%02d' % (number + 1))
            os.makedirs(directory)
            with open(os.path.join(directory, 'port25-report.json'), 'w', encoding='utf-8') as handle:
                handle.write(model.to_json(piece))
        sources.append(os.path.join(workdir, 'pieces'))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, '.venv', 'collections')] + sys.path[2:3]))
        out = subprocess.run([sys.executable, '-c', MERGE] + sources, capture_output=True, text=True, env=env, check=True)
        merged = json.loads(out.stdout)
        print('merge of %d pieces, %d hosts: %.2f s wall, peak RSS %.0f MiB (JSON %.1f MB, HTML %.1f MB, JUnit %.1f MB)'
              % (args.pieces, merged['hosts'], merged['seconds'], merged['maxrss_kib'] / 1024.0,
                 merged['sizes'][0] / 1e6, merged['sizes'][1] / 1e6, merged['sizes'][2] / 1e6))

        for hosts in (args.hosts, 200, 8):
            report = scaled(fix, hosts)
            path = os.path.join(workdir, 'report-%d.html' % hosts)
            started = time.monotonic()
            text = html.render(report)
            seconds = time.monotonic() - started
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write(text)
            print('%d-host remediation report: HTML %.2f MB, rendered by Python in %.2f s' % (hosts, len(text.encode('utf-8')) / 1e6, seconds))
            figures, wall = browser(path, 1280)
            if figures is None:
                print('  chromium: not installed or no figures; skipped')
                continue
            print('  chromium at 1280 px: loaded and laid out after %.0f ms (whole browser run %.1f s); page height %d px'
                  % (figures['ms'], wall, figures['height']))
            sideways = []
            for width in (360, 500, 768, 1024, 1280, 1600, 1920):
                probe, _wall = browser(path, width)
                if probe and probe['scroll'] > probe['width']:
                    sideways.append('%d px (%d wide)' % (width, probe['scroll']))
            print('  horizontal page scroll from 360 to 1,920 px: %s' % (', '.join(sideways) or 'none'))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
