# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SMTP greeting as proof on the wire: connect, read the 220 reply, say QUIT, and whose software the text names.

KB Q146157: when another program holds port 25, the Internet Mail Connector "may start without error" and accept no
mail; the check it gives is to connect to port 25 and compare the greeting with the one expected. WMI says which
process owns the socket; the greeting says who answers a client, and the two can differ (a filter driver or an
antivirus mail proxy that takes the connections over).

Only the greeting is read: the check sends ``QUIT`` and nothing else, never a mail command. Every wait is bounded: the
connection and the greeting together within ``timeout`` seconds, the answer to ``QUIT`` at most ``QUIT_WAIT`` more.
"""

from __future__ import annotations

import re
import socket
import time

from ansible_collections.mailops.port25.plugins.module_utils import diagnosis, errors, text

QUIT_WAIT = 2.0
MAX_REPLY_BYTES = 4096     # a greeting is one line, or a few (220-...); more is not a greeting
MAX_TIMEOUT = 120
MAX_PATTERN = 1000

# Whose software a greeting names, tried in order. The texts are the ones each product sends:
# the Exchange 4.0-5.5 Internet Mail Service (Connector in 4.0) names itself; the IIS SMTP service, which is also the
# Exchange 2000/2003 transport, says "Microsoft ESMTP MAIL Service, Version: <version> ready at <date>" (KB Q254560);
# Exchange 2007 and later say "Microsoft ESMTP MAIL Service ready at <date>", without a version.
SOFTWARE = (
    ('exchange55_ims', 'the Microsoft Exchange Internet Mail Service (Exchange 4.0-5.5)',
     re.compile(r'Microsoft Exchange Internet Mail (Service|Connector)', re.IGNORECASE)),
    ('iis_smtp', 'the Microsoft SMTP Service of IIS (also the Exchange 2000/2003 transport)',
     re.compile(r'Microsoft ESMTP MAIL Service, Version:', re.IGNORECASE)),
    ('exchange_transport', 'the Microsoft Exchange transport (Exchange 2007 or later)',
     re.compile(r'Microsoft ESMTP MAIL Service ready at', re.IGNORECASE)),
)
OTHER = 'other'
SOFTWARE_NAMES = dict((key, name) for key, name, _pattern in SOFTWARE)
SOFTWARE_NAMES[OTHER] = 'another program'

# The software each mail service greets with (lower-case service name).
SERVICE_SOFTWARE = {
    'msexchangeimc': 'exchange55_ims',
    'smtpsvc': 'iis_smtp',
    'msexchangefrontendtransport': 'exchange_transport',
    'msexchangetransport': 'exchange_transport',
    'msexchangedelivery': 'exchange_transport',
}


def software_of(greeting_text):
    """The software key (``SOFTWARE`` or ``other``) a greeting text names; None for no text."""
    if not greeting_text:
        return None
    for key, _name, pattern in SOFTWARE:
        if pattern.search(greeting_text):
            return key
    return OTHER


def expected_software(service):
    """The software key the service greets with, or None when this collection does not know it."""
    return SERVICE_SOFTWARE.get(str(service or '').lower())


def check_pattern(pattern, host=None):
    """A ``greeting_pattern`` option compiled, or InvalidOption naming what is wrong (None stays None)."""
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern.strip() or len(pattern) > MAX_PATTERN:
        raise errors.InvalidOption('greeting_pattern must be a regular expression of 1 to %d characters' % MAX_PATTERN, host=host)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise errors.InvalidOption('greeting_pattern is not a valid regular expression: %s' % exc, host=host) from None


def check_timeout(timeout, host=None):
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
        raise errors.InvalidOption('greeting_timeout must be a number of seconds from 1 to %d, got %r' % (MAX_TIMEOUT, timeout), host=host)
    return timeout


def _reply(sock, deadline, clock):
    """Read one SMTP reply (its lines up to the one with a space after the code): ``(code, text)``.

    Raises socket.timeout when the deadline passes, ConnectionError when the peer closes first, ValueError when what
    arrives is not an SMTP reply.
    """
    data = b''
    while True:
        lines = data.split(b'\r\n')
        for index, line in enumerate(lines[:-1]):
            if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in (b' ', b'-', b''):
                raise ValueError('not an SMTP reply')
            if line[3:4] != b'-':
                text_lines = [part[4:].decode('utf-8', 'replace') for part in lines[:index + 1]]
                return int(line[:3]), '\n'.join(text_lines)
        if len(data) > MAX_REPLY_BYTES:
            raise ValueError('more than %d bytes without a complete reply' % MAX_REPLY_BYTES)
        left = deadline - clock()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        chunk = sock.recv(1024)
        if not chunk:
            raise ConnectionError('the connection was closed before a complete reply')
        data += chunk


def read_greeting(address, port, timeout, connect=socket.create_connection, clock=time.monotonic):
    """Connect to ``address:port``, read the greeting, say QUIT. Never raises for what the peer does.

    Returns ``{address, port, code, text, software, software_name, error}``: ``error`` is None when a 220 greeting
    was read, else why not (refused, timed out, closed, not SMTP, not ready); ``text`` is made printable.
    """
    result = {'address': address, 'port': port, 'code': None, 'text': None, 'software': None, 'software_name': None, 'error': None}
    deadline = clock() + timeout
    try:
        sock = connect((address, port), timeout)
    except socket.timeout:
        result['error'] = 'no connection within %s s' % timeout
        return result
    except OSError as exc:
        result['error'] = 'cannot connect: %s' % (exc.strerror or exc)
        return result
    try:
        code, greeting = _reply(sock, deadline, clock)
        result['code'], result['text'] = code, text.printable(greeting)
        if code == 220:
            result['software'] = software_of(greeting)
            result['software_name'] = SOFTWARE_NAMES[result['software']]
        else:
            result['error'] = 'the server answered %d, not 220 (service ready)' % code
        _quit(sock, clock)
    except socket.timeout:
        result['error'] = 'connected, but no greeting within %s s' % timeout
    except ValueError as exc:
        result['error'] = 'connected, but the answer is not an SMTP greeting (%s)' % exc
    except OSError as exc:
        result['error'] = 'connected, but %s' % (exc.strerror or exc)
    finally:
        sock.close()
    return result


def _quit(sock, clock):
    """Say QUIT and wait briefly for the 221; a server that does not answer is not our concern any more."""
    try:
        sock.sendall(b'QUIT\r\n')
        _reply(sock, clock() + QUIT_WAIT, clock)
    except (OSError, ValueError):
        pass


def judge(greeting, expected, pattern=None):
    """Does the greeting name the expected software? True, False, or None when there is nothing to compare.

    ``pattern`` (a compiled ``greeting_pattern``) replaces the software comparison: customised banners (KB 281224)
    no longer name the product.
    """
    if not greeting or greeting.get('error') or greeting.get('text') is None:
        return None
    if pattern is not None:
        return bool(pattern.search(greeting['text']))
    if expected is None:
        return None
    return greeting.get('software') == expected


def evidence(greeting, expected, pattern=None):
    """The ``greeting`` of a port entry: what was read, what was expected, and whether they match."""
    if pattern is not None:
        expected_name = 'a greeting matching greeting_pattern %r' % pattern.pattern
    else:
        expected_name = SOFTWARE_NAMES.get(expected) if expected else None
    return dict(greeting, expected=expected, expected_name=expected_name, matches=judge(greeting, expected, pattern))


def findings(entries):
    """The greeting findings of port entries whose owner, as WMI says, is the expected service (verdict ``ok``).

    Another program's greeting there is KB Q146157's silent conflict (an error); a connection that gives no greeting
    is an error too (something takes the connections and does not speak SMTP); a port the controller cannot reach is
    only a warning (a firewall between the controller and the host says nothing about the host).
    """
    out = []
    for entry in entries:
        greeting = entry.get('greeting')
        if not greeting or entry.get('verdict') != 'ok':
            continue
        where = 'TCP port %s%s' % (entry['port'], ' of %s' % entry['host'] if entry.get('host') else '')
        holder = entry.get('service') or 'the expected service'
        if greeting['matches'] is False:
            item = diagnosis.finding(
                'GREETING_OTHER_PROGRAM', 'error',
                '%s answers "%s", which is %s, not %s. WMI shows %s holding the port, but another program answers the '
                'connections (KB Q146157: the mail service may start without error and still accept no mail).'
                % (where, greeting['text'], SOFTWARE_NAMES.get(greeting.get('software'), 'no known greeting'),
                   greeting['expected_name'], holder), diagnosis.KB_STEP_OTHER)
        elif greeting.get('error') and greeting['error'].startswith('connected'):
            item = diagnosis.finding(
                'GREETING_MISSING', 'error', '%s accepts connections but gives no SMTP greeting (%s), although WMI shows %s '
                'holding it: no mail can be accepted there (KB Q146157).' % (where, greeting['error'], holder), diagnosis.KB_STEP_OTHER)
        elif greeting.get('error'):
            item = diagnosis.finding(
                'GREETING_UNREADABLE', 'warning', 'The greeting of %s could not be read from the controller (%s); WMI shows %s '
                'holding it. Set greeting=false where the controller may not reach the host\'s mail ports.'
                % (where, greeting['error'], holder), None)
        else:
            continue
        item['port'] = entry['port']
        if entry.get('host'):
            item['host'] = entry['host']
        out.append(item)
    return out
