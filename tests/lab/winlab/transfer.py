# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WS-Transfer Get and the WMI method Invoke (Win32_Service StopService, StartService, ChangeStartMode)."""
from __future__ import annotations

from winlab import cim, wmi
from winlab.soap import ENV_TRANSFER, NS_X, envelope, esc


def _class_of(ctx):
    namespace, class_name = wmi.split_wmi_uri(ctx.req.resource_uri)
    if namespace is None or class_name is None:
        raise ctx.invalid_resource_uri()
    wmi.check_namespace(ctx, namespace)
    cls = cim.find_class(namespace, class_name)
    if cls is None:
        raise ctx.not_found(class_name, operation='GetObject')
    wmi.check_access(ctx, cls.name)
    return cls


def do_get(ctx):
    cls = _class_of(ctx)
    inst = wmi.instance_by_selectors(ctx, cls)
    body = cls.render_typed(inst, cls.prop_names(ctx.host), wmi.wmi_path(ctx.req.resource_uri)[0])
    return envelope(ENV_TRANSFER, NS_X + '/GetResponse', ctx.req.message_id, body)


METHODS = ('StopService', 'StartService', 'ChangeStartMode')


def do_invoke(ctx, method):
    cls = _class_of(ctx)
    if cls.name != 'Win32_Service' or method not in METHODS:
        raise ctx.action_not_supported()
    inst = wmi.instance_by_selectors(ctx, cls)
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
            % (method, cim.NS_XSI, esc(uri), cim.NS_CIM, rc, method))
    return envelope(ENV_TRANSFER, '%s/%sResponse' % (esc(uri), method), ctx.req.message_id, body)


def _method_param(ctx, cls, method, param):
    """A method input parameter: <p:METHOD_INPUT xmlns:p="class URI"><p:PARAM>..; None when absent."""
    for elem in ctx.req.body:
        if elem.tag.lower() == ('{%s}%s_INPUT' % (cls.uri, method)).lower():
            for child in elem:
                if child.tag.lower() == ('{%s}%s' % (cls.uri, param)).lower():  # the class URI, any case
                    return (child.text or '').strip()
    return None
