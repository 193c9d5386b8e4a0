# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hosts that need a look, one line each, for the play's output: what a person reads in the terminal before
opening the page. Worst first, as on the page; each line names the error codes with the port (and port host) they are
about and the ports in conflict, so a conflict on 2525 or on the proxy server's port 25 is visible there too.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils.text import printable
from ansible_collections.mailops.port25.plugins.plugin_utils.report import ports, view

# Lines before "and N more": the page and the JSON have every host.
LIMIT = 20


def host_line(host) -> str:
    """``ex2019: Non-compliant: SMTP_SERVICE_ENABLED, PORT_HELD_BY_SMTP_SERVICE (port 2525); conflict on port 2525: ...``"""
    verdict = view.display_verdict(host)
    parts = ['%s: %s' % (host['host'], view.VERDICT_LABEL.get(verdict, verdict))]
    if host['error']:
        error = str(host['error'])
        parts.append(error[len(host['host']) + 2:] if error.startswith(host['host'] + ': ') else error)
    codes = [ports.code_text(f, host) for f in host['findings'] if isinstance(f, dict) and f.get('severity') == 'error']
    if codes:
        parts.append(', '.join(codes))
    text = ': '.join(parts)
    found = ports.conflicts(host)
    if found:
        text += '; conflict on ' + '; '.join(found)
    if host.get('port_host'):
        text += ' (port host %s)' % host['port_host']
    return printable(text)


def lines(report, limit=LIMIT) -> list:
    """One line per host that is not compliant, worst first, at most ``limit`` of them and then "and N more"."""
    hosts = [h for h in sorted(report['hosts'], key=view.sort_key) if h['verdict'] != 'compliant']
    out = [host_line(h) for h in hosts[:limit]]
    if len(hosts) > limit:
        out.append('and %d more host(s) in the report' % (len(hosts) - limit))
    return out
