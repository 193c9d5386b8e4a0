#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: a lab fleet of the shipped scenarios, then compliance, remediation, a second remediation
(nothing left to change) and compliance again, with a short before/after table and the report's location.

Run with the project venv and the Makefile's environment (ANSIBLE_COLLECTIONS_PATH, PYTHONPATH=...:tests/lab).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

import yaml  # noqa: E402  pylint: disable=wrong-import-position

from winlab.testing import FleetStartError, kerberos_missing, running_fleet  # noqa: E402  pylint: disable=wrong-import-position

STATE_DIR = os.path.join(REPO, '.lab-state', 'demo')
OUT_DIR = os.path.join(REPO, 'out', 'demo')


class DemoError(Exception):
    """A step did not do what the demo shows; the message says which and why."""


KERBEROS_HOST = 'ex55-smtp-kerberos'


def kerberos_scenario(path):
    """ex55-smtp's case once more, on a host that only accepts Kerberos: the lab runs its own KDC for it, and the
    inventory gives user@REALM and the password; the modules get their tickets themselves."""
    with open(os.path.join(REPO, 'tests', 'lab', 'scenarios', 'ex55-smtp.yml'), encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    data['hosts'][0].update(name=KERBEROS_HOST, auth=['kerberos'], hostname='EX55KRB')
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(data, handle, sort_keys=False)
    return path


def ansible_env(krb5_conf=None):
    env = dict(os.environ)
    if krb5_conf:       # the controller's Kerberos configuration: the lab's realm (no ticket cache is needed)
        env['KRB5_CONFIG'] = krb5_conf
        env.pop('KRB5CCNAME', None)
    collections = os.path.join(REPO, '.venv', 'collections')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', collections)
    paths = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(paths + [p for p in (collections, os.path.join(REPO, 'tests', 'lab')) if p not in paths])
    env.update(ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0', ANSIBLE_LOCALHOST_WARNING='0')
    return env


def run_playbook(name, lab, label, *args):
    """ansible-playbook mailops.port25.<name>; returns (seconds, report dict). Its output goes to out/demo/<label>.log."""
    report_dir = os.path.join(OUT_DIR, label)
    log_path = os.path.join(OUT_DIR, label + '.log')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', lab.inventory_path,
           'mailops.port25.' + name, '-e', json.dumps({'report_dir': report_dir}), '-f', '10'] + list(args)
    started = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        code = subprocess.call(cmd, env=ansible_env(lab.ready.get('krb5_conf')), cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    report_path = os.path.join(report_dir, 'port25-report.json')
    if code != 0 or not os.path.exists(report_path):
        raise DemoError('%s exited with %d; see %s' % (name, code, os.path.relpath(log_path, REPO)))
    with open(report_path, encoding='utf-8') as handle:
        return seconds, json.load(handle)


def verdicts(report):
    summary = report['summary']
    parts = ['%d %s' % (summary[v], v.replace('noncompliant', 'non-compliant')) for v in ('compliant', 'noncompliant', 'failed') if summary[v]]
    return ', '.join(parts)


def step(number, title, seconds, text):
    print('  %d. %-23s %-62s %5.1f s' % (number, title, text, seconds))


def action_text(actions):
    """'SMTPSVC stop+disable, MSExchangeIMC start': the actions grouped by service, in order."""
    order = []
    verbs = {}
    for action in actions:
        verb = action['action']
        if verb == 'set_start_mode':
            mode = action['after']['start_mode']
            verb = 'disable' if mode == 'disabled' else 'set ' + mode
        if action['service'] not in verbs:
            order.append(action['service'])
        verbs.setdefault(action['service'], []).append(verb)
    return ', '.join('%s %s' % (service, '+'.join(verbs[service])) for service in order) or '-'


def table(first, fix, last):
    rows = [('host', 'profile', 'before', 'fix', 'after', 'left for a human')]
    fixed = dict((h['host'], h) for h in fix['hosts'])
    final = dict((h['host'], h) for h in last['hosts'])
    for host in first['hosts']:
        name = host['host']
        flags = ', '.join(f['code'] for f in final[name]['flags'] if f['code'] != 'SMTP_SERVICE_IS_TRANSPORT')
        rows.append((name, host['profile'] or '?', host['verdict'], action_text(fixed[name]['actions']), final[name]['verdict'],
                     flags or '-'))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print('  ' + '  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
        if index == 0:
            print('  ' + '  '.join('-' * width for width in widths))


def main():
    scenarios = sorted(glob.glob(os.path.join(REPO, 'tests', 'lab', 'scenarios', '*.yml')))
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    shutil.rmtree(OUT_DIR, ignore_errors=True)
    os.makedirs(OUT_DIR)
    missing = kerberos_missing()
    if not missing:
        scenarios.append(kerberos_scenario(os.path.join(OUT_DIR, 'kerberos-host.yml')))
    print('mailops.port25 demo: KB Q222553 (port 25 bind conflict) on a lab fleet of %d scenarios' % len(scenarios))
    if missing:
        print('  (no Kerberos host: this machine lacks %s; make test installs it)' % missing)
    started = time.monotonic()
    try:
        with running_fleet(scenarios, STATE_DIR) as lab:
            up = time.monotonic() - started
            print('  lab fleet of %d hosts up in %.1f s (state in %s)' % (len(lab.hosts), up, os.path.relpath(STATE_DIR, REPO)))
            if KERBEROS_HOST in lab.hosts:
                print('  %s authenticates with Kerberos: realm %s on the lab\'s own KDC (krb5.conf: %s), user %s'
                      % (KERBEROS_HOST, lab.ready['realm'], os.path.relpath(lab.ready['krb5_conf'], REPO),
                         lab.hosts[KERBEROS_HOST]['ansible_user']))
            seconds, first = run_playbook('compliance', lab, '1-compliance')
            step(1, 'compliance (read-only)', seconds, verdicts(first))
            seconds, fix = run_playbook('remediate', lab, '2-remediate')
            step(2, 'remediate', seconds, '%d hosts changed (%d actions) -> %s' % (
                fix['summary']['changed'], fix['summary']['actions'], verdicts(fix)))
            seconds, again = run_playbook('remediate', lab, '3-remediate-again')
            if again['summary']['changed']:
                raise DemoError('the second remediation changed %d hosts; see out/demo/3-remediate-again.log' % again['summary']['changed'])
            step(3, 'remediate again', seconds, '0 changed (idempotent)')
            seconds, last = run_playbook('compliance', lab, '4-compliance')
            step(4, 'compliance again', seconds, verdicts(last))
            print()
            table(first, fix, last)
    except (DemoError, FleetStartError) as exc:
        print('demo failed: %s' % exc, file=sys.stderr)
        return 1
    print()
    # The remediation's report is the one that shows what was done: before and after, the actions, the flags.
    print('HTML report of the remediation: %s (JSON and JUnit XML next to it; the other runs\' reports and the playbook '
          'logs in %s)' % (os.path.relpath(os.path.join(OUT_DIR, '2-remediate', 'port25-report.html'), REPO),
                           os.path.relpath(OUT_DIR, REPO)))
    print('lab stopped; %.0f s in all' % (time.monotonic() - started))
    return 0


if __name__ == '__main__':
    sys.exit(main())
