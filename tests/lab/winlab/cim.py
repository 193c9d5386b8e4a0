# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WMI classes of the lab and their rendering in the exact wire shape of real Windows.

Shapes follow the txwinrm captures (Server 2008/2012): typed items are
<p:Class xmlns:xsi xmlns:p xmlns:cim xsi:type="p:Class_Type"> with one <p:Prop> per property in
case-insensitive alphabetical order; projections come back as <w:XmlFragment xmlns:xsi xmlns:w> with unqualified
children in the same order; NULL is <X xsi:nil="true"/>; datetimes are <X><cim:Datetime>..</cim:Datetime></X>
(<Datetime> inside fragments) in UTC with trailing zero fraction digits dropped; arrays are repeated elements.
"""
from __future__ import annotations

import datetime
import re

from winlab import eventlog as _eventlog
from winlab import model as _model
from winlab import wql

NS_XSI = 'http://www.w3.org/2001/XMLSchema-instance'
NS_CIM = 'http://schemas.dmtf.org/wbem/wscim/1/common'
NS_W = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
WMI_PREFIX = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/'
UTC = datetime.timezone.utc

# OS caption fragment -> (version, build, marketing year) for Win32_OperatingSystem and Win32_Process.WindowsVersion
_OS_VERSIONS = (
    ('2025', '10.0.26100', '26100'), ('2022', '10.0.20348', '20348'), ('2019', '10.0.17763', '17763'),
    ('2016', '10.0.14393', '14393'), ('2012 R2', '6.3.9600', '9600'), ('2012', '6.2.9200', '9200'),
    ('2008 R2', '6.1.7601', '7601'), ('2008', '6.0.6002', '6002'), ('2003', '5.2.3790', '3790'),
)


# Characters XML 1.0 cannot carry (section 2.2). A Windows process name or event message can hold one; none of the public
# captures shows how WinRM writes it, so the lab writes a character reference (&#x1;), which XML 1.0 forbids as well
# (WFC Legal Character): a strict parser refuses the answer either way, as it would refuse Windows' answer.
_XML_ILLEGAL = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _escape(text):
    # Windows escapes the double quote in element text as well (see PathName in the Win32_Service captures);
    # the membership tests first because almost no value needs escaping and they are much cheaper than replace
    if '&' in text or '<' in text or '>' in text or '"' in text:
        text = text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')
    if not text.isprintable():   # cheap, and false for every character _XML_ILLEGAL matches
        text = _XML_ILLEGAL.sub(lambda m: '&#x%x;' % ord(m.group()), text)
    return text


def format_datetime(value):
    """datetime -> '2013-04-15T16:28:47.73517Z' (fraction without trailing zeros, none when zero).

    A value in a host's local zone keeps its offset: WinRM turns the DMTF '20130415092847.735170-420' WMI returns
    into '2013-04-15T09:28:47.73517-07:00' (xs:dateTime, DSP0230); UTC values end in Z as in the captures.
    """
    offset = value.utcoffset() if value.tzinfo is not None else None
    if not offset:
        value = value.astimezone(UTC)
    text = value.strftime('%Y-%m-%dT%H:%M:%S')
    if value.microsecond:
        text += ('.%06d' % value.microsecond).rstrip('0')
    if not offset:
        return text + 'Z'
    minutes = int(offset.total_seconds() // 60)
    return text + '%s%02d:%02d' % ('-' if minutes < 0 else '+', abs(minutes) // 60, abs(minutes) % 60)


def to_datetime(epoch):
    return None if epoch is None else datetime.datetime.fromtimestamp(epoch, UTC)


def os_version(caption):
    for marker, version, build in _OS_VERSIONS:
        if marker in caption:
            return version, build
    return '10.0.17763', '17763'


def modern_os(caption):
    """Windows Server 2016 and later (Win32_Service.DelayedAutoStart exists there)."""
    return int(os_version(caption)[0].split('.', maxsplit=1)[0]) >= 10


class CimClass:
    """A WMI class: namespace, property names and CIM types in wire order, key properties, instance source."""

    def __init__(self, name, namespace, props, keys, provider='CIMWin32', declaration_order=False):
        self.name = name
        self.namespace = namespace
        # wire order: classic WMI classes come back sorted case-insensitively ('CreationDate' before 'CSName', see
        # the captures); MI classes (root/standardcimv2) keep their MOF declaration order, inherited ones first
        self.props = list(props) if declaration_order else sorted(props, key=lambda p: p[0].lower())
        self.names = [p[0] for p in self.props]     # built once: every request reads them
        self.types = dict(self.props)
        self.keys = keys
        self.provider = provider
        self.uri = WMI_PREFIX + namespace + '/' + name
        self._openings = {}
        self._close = '</p:%s>' % name
        self._typed_tags = _tags(self.names, 'p:', 'cim:Datetime')
        self._fragment_tags = _tags(self.names, '', 'Datetime')

    def opening(self, namespace_text=None):
        """The typed item's start tag; its p: namespace spells the WMI namespace as the request's resource URI did."""
        key = namespace_text or self.namespace
        tag = self._openings.get(key)
        if tag is None:
            uri = WMI_PREFIX + key + '/' + self.name
            tag = ('<p:%s xmlns:xsi="%s" xmlns:p="%s" xmlns:cim="%s" xsi:type="p:%s_Type">'
                   % (self.name, NS_XSI, uri, NS_CIM, self.name))
            if len(self._openings) < 16:
                self._openings[key] = tag
        return tag

    def prop_names(self, host):  # pylint: disable=unused-argument
        """Property names in wire order (some classes depend on the host's OS version); callers do not modify it."""
        return self.names

    def instances(self, host):  # pragma: no cover - every class overrides it
        raise NotImplementedError

    def select(self, host, query, schema, timeout=None):  # pylint: disable=unused-argument
        """(the instances a query reads, seconds it costs): every instance at no cost unless the class models one."""
        return self.instances(host), 0.0

    def render_typed(self, inst, names, namespace_text=None):
        return self.opening(namespace_text) + _render(inst, names, self._typed_tags) + self._close

    def render_fragment(self, inst, names, namespace_text=None):  # pylint: disable=unused-argument
        return _FRAGMENT_OPEN + _render(inst, names, self._fragment_tags) + '</w:XmlFragment>'


_FRAGMENT_OPEN = '<w:XmlFragment xmlns:xsi="%s" xmlns:w="%s">' % (NS_XSI, NS_W)


def _tags(names, prefix, dt_tag):
    """Per property: start tag, end tag, nil element, datetime wrapper tag (built once per class)."""
    return {n: ('<%s%s>' % (prefix, n), '</%s%s>' % (prefix, n), '<%s%s xsi:nil="true"/>' % (prefix, n), dt_tag)
            for n in names}


def _render(inst, names, tags):
    parts = []
    append = parts.append
    for name in names:
        value = inst.get(name)
        start, end, nil, dt_tag = tags[name]
        kind = type(value)
        if value is None:
            append(nil)
        elif kind is str:
            append(start + _escape(value) + end)
        elif kind is bool:
            append(start + ('true' if value else 'false') + end)
        elif kind is int:
            append(start + str(value) + end)
        else:
            append(_element(start[1:-1], value, dt_tag))
    return ''.join(parts)


def _element(tag, value, dt_tag):
    if value is None:
        return '<%s xsi:nil="true"/>' % tag
    if isinstance(value, bool):
        return '<%s>%s</%s>' % (tag, 'true' if value else 'false', tag)
    if isinstance(value, (int, float)):
        return '<%s>%s</%s>' % (tag, value, tag)
    if isinstance(value, datetime.datetime):
        return '<%s><%s>%s</%s></%s>' % (tag, dt_tag, format_datetime(value), dt_tag, tag)
    if isinstance(value, Reference):
        return '<%s>%s</%s>' % (tag, value.epr(), tag)
    if isinstance(value, list):
        if not value:
            return '<%s xsi:nil="true"/>' % tag
        return ''.join(_element(tag, v, dt_tag) for v in value)
    return '<%s>%s</%s>' % (tag, _escape(str(value)), tag)


ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'


class Reference:
    """A CIM reference property value (``ref`` type): the referenced instance's class, namespace and keys.

    On the wire it is the instance's WS-Addressing EPR, the children going straight into the property element
    (the shape of <cim:Location> in Microsoft's WinRM Get example): <a:Address> anonymous, then
    <a:ReferenceParameters> with <w:ResourceURI> and one <w:Selector Name="Key"> per key. The a: and w: prefixes
    are declared on the response envelope. str() is the WMI object path, which WQL compares with.
    """

    __slots__ = ('class_name', 'namespace', 'keys', '_path')

    def __init__(self, host, class_name, namespace, keys):
        self.class_name = class_name
        self.namespace = namespace
        self.keys = tuple(keys)                     # (name, value) pairs in key order
        key_text = ','.join('%s="%s"' % (k, v.replace('\\', '\\\\').replace('"', '\\"')) for k, v in self.keys)
        self._path = '\\\\%s\\%s:%s.%s' % (host.hostname, namespace.replace('/', '\\'), class_name, key_text)

    def epr(self):
        selectors = ''.join('<w:Selector Name="%s">%s</w:Selector>' % (name, _escape(value)) for name, value in self.keys)
        return ('<a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s%s/%s</w:ResourceURI>'
                '<w:SelectorSet>%s</w:SelectorSet></a:ReferenceParameters>'
                % (ANONYMOUS, WMI_PREFIX, self.namespace, self.class_name, selectors))

    def __str__(self):
        return self._path

    def __eq__(self, other):
        return isinstance(other, Reference) and str(self).lower() == str(other).lower()

    def __hash__(self):
        return hash(str(self).lower())


# ---------------------------------------------------------------------------------------------- Win32_Service
_SERVICE_PROPS = [
    ('AcceptPause', 'boolean'), ('AcceptStop', 'boolean'), ('Caption', 'string'), ('CheckPoint', 'uint32'),
    ('CreationClassName', 'string'), ('DelayedAutoStart', 'boolean'), ('Description', 'string'),
    ('DesktopInteract', 'boolean'), ('DisplayName', 'string'), ('ErrorControl', 'string'), ('ExitCode', 'uint32'),
    ('InstallDate', 'datetime'), ('Name', 'string'), ('PathName', 'string'), ('ProcessId', 'uint32'),
    ('ServiceSpecificExitCode', 'uint32'), ('ServiceType', 'string'), ('Started', 'boolean'),
    ('StartMode', 'string'), ('StartName', 'string'), ('State', 'string'), ('Status', 'string'),
    ('SystemCreationClassName', 'string'), ('SystemName', 'string'), ('TagId', 'uint32'), ('WaitHint', 'uint32'),
]


class Win32Service(CimClass):
    def __init__(self):
        super().__init__('Win32_Service', 'root/cimv2', _SERVICE_PROPS, ['Name'])
        self._old_names = [n for n in self.names if n != 'DelayedAutoStart']

    def prop_names(self, host):
        # DelayedAutoStart appeared in Win32_Service with Windows Server 2016; the 2008/2012 captures lack it
        return self.names if modern_os(host.spec.os) else self._old_names

    def instances(self, host):
        out = []
        for svc in sorted(host.services.values(), key=lambda s: s['name'].lower()):
            state = svc['state']
            # a service without a description has a NULL one: <p:Description xsi:nil="true"/> (NVWMI in the txwinrm
            # Server 2012 Win32_Service capture); an empty element is an empty string, as in Win32_OperatingSystem's
            out.append({
                'AcceptPause': False,
                'AcceptStop': state == _model.RUNNING and not svc['protected'],
                'Caption': svc['display_name'], 'CheckPoint': svc['checkpoint'],
                'CreationClassName': 'Win32_Service', 'DelayedAutoStart': svc['delayed_auto_start'],
                'Description': svc['description'] or None, 'DesktopInteract': False, 'DisplayName': svc['display_name'],
                'ErrorControl': 'Normal', 'ExitCode': svc['exit_code'], 'InstallDate': None, 'Name': svc['name'],
                'PathName': svc['path'], 'ProcessId': svc['pid'],
                'ServiceSpecificExitCode': svc['specific_exit_code'], 'ServiceType': svc['service_type'],
                'Started': state != _model.STOPPED, 'StartMode': svc['start_mode'], 'StartName': svc['account'],
                'State': state, 'Status': 'OK', 'SystemCreationClassName': 'Win32_ComputerSystem',
                'SystemName': host.hostname, 'TagId': 0, 'WaitHint': svc['wait_hint'],
            })
        return out


def service_reference(host, name):
    return Reference(host, 'Win32_Service', 'root/cimv2', [('Name', name)])


# ---------------------------------------------------------------------------------------------- Win32_DependentService
class Win32DependentService(CimClass):
    """The association of a service (Antecedent) with a service that depends on it (Dependent).

    One instance per ``depends_on`` entry that names a service of the host, ordered by the dependent's name, then
    the antecedent's (as listed in the scenario). TypeOfDependency stays NULL: the lab's SCM records no kind of
    dependency.
    """

    def __init__(self):
        super().__init__('Win32_DependentService', 'root/cimv2',
                         [('Antecedent', 'ref'), ('Dependent', 'ref'), ('TypeOfDependency', 'uint16')],
                         ['Antecedent', 'Dependent'])

    def instances(self, host):
        out = []
        for svc in sorted(host.services.values(), key=lambda s: s['name'].lower()):
            for name in svc['depends_on']:
                antecedent = host.service(name)
                if antecedent is not None:
                    out.append({'Antecedent': service_reference(host, antecedent['name']),
                                'Dependent': service_reference(host, svc['name']), 'TypeOfDependency': None})
        return out


# ---------------------------------------------------------------------------------------------- Win32_Process
_PROCESS_PROPS = [
    ('Caption', 'string'), ('CommandLine', 'string'), ('CreationClassName', 'string'), ('CreationDate', 'datetime'),
    ('CSCreationClassName', 'string'), ('CSName', 'string'), ('Description', 'string'), ('ExecutablePath', 'string'),
    ('ExecutionState', 'uint16'), ('Handle', 'string'), ('HandleCount', 'uint32'), ('InstallDate', 'datetime'),
    ('KernelModeTime', 'uint64'), ('MaximumWorkingSetSize', 'uint32'), ('MinimumWorkingSetSize', 'uint32'),
    ('Name', 'string'), ('OSCreationClassName', 'string'), ('OSName', 'string'), ('OtherOperationCount', 'uint64'),
    ('OtherTransferCount', 'uint64'), ('PageFaults', 'uint32'), ('PageFileUsage', 'uint32'),
    ('ParentProcessId', 'uint32'), ('PeakPageFileUsage', 'uint32'), ('PeakVirtualSize', 'uint64'),
    ('PeakWorkingSetSize', 'uint32'), ('Priority', 'uint32'), ('PrivatePageCount', 'uint64'), ('ProcessId', 'uint32'),
    ('QuotaNonPagedPoolUsage', 'uint32'), ('QuotaPagedPoolUsage', 'uint32'), ('QuotaPeakNonPagedPoolUsage', 'uint32'),
    ('QuotaPeakPagedPoolUsage', 'uint32'), ('ReadOperationCount', 'uint64'), ('ReadTransferCount', 'uint64'),
    ('SessionId', 'uint32'), ('Status', 'string'), ('TerminationDate', 'datetime'), ('ThreadCount', 'uint32'),
    ('UserModeTime', 'uint64'), ('VirtualSize', 'uint64'), ('WindowsVersion', 'string'), ('WorkingSetSize', 'uint64'),
    ('WriteOperationCount', 'uint64'), ('WriteTransferCount', 'uint64'),
]


def os_name(host):
    return '%s|C:\\Windows|\\Device\\Harddisk0\\Partition2' % host.spec.os


class Win32Process(CimClass):
    def __init__(self):
        super().__init__('Win32_Process', 'root/cimv2', _PROCESS_PROPS, ['Handle'])

    def instances(self, host):
        version = os_version(host.spec.os)[0]
        osname = os_name(host)
        out = []
        for proc in host.processes.values():
            pid = proc['pid']
            idle = pid == 0
            # sizes are plausible constants derived from the PID: the lab has no memory to report
            ws = 0 if idle else 4096 * (900 + pid % 2000)
            out.append({
                'Caption': proc['name'], 'CommandLine': proc['command_line'], 'CreationClassName': 'Win32_Process',
                'CreationDate': to_datetime(proc['created']), 'CSCreationClassName': 'Win32_ComputerSystem',
                'CSName': host.hostname, 'Description': proc['name'], 'ExecutablePath': proc['path'],
                'ExecutionState': None, 'Handle': str(pid), 'HandleCount': 0 if idle else 100 + pid % 700,
                'InstallDate': None, 'KernelModeTime': 0 if idle else 156250 * (1 + pid % 97),
                'MaximumWorkingSetSize': None if pid in (0, 4) else 1380,
                'MinimumWorkingSetSize': None if pid in (0, 4) else 200,
                'Name': proc['name'], 'OSCreationClassName': 'Win32_OperatingSystem', 'OSName': osname,
                'OtherOperationCount': 0 if idle else 100 + pid, 'OtherTransferCount': 0 if idle else 4000 + pid,
                'PageFaults': 0 if idle else 2000 + pid, 'PageFileUsage': 0 if idle else 2000 + pid % 4000,
                'ParentProcessId': proc['parent'], 'PeakPageFileUsage': 0 if idle else 2100 + pid % 4000,
                'PeakVirtualSize': 65536 if idle else 38768640 + 4096 * pid, 'PeakWorkingSetSize': ws // 1024,
                'Priority': 0 if idle else 8, 'PrivatePageCount': 0 if idle else 4096 * (600 + pid % 3000),
                'ProcessId': pid, 'QuotaNonPagedPoolUsage': 0 if idle else 14, 'QuotaPagedPoolUsage': 0 if idle else 129,
                'QuotaPeakNonPagedPoolUsage': 0 if idle else 15, 'QuotaPeakPagedPoolUsage': 0 if idle else 130,
                'ReadOperationCount': 0 if idle else pid % 50, 'ReadTransferCount': 0 if idle else 8192 * (pid % 50),
                'SessionId': 0, 'Status': None, 'TerminationDate': None, 'ThreadCount': 1 if idle else 4 + pid % 30,
                'UserModeTime': 0 if idle else 156250 * (pid % 61), 'VirtualSize': 65536 if idle else 38768640 + 4096 * pid,
                'WindowsVersion': version, 'WorkingSetSize': 20480 if idle else ws,
                'WriteOperationCount': 0, 'WriteTransferCount': 0,
            })
        return out


# ---------------------------------------------------------------------------------------------- Win32_OperatingSystem
_OS_PROPS = [
    ('BootDevice', 'string'), ('BuildNumber', 'string'), ('BuildType', 'string'), ('Caption', 'string'),
    ('CodeSet', 'string'), ('CountryCode', 'string'), ('CreationClassName', 'string'),
    ('CSCreationClassName', 'string'), ('CSDVersion', 'string'), ('CSName', 'string'), ('CurrentTimeZone', 'sint16'),
    ('DataExecutionPrevention_32BitApplications', 'boolean'), ('DataExecutionPrevention_Available', 'boolean'),
    ('DataExecutionPrevention_Drivers', 'boolean'), ('DataExecutionPrevention_SupportPolicy', 'uint8'),
    ('Debug', 'boolean'), ('Description', 'string'), ('Distributed', 'boolean'), ('EncryptionLevel', 'uint32'),
    ('ForegroundApplicationBoost', 'uint8'), ('FreePhysicalMemory', 'uint64'), ('FreeSpaceInPagingFiles', 'uint64'),
    ('FreeVirtualMemory', 'uint64'), ('InstallDate', 'datetime'), ('LargeSystemCache', 'uint32'),
    ('LastBootUpTime', 'datetime'), ('LocalDateTime', 'datetime'), ('Locale', 'string'), ('Manufacturer', 'string'),
    ('MaxNumberOfProcesses', 'uint32'), ('MaxProcessMemorySize', 'uint64'), ('MUILanguages', 'string'),
    ('Name', 'string'), ('NumberOfLicensedUsers', 'uint32'), ('NumberOfProcesses', 'uint32'),
    ('NumberOfUsers', 'uint32'), ('OperatingSystemSKU', 'uint32'), ('Organization', 'string'),
    ('OSArchitecture', 'string'), ('OSLanguage', 'uint32'), ('OSProductSuite', 'uint32'), ('OSType', 'uint16'),
    ('OtherTypeDescription', 'string'), ('PAEEnabled', 'boolean'), ('PlusProductID', 'string'),
    ('PlusVersionNumber', 'string'), ('PortableOperatingSystem', 'boolean'), ('Primary', 'boolean'),
    ('ProductType', 'uint32'), ('RegisteredUser', 'string'), ('SerialNumber', 'string'),
    ('ServicePackMajorVersion', 'uint16'), ('ServicePackMinorVersion', 'uint16'), ('SizeStoredInPagingFiles', 'uint64'),
    ('Status', 'string'), ('SuiteMask', 'uint32'), ('SystemDevice', 'string'), ('SystemDirectory', 'string'),
    ('SystemDrive', 'string'), ('TotalSwapSpaceSize', 'uint64'), ('TotalVirtualMemorySize', 'uint64'),
    ('TotalVisibleMemorySize', 'uint64'), ('Version', 'string'), ('WindowsDirectory', 'string'),
]


class Win32OperatingSystem(CimClass):
    def __init__(self):
        super().__init__('Win32_OperatingSystem', 'root/cimv2', _OS_PROPS, ['Name'])

    def instances(self, host):
        version, build = os_version(host.spec.os)
        now = to_datetime(host.now())
        return [{
            'BootDevice': '\\Device\\HarddiskVolume1', 'BuildNumber': build, 'BuildType': 'Multiprocessor Free',
            'Caption': host.spec.os, 'CodeSet': '1252', 'CountryCode': '1', 'CreationClassName': 'Win32_OperatingSystem',
            'CSCreationClassName': 'Win32_ComputerSystem', 'CSDVersion': None, 'CSName': host.hostname,
            'CurrentTimeZone': host.spec.utc_offset_minutes, 'DataExecutionPrevention_32BitApplications': True,
            'DataExecutionPrevention_Available': True, 'DataExecutionPrevention_Drivers': True,
            'DataExecutionPrevention_SupportPolicy': 3, 'Debug': False, 'Description': '', 'Distributed': False,
            'EncryptionLevel': 256, 'ForegroundApplicationBoost': 2, 'FreePhysicalMemory': 2123456,
            'FreeSpaceInPagingFiles': 8382164, 'FreeVirtualMemory': 9366496,
            'InstallDate': to_datetime(host.boot - 400 * 86400), 'LargeSystemCache': None,
            'LastBootUpTime': to_datetime(host.boot), 'LocalDateTime': now.astimezone(_eventlog.host_zone(host)),
            'Locale': '0409',
            'Manufacturer': 'Microsoft Corporation', 'MaxNumberOfProcesses': 4294967295,
            'MaxProcessMemorySize': 137438953344, 'MUILanguages': ['en-US'], 'Name': os_name(host),
            'NumberOfLicensedUsers': 0, 'NumberOfProcesses': len(host.processes), 'NumberOfUsers': 0,
            'OperatingSystemSKU': 7, 'Organization': 'Lab', 'OSArchitecture': '64-bit', 'OSLanguage': 1033,
            'OSProductSuite': 272, 'OSType': 18, 'OtherTypeDescription': None, 'PAEEnabled': None,
            'PlusProductID': None, 'PlusVersionNumber': None, 'PortableOperatingSystem': False, 'Primary': True,
            'ProductType': 3, 'RegisteredUser': 'Lab', 'SerialNumber': '00429-70000-00000-AA%03d' % (len(host.hostname) * 7),
            'ServicePackMajorVersion': 0, 'ServicePackMinorVersion': 0, 'SizeStoredInPagingFiles': 8388608,
            'Status': 'OK', 'SuiteMask': 272, 'SystemDevice': '\\Device\\HarddiskVolume2',
            'SystemDirectory': 'C:\\Windows\\system32', 'SystemDrive': 'C:', 'TotalSwapSpaceSize': None,
            'TotalVirtualMemorySize': 9017972, 'TotalVisibleMemorySize': 4193844, 'Version': version,
            'WindowsDirectory': 'C:\\Windows',
        }]


# ---------------------------------------------------------------------------------------------- MSFT_NetTCPConnection
# Documented MOF of MSFT_NetTCPConnection (root/StandardCimv2, provider nettcpip) with inherited properties.
_TCP_PROPS = [
    ('Caption', 'string'), ('Description', 'string'), ('ElementName', 'string'), ('InstallDate', 'datetime'),
    ('Name', 'string'), ('OperationalStatus', 'uint16'), ('StatusDescriptions', 'string'), ('Status', 'string'),
    ('HealthState', 'uint16'), ('CommunicationStatus', 'uint16'), ('DetailedStatus', 'uint16'),
    ('OperatingStatus', 'uint16'), ('PrimaryStatus', 'uint16'), ('OtherEnabledState', 'string'),
    ('EnabledDefault', 'uint16'), ('TimeOfLastStateChange', 'datetime'), ('TransitioningToState', 'uint16'),
    ('AvailableRequestedStates', 'uint16'), ('InstanceID', 'string'), ('EnabledState', 'uint16'),
    ('RequestedState', 'uint16'), ('Directionality', 'uint16'), ('AggregationBehavior', 'uint16'),
    ('LocalAddress', 'string'), ('LocalPort', 'uint16'), ('RemoteAddress', 'string'), ('RemotePort', 'uint16'),
    ('State', 'uint8'), ('AppliedSetting', 'uint8'), ('OwningProcess', 'uint32'), ('CreationTime', 'datetime'),
    ('OffloadState', 'uint8'),
]
TCP_STATES = {'Listen': 2, 'Established': 5, 'TimeWait': 11}     # MSFT_NetTCPConnection.State values


class MsftNetTcpConnection(CimClass):
    def __init__(self):
        super().__init__('MSFT_NetTCPConnection', 'root/standardcimv2', _TCP_PROPS, ['InstanceID'], provider='nettcpip',
                         declaration_order=True)

    def instances(self, host):
        out = []
        for address, port, remote, rport, state, pid, created in host.tcp_table():
            out.append({
                'Caption': None, 'Description': None, 'ElementName': None, 'InstallDate': None, 'Name': None,
                'OperationalStatus': None, 'StatusDescriptions': None, 'Status': None, 'HealthState': None,
                'CommunicationStatus': None, 'DetailedStatus': None, 'OperatingStatus': None, 'PrimaryStatus': None,
                'OtherEnabledState': None, 'EnabledDefault': 2, 'TimeOfLastStateChange': None,
                'TransitioningToState': 12, 'AvailableRequestedStates': None,
                'InstanceID': '%s++%d++%s++%d' % (address, port, remote, rport), 'EnabledState': None,
                'RequestedState': 5, 'Directionality': None, 'AggregationBehavior': None, 'LocalAddress': address,
                'LocalPort': port, 'RemoteAddress': remote, 'RemotePort': rport, 'State': TCP_STATES[state],
                'AppliedSetting': None if state == 'Listen' else 0, 'OwningProcess': pid,
                'CreationTime': to_datetime(created), 'OffloadState': 0,
            })
        return out


# ---------------------------------------------------------------------------------------------- Win32_NTLogEvent
_EVENT_PROPS = [
    ('Category', 'uint16'), ('CategoryString', 'string'), ('ComputerName', 'string'), ('Data', 'uint8'),
    ('EventCode', 'uint16'), ('EventIdentifier', 'uint32'), ('EventType', 'uint8'), ('InsertionStrings', 'string'),
    ('Logfile', 'string'), ('Message', 'string'), ('RecordNumber', 'uint32'), ('SourceName', 'string'),
    ('TimeGenerated', 'datetime'), ('TimeWritten', 'datetime'), ('Type', 'string'), ('User', 'string'),
]
# event type -> (Win32_NTLogEvent.EventType, Type, severity bits of EventIdentifier)
_EVENT_TYPES = {
    'error': (1, 'Error', 0xC0000000), 'warning': (2, 'Warning', 0x80000000),
    'information': (3, 'Information', 0x40000000), 'audit success': (4, 'Audit Success', 0),
    'audit failure': (5, 'Audit Failure', 0),
}


class Win32NTLogEvent(CimClass):
    """The classic event logs through WMI's event log provider (winlab.eventlog: generated records and query cost).

    InsertionStrings are the strings the message was formatted from; Message is NULL when the source's message file
    cannot be loaded (scenario field ``missing_message_files``), as the provider leaves it then. TimeGenerated and
    TimeWritten are in the host's time zone (``utc_offset_minutes``).
    """

    def __init__(self):
        super().__init__('Win32_NTLogEvent', 'root/cimv2', _EVENT_PROPS, ['Logfile', 'RecordNumber'])

    def instances(self, host):
        query = wql.parse('SELECT * FROM Win32_NTLogEvent')
        return self.select(host, query, wql_schema(self, host))[0]

    def select(self, host, query, schema, timeout=None):
        """(instances the provider reads for query, seconds it spends); eventlog.Refusal when WMI refuses."""
        records, scanned = _eventlog.records(host, query, schema)
        delay = _eventlog.cost(host, scanned, timeout if timeout is not None else float('inf'))
        zone = _eventlog.host_zone(host)
        missing = {source.lower() for source in host.spec.missing_message_files}
        out = []
        for event in records:
            if isinstance(event, _eventlog.Generated):
                out.extend(self._generated(host, event, query, schema, zone, missing))
            else:
                out.append(self._instance(host, event, zone, missing))
        return out, delay

    def _generated(self, host, generated, query, schema, zone, missing):
        """The generated records read, built only for the kinds the query can match: records of one kind differ only
        in number and time, which the scan's time bound has already settled (a 72-hour query reads ~20,000)."""
        test = wql.residual(query, schema, 'TimeGenerated', _eventlog.VARYING)
        kinds = [self._instance(host, generated.event(kind), zone, missing) for kind in range(_eventlog.KINDS)]
        wanted = {kind for kind, inst in enumerate(kinds) if test is None or test(inst)}
        for record in generated.numbers():
            kind = record % _eventlog.KINDS
            if kind in wanted:
                when = datetime.datetime.fromtimestamp(generated.time(record), zone)
                yield dict(kinds[kind], RecordNumber=record, TimeGenerated=when, TimeWritten=when)

    @staticmethod
    def _instance(host, event, zone, missing):
        etype, tname, severity = _EVENT_TYPES.get(event['type'], _EVENT_TYPES['information'])
        when = datetime.datetime.fromtimestamp(event['time'], zone)
        return {
            'Category': 0, 'CategoryString': None, 'ComputerName': host.hostname, 'Data': None,
            'EventCode': event['event_id'], 'EventIdentifier': severity | event['event_id'], 'EventType': etype,
            'InsertionStrings': list(event.get('strings') or ()), 'Logfile': event['log'],
            'Message': None if event['source'].lower() in missing else event['message'],
            'RecordNumber': event['record'], 'SourceName': event['source'], 'TimeGenerated': when,
            'TimeWritten': when, 'Type': tname, 'User': None,
        }


CLASSES = {c.name.lower(): c for c in (Win32Service(), Win32DependentService(), Win32Process(), Win32OperatingSystem(),
                                       MsftNetTcpConnection(), Win32NTLogEvent())}


def find_class(namespace, name):
    """The class called name in namespace ('root/cimv2'), case-insensitive; None when WMI would say invalid class."""
    cls = CLASSES.get(name.lower())
    if cls is None or cls.namespace != namespace.lower():
        return None
    return cls


def wql_schema(cls, host):
    """The property types the WQL evaluator needs (names as the class spells them)."""
    return wql.Schema(cls.name, {n: cls.types[n] for n in cls.prop_names(host)})
