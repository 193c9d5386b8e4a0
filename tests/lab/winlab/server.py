# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's HTTP/1.1 server: one listening socket per host address and scheme, in one asyncio loop.

Answers like HTTP.sys in front of WinRM: POST /wsman only, Content-Length bodies, keep-alive,
413 for oversize bodies and 400 for malformed requests (both close the connection), read timeouts
so a slow or half-sent request never holds a connection.  Authenticated SOAP goes to
wsman.handle(host, body); the per-host transport faults (latency_ms, drop_connections,
refuse_auth) are applied here.
"""
from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import itertools
import logging

from winlab import auth as lab_auth
from winlab import wsman

LOG = logging.getLogger('winlab.server')
SERVER_HEADER = 'Microsoft-HTTPAPI/2.0'
SOAP_CONTENT_TYPE = 'application/soap+xml;charset=UTF-8'
REASONS = {200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed',
           411: 'Length Required', 413: 'Request Entity Too Large', 500: 'Internal Server Error',
           501: 'Not Implemented', 505: 'HTTP Version Not Supported'}


@dataclasses.dataclass
class Limits:
    """Transport limits (seconds and bytes)."""

    max_body: int = 1024 * 1024        # WinRM's MaxEnvelopeSizekb is 500; leave room for sealing overhead
    max_header: int = 16 * 1024        # HTTP.sys MaxRequestBytes
    idle_timeout: float = 120.0        # HTTP.sys IdleConnection: waiting for the next request
    read_timeout: float = 30.0         # once a request has started: the rest of it must arrive in time


class HostRuntime:
    """A host as the server sees it: model, auth settings, request log, transport faults."""

    def __init__(self, name, address, host, host_auth, reqlog, faults):
        self.name = name
        self.address = address
        self.host = host
        self.host_auth = host_auth
        self.reqlog = reqlog
        self.latency = (faults.get('latency_ms') or 0) / 1000.0
        self.drops_left = faults.get('drop_connections') or 0


class BadRequest(Exception):
    """The client sent something that is not an acceptable HTTP request; answer and close."""

    def __init__(self, status, bytes_in=0):
        super().__init__(status)
        self.status = status
        self.bytes_in = bytes_in


class _ConnectionGone(Exception):
    """The peer went away or stalled; close without answering."""


@dataclasses.dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict
    body: bytes
    size: int

    @property
    def keep_alive(self):
        conn = self.headers.get('connection', '').lower()
        if self.version == 'HTTP/1.0':
            return 'keep-alive' in conn
        return 'close' not in conn


def _parse_head(head):
    try:
        text = head.decode('latin-1')
    except UnicodeDecodeError:  # latin-1 decodes anything; kept for clarity of intent
        raise BadRequest(400) from None
    lines = text.split('\r\n')
    parts = lines[0].split(' ')
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith('HTTP/'):
        raise BadRequest(400)
    method, target, version = parts
    if version not in ('HTTP/1.1', 'HTTP/1.0'):
        raise BadRequest(505)
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(':')
        if not sep or not name or name != name.strip() or any(c in name for c in ' \t'):
            raise BadRequest(400)
        key = name.lower()
        value = value.strip()
        if key in headers:
            if key in ('content-length', 'authorization', 'content-type', 'host'):
                raise BadRequest(400)
            headers[key] += ', ' + value
        else:
            headers[key] = value
    return method, target, version, headers


class LabServer:
    """All listeners of a fleet."""

    def __init__(self, runtimes, http_port, https_port, ssl_context, limits=None):
        self.runtimes = runtimes
        self.http_port = http_port
        self.https_port = https_port
        self.ssl_context = ssl_context
        self.limits = limits or Limits()
        self._servers = []
        self._writers = set()
        self._tasks = set()
        self._conn_ids = itertools.count(1)

    async def start(self):
        for runtime in self.runtimes:
            for scheme, port in (('http', self.http_port), ('https', self.https_port)):
                ssl_ctx = self.ssl_context if scheme == 'https' else None

                async def on_connect(reader, writer, runtime=runtime, scheme=scheme):
                    await self._serve(runtime, scheme, reader, writer)
                server = await asyncio.start_server(
                    on_connect, runtime.address, port, ssl=ssl_ctx, reuse_address=True, backlog=128,
                    limit=self.limits.max_header,
                    ssl_handshake_timeout=self.limits.read_timeout if ssl_ctx else None)
                self._servers.append(server)

    async def close(self):
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
        for runtime in self.runtimes:
            runtime.reqlog.close()

    # one connection --------------------------------------------------------------------------

    async def _serve(self, runtime, scheme, reader, writer):
        conn_id = next(self._conn_ids)
        task = asyncio.current_task()
        self._tasks.add(task)
        self._writers.add(writer)
        # drain() then waits until everything is handed to the kernel, so closing never cuts an answer short. Not on
        # TLS: asyncio's SSL transport reports its buffer drained only when it next reads, so drain() would wait for
        # the client's next request and the idle timeout would never start; it hands each record to the socket as
        # it writes it.
        if writer.get_extra_info('ssl_object') is None:
            writer.transport.set_write_buffer_limits(high=0)
        linger = False
        try:
            if runtime.drops_left > 0:
                runtime.drops_left -= 1
                await self._drop(runtime, conn_id, reader)
                return
            ssl_object = writer.get_extra_info('ssl_object')
            conn_auth = lab_auth.ConnectionAuth(runtime.host_auth, scheme,
                                                ssl_object.getpeercert(binary_form=True) if ssl_object else None)
            while await self._one_request(runtime, conn_id, conn_auth, reader, writer):
                pass
            linger = True
        except (_ConnectionGone, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, OSError):
            pass
        except asyncio.CancelledError:
            # only close() cancels a connection (the fleet is stopping): end quietly, not as a cancelled task
            pass
        except Exception:  # pylint: disable=broad-except
            # the lab must outlive any input: log the bug, drop this connection, keep serving
            LOG.exception('unexpected error on %s connection %d', runtime.name, conn_id)
        finally:
            if linger:
                await self._lingering_close(reader, writer)
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _lingering_close(self, reader, writer):
        """Close after an answer the client may not expect yet (413, 400): stop sending, then swallow
        what it is still sending for a moment, so the kernel does not reset the connection (which
        can destroy the answer in flight) because of unread input."""
        try:
            if writer.can_write_eof():
                writer.write_eof()
            deadline = asyncio.get_running_loop().time() + min(2.0, self.limits.read_timeout)
            swallowed = 0
            while swallowed < 4 * self.limits.max_body:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
                if not chunk:
                    break
                swallowed += len(chunk)
        except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError, OSError, RuntimeError):
            pass        # cancelled: the fleet is stopping and closes everything anyway

    async def _drop(self, runtime, conn_id, reader):
        """Fault drop_connections: read what the client sends, then close without a response."""
        try:
            head = await self._read_head(reader)
            size = len(head)
        except (BadRequest, _ConnectionGone):
            size = 0
        runtime.reqlog.write(conn_id, 'none', None, size, 0, note='dropped (fault drop_connections)')

    async def _read_head(self, reader):
        try:
            first = await asyncio.wait_for(reader.readexactly(1), self.limits.idle_timeout)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise _ConnectionGone() from exc
        try:
            rest = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), self.limits.read_timeout)
        except asyncio.LimitOverrunError as exc:
            raise BadRequest(400, exc.consumed + 1) from None
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            raise _ConnectionGone() from exc
        except ValueError:
            # StreamReader raises ValueError when the separator is not found within the limit
            raise BadRequest(400, self.limits.max_header) from None
        return first + rest

    async def _read_request(self, reader):
        head = await self._read_head(reader)
        method, target, version, headers = _parse_head(head[:-4])
        size = len(head)
        if 'transfer-encoding' in headers:
            raise BadRequest(411 if method == 'POST' else 400, size)
        length_text = headers.get('content-length')
        if length_text is None:
            if method == 'POST':
                raise BadRequest(411, size)
            length = 0
        elif not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 12:   # latin-1 '²' passes isdigit(), not int()
            raise BadRequest(400, size)
        else:
            length = int(length_text)
        if length > self.limits.max_body:
            raise BadRequest(413, size)
        body = b''
        if length:
            try:
                body = await asyncio.wait_for(reader.readexactly(length), self.limits.read_timeout)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
                raise _ConnectionGone() from exc
        return Request(method, target, version, headers, body, size + length)

    async def _one_request(self, runtime, conn_id, conn_auth, reader, writer):
        """Serve one request; False when the connection must close."""
        try:
            request = await self._read_request(reader)
        except BadRequest as exc:
            if runtime.latency:
                await asyncio.sleep(runtime.latency)
            out = await self._send(writer, exc.status, [], b'', close=True, before=lambda n: runtime.reqlog.write(
                conn_id, 'none', exc.status, exc.bytes_in, n, note='bad request'))
            return not out
        if runtime.latency:
            await asyncio.sleep(runtime.latency)
        path = request.target.split('?', 1)[0]
        if request.method != 'POST' or path.lower() != '/wsman':
            status = 404 if path.lower() != '/wsman' else 405
            headers = [('Allow', 'POST')] if status == 405 else []
            await self._send(writer, status, headers, b'', close=not request.keep_alive,
                             before=lambda n: runtime.reqlog.write(conn_id, 'none', status, request.size, n))
            return request.keep_alive

        result = conn_auth.authorize(request.headers.get('authorization'))
        if not result.ok:
            await self._send(writer, 401, result.headers, b'', close=not request.keep_alive,
                             before=lambda n: runtime.reqlog.write(conn_id, result.leg, 401, request.size, n))
            return request.keep_alive

        # an operation of the user from here until its answer is sent: others arriving meanwhile count it
        # against MaxConcurrentOperationsPerUser (wsman.operations)
        runtime.host.operations_in_flight += 1
        try:
            status, ctype, body, reply, keep = await self._dispatch(runtime, conn_auth, request)
            headers = list(result.headers)
            if ctype:
                headers.append(('Content-Type', ctype))
            await self._send(writer, status, headers, body, close=not keep, before=lambda n: runtime.reqlog.write(
                conn_id, result.leg, status, request.size, n, note=result.note,
                action=reply.action if reply else '', resource_uri=reply.resource_uri if reply else ''))
        finally:
            runtime.host.operations_in_flight -= 1
        return keep

    async def _dispatch(self, runtime, conn_auth, request):
        """(status, content type, body, wsman reply or None, keep-alive) of an authorized request."""
        if not request.body:
            # pywinrm and pypsrp POST an empty body to finish the handshake before sealing anything
            return 200, None, b'', None, request.keep_alive
        ctype = request.headers.get('content-type', '')
        sealed = lab_auth.is_encrypted(ctype)
        if sealed:
            try:
                soap = conn_auth.unwrap(ctype, request.body)
            except lab_auth.EncryptionError as exc:
                LOG.info('%s: rejected sealed body: %s', runtime.name, exc)
                return 400, None, b'', None, False    # the RC4 stream is out of step now: start over
        elif conn_auth.scheme == 'http':
            # AllowUnencrypted=false: WinRM refuses a plain SOAP body on HTTP
            return 500, None, b'', None, request.keep_alive
        else:
            soap = request.body
        if len(soap) > runtime.host.spec.winrm['max_envelope_size_kb'] * 1024:
            # MaxEnvelopeSizekb: WinRM refuses the request with HTTP 413 before reading it as SOAP. Clients report
            # it from the status alone (CIM cmdlets: "...notified that the request size exceeded the configured
            # MaxEnvelopeSize quota", HRESULT 0x80338111; pywinrm: "Bad HTTP response returned from server. Code
            # 413"); no capture of a body was found, so none is sent. The connection closes like any 413.
            LOG.info('%s: request envelope of %d bytes over MaxEnvelopeSizekb', runtime.name, len(soap))
            return 413, None, b'', None, False
        try:
            reply = wsman.handle(runtime.host, soap)
        except Exception:  # pylint: disable=broad-except
            # wsman.handle promises not to raise; if it does, answer like a failing service, keep serving
            LOG.exception('%s: wsman.handle raised', runtime.name)
            return 500, None, b'', None, request.keep_alive
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if not reply.body:
            return reply.status, None, b'', reply, request.keep_alive
        if sealed:
            out_type, out_body = conn_auth.wrap(reply.body)
            return reply.status, out_type, out_body, reply, request.keep_alive
        return reply.status, SOAP_CONTENT_TYPE, reply.body, reply, request.keep_alive

    async def _send(self, writer, status, headers, body, close, before):
        """Write one response; `before(total_bytes)` runs first (the request log line). Returns close."""
        lines = ['HTTP/1.1 %d %s' % (status, REASONS.get(status, 'Unknown')),
                 'Server: %s' % SERVER_HEADER,
                 'Date: %s' % email.utils.formatdate(usegmt=True)]
        lines += ['%s: %s' % (name, value) for name, value in headers]
        lines.append('Content-Length: %d' % len(body))
        if close:
            lines.append('Connection: close')
        data = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body
        before(len(data))
        writer.write(data)
        await asyncio.wait_for(writer.drain(), self.limits.read_timeout)
        return close
