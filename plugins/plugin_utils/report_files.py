# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report directory on the controller: safety checks, reading and replacing files, and the run lock.

Plain functions over paths, used by the report_write action. Everything here assumes that the directory may be
shared with other users of the controller, so nothing follows a symlink or opens a non-regular file inside it.
"""

from __future__ import annotations

import collections
import datetime
import errno
import fcntl
import json
import os
import pwd
import stat
import tempfile
import time

LOCK_NAME = '.port25-report.lock'

# A previous report larger than this is not read (it is simply replaced). Far above a 10,000-host report.
READ_LIMIT = 256 * 1024 * 1024

# How often a run waiting for another run's lock looks again.
POLL_SECONDS = 1.0

# The result of acquire_lock. `acquired` is false when the owner already held the lock (a later batch of the same
# run): only a caller that acquired it should release it at its own end. `warning` is set after a stale take-over.
Lock = collections.namedtuple('Lock', 'path acquired warning')


class ReportDirError(ValueError):
    """The report directory cannot be used; the message names it and says why."""


class LockBusy(ReportDirError):
    """Another live run holds the directory's lock."""


def _refuse(path, reason):
    return ReportDirError('cannot write the report into %s: %s' % (path, reason))


def _os_reason(err):
    return err.strerror or str(err)


def check_directory(path):
    """Create `path` (mode 0755, parents too) when missing and make sure it is safe and writable; return its real path.

    Refused: a directory that other users can write (group or world writable without the sticky bit: they could
    replace the report or swap a file in the middle of a write) and one owned by a user other than the effective
    one (its owner can do the same, and can change its mode at any time).
    """
    try:
        os.makedirs(path, mode=0o755, exist_ok=True)
        real = os.path.realpath(path)
        info = os.stat(real)
    except OSError as err:
        raise _refuse(path, _os_reason(err)) from None
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(path, 'not a directory')
    if info.st_uid != os.geteuid():
        raise _refuse(path, 'the directory is owned by %s, not by %s who runs ansible-playbook; use a directory of '
                            'your own' % (_user_name(info.st_uid), _user_name(os.geteuid())))
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        who = 'every user' if info.st_mode & stat.S_IWOTH else 'its group'
        raise _refuse(path, 'the directory is writable by %s (mode %04o) without the sticky bit, so another user could '
                            'replace the report; remove that write permission (chmod go-w)'
                      % (who, stat.S_IMODE(info.st_mode)))
    try:
        handle, probe = tempfile.mkstemp(prefix='.port25-report-probe.', dir=real)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise _refuse(path, _os_reason(err)) from None
    return real


def _open_regular(path, flags):
    """A descriptor of `path` if it is a regular file (never a symlink, FIFO or device), else None."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused by the fstat below anyway.
        handle = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        return None
    return handle


def _read_handle(handle, limit):
    chunks, size = [], 0
    while size <= limit:
        chunk = os.read(handle, min(1024 * 1024, limit + 1 - size))
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def read_regular(path, limit=READ_LIMIT):
    """The text of `path` when it is a regular UTF-8 file of at most `limit` bytes, else None.

    None covers everything that is not a report written here: missing, a symlink (never followed), a FIFO or
    device (never blocked on, never read), too large, or not UTF-8. The caller then treats the file as absent.
    """
    handle = _open_regular(path, os.O_RDONLY)
    if handle is None:
        return None
    try:
        data = _read_handle(handle, limit)
    except OSError:
        data = None
    finally:
        os.close(handle)
    try:
        return None if data is None else data.decode('utf-8')
    except UnicodeDecodeError:
        return None


def write_atomic(path, text, mode=0o644):
    """Replace `path` with `text` in one step: a reader sees the old file or the new one, never half of it.

    The mode is set on the open descriptor (a path could meanwhile name another file), and os.replace swaps the
    directory entry, so a symlink at `path` is replaced, never written through.
    """
    handle, temp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path) or '.')
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


# ---------------------------------------------------------------- the run lock

def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return 'uid %d' % uid


def process_start(pid):
    """Start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), None if it is gone.

    A PID alone can be reused by an unrelated process after the run ended; the pair (PID, start time) cannot.
    """
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
    except OSError:
        return None
    # Field 2 (the command name) is in parentheses and may itself hold spaces and parentheses.
    fields = data[data.rindex(b')') + 2:].split()
    return int(fields[22 - 3])


def _alive(holder):
    pid, start = holder.get('pid'), holder.get('start_time')
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if os.path.isdir('/proc/self'):
        return start is not None and process_start(pid) == start
    try:  # No /proc (a BSD or macOS controller): the PID alone.
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _read_lock(handle):
    """The lock's JSON object, or {} when it is not one (it then names no live run)."""
    os.lseek(handle, 0, os.SEEK_SET)
    data = _read_handle(handle, 64 * 1024)
    try:
        holder = json.loads(data.decode('utf-8')) if data else {}
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def _describe(holder):
    return 'PID %s of user %s, holding it since %s' % (holder.get('pid'), holder.get('user', '?'),
                                                       holder.get('started', '?'))


