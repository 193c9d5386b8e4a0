# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exception tree every layer raises.

Each error carries the host and the operation it concerns; ``str()`` renders
``"host: operation: message"``. Messages are built by this collection from
known facts (host, user, codes), never from the password.
"""

from __future__ import annotations

# Plain-English meanings of the WS-Management / WMI codes an operator meets most, with what to check.
# Keys are the decimal ``Code`` of ``<f:WSManFault>`` (or ``error_Code`` of MSFT_WmiError). The codes are those of
# the Windows SDK (winerror.h, wsmerror.h); the texts a server sends are in its own language, so the collection
# reads codes and subcodes, never the text.
_ACCESS_DENIED_CHECK = ("check that the account is in the host's Administrators or Remote Management Users group "
                        "and has Enable Account and Remote Enable on the WMI namespace (wmimgmt.msc, Security)")
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
    2150858824: "envelope too large: the request or answer exceeds the host's MaxEnvelopeSizekb",
    2150858843: "invalid selectors: the selectors do not identify an object",
    # ERROR_WSMAN_WMI_SVC_ACCESS_DENIED, _PROVIDER_ACCESS_DENIED, _CANNOT_CONNECT_ACCESS_DENIED
    2150859012: "access denied by the WMI service: " + _ACCESS_DENIED_CHECK,
    2150859013: ("access denied by the WMI provider of this class: the account may not read it (the Security "
                 "event log also needs SeSecurityPrivilege); " + _ACCESS_DENIED_CHECK),
    2150859014: "access denied when connecting to the WMI namespace: " + _ACCESS_DENIED_CHECK,
    # ERROR_WSMAN_QUOTA_* (wsmerror.h)
    2150859173: ("too many shells: the maximum number of concurrent shells for this user (MaxShellsPerUser) is "
                 "exceeded; close unused shells or raise the quota (winrm/config/winrs)"),
    2150859174: ("too many operations: the maximum number of concurrent operations for this user "
                 "(MaxConcurrentOperationsPerUser) is exceeded; run fewer tasks against this host at once or raise "
                 "the quota (winrm/config/service)"),
    2150859175: "a WinRM quota of this user is exceeded (winrm/config/service, winrm/config/winrs)",
    2150859176: "a WinRM system-wide quota is exceeded; retry later or raise the quota (winrm/config/service)",
    2150859179: ("too many users with shells: MaxConcurrentUsers is exceeded; retry later or raise the quota "
                 "(winrm/config/winrs)"),
    2150859240: ("too many operations: the plug-in quota MaxConcurrentOperationsPerUser is exceeded; run fewer tasks "
                 "against this host at once or raise the quota"),
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

ACCESS_DENIED_CODES = frozenset((5, 2147942405, 2147749891, 2150859012, 2150859013, 2150859014))
NOT_FOUND_CODES = frozenset((2150858752,))
INVALID_FILTER_CODES = frozenset((2150858778, 2147749900))
TIMED_OUT_CODES = frozenset((2150858793,))
INVALID_NAMESPACE_CODES = frozenset((2147749902,))
QUOTA_CODES = frozenset((2150859173, 2150859174, 2150859175, 2150859176, 2150859179) + tuple(range(2150859236, 2150859243)))
# CIM status codes of MSFT_WmiError (DSP0200): how MI providers say the same things in any language
CIM_ERR_ACCESS_DENIED = 2
CIM_ERR_INVALID_NAMESPACE = 3
CIM_ERR_SERVER_LIMITS_EXCEEDED = 27


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
                 extended_status=None, cim_status=None):
        super(WSManFault, self).__init__(msg, host=host, operation=operation)
        self.extended_status = extended_status or {}
        # CIMStatusCode of an MSFT_WmiError detail (MI providers, newer quota faults); None without one
        self.cim_status = cim_status
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
        info.update(fault_code=self.fault_code, wsman_code=self.wsman_code, meaning=self.meaning, provider_message=self.provider_message,
                    cim_status=self.cim_status)
        return info

    @property
    def is_access_denied(self):
        return (self.wsman_code in ACCESS_DENIED_CODES or self.subcode == "AccessDenied"
                or self.cim_status == CIM_ERR_ACCESS_DENIED)

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
        """The WMI namespace does not exist (e.g. root/StandardCimv2 before Windows Server 2012).

        Told by codes only: the texts are in the server's language (a de-DE server says "Namespace" nowhere).
        """
        if self.wsman_code in INVALID_NAMESPACE_CODES or self.cim_status == CIM_ERR_INVALID_NAMESPACE:
            return True
        # WMI reports a missing namespace from its ConnectServer step, wrapped as "not found" by the WinRM plug-in.
        return self.is_not_found and self.extended_status.get("Operation") == "ConnectServer"

    @property
    def is_internal_error(self):
        return self.subcode == "InternalError"

    @property
    def is_quota_exceeded(self):
        """A WinRM quota (operations, shells, users) is exceeded: in the old WSManFault shape, the newer
        InternalError with only an MSFT_WmiError detail, or w:QuotaLimit."""
        return (self.wsman_code in QUOTA_CODES or self.subcode == "QuotaLimit"
                or self.cim_status == CIM_ERR_SERVER_LIMITS_EXCEEDED)


def describe_fault(wsman_code=None, fault_code=None):
    """Plain-English meaning of a WSManFault code, else of its subcode; None when unknown."""
    if wsman_code is not None and wsman_code in WSMAN_CODE_MEANINGS:
        return WSMAN_CODE_MEANINGS[wsman_code]
    if fault_code:
        return WSMAN_SUBCODE_MEANINGS.get(fault_code.rpartition(":")[2])
    return None
