# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""winlab: a WinRM endpoint that plays Windows hosts (test equipment, not shipped). See docs/lab.md."""
from __future__ import annotations

import os


def write_file_atomic(path, data, mode=0o600):
    """Replace `path` with `data` (bytes or str) in one step; readers never see a half-written file.

    Mode 0600 by default: the lab's files hold keys and lab passwords."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):     # a full disk leaves no stray temporary file behind
            os.unlink(tmp)
        raise
