# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scenario files: load and validate the YAML that describes lab hosts.

Every error names the file, the host and the field so a broken scenario is fixed in one look.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import re

import yaml

HOST_KEYS = ('name', 'address', 'groups', 'os', 'username', 'password', 'auth', 'scheme', 'services', 'processes',
             'events', 'faults', 'standardcimv2', 'hostname', 'realm', 'fqdn', 'files', 'utc_offset_minutes',
             'missing_message_files', 'event_log', 'locale', 'winrm')
DEFAULT_KEYS = tuple(k for k in HOST_KEYS if k not in ('name', 'address', 'hostname', 'fqdn'))
SERVICE_KEYS = ('name', 'display_name', 'description', 'state', 'start_mode', 'process', 'path', 'account', 'protected',
                'start_seconds', 'stop_seconds', 'delayed_auto_start', 'exit_code', 'depends_on', 'listens',
                'on_bind_failure', 'service_type', 'remote_bind', 'banner')
PROCESS_KEYS = ('name', 'path', 'listens', 'pid', 'parent', 'banner', 'intercepts')
REMOTE_BIND_KEYS = ('via', 'ports')
PROXY_SERVICE = 'WSPSRV'           # the WinSock Proxy service of Proxy Server 2.0, which makes the remote binds
EVENT_KEYS = ('log', 'source', 'event_id', 'type', 'time', 'message', 'insertion_strings')
BIND_EVENT_KEYS = ('log', 'source', 'event_id', 'type', 'message', 'insertion_strings')
# event_log: a big log of generated records (not YAML lines) and what a query over it costs
EVENT_LOG_KEYS = ('records', 'span', 'scan_us_per_record', 'quota_records', 'security_privilege')
MAX_GENERATED_RECORDS = 1000000
MAX_UTC_OFFSET = 14 * 60          # Windows time zones run from UTC-12:00 to UTC+14:00
FAULT_KEYS = ('latency_ms', 'drop_connections', 'internal_error_requests', 'operation_timeout_on',
              'access_denied_classes', 'access_denied_namespaces', 'refuse_auth')
WINRM_KEYS = ('max_concurrent_operations_per_user', 'max_shells_per_user', 'max_envelope_size_kb', 'quota_fault')
QUOTA_FAULTS = ('wsmanfault', 'wmierror')
LOCALES = ('en-US', 'de-DE')       # the languages winlab.fault_texts has
SERVICE_STATES = ('running', 'stopped')
START_MODES = ('auto', 'manual', 'disabled', 'boot', 'system')
EVENT_TYPES = ('error', 'warning', 'information', 'audit success', 'audit failure')
LOGS = ('Application', 'System', 'Security')
AUTHS = ('ntlm', 'basic', 'kerberos', 'certificate', 'credssp')
DEFAULT_REALM = 'LAB.TEST'
SCHEMES = ('http', 'https')
TIMEOUT_OPERATIONS = ('StopService', 'StartService', 'ChangeStartMode', 'Enumerate', 'Pull', 'Get', 'Release',
                      'Create', 'Command', 'Receive', 'Signal', 'Delete')
