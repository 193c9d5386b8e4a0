# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a release promises: metadata without placeholders, a tarball of what an installed collection uses, pins that
are true, sources a user can look up."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, profiles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(*path):
    with open(os.path.join(ROOT, *path), encoding='utf-8') as handle:
        return handle.read()


def _tested():
    pairs = (line.split('#')[0].strip().split('==', 1) for line in _read('requirements', 'dev.txt').splitlines() if '==' in line)
    return {name.lower().replace('_', '-'): version for name, version in pairs}


def test_galaxy_metadata_has_no_placeholder_and_leaves_development_files_out():
    galaxy = yaml.safe_load(_read('galaxy.yml'))
    assert 'example.invalid' not in _read('galaxy.yml')
    assert not {'repository', 'documentation', 'issues', 'homepage'} & set(galaxy)
    assert set(galaxy['build_ignore']) >= {'tests', 'scripts', 'benchmarks', 'Makefile', 'pytest.ini', '.ansible-lint', '.ci',
                                           'requirements', 'execution-environment.yml', 'CONTRIBUTING.md', 'docs/lab.md',
                                           'docs/architecture.md', 'changelogs/fragments'}


def test_the_installed_readme_tells_a_user_what_to_run():
    readme = _read('README.md')
    assert not re.search(r'\bmake (demo|test)\b', readme)
    for playbook in ('compliance', 'remediate', 'rollback', 'report_merge'):
        assert 'ansible-playbook' in readme and 'mailops.port25.%s' % playbook in readme
    assert 'ansible-galaxy collection install mailops-port25-%s.tar.gz' % yaml.safe_load(_read('galaxy.yml'))['version'] in readme
    assert '## Where the project lives' in readme


def test_the_execution_environment_pins_the_tested_versions_and_names_one_tarball():
    ee = yaml.safe_load(_read('execution-environment.yml'))
    tested = _tested()
    packages = ee['dependencies']['python'] + [ee['dependencies'][key]['package_pip'] for key in ('ansible_core', 'ansible_runner')]
    pins = dict(p.split('==', 1) for p in packages)
    assert pins == {name: tested[name] for name in ('pywinrm', 'requests-ntlm', 'pyspnego', 'ansible-core', 'ansible-runner',
                                                    'pykerberos', 'gssapi', 'krb5', 'requests-credssp')}
    version = yaml.safe_load(_read('galaxy.yml'))['version']
    tarball = 'mailops-port25-%s.tar.gz' % version
    assert ee['additional_build_files'] == [{'src': 'build/' + tarball, 'dest': 'collections'}]
    assert '*' not in ' '.join(ee['additional_build_steps']['append_final']) and tarball in ee['additional_build_steps']['append_final'][1]


def test_versions_named_in_the_docs_are_the_pinned_ones():
    tested = _tested()
    names = ('ansible-core', 'ansible-runner', 'pywinrm', 'requests-ntlm', 'pyspnego', 'pykerberos', 'gssapi', 'krb5', 'requests-credssp')
    named = re.findall(r'\b(%s) (\d+\.\d+\.\d+)\b' % '|'.join(names), _read('docs', 'operations.md'))
    assert {name for name, _version in named} == set(names)
    assert all(tested[name] == version for name, version in named), named
    assert 'ansible-runner==%s' % tested['ansible-runner'] in _read('requirements', 'dev.in')


def test_user_facing_sources_cite_documents_not_internal_notes():
    for entry in antivirus.CATALOGUE:
        assert 'domain.md' not in entry['source'] and 'fscan' not in entry['source'], entry['product']
    for profile in profiles.PROFILES.values():
        assert 'domain.md' not in profile.description
    for path in (('docs', 'kb-q222553.md'), ('docs', 'operations.md'), ('README.md',)):
        assert 'domain.md' not in _read(*path), path


def test_the_changelog_has_the_release_of_the_galaxy_version():
    version = yaml.safe_load(_read('galaxy.yml'))['version']
    changelog = yaml.safe_load(_read('changelogs', 'changelog.yaml'))
    assert version in changelog['releases']
    assert '## v%s' % version.replace('.', '\\.') in _read('CHANGELOG.md') and 'No release yet' not in _read('CHANGELOG.md')
