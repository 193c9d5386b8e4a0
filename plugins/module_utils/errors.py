# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exception tree every layer raises.

Each error carries the host and the operation it concerns; ``str()`` renders
``"host: operation: message"``. Messages are built by this collection from
known facts (host, user, codes), never from the password.
"""

from __future__ import annotations

# Plain-English meanings of the WS-Management / WMI codes an operator meets most.
# Keys are the decimal ``Code`` of ``<f:WSManFault>`` (or ``error_Code`` of MSFT_WmiError).
WSMAN_CODE_MEANINGS = {
    5: "access denied: the account may not use this WMI class, namespace or method",
    87: "invalid parameter: the server rejected a value in the request",
    2147942402: "file not found: the command or file does not exist on the host",
    2147942405: "access denied: the account may not use this WMI class, namespace or method",
    2147749891: "access denied by WMI: the account lacks rights on this WMI namespace or class",
    2147749902: "invalid WMI namespace: this namespace does not exist on the host (older Windows?)",
    2147749900: "invalid WMI class: this class does not exist on the host",
    2150858752: "not found: no object matches the resource URI and selectors",
    2150858767: "invalid message header: the server rejected a header value (for example the operation timeout)",
    2150858770: "the WinRM client cannot connect to the destination",
    2150858778: "invalid filter: the WMI class does not exist in this namespace or the WQL query is invalid",
    2150858793: "timed out: the operation did not finish within the operation timeout",
    2150858843: "invalid selectors: the selectors do not identify an object",
    2150859173: "too many shells: the maximum number of concurrent shells for this user is exceeded",
    2150859174: "too many operations: the maximum number of concurrent operations for this user is exceeded",
}

# Meanings by fault subcode (local name), used when the code is unknown or absent.
WSMAN_SUBCODE_MEANINGS = {
    "AccessDenied": "access denied: the account may not perform this operation",
    "CannotProcessFilter": WSMAN_CODE_MEANINGS[2150858778],
    "DestinationUnreachable": "not found: the resource or object does not exist",
    "EncodingLimit": "the request or answer exceeds a size limit of the WinRM service",
    "InternalError": "internal error of the WinRM service (often transient)",
    "InvalidEnumerationContext": "the enumeration context expired or is unknown",
    "InvalidSelectors": WSMAN_CODE_MEANINGS[2150858843],
    "QuotaLimit": "a WinRM quota of this user is exceeded",
    "TimedOut": WSMAN_CODE_MEANINGS[2150858793],
    "SchemaValidationError": "the server rejected the request as malformed",
    "ActionNotSupported": "the server does not support this action on this resource",
}

ACCESS_DENIED_CODES = frozenset((5, 2147942405, 2147749891))
NOT_FOUND_CODES = frozenset((2150858752,))
INVALID_FILTER_CODES = frozenset((2150858778, 2147749900))
TIMED_OUT_CODES = frozenset((2150858793,))
INVALID_NAMESPACE_CODES = frozenset((2147749902,))


class Port25Error(Exception):
    """Base of every error of this collection."""

    def __init__(self, msg, host=None, operation=None):
        super(Port25Error, self).__init__(msg)
        self.msg = msg
        self.host = host
        self.operation = operation

    def __str__(self):
        parts = [p for p in (self.host, self.operation) if p]
        parts.append(self.text())
        return ": ".join(parts)

    def text(self):
        """The message as ``str()`` renders it after the host and operation."""
        return self.msg

    def details(self):
        """Return a dict describing the error, for module results (no secrets)."""
        return {"type": type(self).__name__, "host": self.host, "operation": self.operation, "message": self.msg}


class ConnectionFailure(Port25Error):
    """The host could not be reached (refused, reset, timeout, name resolution).

    ``transient`` is True when the connection was reset mid-request (a read may be retried).
    """

    transient = False


class AuthenticationFailure(Port25Error):
    """The host rejected the credentials (HTTP 401)."""


class TLSFailure(Port25Error):
    """The host's TLS certificate could not be verified."""


class InvalidOption(Port25Error):
    """An option value or combination of options is invalid."""


