# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WMI side of the WS-Man plug-in: resource URIs, namespaces, access checks, queries and instances."""
from __future__ import annotations

from winlab import cim, eventlog, wql
from winlab.soap import DEFAULT_TIMEOUT

# namespaces whose classes are served by MI providers, which report errors as MSFT_WmiError in their own namespace
MI_NAMESPACES = frozenset(('root/standardcimv2',))


def split_wmi_uri(uri):
    """'.../wmi/root/cimv2/*' -> ('root/cimv2', None); '.../wmi/root/cimv2/Win32_Service' -> (ns, 'Win32_Service')."""
    namespace, last = wmi_path(uri)
    return (namespace.lower() if namespace else None), last


def wmi_path(uri):
    """The namespace as the client spelled it and the class name (None for '*')."""
    if not uri.lower().startswith(cim.WMI_PREFIX):
        return None, None
    path = uri[len(cim.WMI_PREFIX):].strip('/')
    if '/' not in path:
        return None, None
    namespace, last = path.rsplit('/', 1)
    return namespace, (None if last == '*' else last)


def check_namespace(ctx, namespace):
    if namespace == 'root/cimv2' or (namespace == 'root/standardcimv2' and ctx.host.spec.has_standardcimv2):
        denied = {n.lower() for n in ctx.host.spec.faults.get('access_denied_namespaces') or []}
        if namespace in denied:
            # the account lacks Remote Enable on the namespace: refused at ConnectServer
            raise ctx.access_denied('connect')
        return
    raise ctx.invalid_namespace(namespace)


def check_access(ctx, class_name):
    denied = {c.lower() for c in ctx.host.spec.faults.get('access_denied_classes') or []}
    if class_name and class_name.lower() in denied:
        # an MI provider refuses for itself; the classic providers' refusals come from the WMI service
        raise ctx.access_denied('provider' if ctx.is_mi_request() else 'service')


def query_items(ctx, namespace, class_name, query_text):
    """Run the enumeration; returns the rendered items (a slow query sets ctx.delay, the seconds WMI spent)."""
    host = ctx.host
    selected = None
    if query_text is not None:
        try:
            query = wql.parse(query_text)
        except wql.WQLError as exc:
            raise ctx.cannot_process_filter(query_text, ctx.text('invalid_query', problem=exc)) from None
        cls = cim.find_class(namespace, query.class_name)
        if class_name is not None and cls is not None and cls.name.lower() != class_name.lower():
            cls = None
        if cls is None:
            raise ctx.cannot_process_filter(query_text, ctx.text('class_not_found'))
        check_access(ctx, cls.name)
        schema = cim.wql_schema(cls, host)
        try:
            names = schema.types.keys() if query.properties is None else {schema.resolve(p) for p in query.properties}
            predicate = wql.compile_where(query, schema)
        except wql.WQLError as exc:
            raise ctx.cannot_process_filter(query_text, ctx.text('invalid_query', problem=exc)) from None
        ordered = [n for n in cls.prop_names(host) if n in names]
        typed = query.properties is None
        selected = _select(ctx, cls, query, schema, query_text)
    else:
        cls = cim.find_class(namespace, class_name or '')
        if cls is None:
            raise ctx.not_found(class_name or '*', operation='EnumerateInstances')
        check_access(ctx, cls.name)
        predicate = None
        ordered = cls.prop_names(host)
        typed = True
    render = cls.render_typed if typed else cls.render_fragment
    spelled = wmi_path(ctx.req.resource_uri)[0]
    # rendered per request: a per-host cache of rendered items cost ~180 KB per host for a 2x gain only on
    # repeated identical queries, which a fleet run rarely makes
    instances = cls.instances(host) if selected is None else selected
    return [render(inst, ordered, spelled) for inst in instances if predicate is None or predicate(inst)]


def _select(ctx, cls, query, schema, query_text):
    """The instances a query makes the provider read; the event log's cost and refusals (winlab.eventlog)."""
    try:
        # WinRM never lets an operation run longer than MaxTimeoutms, whatever the client asks for
        timeout = min(ctx.req.operation_timeout(), DEFAULT_TIMEOUT)
        instances, ctx.delay = cls.select(ctx.host, query, schema, timeout)
    except eventlog.Refusal as refusal:
        if refusal.kind == 'timeout':
            raise ctx.timed_out(refusal.delay) from None
        if refusal.kind == 'quota':
            raise ctx.event_log_quota(refusal.delay) from None
        raise ctx.privilege_not_held(query_text) from None
    return instances


def instance_by_selectors(ctx, cls):
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
