# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few commands the lab's cmd shell answers, from the same model the WMI classes read.

netstat -ano, sc query [NAME], sc qc NAME, hostname and type FILE [FILE ...] (the files a scenario gives the host),
reached directly (pywinrm run_cmd), through 'cmd /c ...', or through 'PowerShell ... -EncodedCommand <base64
UTF-16LE>' (how Ansible's winrm connection wraps ansible.builtin.raw). Anything else exits 1 with cmd.exe's "not
recognized" message on stderr.
"""
from __future__ import annotations

import base64
import binascii

from winlab import model as _model

NOT_RECOGNIZED = "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
SC_STATE = {_model.STOPPED: '1  STOPPED', _model.START_PENDING: '2  START_PENDING',
            _model.STOP_PENDING: '3  STOP_PENDING', _model.RUNNING: '4  RUNNING'}
SC_START = {'Boot': '0   BOOT_START', 'System': '1   SYSTEM_START', 'Auto': '2   AUTO_START',
            'Manual': '3   DEMAND_START', 'Disabled': '4   DISABLED'}
NETSTAT_STATES = {'Listen': 'LISTENING', 'Established': 'ESTABLISHED', 'TimeWait': 'TIME_WAIT'}
SC_NOT_FOUND = ('[SC] %s FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n\r\n')
FILE_NOT_FOUND = 'The system cannot find the file specified.\r\n'
TYPE_SYNTAX = 'The syntax of the command is incorrect.\r\n'


def run(host, command, arguments):
    """Run one command line; returns (stdout bytes, stderr bytes, exit code)."""
    with host.lock:
        host.refresh()
        words = [command] + list(arguments)
        out, err, code = _dispatch(host, words, 0)
    return out.encode('cp437', 'replace'), err.encode('cp437', 'replace'), code


def _split(line):
    return [w for w in line.replace('\t', ' ').split(' ') if w]


def _dispatch(host, words, depth):
    if not words or depth > 3:
        return '', '', 0
    head = words[0].lower()
    if head.endswith('.exe'):
        head = head[:-4]
    rest = words[1:]
    if head == 'cmd' and rest and rest[0].lower() in ('/c', '/k'):
        return _dispatch(host, _split(' '.join(rest[1:])), depth + 1)
    if head == 'powershell':
        return _powershell(host, rest, depth)
    if head == 'hostname':
        return host.hostname + '\r\n', '', 0
    if head == 'netstat':
        return _netstat(host, rest)
    if head == 'sc':
        return _sc(host, rest)
    if head == 'type':
        return _type(host, rest)
    return '', NOT_RECOGNIZED % words[0], 1


def _cmd_words(line):
    """cmd's argument splitting: spaces separate, double quotes group (and are dropped)."""
    words, current, quoted, started = [], [], False, False
    for char in line:
        if char == '"':
            quoted, started = not quoted, True
        elif char in ' \t' and not quoted:
            if started:
                words.append(''.join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        words.append(''.join(current))
    return words


def _type(host, args):
    """TYPE: each file's text on stdout, one after the other (no separator); with several files cmd names each one on
    stderr first, and a missing one is "Error occurred while processing: <file>."; exit code 1 when one was missing."""
    paths = _cmd_words(' '.join(args))
    if not paths:
        return '', TYPE_SYNTAX, 1
    files = {path.lower(): text for path, text in (host.spec.files or {}).items()}
    out, err, code = [], [], 0
    for path in paths:
        text = files.get(path.lower())
        if text is None:
            code = 1
            err.append(FILE_NOT_FOUND + ('Error occurred while processing: %s.\r\n' % path if len(paths) > 1 else ''))
            continue
        if len(paths) > 1:
            err.append('\r\n%s\r\n\r\n\r\n' % path)
        out.append(text)
    return ''.join(out), ''.join(err), code


def _powershell(host, args, depth):
    script = None
    for i, arg in enumerate(args):
        low = arg.lower()
        if low in ('-encodedcommand', '-enc', '-e') and i + 1 < len(args):
            try:
                script = base64.b64decode(args[i + 1], validate=True).decode('utf-16-le')
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return '', 'Cannot process the command because the value specified with -EncodedCommand is not ' \
                           'properly encoded. The value must be Base64 encoded.\r\n', 1
            break
        if low in ('-command', '-c') and i + 1 < len(args):
            script = ' '.join(args[i + 1:])
            break
    if script is None:
        return '', '', 0
    out, err, code = [], [], 0
    for line in script.replace('\r', '\n').split('\n'):
        words = _split(line.strip())
        if not words:
            continue
        o, e, code = _dispatch(host, words, depth + 1)
        out.append(o)
        err.append(e)
    return ''.join(out), ''.join(err), code


def _netstat(host, args):
    flags = ''.join(a.lstrip('-/').lower() for a in args)
    if not flags or any(c not in 'ano' for c in flags):
        return '', '', 1
    lines = ['', 'Active Connections', '', '  Proto  Local Address          Foreign Address        State           PID']
    for address, port, remote, rport, state, pid, _created in host.tcp_table():
        if ':' in address:
            local, foreign = '[%s]:%d' % (address, port), '[%s]:%d' % (remote, rport)
        else:
            local, foreign = '%s:%d' % (address, port), '%s:%d' % (remote, rport)
        line = '  {:<7}{:<23}{:<23}{:<16}'.format('TCP', local, foreign, NETSTAT_STATES[state])
        lines.append(line + (str(pid) if 'o' in flags else '').rstrip())
    return '\r\n'.join(lines) + '\r\n', '', 0


def _sc_type(svc):
    return '20  WIN32_SHARE_PROCESS' if svc['service_type'] == 'Share Process' else '10  WIN32_OWN_PROCESS'


def _sc_query_block(svc):
    state = svc['state']
    if state == _model.RUNNING and not svc['protected']:
        accepts = '(STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)'
    else:
        accepts = '(NOT_STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)'
    exit_code = svc['exit_code']
    return ('SERVICE_NAME: %s \r\n'
            '        TYPE               : %s  \r\n'
            '        STATE              : %s \r\n'
            '                                %s\r\n'
            '        WIN32_EXIT_CODE    : %d  (0x%x)\r\n'
            '        SERVICE_EXIT_CODE  : %d  (0x%x)\r\n'
            '        CHECKPOINT         : 0x%x\r\n'
            '        WAIT_HINT          : 0x%x\r\n'
            % (svc['name'], _sc_type(svc), SC_STATE[state], accepts, exit_code, exit_code,
               svc['specific_exit_code'], svc['specific_exit_code'], svc['checkpoint'], svc['wait_hint']))


def _sc(host, args):
    if not args:
        return 'DESCRIPTION:\r\n        SC is a command line program used for communicating with the\r\n' \
               '        Service Control Manager and services.\r\n', '', 0
    verb = args[0].lower()
    if verb == 'query' and len(args) == 1:
        blocks = [_sc_query_block(s) for s in host.services.values() if s['state'] != _model.STOPPED]
        return '\r\n' + '\r\n'.join(blocks), '', 0
    if verb not in ('query', 'qc') or len(args) != 2:
        return '[SC] Unsupported in the lab: %s\r\n' % ' '.join(args), '', 1
    svc = host.service(args[1])
    if svc is None:
        api = 'EnumQueryServicesStatus:OpenService' if verb == 'query' else 'OpenService'
        return SC_NOT_FOUND % api, '', 1060
    if verb == 'query':
        return '\r\n' + _sc_query_block(svc), '', 0
    start = SC_START[svc['start_mode']]
    if svc['start_mode'] == 'Auto' and svc['delayed_auto_start']:
        start += '  (DELAYED)'
    deps = svc['depends_on'] or ['']
    dep_lines = '        DEPENDENCIES       : %s\r\n' % deps[0]
    dep_lines += ''.join('                           : %s\r\n' % d for d in deps[1:])
    text = ('[SC] QueryServiceConfig SUCCESS\r\n\r\n'
            'SERVICE_NAME: %s\r\n'
            '        TYPE               : %s\r\n'
            '        START_TYPE         : %s\r\n'
            '        ERROR_CONTROL      : 1   NORMAL\r\n'
            '        BINARY_PATH_NAME   : %s\r\n'
            '        LOAD_ORDER_GROUP   : \r\n'
            '        TAG                : 0\r\n'
            '        DISPLAY_NAME       : %s\r\n'
            '%s'
            '        SERVICE_START_NAME : %s\r\n'
            % (svc['name'], _sc_type(svc), start, svc['path'], svc['display_name'], dep_lines, svc['account']))
    return text, '', 0
