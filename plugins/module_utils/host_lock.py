# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One change at a time per Windows host, across the tasks of this controller.

Two mail hosts that share one proxy server run their tasks in parallel (Ansible forks); both would diagnose the
proxy's port 25 and change its SMTP service at the same time. A task that changes hosts holds an exclusive lock per
host (``fcntl.flock`` on a file named after the host) for its whole diagnose-change-verify, taken in sorted order so
that two tasks never wait on each other. The second task then sees what the first one did. Locks live in a directory
of the controller's temporary directory that only this user may use; other controllers are not serialised.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import tempfile
import time

from ansible_collections.mailops.port25.plugins.module_utils import errors

POLL = 0.2


def lock_dir(base=None):
    """``<tmp>/mailops.port25-locks-<uid>``, created 0700; refused when it is not a private directory of this user."""
    path = os.path.join(base or tempfile.gettempdir(), 'mailops.port25-locks-%d' % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise errors.Port25Error('the lock directory %s is not a private directory of this user; remove it' % path,
                                 operation='lock')
    return path


def _open(directory, name):
    path = os.path.join(directory, hashlib.sha256(name.lower().encode('utf-8')).hexdigest()[:32] + '.lock')
    return os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0), 0o600)


@contextlib.contextmanager
def hosts_locked(names, timeout, base=None, clock=time.monotonic, sleep=time.sleep):
    """Hold the lock of every named host (None and repeats ignored) until the block ends; waits at most ``timeout``
    seconds in all, then raises Port25Error naming the host that is busy."""
    wanted = sorted(set(str(name).lower() for name in names if name))
    directory = lock_dir(base) if wanted else None
    deadline = clock() + timeout
    held = []
    try:
        for name in wanted:
            descriptor = _open(directory, name)
            held.append(descriptor)
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if clock() >= deadline:
                        raise errors.Port25Error(
                            'another task of this controller is changing %s; waited %d s for it (nothing was changed)'
                            % (name, timeout), host=name, operation='lock') from None
                    sleep(POLL)
        yield
    finally:
        for descriptor in reversed(held):
            os.close(descriptor)   # closing releases the lock
