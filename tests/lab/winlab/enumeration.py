# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""WS-Enumeration (DSP0226 section 8): Enumerate, Pull and Release over the WMI plug-in."""
from __future__ import annotations

import itertools
import time

from winlab import cim, wmi
from winlab.soap import END, ENV_ENUM, NS_N, NS_W, WQL_DIALECT, ENUMERATION_TIMEOUT, MAX_CONTEXTS, envelope, \
    header, new_uuid


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


def first_batch(host, max_elements):
    """How many items an optimized EnumerateResponse may carry (the envelope budget may cut it further).

    WinRM 2.0 and later (Server 2008 on) answer with the first item only, whatever MaxElements asks (32000 in the
    txwinrm Server 2008/2012 captures: 1 item, the rest by Pull); a one-item result therefore comes whole with
    EndOfSequence (the Win32_OperatingSystem and Win32_ComputerSystem captures). WinRM 1.1 on Server 2003 R2 answered
    the whole result within MaxElements (the txwinrm Server 2003 capture: 104 services and EndOfSequence).
    """
    if cim.os_version(host.spec.os)[0].startswith('5.'):
        return max_elements
    return 1


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
    ctx_id = 'uuid:' + new_uuid()
    contexts[ctx_id] = {'items': items, 'pos': pos, 'expires': now + ENUMERATION_TIMEOUT}
    return ctx_id


def do_enumerate(ctx):
    req = ctx.req
    namespace, class_name = wmi.split_wmi_uri(req.resource_uri)
    if namespace is None:
        raise ctx.invalid_resource_uri()
    wmi.check_namespace(ctx, namespace)
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
    items = wmi.query_items(ctx, namespace, class_name, query_text)
    optimize = enum.find('{%s}OptimizeEnumeration' % NS_W) is not None
    budget = req.envelope_budget()
    head = ENV_ENUM + header(NS_N + '/EnumerateResponse', req.message_id)
    if not optimize:
        ctx_id = _store_context(ctx.host, items, 0)
        return head + '<s:Body><n:EnumerateResponse><n:EnumerationContext>%s</n:EnumerationContext>' \
                      '</n:EnumerateResponse>' % ctx_id + END
    count = _take(items, 0, first_batch(ctx.host, _int_child(enum, NS_W, 'MaxElements', 1)), budget, len(head) + 200)
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
    head = ENV_ENUM + header(NS_N + '/PullResponse', ctx.req.message_id)
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
    return envelope(ENV_ENUM, NS_N + '/ReleaseResponse', ctx.req.message_id, '')
