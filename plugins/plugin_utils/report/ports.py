# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each listener port of a host as the report words it: where the port is (``port 25 on proxy01`` when it is bound on
the port host), the service expected on it, who holds it, the verdict, the SMTP greeting; and where a finding or an
action is. One wording for the HTML view, the JUnit XML and the terminal lines.

The recorded states keep the diagnosis's ``ports`` entries (``port``, ``service``, ``host``, ``owner``, ``verdict``,
``greeting``), the KB's port first. Records without them (older ones) have no port rows. Text is returned as recorded:
each view makes it safe to show.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils.antivirus import product_text

OWNER_KIND = {'none': 'nobody (port free)', 'mail_service': 'mail service', 'smtp_service': 'SMTP service',
              'antivirus': 'antivirus', 'other': 'other program', 'unknown': 'unknown'}
VERDICT_LABEL = {'ok': 'OK', 'conflict': 'Conflict', 'free': 'Free', 'unknown': 'Unknown', 'not_installed': 'Not installed',
                 'remote': 'On another host', 'unchecked': 'Not checked'}
# What a verdict means, next to its label.
VERDICT_NOTE = {'free': 'nothing listens', 'unknown': 'the owner could not be read',
                'not_installed': 'the expected service is not installed here', 'unchecked': 'bound on another host: set the port host'}
# Findings about who holds the KB's port; the diagnosis leaves out their port (it is the first entry's).
KB_PORT_CODES = ('PORT_HELD_BY_SMTP_SERVICE', 'PORT_HELD_BY_ANTIVIRUS', 'PORT_HELD_BY_OTHER', 'PORT_FREE')


def entries(state) -> list:
    """The port entries of a before/after state (dicts with a port number), in recorded order."""
    found = state.get('ports') if isinstance(state, dict) else None
    return [e for e in found or () if isinstance(e, dict) and isinstance(e.get('port'), int) and not isinstance(e.get('port'), bool)]


def owner_text(owner) -> str:
    """``SMTP service: inetinfo.exe (IISADMIN, SMTPSVC) on proxy01``: kind, process, services, product, host, note."""
    if not isinstance(owner, dict) or not owner.get('kind'):
        return '-'
    if owner['kind'] == 'none':
        text = OWNER_KIND['none']
    else:
        parts = [str(owner.get('process') or ('pid %s' % owner.get('pid') if owner.get('pid') is not None else 'unknown process'))]
        if owner.get('services'):
            parts.append('(%s)' % ', '.join(str(s) for s in owner['services']))
        if isinstance(owner.get('product'), dict) and owner['product'].get('product'):
            parts.append('- %s' % product_text(owner['product']))
        text = '%s: %s' % (OWNER_KIND.get(owner['kind'], owner['kind']), ' '.join(parts))
    if owner.get('host'):
        text += ' on %s' % owner['host']
    if owner.get('note'):
        text += ' (%s)' % owner['note']
    return text


def _proxy(state):
    remote = state.get('remote_bind') if isinstance(state, dict) else None
    return remote.get('proxy') if isinstance(remote, dict) and remote.get('configured') else None


def where(entry, state=None) -> str:
    """``25``, or ``25 on proxy01`` for a port bound on the port host (a remote bind not checked: on its proxy)."""
    host = entry.get('host')
    if not host and entry.get('verdict') == 'unchecked':
        host = _proxy(state) or 'another host'
    return '%s on %s' % (entry['port'], host) if host else str(entry['port'])


def entry_owner_text(entry) -> str:
    """The owner of a port entry, with the host it is held on; on the port host, for whom it is held."""
    owner = entry.get('owner')
    if not isinstance(owner, dict):
        return 'not checked' if entry.get('verdict') == 'unchecked' else '-'
    if entry.get('host'):
        owner = dict(owner, host=entry['host'])
        if owner.get('kind') == 'mail_service' and entry.get('service') and not owner.get('note'):
            # On the port host the WinSock Proxy service holds the port on the mail service's behalf (KB Q222553).
            owner['note'] = 'for %s' % entry['service']
    return owner_text(owner)


