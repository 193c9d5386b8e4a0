# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SOAP and WS-Addressing for the lab: namespaces, actions, limits, the request reader and the envelope builders.

Requests are read by namespace URI (never by prefix). Responses are built as strings in the shapes of the captures
in tests/captures (see README.md there).
"""
from __future__ import annotations

import dataclasses
import re
import uuid
import xml.etree.ElementTree as ET

NS_S = 'http://www.w3.org/2003/05/soap-envelope'
NS_A = 'http://schemas.xmlsoap.org/ws/2004/08/addressing'
NS_N = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration'
NS_X = 'http://schemas.xmlsoap.org/ws/2004/09/transfer'
NS_E = 'http://schemas.xmlsoap.org/ws/2004/08/eventing'
NS_W = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
NS_P = 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd'
NS_F = 'http://schemas.microsoft.com/wbem/wsman/1/wsmanfault'
NS_RSP = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell'
ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous'
WQL_DIALECT = 'http://schemas.microsoft.com/wbem/wsman/1/WQL'
SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd'

ACT_ENUMERATE = NS_N + '/Enumerate'
ACT_PULL = NS_N + '/Pull'
ACT_RELEASE = NS_N + '/Release'
ACT_GET = NS_X + '/Get'
ACT_CREATE = NS_X + '/Create'
ACT_DELETE = NS_X + '/Delete'
ACT_COMMAND = NS_RSP + '/Command'
ACT_RECEIVE = NS_RSP + '/Receive'
ACT_SIGNAL = NS_RSP + '/Signal'
ACT_SEND = NS_RSP + '/Send'
FAULT_WSMAN = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/fault'
FAULT_ENUM = NS_N + '/fault'
FAULT_ADDR = NS_A + '/fault'
DETAIL = 'http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/'

SERVER_MAX_ENVELOPE = 153600      # MaxEnvelopeSizekb 150 (see pypsrp_test_wsman_update_envelope_size_150.yml)
DEFAULT_TIMEOUT = 60.0            # MaxTimeoutms 60000
ENUMERATION_TIMEOUT = 240.0       # EnumerationTimeoutms 240000
MAX_CONTEXTS = 64                 # open enumerations kept per host; the oldest is dropped beyond that
_DURATION = re.compile(r'^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$')
OPERATIONS = {ACT_ENUMERATE: 'Enumerate', ACT_PULL: 'Pull', ACT_RELEASE: 'Release', ACT_GET: 'Get',
              ACT_CREATE: 'Create', ACT_DELETE: 'Delete', ACT_COMMAND: 'Command', ACT_RECEIVE: 'Receive',
              ACT_SIGNAL: 'Signal', ACT_SEND: 'Send'}


@dataclasses.dataclass
class Reply:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    delay: float = 0.0
    action: str = ''
    resource_uri: str = ''


class Fault(Exception):
    """A SOAP fault to answer instead of a response (status 500 as Windows sends them, 400 for unparseable XML)."""

    def __init__(self, body, status=500, delay=0.0):
        super().__init__('fault')
        self.body = body
        self.status = status
        self.delay = delay


def esc(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def new_uuid():
    return str(uuid.uuid4()).upper()


# ------------------------------------------------------------------------------------------------ request parsing
class Request:
    """The parts of a request envelope the lab uses, read by namespace URI."""

    def __init__(self, body):
        # UTF-16 markup is ASCII bytes between NULs (expat reads it, BOM or not): look at it without the NULs
        probe = body.replace(b'\x00', b'') if b'\x00' in body[:4] else body
        if b'<!DOCTYPE' in probe or b'<!ENTITY' in probe:
            raise ValueError('DTDs are not allowed in SOAP messages')
        self.root = ET.fromstring(body)
        if self.root.tag != '{%s}Envelope' % NS_S:
            raise LookupError('not a SOAP 1.2 envelope')
        self.header = self.root.find('{%s}Header' % NS_S)
        self.body = self.root.find('{%s}Body' % NS_S)
        if self.header is None or self.body is None:
            raise LookupError('the envelope has no Header or no Body')
        self.action = self._text(NS_A, 'Action')
        self.message_id = self._text(NS_A, 'MessageID')
        self.resource_uri = self._text(NS_W, 'ResourceURI')
        self.to = self._text(NS_A, 'To')
        self.max_envelope = self._text(NS_W, 'MaxEnvelopeSize')
        self.timeout_text = self._text(NS_W, 'OperationTimeout')
        self.selectors = {}
        selector_set = self.header.find('{%s}SelectorSet' % NS_W)
        if selector_set is not None:
            for sel in selector_set.findall('{%s}Selector' % NS_W):
                self.selectors[sel.get('Name', '')] = (sel.text or '').strip()

    def _text(self, ns, name):
        elem = self.header.find('{%s}%s' % (ns, name))
        return (elem.text or '').strip() if elem is not None else ''

    def envelope_budget(self):
        try:
            value = int(self.max_envelope) if self.max_envelope else SERVER_MAX_ENVELOPE
        except ValueError:
            value = SERVER_MAX_ENVELOPE
        return max(8192, min(value, SERVER_MAX_ENVELOPE))

    def operation_timeout(self):
        if not self.timeout_text:
            return DEFAULT_TIMEOUT
        match = _DURATION.match(self.timeout_text)
        if not match or self.timeout_text in ('P', 'PT'):
            return None
        days, hours, minutes, seconds = match.groups()
        try:
            return (int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0))
        except ValueError:      # more digits than int() converts: as invalid as any other malformed duration
            return None


# ------------------------------------------------------------------------------------------------ envelopes
def header(action, relates_to, extra=''):
    return ('<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID>%s<a:To>%s</a:To>'
            '<a:RelatesTo>%s</a:RelatesTo></s:Header>' % (action, new_uuid(), extra, ANONYMOUS, esc(relates_to)))


ENV_ENUM = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:n="%s" xmlns:w="%s">'
            % (NS_S, NS_A, NS_N, NS_W))
ENV_TRANSFER = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:w="%s" xmlns:p="%s">'
                % (NS_S, NS_A, NS_X, NS_W, NS_P))
ENV_SHELL = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:w="%s" xmlns:rsp="%s" '
             'xmlns:p="%s">' % (NS_S, NS_A, NS_X, NS_W, NS_RSP, NS_P))
ENV_RECEIVE = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:w="%s" xmlns:rsp="%s" xmlns:p="%s">'
               % (NS_S, NS_A, NS_W, NS_RSP, NS_P))
ENV_DELETE = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:w="%s" xmlns:p="%s">'
              % (NS_S, NS_A, NS_W, NS_P))
ENV_FAULT = ('<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:e="%s" xmlns:n="%s" '
             'xmlns:w="%s" xmlns:p="%s">' % (NS_S, NS_A, NS_X, NS_E, NS_N, NS_W, NS_P))
END = '</s:Body></s:Envelope>'


def envelope(opening, action, relates_to, body):
    return opening + header(action, relates_to) + '<s:Body>' + body + END
