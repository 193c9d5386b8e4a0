# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WSManClient: WS-Enumeration (Enumerate + Pull), WS-Transfer Get, WMI method Invoke and a cmd shell.

Everything goes through one pywinrm ``Protocol`` (one requests session: one
authenticated, keep-alive HTTP connection per host and task). Reads are retried
with a short backoff on connection resets and ``w:InternalError``; method
calls (Invoke) are never retried, because a repeated StopService/StartService
must be decided by re-reading the state, not by resending. The one exception, for
reads and method calls alike: a message the host refused unread after closing the
idle connection is sent once more after a fresh authentication (see ``_send``).
"""

from __future__ import annotations

import re
import time
import uuid
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.mailops.port25.plugins.module_utils import cim, connection
from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    ConnectionFailure, InvalidOption, Port25Error, ProtocolError, WSManFault)
from ansible_collections.mailops.port25.plugins.module_utils.wql import checked_text, identifier

ACTION_ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
ACTION_PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
ACTION_RELEASE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"
ACTION_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
WQL_DIALECT = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
MAX_ENVELOPE_SIZE = 512000
MAX_ELEMENTS = 32000
# What one enumeration may cost before the host is taken for hostile or broken. The biggest answers real hosts give
# this collection are a few MB (every process of a busy terminal server, about 1,000 with ExecutablePath; a day of
# bind-failure events bounded by TimeGenerated), so 32 MB is ten times what a real host sends, while a host that
# pages forever or sends huge pages is stopped before it costs the controller more than that per host and worker.
ENUMERATION_BYTE_BUDGET = 32 * 1024 * 1024
# Windows pages by MaxElements and MaxEnvelopeSize, but sends small pages when a provider is slow (Server 2008: 1, 36,
# 5 items): the page limit stops a host that sends empty or one-item pages forever, long before the byte budget would.
MAX_PAGES = 2000

_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$")
_FROM_RE = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_CMD_UNSAFE = re.compile(r"[&|<>^%\"\r\n\x00]")

_ENVELOPE = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
    ' xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"'
    ' xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"'
    ' xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
    "<s:Header>"
    "<a:To>{to}</a:To>"
    '<w:ResourceURI s:mustUnderstand="true">{resource}</w:ResourceURI>'
    "<a:ReplyTo><a:Address s:mustUnderstand=\"true\">" + ANONYMOUS + "</a:Address></a:ReplyTo>"
    '<a:Action s:mustUnderstand="true">{action}</a:Action>'
    '<w:MaxEnvelopeSize s:mustUnderstand="true">' + str(MAX_ENVELOPE_SIZE) + "</w:MaxEnvelopeSize>"
    "<a:MessageID>uuid:{message_id}</a:MessageID>"
    '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>'
    '<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>'
    "<w:OperationTimeout>PT{timeout}S</w:OperationTimeout>"
    "{selectors}"
    "</s:Header>"
    "<s:Body>{body}</s:Body>"
    "</s:Envelope>"
)


def validate_namespace(namespace):
    """'root/cimv2' (also 'root\\cimv2') -> 'root/cimv2'; anything else raises InvalidOption."""
    if not isinstance(namespace, str):
        raise InvalidOption("WMI namespace must be a string, got %s" % type(namespace).__name__)
    normalised = namespace.replace("\\", "/").strip("/")
    if not _NAMESPACE_RE.match(normalised):
        raise InvalidOption("invalid WMI namespace %r (expected something like root/cimv2)" % namespace)
    return normalised


def selector_set(selectors):
    """``<w:SelectorSet>`` with every name and value escaped."""
    if not selectors:
        return ""
    parts = []
    for name, value in selectors.items():
        identifier(name, "selector name")
        parts.append("<w:Selector Name=%s>%s</w:Selector>" % (quoteattr(name), escape(_scalar(value, name))))
    return "<w:SelectorSet>" + "".join(parts) + "</w:SelectorSet>"


def _scalar(value, name):
    if isinstance(value, bool):
        return "true" if value else "false"
    return checked_text(value, "value of %s" % name)


def class_of_query(wql):
    """The class named after FROM in a WQL query (used to name XmlFragment items), or None."""
    match = _FROM_RE.search(wql or "")
    return match.group(1) if match else None


class WSManClient(object):
    """One host, one Protocol, one HTTP session. Use as a context manager or call close()."""

    #: seconds to wait before the 2nd and 3rd attempt of a read
    retry_delays = (0.5, 1.5)

    def __init__(self, settings, protocol=None):
        self.settings = settings
        self.host = settings.host
        self.request_count = 0
        self._replaced = {}
        self._protocol = protocol if protocol is not None else connection.create_protocol(settings)
        self._to = settings.endpoint
        # Count every message pywinrm's own shell helpers send, too.
        raw_send = self._protocol.send_message

        def counted_send(message):
            self.request_count += 1
            return raw_send(message)

        self._protocol.send_message = counted_send

    # ------------------------------------------------------------------------------ plumbing
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def envelope(self, action, resource, body="", selectors=None):
        """A complete SOAP envelope; every caller-supplied text is escaped here."""
        return _ENVELOPE.format(
            to=escape(self._to),
            resource=escape(resource),
            action=escape(action),
            message_id=str(uuid.uuid4()).upper(),
            timeout=int(self.settings.operation_timeout),
            selectors=selector_set(selectors),
            body=body,
        )

    def _send_once(self, message, operation):
        try:
            return self._protocol.send_message(message)
        except Exception as exc:
            raise connection.map_error(exc, self.settings, operation) from None

    def _send(self, message, operation, retry=True, pull=False):
        """Send one message; reads (``retry``) are tried up to len(retry_delays) + 1 times on transient errors.

        A message the host refused unread because it forgot the connection's authentication (idle connection closed:
        HTTP 401 or an empty 400 on the new connection, ``unprocessed``) is sent once more after a fresh
        authentication, a method call too: it never reached WMI. A connection reset after sending is not proof of
        anything, so a method call is not repeated then (service_control re-reads the service and records the call).
        """
        attempts = len(self.retry_delays) + 1 if retry else 1
        attempt = 0
        reauthenticated = False
        while True:
            try:
                return self._send_once(message, operation)
            except (ConnectionFailure, WSManFault) as exc:
                if isinstance(exc, ConnectionFailure):
                    # Retried or not (a method call is not), the next message must not reuse the broken session:
                    # the re-read after a dropped StopService would otherwise fail on a stale NTLM context.
                    self._reset_transport()
                    if getattr(exc, "unprocessed", False):
                        if reauthenticated:
                            raise Port25Error("%s, again after a fresh authentication; nothing was processed" % exc.msg,
                                              host=self.host, operation=operation) from None
                        reauthenticated = True
                        continue
                attempt += 1
                if attempt >= attempts or not self._retryable(exc, pull):
                    raise
                time.sleep(self.retry_delays[attempt - 1])

    @staticmethod
    def _retryable(exc, pull=False):
        """Connection resets and w:InternalError; for Pull also w:TimedOut, which leaves the context valid (DSP0226)."""
        if isinstance(exc, WSManFault):
            return exc.is_internal_error or (pull and exc.is_timed_out)
        return bool(getattr(exc, "transient", False))

    def _reset_transport(self):
        """Drop the HTTP session so the next message reconnects and re-authenticates (NTLM binds the TCP connection)."""
        transport = getattr(self._protocol, "transport", None)
        if transport is None:
            return
        try:
            transport.close_session()
        except Exception:  # a broken session may fail to close; it is discarded anyway
            pass
        if hasattr(transport, "encryption"):
            transport.encryption = None

    # ------------------------------------------------------------------------------ operations
    def enumerate(self, namespace, wql, byte_budget=ENUMERATION_BYTE_BUDGET, max_pages=MAX_PAGES):
        """Run a WQL query and return every item of every page (list of dicts, see cim.parse_instance).

        The answer may take at most ``byte_budget`` bytes and ``max_pages`` pages (Enumerate and Pulls together);
        beyond either the context is released and a ProtocolError names the host and the class.
        """
        namespace = validate_namespace(namespace)
        if not isinstance(wql, str) or not wql.strip():
            raise InvalidOption("the WQL query is empty")
        resource = cim.resource_uri(namespace)
        hint = class_of_query(wql)
        operation = "enumerate %s (%s)" % (hint or "?", namespace)
        body = ("<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>%d</w:MaxElements>"
                "<w:Filter Dialect=%s>%s</w:Filter></n:Enumerate>" % (MAX_ELEMENTS, quoteattr(WQL_DIALECT), escape(wql)))
        data = self._send(self.envelope(ACTION_ENUMERATE, resource, body), operation)
        received = len(data)
        page = self._parsed(cim.parse_enumeration, data, operation, hint)
        items = self._noted(page.items)
        pages = 1
        while not page.finished:
            over = self._over_budget(received, pages, byte_budget, max_pages, hint)
            if over:
                self.release(namespace, page.context)
                raise ProtocolError(over, host=self.host, operation=operation)
            body = "<n:Pull><n:EnumerationContext>%s</n:EnumerationContext><n:MaxElements>%d</n:MaxElements></n:Pull>" % (
                escape(page.context), MAX_ELEMENTS)
            try:
                data = self._send(self.envelope(ACTION_PULL, resource, body), operation, pull=True)
            except Port25Error:
                self.release(namespace, page.context)
                raise
            received += len(data)
            page = self._parsed(cim.parse_enumeration, data, operation, hint)
            items.extend(self._noted(page.items))
            pages += 1
        if received > byte_budget:
            raise ProtocolError(self._over_budget(received, pages, byte_budget, None, hint), host=self.host, operation=operation)
        return items

    @staticmethod
    def _over_budget(received, pages, byte_budget, max_pages, hint):
        """Why an enumeration must stop (its answer is bigger than any real host sends), or None."""
        what = "the answer for %s" % (hint or "the query")
        if received > byte_budget:
            return ("%s exceeded the enumeration budget of %d bytes (%d bytes in %d pages); a real host never sends this "
                    "much, so the host is broken or hostile: gave up" % (what, byte_budget, received, pages))
        if max_pages is not None and pages >= max_pages:
            return ("%s exceeded the limit of %d pages (%d bytes so far); a real host never pages this long, so the host "
                    "is broken or hostile: gave up" % (what, max_pages, received))
        return None

    def _noted(self, items):
        """``items`` (a list) without cim.REPLACED_KEY, which is counted per class and property instead."""
        for item in items:
            for name in item.pop(cim.REPLACED_KEY, ()):
                key = (item.get("__class__") or "?", name)
                self._replaced[key] = self._replaced.get(key, 0) + 1
        return list(items)

    def replaced_characters(self):
        """[{class, property, values}]: values read so far in which characters XML cannot carry became U+FFFD."""
        return [{"class": cls, "property": name, "values": count} for (cls, name), count in sorted(self._replaced.items())]

    def _parsed(self, parse, data, operation, *args):
        """``parse(data, *args)``; a parse error or a fault in the answer names this host and operation."""
        try:
            return parse(data, *args)
        except Port25Error as exc:
            exc.host, exc.operation = self.host, operation
            raise

    def release(self, namespace, context):
        """Release an enumeration context we abandon (best effort: errors are ignored)."""
        if not context:
            return
        resource = cim.resource_uri(validate_namespace(namespace))
        body = "<n:Release><n:EnumerationContext>%s</n:EnumerationContext></n:Release>" % escape(context)
        try:
            self._send(self.envelope(ACTION_RELEASE, resource, body), "release", retry=False)
        except Port25Error:
            pass

    def get(self, namespace, class_name, selectors):
        """WS-Transfer Get of one instance identified by its key selectors."""
        namespace = validate_namespace(namespace)
        identifier(class_name, "WMI class name")
        resource = cim.resource_uri(namespace, class_name)
        operation = "get %s" % class_name
        data = self._send(self.envelope(ACTION_GET, resource, "", selectors), operation)
        return self._noted([self._parsed(cim.parse_get, data, operation, class_name)])[0]

    def invoke(self, namespace, class_name, method, selectors, params=None):
        """Call a WMI method; returns the output parameters (e.g. {'ReturnValue': '0'}).

        Never retried, except once when the host refused it unread (see ``_send``).
        """
        namespace = validate_namespace(namespace)
        identifier(class_name, "WMI class name")
        identifier(method, "WMI method name")
        resource = cim.resource_uri(namespace, class_name)
        operation = "invoke %s.%s" % (class_name, method)
        inner = "".join("<p:%s>%s</p:%s>" % (identifier(name, "parameter name"), escape(_scalar(value, name)), name)
                        for name, value in (params or {}).items())
        body = '<p:%s_INPUT xmlns:p=%s>%s</p:%s_INPUT>' % (method, quoteattr(resource), inner, method)
        data = self._send(self.envelope(resource + "/" + method, resource, body, selectors), operation, retry=False)
        return self._parsed(cim.parse_invoke, data, operation)

    def run_command(self, command, args=()):
        """Run ``command args...`` in a cmd shell; returns (exit code, stdout, stderr). Used for read-only fallbacks."""
        args = list(args or ())
        for part in [command] + args:
            # One pair of double quotes around an argument (a path with spaces) is cmd's own quoting; inside them the
            # same characters are refused as outside.
            inner = part[1:-1] if isinstance(part, str) and len(part) > 2 and part[0] == part[-1] == '"' else part
            if not isinstance(part, str) or not part or _CMD_UNSAFE.search(inner):
                raise InvalidOption("unsafe or empty command part %r: cmd metacharacters are not allowed" % (part,))
        operation = "run %s" % command
        protocol = self._protocol
        shell_id = None
        try:
            shell_id = protocol.open_shell(codepage=65001)
            command_id = protocol.run_command(shell_id, command, args)
            stdout, stderr, rc = protocol.get_command_output(shell_id, command_id)
            protocol.cleanup_command(shell_id, command_id)
        except Exception as exc:
            raise connection.map_error(exc, self.settings, operation) from None
        finally:
            if shell_id is not None:
                try:
                    # Keep the HTTP session: other requests of this task reuse it.
                    protocol.close_shell(shell_id, close_session=False)
                except Exception:  # closing is best effort; the shell times out on the host anyway
                    pass
        return rc, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")

    def close(self):
        """Close the HTTP session (closing a dead connection never masks the task's result)."""
        self._reset_transport()