class MissingDependency(Port25Error):
    """A Python library needed on the controller is not installed."""


class ProtocolError(Port25Error):
    """The host answered something that is not a valid WS-Management response."""


class ServiceControlError(Port25Error):
    """A service could not be brought to the wanted state; the message says what the host said.

    ``accepted`` is True when the host accepted the method call (ReturnValue 0, or no answer but the service was
    seen to move) and what came after failed: the wait, or the read-back. The change may then still happen after
    the task has ended, so the caller must record the call (with its before-state) as not completed.
    ``accepted`` is False when the call was refused or never reached the service.

    ``actions`` lists the changes made before the failure (each with its before-state and ``completed``), so that
    a caller can record them for rollback even though the task failed.
    """

    def __init__(self, msg, host=None, operation=None, actions=None, accepted=False):
        super(ServiceControlError, self).__init__(msg, host=host, operation=operation)
        self.actions = list(actions or [])
        self.accepted = accepted

    def details(self):
        info = super(ServiceControlError, self).details()
        info.update(accepted=self.accepted, actions=self.actions)
        return info


class WSManFault(Port25Error):
    """A SOAP fault returned by the WinRM service (or by WMI behind it)."""

    def __init__(self, msg, host=None, operation=None, fault_code=None, wsman_code=None, provider_message=None, meaning=None,
                 extended_status=None):
        super(WSManFault, self).__init__(msg, host=host, operation=operation)
        self.extended_status = extended_status or {}
        self.fault_code = fault_code
        self.wsman_code = wsman_code
        self.provider_message = provider_message
        self.meaning = meaning if meaning is not None else describe_fault(wsman_code, fault_code)

    @property
    def subcode(self):
        """Local name of the fault subcode ('TimedOut' for 'w:TimedOut')."""
        if not self.fault_code:
            return None
        return self.fault_code.rpartition(":")[2]

    def text(self):
        head = "WSManFault"
        if self.wsman_code is not None:
            head += " %d" % self.wsman_code
        if self.fault_code:
            head += " (%s)" % self.fault_code
        text = head
        if self.meaning:
            text += ": " + self.meaning
        detail = self.provider_message or self.msg
        if detail:
            text += " [%s]" % detail
        return text

    def details(self):
        info = super(WSManFault, self).details()
        info.update(fault_code=self.fault_code, wsman_code=self.wsman_code, meaning=self.meaning, provider_message=self.provider_message)
        return info

    @property
    def is_access_denied(self):
        return self.wsman_code in ACCESS_DENIED_CODES or self.subcode == "AccessDenied"

    @property
    def is_not_found(self):
        return self.wsman_code in NOT_FOUND_CODES or self.subcode in ("DestinationUnreachable", "InvalidResourceURI")

    @property
    def is_invalid_filter(self):
        return self.wsman_code in INVALID_FILTER_CODES or self.subcode == "CannotProcessFilter"

    @property
    def is_timed_out(self):
        return self.wsman_code in TIMED_OUT_CODES or self.subcode == "TimedOut"

    @property
    def is_invalid_namespace(self):
        """The WMI namespace does not exist (e.g. root/StandardCimv2 before Windows Server 2012)."""
        if self.wsman_code in INVALID_NAMESPACE_CODES:
            return True
        # WMI reports a missing namespace from its ConnectServer step, wrapped as "not found" by the WinRM plug-in.
        if self.is_not_found and self.extended_status.get("Operation") == "ConnectServer":
            return True
        text = " ".join(t for t in (self.provider_message, self.msg) if t).lower()
        return "invalid namespace" in text

    @property
    def is_internal_error(self):
        return self.subcode == "InternalError"


def describe_fault(wsman_code=None, fault_code=None):
    """Plain-English meaning of a WSManFault code, else of its subcode; None when unknown."""
    if wsman_code is not None and wsman_code in WSMAN_CODE_MEANINGS:
        return WSMAN_CODE_MEANINGS[wsman_code]
    if fault_code:
        return WSMAN_SUBCODE_MEANINGS.get(fault_code.rpartition(":")[2])
    return None
