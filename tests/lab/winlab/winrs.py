# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows Remote Shell (MS-WSMV 3.1.4.1.x): Create, Command, Receive, Signal, Send and Delete of a cmd shell."""
from __future__ import annotations

import base64

from winlab import shell
from winlab.soap import ENV_DELETE, ENV_RECEIVE, ENV_SHELL, NS_RSP, NS_X, SHELL_URI, envelope, esc, new_uuid


def _shell_of(ctx):
    shell_id = ctx.req.selectors.get('ShellId', '')
    state = ctx.host.shells.get(shell_id)
    if state is None:
        raise ctx.invalid_selectors(
            'UnexpectedSelectors',
            'The request for the Windows Remote Shell with ShellId %s failed because the shell was not found on the '
            'server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the '
            'server. Provide the correct ShellId or create a new shell and retry the operation. ' % shell_id)
    return shell_id, state


def _command_of(ctx, state, command_id):
    command = state['commands'].get(command_id)
    if command is None:
        raise ctx.invalid_selectors(
            'UnexpectedSelectors',
            'The Windows Remote Shell received a request to perform an operation on a command identifier that does not '
            'exist. Either the command has completed execution or the client specified an invalid command identifier. ')
    return command


def do_create(ctx):
    if ctx.req.resource_uri != SHELL_URI:
        raise ctx.invalid_resource_uri()
    shells = ctx.host.shells
    # MaxShellsPerUser: the shell beyond it is refused (winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml);
    # Windows never closes a user's shell to make room (the lab has one user per host)
    if len(shells) >= ctx.host.spec.winrm['max_shells_per_user']:
        raise ctx.quota_shells()
    shell_id = new_uuid()
    # 'operations': commands started, which a text shell holds against MaxConcurrentOperationsPerUser until it is
    # deleted (MS-WSMV 3.1.4.12, note <118>: a Terminate signal does not give them back)
    shells[shell_id] = {'commands': {}, 'operations': 0}
    owner = ctx.host.spec.username.split('\\')[-1]
    address = ctx.req.to or 'http://%s:5985/wsman' % ctx.machine
    body = ('<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>'
            '<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
            '</x:ResourceCreated><rsp:Shell xmlns:rsp="%s"><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s'
            '</rsp:ResourceUri><rsp:Owner>%s</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>'
            'PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr'
            '</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S'
            '</rsp:ShellInactivity></rsp:Shell>'
            % (esc(address), SHELL_URI, shell_id, NS_RSP, shell_id, SHELL_URI, esc(owner)))
    return envelope(ENV_SHELL, NS_X + '/CreateResponse', ctx.req.message_id, body)


def do_command(ctx):
    _shell_id, state = _shell_of(ctx)
    line = ctx.req.body.find('{%s}CommandLine' % NS_RSP)
    if line is None:
        raise ctx.schema_error('The CommandLine element is missing. ')
    command = (line.findtext('{%s}Command' % NS_RSP) or '').strip()
    arguments = [(a.text or '') for a in line.findall('{%s}Arguments' % NS_RSP)]
    words = command.split() or ['']
    stdout, stderr, code = shell.run(ctx.host, words[0], words[1:] + [w for a in arguments for w in a.split()])
    command_id = new_uuid()
    state['commands'][command_id] = {'stdout': stdout, 'stderr': stderr, 'code': code}
    state['operations'] = state.get('operations', 0) + 1
    body = '<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>' % command_id
    return envelope(ENV_SHELL, NS_RSP + '/CommandResponse', ctx.req.message_id, body)


def do_receive(ctx):
    _shell_id, state = _shell_of(ctx)
    stream = ctx.req.body.find('{%s}Receive/{%s}DesiredStream' % (NS_RSP, NS_RSP))
    command_id = stream.get('CommandId', '') if stream is not None else ''
    command = _command_of(ctx, state, command_id)
    parts = []
    for name in ('stdout', 'stderr'):
        data = command[name]
        if data:
            parts.append('<rsp:Stream Name="%s" CommandId="%s">%s</rsp:Stream>'
                         % (name, command_id, _b64(data)))
    parts.extend('<rsp:Stream Name="%s" CommandId="%s" End="true"></rsp:Stream>' % (n, command_id)
                 for n in ('stdout', 'stderr'))
    parts.append('<rsp:CommandState CommandId="%s" State="%s/CommandState/Done"><rsp:ExitCode>%d</rsp:ExitCode>'
                 '</rsp:CommandState>' % (command_id, NS_RSP, command['code']))
    command['stdout'] = command['stderr'] = b''
    body = '<rsp:ReceiveResponse>%s</rsp:ReceiveResponse>' % ''.join(parts)
    return envelope(ENV_RECEIVE, NS_RSP + '/ReceiveResponse', ctx.req.message_id, body)


def _b64(data):
    return base64.b64encode(data).decode('ascii')


def do_signal(ctx):
    _shell_id, state = _shell_of(ctx)
    signal = ctx.req.body.find('{%s}Signal' % NS_RSP)
    command_id = signal.get('CommandId', '') if signal is not None else ''
    _command_of(ctx, state, command_id)
    state['commands'].pop(command_id, None)
    return envelope(ENV_SHELL, NS_RSP + '/SignalResponse', ctx.req.message_id, '<rsp:SignalResponse/>')


def do_send(ctx):
    _shell_of(ctx)
    return envelope(ENV_SHELL, NS_RSP + '/SendResponse', ctx.req.message_id, '<rsp:SendResponse/>')


def do_delete(ctx):
    if ctx.req.resource_uri != SHELL_URI:
        raise ctx.action_not_supported()
    shell_id, _state = _shell_of(ctx)
    del ctx.host.shells[shell_id]
    return envelope(ENV_DELETE, NS_X + '/DeleteResponse', ctx.req.message_id, '')
