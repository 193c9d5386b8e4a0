# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stateful Windows host (early contract version: builds from the spec and keeps the state file)."""
from __future__ import annotations

import json
import os
import tempfile


class Host:
    """One simulated Windows host."""

    def __init__(self, spec, state_dir):
        self.spec = spec
        self.state_dir = state_dir
        self.hostname = spec.hostname
        self.services = {s['name'].lower(): dict(s) for s in spec.services}

    @classmethod
    def open(cls, spec, state_dir):
        host = cls(spec, state_dir)
        path = host.state_path
        if path and os.path.exists(path):
            with open(path, encoding='utf-8') as handle:
                host.services = json.load(handle)['services']
        else:
            host.save()
        return host

    @property
    def state_path(self):
        return os.path.join(self.state_dir, self.spec.name + '.json') if self.state_dir else None

    def save(self):
        if not self.state_dir:
            return
        os.makedirs(self.state_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix='.' + self.spec.name, suffix='.tmp')
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            json.dump({'hostname': self.hostname, 'services': self.services}, handle)
        os.replace(tmp, self.state_path)
