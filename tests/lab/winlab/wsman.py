# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WS-Management dispatcher: SOAP in, SOAP out, in the shapes real Windows sends.

Requests are read by namespace URI (never by prefix). Responses are built as strings from the shapes of the
captures in tests/lab/tests/fixtures (see README.md there). handle() never raises and a rejected request never
changes host state.
"""
from __future__ import annotations

import base64
import dataclasses
import itertools
import re
import time
import uuid
import xml.etree.ElementTree as ET

from winlab import cim, shell, wql

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
MAX_SHELLS = 30                   # MaxShellsPerUser default
_DURATION = re.compile(r'^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$')
_OPERATIONS = {ACT_ENUMERATE: 'Enumerate', ACT_PULL: 'Pull', ACT_RELEASE: 'Release', ACT_GET: 'Get',
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


def _esc(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace('"', '&quot;')


def _uuid():
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
def _header(action, relates_to, extra=''):
    return ('<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID>%s<a:To>%s</a:To>'
            '<a:RelatesTo>%s</a:RelatesTo></s:Header>' % (action, _uuid(), extra, ANONYMOUS, _esc(relates_to)))


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


def _envelope(opening, action, relates_to, body):
    return opening + _header(action, relates_to) + '<s:Body>' + body + END


def _wsman_fault(code, subcode, reason, number, message, machine, relates_to, action=FAULT_WSMAN, detail='',
                 lang='en-US'):
    """A SOAP fault with the f:WSManFault detail every Windows fault carries."""
    return (ENV_FAULT + _header(action, relates_to) + '<s:Body><s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode>'
            '<s:Value>%s</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="%s">%s</s:Text></s:Reason>'
            '<s:Detail>%s<f:WSManFault xmlns:f="%s" Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
            '</s:Detail></s:Fault>' % (code, subcode, lang, _esc(reason), detail, NS_F, number, _esc(machine), message)
            + END)


class Context:
    """Per-request context: the host, the parsed request and the machine names used in faults."""

    def __init__(self, host, req):
        self.host = host
        self.req = req
        self.machine = host.address or 'localhost'
        self.fqdn = host.hostname

    def fault(self, *args, **kwargs):
        return Fault(_wsman_fault(args[0], args[1], args[2], args[3], args[4], self.machine, self.req.message_id,
                                  **kwargs))

    def provider_fault(self, code, subcode, reason, number, inner, extended, action, detail=''):
        """The WMI plug-in shape: outer WSManFault wrapping a ProviderFault with the inner fault and WMI status."""
        message = ('<f:ProviderFault provider="WMI Provider" path="%%systemroot%%\\system32\\WsmWmiPl.dll">'
                   '<f:WSManFault xmlns:f="%s" Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
                   '<f:ExtendedError>%s</f:ExtendedError></f:ProviderFault>'
                   % (NS_F, number, _esc(self.fqdn), _esc(inner), extended))
        return Fault(_wsman_fault(code, subcode, reason, number, message, self.machine, self.req.message_id,
                                  action=action, detail=detail))

    # ---- the faults of real Windows, each from its capture (tests/captures/README.md names them)
    def cannot_process_filter(self, query, inner):
        # winrb_winrm_2013_spec_mock_wsman_fault.xml (Server 2008 R2): WMI ExecQuery failed
        extended = ('<p:__ExtendedStatus xmlns:cim="%s" xmlns:p="%sroot/cimv2/__ExtendedStatus" xmlns:xsi="%s" '
                    'xsi:type="p:__ExtendedStatus_Type"><p:Description xsi:nil="true"/><p:Operation>ExecQuery'
                    '</p:Operation><p:ParameterInfo>%s</p:ParameterInfo><p:ProviderName>WinMgmt</p:ProviderName>'
                    '<p:StatusCode xsi:nil="true"/></p:__ExtendedStatus>'
                    % (cim.NS_CIM, cim.WMI_PREFIX, cim.NS_XSI, _esc(query[:4096])))
        return self.provider_fault('s:Sender', 'n:CannotProcessFilter',
                                   'The data source could not process the filter. The filter might be missing or it '
                                   'might be invalid. Change the filter and try the request again.  ',
                                   2150858778, inner, extended, FAULT_ENUM)

    def not_found(self, parameter_info, provider='CIMWin32', operation='GetObject', inner=None):
        # omi_wsmanparser_get_notfound_fault_win2012r2.xml: Get of an instance that does not exist
        text = ('The WS-Management service cannot process the request. The service cannot find the resource '
                'identified by the resource URI and selectors. ')
        extended = ('<p:__ExtendedStatus xmlns:xsi="%s" xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
                    '__ExtendedStatus" xmlns:cim="%s" xsi:type="p:__ExtendedStatus_Type"><p:Description xsi:nil="true" '
                    'xsi:type="cim:cimString"/><p:Operation xsi:type="cim:cimString">%s</p:Operation>'
                    '<p:ParameterInfo xsi:type="cim:cimString">%s</p:ParameterInfo><p:ProviderName '
                    'xsi:type="cim:cimString">%s</p:ProviderName><p:StatusCode xsi:nil="true" '
                    'xsi:type="cim:cimUnsignedInt"/></p:__ExtendedStatus>'
                    % (cim.NS_XSI, cim.NS_CIM, operation, _esc(parameter_info), provider))
        return self.provider_fault('s:Sender', 'a:DestinationUnreachable', text, 2150858752, inner or text, extended,
                                   FAULT_ADDR,
                                   detail='<w:FaultDetail>%sInvalidResourceURI</w:FaultDetail>' % DETAIL)

    def invalid_namespace(self, namespace):
        # Choice (no capture of this case exists): WMI answers WBEM_E_INVALID_NAMESPACE (0x8004100E) when
        # root/standardcimv2 is missing (Server 2008/2003). WinRM reports it as the resource not found
        # (ERROR_WSMAN_RESOURCE_NOT_FOUND 2150858752, what CIM cmdlets show as HRESULT 0x80338000 with "The CIM
        # namespace ... is invalid"): a:DestinationUnreachable + InvalidResourceURI in the shape of the real
        # not-found capture, not CannotProcessFilter, which WinRM keeps for errors inside the query itself.
        spelled = _wmi_path(self.req.resource_uri)[0] or namespace
        return self.not_found(namespace, provider='WinMgmt', operation='ConnectServer',
                              inner='The WS-Management service cannot process the request. The CIM namespace %s is '
                                    'invalid. ' % spelled)

    def timed_out(self, delay):
        # pypsrp_test_winrs_operation_timeout.yml / omi_wsmanparser_timedout_fault.xml
        text = 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  '
        fault = self.fault('s:Receiver', 'w:TimedOut', text, 2150858793, text)
        fault.delay = delay
        return fault

    def internal_error_quota(self):
        # txwinrm_data_error_max_concurrent.xml: the transient InternalError a client is expected to retry
        return self.fault('s:Receiver', 'w:InternalError',
                          'The WS-Management service cannot process the request. The maximum number of concurrent '
                          'operations for this user has been exceeded. Close existing operations for this user, or '
                          'raise the quota for this user.', 2150859174,
                          'The WS-Management service cannot process the request. This user is allowed a maximum number '
                          'of 15 concurrent operations, which has been exceeded. Close existing operations for this '
                          'user, or raise the quota for this user. ', lang='')

    def access_denied(self):
        return self.fault('s:Sender', 'w:AccessDenied', 'Access is denied. ', 5,
                          "The WS-Management service cannot process the request. The WMI service returned an "
                          "'access denied' error. ")

    def invalid_selectors(self, detail, message=None):
        # pypsrp_test_winrs_bad_cmd_id.yml
        text = 'The WS-Management service cannot process the request because the request contained invalid ' \
               'selectors for the resource. '
        # UnexpectedSelectors is 2150858843 in the capture; InsufficientSelectors is ERROR_WSMAN_INSUFFCIENT_SELECTORS
        number = 2150858842 if detail == 'InsufficientSelectors' else 2150858843
        return self.fault('s:Sender', 'w:InvalidSelectors', text, number, _esc(message or text),
                          detail='<w:FaultDetail>%s%s</w:FaultDetail>' % (DETAIL, detail))

    def action_not_supported(self):
        # No capture; WS-Addressing subcode and the reason text of DSP0226; code ERROR_WSMAN_INVALID_ACTIONURI
        # (Windows SDK ERROR_WSMAN_* table)
        text = 'The action is not supported by the service. '
        return self.fault('s:Sender', 'a:ActionNotSupported', text, 2150858753,
                          'The WS-Management service cannot process the request because the action is not supported '
                          'for this resource: %s ' % _esc(self.req.action), action=FAULT_ADDR,
                          detail='<w:FaultDetail>%sActionMismatch</w:FaultDetail>' % DETAIL)

    def invalid_resource_uri(self):
        text = 'The WS-Management service cannot process the request. The resource URI is missing or it has an ' \
               'incorrect format. Check the documentation or use the following command for information on how to ' \
               'construct a resource URI: "winrm help uris". '
        return self.fault('s:Sender', 'a:DestinationUnreachable', text, 2150858811, _esc(text), action=FAULT_ADDR,
                          detail='<w:FaultDetail>%sInvalidResourceURI</w:FaultDetail>' % DETAIL)

    def invalid_header(self, message):
        # pypsrp_test_psrp_is_alive_other_wsman_error.yml
        return self.fault('s:Sender', 'a:InvalidMessageInformationHeader',
                          'The WS-Management service cannot process the request. The request contains one or more '
                          'invalid SOAP headers. ', 2150858767, _esc(message), action=FAULT_ADDR)

    def invalid_context(self):
        # No capture; WS-Enumeration subcode with the Receiver code the specification gives it;
        # code ERROR_WSMAN_ENUMERATE_INVALID_ENUMERATION_CONTEXT (Windows SDK)
        text = 'The supplied enumeration context is invalid. '
        return self.fault('s:Receiver', 'n:InvalidEnumerationContext', text, 2150858779,
                          'The WS-Management service cannot process the request because the enumeration context is '
                          'not valid or has expired. ', action=FAULT_ENUM)

    def encoding_limit(self):
        text = 'The response that the WS-Management service computed exceeds the maximum envelope size in the ' \
               'request. '
        # code ERROR_WSMAN_MAX_ENVELOPE_SIZE_EXCEEDED (Windows SDK); no capture of this fault
        return self.fault('s:Sender', 'w:EncodingLimit', text, 2150858824, _esc(text),
                          detail='<w:FaultDetail>%sMaxEnvelopeSize</w:FaultDetail>' % DETAIL)

    def schema_error(self, message):
        return schema_fault(message, self.machine, self.req.message_id)


def schema_fault(message, machine, relates_to):
    # The reason text and code of the real w:SchemaValidationError (Server 2008 fault seen in pypsrp's tests)
    return Fault(_wsman_fault('s:Sender', 'w:SchemaValidationError',
                              'The SOAP XML in the message does not match the corresponding XML schema definition. '
                              'Change the XML and retry. ', 2150858817, _esc(message), machine, relates_to, lang=''))


# ------------------------------------------------------------------------------------------------ WMI helpers
def _split_wmi_uri(uri):
    """'.../wmi/root/cimv2/*' -> ('root/cimv2', None); '.../wmi/root/cimv2/Win32_Service' -> (ns, 'Win32_Service')."""
    namespace, last = _wmi_path(uri)
    return (namespace.lower() if namespace else None), last


def _wmi_path(uri):
    """The namespace as the client spelled it and the class name (None for '*')."""
    if not uri.lower().startswith(cim.WMI_PREFIX):
        return None, None
    path = uri[len(cim.WMI_PREFIX):].strip('/')
    if '/' not in path:
        return None, None
    namespace, last = path.rsplit('/', 1)
    return namespace, (None if last == '*' else last)


def _check_namespace(ctx, namespace):
    if namespace == 'root/cimv2':
        return
    if namespace == 'root/standardcimv2' and ctx.host.spec.has_standardcimv2:
        return
    raise ctx.invalid_namespace(namespace)


def _check_access(ctx, class_name):
    denied = {c.lower() for c in ctx.host.spec.faults.get('access_denied_classes') or []}
    if class_name and class_name.lower() in denied:
        raise ctx.access_denied()


def _query_items(ctx, namespace, class_name, query_text):
    """Run the enumeration; returns (rendered items, class)."""
    host = ctx.host
    if query_text is not None:
        try:
            query = wql.parse(query_text)
        except wql.WQLError as exc:
            raise ctx.cannot_process_filter(query_text, 'The WQL query is invalid: %s. ' % exc) from None
        cls = cim.find_class(namespace, query.class_name)
        if class_name is not None and cls is not None and cls.name.lower() != class_name.lower():
            cls = None
        if cls is None:
            raise ctx.cannot_process_filter(query_text, 'The specified class does not exist in the given namespace. ')
        _check_access(ctx, cls.name)
        schema = cim.wql_schema(cls, host)
        try:
            names = schema.types.keys() if query.properties is None else {schema.resolve(p) for p in query.properties}
            predicate = wql.compile_where(query, schema)
        except wql.WQLError as exc:
            raise ctx.cannot_process_filter(query_text, 'The WQL query is invalid: %s. ' % exc) from None
        ordered = [n for n in cls.prop_names(host) if n in names]
        typed = query.properties is None
    else:
        cls = cim.find_class(namespace, class_name or '')
        if cls is None:
            raise ctx.not_found(class_name or '*', operation='EnumerateInstances')
        _check_access(ctx, cls.name)
        predicate = None
        ordered = cls.prop_names(host)
        typed = True
    render = cls.render_typed if typed else cls.render_fragment
    spelled = _wmi_path(ctx.req.resource_uri)[0]
    # rendered per request: a per-host cache of rendered items cost ~180 KB per host for a 2x gain only on
    # repeated identical queries, which a fleet run rarely makes
    return [render(inst, ordered, spelled) for inst in cls.instances(host) if predicate is None or predicate(inst)]


def _instance_by_selectors(ctx, cls):
    selectors = {k.lower(): v for k, v in ctx.req.selectors.items() if k != '__cimnamespace'}
    keys = {k.lower(): k for k in cls.keys}
    unexpected = [k for k in selectors if k not in keys]
    if unexpected:
        raise ctx.invalid_selectors('UnexpectedSelectors')
    if set(selectors) != set(keys):
        raise ctx.invalid_selectors('InsufficientSelectors')
    for inst in cls.instances(ctx.host):
        if all(str(inst.get(keys[k], '')).lower() == v.lower() for k, v in selectors.items()):
            return inst
    info = '%s.%s' % (cls.name, ','.join('%s="%s"' % (keys[k], v) for k, v in selectors.items()))
    raise ctx.not_found(info, provider=cls.provider)


# ------------------------------------------------------------------------------------------------ enumeration
def _take(items, start, max_elements, budget, frame_chars):
    """How many items from start fit: at most max_elements and within the envelope budget (UTF-16 bytes)."""
    used = frame_chars
    count = 0
    for item in itertools.islice(items, start, None):
        if count >= max_elements:
            break
        if (used + len(item)) * 2 > budget:
            break
        used += len(item)
        count += 1
    return count


def _int_child(parent, ns, name, default):
    elem = parent.find('{%s}%s' % (ns, name)) if parent is not None else None
    if elem is None:
        return default
    try:
        return max(1, int((elem.text or '').strip()))
    except ValueError:
        return default


def _store_context(host, items, pos):
    now = time.time()
    contexts = host.enumerations
    for key in [k for k, v in contexts.items() if v['expires'] < now]:
        del contexts[key]
    while len(contexts) >= MAX_CONTEXTS:
        del contexts[next(iter(contexts))]
    ctx_id = 'uuid:' + _uuid()
    contexts[ctx_id] = {'items': items, 'pos': pos, 'expires': now + ENUMERATION_TIMEOUT}
    return ctx_id


def do_enumerate(ctx):
    req = ctx.req
    namespace, class_name = _split_wmi_uri(req.resource_uri)
    if namespace is None:
        raise ctx.invalid_resource_uri()
    _check_namespace(ctx, namespace)
    enum = req.body.find('{%s}Enumerate' % NS_N)
    if enum is None:
        raise ctx.schema_error('The Enumerate body element is missing. ')
    filt = enum.find('{%s}Filter' % NS_W)
    if filt is None:
        filt = enum.find('{%s}Filter' % NS_N)
    query_text = None
    if filt is not None:
        if filt.get('Dialect', WQL_DIALECT) != WQL_DIALECT:
            raise ctx.cannot_process_filter(filt.text or '', 'The filter dialect is not supported. ')
        query_text = (filt.text or '').strip()
    elif class_name is None:
        raise ctx.cannot_process_filter('', 'The filter is missing. ')
    items = _query_items(ctx, namespace, class_name, query_text)
    optimize = enum.find('{%s}OptimizeEnumeration' % NS_W) is not None
    budget = req.envelope_budget()
    head = ENV_ENUM + _header(NS_N + '/EnumerateResponse', req.message_id)
    if not optimize:
        ctx_id = _store_context(ctx.host, items, 0)
        return head + '<s:Body><n:EnumerateResponse><n:EnumerationContext>%s</n:EnumerationContext>' \
                      '</n:EnumerateResponse>' % ctx_id + END
    # Items the optimized EnumerateResponse carries: MaxElements (default 1) within the envelope budget. Real
    # Server 2008/2012 sometimes carried fewer (one item, the rest by Pull: txwinrm captures) when WMI was slow to
    # produce them; clients must Pull until EndOfSequence either way, and MaxElements: 1 reproduces that shape.
    max_elements = _int_child(enum, NS_W, 'MaxElements', 1)
    frame = len(head) + 200
    count = _take(items, 0, max_elements, budget, frame)
    if items and count == 0:
        raise ctx.encoding_limit()
    if count >= len(items):
        # everything fits: empty context + EndOfSequence, as in the Server 2003 and Win32_OperatingSystem captures
        return (head + '<s:Body><n:EnumerateResponse><n:EnumerationContext></n:EnumerationContext><w:Items>%s'
                '</w:Items><w:EndOfSequence/></n:EnumerateResponse>' % ''.join(items) + END)
    ctx_id = _store_context(ctx.host, items, count)
    return (head + '<s:Body><n:EnumerateResponse><n:EnumerationContext>%s</n:EnumerationContext><w:Items>%s'
            '</w:Items></n:EnumerateResponse>' % (ctx_id, ''.join(items[:count])) + END)


def _context_from_body(ctx, element_name):
    elem = ctx.req.body.find('{%s}%s' % (NS_N, element_name))
    if elem is None:
        raise ctx.schema_error('The %s body element is missing. ' % element_name)
    ctx_id = (elem.findtext('{%s}EnumerationContext' % NS_N) or '').strip()
    state = ctx.host.enumerations.get(ctx_id)
    if state is None or state['expires'] < time.time():
        ctx.host.enumerations.pop(ctx_id, None)
        raise ctx.invalid_context()
    return elem, ctx_id, state


def do_pull(ctx):
    pull, ctx_id, state = _context_from_body(ctx, 'Pull')
    items, pos = state['items'], state['pos']
    head = ENV_ENUM + _header(NS_N + '/PullResponse', ctx.req.message_id)
    count = _take(items, pos, _int_child(pull, NS_N, 'MaxElements', 1), ctx.req.envelope_budget(), len(head) + 200)
    if pos < len(items) and count == 0:
        raise ctx.encoding_limit()
    del ctx.host.enumerations[ctx_id]
    chunk = ''.join(items[pos:pos + count])
    if pos + count >= len(items):
        return head + '<s:Body><n:PullResponse><n:Items>%s</n:Items><n:EndOfSequence/></n:PullResponse>' % chunk + END
    # Windows hands out a new context with every PullResponse (see the txwinrm captures); the old one is spent
    new_id = _store_context(ctx.host, items, pos + count)
    return (head + '<s:Body><n:PullResponse><n:EnumerationContext>%s</n:EnumerationContext><n:Items>%s</n:Items>'
            '</n:PullResponse>' % (new_id, chunk) + END)


def do_release(ctx):
    _elem, ctx_id, _state = _context_from_body(ctx, 'Release')
    del ctx.host.enumerations[ctx_id]
    return _envelope(ENV_ENUM, NS_N + '/ReleaseResponse', ctx.req.message_id, '')


# ------------------------------------------------------------------------------------------------ Get and Invoke
def _class_of(ctx):
    namespace, class_name = _split_wmi_uri(ctx.req.resource_uri)
    if namespace is None or class_name is None:
        raise ctx.invalid_resource_uri()
    _check_namespace(ctx, namespace)
    cls = cim.find_class(namespace, class_name)
    if cls is None:
        raise ctx.not_found(class_name, operation='GetObject')
    _check_access(ctx, cls.name)
    return cls


def do_get(ctx):
    cls = _class_of(ctx)
    inst = _instance_by_selectors(ctx, cls)
    body = cls.render_typed(inst, cls.prop_names(ctx.host), _wmi_path(ctx.req.resource_uri)[0])
    return _envelope(ENV_TRANSFER, NS_X + '/GetResponse', ctx.req.message_id, body)


METHODS = ('StopService', 'StartService', 'ChangeStartMode')


def do_invoke(ctx, method):
    cls = _class_of(ctx)
    if cls.name != 'Win32_Service' or method not in METHODS:
        raise ctx.action_not_supported()
    inst = _instance_by_selectors(ctx, cls)
    host = ctx.host
    name = inst['Name']
    if method == 'StopService':
        rc = host.stop_service(name)
    elif method == 'StartService':
        rc = host.start_service(name)
    else:
        rc = host.change_start_mode(name, _method_param(ctx, cls, method, 'StartMode'))
    uri = ctx.req.resource_uri
    body = ('<p:%s_OUTPUT xmlns:xsi="%s" xmlns:p="%s" xmlns:cim="%s"><p:ReturnValue>%d</p:ReturnValue></p:%s_OUTPUT>'
            % (method, cim.NS_XSI, _esc(uri), cim.NS_CIM, rc, method))
    return _envelope(ENV_TRANSFER, '%s/%sResponse' % (_esc(uri), method), ctx.req.message_id, body)


def _method_param(ctx, cls, method, param):
    """A method input parameter: <p:METHOD_INPUT xmlns:p="class URI"><p:PARAM>..; None when absent."""
    for elem in ctx.req.body:
        if elem.tag.lower() == ('{%s}%s_INPUT' % (cls.uri, method)).lower():
            for child in elem:
                if child.tag.lower() == ('{%s}%s' % (cls.uri, param)).lower():  # the class URI, any case
                    return (child.text or '').strip()
    return None


# ------------------------------------------------------------------------------------------------ cmd shell
def _shell_of(ctx):
    shell_id = ctx.req.selectors.get('ShellId', '')
    state = ctx.host.shells.get(shell_id)
    if state is None:
        raise ctx.invalid_selectors(
            'UnexpectedSelectors',
            'The request for the Windows Remote Shell with ShellId %s failed because the shell was not found on the '
            'server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the '
            'server. Provide the correct ShellId or create a new shell and retry the operation. ' % shell_id)
    return shell_id, state


def _command_of(ctx, state, command_id):
    command = state['commands'].get(command_id)
    if command is None:
        raise ctx.invalid_selectors(
            'UnexpectedSelectors',
            'The Windows Remote Shell received a request to perform an operation on a command identifier that does not '
            'exist. Either the command has completed execution or the client specified an invalid command identifier. ')
    return command


def do_create(ctx):
    if ctx.req.resource_uri != SHELL_URI:
        raise ctx.invalid_resource_uri()
    shells = ctx.host.shells
    while len(shells) >= MAX_SHELLS:
        del shells[next(iter(shells))]
    shell_id = _uuid()
    shells[shell_id] = {'commands': {}}
    owner = ctx.host.spec.username.split('\\')[-1]
    address = ctx.req.to or 'http://%s:5985/wsman' % ctx.machine
    body = ('<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>'
            '<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            '</x:ResourceCreated><rsp:Shell xmlns:rsp="%s"><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s'
            '</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>'
            'PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr'
            '</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S'
            '</rsp:ShellInactivity></rsp:Shell>'
            % (_esc(address), SHELL_URI, shell_id, NS_RSP, shell_id, SHELL_URI, _esc(owner)))
    return _envelope(ENV_SHELL, NS_X + '/CreateResponse', ctx.req.message_id, body)


def do_command(ctx):
    _shell_id, state = _shell_of(ctx)
    line = ctx.req.body.find('{%s}CommandLine' % NS_RSP)
    if line is None:
        raise ctx.schema_error('The CommandLine element is missing. ')
    command = (line.findtext('{%s}Command' % NS_RSP) or '').strip()
    arguments = [(a.text or '') for a in line.findall('{%s}Arguments' % NS_RSP)]
    words = command.split() or ['']
    stdout, stderr, code = shell.run(ctx.host, words[0], words[1:] + [w for a in arguments for w in a.split()])
    command_id = _uuid()
    state['commands'][command_id] = {'stdout': stdout, 'stderr': stderr, 'code': code}
    body = '<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>' % command_id
    return _envelope(ENV_SHELL, NS_RSP + '/CommandResponse', ctx.req.message_id, body)


def do_receive(ctx):
    _shell_id, state = _shell_of(ctx)
    stream = ctx.req.body.find('{%s}Receive/{%s}DesiredStream' % (NS_RSP, NS_RSP))
    command_id = stream.get('CommandId', '') if stream is not None else ''
    command = _command_of(ctx, state, command_id)
    parts = []
    for name in ('stdout', 'stderr'):
        data = command[name]
        if data:
            parts.append('<rsp:Stream Name="%s" CommandId="%s">%s</rsp:Stream>'
                         % (name, command_id, _b64(data)))
    parts.extend('<rsp:Stream Name="%s" CommandId="%s" End="true"></rsp:Stream>' % (n, command_id)
                 for n in ('stdout', 'stderr'))
    parts.append('<rsp:CommandState CommandId="%s" State="%s/CommandState/Done"><rsp:ExitCode>%d</rsp:ExitCode>'
                 '</rsp:CommandState>' % (command_id, NS_RSP, command['code']))
    command['stdout'] = command['stderr'] = b''
    body = '<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>' % ''.join(parts)
    return _envelope(ENV_RECEIVE, NS_RSP + '/ReceiveResponse', ctx.req.message_id, body)


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def do_signal(ctx):
    _shell_id, state = _shell_of(ctx)
    signal = ctx.req.body.find('{%s}Signal' % NS_RSP)
    command_id = signal.get('CommandId', '') if signal is not None else ''
    _command_of(ctx, state, command_id)
    state['commands'].pop(command_id, None)
    return _envelope(ENV_SHELL, NS_RSP + '/SignalResponse', ctx.req.message_id, '<rsp:SignalResponse/>')


def do_send(ctx):
    _shell_of(ctx)
    return _envelope(ENV_SHELL, NS_RSP + '/SendResponse', ctx.req.message_id, '<rsp:SendResponse/>')


def do_delete(ctx):
    if ctx.req.resource_uri != SHELL_URI:
        raise ctx.action_not_supported()
    shell_id, _state = _shell_of(ctx)
    del ctx.host.shells[shell_id]
    return _envelope(ENV_DELETE, NS_X + '/DeleteResponse', ctx.req.message_id, '')


_HANDLERS = {ACT_ENUMERATE: do_enumerate, ACT_PULL: do_pull, ACT_RELEASE: do_release, ACT_GET: do_get,
             ACT_CREATE: do_create, ACT_DELETE: do_delete, ACT_COMMAND: do_command, ACT_RECEIVE: do_receive,
             ACT_SIGNAL: do_signal, ACT_SEND: do_send}


def _operation(req):
    """The operation name used by the operation_timeout_on fault: the WMI method name for Invoke."""
    if req.action in _OPERATIONS:
        return _OPERATIONS[req.action]
    if req.resource_uri and req.action.startswith(req.resource_uri + '/'):
        return req.action[len(req.resource_uri) + 1:]
    return ''


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
        return Reply(200, text.encode('utf-8'), action=req.action, resource_uri=req.resource_uri)
    except Fault as fault:
        return Reply(fault.status, fault.body.encode('utf-8'), delay=fault.delay, action=req.action,
                     resource_uri=req.resource_uri)
    except Exception as exc:  # pylint: disable=broad-except
        # a lab bug must still look like Windows to the client: w:InternalError, never a dropped connection
        text = 'The WS-Management service cannot process the request. An internal error occurred: %s ' \
               % type(exc).__name__
        fault = ctx.fault('s:Receiver', 'w:InternalError', text, 2147500037, _esc(text))
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
                                 'timeout field in the SOAP header: %s. ' % _esc(req.timeout_text))
    host.requests_seen += 1
    faults = host.spec.faults
    if host.requests_seen <= (faults.get('internal_error_requests') or 0):
        raise ctx.internal_error_quota()
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
        return do_invoke(ctx, req.action[len(req.resource_uri) + 1:])
    raise ctx.action_not_supported()


# ------------------------------------------------------------------------------------------------ request builder
def request_envelope(action, resource_uri, body='', selectors=None, message_id=None, max_envelope=153600,
                     timeout='PT60S', to='http://127.0.0.1:5985/wsman', options=None):
    """A request in the shape pywinrm sends (its prefixes: s/wsa/wsman), for tests, benchmarks and demos."""
    sel = ''
    if selectors:
        sel = '<wsman:SelectorSet>%s</wsman:SelectorSet>' % ''.join(
            '<wsman:Selector Name="%s">%s</wsman:Selector>' % (_esc(k), _esc(v)) for k, v in selectors.items())
    opt = ''
    if options:
        opt = '<wsman:OptionSet>%s</wsman:OptionSet>' % ''.join(
            '<wsman:Option Name="%s">%s</wsman:Option>' % (_esc(k), _esc(v)) for k, v in options.items())
    return ('<s:Envelope xmlns:s="%s" xmlns:wsa="%s" xmlns:wsman="%s" xmlns:wsen="%s" xmlns:rsp="%s"><s:Header>'
            '<wsa:To>%s</wsa:To><wsa:ReplyTo><wsa:Address s:mustUnderstand="true">%s</wsa:Address></wsa:ReplyTo>'
            '<wsman:MaxEnvelopeSize s:mustUnderstand="true">%d</wsman:MaxEnvelopeSize><wsa:MessageID>%s'
            '</wsa:MessageID><wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/><wsman:OperationTimeout>%s'
            '</wsman:OperationTimeout><wsman:ResourceURI s:mustUnderstand="true">%s</wsman:ResourceURI>'
            '<wsa:Action s:mustUnderstand="true">%s</wsa:Action>%s%s</s:Header><s:Body>%s</s:Body></s:Envelope>'
            % (NS_S, NS_A, NS_W, NS_N, NS_RSP, _esc(to), ANONYMOUS, max_envelope,
               message_id or 'uuid:' + _uuid(), timeout, _esc(resource_uri), _esc(action), sel, opt, body)).encode('utf-8')


def enumerate_body(wql_text=None, optimize=True, max_elements=32000):
    """<wsen:Enumerate> with the WQL filter and OptimizeEnumeration/MaxElements as the collection sends them."""
    parts = []
    if optimize:
        parts.append('<wsman:OptimizeEnumeration/><wsman:MaxElements>%d</wsman:MaxElements>' % max_elements)
    if wql_text is not None:
        parts.append('<wsman:Filter Dialect="%s">%s</wsman:Filter>' % (WQL_DIALECT, _esc(wql_text)))
    return '<wsen:Enumerate>%s</wsen:Enumerate>' % ''.join(parts)


def pull_body(context, max_elements=32000):
    return ('<wsen:Pull><wsen:EnumerationContext>%s</wsen:EnumerationContext><wsen:MaxElements>%d</wsen:MaxElements>'
            '</wsen:Pull>' % (_esc(context), max_elements))
