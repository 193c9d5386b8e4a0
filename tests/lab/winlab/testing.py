# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""running_fleet(): start `python -m winlab fleet` for a test and stop it afterwards.

    with running_fleet(['tests/lab/scenarios/ex55-smtp.yml'], tmp_path) as lab:
        lab.inventory_path, lab.hosts['ex55-smtp']['ansible_host'], lab.host_state('ex55-smtp'),
        lab.requests('ex55-smtp')

Ports are picked free for every start, and each fleet gets its own block of loopback addresses (other fleets run
on this machine at the same time, and each host listens on the real SMTP ports of its address).
"""
from __future__ import annotations

import contextlib
import datetime
import importlib
import ipaddress
import itertools
import json
import os
import random
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

import yaml

from winlab import kdc, reqlog, soap

LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXIT_LISTEN = 3     # cli.EXIT_LISTEN: a port was taken between picking it and binding it
# Where test fleets take their address blocks: away from 127.0.0.0/16 and from the CLI's default 127.77.0.0/16.
TEST_RANGE = ipaddress.ip_network('127.64.0.0/10')
DEFAULT_RANGE = ipaddress.ip_network('127.77.0.0/16')


def random_subnet(hosts=1, rng=random):
    """A loopback block of its own for one fleet (at least /22, more for big generated fleets)."""
    prefix = 22
    while (1 << (32 - prefix)) - 2 < hosts + 2 and prefix > TEST_RANGE.prefixlen:
        prefix -= 1
    blocks = list(TEST_RANGE.subnets(new_prefix=prefix)) if prefix < 18 else None
    while True:
        if blocks is not None:
            block = rng.choice(blocks)
        else:
            size = 1 << (32 - prefix)
            start = int(TEST_RANGE.network_address) + rng.randrange(TEST_RANGE.num_addresses // size) * size
            block = ipaddress.ip_network('%s/%d' % (ipaddress.ip_address(start), prefix))
        if not block.overlaps(DEFAULT_RANGE):
            return str(block)


def _count_hosts(spec_paths, generate):
    if generate:
        return generate
    count = 0
    for path in spec_paths or ():
        with open(path, encoding='utf-8') as handle:
            count += len((yaml.safe_load(handle) or {}).get('hosts') or ())
    return count


class FleetStartError(RuntimeError):
    """The fleet did not become ready; the message carries its stderr."""


def free_port():
    """A TCP port nothing listens on, on any address (binding the wildcard proves that)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('0.0.0.0', 0))
        return sock.getsockname()[1]


