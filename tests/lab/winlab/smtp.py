# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab on the wire: each host address listens for real on the SMTP ports its model's listeners hold, and greets
like the owner would, so any SMTP client sees the same owner as WMI (KB Q146157: compare the greeting).

Greetings (``220 <text>``):

- IIS SMTP, also the Exchange 2000/2003 transport: "<fqdn> Microsoft ESMTP MAIL Service, Version: <version> ready
  at <date>" (KB Q254560), the version following the OS (IIS 5.0 on Windows 2000 ... 10.0 on Server 2016 and later);
- the Exchange 5.5 Internet Mail Service: "<fqdn> ESMTP Server (Microsoft Exchange Internet Mail Service
  5.5.2653.13) ready";
- Exchange 2007 and later (Front End Transport, Transport, Mailbox Transport Delivery): "<fqdn> Microsoft ESMTP MAIL
  Service ready at <date>";
- anything else: its scenario ``banner`` ({fqdn} and {date} filled in; '' accepts and never greets), else a plain
  "<fqdn> ESMTP service ready". A process with ``intercepts: [25]`` answers the port's connections whoever owns the
  socket (a filter driver or antivirus mail proxy): WMI shows the owner, the wire shows the interceptor.

A port held on a proxy for a client's service (a remote bind) greets like that service on its own host. The socket
opens when the model's listener appears and closes when it goes (``sync``, an observer of every host); a service whose
start or stop is still pending is refreshed when its time comes, so the socket follows without a request.

The sessions answer QUIT (221), HELO/EHLO/NOOP/RSET (250) and nothing else (500): the lab never takes mail.
Real port numbers are bound (25 needs root, as in CI); where the OS refuses a privileged port the lab says so once
and serves WinRM without greetings (``status``).
"""
from __future__ import annotations

import asyncio
import datetime
import email.utils
import errno
import logging
import socket
import sys

LOG = logging.getLogger('winlab.smtp')
SMTP_PORTS = frozenset((25, 465, 475, 587, 717, 2525))
MAX_LINE = 1000
IDLE = 30.0

IMS = '{fqdn} ESMTP Server (Microsoft Exchange Internet Mail Service 5.5.2653.13) ready'
IIS = '{fqdn} Microsoft ESMTP MAIL Service, Version: {version} ready at {date}'
EXCHANGE = '{fqdn} Microsoft ESMTP MAIL Service ready at {date}'
OTHER = '{fqdn} ESMTP service ready'
SERVICE_BANNERS = {'msexchangeimc': IMS, 'smtpsvc': IIS, 'msexchangefrontendtransport': EXCHANGE,
                   'msexchangetransport': EXCHANGE, 'msexchangedelivery': EXCHANGE}
# IIS SMTP's version by Windows release (the OS build, as IIS reports it); the first match in the OS caption wins.
IIS_VERSIONS = (('2000', '5.0.2195.6713'), ('2003', '6.0.3790.3959'), ('2008 R2', '7.5.7601.17514'), ('2008', '7.0.6002.18005'),
                ('2012 R2', '8.5.9600.16384'), ('2012', '8.0.9200.16384'), ('2016', '10.0.14393.0'), ('2019', '10.0.17763.1'),
                ('2022', '10.0.20348.1'))


def fqdn(host):
    """The host's DNS name, as its greeting names it (the same name its Kerberos SPN has)."""
    return host.spec.host_fqdn


def _fill(template, host):
    version = next((v for key, v in IIS_VERSIONS if key in (host.spec.os or '')), '10.0.17763.1')
    date = email.utils.format_datetime(datetime.datetime.fromtimestamp(host.now(), tz=datetime.timezone.utc))
    return template.replace('{fqdn}', fqdn(host)).replace('{date}', date).replace('{version}', version)


def _service_banner(host, svc):
    if svc.get('banner') is not None:
        return _fill(svc['banner'], host)
    return _fill(SERVICE_BANNERS.get(svc['name'].lower(), OTHER), host)


def greeting(host, port):
    """The text after "220 " that the holder of ``port`` greets with now ('' for silence), or None when none holds it."""
    with host.lock:
        holder = host.port_holder(port)
        if holder is None:
            return None
        for process in host.processes.values():
            if port in (process.get('intercepts') or ()) and process.get('banner') is not None:
                return _fill(process['banner'], host)
        owner = holder['owner']
        if owner.startswith('remote:'):
            _kind, client_name, service = owner.split(':', 2)
            client = host.peers.get(client_name)
            svc = client.service(service) if client is not None else None
            return _service_banner(client, svc) if svc is not None else _fill(OTHER, host)
        if owner.startswith('service:'):
            svc = host.service(owner.split(':', 1)[1])
            if svc is not None:
                return _service_banner(host, svc)
        process = host.processes.get(holder['pid']) or {}
        return _fill(process['banner'] if process.get('banner') is not None else OTHER, host)


def wire_ports(host):
    """The ports of ``host`` that get a real socket: the SMTP ports, and any port of an owner with its own banner."""
    own = set()
    for svc in host.services.values():
        if svc.get('banner') is not None:
            own.update(svc['listens'])
    for process in host.processes.values():
        if process.get('banner') is not None:
            own.update(process.get('intercepts') or ())
            own.update(listener['port'] for listener in host.listeners if listener['pid'] == process['pid'])
    return set(listener['port'] for listener in host.listeners if listener['port'] in SMTP_PORTS or listener['port'] in own)


