# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WS-Management dispatcher: SOAP in, SOAP out, in the shapes real Windows sends.

The protocol parts live in their own modules: soap (reading requests, building envelopes), faults, wmi,
enumeration, transfer and winrs. handle() never raises and a rejected request never changes host state.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from winlab import cim, enumeration, transfer, winrs
from winlab.faults import WindowsFaults, schema_fault
from winlab.soap import (ACT_COMMAND, ACT_CREATE, ACT_DELETE, ACT_ENUMERATE, ACT_GET, ACT_PULL, ACT_RECEIVE,
                         ACT_RELEASE, ACT_SEND, ACT_SIGNAL, DEFAULT_TIMEOUT, OPERATIONS, Fault, Reply, Request, esc)


class Context(WindowsFaults):
    """Per-request context: the host, the parsed request and the machine names used in faults."""

    def __init__(self, host, req):
        self.host = host
        self.req = req
        self.machine = host.address or 'localhost'
        self.fqdn = host.hostname
        self.delay = 0.0        # seconds the answer waits: the time WMI spent (a slow event log query)


_HANDLERS = {ACT_ENUMERATE: enumeration.do_enumerate, ACT_PULL: enumeration.do_pull,
             ACT_RELEASE: enumeration.do_release, ACT_GET: transfer.do_get, ACT_CREATE: winrs.do_create,
             ACT_DELETE: winrs.do_delete, ACT_COMMAND: winrs.do_command, ACT_RECEIVE: winrs.do_receive,
             ACT_SIGNAL: winrs.do_signal, ACT_SEND: winrs.do_send}


def _operation(req):
    """The operation name used by the operation_timeout_on fault: the WMI method name for Invoke."""
    if req.action in OPERATIONS:
        return OPERATIONS[req.action]
    if req.resource_uri and req.action.startswith(req.resource_uri + '/'):
        return req.action[len(req.resource_uri) + 1:]
    return ''


def operations(host):
    """The user's operations at the host's WinRM (MaxConcurrentOperationsPerUser; the lab has one user per host):
    the requests being served, this one included, and the commands open shells hold."""
    return max(host.operations_in_flight, 1) + sum(s.get('operations', 0) for s in host.shells.values())


# ------------------------------------------------------------------------------------------------ entry point
def handle(host, body):
    """Answer one WS-Man request for host; never raises."""
    try:
        req = Request(body)
    except (ET.ParseError, ValueError) as exc:
        machine = host.address or 'localhost'
        fault = schema_fault('The request is not well-formed XML: %s. ' % str(exc)[:200], machine, '')
        return Reply(400, fault.body.encode('utf-8'))
    except LookupError as exc:
        machine = host.address or 'localhost'
        return Reply(500, schema_fault(str(exc) + '. ', machine, '').body.encode('utf-8'))
    except Exception:  # pylint: disable=broad-except
        return Reply(400, b'')
    ctx = Context(host, req)
    try:
        with host.lock:
            text = _dispatch(ctx)
        return Reply(200, text.encode('utf-8'), delay=ctx.delay, action=req.action, resource_uri=req.resource_uri)
    except Fault as fault:
        return Reply(fault.status, fault.body.encode('utf-8'), delay=fault.delay, action=req.action,
                     resource_uri=req.resource_uri)
    except Exception as exc:  # pylint: disable=broad-except
        # a lab bug must still look like Windows to the client: w:InternalError, never a dropped connection
        text = 'The WS-Management service cannot process the request. An internal error occurred: %s ' \
               % type(exc).__name__
        fault = ctx.fault('s:Receiver', 'w:InternalError', text, 2147500037, esc(text))
        return Reply(500, fault.body.encode('utf-8'), action=req.action, resource_uri=req.resource_uri)


def _dispatch(ctx):
    req, host = ctx.req, ctx.host
    if not req.action:
        raise ctx.invalid_header('The WS-Management service cannot process the request. The Action header is missing. ')
    if not req.message_id:
        raise ctx.invalid_header('The WS-Management service cannot process the request. The MessageID header is '
                                 'missing. ')
    timeout = req.operation_timeout()
    if timeout is None:
        raise ctx.invalid_header('The WS-Management service cannot process the request. The XML contains an invalid '
                                 'timeout field in the SOAP header: %s. ' % esc(req.timeout_text))
    host.requests_seen += 1
    faults = host.spec.faults
    if host.requests_seen <= (faults.get('internal_error_requests') or 0):
        raise ctx.quota_exceeded()
    # a Delete gives operations back: Windows lets a client close its shell to recover from the quota (what
    # Ansible's winrm connection does on ERROR_WSMAN_QUOTA_MAX_OPERATIONS)
    if req.action != ACT_DELETE and operations(host) > host.spec.winrm['max_concurrent_operations_per_user']:
        raise ctx.quota_exceeded()
    operation = _operation(req)
    if operation and operation in (faults.get('operation_timeout_on') or []):
        # WinRM never waits longer than MaxTimeoutms, whatever the client asks for
        raise ctx.timed_out(min(timeout, DEFAULT_TIMEOUT))
    if not req.resource_uri:
        raise ctx.invalid_resource_uri()
    host.refresh()
    handler = _HANDLERS.get(req.action)
    if handler is not None:
        return handler(ctx)
    if req.action.startswith(req.resource_uri + '/') and req.resource_uri.lower().startswith(cim.WMI_PREFIX):
        return transfer.do_invoke(ctx, req.action[len(req.resource_uri) + 1:])
    raise ctx.action_not_supported()
