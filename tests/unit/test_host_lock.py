# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-host locks on the controller: two tasks that change one host take turns, across processes, in any name order."""
from __future__ import annotations

import multiprocessing
import os
import time

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_lock


def _hold(base, names, seconds, ready):
    with host_lock.hosts_locked(names, 5, base=str(base)):
        ready.set()
        time.sleep(seconds)


def holder(tmp_path, names, seconds):
    ready = multiprocessing.Event()
    process = multiprocessing.Process(target=_hold, args=(tmp_path, names, seconds, ready))
    process.start()
    assert ready.wait(10)
    return process


def test_a_second_task_waits_for_the_first(tmp_path):
    process = holder(tmp_path, ['ex55-a', 'PROXY01'], 1.0)
    started = time.monotonic()
    with host_lock.hosts_locked(['proxy01', 'ex55-b'], 10, base=str(tmp_path)):   # the shared proxy, another case
        waited = time.monotonic() - started
    process.join(10)
    assert waited > 0.5


def test_other_hosts_do_not_wait(tmp_path):
    process = holder(tmp_path, ['ex55-a', 'proxy01'], 2.0)
    started = time.monotonic()
    with host_lock.hosts_locked(['ex55-b', 'proxy02', None], 10, base=str(tmp_path)):
        waited = time.monotonic() - started
    process.join(10)
    assert waited < 1.0


def test_the_wait_is_bounded_and_names_the_busy_host(tmp_path):
    process = holder(tmp_path, ['proxy01'], 3.0)
    with pytest.raises(errors.Port25Error) as info:
        with host_lock.hosts_locked(['proxy01'], 1, base=str(tmp_path)):
            pass
    process.join(10)
    assert 'another task of this controller is changing proxy01; waited 1 s for it (nothing was changed)' in str(info.value)


def test_a_lock_directory_others_can_write_is_refused(tmp_path):
    directory = tmp_path / ('mailops.port25-locks-%d' % os.getuid())
    directory.mkdir(mode=0o777)
    os.chmod(str(directory), 0o777)
    with pytest.raises(errors.Port25Error) as info:
        with host_lock.hosts_locked(['x'], 1, base=str(tmp_path)):
            pass
    assert 'is not a private directory of this user' in str(info.value)


def test_no_names_no_lock(tmp_path):
    with host_lock.hosts_locked([None, ''], 1, base=str(tmp_path)):
        pass
    assert list(tmp_path.iterdir()) == []
