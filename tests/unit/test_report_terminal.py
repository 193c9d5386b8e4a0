# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lines the play prints for the hosts that need a look: worst first, each port of a conflict named."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.plugin_utils.report import model, terminal
from ansible_collections.mailops.port25.tests.unit.report_fixtures import (
    GENERATED, HOSTILE, WSP_ACTIONS, WSP_BEFORE, fleet_results, port_results, record)


def test_each_host_that_needs_a_look_names_its_ports_in_conflict_and_its_port_host():
    results = dict(port_results(), **{'ex55-wsp-check': dict(record('ex55-wsp-check', 'exchange55', WSP_BEFORE, WSP_BEFORE, [
        dict(a, changed=False) for a in WSP_ACTIONS], check_mode=True), port_host='wsp-proxy')})
    assert terminal.lines(model.build_report(results, list(results), GENERATED)) == [
        # Three error findings each, then by name in natural order (ex55 before ex2019).
        'ex55-wsp-check: Non-compliant: MAIL_SERVICE_NOT_RUNNING, PORT_HELD_BY_SMTP_SERVICE (port 25 on wsp-proxy), '
        'SMTP_SERVICE_ENABLED (on wsp-proxy); conflict on port 25 on wsp-proxy: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC, '
        'W3PROXY, W3SVC) on wsp-proxy (port host wsp-proxy)',
        'ex2019.corp.example: Non-compliant: SMTP_SERVICE_ENABLED, PORT_HELD_BY_SMTP_SERVICE (port 2525), MAIL_SERVICE_NOT_RUNNING; '
        'conflict on port 2525: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)',
        'ex55-wsp-alone: Non-compliant: REMOTE_BIND_PORT_HOST_NOT_SET']


def test_failed_hosts_come_first_with_their_error_text_made_printable_and_the_list_is_bounded():
    results = fleet_results()
    report = model.build_report(results, list(results) + ['never-ran'], GENERATED)
    found = terminal.lines(report)
    assert found[:2] == ['mail05.corp.example: Failed: StopService SMTPSVC: still stop_pending after 60 s',
                         'never-ran: Failed: failed before any result was recorded']
    assert len(found) == 4 and '\x1b' not in ''.join(found) and found[3].startswith(terminal.printable(HOSTILE) + ': Non-compliant: ')
    assert terminal.lines(report, limit=1) == [found[0], 'and 3 more host(s) in the report']
