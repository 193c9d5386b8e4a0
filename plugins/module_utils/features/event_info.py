# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""event_info: event log records of one log within a time window, newest first."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_queries as hq

ARGUMENT_SPEC = dict(
    log=dict(type='str', default='Application'),
    sources=dict(type='list', elements='str', default=[]),
    event_ids=dict(type='list', elements='int', default=[]),
    window_hours=dict(type='int', default=72),
)
SUPPORTS_CHECK_MODE = True


def check_params(params, host):
    hq.check_name(host, params['log'], 'log')
    for source in params['sources']:
        hq.check_name(host, source, 'sources')
    bad = [event_id for event_id in params['event_ids'] if isinstance(event_id, bool) or not 0 <= event_id <= 65535]
    if bad:
        raise errors.InvalidOption('event_ids must be numbers from 0 to 65535, got %r' % (bad[0],), host=host)
    hq.check_window(host, params['window_hours'], 'window_hours')


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only, one request. The window is never open-ended: big logs make unbounded queries slow. When WMI refuses
    the query (timeout or quota on a big log, the Security log without its privilege) the answer is a gap, not a
    failure, and a warning says so."""
    log = params['log']
    since = hq.since_hours(params['window_hours'])
    gaps = []
    events = hq.read_events_tolerant(client, since, gaps, log=log, sources=params['sources'], event_ids=params['event_ids'])
    result = {
        'changed': False,
        'host': client.host,
        'log': log,
        'since': since.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'events': events or [],
        'gaps': gaps,
    }
    if gaps:
        result['warnings'] = ['The %s log of %s could not be read: %s.' % (log, client.host, gaps[0]['error'])]
    return result
