# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WS-Man dispatcher (early contract version: Enumerate of Win32_Service only)."""
from __future__ import annotations

import dataclasses
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

NS_S = 'http://www.w3.org/2003/05/soap-envelope'
NS_A = 'http://schemas.xmlsoap.org/ws/2004/08/addressing'
NS_W = 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
ENUMERATE = 'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate'


@dataclasses.dataclass
class Reply:
    status: int
    body: bytes
    delay: float = 0.0
    action: str = ''
    resource_uri: str = ''


def handle(host, body):
    try:
        root = ET.fromstring(body)
        header = root.find('{%s}Header' % NS_S)
        action = header.findtext('{%s}Action' % NS_A, '').strip()
        uri = header.findtext('{%s}ResourceURI' % NS_W, '').strip()
        msgid = header.findtext('{%s}MessageID' % NS_A, '').strip()
    except Exception:  # pylint: disable=broad-except
        return Reply(400, b'', action='')
    if action != ENUMERATE:
        return Reply(500, b'<s:Envelope xmlns:s="%s"/>' % NS_S.encode(), action=action, resource_uri=uri)
    items = ''.join(
        '<p:Win32_Service xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Service" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="p:Win32_Service_Type">'
        '<p:Name>%s</p:Name><p:State>%s</p:State></p:Win32_Service>' % (escape(s['name']), s['state'].title())
        for s in host.services.values())
    out = ('<s:Envelope xmlns:s="%s" xmlns:a="%s" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
           'xmlns:w="%s"><s:Header><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>'
           '<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/EnumerateResponse</a:Action>'
           '<a:MessageID>uuid:%s</a:MessageID><a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>'
           '<n:EnumerateResponse><n:EnumerationContext></n:EnumerationContext><w:Items>%s</w:Items>'
           '<w:EndOfSequence/></n:EnumerateResponse></s:Body></s:Envelope>'
           % (NS_S, NS_A, NS_W, str(uuid.uuid4()).upper(), escape(msgid), items))
    return Reply(200, out.encode('utf-8'), action=action, resource_uri=uri)
