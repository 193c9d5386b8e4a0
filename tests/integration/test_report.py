# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report role run by ansible-playbook over fake bind_conflict_result facts (no lab needed)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

from ansible_collections.mailops.port25.tests.integration.helpers import ROOT, VENV_BIN, make_env

HOSTILE = '<img src=x onerror=alert(1)>&"\''
PWNED = 'pwned-by-template'


def _action(action, service, before, after, changed=True):
    return {'action': action, 'service': service, 'before': {'state': before[0], 'start_mode': before[1]},
            'after': {'state': after[0], 'start_mode': after[1]}, 'changed': changed}


KB_ACTIONS = [_action('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
              _action('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
              _action('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))]


def _state(compliant, kind, process, findings=()):
    return {'compliant': compliant, 'owner': {'kind': kind, 'pid': 100, 'process': process, 'services': [], 'product': None},
            'findings': list(findings), 'smtp_service': {'name': 'SMTPSVC', 'exists': True, 'state': 'running', 'start_mode': 'auto'},
            'mail_service': {'name': 'MSExchangeIMC', 'exists': True, 'state': 'stopped', 'start_mode': 'auto'}}


def _result(host, before, after, actions=(), flags=(), error=None, check_mode=False):
    return {'host': host, 'profile': 'exchange55', 'check_mode': check_mode, 'before': before, 'actions': list(actions),
            'after': after, 'findings': after['findings'] if after else [], 'flags': list(flags),
            'compliant': bool(after and after['compliant']) and not error, 'changed': bool(actions), 'error': error}


def _results(tmp_path):
    held = {'code': 'PORT_HELD_BY_SMTP_SERVICE', 'severity': 'error', 'kb_section': 'Resolution step 1',
            'message': 'TCP port 25 is held by PID 100 (inetinfo.exe) hosting SMTPSVC.'}
    # Event-log text is attacker-controlled: it must reach the files as text, never be evaluated as a template.
    hostile = {'code': 'PORT_HELD_BY_OTHER', 'severity': 'error', 'kb_section': 'Resolution step 2',
               'message': "%s {{ lookup('ansible.builtin.pipe', 'touch %s') }}" % (HOSTILE, tmp_path / PWNED)}
    av = _state(False, 'antivirus', 'iwss.exe', [dict(held, code='PORT_HELD_BY_ANTIVIRUS', kb_section='Resolution step 3')])
    return {
        'kb.example': _result('kb.example', _state(False, 'smtp_service', 'inetinfo.exe', [held]),
                              _state(True, 'mail_service', 'msexcimc.exe'), KB_ACTIONS),
        'av.example': _result('av.example', av, av, flags=[{'code': 'ANTIVIRUS_HOLDS_PORT', 'message': 'iwss.exe holds TCP 25',
                                                            'advice': 'Test with the product disabled by hand; contact the vendor.'}]),
        HOSTILE: _result(HOSTILE, _state(False, 'other', 'relay.exe', [hostile]), _state(False, 'other', 'relay.exe', [hostile])),
        'err.example': _result('err.example', _state(False, 'smtp_service', 'inetinfo.exe', [held]), None, KB_ACTIONS[:1],
                               error='Stop the SMTP service: StopService SMTPSVC: still stop_pending after 60 s'),
        'late.example': _result('late.example', _state(True, 'mail_service', 'msexcimc.exe'), _state(True, 'mail_service', 'msexcimc.exe')),
    }


PLAY = """
- name: Fake a bind_conflict run
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Reach the host (only the unreachable one tries)
      ansible.builtin.ping:
      when: inventory_hostname == 'down.example'

    - name: Fail before recording anything
      ansible.builtin.fail:
        msg: early failure
      when: inventory_hostname == 'early.example'

    - name: Read the results the way a module returns them (untrusted data)
      ansible.builtin.slurp:
        src: "{{ results_file }}"
      register: __slurped
      run_once: true
      delegate_to: localhost

    - name: Record the result
      ansible.builtin.set_fact:
        bind_conflict_result: "{{ (__slurped.content | b64decode | from_json)[inventory_hostname] }}"
      when: inventory_hostname in (__slurped.content | b64decode | from_json)

    - name: Fail after recording
      ansible.builtin.fail:
        msg: late failure
      when: inventory_hostname == 'late.example'
"""

# Included once, as the role documents for plays of many hosts (the remediation test covers a per-host include).
REPORT_IN_PLAY = """
    - name: Write the report
      ansible.builtin.include_role:
        name: mailops.port25.report
      run_once: true
      vars:
        report_dir: "{{ out_dir }}"
        report_title: Integration <run>
"""

REPORT_OWN_PLAY = """
- name: Report from a play of its own
  hosts: localhost
  gather_facts: false
  roles:
    - role: mailops.port25.report
      report_dir: "{{ out_dir }}"
      report_hosts: "{{ groups['fleet'] }}"
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run(tmp_path, playbook, *args):
    hosts = {name: {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
             for name in ('kb.example', 'av.example', HOSTILE, 'err.example', 'late.example', 'early.example')}
    # Nothing listens on this loopback port: SSH is refused, the host is unreachable.
    hosts['down.example'] = {'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': _free_port(),
                             'ansible_ssh_common_args': '-o ConnectTimeout=5 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'}
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
                         'children': {'fleet': {'hosts': hosts}}}}
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory, sort_keys=False), encoding='utf-8')
    (tmp_path / 'results.json').write_text(json.dumps(_results(tmp_path)), encoding='utf-8')
    (tmp_path / 'play.yml').write_text(playbook, encoding='utf-8')
    env = dict(make_env(), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'tmp'))
    command = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'),
               str(tmp_path / 'play.yml'), '-e', 'out_dir=%s' % (tmp_path / 'out'), '-e', 'results_file=%s' % (tmp_path / 'results.json')]
    return subprocess.run(command + list(args), cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)


def _recap(stdout):
    return {m.group(1).strip(): {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
            for m in re.finditer(r'^(\S.*?)\s+: (ok=.*)$', stdout.split('PLAY RECAP', 1)[1], re.M)}


def test_report_in_the_play_covers_failed_and_unreachable_hosts(tmp_path):
    proc = _run(tmp_path, PLAY + REPORT_IN_PLAY)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # unreachable and failed hosts
    recap = _recap(proc.stdout)
    assert recap['down.example']['unreachable'] == 1 and recap['early.example']['failed'] == 1
    assert all(counts['changed'] == 0 for counts in recap.values()), recap
    out = tmp_path / 'out'
    assert sorted(p.name for p in out.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']

    data = json.loads((out / 'port25-report.json').read_text(encoding='utf-8'))
    assert data['title'] == 'Integration <run>' and data['mode'] == 'apply'
    assert re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', data['generated'])
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        assert data['collection'] == {'name': 'mailops.port25', 'version': str(yaml.safe_load(handle)['version'])}
    hosts = {h['host']: (h['verdict'], h['error']) for h in data['hosts']}
    assert hosts == {
        'kb.example': ('compliant', None),
        'av.example': ('noncompliant', None),
        HOSTILE: ('noncompliant', None),
        'err.example': ('failed', 'Stop the SMTP service: StopService SMTPSVC: still stop_pending after 60 s'),
        'late.example': ('failed', 'the host failed or became unreachable after its result was recorded'),
        'early.example': ('failed', 'failed before any result was recorded'),
        'down.example': ('failed', 'failed before any result was recorded'),
    }
    assert [h['host'] for h in data['hosts']][:2] == ['kb.example', 'av.example']
    kb = next(h for h in data['hosts'] if h['host'] == 'kb.example')
    assert kb['actions'] == KB_ACTIONS
    assert (kb['before']['verdict'], kb['after']['verdict'], kb['changed']) == ('noncompliant', 'compliant', True)
    assert data['summary'] == {'hosts': 7, 'compliant': 1, 'noncompliant': 2, 'failed': 4, 'not_run': 0, 'changed': 2, 'flagged': 1,
                               'actions': 4, 'predicted': 0, 'before': {'compliant': 1, 'noncompliant': 4, 'unknown': 2},
                               'after': {'compliant': 2, 'noncompliant': 2, 'unknown': 3}, 'waived': 0, 'gate_failed': 2}
    hostile = next(h for h in data['hosts'] if h['host'] == HOSTILE)
    assert hostile['findings'][0]['message'].startswith(HOSTILE + " {{ lookup('ansible.builtin.pipe'")
    assert not (tmp_path / PWNED).exists()

    page = (out / 'port25-report.html').read_text(encoding='utf-8')
    assert '<img' not in page and page.count('<script>') == 1
    # As text in the page (the hosts grouped by finding code), and in the host table's data block.
    assert '<code>&lt;img src=x onerror=alert(1)&gt;&amp;&#34;&#39;</code>' in page
    data_block = page.split('<script type="application/json" id="report-data">', 1)[1].split('</script>', 1)[0]
    assert HOSTILE in [row['h'] for row in json.loads(data_block)['rows']]
    assert '<title>Integration &lt;run&gt;</title>' in page
    assert 'failed before any result was recorded' in page

    suite = ET.parse(str(out / 'port25-report.xml')).getroot()
    assert {k: suite.get(k) for k in ('tests', 'failures', 'errors')} == {'tests': '7', 'failures': '2', 'errors': '4'}
    cases = {c.get('name'): sorted(child.tag for child in c) for c in suite.iter('testcase')}
    assert cases == {'kb.example': ['system-out'], 'av.example': ['failure', 'system-out'], HOSTILE: ['failure', 'system-out'],
                     'err.example': ['error', 'system-out'], 'late.example': ['error', 'system-out'],
                     'early.example': ['error', 'system-out'], 'down.example': ['error', 'system-out']}


def test_report_in_its_own_play_and_in_check_mode(tmp_path):
    proc = _run(tmp_path, PLAY + REPORT_OWN_PLAY, '--check')
    assert proc.returncode == 4, proc.stdout + proc.stderr
    localhost = _recap(proc.stdout)['localhost']
    assert (localhost['changed'], localhost['failed'], localhost['skipped']) == (0, 0, 0), localhost
    data = json.loads((tmp_path / 'out' / 'port25-report.json').read_text(encoding='utf-8'))
    assert data['title'] == 'Port 25 bind conflict report'
    # A play of its own cannot see which hosts left the first play: late.example keeps its recorded verdict.
    assert [(h['host'], h['verdict']) for h in data['hosts']] == [
        ('kb.example', 'compliant'), ('av.example', 'noncompliant'), (HOSTILE, 'noncompliant'), ('err.example', 'failed'),
        ('late.example', 'compliant'), ('early.example', 'failed'), ('down.example', 'failed')]
    assert ET.parse(str(tmp_path / 'out' / 'port25-report.xml')).getroot().get('tests') == '7'


def test_report_dir_defaults_to_port25_report_in_the_working_directory(tmp_path):
    proc = _run(tmp_path, PLAY + REPORT_OWN_PLAY.replace('report_dir: "{{ out_dir }}"', 'report_title: no directory'))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert not (tmp_path / 'out').exists()
    written = tmp_path / 'port25-report'
    assert sorted(p.name for p in written.iterdir()) == ['port25-report.html', 'port25-report.json', 'port25-report.xml']
    data = json.loads((written / 'port25-report.json').read_text(encoding='utf-8'))
    assert (data['title'], data['summary']['hosts']) == ('no directory', 7)
