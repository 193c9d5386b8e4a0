#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a hostile host costs the controller, and what the guards against it cost on a clean answer.

    PYTHONPATH=.venv/collections .venv/bin/python benchmarks/hostile_host.py

1. An endpoint (Basic over HTTP on loopback) answers every Enumerate and Pull with another page of 400 KB that never
   ends; prints pages, bytes, seconds and the growth of the process's peak RSS until the enumeration budget stops it.
2. Parses a real Server 2012 Win32_Service page (75 KB) and the same page with a control character in one value;
   prints milliseconds per page (the cost of the DTD and illegal-character checks is in these figures). Not a test.
"""
from __future__ import annotations

import http.server
import os
import resource
import sys
import threading
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, '.venv', 'collections'))

from ansible_collections.mailops.port25.plugins.module_utils import cim, connection, wsman  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mailops.port25.plugins.module_utils.errors import ProtocolError  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.mailops.port25.tests.captures import read_capture  # noqa: E402  pylint: disable=wrong-import-position

PAGE = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration">'
        '<s:Body><n:PullResponse><n:EnumerationContext>uuid:1</n:EnumerationContext><n:Items>'
        '<p:Win32_Process xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/Win32_Process">'
        '<p:Name>%s</p:Name></p:Win32_Process></n:Items></n:PullResponse></s:Body></s:Envelope>' % ('x' * 400000)).encode()


class Endless(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):  # pylint: disable=invalid-name
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.send_response(200)
        self.send_header('Content-Type', 'application/soap+xml;charset=UTF-8')
        self.send_header('Content-Length', str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


def endless_enumeration():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = connection.settings_from_params({
        'winrm_host': '127.0.0.1', 'winrm_port': server.server_address[1], 'winrm_scheme': 'http', 'winrm_transport': 'basic',
        'winrm_allow_basic_over_http': True, 'winrm_user': 'ops', 'winrm_password': 'x'})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with wsman.WSManClient(settings) as client:
        try:
            client.enumerate('root/cimv2', 'SELECT Name FROM Win32_Process')
            print('endless pages: NOT stopped')
        except ProtocolError as exc:
            elapsed = time.monotonic() - started
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024.0
            print('endless 400 KB pages: stopped after %.1f s, %d requests, peak RSS +%.0f MB (budget %d MB)'
                  % (elapsed, client.request_count, grown, wsman.ENUMERATION_BYTE_BUDGET // (1024 * 1024)))
            print('  error: %s' % exc)
    server.shutdown()


def parse_cost():
    clean = read_capture('txwinrm_server_2012_Win32_Service_star_001.xml')
    dirty = clean.replace(b'<p:Name>ALG</p:Name>', b'<p:Name>A&#x1;L\x02G</p:Name>')
    for label, data in (('clean', clean), ('with 2 illegal characters', dirty)):
        seconds = min(timeit.repeat(lambda data=data: cim.parse_enumeration(data), number=200, repeat=5)) / 200
        print('parse_enumeration, %d KB page %s: %.2f ms' % (len(data) // 1024, label, seconds * 1000))


if __name__ == '__main__':
    parse_cost()
    endless_enumeration()
