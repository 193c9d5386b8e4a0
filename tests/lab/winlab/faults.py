# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SOAP faults of real Windows, each built in the shape of its capture (tests/captures/README.md names them)."""
from __future__ import annotations

from winlab import cim, fault_texts
from winlab.wmi import MI_NAMESPACES, wmi_path
from winlab.soap import DETAIL, END, ENV_FAULT, FAULT_ADDR, FAULT_ENUM, FAULT_WSMAN, NS_F, Fault, esc, header

NS_WMIERROR_DMTF = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError'
NS_CIMBINDING = 'http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd'
# MI_ErrorCategory (mi.h) and CIM status codes (DSP0200) the MSFT_WmiError details carry
CATEGORY_ACCESS_DENIED = 18
CATEGORY_INVALID_ARGUMENT = 5
CATEGORY_OBJECT_NOT_FOUND = 13
CATEGORY_QUOTA_EXCEEDED = 30
CIM_ERR_ACCESS_DENIED = 2
CIM_ERR_INVALID_QUERY = 15
CIM_ERR_NOT_FOUND = 6
CIM_ERR_SERVER_LIMITS_EXCEEDED = 27
# WinRM's own codes (wsmerror.h)
ACCESS_DENIED_CODES = {'service': 2150859012, 'provider': 2150859013, 'connect': 2150859014}
QUOTA_MAX_SHELLS = 2150859173
QUOTA_MAX_OPERATIONS = 2150859174


def _envelope_open(lang):
    # the envelope names the server's language like the Reason does
    return ENV_FAULT if lang == 'en-US' else ENV_FAULT.replace('xml:lang="en-US"', 'xml:lang="%s"' % lang)


def _fault_head(code, subcode, reason, lang, action, relates_to):
    return (_envelope_open(lang or 'en-US') + header(action, relates_to) + '<s:Body><s:Fault><s:Code><s:Value>%s'
            '</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="%s">%s'
            '</s:Text></s:Reason>' % (code, subcode, lang, esc(reason)))


MI_BUILD = 9200        # Windows Server 2012: WMI answers through MI from this build on


def wsman_fault(code, subcode, reason, number, message, machine, relates_to, action=FAULT_WSMAN, detail='',
                lang='en-US'):
    """A SOAP fault with the f:WSManFault detail every WinRM fault carries."""
    return (_fault_head(code, subcode, reason, lang, action, relates_to) + '<s:Detail>%s<f:WSManFault xmlns:f="%s" '
            'Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault></s:Detail></s:Fault>'
            % (detail, NS_F, number, esc(machine), message) + END)


def wmi_error_fault(code, subcode, reason, error_code, cim_status, category, message, relates_to, namespace_uri,
                    lang='en-US', action=FAULT_WSMAN):
    """A SOAP fault whose only detail is an MSFT_WmiError (no f:WSManFault), in the shape of
    winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml (w:QuotaLimit, Server 2012 era) and
    pywinrm_test_exceptions_wmi_error_detail.xml (the newer w:InternalError quota fault). ``namespace_uri`` is the
    DMTF one for WinRM's own errors and the provider's WMI namespace (``.../wmi/root/standardcimv2/MSFT_WmiError``)
    for errors of MI providers."""
    nil = '<p:%s xsi:nil="true" xsi:type="cim:cimString"/>'
    props = ('<p:CIMStatusCode xsi:type="cim:cimUnsignedInt">%d</p:CIMStatusCode>' % cim_status
             + nil % 'CIMStatusCodeDescription' + nil % 'ErrorSource'
             + '<p:ErrorSourceFormat xsi:type="cim:cimUnsignedShort">0</p:ErrorSourceFormat>'
             '<p:ErrorType xsi:type="cim:cimUnsignedShort">0</p:ErrorType>'
             '<p:Message xsi:type="cim:cimString">%s</p:Message>'
             '<p:MessageID xsi:type="cim:cimString">HRESULT 0x%08x</p:MessageID>' % (esc(message), error_code)
             + nil % 'OtherErrorSourceFormat' + nil % 'OtherErrorType' + nil % 'OwningEntity'
             + '<p:PerceivedSeverity xsi:type="cim:cimUnsignedShort">0</p:PerceivedSeverity>'
             '<p:ProbableCause xsi:type="cim:cimUnsignedShort">0</p:ProbableCause>'
             + nil % 'ProbableCauseDescription'
             + '<p:error_Category xsi:type="cim:cimUnsignedInt">%d</p:error_Category>'
             '<p:error_Code xsi:type="cim:cimUnsignedInt">%d</p:error_Code>'
             '<p:error_Type xsi:type="cim:cimString">HRESULT</p:error_Type>'
             '<p:error_WindowsErrorMessage xsi:type="cim:cimString">%s</p:error_WindowsErrorMessage>'
             % (category, error_code, esc(message)))
    detail = ('<p:MSFT_WmiError b:IsCIM_Error="true" xmlns:b="%s" xmlns:cim="%s" xmlns:p="%s" xmlns:xsi="%s" '
              'xsi:type="p:MSFT_WmiError_Type">%s</p:MSFT_WmiError>'
              % (NS_CIMBINDING, cim.NS_CIM, namespace_uri, cim.NS_XSI, props))
    return (_fault_head(code, subcode, reason, lang, action, relates_to) + '<s:Detail>' + detail
            + '</s:Detail></s:Fault>' + END)


