# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediation engine as truth tables: plan over owner kind x SMTP service x profile x options, verify, and
rollback_plan over good, stale and tampered records."""
from __future__ import annotations

import copy
import itertools

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, errors, remediation

CATALOGUE = antivirus.Catalogue()
DEFAULTS = {'smtp_service': 'SMTPSVC', 'allowed_to_stop': ['SMTPSVC'], 'disable_smtp_service': True,
            'start_mail_service': True, 'profile': 'auto'}
MAIL = {'exchange55': 'MSExchangeIMC', 'exchange2003': 'SMTPSVC', 'exchange2013': 'MSExchangeFrontEndTransport', 'generic': None}
OWNERS = {
    'none': {'kind': 'none', 'pid': None, 'process': None, 'path': None, 'services': [], 'product': None},
    'smtp_service': {'kind': 'smtp_service', 'pid': 900, 'process': 'inetinfo.exe', 'path': 'C:\\inetinfo.exe',
                     'services': ['IISADMIN', 'SMTPSVC'], 'product': None},
    'mail_service': {'kind': 'mail_service', 'pid': 1200, 'process': 'msexcimc.exe', 'path': None, 'services': ['MSExchangeIMC'],
                     'product': None},
    'antivirus': {'kind': 'antivirus', 'pid': 3300, 'process': 'TmProxy.exe', 'path': 'C:\\tm\\TmProxy.exe', 'services': ['TmProxy'],
                  'product': {'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One'}},
    'other': {'kind': 'other', 'pid': 4400, 'process': 'mailrelay.exe', 'path': 'C:\\relay\\mailrelay.exe', 'services': [], 'product': None},
    'unknown': {'kind': 'unknown', 'pid': None, 'process': None, 'path': None, 'services': [], 'product': None},
}
SMTP_STATES = {'absent': None, 'running/auto': ('running', 'auto'), 'stopped/auto': ('stopped', 'auto'),
               'stopped/manual': ('stopped', 'manual'), 'stopped/disabled': ('stopped', 'disabled'),
               'running/disabled': ('running', 'disabled')}


def service(name, state_mode):
    if state_mode is None:
        return {'name': name, 'exists': False, 'state': None, 'start_mode': None, 'pid': None}
    return {'name': name, 'exists': True, 'state': state_mode[0], 'start_mode': state_mode[1], 'pid': None}


def diagnosis(owner='smtp_service', smtp='running/auto', profile='exchange55', mail=('stopped', 'auto'), detected=None,
              smtp_name='SMTPSVC'):
    detected = detected or profile
    transport = profile == 'exchange2003'
    smtp_service = dict(service(smtp_name, SMTP_STATES[smtp]), is_transport=transport and SMTP_STATES[smtp] is not None)
    if MAIL[profile] is None:
        mail_service = service(None, None)
    elif MAIL[profile] == smtp_name:
        mail_service = service(smtp_name, SMTP_STATES[smtp])
    else:
        mail_service = service(MAIL[profile], mail)
    return {'host': 'mail01', 'port': 25, 'profile': profile, 'detected_profile': detected, 'owner': dict(OWNERS[owner]),
            'smtp_service': smtp_service, 'mail_service': mail_service, 'findings': [], 'events': [],
            'gaps': [{'class': 'MSFT_NetTCPConnection', 'error': 'access denied'}] if owner == 'unknown' else [],
            'compliant': False}


def plan(diag, predicted=False, **options):
    return remediation.plan(diag, dict(DEFAULTS, **options), CATALOGUE, predicted=predicted)


def steps(result):
    return [(a['action'], a['service'], a['after']['state'], a['after']['start_mode']) for a in result['actions']]


def flag_codes(result):
    return [flag['code'] for flag in result['flags']]


STOP = ('stop', 'SMTPSVC', 'stopped', 'auto')
DISABLE = ('set_start_mode', 'SMTPSVC', 'stopped', 'disabled')
START_IMC = ('start', 'MSExchangeIMC', 'running', 'auto')

# (owner kind, SMTP service, profile, options) -> (steps, flag codes)
TABLE = [
    # The KB's case and its neighbours on Exchange 5.5.
    ('smtp_service', 'running/auto', 'exchange55', {}, [STOP, DISABLE, START_IMC], []),
    ('none', 'stopped/auto', 'exchange55', {}, [DISABLE, START_IMC], []),
    ('none', 'stopped/manual', 'exchange55', {}, [DISABLE, START_IMC], []),
    ('none', 'stopped/disabled', 'exchange55', {}, [START_IMC], []),
    ('none', 'running/disabled', 'exchange55', {}, [('stop', 'SMTPSVC', 'stopped', 'disabled'), START_IMC], []),
    ('none', 'absent', 'exchange55', {}, [START_IMC], []),
    ('mail_service', 'stopped/disabled', 'exchange55', {}, [START_IMC], []),
    # Options.
    ('smtp_service', 'running/auto', 'exchange55', {'disable_smtp_service': False}, [], []),
    ('smtp_service', 'running/auto', 'exchange55', {'start_mail_service': False}, [STOP, DISABLE], []),
    ('smtp_service', 'running/auto', 'exchange55', {'allowed_to_stop': []}, [], ['SMTP_SERVICE_NOT_ALLOWED']),
    ('smtp_service', 'running/auto', 'exchange55', {'allowed_to_stop': ['IISADMIN']}, [], ['SMTP_SERVICE_NOT_ALLOWED']),
    ('smtp_service', 'running/auto', 'exchange55', {'allowed_to_stop': ['smtpsvc']}, [STOP, DISABLE, START_IMC], []),
    ('none', 'stopped/auto', 'exchange55', {'allowed_to_stop': []}, [START_IMC], ['SMTP_SERVICE_NOT_ALLOWED']),
    # Antivirus and unknown programs: nothing is touched, not even the SMTP service in the way.
    ('antivirus', 'running/auto', 'exchange55', {}, [], ['ANTIVIRUS_HOLDS_PORT']),
    ('antivirus', 'stopped/disabled', 'exchange55', {}, [], ['ANTIVIRUS_HOLDS_PORT']),
    ('other', 'running/auto', 'exchange55', {}, [], ['UNKNOWN_OWNER']),
    ('unknown', 'running/auto', 'exchange55', {}, [], ['UNKNOWN_OWNER']),
    # Exchange 2000/2003: SMTPSVC is the transport and the mail service; it is started, never stopped or disabled.
    ('mail_service', 'running/auto', 'exchange2003', {}, [], ['SMTP_SERVICE_IS_TRANSPORT']),
    ('none', 'stopped/auto', 'exchange2003', {}, [('start', 'SMTPSVC', 'running', 'auto')], ['SMTP_SERVICE_IS_TRANSPORT']),
    ('other', 'stopped/auto', 'exchange2003', {}, [], ['UNKNOWN_OWNER', 'SMTP_SERVICE_IS_TRANSPORT']),
    # Exchange 2013+: the front end transport is started.
    ('smtp_service', 'running/auto', 'exchange2013', {},
     [STOP, DISABLE, ('start', 'MSExchangeFrontEndTransport', 'running', 'auto')], []),
    # No Exchange: the SMTP service is stopped and disabled, and there is no mail service to start.
    ('smtp_service', 'running/auto', 'generic', {}, [STOP, DISABLE], []),
    ('none', 'absent', 'generic', {}, [], []),
]


@pytest.mark.parametrize('owner, smtp, profile, options, expected, flags', TABLE,
                         ids=['%s-%s-%s-%s' % (r[0], r[1], r[2], '-'.join(sorted(r[3])) or 'defaults') for r in TABLE])
def test_plan_truth_table(owner, smtp, profile, options, expected, flags):
    result = plan(diagnosis(owner, smtp, profile), **options)
    assert (steps(result), flag_codes(result)) == (expected, flags)


def test_actions_carry_their_before_state_in_order():
    result = plan(diagnosis('smtp_service', 'running/auto', 'exchange55'))
    assert [(a['before'], a['after']) for a in result['actions']] == [
        ({'state': 'running', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'auto'}),
        ({'state': 'stopped', 'start_mode': 'auto'}, {'state': 'stopped', 'start_mode': 'disabled'}),
        ({'state': 'stopped', 'start_mode': 'auto'}, {'state': 'running', 'start_mode': 'auto'})]


ALL_OPTIONS = [{}, {'disable_smtp_service': False}, {'start_mail_service': False}, {'allowed_to_stop': []},
               {'allowed_to_stop': ['SMTPSVC', 'TmProxy', 'W3SVC', 'WinRM']}]


@pytest.mark.parametrize('owner, smtp, profile', list(itertools.product(OWNERS, SMTP_STATES, MAIL)))
def test_plan_keeps_the_safety_rules_everywhere(owner, smtp, profile):
    """Over every owner kind x SMTP state and start mode x profile x options: only the SMTP service is stopped or
    disabled (never the transport, never while another program holds the port), only the mail service is started."""
    for options in ALL_OPTIONS:
        diag = diagnosis(owner, smtp, profile)
        result = plan(diag, **options)
        for action, name, state, start_mode in steps(result):
            if action in ('stop', 'set_start_mode'):
                assert name == 'SMTPSVC' and profile != 'exchange2003' and owner in ('none', 'smtp_service', 'mail_service')
                assert options.get('disable_smtp_service', True)
                assert state == 'stopped' and start_mode == 'disabled' or action == 'stop'
            else:
                assert name == MAIL[profile] and options.get('start_mail_service', True)
                assert owner in ('none', 'mail_service') or owner == 'smtp_service' and ('stop', 'SMTPSVC') in [
                    s[:2] for s in steps(result)]
        if owner in ('antivirus', 'other', 'unknown'):
            assert steps(result) == []


@pytest.mark.parametrize('smtp_name, allowed', [('TmProxy', ['TmProxy']), ('WinDefend', ['WinDefend', 'SMTPSVC']),
                                                ('WinRM', ['WinRM'])])
def test_antivirus_and_windows_services_are_refused_whatever_the_options_say(smtp_name, allowed):
    diag = diagnosis('none', 'running/auto', 'exchange55', smtp_name=smtp_name)
    result = plan(diag, smtp_service=smtp_name, allowed_to_stop=allowed)
    assert [a['service'] for a in result['actions']] == ['MSExchangeIMC']
    assert flag_codes(result) == ['SERVICE_REFUSED']
    assert smtp_name in result['flags'][0]['message']


def test_the_mail_service_is_never_an_antivirus_product():
    diag = diagnosis('none', 'stopped/disabled', 'exchange55')
    diag['mail_service'] = service('TmProxy', ('stopped', 'auto'))
    result = plan(diag)
    assert (steps(result), flag_codes(result)) == ([], ['SERVICE_REFUSED'])
    assert 'antivirus' in result['flags'][0]['message']


def test_the_smtp_service_is_not_started_as_a_mail_service_outside_exchange2003():
    diag = diagnosis('none', 'stopped/disabled', 'exchange55')
    diag['mail_service'] = service('SMTPSVC', ('stopped', 'disabled'))
    assert steps(plan(diag)) == []


@pytest.mark.parametrize('forced, detected, refused', [
    ('exchange55', 'exchange2003', True), ('generic', 'exchange2003', True), ('exchange2013', 'exchange55', True),
    ('exchange2003', 'exchange2003', False), ('auto', 'exchange2003', False), ('exchange55', 'generic', False),
    ('exchange2003', 'generic', False), ('exchange55', None, False)])
def test_a_forced_profile_that_contradicts_the_services_is_refused(forced, detected, refused):
    diag = diagnosis('smtp_service', 'running/auto', 'exchange55', detected=detected)
    if refused:
        with pytest.raises(errors.InvalidOption) as info:
            plan(diag, profile=forced)
        assert 'profile=%s' % forced in str(info.value) and detected in str(info.value)
    else:
        plan(diag, profile=forced)


def test_the_transport_follows_the_installed_services_not_the_forced_profile():
    # Even if the contradiction check were passed (profile auto), the detected 2003 services keep SMTPSVC.
    diag = diagnosis('smtp_service', 'running/auto', 'exchange55', detected='exchange2003')
    result = plan(diag)
    assert steps(result) == [] and 'SMTP_SERVICE_IS_TRANSPORT' in flag_codes(result)


def test_flags_speak_in_the_conditional_in_check_mode():
    real = plan(diagnosis('antivirus', 'running/auto', 'exchange55'))['flags'][0]['message']
    predicted = plan(diagnosis('antivirus', 'running/auto', 'exchange55'), predicted=True)['flags'][0]['message']
    assert real.endswith('the mail service was not started.')
    assert predicted.endswith('the mail service would not be started.')
    assert 'Trend Micro OfficeScan / Apex One: TmProxy.exe (PID 3300, C:\\tm\\TmProxy.exe)' in real
    ex2003 = plan(diagnosis('mail_service', 'running/auto', 'exchange2003'), predicted=True)['flags'][0]['message']
    assert ex2003 == 'SMTPSVC is the Exchange transport on this exchange2003 host; it would be left alone.'


def test_product_names_do_not_repeat_the_vendor():
    assert antivirus.product_text({'vendor': 'Microsoft', 'product': 'Microsoft Defender Antivirus'}) == 'Microsoft Defender Antivirus'
    assert antivirus.product_text({'vendor': 'Trend Micro', 'product': 'ScanMail'}) == 'Trend Micro ScanMail'


def test_antivirus_failure_only_with_an_antivirus_flag():
    flags = plan(diagnosis('antivirus'))['flags']
    assert remediation.antivirus_failure(flags).startswith('Port 25 is held by Trend Micro')
    assert '(antivirus_action=fail)' in remediation.antivirus_failure(flags)
    assert remediation.antivirus_failure(plan(diagnosis('other'))['flags']) is None


# ---------------------------------------------------------------------------------------------------- verify

def after(owner, events=()):
    return {'port': 25, 'owner': dict(OWNERS[owner]), 'events': list(events)}


def event(number, kind='error', log='Application'):
    return {'log': log, 'source': 'MSExchangeIMC', 'event_id': 4007, 'type': kind, 'message': 'bind failed 10048',
            'record_number': number}


KB_ACTIONS = plan(diagnosis())['actions']


@pytest.mark.parametrize('actions, owner, events, problems', [
    (KB_ACTIONS, 'mail_service', [event(7)], []),
    (KB_ACTIONS, 'none', [], ['port 25 is held by nobody (none), not by MSExchangeIMC']),
    (KB_ACTIONS, 'smtp_service', [], ['port 25 is held by inetinfo.exe (smtp_service), not by MSExchangeIMC',
                                      'port 25 is still held by the SMTP service']),
    (KB_ACTIONS[:2], 'none', [], []),
    (KB_ACTIONS, 'mail_service', [event(8)], ['new Application event MSExchangeIMC 4007: bind failed 10048']),
    (KB_ACTIONS, 'mail_service', [event(8, kind='warning')], []),
    (KB_ACTIONS, 'mail_service', [event(3, log='System')], ['new System event MSExchangeIMC 4007: bind failed 10048']),
])
def test_verify(actions, owner, events, problems):
    before = {'port': 25, 'events': [event(7)]}
    assert remediation.verify(actions, before, after(owner, events)) == problems


# ---------------------------------------------------------------------------------------------------- rollback

def made(action, name, before, after_, **extra):
    return dict({'action': action, 'service': name, 'before': {'state': before[0], 'start_mode': before[1]},
                 'after': {'state': after_[0], 'start_mode': after_[1]}, 'changed': True, 'completed': True}, **extra)


GOOD = {
    'report_format': 1, 'host': 'mail01', 'check_mode': False, 'changed': True, 'profile': 'exchange55',
    'actions': [made('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')),
                made('set_start_mode', 'SMTPSVC', ('stopped', 'auto'), ('stopped', 'disabled')),
                made('start', 'MSExchangeIMC', ('stopped', 'auto'), ('running', 'auto'))],
}
AFTER_FIX = {'smtpsvc': dict(service('SMTPSVC', ('stopped', 'disabled'))),
             'msexchangeimc': dict(service('MSExchangeIMC', ('running', 'auto')))}
BEFORE_FIX = {'smtpsvc': dict(service('SMTPSVC', ('running', 'auto'))),
              'msexchangeimc': dict(service('MSExchangeIMC', ('stopped', 'auto')))}


def ctx(profile='exchange55', detected=None, allowed=('SMTPSVC',)):
    diag = diagnosis('mail_service', 'stopped/disabled', profile, detected=detected)
    return remediation.context(diag, dict(DEFAULTS, allowed_to_stop=list(allowed)), CATALOGUE)


def rollback(entry, current, context=None, force=False):
    entry = remediation.validate_record(copy.deepcopy(entry), 'mail01')
    return remediation.rollback_plan(entry, current, context or ctx(), force=force)


def test_rollback_of_the_kb_fix_is_the_reverse_back_to_the_first_before_state():
    assert rollback(GOOD, AFTER_FIX) == {'steps': [
        {'service': 'MSExchangeIMC', 'state': 'stopped', 'start_mode': 'auto'},
        {'service': 'SMTPSVC', 'state': 'running', 'start_mode': 'auto'}], 'refused': []}


def test_a_second_rollback_has_nothing_to_do():
    assert rollback(GOOD, BEFORE_FIX) == {'steps': [], 'refused': []}


def test_predicted_actions_are_not_undone():
    entry = copy.deepcopy(GOOD)
    entry['check_mode'] = True
    for action in entry['actions']:
        action['changed'] = False
    assert rollback(entry, AFTER_FIX) == {'steps': [], 'refused': []}


def test_a_stale_service_is_refused_unless_forced():
    current = dict(AFTER_FIX, smtpsvc=service('SMTPSVC', ('stopped', 'manual')))
    result = rollback(GOOD, current)
    assert result['steps'] == [{'service': 'MSExchangeIMC', 'state': 'stopped', 'start_mode': 'auto'}]
    assert result['refused'] == [{'service': 'SMTPSVC', 'reason': (
        'it is stopped (start mode manual) now, not stopped (start mode disabled) as the run left it: someone changed it '
        'since (force=true undoes it anyway)')}]
    forced = rollback(GOOD, current, force=True)
    assert forced['refused'] == [] and forced['steps'][1] == {'service': 'SMTPSVC', 'state': 'running', 'start_mode': 'auto'}


def test_force_never_lifts_a_safety_rule():
    # Someone set the mail service to manual since: force may undo the start, but the start mode was never the
    # remediation's change, so it is not put back to auto by a rollback.
    current = dict(AFTER_FIX, msexchangeimc=service('MSExchangeIMC', ('running', 'manual')))
    forced = rollback(GOOD, current, force=True)
    assert [r['service'] for r in forced['refused']] == ['MSExchangeIMC']
    assert 'never changes MSExchangeIMC' in forced['refused'][0]['reason']


def test_an_unfinished_stop_is_undone_whether_it_finished_or_not():
    entry = dict(GOOD, actions=[made('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto'), completed=False)])
    for now in (('stop_pending', 'auto'), ('stopped', 'auto')):
        result = rollback(entry, {'smtpsvc': service('SMTPSVC', now)})
        assert result == {'steps': [{'service': 'SMTPSVC', 'state': 'running', 'start_mode': 'auto'}], 'refused': []}
    # It never took effect: nothing to undo.
    assert rollback(entry, {'smtpsvc': service('SMTPSVC', ('running', 'auto'))}) == {'steps': [], 'refused': []}


def tampered(*actions, **fields):
    return dict(GOOD, actions=list(actions), **fields)


TAMPERED = [
    ('antivirus stopped', tampered(made('stop', 'TmProxy', ('running', 'auto'), ('stopped', 'disabled'))), 'TmProxy',
     'an antivirus product'),
    ('defender', tampered(made('set_start_mode', 'WinDefend', ('running', 'auto'), ('running', 'disabled'))), 'WinDefend',
     'an antivirus product'),
    ('w3svc', tampered(made('stop', 'W3SVC', ('running', 'auto'), ('stopped', 'auto'))), 'W3SVC',
     'the remediation never changes W3SVC'),
    ('mail service stopped', tampered(made('stop', 'MSExchangeIMC', ('running', 'auto'), ('stopped', 'auto'))), 'MSExchangeIMC',
     'the remediation never changes MSExchangeIMC'),
    ('smtp started', tampered(made('start', 'SMTPSVC', ('stopped', 'disabled'), ('running', 'disabled'))), 'SMTPSVC',
     'the remediation never changes SMTPSVC'),
    ('boot start mode', tampered(made('set_start_mode', 'SMTPSVC', ('stopped', 'boot'), ('stopped', 'disabled'))), 'SMTPSVC',
     'cannot be restored'),
]


@pytest.mark.parametrize('label, entry, name, reason', TAMPERED, ids=[t[0] for t in TAMPERED])
def test_changes_the_remediation_never_makes_are_refused(label, entry, name, reason):
    current = {name.lower(): service(name, tuple(entry['actions'][-1]['after'].values()))}
    result = rollback(entry, current)
    assert result['steps'] == []
    assert [r['service'] for r in result['refused']] == [name] and reason in result['refused'][0]['reason'], label


def test_the_exchange2003_transport_is_never_stopped_by_a_rollback():
    entry = tampered(made('start', 'SMTPSVC', ('stopped', 'auto'), ('running', 'auto')))
    result = rollback(entry, {'smtpsvc': service('SMTPSVC', ('running', 'auto'))}, ctx('exchange2003'))
    assert result['steps'] == []
    assert 'Exchange transport' in result['refused'][0]['reason']
    # A record that says it stopped and disabled the transport is refused too (plan can never do it).
    entry = tampered(made('stop', 'SMTPSVC', ('running', 'auto'), ('stopped', 'auto')))
    result = rollback(entry, {'smtpsvc': service('SMTPSVC', ('stopped', 'auto'))}, ctx('exchange2003'))
    assert 'Exchange transport' in result['refused'][0]['reason']


def test_the_allowed_list_of_the_rollback_applies():
    result = rollback(GOOD, AFTER_FIX, ctx(allowed=()))
    assert [r['service'] for r in result['refused']] == ['SMTPSVC']


INVALID = [
    ('another host', dict(GOOD, host='mail02'), "record of host 'mail02'"),
    ('format', dict(GOOD, report_format=2), 'report_format must be 1'),
    ('format bool', dict(GOOD, report_format=True), 'report_format must be 1'),
    ('changed string', dict(GOOD, changed='false'), "changed must be true or false, got 'false'"),
    ('check_mode missing', dict((k, v) for k, v in GOOD.items() if k != 'check_mode'), 'check_mode must be true or false'),
    ('action changed string', tampered(dict(GOOD['actions'][0], changed='false')), "actions[0].changed must be true or false"),
    ('completed int', tampered(dict(GOOD['actions'][0], completed=1)), 'actions[0].completed must be true or false'),
    ('unknown action', tampered(dict(GOOD['actions'][0], action='kill')), 'actions[0].action must be one of'),
    ('quoted name', tampered(dict(GOOD['actions'][0], service="SMTPSVC' OR Name LIKE '%")), 'actions[0].service must be a service name'),
    ('bad state', tampered(dict(GOOD['actions'][0], before={'state': 'exploded', 'start_mode': 'auto'})), 'actions[0].before.state'),
    ('actions not a list', dict(GOOD, actions={'x': 1}), 'actions must be a list'),
    ('check run with changes', dict(GOOD, check_mode=True), 'is marked as made, but the record is of a check-mode run'),
    ('not a dict', ['x'], 'it must be a host entry'),
]


@pytest.mark.parametrize('label, entry, message', INVALID, ids=[i[0] for i in INVALID])
def test_invalid_records_are_refused_before_anything(label, entry, message):
    with pytest.raises(errors.InvalidOption) as info:
        remediation.validate_record(entry, 'mail01')
    assert message in str(info.value), label
    assert str(info.value).endswith('nothing was changed')


def test_record_keeps_before_and_after_and_marks_predictions():
    diag = dict(diagnosis(), compliant=False, findings=[{'code': 'X', 'severity': 'error'}])
    fixed = dict(diag, compliant=True, findings=[])
    rec = remediation.record('mail01', False, diag, KB_ACTIONS, fixed, [])
    assert (rec['report_format'], rec['host'], rec['changed'], rec['compliant'], rec['findings']) == (1, 'mail01', True, True, [])
    assert [a['changed'] for a in rec['actions']] == [True, True, True]
    assert set(rec['before']) == set(remediation.STATE_KEYS)
    predicted = remediation.record('mail01', True, diag, KB_ACTIONS, None, [])
    assert [a['changed'] for a in predicted['actions']] == [False] * 3 and predicted['after'] == predicted['before']
    failed = remediation.record('mail01', False, diag, KB_ACTIONS[:1], fixed, [], error='boom')
    assert (failed['compliant'], failed['error']) == (False, 'boom')
    assert remediation.validate_record(failed, 'mail01') is failed
