# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report directory: safety checks, reading and replacing files without following links, and the run lock."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading

import pytest

from ansible_collections.mailops.port25.plugins.plugin_utils import report_files

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='changing a directory owner needs root')


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def ended_pid():
    """The PID of a process that has ended (and been reaped)."""
    child = subprocess.Popen(['true'])  # pylint: disable=consider-using-with
    child.wait()
    return child.pid


# ---------------------------------------------------------------- check_directory

def test_a_missing_directory_is_created_with_its_parents_mode_0755(tmp_path):
    target = tmp_path / 'a' / 'b'
    assert report_files.check_directory(str(target)) == str(target)
    assert mode(target) == 0o755 & ~_umask()
    assert list(target.iterdir()) == []  # the writability probe is gone again


def _umask():
    current = os.umask(0)
    os.umask(current)
    return current


@pytest.mark.parametrize('bits, accepted, reason', [
    (0o755, True, None),
    (0o700, True, None),
    (0o1777, True, None),   # like /tmp: others cannot remove or rename our files
    (0o1775, True, None),
    (0o777, False, 'writable by every user (mode 0777) without the sticky bit'),
    (0o757, False, 'writable by every user (mode 0757) without the sticky bit'),
    (0o775, False, 'writable by its group (mode 0775) without the sticky bit'),
])
def test_a_directory_others_can_write_is_refused_unless_sticky(tmp_path, bits, accepted, reason):
    target = tmp_path / 'shared'
    target.mkdir()
    os.chmod(str(target), bits)
    if accepted:
        assert report_files.check_directory(str(target)) == str(target)
    else:
        with pytest.raises(report_files.ReportDirError) as caught:
            report_files.check_directory(str(target))
        assert str(caught.value).startswith('cannot write the report into %s: ' % target)
        assert reason in str(caught.value)
    assert list(target.iterdir()) == []


@needs_root
def test_a_directory_owned_by_another_user_is_refused(tmp_path):
    target = tmp_path / 'theirs'
    target.mkdir()
    os.chown(str(target), 65534, 65534)
    with pytest.raises(report_files.ReportDirError, match='into %s: the directory is owned by ' % target):
        report_files.check_directory(str(target))
    assert list(target.iterdir()) == []


