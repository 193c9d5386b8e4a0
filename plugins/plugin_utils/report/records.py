# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosts' records as Ansible holds them (``bind_conflict_result`` in hostvars) turned into a report model."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from ansible_collections.mailops.port25.plugins.plugin_utils.report import model

RECORD_VAR = 'bind_conflict_result'
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class RecordsError(ValueError):
    """The arguments do not describe hosts to report on; the message says which one is wrong."""


def collection_version(root=_ROOT) -> str:
    """Version of the installed collection (MANIFEST.json) or of the source tree (galaxy.yml)."""
    try:
        with open(os.path.join(root, 'MANIFEST.json'), encoding='utf-8') as handle:
            return str(json.load(handle)['collection_info']['version'])
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(root, 'galaxy.yml'), encoding='utf-8') as handle:
            for line in handle:
                match = re.match(r'^version:\s*["\']?([^"\'\s#]+)', line)
                if match:
                    return match.group(1)
    except OSError:
        pass
    return 'unknown'


def host_record(hostvars, host: str):
    """The host's record, None when it has none, or an error record for a host not in the inventory."""
    try:
        if host not in hostvars:
            return {'error': model.NOT_IN_INVENTORY}
    except TypeError:
        pass
    # Ansible's HostVars templates a whole value on item access (about 2 ms per host in ansible-core 2.19); raw_get()
    # hands out the fact as recorded, which is all the report needs, and never evaluates text from a host.
    raw_get = getattr(hostvars, 'raw_get', None)
    try:
        record = (raw_get(host) if callable(raw_get) else hostvars[host]).get(RECORD_VAR)
    except (KeyError, AttributeError):
        return None
    # Anything else (an undefined value, a string) is not a recorded result.
    return record if isinstance(record, Mapping) else None


def fleet_report(hosts, hostvars, generated, title=model.DEFAULT_TITLE, play_hosts=None, active_hosts=None, run=None) -> dict:
    """The report model of ``hosts`` read from ``hostvars``."""
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)):
        raise RecordsError('the input must be a list of host names, got %s' % type(hosts).__name__)
    if not isinstance(hostvars, Mapping) and not hasattr(hostvars, '__getitem__'):
        raise RecordsError('hostvars must be the hostvars mapping, got %s' % type(hostvars).__name__)
    if not generated or not isinstance(generated, str):
        raise RecordsError('generated (the report time, ISO 8601 UTC) is required')
    hosts = [str(h) for h in hosts]
    tracked = active_hosts is not None and play_hosts is not None
    active = set(str(h) for h in active_hosts or [])
    left_play = set(str(h) for h in play_hosts or []) - active if tracked else set()
    results = {h: host_record(hostvars, h) for h in hosts}
    return model.build_report(results, hosts, generated, title or model.DEFAULT_TITLE, collection_version(), left_play,
                              active if tracked else set(), run)