class WindowsFaults:
    """The fault builders of a request context (mixed into wsman.Context, which gives host, req, machine, fqdn).

    Texts follow the host's ``locale`` (fault_texts); codes and subcodes never change with it.
    """

    @property
    def locale(self):
        return getattr(self.host.spec, 'locale', 'en-US')

    def text(self, key, **values):
        return fault_texts.text(self.locale, key, **values)

    def fault(self, *args, **kwargs):
        kwargs.setdefault('lang', self.locale)
        return Fault(wsman_fault(args[0], args[1], args[2], args[3], args[4], self.machine, self.req.message_id,
                                 **kwargs))

    def provider_fault(self, code, subcode, reason, number, inner, extended, action, detail=''):
        """The WMI plug-in shape: outer WSManFault wrapping a ProviderFault with the inner fault and WMI status."""
        message = ('<f:ProviderFault provider="WMI Provider" path="%%systemroot%%\\system32\\WsmWmiPl.dll">'
                   '<f:WSManFault xmlns:f="%s" Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
                   '%s</f:ProviderFault>'
                   % (NS_F, number, esc(self.fqdn), esc(inner),
                      '<f:ExtendedError>%s</f:ExtendedError>' % extended if extended else ''))
        return Fault(wsman_fault(code, subcode, reason, number, message, self.machine, self.req.message_id,
                                 action=action, detail=detail, lang=self.locale))

    def mi_fault(self, code, subcode, reason, error_code, cim_status, category, message, action=FAULT_WSMAN):
        """An error of an MI provider (the root/StandardCimv2 classes): MSFT_WmiError in the provider's own WMI
        namespace (``.../wmi/root/standardcimv2/MSFT_WmiError``, as Windows clients read it, see
        tests/captures/README.md), no WSManFault."""
        namespace = (wmi_path(self.req.resource_uri)[0] or 'root/standardcimv2').lower()
        return Fault(wmi_error_fault(code, subcode, reason, error_code, cim_status, category, message,
                                     self.req.message_id, '%s%s/MSFT_WmiError' % (cim.WMI_PREFIX, namespace),
                                     lang=self.locale, action=action))

    def is_mi_request(self):
        namespace = wmi_path(self.req.resource_uri)[0]
        return bool(namespace) and namespace.lower() in MI_NAMESPACES

    # ---- the faults of real Windows, each from its capture (tests/captures/README.md names them)
    def cannot_process_filter(self, query, inner):
        # winrb_winrm_2013_spec_mock_wsman_fault.xml (Server 2008 R2): WMI ExecQuery failed
        if self.is_mi_request():
            # MI providers: CIM_ERR_INVALID_QUERY with WBEM_E_INVALID_QUERY (0x80041017) in MSFT_WmiError
            return self.mi_fault('s:Sender', 'n:CannotProcessFilter', self.text('cannot_process_filter'), 2147749911,
                                 CIM_ERR_INVALID_QUERY, CATEGORY_INVALID_ARGUMENT, inner, action=FAULT_ENUM)
        return self.provider_fault('s:Sender', 'n:CannotProcessFilter', self.text('cannot_process_filter'),
                                   2150858778, inner, _extended_status('ExecQuery', query), FAULT_ENUM)

    def not_found(self, parameter_info, provider='CIMWin32', operation='GetObject', inner=None):
        # omi_wsmanparser_get_notfound_fault_win2012r2.xml: Get of an instance that does not exist
        text = self.text('not_found')
        if self.is_mi_request() and operation != 'ConnectServer':
            return self.mi_fault('s:Sender', 'a:DestinationUnreachable', text, 2150858752, CIM_ERR_NOT_FOUND,
                                 CATEGORY_OBJECT_NOT_FOUND, inner or text, action=FAULT_ADDR)
        extended = ('<p:__ExtendedStatus xmlns:xsi="%s" xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
                    '__ExtendedStatus" xmlns:cim="%s" xsi:type="p:__ExtendedStatus_Type"><p:Description xsi:nil="true" '
                    'xsi:type="cim:cimString"/><p:Operation xsi:type="cim:cimString">%s</p:Operation>'
                    '<p:ParameterInfo xsi:type="cim:cimString">%s</p:ParameterInfo><p:ProviderName '
                    'xsi:type="cim:cimString">%s</p:ProviderName><p:StatusCode xsi:nil="true" '
                    'xsi:type="cim:cimUnsignedInt"/></p:__ExtendedStatus>'
                    % (cim.NS_XSI, cim.NS_CIM, operation, esc(parameter_info), provider))
        return self.provider_fault('s:Sender', 'a:DestinationUnreachable', text, 2150858752, inner or text, extended,
                                   FAULT_ADDR,
                                   detail='<w:FaultDetail>%sInvalidResourceURI</w:FaultDetail>' % DETAIL)

    def invalid_namespace(self, namespace):
        # Choice (no capture of this case exists): WMI answers WBEM_E_INVALID_NAMESPACE (0x8004100E) when
        # root/standardcimv2 is missing (Server 2008/2003). WinRM reports it as the resource not found
        # (ERROR_WSMAN_RESOURCE_NOT_FOUND 2150858752, what CIM cmdlets show as HRESULT 0x80338000 with "The CIM
        # namespace ... is invalid"): a:DestinationUnreachable + InvalidResourceURI in the shape of the real
        # not-found capture, not CannotProcessFilter, which WinRM keeps for errors inside the query itself.
        spelled = wmi_path(self.req.resource_uri)[0] or namespace
        return self.not_found(namespace, provider='WinMgmt', operation='ConnectServer',
                              inner=self.text('invalid_namespace', namespace=spelled))

    def timed_out(self, delay):
        # pypsrp_test_winrs_operation_timeout.yml / omi_wsmanparser_timedout_fault.xml
        text = self.text('timed_out')
        fault = self.fault('s:Receiver', 'w:TimedOut', text, 2150858793, esc(text))
        fault.delay = delay
        return fault

    def internal_error_quota(self, limit=15):
        # txwinrm_data_error_max_concurrent.xml: the older shape, WSManFault 2150859174 (empty xml:lang as captured)
        lang = '' if self.locale == 'en-US' else self.locale
        return self.fault('s:Receiver', 'w:InternalError', self.text('quota_operations'), QUOTA_MAX_OPERATIONS,
                          esc(self.text('quota_operations_detail', limit=limit)), lang=lang)

    def event_log_quota(self, delay):
        """WMI's event log provider ran out of quota (WBEM_E_QUOTA_VIOLATION 0x8004106C, "Quota violation").

        Server 2012 and later (WMI over MI) answer w:InternalError whose only detail is an MSFT_WmiError with error
        code 2150859174 (shape of the MSFT_WmiError fault in pywinrm's test_protocol.py); older hosts answer the
        classic WMI plug-in fault with the WMI code. No capture of this exact case exists.
        """
        text = 'Quota violation '
        if int(cim.os_version(self.host.spec.os)[1]) >= MI_BUILD:
            fault = Fault(wmi_error_fault('s:Receiver', 'w:InternalError', text, QUOTA_MAX_OPERATIONS,
                                          CIM_ERR_SERVER_LIMITS_EXCEEDED, CATEGORY_QUOTA_EXCEEDED, text,
                                          self.req.message_id, NS_WMIERROR_DMTF, lang=self.locale))
        else:
            fault = self.provider_fault('s:Receiver', 'w:InternalError', text, 2147749996, text,
                                        _extended_status('ExecQuery', 'Win32_NTLogEvent'), FAULT_WSMAN)
        fault.delay = delay
        return fault

    def privilege_not_held(self, query):
        """The Security log read without SeSecurityPrivilege: WMI's WBEM_E_PRIVILEGE_NOT_HELD (0x80041062,
        "Privilege not held.") in the WMI plug-in's fault shape, as an access denial (no capture of this case)."""
        return self.provider_fault('s:Sender', 'w:AccessDenied', 'Access is denied. ', 2147749986,
                                   'Privilege not held. ', _extended_status('ExecQuery', query), FAULT_ENUM)

    def quota_exceeded_wmierror(self, limit=15):
        # pywinrm_test_exceptions_wmi_error_detail.xml: the newer shape, w:InternalError with only an
        # MSFT_WmiError (DMTF namespace): CIM_ERR_SERVER_LIMITS_EXCEEDED, category QuotaExceeded, 0x803381A6
        detail = self.text('quota_operations_detail', limit=limit)
        return Fault(wmi_error_fault('s:Receiver', 'w:InternalError', self.text('quota_operations'),
                                     QUOTA_MAX_OPERATIONS, CIM_ERR_SERVER_LIMITS_EXCEEDED, CATEGORY_QUOTA_EXCEEDED,
                                     detail, self.req.message_id, NS_WMIERROR_DMTF, lang=self.locale))

    def quota_exceeded(self):
        """MaxConcurrentOperationsPerUser exceeded, in the shape the host's WinRM sends (scenario winrm.quota_fault)."""
        winrm = self.host.spec.winrm
        limit = winrm['max_concurrent_operations_per_user']
        if winrm['quota_fault'] == 'wmierror':
            return self.quota_exceeded_wmierror(limit)
        return self.internal_error_quota(limit)

    def quota_shells(self):
        # winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml: a Create beyond MaxShellsPerUser
        detail = self.text('quota_shells_detail', limit=self.host.spec.winrm['max_shells_per_user'])
        return Fault(wmi_error_fault('s:Sender', 'w:QuotaLimit', self.text('quota_shells'), QUOTA_MAX_SHELLS,
                                     CIM_ERR_SERVER_LIMITS_EXCEEDED, CATEGORY_QUOTA_EXCEEDED, detail,
                                     self.req.message_id, NS_WMIERROR_DMTF, lang=self.locale))

    def access_denied(self, kind='service'):
        """WMI refused the account: ``service`` (the WMI service, 2150859012), ``provider`` (the class's provider,
        2150859013) or ``connect`` (ConnectServer to the namespace, 2150859014).

        The WMI text is the Reason, as clients show it ("Error code: 'AccessDenied' Error details: 'The
        WS-Management service cannot process the request. The WMI service returned an 'access denied' error.'",
        quoted from Azure Migrate in MicrosoftDocs/azure-docs#72963); codes from wsmerror.h. MI classes answer
        with MSFT_WmiError in their namespace, CIM_ERR_ACCESS_DENIED.
        """
        number = ACCESS_DENIED_CODES[kind]
        text = self.text('access_denied_' + kind)
        if self.is_mi_request() and kind != 'connect':
            return self.mi_fault('s:Sender', 'w:AccessDenied', text, number, CIM_ERR_ACCESS_DENIED,
                                 CATEGORY_ACCESS_DENIED, text)
        return self.provider_fault('s:Sender', 'w:AccessDenied', text, number, text, '', FAULT_WSMAN)

    def invalid_selectors(self, detail, message=None):
        # pypsrp_test_winrs_bad_cmd_id.yml
        text = 'The WS-Management service cannot process the request because the request contained invalid ' \
               'selectors for the resource. '
        # UnexpectedSelectors is 2150858843 in the capture; InsufficientSelectors is ERROR_WSMAN_INSUFFCIENT_SELECTORS
        number = 2150858842 if detail == 'InsufficientSelectors' else 2150858843
        return self.fault('s:Sender', 'w:InvalidSelectors', text, number, esc(message or text),
                          detail='<w:FaultDetail>%s%s</w:FaultDetail>' % (DETAIL, detail))

    def action_not_supported(self):
        # No capture; WS-Addressing subcode and the reason text of DSP0226; code ERROR_WSMAN_INVALID_ACTIONURI
        # (Windows SDK ERROR_WSMAN_* table)
        text = 'The action is not supported by the service. '
        return self.fault('s:Sender', 'a:ActionNotSupported', text, 2150858753,
                          'The WS-Management service cannot process the request because the action is not supported '
                          'for this resource: %s ' % esc(self.req.action), action=FAULT_ADDR,
                          detail='<w:FaultDetail>%sActionMismatch</w:FaultDetail>' % DETAIL)

    def invalid_resource_uri(self):
        text = 'The WS-Management service cannot process the request. The resource URI is missing or it has an ' \
               'incorrect format. Check the documentation or use the following command for information on how to ' \
               'construct a resource URI: "winrm help uris". '
        return self.fault('s:Sender', 'a:DestinationUnreachable', text, 2150858811, esc(text), action=FAULT_ADDR,
                          detail='<w:FaultDetail>%sInvalidResourceURI</w:FaultDetail>' % DETAIL)

    def invalid_header(self, message):
        # pypsrp_test_psrp_is_alive_other_wsman_error.yml
        return self.fault('s:Sender', 'a:InvalidMessageInformationHeader',
                          'The WS-Management service cannot process the request. The request contains one or more '
                          'invalid SOAP headers. ', 2150858767, esc(message), action=FAULT_ADDR)

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
        return self.fault('s:Sender', 'w:EncodingLimit', text, 2150858824, esc(text),
                          detail='<w:FaultDetail>%sMaxEnvelopeSize</w:FaultDetail>' % DETAIL)

    def schema_error(self, message):
        return schema_fault(message, self.machine, self.req.message_id)


def schema_fault(message, machine, relates_to):
    # The reason text and code of the real w:SchemaValidationError (Server 2008 fault seen in pypsrp's tests)
    return Fault(wsman_fault('s:Sender', 'w:SchemaValidationError',
                             'The SOAP XML in the message does not match the corresponding XML schema definition. '
                             'Change the XML and retry. ', 2150858817, esc(message), machine, relates_to, lang=''))


def _extended_status(operation, parameter_info):
    # the __ExtendedStatus of the WMI plug-in's faults (winrb_winrm_2013_spec_mock_wsman_fault.xml)
    return ('<p:__ExtendedStatus xmlns:cim="%s" xmlns:p="%sroot/cimv2/__ExtendedStatus" xmlns:xsi="%s" '
            'xsi:type="p:__ExtendedStatus_Type"><p:Description xsi:nil="true"/><p:Operation>%s</p:Operation>'
            '<p:ParameterInfo>%s</p:ParameterInfo><p:ProviderName>WinMgmt</p:ProviderName>'
            '<p:StatusCode xsi:nil="true"/></p:__ExtendedStatus>'
            % (cim.NS_CIM, cim.WMI_PREFIX, cim.NS_XSI, operation, esc(parameter_info[:4096])))
