# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What we ask a Windows host, and the plain dicts we turn the answers into.

Every query is one WS-Man Enumerate with a WQL filter and a property list (the projection keeps the
answers small). User text enters a query only through ``wql.quote``/``wql.like_pattern``; numbers are
formatted from Python ints. Normalised values follow docs/architecture.md: service ``state`` in
snake case, ``start_mode`` lower case, times ISO 8601 UTC with ``Z``.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, cim, errors, wql

CIMV2 = 'root/cimv2'
STANDARDCIMV2 = 'root/standardcimv2'

LISTENER_CLASS = 'MSFT_NetTCPConnection'
SERVICE_CLASS = 'Win32_Service'
PROCESS_CLASS = 'Win32_Process'
EVENT_CLASS = 'Win32_NTLogEvent'
DEPENDENCY_CLASS = 'Win32_DependentService'

LISTENER_PROPERTIES = ('LocalAddress', 'LocalPort', 'OwningProcess')
# Win32_Service projections; every answer goes through normalise_service (one dict shape).
# The service_info view.
SERVICE_PROPERTIES = ('Name', 'DisplayName', 'State', 'StartMode', 'DelayedAutoStart', 'ProcessId', 'PathName')
# What the diagnosis needs: the smallest answer (a host has 150-300 services).
SERVICE_BRIEF = ('Name', 'State', 'StartMode', 'ProcessId')
# What a port holder read needs: the brief view and the image path (a stopped mail service's Wspcfg.ini sits next to it).
SERVICE_HOLDER = SERVICE_BRIEF + ('PathName',)
# What the service method calls need: the exit codes say why a service stopped again right after a start.
# (DelayedAutoStart is left out: ChangeStartMode cannot set it.)
SERVICE_CONTROL = SERVICE_BRIEF + ('ExitCode', 'ServiceSpecificExitCode')
# Win32_Service.DelayedAutoStart exists from Windows Server 2016 on; asking older hosts for it is an invalid query.
DELAYED_AUTO_START = 'DelayedAutoStart'
PROCESS_PROPERTIES = ('ProcessId', 'Name', 'ExecutablePath', 'ParentProcessId')
# InsertionStrings: the strings the message was formatted from; the only text when the source's message file cannot be
# loaded on the host (Message is then null).
EVENT_PROPERTIES = ('Logfile', 'SourceName', 'EventCode', 'Type', 'TimeGenerated', 'Message', 'InsertionStrings', 'RecordNumber')

# Win32_Service.State -> normalised spelling (one mapping for the whole collection).
SERVICE_STATES = {
    'running': 'running',
    'stopped': 'stopped',
    'start pending': 'start_pending',
    'stop pending': 'stop_pending',
    'continue pending': 'continue_pending',
    'pause pending': 'pause_pending',
    'paused': 'paused',
}
# Win32_Service.StartMode -> normalised spelling.
START_MODES = {'auto': 'auto', 'automatic': 'auto', 'manual': 'manual', 'disabled': 'disabled', 'boot': 'boot', 'system': 'system'}

# WSManFault predicates a tolerant read turns into a gap (see tolerant()).
READ_FAULTS = ('is_access_denied', 'is_timed_out')
# Win32_DependentService also may not exist on a host (invalid filter). The service module and service_info agree:
# a dependency read that fails this way is a gap and the task goes on. That is safe for the service module too,
# because StopService itself refuses (ReturnValue 3) while services that depend on the service still run.
DEPENDENCY_FAULTS = READ_FAULTS + ('is_invalid_filter',)

# WMI's refusals of an event log query (WMI error constants, WbemErrorEnum documentation): the quota violation
# WBEM_E_QUOTA_VIOLATION (older Windows), the same quota as Server 2012 and later report it (w:InternalError with only
# an MSFT_WmiError, error code ERROR_WSMAN_QUOTA_MAX_OPERATIONS), and WBEM_E_PRIVILEGE_NOT_HELD (the Security log
# needs SeSecurityPrivilege).
WBEM_E_QUOTA_VIOLATION = 0x8004106C
WSMAN_QUOTA_MAX_OPERATIONS = 2150859174
WBEM_E_PRIVILEGE_NOT_HELD = 0x80041062

# MSFT_NetTCPConnection.State: 2 = Listen (MSFT_NetTCPConnection class documentation).
TCP_STATE_LISTEN = 2

