# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_write stages: prepare (check and lock the directory), write (under the lock), release."""

from __future__ import annotations

import json
import os
import subprocess
import types

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.mailops.port25.plugins.action import report_write
from ansible_collections.mailops.port25.plugins.plugin_utils import report_files

LOCK = report_files.LOCK_NAME
REPORTS = ['port25-report.html', 'port25-report.json', 'port25-report.xml']


class _NoConnection:
    _shell = types.SimpleNamespace(tmpdir=None)

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


def run(args, check_mode=False):
    task = types.SimpleNamespace(args=dict(args), check_mode=check_mode, diff=False, async_val=0,
                                 action='mailops.port25.report_write', delegate_to='localhost')
    plugin = report_write.ActionModule(task, _NoConnection(), None, DataLoader(), Templar(loader=DataLoader()), None)
    return plugin.run(task_vars={'hostvars': {}})


def names(directory):
    return sorted(p.name for p in directory.iterdir())


def holder(directory):
    return json.loads((directory / LOCK).read_text(encoding='utf-8'))


def test_the_run_owner_is_the_process_that_forked_the_worker():
    assert report_write.run_owner() == os.getppid()


def test_prepare_creates_the_default_directory_in_the_working_directory_and_locks_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run({'stage': 'prepare'})
    directory = tmp_path.resolve() / 'port25-report'
    assert result == {'changed': False, 'output': {'dir': str(directory), 'lock': str(directory / LOCK)}}
    assert names(directory) == [LOCK] and holder(directory)['pid'] == os.getppid()


def test_a_rolling_run_writes_after_each_batch_under_its_lock_and_releases_it_at_the_end(tmp_path):
    assert run({'stage': 'prepare', 'dest': str(tmp_path)})['changed'] is False
    lock = holder(tmp_path)
    for batch in (['a'], ['a', 'b']):
        result = run({'dest': str(tmp_path), 'hosts': batch})
        assert result['changed'] is True and result['output']['summary']['hosts'] == len(batch)
        assert names(tmp_path) == [LOCK] + REPORTS and holder(tmp_path) == lock
    assert run({'stage': 'release', 'dest': str(tmp_path)}) == {
        'changed': False, 'output': {'dir': str(tmp_path), 'released': True}}
    assert names(tmp_path) == REPORTS
    # Released already: nothing to do, still not a failure.
    assert run({'stage': 'release', 'dest': str(tmp_path)})['output']['released'] is False


def test_write_without_prepare_holds_the_lock_only_while_it_writes(tmp_path):
    result = run({'dest': str(tmp_path), 'hosts': ['a']})
    assert result['changed'] is True and 'warnings' not in result
    assert names(tmp_path) == REPORTS


@pytest.mark.parametrize('stage', ['prepare', 'write'])
def test_another_live_run_s_lock_is_refused_and_nothing_is_written(tmp_path, other_process, stage):
    report_files.acquire_lock(str(tmp_path), other_process.pid)
    theirs = holder(tmp_path)
    result = run({'stage': stage, 'dest': str(tmp_path), 'hosts': ['a']})
    assert result['failed'] is True
    assert result['msg'].startswith('another run is writing its report into %s (PID %d of user ' % (tmp_path, other_process.pid))
    assert names(tmp_path) == [LOCK] and holder(tmp_path) == theirs
    # Its lock is not ours to release.
    assert run({'stage': 'release', 'dest': str(tmp_path)})['output']['released'] is False
    assert holder(tmp_path) == theirs


def test_a_lock_left_by_a_killed_run_is_taken_over_with_a_warning(tmp_path):
    dead = subprocess.Popen(['true'])  # pylint: disable=consider-using-with
    dead.wait()
    (tmp_path / LOCK).write_text(json.dumps({'pid': dead.pid, 'start_time': 1, 'started': 'then', 'user': 'x'}),
                                 encoding='utf-8')
    result = run({'stage': 'prepare', 'dest': str(tmp_path)})
    assert result['changed'] is False
    assert result['warnings'] == ['took over the report lock %s of a run that has ended (PID %d of user x, holding it '
                                  'since then)' % (tmp_path / LOCK, dead.pid)]
    assert holder(tmp_path)['pid'] == os.getppid()


@pytest.mark.parametrize('stage', ['prepare', 'write'])
def test_a_directory_other_users_can_write_is_refused_before_anything_is_written(tmp_path, stage):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    result = run({'stage': stage, 'dest': str(shared), 'hosts': ['a']})
    assert result == {'failed': True, 'msg': 'cannot write the report into %s: the directory is writable by every user '
                                             '(mode 0777) without the sticky bit, so another user could replace the '
                                             'report; remove that write permission (chmod go-w)' % shared}
    assert names(shared) == []


def test_prepare_names_a_directory_it_cannot_create():
    result = run({'stage': 'prepare', 'dest': '/proc/port25-report'})
    assert result['failed'] is True and result['msg'].startswith('cannot write the report into /proc/port25-report: ')


def test_write_replaces_a_symlink_at_a_report_path_and_leaves_its_target_alone(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('root:secret', encoding='utf-8')
    os.chmod(str(victim), 0o600)
    reports = tmp_path / 'reports'
    reports.mkdir()
    (reports / 'port25-report.json').symlink_to(victim)
    assert run({'dest': str(reports), 'hosts': ['a']})['changed'] is True
    assert json.loads((reports / 'port25-report.json').read_text(encoding='utf-8'))['summary']['hosts'] == 1
    assert not (reports / 'port25-report.json').is_symlink()
    assert victim.read_text(encoding='utf-8') == 'root:secret' and os.stat(str(victim)).st_mode & 0o777 == 0o600


def test_write_treats_a_fifo_at_a_report_path_as_no_previous_report(tmp_path):
    os.mkfifo(str(tmp_path / 'port25-report.json'))
    assert run({'dest': str(tmp_path), 'hosts': ['a']})['changed'] is True
    assert json.loads((tmp_path / 'port25-report.json').read_text(encoding='utf-8'))['summary']['hosts'] == 1


def test_prepare_and_release_work_in_check_mode_and_write_does_not(tmp_path):
    directory = tmp_path / 'new'
    assert run({'stage': 'prepare', 'dest': str(directory)}, check_mode=True)['changed'] is False
    assert names(directory) == [LOCK]
    assert run({'dest': str(directory), 'hosts': ['a']}, check_mode=True)['changed'] is True
    assert names(directory) == [LOCK]
    assert run({'stage': 'release', 'dest': str(directory)}, check_mode=True)['output']['released'] is True
    assert names(directory) == []


def test_hosts_is_required_only_to_write(tmp_path):
    with pytest.raises(AnsibleActionFail, match='missing required arguments: hosts'):
        run({'dest': str(tmp_path)})
    with pytest.raises(AnsibleActionFail, match='value of stage must be one of: prepare, write, release'):
        run({'stage': 'cleanup', 'dest': str(tmp_path)})
    with pytest.raises(AnsibleActionFail, match="'lock_wait' is of type"):
        run({'stage': 'prepare', 'dest': str(tmp_path), 'lock_wait': 'soon'})
    assert names(tmp_path) == []
