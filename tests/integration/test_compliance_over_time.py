# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduled compliance against the lab: waivers and the gate, history and what changed since the previous run."""
from __future__ import annotations

import datetime
import json
import os
import xml.etree.ElementTree as ET

import yaml

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, collection_playbook, fleet, invoke_requests, renamed, scenario_hosts)

AV_HOST = 'ex55-av-proxy'


def _errors(entry):
    return [f['code'] for f in entry['findings'] if f['severity'] == 'error']


def _waivers(path, entries):
    with open(str(path), 'w', encoding='utf-8') as handle:
        yaml.safe_dump(entries, handle, sort_keys=False)
    return str(path)


def test_a_waived_finding_does_not_fail_the_gate_and_an_expired_one_does(tmp_path):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    with fleet(tmp_path, scenario_hosts(KB_HOST, AV_HOST, 'ex55-healthy')) as lab:
        gate = {'fail_on_noncompliant': True}
        first = collection_playbook('compliance', lab.inventory_path, tmp_path, 'first', extra=gate)
        assert first.rc == 2, first.output
        assert {h: r['failed'] for h, r in first.recap.items()} == {KB_HOST: 1, AV_HOST: 1, 'ex55-healthy': 0}
        entries = first.hosts()

        # The antivirus proxy is being handled (a waiver until tomorrow); the SMTP host's waiver ran out yesterday.
        path = _waivers(tmp_path / 'waivers.yml', [
            {'host': 'ex55-av-*', 'code': _errors(entries[AV_HOST]), 'reason': 'vendor case 4711', 'by': 'j.doe',
             'expires': (today + datetime.timedelta(days=1)).isoformat()},
            {'host': KB_HOST, 'code': _errors(entries[KB_HOST]), 'reason': 'migration', 'by': 'a.smith',
             'expires': (today - datetime.timedelta(days=1)).isoformat()}])
        second = collection_playbook('compliance', lab.inventory_path, tmp_path, 'second', extra=dict(gate, report_waivers=path))
        assert second.rc == 2, second.output
        assert {h: r['failed'] for h, r in second.recap.items()} == {KB_HOST: 1, AV_HOST: 0, 'ex55-healthy': 0}
        report = second.report()
        hosts = {h['host']: h for h in report['hosts']}
        assert (hosts[AV_HOST]['verdict'], hosts[AV_HOST]['waived']) == ('noncompliant', True)
        assert {f['code']: f['waiver']['by'] for f in hosts[AV_HOST]['findings'] if 'waiver' in f} == {
            code: 'j.doe' for code in _errors(entries[AV_HOST])}
        assert hosts[KB_HOST]['waived'] is False
        assert sorted(e['code'] for e in report['waivers']['expired'] if e['host'] == KB_HOST) == sorted(_errors(entries[KB_HOST]))
        assert (report['summary']['waived'], report['summary']['gate_failed']) == (1, 1)
        page = open(os.path.join(second.report_dir, 'port25-report.html'), encoding='utf-8').read()
        assert 'finding(s) under an expired waiver' in page and 'vendor case 4711' in page
        cases = {c.get('name'): c for c in ET.parse(os.path.join(second.report_dir, 'port25-report.xml')).getroot().iter('testcase')}
        assert cases[AV_HOST].find('skipped') is not None and cases[KB_HOST].find('failure') is not None

        # Both waived: the gate passes, the verdicts stay what the hosts are.
        path = _waivers(tmp_path / 'waivers.yml', [
            {'host': name, 'code': _errors(entries[name]), 'reason': 'accepted', 'by': 'ops', 'expires': today.isoformat()}
            for name in (KB_HOST, AV_HOST)])
        third = collection_playbook('compliance', lab.inventory_path, tmp_path, 'third', extra=dict(gate, report_waivers=path))
        assert third.rc == 0, third.output
        assert {h['host']: (h['verdict'], h['waived']) for h in third.report()['hosts']} == {
            KB_HOST: ('noncompliant', True), AV_HOST: ('noncompliant', True), 'ex55-healthy': ('compliant', False)}
        # A waiver never changes what a run does: the compliance runs sent no method call to any host.
        assert all(invoke_requests(lab, name) == [] for name in (KB_HOST, AV_HOST, 'ex55-healthy'))

        # A broken waivers file stops the run before any host is contacted.
        before = len(lab.requests(KB_HOST))
        broken = _waivers(tmp_path / 'broken.yml', [{'host': KB_HOST, 'code': 'PORT_FREE', 'reason': 'r', 'by': 'b'}])
        bad = collection_playbook('compliance', lab.inventory_path, tmp_path, 'bad', extra=dict(gate, report_waivers=broken))
        assert bad.rc == 2 and 'waiver 1: expires must be a date' in bad.output
        assert len(lab.requests(KB_HOST)) == before


def test_the_report_names_each_host_that_changed_since_the_previous_run(tmp_path):
    smtp = scenario_hosts(KB_HOST)[0]
    healthy = scenario_hosts('ex55-healthy')[0]
    hosts = [renamed(smtp, 'to-fix'), renamed(smtp, 'to-break'), renamed(healthy, 'to-go'), renamed(healthy, 'newcomer')]
    with fleet(tmp_path, hosts) as lab:
        inventory = lab.inventory_path
        nightly = {'report_history': 3}
        # to-break is fixed before the first nightly run and broken again (rolled back) before the second.
        fix = collection_playbook('remediate', inventory, tmp_path, 'fix-to-break', '--limit', 'to-break')
        assert fix.rc == 0, fix.output
        run1 = collection_playbook('compliance', inventory, tmp_path, 'nightly', extra=dict(nightly, target='windows:!newcomer'))
        assert run1.rc == 0, run1.output
        assert 'changes' not in run1.report()
        assert collection_playbook('remediate', inventory, tmp_path, 'fix', '--limit', 'to-fix').rc == 0
        back = collection_playbook('rollback', inventory, tmp_path, 'back', '--limit', 'to-break',
                                   extra={'rollback_report': os.path.join(fix.report_dir, 'port25-report.json')})
        assert back.rc == 0, back.output
        run2 = collection_playbook('compliance', inventory, tmp_path, 'nightly', extra=dict(nightly, target='windows:!to-go'))
        assert run2.rc == 0, run2.output

    report_path = tmp_path / 'nightly' / 'port25-report.json'
    report = json.loads(report_path.read_text(encoding='utf-8'))
    previous = report['changes'].pop('previous')
    assert report['changes'] == {'newly_noncompliant': ['to-break'], 'fixed': ['to-fix'], 'newly_failed': [],
                                 'new': ['newcomer'], 'gone': ['to-go']}
    assert previous['source'] == str(report_path) and previous['run_id'] != report['run']['id']
    kept = sorted(os.listdir(str(tmp_path / 'nightly' / 'history')))
    assert len(kept) == 1 and json.loads((tmp_path / 'nightly' / 'history' / kept[0]).read_text(encoding='utf-8'))['run']['id'] == previous['run_id']
    page = (tmp_path / 'nightly' / 'port25-report.html').read_text(encoding='utf-8')
    section = page[page.index('id="h-changes"'):page.index('id="h-findings"')]
    for label, host in (('Newly non-compliant', 'to-break'), ('Fixed', 'to-fix'), ('New hosts', 'newcomer'), ('Gone hosts', 'to-go')):
        assert '%s <b>1</b></dt>\n      <dd><code>%s</code>' % (label, host) in section, label