_REL_TIME = re.compile(r'^([+-]?)(\d+(?:\.\d+)?)([smhd])$')
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
_WINDOWS_PATH = re.compile(r'^[A-Za-z]:\\[^\x00-\x1f"*?<>|]*$')
MAX_FILE_BYTES = 64 * 1024
MAX_BANNER = 500
_REALM = re.compile(r'^[A-Z0-9]([A-Z0-9-]{0,61}[A-Z0-9])?(\.[A-Z0-9]([A-Z0-9-]{0,61}[A-Z0-9])?)*$')
_FQDN = re.compile(r'^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}

DEFAULT_OS = 'Microsoft Windows Server 2019 Standard'


DEFAULT_EVENT_LOG = {'records': 0, 'span': 30 * 86400.0, 'scan_us_per_record': 0.0, 'quota_records': 0,
                     'security_privilege': True}


def winrm_defaults(has_standardcimv2):
    """The WinRM service settings of a host left at Windows' defaults.

    Old hosts (no root/StandardCimv2: WinRM before 3.0) have the old quotas: 15 concurrent operations per user
    (txwinrm_data_error_max_concurrent.xml), 5 shells per user and MaxEnvelopeSizekb 150
    (pypsrp_test_wsman_update_envelope_size_150.yml), and report the quota in the older WSManFault shape. WinRM 3.0
    and later (Server 2012+): 1500 operations, 30 shells (winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml),
    500 KB envelopes, and the quota as an InternalError with only an MSFT_WmiError.
    """
    if has_standardcimv2:
        return {'max_concurrent_operations_per_user': 1500, 'max_shells_per_user': 30, 'max_envelope_size_kb': 500,
                'quota_fault': 'wmierror'}
    return {'max_concurrent_operations_per_user': 15, 'max_shells_per_user': 5, 'max_envelope_size_kb': 150,
            'quota_fault': 'wsmanfault'}


class ScenarioError(Exception):
    """A scenario file is invalid; str() names the file, the host and the field."""

    def __init__(self, path, host, field, problem):
        self.path = str(path)
        self.host = host
        self.field = field
        self.problem = problem
        where = self.path
        if host is not None:
            where += ': host %r' % host
        if field:
            where += ': field %r' % field
        super().__init__('%s: %s' % (where, problem))


@dataclasses.dataclass
class HostSpec:
    """One validated lab host (the contract between scenario, model and the fleet runner)."""

    name: str
    address: str | None
    groups: list
    os: str
    username: str
    password: str
    auth: list
    scheme: str
    services: list
    processes: list
    events: list
    faults: dict
    has_standardcimv2: bool = True
    hostname: str = ''
    source: str = ''
    realm: str = DEFAULT_REALM
    fqdn: str = ''            # '' follows the name: see host_fqdn
    files: dict = dataclasses.field(default_factory=dict)
    utc_offset_minutes: int = 0       # the host's time zone: WMI datetimes carry it (DMTF +UUU, xs:dateTime +HH:MM)
    missing_message_files: list = dataclasses.field(default_factory=list)
    event_log: dict = dataclasses.field(default_factory=lambda: dict(DEFAULT_EVENT_LOG))
    locale: str = 'en-US'      # the language of the host's fault texts
    winrm: dict = dataclasses.field(default_factory=dict)     # WINRM_KEYS; missing keys take winrm_defaults()

    def __post_init__(self):
        if not self.hostname:
            self.hostname = netbios_name(self.name)
        self.winrm = dict(winrm_defaults(self.has_standardcimv2), **(self.winrm or {}))

    @property
    def host_fqdn(self):
        """The host's DNS name, which its Kerberos SPN HTTP/<fqdn> names: <name>.<realm in lower case> by default."""
        return self.fqdn or '%s.%s' % (self.name.lower(), self.realm.lower())


def netbios_name(name):
    """Computer name as Windows shows it: upper case, at most 15 characters."""
    cleaned = re.sub(r'[^A-Za-z0-9-]', '-', name).upper()
    return cleaned[:15].rstrip('-') or 'LAB'


def parse_relative_time(value):
    """'-2h' -> -7200.0 seconds relative to lab start; plain numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError('must be a relative time such as -2h, -30m, -10s or -1d')
    if isinstance(value, (int, float)):
        return float(value)
    match = _REL_TIME.match(str(value).strip())
    if not match:
        raise ValueError('must be a relative time such as -2h, -30m, -10s or -1d, got %r' % (value,))
    seconds = float(match.group(2)) * _UNITS[match.group(3)]
    return -seconds if match.group(1) == '-' else seconds


class _Checker:
    """Validation helpers bound to one file and host so every error carries both."""

    def __init__(self, path, host):
        self.path = path
        self.host = host

    def fail(self, field, problem):
        raise ScenarioError(self.path, self.host, field, problem)

    def mapping(self, value, field, allowed):
        if not isinstance(value, dict):
            self.fail(field, 'must be a mapping, got %s' % type(value).__name__)
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            self.fail('%s.%s' % (field, unknown[0]) if field else unknown[0],
                      'unknown field (allowed: %s)' % ', '.join(allowed))
        return value

    def string(self, value, field, required=False, choices=None, pattern=None):
        if value is None:
            if required:
                self.fail(field, 'is required')
            return None
        if not isinstance(value, str) or not value.strip():
            if field.endswith('password'):
                self.fail(field, 'must be a non-empty string')      # never echo a password, even a wrong one
            self.fail(field, 'must be a non-empty string, got %r' % (value,))
        if choices is not None and value not in choices:
            self.fail(field, 'must be one of %s, got %r' % (', '.join(choices), value))
        if pattern is not None and not pattern.match(value):
            self.fail(field, 'has an invalid value %r' % (value,))
        return value

    def integer(self, value, field, minimum=0, maximum=None):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, 'must be an integer, got %r' % (value,))
        if value < minimum or (maximum is not None and value > maximum):
            self.fail(field, 'must be between %s and %s, got %r' % (minimum, maximum if maximum is not None else 'any', value))
        return value

    def number(self, value, field):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            self.fail(field, 'must be a number of seconds >= 0, got %r' % (value,))
        return float(value)

    def boolean(self, value, field):
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(field, 'must be true or false, got %r' % (value,))
        return value

    def str_list(self, value, field, choices=None):
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, 'must be a list, got %s' % type(value).__name__)
        for i, item in enumerate(value):
            self.string(item, '%s[%d]' % (field, i), required=True, choices=choices)
        return list(value)

    def ports(self, value, field):
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(field, 'must be a list of TCP ports')
        for i, item in enumerate(value):
            self.integer(item, '%s[%d]' % (field, i), minimum=1, maximum=65535)
        if len(set(value)) != len(value):
            self.fail(field, 'lists a port twice')
        return list(value)

    def event(self, raw, field, keys, with_time):
        self.mapping(raw, field, keys)
        out = {
            'log': self.string(raw.get('log'), field + '.log', required=True, choices=LOGS),
            'source': self.string(raw.get('source'), field + '.source', required=True),
            'event_id': self.integer(raw.get('event_id'), field + '.event_id', minimum=0, maximum=65535),
            'type': self.string(raw.get('type', 'information'), field + '.type', choices=EVENT_TYPES),
            'message': raw.get('message', ''),
        }
        if out['event_id'] is None:
            self.fail(field + '.event_id', 'is required')
        if not isinstance(out['message'], str):
            self.fail(field + '.message', 'must be a string')
        strings = raw.get('insertion_strings') or []
        if not isinstance(strings, list) or not all(isinstance(item, str) for item in strings):
            self.fail(field + '.insertion_strings', 'must be a list of strings')
        out['insertion_strings'] = list(strings)
        if with_time:
            try:
                out['time'] = parse_relative_time(raw.get('time', 0))
            except ValueError as exc:
                self.fail(field + '.time', str(exc))
        return out


def _check_service(chk, raw, field):
    chk.mapping(raw, field, SERVICE_KEYS)
    name = chk.string(raw.get('name'), field + '.name', required=True, pattern=_NAME)
    svc = {
        'name': name,
        'display_name': chk.string(raw.get('display_name'), field + '.display_name') or name,
        'description': raw.get('description') or '',
        'state': chk.string(raw.get('state', 'stopped'), field + '.state', choices=SERVICE_STATES),
        'start_mode': chk.string(raw.get('start_mode', 'manual'), field + '.start_mode', choices=START_MODES),
        'process': chk.string(raw.get('process'), field + '.process') or (name.lower() + '.exe'),
        'path': chk.string(raw.get('path'), field + '.path'),
        'account': chk.string(raw.get('account'), field + '.account') or 'LocalSystem',
        'protected': bool(chk.boolean(raw.get('protected'), field + '.protected')),
        'start_seconds': chk.number(raw.get('start_seconds', 0), field + '.start_seconds'),
        'stop_seconds': chk.number(raw.get('stop_seconds', 0), field + '.stop_seconds'),
        'delayed_auto_start': bool(chk.boolean(raw.get('delayed_auto_start'), field + '.delayed_auto_start')),
        'exit_code': chk.integer(raw.get('exit_code', 0), field + '.exit_code', maximum=0xFFFFFFFF),
        'depends_on': chk.str_list(raw.get('depends_on'), field + '.depends_on'),
        'listens': chk.ports(raw.get('listens'), field + '.listens'),
        'service_type': chk.string(raw.get('service_type'), field + '.service_type',
                                   choices=('Own Process', 'Share Process', 'Kernel Driver')),
        'on_bind_failure': [],
        'banner': _check_banner(chk, raw.get('banner'), field + '.banner'),
        'remote_bind': None,
    }
    if raw.get('remote_bind') is not None:
        bind = chk.mapping(raw['remote_bind'], field + '.remote_bind', REMOTE_BIND_KEYS)
        via = chk.string(bind.get('via'), field + '.remote_bind.via', required=True, pattern=_NAME)
        ports = chk.ports(bind.get('ports'), field + '.remote_bind.ports')
        if not ports:
            chk.fail(field + '.remote_bind.ports', 'must name at least one port')
        outside = [port for port in ports if port not in svc['listens']]
        if outside:
            chk.fail(field + '.remote_bind.ports', 'port %d is not in listens (a remote bind moves a listen of the service)' % outside[0])
        svc['remote_bind'] = {'via': via, 'ports': ports}
    if svc['description'] and not isinstance(svc['description'], str):
        chk.fail(field + '.description', 'must be a string')
    bind = raw.get('on_bind_failure') or []
    if not isinstance(bind, list):
        chk.fail(field + '.on_bind_failure', 'must be a list of events')
    svc['on_bind_failure'] = [chk.event(e, '%s.on_bind_failure[%d]' % (field, i), BIND_EVENT_KEYS, False)
                              for i, e in enumerate(bind)]
    return svc


def _check_process(chk, raw, field):
    chk.mapping(raw, field, PROCESS_KEYS)
    name = chk.string(raw.get('name'), field + '.name', required=True)
    return {
        'name': name,
        'path': chk.string(raw.get('path'), field + '.path') or ('C:\\Windows\\System32\\' + name),
        'listens': chk.ports(raw.get('listens'), field + '.listens'),
        'pid': chk.integer(raw.get('pid'), field + '.pid', minimum=4, maximum=0x7FFFFFFF),
        'parent': chk.integer(raw.get('parent'), field + '.parent', minimum=0, maximum=0x7FFFFFFF),
        'banner': _check_banner(chk, raw.get('banner'), field + '.banner'),
        'intercepts': chk.ports(raw.get('intercepts'), field + '.intercepts'),
    }


def _check_banner(chk, value, field):
    """The text after "220 " a listener greets with ({fqdn} and {date} are filled in); '' accepts and never greets."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_BANNER or any(c in value for c in '\r\n\x00'):
        chk.fail(field, 'must be one line of at most %d characters' % MAX_BANNER)
    return value


def _check_files(chk, raw):
    """{Windows path: text} the cmd shell's type answers (Wspcfg.ini next to an image, Mspclnt.ini, ...)."""
    if raw is None:
        return {}
    chk.mapping(raw, 'files', tuple(raw) if isinstance(raw, dict) else ())
    files = {}
    for path, content in raw.items():
        if not isinstance(path, str) or not _WINDOWS_PATH.match(path):
            chk.fail('files', '%r is not a Windows path such as C:\\dir\\file.ini' % (path,))
        if not isinstance(content, str) or len(content.encode('utf-8')) > MAX_FILE_BYTES:
            chk.fail('files.%s' % path, 'must be text of at most %d bytes' % MAX_FILE_BYTES)
        if path.lower() in (known.lower() for known in files):
            chk.fail('files.%s' % path, 'names a file twice (Windows paths ignore case)')
        files[path] = content
    return files


def _check_faults(chk, raw):
    raw = raw or {}
    chk.mapping(raw, 'faults', FAULT_KEYS)
    return {
        'latency_ms': chk.integer(raw.get('latency_ms', 0), 'faults.latency_ms', maximum=600000),
        'drop_connections': chk.integer(raw.get('drop_connections', 0), 'faults.drop_connections'),
        'internal_error_requests': chk.integer(raw.get('internal_error_requests', 0), 'faults.internal_error_requests'),
        'operation_timeout_on': chk.str_list(raw.get('operation_timeout_on'), 'faults.operation_timeout_on',
                                             choices=TIMEOUT_OPERATIONS),
        'access_denied_classes': chk.str_list(raw.get('access_denied_classes'), 'faults.access_denied_classes'),
        'access_denied_namespaces': chk.str_list(raw.get('access_denied_namespaces'), 'faults.access_denied_namespaces',
                                                 choices=('root/cimv2', 'root/standardcimv2')),
        'refuse_auth': bool(chk.boolean(raw.get('refuse_auth'), 'faults.refuse_auth')),
    }


def _check_event_log(chk, raw):
    """The generated part of the log: ``records`` Application records spread over ``span`` before the scenario's
    events, and the cost model of Win32_NTLogEvent queries (see cim.Win32NTLogEvent.select)."""
    raw = raw or {}
    chk.mapping(raw, 'event_log', EVENT_LOG_KEYS)
    out = dict(DEFAULT_EVENT_LOG)
    out['records'] = chk.integer(raw.get('records', 0), 'event_log.records', maximum=MAX_GENERATED_RECORDS)
    if raw.get('span') is not None:
        try:
            span = abs(parse_relative_time(raw['span']))
        except ValueError as exc:
            chk.fail('event_log.span', str(exc))
        if span < 60:
            chk.fail('event_log.span', 'must be at least one minute, got %r' % (raw['span'],))
        out['span'] = span
    out['scan_us_per_record'] = chk.number(raw.get('scan_us_per_record', 0), 'event_log.scan_us_per_record')
    out['quota_records'] = chk.integer(raw.get('quota_records', 0), 'event_log.quota_records')
    privilege = chk.boolean(raw.get('security_privilege'), 'event_log.security_privilege')
    out['security_privilege'] = True if privilege is None else privilege
    return out


def _check_winrm(chk, raw):
    raw = raw or {}
    chk.mapping(raw, 'winrm', WINRM_KEYS)
    out = {}
    for key, low, high in (('max_concurrent_operations_per_user', 1, 4294967295), ('max_shells_per_user', 1, 2147483647),
                           ('max_envelope_size_kb', 32, 8192)):
        if raw.get(key) is not None:
            out[key] = chk.integer(raw[key], 'winrm.' + key, minimum=low, maximum=high)
    if raw.get('quota_fault') is not None:
        out['quota_fault'] = chk.string(raw['quota_fault'], 'winrm.quota_fault', choices=QUOTA_FAULTS)
    return out


def _unique(chk, items, field):
    seen = set()
    for i, item in enumerate(items):
        key = item['name'].lower()
        if key in seen:
            chk.fail('%s[%d].name' % (field, i), 'duplicate name %r' % item['name'])
        seen.add(key)


def _check_host(path, raw, defaults, index):
    host_name = raw.get('name') if isinstance(raw, dict) else None
    chk = _Checker(path, host_name if isinstance(host_name, str) else 'hosts[%d]' % index)
    chk.mapping(raw, '', HOST_KEYS)
    merged = copy.deepcopy(defaults)
    merged.update(raw)
    name = chk.string(merged.get('name'), 'name', required=True, pattern=_NAME)
    address = chk.string(merged.get('address'), 'address')
    if address is not None and not re.match(r'^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$', address):
        chk.fail('address', 'must be a loopback address in 127.0.0.0/8, got %r' % address)
    if address is not None and any(int(p) > 255 for p in address.split('.')):
        chk.fail('address', 'is not a valid IPv4 address: %r' % address)
    for key in ('services', 'processes', 'events'):
        if merged.get(key) is not None and not isinstance(merged.get(key), list):
            chk.fail(key, 'must be a list')
    services = [_check_service(chk, s, 'services[%d]' % i) for i, s in enumerate(merged.get('services') or [])]
    processes = [_check_process(chk, p, 'processes[%d]' % i) for i, p in enumerate(merged.get('processes') or [])]
    events = [chk.event(e, 'events[%d]' % i, EVENT_KEYS, True) for i, e in enumerate(merged.get('events') or [])]
    _unique(chk, services, 'services')
    names = {s['name'].lower() for s in services}
    for i, svc in enumerate(services):
        for j, dep in enumerate(svc['depends_on']):
            if dep.lower() not in names:
                chk.fail('services[%d].depends_on[%d]' % (i, j), 'unknown service %r' % dep)
    _check_cycles(chk, services)
    _check_ports(chk, services, processes)
    auth = chk.str_list(merged.get('auth', ['ntlm']), 'auth', choices=AUTHS)
    if not auth:
        chk.fail('auth', 'must name at least one of %s' % ', '.join(AUTHS))
    scheme = chk.string(merged.get('scheme', 'http'), 'scheme', choices=SCHEMES)
    if auth[0] == 'certificate' and scheme != 'https':
        chk.fail('auth', 'certificate authentication works over HTTPS only: set scheme: https')
    scv2 = chk.boolean(merged.get('standardcimv2', True), 'standardcimv2')
    hostname = chk.string(merged.get('hostname'), 'hostname')
    realm = chk.string(merged.get('realm', DEFAULT_REALM), 'realm', pattern=_REALM)
    fqdn = chk.string(merged.get('fqdn'), 'fqdn', pattern=_FQDN)
    return HostSpec(
        name=name, address=address,
        groups=chk.str_list(merged.get('groups'), 'groups'),
        os=chk.string(merged.get('os', DEFAULT_OS), 'os'),
        username=chk.string(merged.get('username'), 'username', required=True),
        password=chk.string(merged.get('password'), 'password', required=True),
        auth=auth,
        scheme=scheme,
        services=services, processes=processes, events=events,
        faults=_check_faults(chk, merged.get('faults')),
        has_standardcimv2=scv2, hostname=netbios_name(hostname) if hostname else '',
        source=str(path), realm=realm, fqdn=fqdn or '', files=_check_files(chk, merged.get('files')),
        utc_offset_minutes=chk.integer(merged.get('utc_offset_minutes', 0), 'utc_offset_minutes', minimum=-MAX_UTC_OFFSET,
                                       maximum=MAX_UTC_OFFSET),
        missing_message_files=chk.str_list(merged.get('missing_message_files'), 'missing_message_files'),
        event_log=_check_event_log(chk, merged.get('event_log')),
        locale=chk.string(merged.get('locale', 'en-US'), 'locale', choices=LOCALES),
        winrm=_check_winrm(chk, merged.get('winrm')),
    )


def _check_cycles(chk, services):
    """Windows refuses a dependency cycle (ERROR_CIRCULAR_DEPENDENCY); the lab's SCM would start a service as its own
    dependency and leave its port held by a stopped service, so reject it in the file."""
    waiting = {s['name'].lower(): {d.lower() for d in s['depends_on']} for s in services}
    ready = [name for name, deps in waiting.items() if not deps]
    while ready:        # peel off the services whose dependencies can all start; a cycle is what remains
        done = ready.pop()
        del waiting[done]
        for name, deps in waiting.items():
            if done in deps:
                deps.discard(done)
                if not deps:
                    ready.append(name)
    for i, svc in enumerate(services):
        if svc['name'].lower() in waiting:
            chk.fail('services[%d].depends_on' % i, 'has a circular dependency (directly or through its dependencies)')


def _check_ports(chk, services, processes):
    """Two running owners on one port is impossible on Windows; reject it in the file."""
    owners = {}
    running = [('services[%d]' % i, s, s.get('process')) for i, s in enumerate(services) if s['state'] == 'running']
    running += [('processes[%d]' % i, p, p['name']) for i, p in enumerate(processes)]
    for field, item, image in running:
        remote = (item.get('remote_bind') or {}).get('ports') or ()
        for port in item['listens']:
            if port in remote:
                continue        # held on the proxy host, not here
            other = owners.get(port)
            # services hosted by one shared process legitimately list the same port
            if other is not None and other[1] != image:
                chk.fail(field + '.listens', 'port %d is already held by %s' % (port, other[0]))
            owners[port] = (field, image)


def load_spec(path):
    """Load one scenario/fleet file: {defaults: {...}, hosts: [...]} -> list of HostSpec."""
    path = os.fspath(path)
    try:
        with open(path, encoding='utf-8') as handle:
            data = yaml.safe_load(handle)
    except OSError as exc:
        raise ScenarioError(path, None, None, 'cannot read: %s' % exc.strerror) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, None, None, 'invalid YAML: %s' % exc) from None
    chk = _Checker(path, None)
    chk.mapping(data, '', ('defaults', 'hosts'))
    defaults = data.get('defaults') or {}
    chk.mapping(defaults, 'defaults', DEFAULT_KEYS)
    hosts = data.get('hosts')
    if not isinstance(hosts, list) or not hosts:
        chk.fail('hosts', 'must be a non-empty list of hosts')
    specs = [_check_host(path, raw, defaults, i) for i, raw in enumerate(hosts)]
    _unique_hosts(path, specs)
    return specs