class WireService:
    """Real listening sockets for every host of a fleet, kept in step with the models."""

    def __init__(self, hosts, addresses, fixed=(), loop=None):
        self.hosts = hosts                  # name -> model.Host
        self.addresses = addresses          # name -> address
        self.fixed = set(fixed)             # names whose address the scenario fixed (their collisions are not retried)
        self.loop = loop
        self.sockets = {}                   # (name, port) -> socket
        self.sessions = set()
        self.refused = None                 # why privileged ports cannot be bound, once known
        self.unbound = []                   # [address, port, reason] that could not be bound
        self.timers = {}

    def start(self):
        """Listen for every host as its model is now; returns the collisions on addresses from --subnet."""
        self.loop = self.loop or asyncio.get_running_loop()
        for host in self.hosts.values():
            host.observers.append(self.sync)
            self.sync(host)
        return [item for item in self.unbound if item[2] == 'in use' and item[3] not in self.fixed]

    def status(self):
        """For the ready file: whether greetings are served, why not, and what could not be bound."""
        return {'served': self.refused is None, 'reason': self.refused, 'unbound': [item[:3] for item in self.unbound]}

    def sync(self, host):
        name = host.spec.name
        wanted = wire_ports(host)
        for key in [key for key in self.sockets if key[0] == name and key[1] not in wanted]:
            self._close(key)
        for port in sorted(wanted):
            if (name, port) not in self.sockets:
                self._open(name, port)
        self._schedule(host)

    def _schedule(self, host):
        """Refresh the host when a pending start or stop is due, so its listeners (and sockets) change on time."""
        for svc in host.services.values():
            due = svc.get('pending_until')
            key = (host.spec.name, svc['name'], due)
            if due is None or key in self.timers:
                continue
            delay = max(0.0, due - host.now()) + 0.01
            self.timers[key] = self.loop.call_later(delay, self._due, host, key)

    def _due(self, host, key):
        self.timers.pop(key, None)
        host.refresh()

    def _open(self, name, port):
        address = self.addresses[name]
        if self.refused is not None and port < 1024:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # not SO_REUSEPORT: two listeners still collide
            sock.bind((address, port))
            sock.listen(32)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.EACCES, errno.EPERM):
                self.refused = 'binding port %d is not allowed for this user (%s): SMTP greetings are not served' % (port, exc.strerror)
                print('winlab: %s; WinRM is.' % self.refused, file=sys.stderr, flush=True)
                self.unbound.append([address, port, 'not allowed', name])
            else:
                reason = 'in use' if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
                LOG.warning('%s: cannot listen on %s:%d for SMTP greetings: %s', name, address, port, reason)
                self.unbound.append([address, port, reason, name])
            return
        self.sockets[(name, port)] = sock
        self.loop.add_reader(sock.fileno(), self._accept, name, port, sock)

    def _close(self, key):
        sock = self.sockets.pop(key)
        self.loop.remove_reader(sock.fileno())
        sock.close()

    def _accept(self, name, port, sock):
        try:
            conn, _peer = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError:
            return
        conn.setblocking(False)
        text = greeting(self.hosts[name], port)
        task = self.loop.create_task(self._session(conn, name, text))
        self.sessions.add(task)
        task.add_done_callback(self.sessions.discard)

    async def _session(self, conn, name, text):
        host = self.hosts[name]
        try:
            if text:
                await self.loop.sock_sendall(conn, ('220 %s\r\n' % text).encode('utf-8'))
            buffered = b''
            while True:
                chunk = await asyncio.wait_for(self.loop.sock_recv(conn, 1024), IDLE)
                if not chunk:
                    return
                if not text:
                    continue            # a listener that never greets never answers either
                buffered += chunk
                if len(buffered) > MAX_LINE and b'\n' not in buffered:
                    await self.loop.sock_sendall(conn, b'500 5.5.2 Line too long\r\n')
                    return
                while b'\n' in buffered:
                    line, buffered = buffered.split(b'\n', 1)
                    verb = line.strip().split(b' ')[0].upper()
                    if verb == b'QUIT':
                        await self.loop.sock_sendall(conn, ('221 2.0.0 %s Service closing transmission channel\r\n' % fqdn(host)).encode())
                        return
                    if verb in (b'HELO', b'EHLO'):
                        answer = '250 %s Hello\r\n' % fqdn(host)
                    elif verb in (b'NOOP', b'RSET'):
                        answer = '250 2.0.0 OK\r\n'
                    else:
                        answer = '500 5.3.3 Unrecognized command\r\n'
                    await self.loop.sock_sendall(conn, answer.encode())
        except (asyncio.TimeoutError, OSError, asyncio.CancelledError):
            return
        finally:
            conn.close()

    async def close(self):
        for timer in self.timers.values():
            timer.cancel()
        self.timers = {}
        for host in self.hosts.values():
            if self.sync in host.observers:
                host.observers.remove(self.sync)
        for key in list(self.sockets):
            self._close(key)
        for task in list(self.sessions):
            task.cancel()
        await asyncio.gather(*self.sessions, return_exceptions=True)