def test_a_symlink_to_a_directory_of_our_own_is_checked_at_its_target(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    assert report_files.check_directory(str(tmp_path / 'link')) == str(tmp_path / 'real')


def test_a_path_that_cannot_be_a_directory_is_refused_naming_it(tmp_path):
    (tmp_path / 'file').write_text('x', encoding='utf-8')
    with pytest.raises(report_files.ReportDirError, match='into %s: File exists' % (tmp_path / 'file')):
        report_files.check_directory(str(tmp_path / 'file'))
    with pytest.raises(report_files.ReportDirError, match='into /proc/port25-x: '):
        report_files.check_directory('/proc/port25-x')


# ---------------------------------------------------------------- read_regular

def test_read_regular_reads_a_regular_file(tmp_path):
    (tmp_path / 'r.json').write_text('{"a": "\u00e9"}', encoding='utf-8')
    assert report_files.read_regular(str(tmp_path / 'r.json')) == '{"a": "\u00e9"}'
    assert report_files.read_regular(str(tmp_path / 'missing')) is None


def test_read_regular_does_not_follow_a_symlink(tmp_path):
    (tmp_path / 'secret').write_text('root only', encoding='utf-8')
    (tmp_path / 'r.json').symlink_to(tmp_path / 'secret')
    assert report_files.read_regular(str(tmp_path / 'r.json')) is None


def test_read_regular_never_reads_dev_zero_through_a_symlink(tmp_path):
    (tmp_path / 'r.json').symlink_to('/dev/zero')
    assert report_files.read_regular(str(tmp_path / 'r.json')) is None
    # Devices are not read even when named directly (/dev/null would read as an empty report).
    assert report_files.read_regular('/dev/zero') is None and report_files.read_regular('/dev/null') is None


def test_read_regular_refuses_files_above_the_limit_and_non_utf8(tmp_path):
    (tmp_path / 'big').write_bytes(b'x' * 11)
    (tmp_path / 'fits').write_bytes(b'x' * 10)
    (tmp_path / 'latin1').write_bytes(b'\xe9t\xe9')
    assert report_files.read_regular(str(tmp_path / 'big'), limit=10) is None
    assert report_files.read_regular(str(tmp_path / 'fits'), limit=10) == 'x' * 10
    assert report_files.read_regular(str(tmp_path / 'latin1')) is None


@pytest.fixture(name='fifo')
def _fifo(tmp_path):
    """A FIFO with a writer waiting: a reader that opens it gets text back instead of hanging the test."""
    path = tmp_path / 'fifo'
    os.mkfifo(str(path))

    def writer():
        try:
            handle = os.open(str(path), os.O_WRONLY)  # waits until someone opens the FIFO for reading
            try:
                os.write(handle, b'"read from the FIFO"')
            finally:
                os.close(handle)
        except OSError:
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    yield path
    # Hold a reader open until the writer is done: it may not have reached its open() yet, and a reader that is
    # opened and closed before that would leave it blocked for ever.
    reader = os.open(str(path), os.O_RDONLY | os.O_NONBLOCK)
    try:
        thread.join(30)
    finally:
        os.close(reader)
    assert not thread.is_alive()


def test_read_regular_does_not_open_a_fifo_for_reading(fifo):
    assert report_files.read_regular(str(fifo)) is None


def test_read_regular_does_not_follow_a_symlink_to_a_fifo(fifo, tmp_path):
    (tmp_path / 'r.json').symlink_to(fifo)
    assert report_files.read_regular(str(tmp_path / 'r.json')) is None


# ---------------------------------------------------------------- write_atomic

def test_write_atomic_writes_the_text_with_the_mode_whatever_the_umask(tmp_path):
    previous = os.umask(0o077)
    try:
        report_files.write_atomic(str(tmp_path / 'r.json'), 'new \u00e9')
        report_files.write_atomic(str(tmp_path / 'r.txt'), 'x', mode=0o600)
    finally:
        os.umask(previous)
    assert (tmp_path / 'r.json').read_text(encoding='utf-8') == 'new \u00e9'
    assert mode(tmp_path / 'r.json') == 0o644 and mode(tmp_path / 'r.txt') == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ['r.json', 'r.txt']


def test_write_atomic_replaces_a_symlink_and_leaves_its_target_alone(tmp_path):
    victim = tmp_path / 'shadow'
    victim.write_text('root:secret', encoding='utf-8')
    os.chmod(str(victim), 0o600)
    (tmp_path / 'r.json').symlink_to(victim)
    report_files.write_atomic(str(tmp_path / 'r.json'), 'report')
    assert not (tmp_path / 'r.json').is_symlink()
    assert (tmp_path / 'r.json').read_text(encoding='utf-8') == 'report' and mode(tmp_path / 'r.json') == 0o644
    assert victim.read_text(encoding='utf-8') == 'root:secret' and mode(victim) == 0o600


def test_a_temporary_file_swapped_for_a_symlink_cannot_change_the_mode_of_its_target(tmp_path, monkeypatch):
    """The race of a shared directory, made deterministic: the temp file becomes a symlink before its mode is set."""
    victim = tmp_path / 'victim'
    victim.write_text('root:secret', encoding='utf-8')
    os.chmod(str(victim), 0o600)
    real_fsync = os.fsync

    def swap_then_fsync(handle):
        temp = next(p for p in tmp_path.iterdir() if p.name.startswith('.r.json.'))
        temp.unlink()
        temp.symlink_to(victim)
        real_fsync(handle)

    monkeypatch.setattr(os, 'fsync', swap_then_fsync)
    report_files.write_atomic(str(tmp_path / 'r.json'), 'report')
    assert mode(victim) == 0o600 and victim.read_text(encoding='utf-8') == 'root:secret'


def test_write_atomic_removes_its_temporary_file_when_it_fails(tmp_path, monkeypatch):
    (tmp_path / 'r.json').write_text('old', encoding='utf-8')

    def fail(_src, _dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', fail)
    with pytest.raises(OSError, match='No space left'):
        report_files.write_atomic(str(tmp_path / 'r.json'), 'new')
    assert [p.name for p in tmp_path.iterdir()] == ['r.json']
    assert (tmp_path / 'r.json').read_text(encoding='utf-8') == 'old'


# ---------------------------------------------------------------- the run lock

def lock_content(directory):
    return json.loads((directory / report_files.LOCK_NAME).read_text(encoding='utf-8'))


def test_acquire_records_the_owner_and_is_re_entrant(tmp_path):
    me = os.getpid()
    lock = report_files.acquire_lock(str(tmp_path), me)
    assert lock == report_files.Lock(str(tmp_path / report_files.LOCK_NAME), True, None)
    held = lock_content(tmp_path)
    assert held['pid'] == me and held['start_time'] == report_files.process_start(me)
    assert held['started'].endswith('Z') and held['user']
    # A later batch of the same run: kept as it is, and not to be released by that batch.
    assert report_files.acquire_lock(str(tmp_path), me) == report_files.Lock(lock.path, False, None)
    assert lock_content(tmp_path) == held
    assert sorted(p.name for p in tmp_path.iterdir()) == [report_files.LOCK_NAME]


def test_a_live_run_s_lock_is_refused_with_a_message_naming_it(tmp_path, other_process):
    report_files.acquire_lock(str(tmp_path), other_process.pid)
    theirs = lock_content(tmp_path)
    with pytest.raises(report_files.LockBusy) as caught:
        report_files.acquire_lock(str(tmp_path), os.getpid())
    message = str(caught.value)
    assert message.startswith('another run is writing its report into %s (PID %d of user ' % (tmp_path, other_process.pid))
    assert 'holding it since %s' % theirs['started'] in message
    assert 'remove %s' % (tmp_path / report_files.LOCK_NAME) in message
    assert lock_content(tmp_path) == theirs


@pytest.fixture(name='clock')
def _clock(monkeypatch):
    """A clock that moves 4 s per look and a sleep that returns at once: waits end, whatever the code does."""
    ticks = iter(range(0, 100000, 4))
    monkeypatch.setattr(report_files.time, 'monotonic', lambda: next(ticks))
    monkeypatch.setattr(report_files.time, 'sleep', lambda _seconds: None)


@pytest.mark.usefixtures('clock')
def test_a_waiting_run_gets_the_lock_when_the_other_run_releases_it(tmp_path, other_process, monkeypatch):
    report_files.acquire_lock(str(tmp_path), other_process.pid)
    pauses = []

    def other_run_ends(seconds):
        pauses.append(seconds)
        assert report_files.release_lock(str(tmp_path), other_process.pid) is True

    monkeypatch.setattr(report_files.time, 'sleep', other_run_ends)
    lock = report_files.acquire_lock(str(tmp_path), os.getpid(), wait_seconds=600)
    assert lock.acquired and lock.warning is None and len(pauses) == 1
    assert lock_content(tmp_path)['pid'] == os.getpid()


@pytest.mark.usefixtures('clock')
def test_a_waiting_run_takes_over_when_the_other_run_is_killed(tmp_path, other_process, monkeypatch):
    report_files.acquire_lock(str(tmp_path), other_process.pid)

    def other_run_killed(_seconds):
        other_process.kill()
        other_process.wait()

    monkeypatch.setattr(report_files.time, 'sleep', other_run_killed)
    lock = report_files.acquire_lock(str(tmp_path), os.getpid(), wait_seconds=600)
    assert lock.acquired and 'a run that has ended (PID %d of user ' % other_process.pid in lock.warning
    assert lock_content(tmp_path)['pid'] == os.getpid()


@pytest.mark.usefixtures('clock')
def test_a_waiting_run_gives_up_after_its_wait(tmp_path, other_process):
    report_files.acquire_lock(str(tmp_path), other_process.pid)
    with pytest.raises(report_files.LockBusy, match=r'\(PID %d .* after waiting 10 s\. ' % other_process.pid):
        report_files.acquire_lock(str(tmp_path), os.getpid(), wait_seconds=10)
    assert lock_content(tmp_path)['pid'] == other_process.pid


@pytest.mark.parametrize('stale', [
    {'pid': 'dead'},                    # filled in below: a process that has ended
    {'pid': 'me', 'start_time': 1},     # the PID is alive but belongs to a process started at another time
    None,                               # not JSON at all
])
def test_a_stale_lock_is_taken_over_with_a_warning(tmp_path, stale):
    if stale is None:
        (tmp_path / report_files.LOCK_NAME).write_text('garbage', encoding='utf-8')
    else:
        pid = ended_pid() if stale['pid'] == 'dead' else os.getpid()
        holder = {'pid': pid, 'start_time': stale.get('start_time', 12345), 'started': '2026-01-01T00:00:00Z', 'user': 'x'}
        (tmp_path / report_files.LOCK_NAME).write_text(json.dumps(holder), encoding='utf-8')
    lock = report_files.acquire_lock(str(tmp_path), os.getpid())
    assert lock.acquired and lock.warning.startswith('took over the report lock %s of a run that has ended' % lock.path)
    assert lock_content(tmp_path)['start_time'] == report_files.process_start(os.getpid())


def test_release_only_by_its_owner(tmp_path, other_process):
    report_files.acquire_lock(str(tmp_path), other_process.pid)
    assert report_files.release_lock(str(tmp_path), os.getpid()) is False
    assert lock_content(tmp_path)['pid'] == other_process.pid
    assert report_files.release_lock(str(tmp_path), other_process.pid) is True
    assert list(tmp_path.iterdir()) == []
    assert report_files.release_lock(str(tmp_path), other_process.pid) is False  # nothing left to release
    assert report_files.release_lock(str(tmp_path / 'missing'), other_process.pid) is False


def test_a_symlink_or_a_foreign_file_at_the_lock_path_is_never_used(tmp_path):
    target = tmp_path / 'elsewhere'
    target.write_text('keep', encoding='utf-8')
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / report_files.LOCK_NAME).symlink_to(target)
    with pytest.raises(report_files.ReportDirError, match='is a symlink, not a lock file'):
        report_files.acquire_lock(str(tmp_path / 'd'), os.getpid())
    assert report_files.release_lock(str(tmp_path / 'd'), os.getpid()) is False
    assert target.read_text(encoding='utf-8') == 'keep' and (tmp_path / 'd' / report_files.LOCK_NAME).is_symlink()


@needs_root
def test_a_lock_file_of_another_user_is_refused(tmp_path):
    path = tmp_path / report_files.LOCK_NAME
    path.write_text('{}', encoding='utf-8')
    os.chown(str(path), 65534, 65534)
    with pytest.raises(report_files.ReportDirError, match='is not a lock file of this collection'):
        report_files.acquire_lock(str(tmp_path), os.getpid())
    assert path.read_text(encoding='utf-8') == '{}'


def test_process_start_reads_field_22_whatever_the_command_name(tmp_path):
    # A command name with spaces and parentheses must not shift the fields.
    odd = tmp_path / 'a b) (c'
    odd.symlink_to('/bin/sleep')
    proc = subprocess.Popen([str(odd), '600'])  # pylint: disable=consider-using-with
    try:
        with open('/proc/%d/stat' % proc.pid, encoding='utf-8') as handle:
            expected = int(handle.read().rsplit(')', 1)[1].split()[19])
        assert report_files.process_start(proc.pid) == expected
    finally:
        proc.kill()
        proc.wait()
    assert report_files.process_start(proc.pid) is None