class FleetHandle:
    """A running fleet: where its files are and how to read them."""

    def __init__(self, process, state_dir, inventory_path, ready, stderr_path):
        self.process = process
        self.state_dir = state_dir
        self.inventory_path = inventory_path
        self.ready = ready
        self.stderr_path = stderr_path
        self.http_port = ready['http_port']
        self.https_port = ready['https_port']
        self.ca_path = ready['ca_path']
        self.subnet = ready.get('subnet')
        self.smtp = ready.get('smtp') or {}
        with open(inventory_path, encoding='utf-8') as handle:
            self.inventory = yaml.safe_load(handle)
        self.hosts = dict(self.inventory['all']['children']['windows']['hosts'])

    def host_state(self, name):
        """The parsed DIR/<name>.json the lab keeps for a host."""
        with open(os.path.join(self.state_dir, name + '.json'), encoding='utf-8') as handle:
            return json.load(handle)

    def requests(self, name):
        """The parsed request log lines of a host (oldest first)."""
        return reqlog.read_log(reqlog.log_path(self.state_dir, name))

    def endpoint(self, name):
        """http(s)://address:port/wsman of a host, as the inventory describes it."""
        host = self.hosts[name]
        return '%s://%s:%d/wsman' % (host['ansible_winrm_scheme'], host['ansible_host'], host['ansible_port'])

    def stderr(self):
        try:
            with open(self.stderr_path, encoding='utf-8', errors='replace') as handle:
                return handle.read()
        except OSError:
            return ''

    def stop(self, timeout=15):
        """SIGTERM (a clean stop flushes everything), then SIGKILL if it does not exit in time; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _start(cmd, env, ready_file, stderr_path, start_timeout):
    with open(stderr_path, 'ab') as err:
        process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                   stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return process, None
        if os.path.exists(ready_file):
            with open(ready_file, encoding='utf-8') as handle:
                ready = json.load(handle)
            if ready.get('pid') == process.pid:
                return process, ready
        time.sleep(0.05)
    process.kill()
    process.wait()
    with open(stderr_path, 'a', encoding='utf-8') as err:
        err.write('\n(running_fleet: not ready within %s s; killed)\n' % start_timeout)
    return process, None


@contextlib.contextmanager
def running_fleet(spec_paths=None, state_dir=None, http_port=None, https_port=None, *, generate=None,
                  extra_args=(), start_timeout=120):
    """Start a fleet subprocess (scenario files or generate=N), yield a FleetHandle, stop it on exit.

    state_dir defaults to a temporary directory removed afterwards; pass one (tmp_path) to look at it
    or to restart a fleet from it.  extra_args go to `python -m winlab fleet` (e.g. ['--read-timeout', '1']).
    Without a --subnet in extra_args the fleet gets a random block of its own, and another one if its SMTP ports
    collide with another fleet's.
    """
    if isinstance(spec_paths, (str, os.PathLike)):
        spec_paths = [spec_paths]
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix='winlab-'))
        state_dir = os.path.abspath(os.fspath(state_dir))
        os.makedirs(state_dir, exist_ok=True)
        inventory_path = os.path.join(state_dir, 'inventory.yml')
        ready_file = os.path.join(state_dir, 'ready.json')
        stderr_path = os.path.join(state_dir, 'fleet.stderr.log')
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join([LAB_DIR] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
        fixed_ports = http_port is not None and https_port is not None
        own_subnet = '--subnet' not in [str(a) for a in extra_args]
        hosts = _count_hosts(spec_paths, generate) if own_subnet else 0
        subnet_file = os.path.join(state_dir, 'subnet.txt')     # a restart from this state keeps its addresses
        remembered = None
        if own_subnet and os.path.exists(subnet_file):
            with open(subnet_file, encoding='utf-8') as handle:
                remembered = handle.read().strip() or None
        for attempt in range(1 if fixed_ports and not own_subnet else 6):
            ports = (http_port or free_port(), https_port or free_port())
            if ports[0] == ports[1]:
                continue
            cmd = [sys.executable, '-m', 'winlab', 'fleet', '--state-dir', state_dir, '--inventory', inventory_path,
                   '--ready-file', ready_file, '--http-port', str(ports[0]), '--https-port', str(ports[1])]
            if own_subnet:
                subnet = remembered if attempt == 0 and remembered else random_subnet(hosts)
                cmd += ['--subnet', subnet]
            if generate:
                cmd += ['--generate', str(generate)]
            for path in spec_paths or ():
                cmd += ['--spec', os.fspath(path)]
            cmd += [str(a) for a in extra_args]
            for stale in (stderr_path, ready_file):     # a killed earlier fleet may have left them
                if os.path.exists(stale):
                    os.unlink(stale)
            process, ready = _start(cmd, env, ready_file, stderr_path, start_timeout)
            if ready is not None or process.returncode != EXIT_LISTEN:
                break
        if ready is None:
            with open(stderr_path, encoding='utf-8', errors='replace') as handle:
                err = handle.read().strip()
            raise FleetStartError('winlab fleet did not become ready (exit code %s): %s'
                                  % (process.returncode, err or '(no stderr)'))
        if own_subnet:
            with open(subnet_file, 'w', encoding='utf-8') as handle:
                handle.write(ready['subnet'] + '\n')
        handle = FleetHandle(process, state_dir, inventory_path, ready, stderr_path)
        try:
            yield handle
        finally:
            handle.stop()


# helpers for clients in tests ------------------------------------------------------------------

def require_smtp(lab):
    """Greetings need the real SMTP ports: in CI (root, ``CI`` set) they must be served, elsewhere the test skips
    saying why."""
    import pytest  # pylint: disable=import-outside-toplevel  # only tests call this
    if not lab.smtp.get('served'):
        if os.environ.get('CI'):
            pytest.fail('the lab could not serve SMTP greetings in CI: %s' % lab.smtp.get('reason'))
        pytest.skip(lab.smtp.get('reason') or 'SMTP greetings are not served')


def smtp_greeting(address, port=25):
    """``(code, text)`` of a greeting as Python's smtplib reads it (then QUIT), or None when the port refuses."""
    client = smtplib.SMTP(timeout=5)
    try:
        code, text = client.connect(address, port)
    except ConnectionRefusedError:
        return None
    client.quit()
    return code, text.decode()


_CCACHES = itertools.count(1)


def kerberos_missing():
    """What this machine lacks for the Kerberos tests (Python bindings, MIT tools), or '' when nothing."""
    missing = []
    for module in ('gssapi', 'krb5', 'kerberos'):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append('the Python package %s' % ('pykerberos' if module == 'kerberos' else module))
    for tool in kdc.TOOLS + ('kinit',):
        try:
            kdc.find_tool(tool)
        except kdc.KerberosSetupError:
            missing.append(tool)
    return ', '.join(missing)


