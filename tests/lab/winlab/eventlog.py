# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event log as WMI's Win32_NTLogEvent provider reads it: generated records, scan cost, refusals.

A host's log is the scenario's events plus ``event_log.records`` generated Application records (never stored:
record i is computed from i), spread evenly over ``event_log.span`` before the oldest scenario event. The provider
walks each log it must read newest record first and stops at the first record older than the query's
``TimeGenerated >=`` bound (Win32_NTLogEvent documentation: an unbounded query reads the whole log), so a query
costs ``scan_us_per_record`` per record read. What it reads beyond ``quota_records`` fails with a WMI quota
violation; what costs more than the request's OperationTimeout fails with w:TimedOut (DSP0226 / MS-WSMV: the
service answers TimedOut when the operation does not finish in time). The Security log needs SeSecurityPrivilege:
a query naming it on a host whose account does not hold the privilege is refused (WBEM_E_PRIVILEGE_NOT_HELD);
a query that does not name a log skips it, as the provider skips a log it cannot open.
"""
from __future__ import annotations

import datetime

from winlab import wql
from winlab.model import GENERATED_LOG

SECURITY = 'security'
# What a busy Exchange server writes to its Application log every few minutes (source, id, type, message with %n,
# insertion strings); none of them is a bind failure.
_ROUTINE = (
    ('MSExchange ADAccess', 2080, 'information',
     'Process %1 (PID=%2). Exchange Active Directory Provider has discovered the following servers.',
     ('Microsoft.Exchange.Directory.TopologyService.exe', '2312')),
    ('ESENT', 326, 'information', '%1 (%2) %3The database engine attached a database (%4, %5).',
     ('svchost', '1024,D,50', 'SRUJet: ', '1', 'C:\\Windows\\system32\\SRU\\SRUDB.dat')),
    ('MSExchangeFastSearch', 1009, 'information', 'The indexing of mailbox database %1 has been resumed.',
     ('Mailbox Database 0123456789',)),
    ('Microsoft-Windows-Security-SPP', 16384, 'information',
     'Successfully scheduled Software Protection service for re-start at %1. Reason: %2.',
     ('2026-12-01T08:00:00Z', 'RulesEngine')),
)


class Refusal(Exception):
    """WMI refused the query: ``kind`` is 'timeout', 'quota' or 'privilege'; ``delay`` the seconds spent first."""

    def __init__(self, kind, delay):
        super().__init__(kind)
        self.kind = kind
        self.delay = delay


def host_zone(host):
    return datetime.timezone(datetime.timedelta(minutes=host.spec.utc_offset_minutes))


def format_message(template, strings):
    """'%1 ... %2' filled from the insertion strings, as FormatMessage does with the source's message file."""
    text = template
    for number in range(len(strings), 0, -1):      # %10 before %1
        text = text.replace('%%%d' % number, strings[number - 1])
    return text


KINDS = len(_ROUTINE)
VARYING = ('RecordNumber', 'TimeGenerated', 'TimeWritten')     # what differs between generated records of one kind


class Generated:
    """The generated records of one host: record numbers 1..count of the Application log, oldest first; ``taken``
    (set by records()) is how many of the newest a query reads, newest first."""

    def __init__(self, host):
        spec = host.spec
        self.taken = 0
        self.count = spec.event_log['records']
        own = [raw['time'] for raw in spec.events if raw['log'] == GENERATED_LOG]
        self.newest = host.epoch + min(own + [0.0]) - 60.0
        self.step = spec.event_log['span'] / max(self.count, 1)

    def time(self, record):
        return self.newest - (self.count - record) * self.step

    def since(self, epoch_seconds):
        """How many generated records (the newest) were written at or after epoch_seconds."""
        if epoch_seconds is None or not self.count:
            return self.count
        if epoch_seconds > self.newest:
            return 0
        return min(self.count, int((self.newest - epoch_seconds) // self.step) + 1)

    def event(self, record):
        source, event_id, kind, template, strings = _ROUTINE[record % KINDS]
        return {'record': record, 'log': GENERATED_LOG, 'source': source, 'event_id': event_id, 'type': kind,
                'time': self.time(record), 'message': format_message(template, strings), 'strings': list(strings)}

    def numbers(self):
        """The record numbers a query reads, newest first."""
        return range(self.count, self.count - self.taken, -1)


def records(host, query, schema):
    """The host's records the provider reads for ``query``, in WMI's order (logs by name, newest first), and how many
    it reads; raises Refusal('privilege') for a Security query without the privilege. The generated records come as
    one Generated entry (its ``taken`` newest ones) in their place."""
    logs = wql.equal_values(query, schema, 'Logfile')
    closed = not host.spec.event_log['security_privilege']
    if closed and logs is not None and SECURITY in logs:
        raise Refusal('privilege', 0.0)
    bound = wql.lower_bound(query, schema, 'TimeGenerated')
    since = None if bound is None else bound.timestamp()
    generated = Generated(host)
    by_log = {}
    for event in host.events:
        by_log.setdefault(event['log'], []).append(event)
    if generated.count:
        by_log.setdefault(GENERATED_LOG, [])
    out = []
    scanned = 0
    for log in sorted(by_log, key=str.lower):
        if (logs is not None and log.lower() not in logs) or (closed and log.lower() == SECURITY):
            continue
        for event in sorted(by_log[log], key=lambda e: -e['record']):
            scanned += 1
            if since is not None and event['time'] < since:
                break
            out.append(event)
        else:
            if log == GENERATED_LOG and generated.count:
                taken = generated.since(since)
                # the provider reads one record past the bound before it stops
                scanned += min(generated.count, taken + (1 if since is not None else 0))
                generated.taken = taken
                out.append(generated)
    return out, scanned


def cost(host, scanned, timeout):
    """Seconds the provider spends reading ``scanned`` records; Refusal when it runs out of quota or of time."""
    settings = host.spec.event_log
    per_record = settings['scan_us_per_record'] / 1e6
    quota = settings['quota_records'] or None
    until_refusal = min(scanned, quota) if quota else scanned
    if until_refusal * per_record > timeout:
        raise Refusal('timeout', timeout)
    if quota and scanned > quota:
        raise Refusal('quota', quota * per_record)
    return scanned * per_record