# WinSock error codes (WSA*): 10004-10112 and 11001-11031; a number in this range in an event message
# is the code the KB's events carry (4007 "... listener socket. 10048", 1019 "(Error: 10048)").
_WINSOCK = re.compile(r'(?<![\d.:])(1[01]\d{3})(?![\d.:]\d)')
_NETSTAT_LINE = re.compile(r'^\s*TCP\s+(\S+):(\d+)\s+(\S+):(\d+)\s+\S+\s+(\d+)\s*$', re.IGNORECASE)


# ------------------------------------------------------------------------------------------------ options
# Checks made before the client exists (the features' check_params), so bad input changes nothing and costs no round
# trip. ``host`` names the host in the error.

def _invalid(host, msg):
    return errors.InvalidOption(msg, host=getattr(host, 'host', host))


def check_port(host, port):
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _invalid(host, 'port must be a TCP port number from 1 to 65535, got %r' % (port,))
    return port


def check_window(host, hours, option):
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 366:
        raise _invalid(host, '%s must be a number of hours from 1 to 8784, got %r' % (option, hours))
    return hours


def check_name(host, name, option):
    """A service or source name: None stays None; anything that cannot be quoted safely is refused."""
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise _invalid(host, '%s must be a non-empty name' % option)
    try:
        wql.quote(name, option)
    except errors.InvalidOption as exc:
        raise _invalid(host, exc.msg) from None
    return name


def check_catalogue(host, entries):
    try:
        return antivirus.Catalogue(entries)
    except errors.InvalidOption as exc:
        raise _invalid(host, exc.msg) from None


# ------------------------------------------------------------------------------------------------ values

def to_bool(value):
    if value is None:
        return None
    return str(value).strip().lower() in ('true', '1')


def winsock_error(message):
    """The WinSock error code a message carries, or None."""
    for match in _WINSOCK.finditer(message or ''):
        code = int(match.group(1))
        if 10004 <= code <= 10112 or 11001 <= code <= 11031:
            return code
    return None


def _pid(value):
    # Stopped services report ProcessId 0: no process.
    pid = cim.to_int(value)
    return pid or None


def normalise_state(value):
    if value is None:
        return 'unknown'
    return SERVICE_STATES.get(str(value).strip().lower(), 'unknown')


def normalise_start_mode(value):
    if value is None:
        return None
    return START_MODES.get(str(value).strip().lower(), str(value).strip().lower())


def normalise_service(item):
    """A Win32_Service instance (as the client returns it) -> the collection's service dict.

    Properties the query did not ask for come back as None.
    """
    return {
        'name': item.get('Name'),
        'exists': True,
        'display_name': item.get('DisplayName'),
        'state': normalise_state(item.get('State')),
        'start_mode': normalise_start_mode(item.get('StartMode')),
        'delayed_auto_start': to_bool(item.get('DelayedAutoStart')),
        'pid': _pid(item.get('ProcessId')),
        'path': item.get('PathName'),
        'exit_code': cim.to_int(item.get('ExitCode')),
        'service_specific_exit_code': cim.to_int(item.get('ServiceSpecificExitCode')),
    }


def missing_service(name):
    """The service dict of a service the host does not have."""
    return {'name': name, 'exists': False, 'display_name': None, 'state': None, 'start_mode': None, 'delayed_auto_start': None,
            'pid': None, 'path': None, 'exit_code': None, 'service_specific_exit_code': None}


def normalise_process(item):
    return {
        'pid': cim.to_int(item.get('ProcessId')),
        'name': item.get('Name'),
        'path': item.get('ExecutablePath'),
        'parent_pid': cim.to_int(item.get('ParentProcessId')),
    }


def normalise_listener(item):
    return {'local_address': item.get('LocalAddress'), 'local_port': cim.to_int(item.get('LocalPort')), 'pid': cim.to_int(item.get('OwningProcess'))}


def normalise_event(item):
    """A Win32_NTLogEvent instance -> the collection's event dict; the time in UTC whatever the host's zone."""
    message = item.get('Message')
    strings = [text for text in cim.as_list(item.get('InsertionStrings')) if text is not None]
    kind = (item.get('Type') or '').strip().lower()
    return {
        'log': item.get('Logfile'),
        'source': item.get('SourceName'),
        'event_id': cim.to_int(item.get('EventCode')),
        'type': kind.replace('security ', '').replace(' ', '_') or None,
        'time': cim.to_utc_iso(item.get('TimeGenerated')),
        'message': message,
        'insertion_strings': strings,
        # The message names the code when the host could format it; otherwise the code is one of the strings.
        'winsock_error': winsock_error(message) or next(filter(None, map(winsock_error, strings)), None),
        'record_number': cim.to_int(item.get('RecordNumber')),
    }