def _unique_hosts(path, specs):
    seen = {}
    addresses = {}
    for spec in specs:
        if spec.name in seen:
            raise ScenarioError(path, spec.name, 'name', 'duplicate host name (also in %s)' % seen[spec.name])
        seen[spec.name] = spec.source
        if spec.address:
            if spec.address in addresses:
                raise ScenarioError(path, spec.name, 'address', 'address %s is also used by host %r'
                                    % (spec.address, addresses[spec.address]))
            addresses[spec.address] = spec.name


def load_many(paths):
    """Several files; host names (and fixed addresses) must be unique across all of them."""
    specs = []
    for path in paths:
        specs.extend(load_spec(path))
    _unique_hosts(', '.join(os.fspath(p) for p in paths), specs)
    check_remote_binds(specs)
    return specs


def check_remote_binds(specs):
    """Every ``remote_bind.via`` names another host of the fleet that has the WinSock Proxy service and binds nothing
    remotely itself (the lab's proxy never reaches back to a client)."""
    by_name = {spec.name: spec for spec in specs}
    proxies = set()
    for spec in specs:
        for i, svc in enumerate(spec.services):
            bind = svc['remote_bind']
            if not bind:
                continue
            field = 'services[%d].remote_bind.via' % i
            proxy = by_name.get(bind['via'])
            if proxy is None or proxy is spec:
                raise ScenarioError(spec.source, spec.name, field, 'must name another host of the fleet, got %r' % bind['via'])
            if not any(s['name'].lower() == PROXY_SERVICE.lower() for s in proxy.services):
                raise ScenarioError(spec.source, spec.name, field, 'host %r has no %s service to make the remote bind'
                                    % (bind['via'], PROXY_SERVICE))
            proxies.add(proxy.name)
            if svc['state'] == 'running':
                held = [item for item in proxy.services if item['state'] == 'running'] + proxy.processes
                for port in bind['ports']:
                    if any(port in item['listens'] for item in held):
                        raise ScenarioError(spec.source, spec.name, 'services[%d].remote_bind.ports' % i,
                                            'port %d is already held on %r' % (port, bind['via']))
    for spec in specs:
        if spec.name in proxies and any(svc['remote_bind'] for svc in spec.services):
            raise ScenarioError(spec.source, spec.name, 'services', 'a proxy host cannot bind remotely itself')