def require_kerberos():
    """Call at the top of a Kerberos test module: skips it when this machine lacks Kerberos, and fails the run
    instead under CI=true, where make test has installed everything (a skip there would hide a broken set-up)."""
    import pytest  # pylint: disable=import-outside-toplevel  # winlab.testing is also used outside pytest
    missing = kerberos_missing()
    if not missing:
        return
    message = 'Kerberos tests need %s (make test installs them: Debian packages krb5-kdc krb5-admin-server krb5-user ' \
              'libkrb5-dev, and requirements/dev.txt)' % missing
    if os.environ.get('CI') == 'true':
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


@contextlib.contextmanager
def kerberos_ticket(lab, principal=None, password=None):
    """The lab user's ticket (or `principal`'s) in a fresh in-memory credential cache, made the default cache of
    this process (KRB5CCNAME, with KRB5_CONFIG the lab's krb5.conf) while the block runs; yields the cache name.

    Like kinit, without a file or a child process: gssapi asks the lab's KDC with the password."""
    import gssapi.raw  # pylint: disable=import-outside-toplevel  # only Kerberos tests need it
    import krb5  # pylint: disable=import-outside-toplevel
    if principal is None:
        kerberos_hosts = [h for h in lab.hosts.values() if h['ansible_winrm_transport'] == 'kerberos']
        if not kerberos_hosts:
            raise ValueError('the fleet has no Kerberos host: give principal and password')
        principal, password = kerberos_hosts[0]['ansible_user'], kerberos_hosts[0]['ansible_password']
    saved = {name: os.environ.get(name) for name in ('KRB5_CONFIG', 'KRB5CCNAME')}
    ccache = 'MEMORY:winlab-test-%d' % next(_CCACHES)
    os.environ['KRB5_CONFIG'] = lab.ready['krb5_conf']
    try:
        creds = gssapi.raw.acquire_cred_with_password(gssapi.raw.import_name(principal.encode(), gssapi.raw.NameType.user),
                                                      password.encode(), usage='initiate').creds
        gssapi.raw.store_cred_into({b'ccache': ccache.encode()}, creds, usage='initiate', overwrite=True)
        os.environ['KRB5CCNAME'] = ccache
        yield ccache
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        context = krb5.init_context()
        with contextlib.suppress(krb5.Krb5Error):
            krb5.cc_destroy(context, krb5.cc_resolve(context, ccache.encode()))


LAB_USER = 'LAB\\ansible'
LAB_PASSWORD = 'Lab-Passw0rd!'
CIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/'
STDCIMV2 = 'http://schemas.microsoft.com/wbem/wsman/1/wmi/root/standardcimv2/'
SERVICE = CIMV2 + 'Win32_Service'
NS = {'n': soap.NS_N, 'w': soap.NS_W, 'svc': SERVICE + '/', 'ev': CIMV2 + 'Win32_NTLogEvent'}


# a small Exchange 5.5 host: enough services for the transport tests, SMTPSVC holding port 25
SMALL_SERVICES = [
    {'name': 'IISADMIN', 'display_name': 'IIS Admin Service', 'state': 'running', 'start_mode': 'auto',
     'process': 'inetinfo.exe', 'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe'},
    {'name': 'SMTPSVC', 'display_name': 'Simple Mail Transfer Protocol (SMTP)', 'state': 'running',
     'start_mode': 'auto', 'process': 'inetinfo.exe', 'path': 'C:\\Windows\\system32\\inetsrv\\inetinfo.exe',
     'listens': [25], 'depends_on': ['IISADMIN']},
    {'name': 'MSExchangeIMC', 'display_name': 'Microsoft Exchange Internet Mail Service', 'state': 'stopped',
     'start_mode': 'auto', 'process': 'msexcimc.exe', 'path': 'C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe',
     'listens': [25]},
]


def small_host(name, **fields):
    """A scenario host entry: a small Exchange 5.5 host (IISADMIN, SMTPSVC on 25, MSExchangeIMC stopped)."""
    host = {'name': name, 'groups': ['exchange55'], 'services': [dict(s) for s in SMALL_SERVICES]}
    host.update(fields)
    return host


def write_scenario(path, hosts, defaults=None):
    """Write a scenario file ({defaults, hosts}) and return its path; defaults to the lab credentials over NTLM/HTTP."""
    data = {'defaults': dict({'username': LAB_USER, 'password': LAB_PASSWORD, 'auth': ['ntlm'], 'scheme': 'http'},
                             **(defaults or {})),
            'hosts': hosts}
    path = os.fspath(path)
    with open(path, 'w', encoding='utf-8') as handle:
        yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False)
    return path


