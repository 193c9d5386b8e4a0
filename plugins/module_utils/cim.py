# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of WS-Management responses (pure: bytes in, Python values out).

Elements are found by namespace URI and local name, never by prefix: Windows
versions and other servers choose prefixes freely.

Instance values (``parse_instance``):

* every property is keyed by its local element name; ``__class__`` holds the
  class name (the item element's name for typed items, ``class_hint`` for
  ``<w:XmlFragment>`` items, which do not name their class);
* ``xsi:nil="true"`` -> ``None``; an empty element -> ``''``; text is kept verbatim;
* a property element that appears more than once -> ``list`` of its values in
  document order. WS-Man renders arrays as repeated elements, so a one-element
  array is indistinguishable from a scalar and is returned as a scalar: use
  ``as_list()`` where an array is expected;
* ``<cim:Datetime>`` / ``<cim:Interval>`` / ``<cim:Date>`` / ``<cim:Time>`` wrappers -> their
  text (ISO 8601 as sent by Windows, e.g. ``2013-04-15T16:28:47.73517Z``); use
  ``to_utc_iso()`` to normalise;
* any other nested element (embedded object, reference) -> ``dict`` built with
  the same rules.
"""

from __future__ import annotations

import codecs
import datetime
import io
import re
import xml.etree.ElementTree as ET

from ansible_collections.mailops.port25.plugins.module_utils.errors import ProtocolError, WSManFault

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_ENUMERATION = "http://schemas.xmlsoap.org/ws/2004/09/enumeration"
NS_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_WSMANFAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_CIM = "http://schemas.dmtf.org/wbem/wscim/1/common"
NS_WMIERROR = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"
NS_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
WMI_RESOURCE_BASE = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"

# Conventional prefixes, used only to *render* a fault subcode QName after resolving it by URI.
_CANONICAL_PREFIX = {
    NS_SOAP: "s",
    NS_ADDRESSING: "a",
    NS_ENUMERATION: "n",
    NS_TRANSFER: "x",
    NS_WSMAN: "w",
    NS_MS_WSMAN: "p",
    NS_SHELL: "rsp",
}

_NIL = "{%s}nil" % NS_XSI
_WRAPPERS = ("Datetime", "Interval", "Date", "Time")
_SELECTOR_SET = "{%s}SelectorSet" % NS_WSMAN
_SELECTOR = "{%s}Selector" % NS_WSMAN


def _q(ns, local):
    return "{%s}%s" % (ns, local)


def local_name(tag):
    """Local part of an ElementTree tag (``{uri}name`` -> ``name``)."""
    return tag.rpartition("}")[2]


def namespace_of(tag):
    """Namespace URI of an ElementTree tag ('' when unqualified)."""
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


# Encoding of a document from its first bytes (XML 1.0 appendix F): byte order marks, then the pattern of '<' without one.
# UTF-32 comes first: its little-endian mark starts with UTF-16's.
_SNIFF = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    # Without a declaration, too: expat reads any document starting with '<' and a zero byte as UTF-16.
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
)
# DSP0226 (R13.1-1): a WS-Management message is UTF-8 or UTF-16; an 8-bit document may only declare UTF-8 (or its ASCII subset).
_EIGHT_BIT = ("utf-8", "utf8", "us-ascii", "ascii")
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


# Characters XML 1.0 cannot carry (section 2.2), raw or as a character reference (WFC Legal Character): C0 controls but tab,
# LF and CR, surrogates, U+FFFE and U+FFFF. A host may still send one in a value (a process name, an event message).
_CHAR_REF = re.compile(r"&#(?:x([0-9A-Fa-f]{1,8})|([0-9]{1,10}));")
_CHAR_REF_BYTES = re.compile(_CHAR_REF.pattern.encode("ascii"))
_ILLEGAL_RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# In UTF-8 a C0 control is one byte that no multi-byte sequence contains; U+FFFE/U+FFFF are EF BF BE/BF.
_ILLEGAL_RAW_BYTES = re.compile(b"[\x00-\x08\x0b\x0c\x0e-\x1f]|\xef\xbf[\xbe\xbf]")
_C0_BYTES = bytes(c for c in range(0x20) if c not in (0x9, 0xA, 0xD))
REPLACEMENT = "\ufffd"
#: key of an item (parse_enumeration, parse_get) naming the properties in which REPLACEMENT stands for such characters
REPLACED_KEY = "__replaced__"


def _legal(match):
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _illegal_references(pattern, document, replacement):
    """(document, count) with every character reference to a character XML cannot carry replaced by ``replacement``."""
    count = [0]

    def fix(match):
        if _legal(match):
            return match.group()
        count[0] += 1
        return replacement
    return pattern.sub(fix, document), count[0]


def _legal_characters(data, codec):
    """(document, count): every character XML 1.0 cannot carry replaced by U+FFFD, so that one bad value does not
    make the whole answer unreadable. ``data`` is bytes in ``codec`` ('' for UTF-8)."""
    if codec:
        text, raw = _ILLEGAL_RAW.subn(REPLACEMENT, data.decode(codec, "surrogatepass"))
        text, refs = _illegal_references(_CHAR_REF, text, "&#xFFFD;")
        return (text.encode(codec, "surrogatepass") if raw or refs else data), raw + refs
    raw = refs = 0
    # On a clean answer translate() and one-byte tests (memchr) take a tenth of the regular expressions' time.
    if len(data.translate(None, _C0_BYTES)) != len(data) or \
            (b"\xef" in data and (b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data)):
        data, raw = _ILLEGAL_RAW_BYTES.subn(REPLACEMENT.encode("utf-8"), data)
    if b"#" in data and b"&#" in data:
        data, refs = _illegal_references(_CHAR_REF_BYTES, data, b"&#xFFFD;")
    return data, raw + refs


def _sniffed(data):
    """The codec a document is written in, by its first bytes ('' for an 8-bit encoding)."""
    for prefix, codec in _SNIFF:
        if data.startswith(prefix):
            return codec
    return ""


def parse_xml(data):
    """Parse a response body; refuse DTDs (entity expansion) in any encoding, and malformed XML, with ProtocolError.

    The DTD check reads the document in its own encoding: a UTF-16 or UTF-32 ``<!ENTITY`` has no 8-bit spelling.
    Characters XML cannot carry are replaced by U+FFFD (see ``_parse``, which also tells how many).
    """
    return _parse(data)[0]


def _parse(data):
    """(root element, number of characters XML cannot carry that were replaced by U+FFFD)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    codec = _sniffed(data)
    if codec:
        text = data.decode(codec, "replace")
    else:
        declared = _DECLARED.match(data[:200])
        if declared and declared.group(1).decode("ascii", "replace").lower() not in _EIGHT_BIT:
            raise ProtocolError("the response declares the encoding %r; WS-Management responses are UTF-8 or UTF-16, "
                                "refusing to parse it" % declared.group(1).decode("ascii", "replace"))
        text = data
    if ("<!DOCTYPE" if codec else b"<!DOCTYPE") in text or ("<!ENTITY" if codec else b"<!ENTITY") in text:
        raise ProtocolError("the response contains a DTD%s, which WS-Management never sends; refusing to parse it"
                            % (" (in %s)" % codec.upper().replace("-SIG", "") if codec else ""))
    if codec.startswith("utf-32"):
        raise ProtocolError("the response is in UTF-32; WS-Management responses are UTF-8 or UTF-16, refusing to parse it")
    data, replaced = _legal_characters(data, codec)
    try:
        return ET.fromstring(data), replaced
    except ET.ParseError as exc:
        raise ProtocolError("the response is not well-formed XML (%s)" % exc)


