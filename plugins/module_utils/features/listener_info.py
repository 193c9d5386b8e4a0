# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""listener_info: who listens on a TCP port, with the process, its services and, when none, its parent."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import host_queries as hq

ARGUMENT_SPEC = dict(
    port=dict(type='int', default=25),
)
SUPPORTS_CHECK_MODE = True


def check_params(params, host):
    hq.check_port(host, params['port'])


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only. Up to three requests: listeners, processes, then only the services of the PIDs found."""
    port = params['port']
    gaps = []
    raw = hq.read_listeners(client, port)
    processes = services = []
    if raw:
        processes = hq.tolerant(gaps, hq.PROCESS_CLASS, hq.read_processes, client)
        pids = {item['pid'] for item in raw}
        pids.update(p['parent_pid'] for p in processes or () if p['pid'] in pids and p['parent_pid'])
        services = hq.tolerant(gaps, hq.SERVICE_CLASS, hq.read_services, client, pids=sorted(pids))
    listeners = hq.assemble_listeners(raw, processes, services)
    return {
        'changed': False,
        'host': client.host,
        'port': port,
        'listening': bool(listeners),
        'listeners': listeners,
        'gaps': gaps,
    }
