# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinSock Proxy remote bind of KB Q222553: does the Exchange 5.5 Internet Mail Service listen on the proxy?

KB Q181420 and Q181847: with the WinSock Proxy client of Proxy Server 2.0, a ``Wspcfg.ini`` next to ``msexcimc.exe``
holding::

    [MSEXCIMC]
    ServerBindTcpPorts=25
    Persistent=1
    KillOldSession=1

makes the IMS's listen on port 25 a listen on port 25 *of the proxy server*, which is where KB Q222553 looks for the
cause. The client's global settings, with the proxy's name, are in ``Mspclnt.ini`` (default ``C:\\Mspclnt\\``, KB
Q231878: ``[Servers Ip Addresses] Name=`` and ``[Master Config] Path1=\\\\<server>\\mspclnt\\``); its application
sections apply too, and ``Wspcfg.ini`` wins over them (KB Q323457).

Both files are read with one ``type`` command in one cmd shell (WinRS: Create, Command, Receive, Signal, Delete:
five WS-Man requests), only on Exchange 5.5 hosts. ``type`` writes the files one after the other on stdout, so a file
that does not end with a line break runs into the next one's first section header; ``sections`` splits that again.
"""

from __future__ import annotations

import re

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_queries as hq, text

WSPCFG = 'Wspcfg.ini'
MSPCLNT = 'C:\\Mspclnt\\Mspclnt.ini'
CLASS = 'Wspcfg.ini'           # the name of the gap when the files cannot be read
MAX_RANGE = 65536

_HEADER = re.compile(r'^(.*?)\[([^\]\r\n]+)\]\s*$')
_MISSING = re.compile(r'Error occurred while processing: (.+?)\.?\s*$', re.MULTILINE)
_UNC_SERVER = re.compile(r'^\\\\([^\\]+)\\')
_CMD_SPECIAL = re.compile(r'[%"\r\n\x00-\x1f]')


def image_of(path_name):
    """``(directory, image name without .exe, lower case)`` of a Win32_Service PathName, or None.

    ``C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe`` and ``"C:\\a b\\x.exe" -k args`` both work.
    """
    if not isinstance(path_name, str) or not path_name.strip():
        return None
    path = path_name.strip()
    if path.startswith('"'):
        end = path.find('"', 1)
        path = path[1:end] if end > 0 else path[1:]
    else:
        lower = path.lower()
        end = lower.find('.exe')
        path = path[:end + 4] if end >= 0 else path.split()[0]
    directory, _sep, image = path.rpartition('\\')
    if not directory or not image:
        return None
    return directory, re.sub(r'\.exe$', '', image, flags=re.IGNORECASE).lower()


def cmd_argument(path):
    """A path as one cmd argument: in double quotes when it has a space; refused when cmd would not read it as is."""
    if _CMD_SPECIAL.search(path):
        raise errors.InvalidOption('the path %r cannot be given to cmd safely' % text.printable(path))
    return '"%s"' % path if ' ' in path else path


def sections(ini_text):
    """``{section (lower case): {key (lower case): value}}`` of INI text; the first value of a key wins.

    A section header glued to the end of the line before it (two files typed one after the other) starts a section.
    """
    found = {}
    current = None
    for raw in (ini_text or '').splitlines():
        line = raw.strip()
        match = _HEADER.match(line)
        if match:
            before, name = match.group(1).strip(), match.group(2).strip().lower()
            if before and current is not None:
                _add(current, before)
            current = found.setdefault(name, {})
            continue
        if current is not None:
            _add(current, line)
    return found


def _add(section, line):
    if not line or line.startswith(';') or '=' not in line:
        return
    key, _sep, value = line.partition('=')
    section.setdefault(key.strip().lower(), value.strip())


def tcp_ports(value):
    """The ports of a ``ServerBindTcpPorts`` value (``25``, ``25,110``, ``0,1025-5000``) as a sorted list."""
    ports = set()
    for part in (value or '').split(','):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition('-')
        try:
            first, last = int(low), int(high) if sep else int(low)
        except ValueError:
            continue
        if 0 <= first <= last <= 65535 and last - first < MAX_RANGE:
            ports.update(range(first, last + 1))
    return sorted(ports)


def _flag(value):
    if value is None:
        return None
    return value.strip() == '1'


def proxy_name(found):
    """``(name, where it was read)`` of the WinSock Proxy server the client uses, or ``(None, None)``."""
    name = (found.get('servers ip addresses') or {}).get('name')
    if name:
        return name, 'Mspclnt.ini [Servers Ip Addresses] Name'
    match = _UNC_SERVER.match((found.get('master config') or {}).get('path1') or '')
    if match:
        return match.group(1), 'Mspclnt.ini [Master Config] Path1'
    return None, None


def settings(typed, image, files, missing=()):
    """The remote bind of ``image`` from the typed files: ``{configured, ports, proxy, ...}`` (see module doc)."""
    found = sections(typed)
    app = found.get(image) or {}
    disabled = _flag(app.get('disable')) is True
    ports = [port for port in tcp_ports(app.get('serverbindtcpports')) if port]
    name, source = proxy_name(found)
    return {
        'application': image,
        'files': list(files),
        'missing': list(missing),
        'configured': bool(ports) and not disabled,
        'ports': ports,
        'persistent': _flag(app.get('persistent')),
        'kill_old_session': _flag(app.get('killoldsession')),
        'disabled': disabled,
        'proxy': text.printable(name) if name else None,
        'proxy_source': source,
    }


def read(client, path_name, gaps):
    """The remote bind of the service whose PathName is ``path_name``, read with one ``type``; None when the path gives
    no file to read. A shell the host refuses is a gap (``gaps``), not a failure."""
    image = image_of(path_name)
    if image is None:
        return None
    directory, name = image
    files = [directory + '\\' + WSPCFG, MSPCLNT]
    try:
        arguments = [cmd_argument(path) for path in files]
    except errors.InvalidOption as exc:
        gaps.append({'class': CLASS, 'error': exc.msg})
        return None
    try:
        _code, stdout, stderr = client.run_command('type', arguments)
    except errors.WSManFault as exc:
        gaps.append(hq.gap(CLASS, exc))
        return None
    missing = [text.printable(item.strip()) for item in _MISSING.findall(stderr or '')]
    return settings(stdout, name, files, missing)