def enumerate_envelope(to, resource_uri, wql=None, max_envelope=512000,
                       message_id='uuid:00000000-0000-0000-0000-000000000001'):
    """A WS-Enumeration Enumerate request as pywinrm users build it (OptimizeEnumeration, optional WQL filter)."""
    return request_envelope(soap.ACT_ENUMERATE, resource_uri, enumerate_body(wql), message_id=message_id,
                            max_envelope=max_envelope, timeout='PT20S', to=to).decode('utf-8')


def dmtf(epoch):
    """A DMTF datetime (UTC) for WQL."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y%m%d%H%M%S.%f') + '+000'


class ServiceClient:
    """Builds requests like the collection does and sends them through ``send`` (wsman.handle or HTTP): a few service
    reads and method calls for tests that play the KB's steps over WS-Man."""

    def __init__(self, send):
        self.send = send

    @classmethod
    def over(cls, protocol):
        """A client that talks through a pywinrm Protocol (HTTP, NTLM, message encryption)."""
        return cls(lambda body: ET.fromstring(protocol.send_message(body.decode('utf-8'))))

    def items(self, namespace, query):
        root = self.send(request_envelope(soap.ACT_ENUMERATE, namespace + '*', enumerate_body(query)))
        found = list(root.find('.//n:EnumerateResponse/w:Items', NS))
        context = root.findtext('.//n:EnumerateResponse/n:EnumerationContext', namespaces=NS)
        while context:
            root = self.send(request_envelope(soap.ACT_PULL, namespace + '*', pull_body(context)))
            found.extend(root.find('.//n:PullResponse/n:Items', NS))
            context = root.findtext('.//n:PullResponse/n:EnumerationContext', namespaces=NS)
        return found

    def service(self, name):
        item = self.items(CIMV2, "SELECT Name, State, ProcessId, ExitCode, ServiceSpecificExitCode, StartMode "
                                 "FROM Win32_Service WHERE Name = '%s'" % name)[0]
        return {c.tag: c.text for c in item}

    def invoke(self, method, name, body=''):
        root = self.send(request_envelope(SERVICE + '/' + method, SERVICE, body, selectors={'Name': name}))
        return int(root.findtext('.//{%s}ReturnValue' % SERVICE))

    def change_start_mode(self, name, mode):
        body = ('<p:ChangeStartMode_INPUT xmlns:p="%s"><p:StartMode>%s</p:StartMode></p:ChangeStartMode_INPUT>'
                % (SERVICE, mode))
        return self.invoke('ChangeStartMode', name, body)

    def events_since(self, epoch):
        query = "SELECT * FROM Win32_NTLogEvent WHERE TimeGenerated >= '%s'" % dmtf(epoch)
        return sorted((i.findtext('{%s}Logfile' % NS['ev']), i.findtext('{%s}SourceName' % NS['ev']),
                       int(i.findtext('{%s}EventCode' % NS['ev']))) for i in self.items(CIMV2, query))

    def listeners(self, port):
        query = 'SELECT LocalPort, OwningProcess FROM MSFT_NetTCPConnection WHERE LocalPort = %d AND State = 2' % port
        return sorted({int(i.findtext('OwningProcess')) for i in self.items(STDCIMV2, query)})


def pywinrm_protocol(lab, name, **overrides):
    """A winrm.protocol.Protocol for a lab host, configured from the inventory the way Ansible's plugin would.

    Kerberos hosts need a ticket for the user in the default credential cache (see kerberos_ticket)."""
    import winrm.protocol  # pylint: disable=import-outside-toplevel  # only tests that drive pywinrm need it
    host = lab.hosts[name]
    kwargs = {'endpoint': lab.endpoint(name), 'transport': host['ansible_winrm_transport'],
              'username': host['ansible_user'], 'password': host.get('ansible_password')}
    if 'ansible_winrm_kerberos_hostname_override' in host:
        kwargs['kerberos_hostname_override'] = host['ansible_winrm_kerberos_hostname_override']
    if 'ansible_winrm_cert_pem' in host:
        kwargs.update(cert_pem=host['ansible_winrm_cert_pem'], cert_key_pem=host['ansible_winrm_cert_key_pem'])
    if host['ansible_winrm_scheme'] == 'https':
        kwargs['server_cert_validation'] = 'validate'
        kwargs['ca_trust_path'] = host['ansible_winrm_ca_trust_path']
    kwargs.update(overrides)
    return winrm.protocol.Protocol(**kwargs)


