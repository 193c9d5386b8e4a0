# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SOAP faults of real Windows, each built in the shape of its capture (tests/captures/README.md names them)."""
from __future__ import annotations

from winlab import cim
from winlab.wmi import wmi_path
from winlab.soap import DETAIL, END, ENV_FAULT, FAULT_ADDR, FAULT_ENUM, FAULT_WSMAN, NS_F, Fault, esc, header


def wsman_fault(code, subcode, reason, number, message, machine, relates_to, action=FAULT_WSMAN, detail='',
                lang='en-US'):
    """A SOAP fault with the f:WSManFault detail every Windows fault carries."""
    return (ENV_FAULT + header(action, relates_to) + '<s:Body><s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode>'
            '<s:Value>%s</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="%s">%s</s:Text></s:Reason>'
            '<s:Detail>%s<f:WSManFault xmlns:f="%s" Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
            '</s:Detail></s:Fault>' % (code, subcode, lang, esc(reason), detail, NS_F, number, esc(machine), message)
            + END)


class WindowsFaults:
    """The fault builders of a request context (mixed into wsman.Context, which gives host, req, machine, fqdn)."""

    def fault(self, *args, **kwargs):
        return Fault(wsman_fault(args[0], args[1], args[2], args[3], args[4], self.machine, self.req.message_id,
                                 **kwargs))

    def provider_fault(self, code, subcode, reason, number, inner, extended, action, detail=''):
        """The WMI plug-in shape: outer WSManFault wrapping a ProviderFault with the inner fault and WMI status."""
        message = ('<f:ProviderFault provider="WMI Provider" path="%%systemroot%%\\system32\\WsmWmiPl.dll">'
                   '<f:WSManFault xmlns:f="%s" Code="%s" Machine="%s"><f:Message>%s</f:Message></f:WSManFault>'
                   '<f:ExtendedError>%s</f:ExtendedError></f:ProviderFault>'
                   % (NS_F, number, esc(self.fqdn), esc(inner), extended))
        return Fault(wsman_fault(code, subcode, reason, number, message, self.machine, self.req.message_id,
                                 action=action, detail=detail))

    # ---- the faults of real Windows, each from its capture (tests/captures/README.md names them)
    def cannot_process_filter(self, query, inner):
        # winrb_winrm_2013_spec_mock_wsman_fault.xml (Server 2008 R2): WMI ExecQuery failed
        extended = ('<p:__ExtendedStatus xmlns:cim="%s" xmlns:p="%sroot/cimv2/__ExtendedStatus" xmlns:xsi="%s" '
                    'xsi:type="p:__ExtendedStatus_Type"><p:Description xsi:nil="true"/><p:Operation>ExecQuery'
                    '</p:Operation><p:ParameterInfo>%s</p:ParameterInfo><p:ProviderName>WinMgmt</p:ProviderName>'
                    '<p:StatusCode xsi:nil="true"/></p:__ExtendedStatus>'
                    % (cim.NS_CIM, cim.WMI_PREFIX, cim.NS_XSI, esc(query[:4096])))
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