def verdict_label(verdict) -> str:
    return VERDICT_LABEL.get(verdict, str(verdict or 'unknown'))


def verdict_text(verdict) -> str:
    """``Free: nothing listens``: the label and what it means."""
    return '%s: %s' % (verdict_label(verdict), VERDICT_NOTE[verdict]) if verdict in VERDICT_NOTE else verdict_label(verdict)


def greeting_text(greeting):
    """``(text, note, matches)`` of a port's greeting, or None when none was read."""
    if not isinstance(greeting, dict):
        return None
    if greeting.get('error'):
        return None, 'no greeting: %s' % greeting['error'], False
    if greeting.get('text') is None:
        return None
    matches = greeting.get('matches')
    if matches is True:
        note = 'as expected: %s' % (greeting.get('software_name') or greeting.get('expected_name') or 'the expected software')
    elif matches is False:
        note = 'names %s, not %s' % (greeting.get('software_name') or 'another program', greeting.get('expected_name') or 'the expected software')
    else:
        note = greeting.get('software_name') or 'not compared'
    return '%s %s' % (greeting.get('code') or '', greeting['text']) if greeting.get('code') else greeting['text'], note, matches


def rows(host) -> list:
    """The port rows of a report host: the after-state's ports (the before-state's when there is no after), each with
    what it was before when its verdict changed."""
    state = host['after'] if entries(host['after']) else host['before']
    before = dict((e['port'], e) for e in entries(host['before']))
    out = []
    for entry in entries(state):
        was = before.get(entry['port'])
        changed = state is not host['before'] and was is not None and was.get('verdict') != entry.get('verdict')
        out.append({
            'port': entry['port'], 'where': where(entry, state), 'expected': entry.get('service') or '-',
            'owner': entry_owner_text(entry), 'verdict': entry.get('verdict') or 'unknown', 'label': verdict_label(entry.get('verdict')),
            'note': VERDICT_NOTE.get(entry.get('verdict')),
            'before': {'verdict': was.get('verdict') or 'unknown', 'label': verdict_label(was.get('verdict')),
                       'owner': entry_owner_text(was)} if changed else None,
            'greeting': greeting_text(entry.get('greeting')),
            # A conflict, or KB Q146157's silent one: WMI shows the expected owner and another program answers.
            'attention': entry.get('verdict') == 'conflict' or (entry.get('greeting') or {}).get('matches') is False,
        })
    return out


def kb_port(host):
    """The KB's port entry of a host (the first recorded), or None."""
    found = entries(host['before']) or entries(host['after'])
    return found[0] if found else None


def finding_place(finding, host) -> str | None:
    """``port 2525``, ``port 25 on proxy01``, ``on proxy01``: where a finding is, when it is not the whole host."""
    port, on = finding.get('port'), finding.get('host')
    if port is None and finding.get('code') in KB_PORT_CODES:
        first = kb_port(host)
        port, on = (first['port'], on or first.get('host')) if first else (None, on)
    if port is not None:
        return 'port %s on %s' % (port, on) if on else 'port %s' % port
    return 'on %s' % on if on else None


def code_text(finding, host) -> str:
    """``PORT_HELD_BY_SMTP_SERVICE (port 25 on proxy01)``: a finding's code and where it is."""
    place = finding_place(finding, host)
    return '%s (%s)' % (finding.get('code'), place) if place else str(finding.get('code'))


def conflicts(host, others_only=False) -> list:
    """``port 2525: SMTP service: inetinfo.exe (IISADMIN, SMTPSVC)``, one per port in conflict now (``others_only``:
    not the KB's port, whose owner is shown on its own)."""
    found = rows(host)[1 if others_only else 0:]
    return ['port %s: %s' % (row['where'], row['owner']) for row in found if row['verdict'] == 'conflict']


def action_service(action) -> str:
    """The service of an action, with the host it was made on when that is not the mail host."""
    return '%s on %s' % (action.get('service'), action['host']) if action.get('host') else str(action.get('service'))
