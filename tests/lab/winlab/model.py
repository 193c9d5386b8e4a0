# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stateful Windows host: services, processes, TCP listeners and the event log, with SCM semantics.

Pending states are evaluated lazily against the host clock: every public call first completes the transitions
whose time has come. Every change is written to <state_dir>/<name>.json atomically (tmp file + os.replace),
and Host.open continues from that file, so a restarted lab loses nothing. ``observers`` are told after every change
(the SMTP wire listeners follow the listeners that way).

Remote binds (KB Q181420, Q222553): a service with ``remote_bind: {via: <proxy host>, ports: [...]}`` listens on those
ports of the proxy host, not on its own: the listener is added to the proxy (``link`` gives each host its peers),
owned there by the WinSock Proxy service's process. A start whose remote port is held on the proxy fails the way a
local bind failure does (1066 / 10048, the service's own events); a proxy whose WSPSRV does not run refuses the
connection (10061); a stop frees the proxy's port, and a stopped WSPSRV drops every remote bind it held.
"""
from __future__ import annotations

import json
import os
import threading
import time
import zlib

from winlab import write_file_atomic

STATE_FORMAT = 1
MAX_EVENTS = 500           # per host; the oldest records are dropped first, as a full log that overwrites does
BOOT_AGE = 3 * 86400       # the host booted three days before the lab started

# Win32_Service method return values (documented ReturnValue table of StartService/StopService/ChangeStartMode)
RC_SUCCESS = 0
RC_ACCESS_DENIED = 2
RC_DEPENDENT_SERVICES_RUNNING = 3
RC_CANNOT_ACCEPT_CONTROL = 5
RC_ALREADY_RUNNING = 10
RC_DEPENDENCY_FAILURE = 13
RC_DISABLED = 14
RC_INVALID_PARAMETER = 21

ERROR_SERVICE_SPECIFIC_ERROR = 1066
WSAEADDRINUSE = 10048
WSAECONNREFUSED = 10061
PROXY_SERVICE = 'wspsrv'      # the WinSock Proxy service of Proxy Server 2.0
WSAEADDRINUSE_TEXT = 'Only one usage of each socket address (protocol/network address/port) is normally permitted.'

RUNNING = 'Running'
STOPPED = 'Stopped'
START_PENDING = 'Start Pending'
STOP_PENDING = 'Stop Pending'

START_MODE_IN = {'boot': 'Boot', 'system': 'System', 'automatic': 'Auto', 'manual': 'Manual', 'disabled': 'Disabled'}
SCENARIO_MODES = {'auto': 'Auto', 'manual': 'Manual', 'disabled': 'Disabled', 'boot': 'Boot', 'system': 'System'}
# the words the Service Control Manager uses in event 7040
MODE_WORDS = {'Boot': 'boot start', 'System': 'system start', 'Auto': 'auto start', 'Manual': 'demand start',
              'Disabled': 'disabled'}
SCM = 'Service Control Manager'
GENERATED_LOG = 'Application'     # the log scenario field event_log.records fills


def image_name(process_key):
    """'svchost.exe -k netsvcs' -> 'svchost.exe'."""
    return process_key.split()[0]


def executable_path(path_name):
    """PathName -> the executable: strips quotes and arguments ('"C:\\a b\\x.exe" -k' -> 'C:\\a b\\x.exe')."""
    if path_name.startswith('"'):
        end = path_name.find('"', 1)
        return path_name[1:end] if end > 0 else path_name[1:]
    lower = path_name.lower()
    idx = lower.find('.exe')
    return path_name[:idx + 4] if idx >= 0 else path_name.split()[0]


class Host:
    """One simulated Windows host (thread-safe: callers hold no lock, every method takes self.lock)."""

    def __init__(self, spec, state_dir, clock=None):
        self.spec = spec
        self.state_dir = state_dir
        self.hostname = spec.hostname
        self.address = spec.address       # the fleet sets the address it assigned (faults' Machine, TCP table)
        self.clock = clock or time.time
        self.lock = threading.RLock()
        self.requests_seen = 0            # WS-Man requests handled (internal_error_requests fault counter)
        self.operations_in_flight = 0     # WS-Man requests being served now (the HTTP layer counts them)
        self.epoch = 0.0
        self.boot = 0.0
        self.next_pid = 0
        self.services = {}                # lower name -> dict, in scenario order
        self.processes = {}               # pid -> dict, in creation order
        self.listeners = []               # dicts: port, pid, owner, created
        self.events = []                  # dicts, oldest first
        self.next_record = {}             # log -> next record number
        self.shells = {}                  # cmd shells and open enumerations are protocol state, not host state:
        self.enumerations = {}            # they are never saved (a restarted Windows host forgets them too)
        self.observers = []               # callables told (with the host) after every change
        self.peers = {}                   # name -> Host of the fleet, for remote binds (see link)

    # ------------------------------------------------------------------ construction and persistence
    @classmethod
    def open(cls, spec, state_dir, clock=None):
        """Continue from <state_dir>/<name>.json when present, else build from the spec and write it."""
        host = cls(spec, state_dir, clock)
        path = host.state_path
        if path and os.path.exists(path):
            host._load(path)
        else:
            host._build()
            host.save()
        return host

    @property
    def state_path(self):
        return os.path.join(self.state_dir, self.spec.name + '.json') if self.state_dir else None

    def _build(self):
        now = self.clock()
        self.epoch = now
        self.boot = now - BOOT_AGE
        self.next_pid = 300 + 4 * (zlib.crc32(self.spec.name.encode('utf-8')) % 50)
        self.processes[0] = {'pid': 0, 'name': 'System Idle Process', 'path': None, 'command_line': None,
                             'parent': 0, 'created': None, 'key': None}
        for proc in self.spec.processes:
            pid = proc['pid'] if proc.get('pid') is not None else self._alloc_pid()
            system = proc['name'] == 'System'
            self.processes[pid] = {
                'pid': pid, 'name': proc['name'],
                'path': None if system else proc['path'],
                'command_line': None if system else proc['path'],
                'parent': proc['parent'] if proc.get('parent') is not None else (0 if system else 4),
                'created': self.boot + (0.5 if system else 2 + len(self.processes)),
                'key': None, 'banner': proc.get('banner'), 'intercepts': list(proc.get('intercepts') or ()),
            }
            for port in proc['listens']:
                self.listeners.append({'port': port, 'pid': pid, 'owner': 'process', 'created': self.boot + 20})
        shared = {}
        for raw in self.spec.services:
            shared[raw['process']] = shared.get(raw['process'], 0) + 1
        for raw in self.spec.services:
            svc = {
                'name': raw['name'], 'display_name': raw['display_name'], 'description': raw['description'],
                'state': STOPPED, 'start_mode': SCENARIO_MODES[raw['start_mode']],
                'delayed_auto_start': raw['delayed_auto_start'], 'process': raw['process'],
                'path': raw['path'] or 'C:\\Windows\\System32\\' + image_name(raw['process']),
                'account': raw['account'], 'protected': raw['protected'],
                'start_seconds': raw['start_seconds'], 'stop_seconds': raw['stop_seconds'],
                'depends_on': list(raw['depends_on']), 'listens': list(raw['listens']),
                'on_bind_failure': [dict(e) for e in raw['on_bind_failure']],
                'remote_bind': dict(raw['remote_bind']) if raw.get('remote_bind') else None, 'banner': raw.get('banner'),
                'service_type': raw['service_type'] or ('Share Process' if shared[raw['process']] > 1
                                                        or raw['process'].lower().startswith('svchost') else 'Own Process'),
                'exit_code': 1077 if raw['start_mode'] != 'auto' else 0,   # 1077: never started since boot
                'specific_exit_code': 0, 'pid': 0, 'pending_until': None, 'checkpoint': 0, 'wait_hint': 0,
            }
            if raw['state'] == 'stopped' and raw['exit_code']:
                svc['exit_code'] = raw['exit_code']
                if raw['exit_code'] == ERROR_SERVICE_SPECIFIC_ERROR and raw['listens']:
                    # the only service-specific error the lab models is the bind failure of its scenarios
                    svc['specific_exit_code'] = WSAEADDRINUSE
            self.services[svc['name'].lower()] = svc
        for svc in self.services.values():
            if self._spec_state(svc) == 'running':
                svc['pid'] = self._process_for(svc, self.boot + 30)
                svc['state'] = RUNNING
                svc['exit_code'] = 0
                self._take_ports(svc, self.boot + 30)
        generated = self.spec.event_log['records']
        if generated:
            # the generated records are the oldest of the Application log (cim.generated_events renders them):
            # the scenario's own events follow them in record numbers
            self.next_record[GENERATED_LOG] = generated + 1
        for raw in sorted(self.spec.events, key=lambda e: e['time']):
            self._log(raw, now + raw['time'])

    def _spec_state(self, svc):
        for raw in self.spec.services:
            if raw['name'] == svc['name']:
                return raw['state']
        return 'stopped'

    def _load(self, path):
        try:
            with open(path, encoding='utf-8') as handle:
                data = json.load(handle)
            if data.get('format') != STATE_FORMAT:
                raise ValueError('unknown state format %r' % data.get('format'))
            self.hostname = data['hostname']
            self.epoch = data['epoch']
            self.boot = data['boot']
            self.next_pid = data['next_pid']
            self.next_record = data['next_record']
            self.services = {s['name'].lower(): s for s in data['services']}
            self.processes = {p['pid']: p for p in data['processes']}
            self.listeners = data['listeners']
            self.events = data['events']
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError('%s: cannot continue from this state file: %s' % (path, exc)) from None

    def to_dict(self):
        return {
            'format': STATE_FORMAT, 'name': self.spec.name, 'hostname': self.hostname, 'os': self.spec.os,
            'epoch': self.epoch, 'boot': self.boot, 'next_pid': self.next_pid, 'next_record': self.next_record,
            'services': list(self.services.values()), 'processes': list(self.processes.values()),
            'listeners': self.listeners, 'events': self.events,
        }

    def save(self):
        """Write the state atomically (a reader never sees a half-written file), then tell the observers."""
        if self.state_dir:
            # json.dumps encodes in C; json.dump to a file takes the pure-Python iterencode path (many small writes)
            write_file_atomic(self.state_path, json.dumps(self.to_dict(), separators=(',', ':')))
        for observer in list(self.observers):
            observer(self)

    # ------------------------------------------------------------------ processes, ports, events
    def _alloc_pid(self):
        # Windows PIDs are multiples of 4 and not sequential; a hash step keeps them plausible and reproducible
        while True:
            self.next_pid += 4 * (1 + zlib.crc32(('%s/%d' % (self.spec.name, self.next_pid)).encode('utf-8')) % 37)
            if self.next_pid not in self.processes:
                return self.next_pid

    def _parent_pid(self):
        for proc in self.processes.values():
            if proc['name'].lower() == 'services.exe':
                return proc['pid']
        return 4

    def _process_for(self, svc, when):
        """The PID a starting service runs in: the shared process when one of its siblings already runs."""
        for other in self.services.values():
            if other is not svc and other['pid'] and other['process'] == svc['process']:
                return other['pid']
        pid = self._alloc_pid()
        self.processes[pid] = {'pid': pid, 'name': image_name(svc['process']), 'path': executable_path(svc['path']),
                               'command_line': svc['path'], 'parent': self._parent_pid(), 'created': when,
                               'key': svc['process']}
        return pid

    def _release_process(self, svc):
        pid = svc['pid']
        svc['pid'] = 0
        if pid and not any(o['pid'] == pid for o in self.services.values()):
            self.processes.pop(pid, None)

    def _take_ports(self, svc, when):
        remote = self._remote_ports(svc)
        for port in svc['listens']:
            if port not in remote:
                self.listeners.append({'port': port, 'pid': svc['pid'], 'owner': 'service:' + svc['name'], 'created': when})
        proxy = self._proxy(svc)
        if remote and proxy is not None:
            proxy.take_remote(self.spec.name, svc['name'], sorted(remote), when)

    def _free_ports(self, svc):
        owner = 'service:' + svc['name']
        self.listeners = [ln for ln in self.listeners if ln['owner'] != owner]
        proxy = self._proxy(svc)
        if proxy is not None:
            proxy.free_remote(self.spec.name, svc['name'])

    # ------------------------------------------------------------------ remote binds (this host as client and as proxy)
    @staticmethod
    def _remote_ports(svc):
        return set((svc.get('remote_bind') or {}).get('ports') or ())

    def _proxy(self, svc):
        bind = svc.get('remote_bind')
        return self.peers.get(bind['via']) if bind else None

    @staticmethod
    def remote_owner(client, service):
        return 'remote:%s:%s' % (client, service)

    def proxy_service(self):
        svc = self.service(PROXY_SERVICE)
        return svc if svc is not None and svc['state'] == RUNNING else None

    def remote_refusal(self, client, service, ports):
        """The WinSock error a remote bind of ``ports`` gets from this proxy host now, or None."""
        with self.lock:
            self.refresh()
            if self.proxy_service() is None:
                return WSAECONNREFUSED
            mine = self.remote_owner(client, service)
            if any(self.port_holder(port) is not None and self.port_holder(port)['owner'] != mine for port in ports):
                return WSAEADDRINUSE
            return None

    def take_remote(self, client, service, ports, when):
        """Listen on ``ports`` for a client's service, in the WinSock Proxy service's process."""
        with self.lock:
            proxy = self.proxy_service()
            owner = self.remote_owner(client, service)
            if proxy is None:
                return
            for port in ports:
                if not any(ln['owner'] == owner and ln['port'] == port for ln in self.listeners):
                    self.listeners.append({'port': port, 'pid': proxy['pid'], 'owner': owner, 'created': when})
            self.save()

    def free_remote(self, client, service):
        with self.lock:
            owner = self.remote_owner(client, service)
            if any(ln['owner'] == owner for ln in self.listeners):
                self.listeners = [ln for ln in self.listeners if ln['owner'] != owner]
                self.save()

    def link(self, peers):
        """Give this host the fleet's hosts; running remote-bound services take their proxy ports (a fresh fleet)."""
        self.peers = dict(peers)
        with self.lock:
            for svc in self.services.values():
                if svc['state'] == RUNNING and self._remote_ports(svc) and self._proxy(svc) is not None:
                    proxy = self._proxy(svc)
                    if proxy.remote_refusal(self.spec.name, svc['name'], self._remote_ports(svc)) is None:
                        proxy.take_remote(self.spec.name, svc['name'], sorted(self._remote_ports(svc)), self.clock())

    def port_holder(self, port):
        """The listener entry holding a TCP port, or None."""
        for listener in self.listeners:
            if listener['port'] == port:
                return listener
        return None

    def _log(self, raw, when):
        log = raw['log']
        record = self.next_record.get(log, 1)
        self.next_record[log] = record + 1
        self.events.append({'record': record, 'log': log, 'source': raw['source'], 'event_id': raw['event_id'],
                            'type': raw.get('type', 'information'), 'time': when, 'message': raw.get('message', ''),
                            'strings': list(raw.get('insertion_strings') or ())})
        if len(self.events) > MAX_EVENTS:
            del self.events[:len(self.events) - MAX_EVENTS]

    def _scm(self, event_id, etype, message, when, strings=()):
        self._log({'log': 'System', 'source': SCM, 'event_id': event_id, 'type': etype, 'message': message,
                   'insertion_strings': list(strings)}, when)

    # ------------------------------------------------------------------ time
    def now(self):
        return self.clock()

    def refresh(self):
        """Complete every pending transition whose time has come; saves when anything changed."""
        with self.lock:
            now = self.clock()
            due = sorted((s for s in self.services.values()
                          if s['pending_until'] is not None and s['pending_until'] <= now),
                         key=lambda s: s['pending_until'])
            for svc in due:
                when = svc['pending_until']
                if svc['state'] == START_PENDING:
                    self._finish_start(svc, when)
                elif svc['state'] == STOP_PENDING:
                    self._finish_stop(svc, when)
            if due:
                self.save()
            return now

    def _finish_start(self, svc, when):
        svc['pending_until'] = None
        svc['checkpoint'] = 0
        svc['wait_hint'] = 0
        remote = self._remote_ports(svc)
        for port in svc['listens']:
            holder = self.port_holder(port)
            if port not in remote and holder is not None and holder['pid'] != svc['pid']:
                self._bind_failure(svc, when)
                return
        proxy = self._proxy(svc)
        if remote and proxy is not None:
            refused = proxy.remote_refusal(self.spec.name, svc['name'], remote)
            if refused:
                self._bind_failure(svc, when, refused)
                return
        svc['state'] = RUNNING
        svc['exit_code'] = 0
        svc['specific_exit_code'] = 0
        self._take_ports(svc, when)
        self._scm(7036, 'information', 'The %s service entered the running state.' % svc['display_name'], when,
                  (svc['display_name'], 'running'))

    def _bind_failure(self, svc, when, error=WSAEADDRINUSE):
        """WSAEADDRINUSE (or the proxy's refusal): the service logs its own events, exits, and the SCM records 7024."""
        svc['state'] = STOPPED
        svc['exit_code'] = ERROR_SERVICE_SPECIFIC_ERROR
        svc['specific_exit_code'] = error
        self._release_process(svc)
        for raw in svc['on_bind_failure']:
            # the scenario's events carry 10048; another WinSock error is written in its place
            self._log(dict(raw, message=raw.get('message', '').replace(str(WSAEADDRINUSE), str(error)),
                           insertion_strings=[s.replace(str(WSAEADDRINUSE), str(error))
                                              for s in raw.get('insertion_strings') or ()]), when)
        # insertion strings: the service and "%%<code>", which the message file resolves to the error's text
        self._scm(7024, 'error', 'The %s service terminated with the following service-specific error: \r\n%s'
                  % (svc['display_name'], WSAEADDRINUSE_TEXT), when, (svc['display_name'], '%%%%%d' % error))

    def _finish_stop(self, svc, when):
        svc['pending_until'] = None
        svc['checkpoint'] = 0
        svc['wait_hint'] = 0
        svc['state'] = STOPPED
        svc['exit_code'] = 0
        svc['specific_exit_code'] = 0
        self._free_ports(svc)
        self._release_process(svc)
        # A process that ended takes the remote binds it held for clients with it (a stopped WSPSRV).
        self.listeners = [ln for ln in self.listeners if not ln['owner'].startswith('remote:') or ln['pid'] in self.processes]
        self._scm(7036, 'information', 'The %s service entered the stopped state.' % svc['display_name'], when,
                  (svc['display_name'], 'stopped'))

    # ------------------------------------------------------------------ queries
    def service(self, name):
        """The service dict by name (case-insensitive) or None."""
        return self.services.get(str(name).lower())

    def dependents(self, svc):
        key = svc['name'].lower()
        return [s for s in self.services.values() if key in (d.lower() for d in s['depends_on'])]

    # ------------------------------------------------------------------ SCM operations (Win32_Service methods)
    def _named(self, name):
        """The service an SCM operation names; KeyError when the host has none (callers checked the selectors)."""
        svc = self.service(name)
        if svc is None:
            raise KeyError(name)
        return svc

    def stop_service(self, name):
        with self.lock:
            now = self.refresh()
            svc = self._named(name)
            if svc['protected']:
                return RC_ACCESS_DENIED
            if svc['state'] != RUNNING:
                return RC_CANNOT_ACCEPT_CONTROL
            if any(d['state'] in (RUNNING, START_PENDING, STOP_PENDING) for d in self.dependents(svc)):
                return RC_DEPENDENT_SERVICES_RUNNING
            self._begin(svc, STOP_PENDING, svc['stop_seconds'], now, self._finish_stop)
            self.save()
            return RC_SUCCESS

    def start_service(self, name):
        with self.lock:
            now = self.refresh()
            svc = self._named(name)
            if svc['state'] != STOPPED:
                return RC_ALREADY_RUNNING
            if svc['start_mode'] == 'Disabled':
                return RC_DISABLED
            startable, chain = self._dependency_chain(svc)
            if not startable:
                return RC_DEPENDENCY_FAILURE
            # The SCM starts stopped dependencies first and waits for them: they are Running when the call returns.
            for dep in chain:
                if dep['state'] == STOPPED:
                    dep['pid'] = self._process_for(dep, now)
                    dep['state'] = START_PENDING
                    self._finish_start(dep, now)
                    if dep['state'] != RUNNING:
                        self.save()
                        return RC_DEPENDENCY_FAILURE
            svc['pid'] = self._process_for(svc, now)
            svc['exit_code'] = 0
            svc['specific_exit_code'] = 0
            self._begin(svc, START_PENDING, svc['start_seconds'], now, self._finish_start)
            self.save()
            return RC_SUCCESS

    @staticmethod
    def _begin(svc, pending, seconds, now, finish):
        """Enter the pending state for the scenario's seconds (refresh completes it), or finish at once when none."""
        svc['state'] = pending
        if seconds > 0:
            svc['pending_until'] = now + seconds
            svc['checkpoint'] = 1
            svc['wait_hint'] = int(seconds * 1000)
        else:
            finish(svc, now)

    def _dependency_chain(self, svc):
        """(False, []) when a dependency cannot start (disabled, stopping, missing), else (True, start order)."""
        order = []
        seen = set()

        def visit(node, depth):
            if depth > 32:
                return False
            for dep_name in node['depends_on']:
                dep = self.service(dep_name)
                if dep is None or dep['state'] == STOP_PENDING:
                    return False
                if dep['state'] == STOPPED and dep['start_mode'] == 'Disabled':
                    return False
                if dep['name'] in seen:
                    continue
                seen.add(dep['name'])
                if not visit(dep, depth + 1):
                    return False
                order.append(dep)
            return True
        return (True, order) if visit(svc, 0) else (False, [])

    def change_start_mode(self, name, mode):
        with self.lock:
            now = self.refresh()
            svc = self._named(name)
            new = START_MODE_IN.get(str(mode).lower()) if isinstance(mode, str) else None
            if new is None:
                return RC_INVALID_PARAMETER
            if new in ('Boot', 'System') and svc['service_type'] != 'Kernel Driver':
                return RC_INVALID_PARAMETER
            if svc['protected']:
                return RC_ACCESS_DENIED
            old = svc['start_mode']
            if new != old:
                svc['start_mode'] = new
                self._scm(7040, 'information', 'The start type of the %s service was changed from %s to %s.'
                          % (svc['display_name'], MODE_WORDS[old], MODE_WORDS[new]), now,
                          (svc['display_name'], MODE_WORDS[old], MODE_WORDS[new], svc['name']))
                self.save()
            return RC_SUCCESS

    # ------------------------------------------------------------------ views used by cim.py and shell.py
    def tcp_table(self):
        """TCP endpoints as (local address, local port, remote address, remote port, state, pid, created), ordered
        like netstat (IPv4 by address and port, then IPv6). Besides the listeners, a live host has connections: the
        management session on 5985, a mail client talking to whoever owns 25, a closed socket in TIME_WAIT; they
        catch clients that forget to filter on the Listen state."""
        local = self.address or '127.0.0.1'
        rows = []
        for family, remote in (('0.0.0.0', '0.0.0.0'), ('::', '::')):
            for listener in self.listeners:
                rows.append((family, listener['port'], remote, 0, 'Listen', listener['pid'], listener['created']))
        for port, peer, peer_port in ((5985, '10.0.0.10', 50112), (25, '10.0.0.25', 51234)):
            holder = self.port_holder(port)
            if holder is not None:
                rows.append((local, port, peer, peer_port, 'Established', holder['pid'], self.epoch - 60))
        rows.append((local, 49702, '10.0.0.30', 443, 'TimeWait', 0, self.epoch - 30))
        return sorted(rows, key=_netstat_order)


def _netstat_order(row):
    address = row[0]
    if ':' in address:
        return (1, address, row[1])
    return (0, tuple(int(p) for p in address.split('.')), row[1])