def scenario_files(scenario_dir):
    """The shipped scenario files, sorted, so generated fleets are reproducible."""
    files = sorted(os.path.join(scenario_dir, f) for f in os.listdir(scenario_dir) if f.endswith(('.yml', '.yaml')))
    if not files:
        raise ScenarioError(scenario_dir, None, None, 'no scenario files (*.yml) found')
    return files


def generate(n, scenario_dir):
    """n hosts cycling through the shipped scenarios, named <scenario host>-0001..; addresses left to the fleet."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError('the number of hosts must be a positive integer, got %r' % (n,))
    templates = load_many(scenario_files(scenario_dir))
    width = max(4, len(str(n)))
    out = []
    for i in range(n):
        spec = copy.deepcopy(templates[i % len(templates)])
        suffix = '-%0*d' % (width, i + 1)
        # keep the number in the 15-character computer name so generated hosts stay distinguishable
        spec.hostname = netbios_name(spec.name)[:15 - len(suffix)].rstrip('-') + suffix
        spec.name += suffix
        spec.address = None
        out.append(spec)
    _rebind_generated(out, templates, n, width)
    return out


def _rebind_generated(out, templates, n, width):
    """A remote bind of a generated host goes to the copy of its proxy made in the same round of the templates; when
    that copy is not part of the fleet, the service binds locally."""
    index = {spec.name: i for i, spec in enumerate(templates)}
    for i, spec in enumerate(out):
        for svc in spec.services:
            bind = svc['remote_bind']
            if not bind:
                continue
            proxy = i - i % len(templates) + index[bind['via']]
            if proxy < n:
                bind['via'] = '%s-%0*d' % (bind['via'], width, proxy + 1)
            else:
                svc['remote_bind'] = None