def newest_first(events):
    return sorted(events, key=lambda e: (e['time'] or '', e['record_number'] or 0), reverse=True)


def parse_netstat(text, port):
    """Listening TCP sockets on ``port`` (a number or a list) from ``netstat -ano`` output.

    A listening socket has foreign port 0; that test does not depend on the (localised) state word.
    """
    found = []
    ports = _ports(port)
    for line in (text or '').splitlines():
        match = _NETSTAT_LINE.match(line)
        if not match:
            continue
        address, local_port, _remote, remote_port, pid = match.groups()
        if int(local_port) in ports and remote_port == '0':
            found.append({'local_address': address.strip('[]'), 'local_port': int(local_port), 'pid': int(pid)})
    return found


# ------------------------------------------------------------------------------------------------ queries

def _ports(port):
    """A port or a list of ports as a sorted list of ints."""
    return sorted(set(int(p) for p in (port if isinstance(port, (list, tuple, set)) else [port])))


def listener_query(port):
    """Listening sockets on ``port`` (a number or a list of numbers: one query for every listener of a profile)."""
    ports = _ports(port)
    local = ('LocalPort = %d' % ports[0] if len(ports) == 1
             else '(' + ' OR '.join('LocalPort = %d' % number for number in ports) + ')')
    return wql.select(LISTENER_CLASS, LISTENER_PROPERTIES, '%s AND State = %d' % (local, TCP_STATE_LISTEN))


def service_query(names=None, patterns=None, pids=None, properties=SERVICE_BRIEF):
    """All services, or those with one of the names, matching one of the globs (``*``, ``?``) or PIDs."""
    clauses = []
    if names:
        clauses.append(wql.where_in('Name', names))
    for pattern in patterns or ():
        clauses.append('Name LIKE %s' % wql.like_pattern(pattern, 'name'))
    if pids:
        clauses.append('(' + ' OR '.join('ProcessId = %d' % int(pid) for pid in sorted(set(pids))) + ')')
    return wql.select(SERVICE_CLASS, properties, ' OR '.join(clauses) or None)


def process_query(pids=None, names=None):
    """All processes, or those with one of the PIDs or image names."""
    clauses = []
    if pids:
        clauses.append('(' + ' OR '.join('ProcessId = %d' % int(pid) for pid in sorted(set(pids))) + ')')
    if names:
        clauses.append(wql.where_in('Name', names))
    return wql.select(PROCESS_CLASS, PROCESS_PROPERTIES, ' OR '.join(clauses) or None)


def event_query(since, signatures=None, log=None, sources=None, event_ids=None):
    """Events generated at or after ``since`` (always bounded: unbounded event queries are slow).

    ``signatures`` (``profiles.EventSignature``) give ``(log, source, ids)`` triples; otherwise ``log``,
    ``sources`` and ``event_ids`` filter directly.
    """
    where = ['TimeGenerated >= %s' % wql.quote(wql.dmtf(since))]
    if signatures is not None:
        where.append('(' + ' OR '.join(
            '(Logfile = %s AND SourceName = %s AND %s)' % (wql.quote(sig.log, 'log'), wql.quote(sig.source, 'source'), _ids(sig.event_ids))
            for sig in signatures) + ')')
    else:
        if log:
            where.append('Logfile = %s' % wql.quote(log, 'log'))
        if sources:
            where.append(wql.where_in('SourceName', sources))
        if event_ids:
            where.append(_ids(event_ids))
    return wql.select(EVENT_CLASS, EVENT_PROPERTIES, ' AND '.join(where))


def _ids(event_ids):
    return '(' + ' OR '.join('EventCode = %d' % int(event_id) for event_id in event_ids) + ')'


# ------------------------------------------------------------------------------------------------ reads

def read_listeners(client, port):
    """Listening sockets on ``port``: MSFT_NetTCPConnection, or ``netstat -ano`` where that class's
    namespace does not exist (Windows Server 2008 R2 and older)."""
    try:
        items = client.enumerate(STANDARDCIMV2, listener_query(port))
    except errors.WSManFault as exc:
        if not (exc.is_invalid_namespace or exc.is_not_found):
            raise
        return read_listeners_netstat(client, port)
    return [normalise_listener(item) for item in items]


def read_listeners_netstat(client, port):
    code, stdout, stderr = client.run_command('netstat', ['-ano'])
    if code != 0:
        raise errors.ProtocolError('netstat -ano failed with exit code %s: %s' % (code, (stderr or '').strip()[:200]),
                                   host=getattr(client, 'host', None), operation='netstat')
    return parse_netstat(stdout, port)