def _body(root):
    if root.tag != _q(NS_SOAP, "Envelope"):
        raise ProtocolError("the response is not a SOAP 1.2 envelope (root element %s)" % local_name(root.tag))
    body = root.find(_q(NS_SOAP, "Body"))
    if body is None:
        raise ProtocolError("the SOAP envelope has no Body")
    return body


def _first_child(elem):
    for child in elem:
        return child
    return None


def _text_of(elem):
    return "" if elem is None or elem.text is None else elem.text


# ---------------------------------------------------------------------------------------------- values

def _value(elem):
    if elem.get(_NIL) in ("true", "1"):
        return None
    if elem.tag == _SELECTOR_SET:
        # A reference (EPR) property: the selectors' keys live in their Name attributes, and there may be
        # several (a second key, or __cimnamespace), so they become a dict {key: value}.
        return dict((child.get("Name"), _text_of(child)) for child in elem if child.tag == _SELECTOR)
    children = list(elem)
    if not children:
        return _text_of(elem)
    if len(children) == 1 and local_name(children[0].tag) in _WRAPPERS and namespace_of(children[0].tag) in (NS_CIM, ""):
        return _text_of(children[0]).strip()
    return _properties(children)


def _properties(elements):
    props = {}
    repeated = set()
    for child in elements:
        name = local_name(child.tag)
        value = _value(child)
        if name in props:
            if name not in repeated:
                props[name] = [props[name]]
                repeated.add(name)
            props[name].append(value)
        else:
            props[name] = value
    return props