# ------------------------------------------------------------------------------------------------ request builders
def request_envelope(action, resource_uri, body='', selectors=None, message_id=None, max_envelope=153600,
                     timeout='PT60S', to='http://127.0.0.1:5985/wsman', options=None):
    """A request in the shape pywinrm sends (its prefixes: s/wsa/wsman), for tests, benchmarks and demos."""
    sel = ''
    if selectors:
        sel = '<wsman:SelectorSet>%s</wsman:SelectorSet>' % ''.join(
            '<wsman:Selector Name="%s">%s</wsman:Selector>' % (soap.esc(k), soap.esc(v)) for k, v in selectors.items())
    opt = ''
    if options:
        opt = '<wsman:OptionSet>%s</wsman:OptionSet>' % ''.join(
            '<wsman:Option Name="%s">%s</wsman:Option>' % (soap.esc(k), soap.esc(v)) for k, v in options.items())
    return ('<s:Envelope xmlns:s="%s" xmlns:wsa="%s" xmlns:wsman="%s" xmlns:wsen="%s" xmlns:rsp="%s"><s:Header>'
            '<wsa:To>%s</wsa:To><wsa:ReplyTo><wsa:Address s:mustUnderstand="true">%s</wsa:Address></wsa:ReplyTo>'
            '<wsman:MaxEnvelopeSize s:mustUnderstand="true">%d</wsman:MaxEnvelopeSize><wsa:MessageID>%s'
            '</wsa:MessageID><wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/><wsman:OperationTimeout>%s'
            '</wsman:OperationTimeout><wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI>'
            '<wsa:Action s:mustUnderstand="true">%s</wsa:Action>%s%s</s:Header><s:Body>%s</s:Body></s:Envelope>'
            % (soap.NS_S, soap.NS_A, soap.NS_W, soap.NS_N, soap.NS_RSP, soap.esc(to), soap.ANONYMOUS, max_envelope,
               message_id or 'uuid:' + soap.new_uuid(), timeout, soap.esc(resource_uri), soap.esc(action), sel, opt, body)).encode('utf-8')


def enumerate_body(wql_text=None, optimize=True, max_elements=32000):
    """<wsen:Enumerate> with the WQL filter and OptimizeEnumeration/MaxElements as the collection sends them."""
    parts = []
    if optimize:
        parts.append('<wsman:OptimizeEnumeration/><wsman:MaxElements>%d</wsman:MaxElements>' % max_elements)
    if wql_text is not None:
        parts.append('<wsman:Filter Dialect="%s">%s</wsman:Filter>' % (soap.WQL_DIALECT, soap.esc(wql_text)))
    return '<wsen:Enumerate>%s</wsen:Enumerate>' % ''.join(parts)


def pull_body(context, max_elements=32000):
    return ('<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>%d</wsen:MaxElements>'
            '</wsen:Pull>' % (soap.esc(context), max_elements))


def pull_envelope(to, resource_uri, context, max_envelope=512000, max_elements=32000):
    """A WS-Enumeration Pull request as pywinrm users build it."""
    return request_envelope(soap.ACT_PULL, resource_uri, pull_body(context, max_elements), max_envelope=max_envelope,
                            timeout='PT20S', to=to).decode('utf-8')


def enumerate_pages(send, to, resource_uri, wql=None, max_envelope=512000):
    """Enumerate, then Pull until EndOfSequence, as a client must against Windows (the first answer holds one item);
    ``send(text)`` returns the raw response. Returns every response's root element, in order."""
    pages = [ET.fromstring(send(enumerate_envelope(to, resource_uri, wql=wql, max_envelope=max_envelope)))]
    while True:
        context = (pages[-1].findtext('.//{%s}EnumerationContext' % soap.NS_N) or '').strip()
        if pages[-1].find('.//{%s}EndOfSequence' % soap.NS_W) is not None or \
                pages[-1].find('.//{%s}EndOfSequence' % soap.NS_N) is not None or not context:
            return pages
        pages.append(ET.fromstring(send(pull_envelope(to, resource_uri, context, max_envelope=max_envelope))))


def in_process(host):
    """A ``send(text)`` for enumerate_pages that hands the request to the lab's dispatcher directly (no HTTP)."""
    # the dispatcher imports the whole lab: imported when used
    from winlab import wsman     # pylint: disable=import-outside-toplevel

    def send(text):
        reply = wsman.handle(host, text.encode('utf-8') if isinstance(text, str) else text)
        assert reply.status == 200, reply.body[:800]
        return reply.body
    return send