def read_services(client, names=None, patterns=None, pids=None, properties=SERVICE_BRIEF):
    """Normalised services; properties not asked for come back as None."""
    try:
        items = client.enumerate(CIMV2, service_query(names, patterns, pids, properties))
    except errors.WSManFault as exc:
        if not (exc.is_invalid_filter and DELAYED_AUTO_START in properties):
            raise
        # Windows Server 2012 R2 and older: no DelayedAutoStart (one more request, on those hosts only).
        properties = tuple(name for name in properties if name != DELAYED_AUTO_START)
        items = client.enumerate(CIMV2, service_query(names, patterns, pids, properties))
    return [normalise_service(item) for item in items]


def read_services_by_name(client, names, properties=SERVICE_BRIEF):
    """Services by exact name in one query: {lower-case name: service dict}; a missing one has ``exists`` False."""
    names = list(names)
    found = {}
    if names:  # no names would be a query for every service
        found = {service['name'].lower(): service for service in read_services(client, names=names, properties=properties)}
    return {name.lower(): found.get(name.lower()) or missing_service(name) for name in names}


def read_processes(client, pids=None, names=None):
    """Normalised processes: all of them, or those with one of the PIDs or image names."""
    return [normalise_process(item) for item in client.enumerate(CIMV2, process_query(pids, names))]


def read_events(client, since, **filters):
    return newest_first([normalise_event(item) for item in client.enumerate(CIMV2, event_query(since, **filters))])


def _event_log_refusal(exc):
    """What an event log fault means for the operator, or None when it is not one a big or closed log causes."""
    if exc.is_timed_out:
        return ('the event log query did not finish within the operation timeout (a big log): narrow the window or '
                'raise winrm_operation_timeout')
    if exc.wsman_code == WBEM_E_QUOTA_VIOLATION or (exc.wsman_code == WSMAN_QUOTA_MAX_OPERATIONS and exc.is_internal_error):
        return 'WMI stopped the event log query at its quota (a big log): narrow the window'
    if exc.wsman_code == WBEM_E_PRIVILEGE_NOT_HELD:
        return 'the account does not hold SeSecurityPrivilege, which the Security log needs'
    if exc.is_access_denied:
        return exc.meaning or exc.msg
    return None


def read_events_tolerant(client, since, gaps, **filters):
    """read_events, or None with a Win32_NTLogEvent gap saying why when WMI refuses the query (timeout, quota,
    privilege, access denied): the rest of an answer stays useful."""
    try:
        return read_events(client, since, **filters)
    except errors.WSManFault as exc:
        meaning = _event_log_refusal(exc)
        if meaning is None:
            raise
        gaps.append(gap(EVENT_CLASS, exc, meaning))
        return None


def read_dependents(client):
    """``{antecedent service name (lower case): [dependent service names]}`` from Win32_DependentService."""
    dependents = {}
    for item in client.enumerate(CIMV2, wql.select(DEPENDENCY_CLASS)):
        antecedent, dependent = _reference_name(item.get('Antecedent')), _reference_name(item.get('Dependent'))
        if antecedent and dependent:
            dependents.setdefault(antecedent.lower(), []).append(dependent)
    return dependents


def read_dependents_tolerant(client, gaps):
    """read_dependents, or None with a gap when Win32_DependentService cannot be read (DEPENDENCY_FAULTS)."""
    return tolerant(gaps, DEPENDENCY_CLASS, read_dependents, client, tolerate=DEPENDENCY_FAULTS)


