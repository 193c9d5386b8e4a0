# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release tarball: built with ansible-galaxy, installed into a clean collections path, and run from there."""
from __future__ import annotations

import json
import os
import subprocess
import tarfile

import yaml

from ansible_collections.mailops.port25.tests.integration.helpers import (
    KB_HOST, ROOT, VENV_BIN, fleet, make_env, playbook_command, scenario_hosts)


def _clean_env(collections):
    """The test environment without the source tree: only the installed collection can be found."""
    env = make_env()
    env['ANSIBLE_COLLECTIONS_PATH'] = collections
    env['PYTHONPATH'] = os.pathsep.join(p for p in env['PYTHONPATH'].split(os.pathsep) if 'collections' not in p)
    return env


def test_the_built_tarball_installs_and_runs_the_compliance_playbook_from_a_clean_collections_path(tmp_path):
    with open(os.path.join(ROOT, 'galaxy.yml'), encoding='utf-8') as handle:
        version = yaml.safe_load(handle)['version']
    build = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path / 'build'), ROOT],
                           env=make_env(), capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = tmp_path / 'build' / ('mailops-port25-%s.tar.gz' % version)
    with tarfile.open(str(tarball)) as archive:
        names = archive.getnames()
    top = {name.split('/', 1)[0] for name in names}
    assert top == {'MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'changelogs', 'docs', 'meta',
                   'playbooks', 'plugins', 'roles'}, top
    assert not [n for n in names if '__pycache__' in n or n.startswith('changelogs/fragments')]
    assert sorted(n for n in names if n.startswith('docs/')) == ['docs/kb-q222553.md', 'docs/operations.md', 'docs/report.schema.json']
    for asset in ('report.html.j2', 'report.css', 'report.js'):
        assert 'plugins/plugin_utils/report/' + asset in names

    collections = str(tmp_path / 'collections')
    install = subprocess.run([os.path.join(VENV_BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-p', collections,
                              str(tarball)], env=_clean_env(collections), capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    installed = os.path.join(collections, 'ansible_collections', 'mailops', 'port25')
    assert not os.path.islink(installed) and os.path.isfile(os.path.join(installed, 'MANIFEST.json'))

    with fleet(tmp_path, scenario_hosts(KB_HOST, 'ex55-healthy')) as lab:
        report_dir = str(tmp_path / 'report')
        run = subprocess.run(playbook_command('compliance', lab.inventory_path, {'report_dir': report_dir}) + ['-vv'],
                             env=_clean_env(collections), cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # The playbook and the plugins came from the installed copy, not the source tree.
    assert os.path.join(installed, 'playbooks', 'compliance.yml') in run.stdout
    with open(os.path.join(report_dir, 'port25-report.json'), encoding='utf-8') as handle:
        report = json.load(handle)
    assert report['collection'] == {'name': 'mailops.port25', 'version': version}
    assert {h['host']: h['verdict'] for h in report['hosts']} == {KB_HOST: 'noncompliant', 'ex55-healthy': 'compliant'}
    with open(os.path.join(report_dir, 'port25-report.html'), encoding='utf-8') as handle:
        page = handle.read()
    assert 'href="file://%s/docs/kb-q222553.md#resolution"' % installed in page
