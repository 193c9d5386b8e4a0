# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run many lab hosts in one process: addresses, TLS, inventory, ready file, clean stop on signals."""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import resource
import signal

import yaml

from winlab import write_file_atomic
from winlab import fleet_auth, model, reqlog, scenario, server, tls

DEFAULT_SUBNET = '127.77.0.0/16'
SCENARIO_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scenarios')


class FleetError(Exception):
    """The fleet cannot start; the message says why (never a password)."""


def assign_addresses(specs, subnet=DEFAULT_SUBNET):
    """name -> address: fixed addresses as given, the others in order from `subnet` (stable across restarts)."""
    try:
        network = ipaddress.ip_network(subnet, strict=False)
    except ValueError as exc:
        raise FleetError('--subnet %r: %s' % (subnet, exc)) from None
    loopback = ipaddress.ip_network('127.0.0.0/8')
    if network.version != 4 or not network.subnet_of(loopback):
        raise FleetError('--subnet %s: must lie inside 127.0.0.0/8' % subnet)
    taken = {s.address for s in specs if s.address}
    free = (str(a) for a in network.hosts() if str(a) not in taken and not str(a).endswith('.0')
            and not str(a).endswith('.255'))
    out = {}
    for spec in specs:
        if spec.address:
            out[spec.name] = spec.address
            continue
        address = next(free, None)
        if address is None:
            raise FleetError('--subnet %s has no free address left for host %s' % (subnet, spec.name))
        out[spec.name] = address
    return out


def inventory_vars(spec, address, http_port, https_port, ca_path, auth_vars=None):
    """The Ansible connection variables of one host (auth_vars: FleetAuth.inventory_vars, default user/password)."""
    https = spec.scheme == 'https'
    auth_vars = auth_vars or {'ansible_user': spec.username, 'ansible_password': spec.password,
                              'ansible_winrm_transport': spec.auth[0]}
    data = {
        'ansible_host': address,
        'ansible_port': https_port if https else http_port,
        'ansible_user': auth_vars.pop('ansible_user'),
        'ansible_password': auth_vars.pop('ansible_password', None),
        'ansible_connection': 'winrm',
        'ansible_winrm_transport': auth_vars.pop('ansible_winrm_transport'),
        'ansible_winrm_scheme': spec.scheme,
        'ansible_winrm_server_cert_validation': 'validate',
    }
    if data['ansible_password'] is None:
        del data['ansible_password']
    if https:
        data['ansible_winrm_ca_trust_path'] = ca_path
    data.update(auth_vars)
    return data


def build_inventory(specs, addresses, http_port, https_port, ca_path, auth=None):
    """YAML inventory: group windows holds every host with its variables, plus each host's own groups."""
    windows = {}
    groups = {}
    for spec in specs:
        windows[spec.name] = inventory_vars(spec, addresses[spec.name], http_port, https_port, ca_path,
                                            auth.inventory_vars(spec) if auth else None)
        for group in spec.groups:
            if group != 'windows':
                groups.setdefault(group, {})[spec.name] = None
    children = {'windows': {'hosts': windows}}
    for group in sorted(groups):
        children[group] = {'hosts': groups[group]}
    return {'all': {'children': children}}


def _raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class Fleet:
    """The hosts of one lab process and the server that answers for them."""

    def __init__(self, specs, state_dir, http_port=5985, https_port=5986, subnet=DEFAULT_SUBNET, limits=None):
        if not specs:
            raise FleetError('no hosts to run')
        self.specs = specs
        self.state_dir = os.path.abspath(state_dir)
        self.http_port = http_port
        self.https_port = https_port
        self.addresses = assign_addresses(specs, subnet)
        os.makedirs(self.state_dir, exist_ok=True)
        names = [s.name for s in specs] + [s.host_fqdn for s in specs if 'kerberos' in s.auth]
        self.tls = tls.ensure_certificates(self.state_dir, list(self.addresses.values()), names)
        try:
            self.auth = fleet_auth.FleetAuth(specs, self.state_dir, self.tls)
        except fleet_auth.FleetAuthError as exc:
            raise FleetError(str(exc)) from None
        runtimes = []
        for spec in specs:
            host = model.Host.open(spec, self.state_dir)
            host.address = self.addresses[spec.name]    # the host names itself by it (faults' Machine, TCP table)
            try:
                host_auth = self.auth.host_auth(spec, refuse=bool(spec.faults.get('refuse_auth')))
            except fleet_auth.FleetAuthError as exc:
                raise FleetError(str(exc)) from None
            log = reqlog.RequestLog(reqlog.log_path(self.state_dir, spec.name))
            runtimes.append(server.HostRuntime(spec.name, self.addresses[spec.name], host, host_auth, log,
                                               spec.faults or {}))
        _raise_fd_limit(4 * len(specs) + 256)
        self.server = server.LabServer(runtimes, http_port, https_port,
                                       self.tls.server_context(self.auth.wants_client_certificates), limits)

    def inventory(self):
        return build_inventory(self.specs, self.addresses, self.http_port, self.https_port, self.tls.ca_path, self.auth)

    def write_inventory(self, path):
        text = yaml.safe_dump(self.inventory(), default_flow_style=False, sort_keys=False)
        write_file_atomic(path, '# written by python -m winlab fleet; lab credentials only\n' + text)

    async def run(self, inventory_path, ready_file=None, stop_event=None):
        """Listen on every address, write inventory and ready file, serve until stop_event is set."""
        if ready_file and os.path.exists(ready_file):
            os.unlink(ready_file)
        stop_event = stop_event or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_event.set)
        try:
            try:
                self.auth.start()       # the KDC first: a client may ask for a ticket as soon as it sees the ready file
            except fleet_auth.FleetAuthError as exc:
                raise FleetError(str(exc)) from None
            try:
                await self.server.start()
            except OSError as exc:
                raise FleetError('cannot listen (ports %d/%d): %s' % (self.http_port, self.https_port, exc)) from None
            self.write_inventory(inventory_path)
            if ready_file:
                write_file_atomic(ready_file, json.dumps({
                    'pid': os.getpid(), 'hosts': len(self.specs), 'http_port': self.http_port,
                    'https_port': self.https_port, 'inventory': os.path.abspath(inventory_path),
                    'state_dir': self.state_dir, 'ca_path': self.tls.ca_path,
                    'read_timeout': self.server.limits.read_timeout, 'idle_timeout': self.server.limits.idle_timeout,
                    'max_body_bytes': self.server.limits.max_body, **self.auth.ready_info()}) + '\n')
            print('winlab: %d hosts listening on ports %d (http) and %d (https); inventory %s; stop with Ctrl-C'
                  % (len(self.specs), self.http_port, self.https_port, os.path.abspath(inventory_path)), flush=True)
            await stop_event.wait()
        finally:
            await self.server.close()
            self.auth.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            if ready_file and os.path.exists(ready_file):
                os.unlink(ready_file)


def load_specs(spec_paths=None, generate=None, scenario_dir=SCENARIO_DIR):
    if bool(spec_paths) == bool(generate):
        raise FleetError('give either --spec FILE (one or more) or --generate N')
    if generate:
        return scenario.generate(generate, scenario_dir)
    return scenario.load_many(spec_paths)
