# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WinSock Proxy remote bind: the IMS's image path, the INI files as one ``type`` writes them, ports, the proxy's
name, and the one cmd command that reads them (a refused shell is a gap, never a failure)."""
from __future__ import annotations

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import errors, remote_bind as rb

# KB Q181420 / Q181847: the four lines, as Notepad saves them.
WSPCFG = '[MSEXCIMC]\r\nServerBindTcpPorts=25\r\nPersistent=1\r\nKillOldSession=1\r\n'
# KB Q231878's sample Mspclnt.ini, shortened; the last line has no line break.
MSPCLNT = ('[Internal]\r\nscp=9,10\r\nBuild=2.0.400.12\r\n[Master Config]\r\nPath1=\\\\PROXY-09\\mspclnt\\\r\n'
           '[Servers Ip Addresses]\r\nName=PROXY\r\n[Common]\r\nPort=1745\r\nWWW-Proxy=PROXY\r\n[wspsrv]\r\nDisable=1')
IMS_PATH = 'C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe'


@pytest.mark.parametrize('path, expected', [
    (IMS_PATH, ('C:\\exchsrvr\\connect\\msexcimc\\bin', 'msexcimc')),
    ('"D:\\Exchange Server\\connect\\msexcimc\\bin\\MSEXCIMC.EXE" -x', ('D:\\Exchange Server\\connect\\msexcimc\\bin', 'msexcimc')),
    ('C:\\exchsrvr\\connect\\msexcimc\\bin\\msexcimc.exe /service', ('C:\\exchsrvr\\connect\\msexcimc\\bin', 'msexcimc')),
    ('msexcimc.exe', None), ('', None), (None, None),
])
def test_image_of(path, expected):
    assert rb.image_of(path) == expected


def test_cmd_argument():
    assert rb.cmd_argument('C:\\a\\Wspcfg.ini') == 'C:\\a\\Wspcfg.ini'
    assert rb.cmd_argument('D:\\Exchange Server\\Wspcfg.ini') == '"D:\\Exchange Server\\Wspcfg.ini"'
    for bad in ('C:\\%TEMP%\\x.ini', 'C:\\a"b\\x.ini', 'C:\\a\r\nb'):
        with pytest.raises(errors.InvalidOption):
            rb.cmd_argument(bad)


def test_sections_of_two_files_typed_one_after_the_other():
    # Mspclnt.ini ends without a line break: its last line and Wspcfg.ini's first header arrive on one line.
    found = rb.sections(MSPCLNT + WSPCFG)
    assert found['wspsrv'] == {'disable': '1'}
    assert found['msexcimc'] == {'serverbindtcpports': '25', 'persistent': '1', 'killoldsession': '1'}
    assert found['servers ip addresses'] == {'name': 'PROXY'}


def test_sections_first_value_wins_and_comments_are_skipped():
    found = rb.sections('[MSEXCIMC]\n; a comment\nServerBindTcpPorts=25\n\n[msexcimc]\nServerBindTcpPorts=110\nnonsense\n')
    assert found == {'msexcimc': {'serverbindtcpports': '25'}}


@pytest.mark.parametrize('value, ports', [
    ('25', [25]), ('25, 110', [25, 110]), ('0,1025-1027', [0, 1025, 1026, 1027]), ('x,25,70000,5-3', [25]), ('', []), (None, [])])
def test_tcp_ports(value, ports):
    assert rb.tcp_ports(value) == ports


FILES = ['C:\\exchsrvr\\connect\\msexcimc\\bin\\Wspcfg.ini', rb.MSPCLNT]


def test_the_kb_setup_with_the_proxy_named_by_mspclnt():
    assert rb.settings(WSPCFG + MSPCLNT, 'msexcimc', FILES) == {
        'application': 'msexcimc', 'files': FILES, 'missing': [], 'configured': True, 'ports': [25], 'persistent': True,
        'kill_old_session': True, 'disabled': False, 'proxy': 'PROXY', 'proxy_source': 'Mspclnt.ini [Servers Ip Addresses] Name'}


def test_the_proxy_from_the_master_config_share_when_no_server_name():
    found = rb.settings(WSPCFG + '[Master Config]\r\nPath1=\\\\PROXY-09\\mspclnt\\\r\n', 'msexcimc', FILES)
    assert (found['proxy'], found['proxy_source']) == ('PROXY-09', 'Mspclnt.ini [Master Config] Path1')


@pytest.mark.parametrize('typed, configured, ports', [
    (WSPCFG, True, [25]),
    (WSPCFG.replace('Persistent=1', 'Disable=1'), False, [25]),      # the client is off for the IMS: it binds locally
    ('[MSEXCIMC]\r\nServerBindTcpPorts=0\r\n', False, []),           # port 0 only: nothing of ours is bound remotely
    ('[STORE]\r\nServerBindTcpPorts=110\r\n', False, []),            # another application's section
    ('', False, []),
])
def test_when_the_ims_binds_on_the_proxy(typed, configured, ports):
    found = rb.settings(typed, 'msexcimc', FILES)
    assert (found['configured'], found['ports']) == (configured, ports)


class ShellClient(object):
    def __init__(self, stdout='', stderr='', code=0, fault=None):
        self.answer = (code, stdout, stderr)
        self.fault = fault
        self.calls = []

    def run_command(self, command, args):
        self.calls.append((command, list(args)))
        if self.fault:
            raise self.fault
        return self.answer


def test_read_types_both_files_with_one_command():
    client = ShellClient(stdout=WSPCFG + MSPCLNT)
    gaps = []
    found = rb.read(client, IMS_PATH, gaps)
    assert client.calls == [('type', ['C:\\exchsrvr\\connect\\msexcimc\\bin\\Wspcfg.ini', 'C:\\Mspclnt\\Mspclnt.ini'])]
    assert found['configured'] is True and found['proxy'] == 'PROXY' and gaps == []


def test_read_names_the_files_type_could_not_find():
    stderr = ('\r\nC:\\exchsrvr\\connect\\msexcimc\\bin\\Wspcfg.ini\r\n\r\n\r\nThe system cannot find the file specified.\r\n'
              'Error occurred while processing: C:\\Mspclnt\\Mspclnt.ini.\r\n')
    found = rb.read(ShellClient(stdout=WSPCFG, stderr=stderr, code=1), IMS_PATH, [])
    assert found['missing'] == ['C:\\Mspclnt\\Mspclnt.ini'] and found['configured'] is True and found['proxy'] is None


def test_read_quotes_a_path_with_spaces():
    client = ShellClient()
    rb.read(client, '"D:\\Exchange Server\\bin\\msexcimc.exe"', [])
    assert client.calls[0][1][0] == '"D:\\Exchange Server\\bin\\Wspcfg.ini"'


def test_a_refused_shell_is_a_gap():
    fault = errors.WSManFault('Access is denied.', wsman_code=5, fault_code='w:AccessDenied')
    gaps = []
    assert rb.read(ShellClient(fault=fault), IMS_PATH, gaps) is None
    assert [gap['class'] for gap in gaps] == ['Wspcfg.ini']


def test_a_path_cmd_cannot_take_is_a_gap_and_nothing_is_run():
    client = ShellClient()
    gaps = []
    assert rb.read(client, 'C:\\%WINDIR%\\msexcimc.exe', gaps) is None
    assert client.calls == [] and gaps[0]['class'] == 'Wspcfg.ini' and 'cannot be given to cmd safely' in gaps[0]['error']


def test_no_path_reads_nothing():
    client = ShellClient()
    assert rb.read(client, None, []) is None and client.calls == []