def parse_instance(elem, class_hint=None):
    """Turn one item element (typed instance or ``w:XmlFragment``) into a dict (see module doc)."""
    props = _properties(list(elem))
    if elem.tag == _q(NS_WSMAN, "XmlFragment"):
        class_name = class_hint
    else:
        class_name = local_name(elem.tag)
    result = {"__class__": class_name}
    result.update(props)
    return result


def to_int(value):
    """A CIM integer (its text) as int; None for nil, empty or anything that is not an integer."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_list(value):
    """A property value as a list: None -> [], scalar -> [scalar], list -> list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$")
_DMTF_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$")


def to_datetime(value):
    """Parse an ISO 8601 (as WS-Man sends) or DMTF datetime string into an aware UTC datetime; None if not one."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    match = _ISO_RE.match(value)
    if match:
        year, month, day, hour, minute, second, frac, zone = match.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        offset = datetime.timedelta(0)
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    else:
        match = _DMTF_RE.match(value)
        if not match:
            return None
        year, month, day, hour, minute, second, frac, sign, minutes = match.groups()
        micro = int(frac)
        offset = (-1 if sign == "-" else 1) * datetime.timedelta(minutes=int(minutes))
    try:
        naive = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError:
        return None
    return (naive - offset).replace(tzinfo=datetime.timezone.utc)


def to_utc_iso(value):
    """Normalise a datetime string to ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds); None if unparseable."""
    parsed = to_datetime(value)
    if parsed is None:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------- faults

def _nsmap(data):
    """prefix -> URI for every namespace declaration in the document (needed to resolve QName text)."""
    mapping = {}
    try:
        for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            mapping.setdefault(prefix, uri)
    except ET.ParseError:
        pass
    return mapping


def _resolve_qname(text, nsmap):
    text = (text or "").strip()
    if not text:
        return None
    prefix, sep, local = text.rpartition(":")
    if not sep:
        return local
    uri = nsmap.get(prefix)
    canonical = _CANONICAL_PREFIX.get(uri)
    return "%s:%s" % (canonical or prefix, local)


def _clean(text):
    return " ".join(text.split()) if text else None


def fault_info(data, root=None):
    """Details of a SOAP fault as a dict, or None when the document is not a fault.

    Keys: ``code`` (e.g. ``s:Sender``), ``subcode`` (e.g. ``w:TimedOut``, prefix
    resolved by URI), ``reason``, ``wsman_code`` (int or None), ``machine``,
    ``provider_message`` (the innermost WSManFault/MSFT_WmiError message),
    ``provider``, ``fault_detail`` (the w:FaultDetail URI), ``extended_status`` (the WMI
    ``__ExtendedStatus`` properties, e.g. ``{'Operation': 'ExecQuery', 'ParameterInfo': ..., 'ProviderName': ...}``)
    and ``cim_status`` (the CIMStatusCode of an MSFT_WmiError detail, in any namespace). With only an
    MSFT_WmiError detail (MI providers, newer quota faults), its ``error_Code`` is the ``wsman_code`` and its
    ``Message`` the ``provider_message``.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if root is None:
        root = parse_xml(data)
    if root.tag != _q(NS_SOAP, "Envelope"):
        return None
    fault = root.find("%s/%s" % (_q(NS_SOAP, "Body"), _q(NS_SOAP, "Fault")))
    if fault is None:
        return None
    nsmap = _nsmap(data)
    code_value = fault.find("%s/%s" % (_q(NS_SOAP, "Code"), _q(NS_SOAP, "Value")))
    sub_value = fault.find("%s/%s/%s" % (_q(NS_SOAP, "Code"), _q(NS_SOAP, "Subcode"), _q(NS_SOAP, "Value")))
    reason = fault.find("%s/%s" % (_q(NS_SOAP, "Reason"), _q(NS_SOAP, "Text")))
    info = {
        "code": _resolve_qname(_text_of(code_value), nsmap),
        "subcode": _resolve_qname(_text_of(sub_value), nsmap),
        "reason": _clean(_text_of(reason)),
        "wsman_code": None,
        "machine": None,
        "provider_message": None,
        "provider": None,
        "fault_detail": None,
        "extended_status": None,
        "cim_status": None,
    }
    detail = fault.find(_q(NS_SOAP, "Detail"))
    if detail is None:
        return info
    fault_detail = detail.find(_q(NS_WSMAN, "FaultDetail"))
    if fault_detail is not None:
        info["fault_detail"] = _clean(fault_detail.text)
    outer = detail.find(_q(NS_WSMANFAULT, "WSManFault"))
    if outer is not None:
        info["wsman_code"] = to_int(outer.get("Code"))
        info["machine"] = outer.get("Machine")
        message = outer.find(_q(NS_WSMANFAULT, "Message"))
        if message is not None:
            provider = message.find(_q(NS_WSMANFAULT, "ProviderFault"))
            if provider is not None:
                info["provider"] = provider.get("provider")
                inner = provider.find("%s/%s" % (_q(NS_WSMANFAULT, "WSManFault"), _q(NS_WSMANFAULT, "Message")))
                info["provider_message"] = _clean("".join(inner.itertext()) if inner is not None else "".join(provider.itertext()))
            else:
                info["provider_message"] = _clean("".join(message.itertext()))
    for elem in detail.iter():
        if local_name(elem.tag) == "__ExtendedStatus":
            info["extended_status"] = _properties(list(elem))
            break
    wmi_error = _wmi_error(detail)
    if wmi_error is not None:
        ns = namespace_of(wmi_error.tag)
        info["cim_status"] = to_int(_text_of(wmi_error.find(_q(ns, "CIMStatusCode"))))
        if info["wsman_code"] is None:
            info["wsman_code"] = to_int(_text_of(wmi_error.find(_q(ns, "error_Code"))))
        if not info["provider_message"]:
            info["provider_message"] = _clean(_text_of(wmi_error.find(_q(ns, "Message"))))
    return info