def _mine(holder, me):
    return holder.get('pid') == me['pid'] and holder.get('start_time') == me['start_time']


def _create_lock(path, me):
    """Create the lock file with its content in one step; False if a lock file exists already.

    The content is written to a temporary file first and hard-linked into place: link() fails when the name exists
    (whatever it is, symlinks included) and other runs never see a lock file without its owner in it.
    """
    handle, temp = tempfile.mkstemp(prefix=LOCK_NAME + '.', dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as out:
            json.dump(me, out)
            out.flush()
            os.fsync(out.fileno())
            os.fchmod(out.fileno(), 0o644)
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(temp)
    return True


def _open_lock(path):
    """The existing lock file, opened read-write and locked with flock, or None when it vanished meanwhile.

    flock only serialises the short read-check-rewrite of a take-over or release between runs (the lock of the
    run itself is the file's content: the ansible-playbook process that owns it cannot hold a flock for us).
    """
    try:
        handle = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise ReportDirError('%s is a symlink, not a lock file of this collection; remove it' % path) from None
        raise
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise ReportDirError('%s is not a lock file of this collection (not a regular file owned by %s); remove '
                                 'it' % (path, _user_name(os.geteuid())))
        fcntl.flock(handle, fcntl.LOCK_EX)
        # Released and removed (or replaced) while we waited for the flock: look again.
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) != (info.st_dev, info.st_ino):
            os.close(handle)
            return None
    except FileNotFoundError:
        os.close(handle)
        return None
    except BaseException:
        os.close(handle)
        raise
    return handle


def _owner_record(owner):
    return {'pid': owner, 'start_time': process_start(owner), 'started': _now(), 'user': _user_name(os.geteuid())}


def _try_lock(path, me):
    """One attempt: (Lock, None) when the lock is ours now, (None, holder) when a live run holds it."""
    while True:
        if _create_lock(path, me):
            return Lock(path, True, None), None
        handle = _open_lock(path)
        if handle is None:
            continue
        try:
            holder = _read_lock(handle)
            if _mine(holder, me):
                return Lock(path, False, None), None
            if _alive(holder):
                return None, holder
            # The run that took it is gone without releasing it (killed, or a playbook without the release step).
            os.ftruncate(handle, 0)
            os.lseek(handle, 0, os.SEEK_SET)
            os.write(handle, json.dumps(me).encode('utf-8'))
            os.fsync(handle)
            return Lock(path, True, 'took over the report lock %s of a run that has ended (%s)'
                        % (path, _describe(holder) if holder else 'unreadable lock file')), None
        finally:
            os.close(handle)


def acquire_lock(directory, owner, wait_seconds=0):
    """Take the lock of `directory` for the process `owner` (the ansible-playbook process) and return a Lock.

    Re-entrant: a lock the same owner holds already is kept (acquired=False). A lock whose owner has ended (or whose
    PID now belongs to a process started at another time) is taken over, with a warning. A lock of another live run
    is waited for up to `wait_seconds` (0: not at all), then LockBusy names that run.
    """
    path = os.path.join(directory, LOCK_NAME)
    me = _owner_record(owner)
    if me['start_time'] is None and os.path.isdir('/proc/self'):
        raise ReportDirError('cannot lock %s: the owner process %d does not exist' % (directory, owner))
    deadline = time.monotonic() + max(wait_seconds, 0)
    while True:
        try:
            lock, holder = _try_lock(path, me)
        except OSError as err:
            raise _refuse(directory, 'cannot take the lock %s: %s' % (path, _os_reason(err))) from None
        if lock is not None:
            return lock
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(POLL_SECONDS, remaining))
    waited = ' after waiting %d s' % wait_seconds if wait_seconds > 0 else ''
    raise LockBusy('another run is writing its report into %s (%s)%s. Wait for it to end, give this run its own '
                   'report_dir, or set a lock wait (report_lock_wait / lock_wait) to wait for it. If no such run '
                   'exists any more, remove %s.' % (directory, _describe(holder), waited, path))


def release_lock(directory, owner):
    """Remove the lock of `directory` if `owner` holds it; True when it did. Another run's lock is never touched."""
    path = os.path.join(directory, LOCK_NAME)
    me = {'pid': owner, 'start_time': process_start(owner)}
    try:
        handle = _open_lock(path)
    except ReportDirError:
        return False
    except OSError as err:
        raise _refuse(directory, 'cannot release the lock %s: %s' % (path, _os_reason(err))) from None
    if handle is None:
        return False
    try:
        if not _mine(_read_lock(handle), me):
            return False
        # Removed while still flocked: a run waiting to take it over then sees the name gone and creates its own.
        os.unlink(path)
        return True
    finally:
        os.close(handle)