def _reference_name(value):
    """The ``Name`` selector of a CIM reference: an EPR (cim.py renders its SelectorSet as {key: value}) or a WMI path."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == 'Name':
                return inner if isinstance(inner, str) else None
            found = _reference_name(inner)
            if found:
                return found
        return None
    match = re.search(r'Name\s*=\s*"([^"]*)"', value or '')
    return match.group(1) if match else None


def read_port_holders(client, port, gaps, names=(), catalogue=None):
    """Listeners on ``port`` (a number or a list) with the processes and services that explain them, in narrow reads,
    each tolerant (``gaps``).

    Windows answers an enumeration of many instances with one item, then Pulls: every query costs two requests, so
    only what a verdict needs is asked. Services: those called ``names``, the antivirus ``catalogue``'s and those
    hosted in a listening process. Processes: the listening ones and the catalogue's images of products no running
    service already showed. A listening process that hosts no service brings the services of its parent (one more
    read, only then) and, when the parent hosts one, the parent process (one more).
    Returns ``(listeners, services, processes)``; services and processes are None
    when they could not be read.
    """
    raw = tolerant(gaps, LISTENER_CLASS, read_listeners, client, port) or []
    pids = sorted(set(item['pid'] for item in raw if item.get('pid')))     # never 0: every stopped service has it
    wanted = _unique(list(names) + (catalogue.service_names() if catalogue else []))
    services = []
    if wanted or pids:
        services = tolerant(gaps, SERVICE_CLASS, read_services, client, names=wanted, pids=pids, properties=SERVICE_HOLDER)
    images = _unique(catalogue.images_not_shown_by(services or ())) if catalogue else []
    processes = []
    if pids or images:
        processes = tolerant(gaps, PROCESS_CLASS, read_processes, client, pids=pids, names=images)
    parents = _unexplained_parents(pids, services, processes)
    if parents:
        hosted = tolerant(gaps, SERVICE_CLASS, read_services, client, pids=parents, properties=SERVICE_HOLDER)
        services = None if hosted is None else _unique_services(services + hosted)
        # the parent's name and path only where it hosts a service (the verdict names that process)
        hosts = sorted(set(service['pid'] for service in hosted or () if service.get('pid')))
        more = tolerant(gaps, PROCESS_CLASS, read_processes, client, pids=hosts) if hosts else []
        processes = None if more is None else processes + more
    return assemble_listeners(raw, processes, services), services, processes


def _unique(names):
    seen, out = set(), []
    for name in names:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


def _unique_services(services):
    found = {}
    for service in services:
        found.setdefault((service.get('name') or '').lower(), service)
    return list(found.values())


def _unexplained_parents(pids, services, processes):
    """Parents of listening processes that host no service (a worker such as EdgeTransport.exe), not read yet."""
    if services is None or processes is None:
        return []
    hosted = services_by_pid(services)
    known = set(process['pid'] for process in processes)
    parents = set()
    for process in processes:
        if process['pid'] in pids and not hosted.get(process['pid']) and process.get('parent_pid'):
            parents.add(process['parent_pid'])
    return sorted(parents - known)


def since_hours(hours, now=None):
    """The start of a window of ``hours`` ending now (UTC)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now - datetime.timedelta(hours=hours)


def gap(class_name, exc, meaning=None):
    """The ``gaps`` entry for a class that could not be read (``meaning`` says why better than the fault's code)."""
    code = ' %s' % exc.wsman_code if exc.wsman_code is not None else ''
    return {'class': class_name,
            'error': '%s (WSManFault%s%s)' % (meaning or exc.meaning or exc.msg, code, ', %s' % exc.fault_code if exc.fault_code else '')}


def tolerant(gaps, class_name, read, *args, tolerate=READ_FAULTS, **kwargs):
    """Run one read; when it fails with a fault ``tolerate`` names, record a gap and return None.

    ``tolerate``: WSManFault predicates, as property names (``'is_access_denied'``) or callables taking the fault;
    by default access denied and timed out. Other faults propagate. The rest of the answer stays useful: callers
    report the gap (``gaps`` list) instead of failing.
    """
    try:
        return read(*args, **kwargs)
    except errors.WSManFault as exc:
        if not any(test(exc) if callable(test) else getattr(exc, test) for test in tolerate):
            raise
        gaps.append(gap(class_name, exc))
        return None


# ------------------------------------------------------------------------------------------------ assembly

def services_by_pid(services):
    by_pid = {}
    for service in services or ():
        if service.get('pid'):
            by_pid.setdefault(service['pid'], []).append(service['name'])
    return {pid: sorted(names, key=str.lower) for pid, names in by_pid.items()}


def assemble_listeners(listeners, processes, services):
    """Listeners with their process, the services hosted in it and, when none is, the parent process.

    ``processes``/``services`` may be None (not readable): the fields they feed are then null/empty.
    """
    procs = {p['pid']: p for p in processes or ()}
    hosted = services_by_pid(services)
    result = []
    for listener in listeners:
        pid = listener['pid']
        process = procs.get(pid)
        names = hosted.get(pid, [])
        parent = None
        if not names and process and process.get('parent_pid'):
            parent_pid = process['parent_pid']
            parent_proc = procs.get(parent_pid, {})
            parent = {'pid': parent_pid, 'name': parent_proc.get('name'), 'path': parent_proc.get('path'),
                      'services': hosted.get(parent_pid, [])}
        result.append(dict(listener, process=dict(process) if process else None, services=names, parent_process=parent))
    return result