def _wmi_error(detail):
    """The MSFT_WmiError of a fault detail, in whatever namespace it is: the DMTF cim-schema one (WinRM's own
    errors) or the provider's WMI namespace, e.g. ``.../wmi/root/standardcimv2/MSFT_WmiError`` (MI providers)."""
    for elem in detail.iter():
        if local_name(elem.tag) == "MSFT_WmiError":
            return elem
    return None


def fault_from_info(info, host=None, operation=None):
    """Build the WSManFault exception for ``fault_info()`` output."""
    return WSManFault(
        info.get("reason") or "(no reason given)",
        host=host,
        operation=operation,
        fault_code=info.get("subcode") or info.get("code"),
        wsman_code=info.get("wsman_code"),
        provider_message=info.get("provider_message"),
        extended_status=info.get("extended_status"),
        cim_status=info.get("cim_status"),
    )


def raise_for_fault(data, root=None, host=None, operation=None):
    """Raise WSManFault when ``data`` is a SOAP fault."""
    info = fault_info(data, root)
    if info is not None:
        raise fault_from_info(info, host=host, operation=operation)


def _checked_body(data):
    """(SOAP Body, whether characters were replaced) of an answer that is not a fault."""
    root, replaced = _parse(data)
    raise_for_fault(data, root)
    return _body(root), replaced


def _replaced_in(props, prefix=""):
    """Names (dotted for embedded objects) of the properties whose value holds REPLACEMENT."""
    names = []
    for name, value in props.items():
        if name.startswith("__"):
            continue
        if isinstance(value, dict):
            names.extend(_replaced_in(value, prefix + name + "."))
        elif any(isinstance(v, str) and REPLACEMENT in v for v in as_list(value)):
            names.append(prefix + name)
    return names


def _flagged(item, replaced):
    """``item`` with REPLACED_KEY set when the answer had characters replaced and this item holds one."""
    names = _replaced_in(item) if replaced else None
    if names:
        item[REPLACED_KEY] = names
    return item


# ---------------------------------------------------------------------------------------------- operations

class EnumerationPage(object):
    """One EnumerateResponse or PullResponse: ``items``, ``context`` (None when finished), ``end_of_sequence``."""

    __slots__ = ("items", "context", "end_of_sequence")

    def __init__(self, items, context, end_of_sequence):
        self.items = items
        self.context = context
        self.end_of_sequence = end_of_sequence

    @property
    def finished(self):
        return self.end_of_sequence or not self.context


def parse_enumeration(data, class_hint=None):
    """Parse an EnumerateResponse or PullResponse into an EnumerationPage.

    Items may sit in ``n:Items`` (Pull) or ``w:Items`` (optimized Enumerate);
    ``EndOfSequence`` may be in either namespace too. Windows Server 2003 sends
    an empty EnumerationContext together with EndOfSequence: both mean "finished".
    """
    body, replaced = _checked_body(data)
    response = _first_child(body)
    if response is None or namespace_of(response.tag) != NS_ENUMERATION or \
            local_name(response.tag) not in ("EnumerateResponse", "PullResponse"):
        raise ProtocolError("expected an EnumerateResponse or PullResponse, got %s"
                            % (local_name(response.tag) if response is not None else "an empty body"))
    items = []
    context = None
    end = False
    for child in response:
        ns, name = namespace_of(child.tag), local_name(child.tag)
        if ns not in (NS_ENUMERATION, NS_WSMAN):
            continue
        if name == "Items":
            items.extend(_flagged(parse_instance(item, class_hint), replaced) for item in child)
        elif name == "EnumerationContext":
            context = (child.text or "").strip() or None
        elif name == "EndOfSequence":
            end = True
    return EnumerationPage(items, context, end)


def parse_get(data, class_hint=None):
    """Parse a WS-Transfer GetResponse: the body holds the bare instance."""
    body, replaced = _checked_body(data)
    instance = _first_child(body)
    if instance is None:
        raise ProtocolError("the GetResponse body is empty")
    return _flagged(parse_instance(instance, class_hint), replaced)


def parse_invoke(data):
    """Parse a WMI method response (``<p:Method_OUTPUT>``): the output parameters as a dict."""
    body = _checked_body(data)[0]
    output = _first_child(body)
    if output is None:
        raise ProtocolError("the method response body is empty")
    if not local_name(output.tag).endswith("_OUTPUT"):
        raise ProtocolError("expected <Method_OUTPUT> in the method response, got %s" % local_name(output.tag))
    return _properties(list(output))


def resource_uri(namespace, class_name="*"):
    """WMI resource URI: ``http://schemas.microsoft.com/wbem/wsman/1/wmi/<namespace>/<class or *>``."""
    return WMI_RESOURCE_BASE + namespace + "/" + class_name
