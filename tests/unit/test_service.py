# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service feature (module and action plugin behaviour) against the fake SCM of test_service_control."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.mailops.port25.plugins.module_utils import errors, runner, service_control as sc
from ansible_collections.mailops.port25.plugins.module_utils.features import service as feature
from ansible_collections.mailops.port25.tests.unit.test_service_control import FakeClock, FakeSCM, kb_host, service
from ansible_collections.mailops.port25.tests.unit.conftest import refused_before_any_client


def params(**kwargs):
    base = {'name': 'SMTPSVC', 'state': None, 'start_mode': None, 'timeout': 60, 'dependents': 'fail', 'allowed': None}
    base.update(kwargs)
    return base


def run(scm, check_mode=False, diff=False, **kwargs):
    return feature.run(scm, params(**kwargs), check_mode=check_mode, diff=diff, deadline_factory=FakeClock().deadline)


STOP = {'action': 'stop', 'service': 'SMTPSVC', 'before': {'state': 'running', 'start_mode': 'auto'},
        'after': {'state': 'stopped', 'start_mode': 'auto'}}
DISABLE = {'action': 'set_start_mode', 'service': 'SMTPSVC', 'before': {'state': 'stopped', 'start_mode': 'auto'},
           'after': {'state': 'stopped', 'start_mode': 'disabled'}}
START_IMC = {'action': 'start', 'service': 'MSExchangeIMC', 'before': {'state': 'stopped', 'start_mode': 'auto'},
             'after': {'state': 'running', 'start_mode': 'auto'}}
STOP_DISABLE = [dict(STOP, completed=True), dict(DISABLE, completed=True)]
LOST = errors.ConnectionFailure('cannot reach 10.0.0.5:5985 (connection reset)', host='mail01', operation='Enumerate')


def test_stop_and_disable_the_kb_smtp_service():
    scm = kb_host()
    result = run(scm, state='stopped', start_mode='disabled', allowed=['smtpsvc'])
    assert result == {
        'changed': True,
        'name': 'SMTPSVC',
        'before': {'state': 'running', 'start_mode': 'auto', 'pid': 1234, 'exists': True},
        'after': {'state': 'stopped', 'start_mode': 'disabled', 'pid': None, 'exists': True},
        'actions': STOP_DISABLE,
        'stopped_dependents': [],
        'gaps': [],
    }
    assert scm.calls == [('StopService', 'SMTPSVC', {}), ('ChangeStartMode', 'SMTPSVC', {'StartMode': 'Disabled'})]
    assert scm.services['smtpsvc']['State'] == 'Stopped'
    assert scm.services['iisadmin']['State'] == 'Running'


def test_check_mode_predicts_the_same_actions_and_calls_nothing():
    scm = kb_host()
    predicted = run(scm, check_mode=True, diff=True, state='stopped', start_mode='disabled')
    assert scm.calls == []
    assert predicted['changed'] is True
    assert predicted['actions'] == STOP_DISABLE
    assert predicted['after'] == {'state': 'stopped', 'start_mode': 'disabled', 'pid': None, 'exists': True}
    assert predicted['diff'] == {'before': predicted['before'], 'after': predicted['after']}
    real = run(scm, diff=True, state='stopped', start_mode='disabled')
    assert (real['changed'], real['actions'], real['after']) == (predicted['changed'], predicted['actions'], predicted['after'])


def test_second_run_changes_nothing_and_calls_nothing():
    scm = kb_host()
    run(scm, state='stopped', start_mode='disabled')
    calls = list(scm.calls)
    again = run(scm, state='stopped', start_mode='disabled')
    assert (again['changed'], again['actions']) == (False, [])
    assert again['before'] == again['after'] == {'state': 'stopped', 'start_mode': 'disabled', 'pid': None, 'exists': True}
    assert scm.calls == calls


def test_start_enables_first_then_starts():
    scm = kb_host()
    scm.services['smtpsvc'].update(service('Stopped', 'Disabled'))
    result = run(scm, state='started', start_mode='auto')
    assert [(a['action'], a['after']) for a in result['actions']] == [
        ('set_start_mode', {'state': 'stopped', 'start_mode': 'auto'}),
        ('start', {'state': 'running', 'start_mode': 'auto'})]
    assert result['after'] == {'state': 'running', 'start_mode': 'auto', 'pid': 4242, 'exists': True}
    assert [c[0] for c in scm.calls] == ['ChangeStartMode', 'StartService']


def test_start_mode_alone_leaves_the_state():
    scm = kb_host()
    result = run(scm, start_mode='manual')
    assert [a['action'] for a in result['actions']] == ['set_start_mode']
    assert result['after']['state'] == 'running'


def test_diff_only_when_asked():
    assert 'diff' not in run(kb_host(), state='stopped')


def test_not_on_the_allowed_list_is_refused_before_any_client():
    msg = refused_before_any_client(feature, {'name': 'WinDefend', 'state': 'stopped', 'allowed': ['SMTPSVC']})
    assert msg == 'mail01.example.test: service: refusing to act on service WinDefend: it is not on the allowed list (SMTPSVC)'


@pytest.mark.parametrize('kwargs, message', [
    ({'state': 'started', 'start_mode': 'disabled'}, 'state=started with start_mode=disabled cannot both hold for SMTPSVC'),
    ({'state': 'stopped', 'timeout': 0}, 'timeout must be at least 1 second (got 0)'),
    ({'name': ' ', 'state': 'stopped'}, 'name must not be empty'),
])
def test_impossible_options_are_refused_before_any_client(kwargs, message):
    msg = refused_before_any_client(feature, dict({'name': 'SMTPSVC'}, **kwargs))
    assert msg == 'mail01.example.test: service: ' + message


def test_state_or_start_mode_is_the_argument_specs_rule():
    validator = ArgumentSpecValidator(runner.argument_spec(feature), **runner.validation_rules(feature))
    result = validator.validate({'name': 'SMTPSVC', 'winrm_host': 'mail01'})
    assert [str(error) for error in result.errors] == ['one of the following is required: state, start_mode']


def test_missing_service_is_an_error():
    with pytest.raises(errors.Port25Error) as caught:
        run(kb_host(), name='NoSuchService', state='stopped')
    assert caught.value.msg == 'there is no service named NoSuchService on this host'


def test_disabled_service_asked_to_start_fails_in_check_mode_too():
    for check_mode in (True, False):
        scm = kb_host()
        scm.services['msexchangeimc']['StartMode'] = 'Disabled'
        with pytest.raises(errors.Port25Error) as caught:
            run(scm, check_mode=check_mode, name='MSExchangeIMC', state='started')
        assert 'is disabled; StartService would return 14' in caught.value.msg
        assert scm.calls == []


def test_running_dependents_fail_by_default_naming_them():
    scm = kb_host()
    with pytest.raises(errors.Port25Error) as caught:
        run(scm, name='IISADMIN', state='stopped')
    assert caught.value.msg == ('running services depend on IISADMIN: SMTPSVC; nothing was stopped '
                                '(use dependents=stop to stop them first)')
    assert scm.calls == []


def test_dependents_stop_stops_the_deepest_first():
    scm = FakeSCM({'IISADMIN': service(), 'SMTPSVC': service(), 'W3SVC': service(), 'WAS': service('Stopped')},
                  dependencies=[('IISADMIN', 'W3SVC'), ('W3SVC', 'SMTPSVC'), ('IISADMIN', 'WAS')])
    result = run(scm, name='IISADMIN', state='stopped', dependents='stop')
    assert result['stopped_dependents'] == ['SMTPSVC', 'W3SVC']
    assert [(c[0], c[1]) for c in scm.calls] == [('StopService', 'SMTPSVC'), ('StopService', 'W3SVC'), ('StopService', 'IISADMIN')]
    assert [(a['action'], a['service']) for a in result['actions']] == [('stop', 'SMTPSVC'), ('stop', 'W3SVC'), ('stop', 'IISADMIN')]


def test_dependents_must_be_allowed_too():
    scm = kb_host()
    with pytest.raises(errors.Port25Error) as caught:
        run(scm, name='IISADMIN', state='stopped', dependents='stop', allowed=['IISADMIN'])
    assert caught.value.msg == 'refusing to stop IISADMIN: dependents SMTPSVC are not on the allowed list; nothing was stopped'
    assert scm.calls == []


def test_service_found_pending_is_left_to_finish_first():
    scm = kb_host(pending_reads=2)
    scm.services['smtpsvc']['State'] = 'Stop Pending'
    scm._countdown['smtpsvc'] = 2
    result = run(scm, state='stopped', start_mode='disabled')
    assert result['before']['state'] == 'stopped'
    assert [a['action'] for a in result['actions']] == ['set_start_mode']
    assert [c[0] for c in scm.calls] == ['ChangeStartMode']


def test_a_failure_half_way_lists_the_changes_already_made():
    scm = kb_host()
    scm.returns['ChangeStartMode'] = 2
    result = runner.execute(feature, dict(params(state='stopped', start_mode='disabled'), winrm_host='mail01', winrm_user='u',
                                          winrm_password='secret-pw', winrm_transport='ntlm', winrm_scheme='http'),
                            client_factory=lambda settings: _Closing(scm))
    assert result['failed'] is True
    assert result['msg'] == ('mail01: ChangeStartMode: ChangeStartMode returned 2: access denied: the account has no right to control '
                             'this service (or the service is protected) on SMTPSVC')
    assert result['error']['actions'] == STOP_DISABLE[:1]
    assert (result['changed'], result['error']['accepted']) == (True, False)
    assert 'secret-pw' not in repr(result)


def test_a_fault_half_way_names_host_and_operation_once_and_keeps_the_fault_text():
    scm = kb_host()
    scm.raises['ChangeStartMode'] = errors.WSManFault('Access is denied.', host='mail01', operation='invoke Win32_Service.ChangeStartMode',
                                                      wsman_code=5)
    with pytest.raises(errors.Port25Error) as caught:
        run(scm, state='stopped', start_mode='disabled')
    assert str(caught.value) == ('mail01: invoke Win32_Service.ChangeStartMode: WSManFault 5: access denied: the account may not use '
                                 'this WMI class, namespace or method [Access is denied.]')
    assert caught.value.actions == STOP_DISABLE[:1]


def test_start_that_fails_to_bind_fails_the_task_with_the_winsock_error():
    scm = kb_host()
    scm.bind_fails.add('msexchangeimc')
    with pytest.raises(errors.Port25Error) as caught:
        run(scm, name='MSExchangeIMC', state='started')
    assert '10048 (WSAEADDRINUSE' in caught.value.msg
    assert [c[0] for c in scm.calls] == ['StartService']
    # The start was accepted: it is recorded, not completed.
    assert caught.value.actions == [dict(START_IMC, completed=False)]


class _Closing(object):
    """Wraps the fake for runner.execute (which closes its client)."""

    def __init__(self, scm):
        self.scm = scm
        self.host = scm.host
        self.closed = False

    def __getattr__(self, name):
        return getattr(self.scm, name)

    def close(self):
        self.closed = True


# ------------------------------------------------------------------------------------------- every accepted call is recorded

def execute(scm, **kwargs):
    """The service task as runner.execute reports it (the module and the action plugin take this path)."""
    return runner.execute(feature, dict(params(**kwargs), winrm_host='mail01', winrm_user='u', winrm_password='pw',
                                        winrm_transport='ntlm', winrm_scheme='http'),
                          client_factory=lambda settings: _Closing(scm))


def test_stop_accepted_whose_wait_exceeds_the_deadline_is_recorded_as_not_completed():
    scm = kb_host()
    scm.stuck.add('smtpsvc')
    with pytest.raises(errors.ServiceControlError) as caught:
        run(scm, state='stopped', start_mode='disabled', timeout=5)
    result = runner.failure(caught.value)
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'] == 'mail01: StopService: service SMTPSVC is still stop_pending after 5 s (timeout); it was not asked again'
    assert result['error']['actions'] == [dict(STOP, completed=False)]
    assert result['error']['accepted'] is True
    assert [c[0] for c in scm.calls] == ['StopService']       # the start mode was never asked for


def test_stop_accepted_then_the_connection_drops_is_recorded_as_not_completed():
    scm = kb_host()
    scm.reads_fail_after['StopService'] = LOST
    with pytest.raises(errors.ServiceControlError) as caught:
        run(scm, state='stopped', start_mode='disabled')
    assert caught.value.actions == [dict(STOP, completed=False)]
    assert str(caught.value) == ('mail01: StopService: StopService on SMTPSVC was accepted, then waiting for it to be stopped failed '
                                 '(Enumerate: cannot reach 10.0.0.5:5985 (connection reset)); the call was not repeated')
    assert runner.failure(caught.value)['changed'] is True


def test_actions_completed_before_an_accepted_failure_come_first():
    scm = kb_host()
    scm.reads_fail_after['ChangeStartMode'] = LOST
    with pytest.raises(errors.ServiceControlError) as caught:
        run(scm, state='stopped', start_mode='disabled')
    assert caught.value.msg == ('ChangeStartMode on SMTPSVC was accepted, then reading the start mode back failed '
                                '(Enumerate: cannot reach 10.0.0.5:5985 (connection reset)); the call was not repeated')
    assert caught.value.actions == [dict(STOP, completed=True), dict(DISABLE, completed=False)]


@pytest.mark.parametrize('method, made', [('StopService', []), ('ChangeStartMode', [dict(STOP, completed=True)])])
def test_a_refused_call_is_not_recorded(method, made):
    scm = kb_host()
    scm.returns[method] = 2
    result = execute(scm, state='stopped', start_mode='disabled')
    assert result['failed'] is True
    assert result['error']['actions'] == made
    assert (result['changed'], result['error']['accepted']) == (bool(made), False)


def test_a_call_without_answer_and_without_movement_is_not_recorded():
    scm = kb_host()
    scm.raises['StopService'] = errors.ConnectionFailure('connection reset', host='mail01')
    with pytest.raises(errors.ServiceControlError) as caught:
        run(scm, state='stopped')
    assert caught.value.actions == []


def test_apply_all_marks_and_returns_what_it_completed():
    scm = kb_host()
    actions = feature.plan(sc.read_service(scm, 'SMTPSVC'), 'stopped', 'disabled')
    assert feature.apply_all(scm, actions, FakeClock().deadline(60)) == STOP_DISABLE
    assert actions == STOP_DISABLE


# ------------------------------------------------------------------------------------------- dependency read

TIMED_OUT = errors.WSManFault('timed out', host='mail01', operation='Enumerate', fault_code='w:TimedOut', wsman_code=2150858793)


def test_timed_out_dependency_read_is_a_gap_and_the_stop_goes_on():
    scm = kb_host()
    scm.dependency_fault = TIMED_OUT
    result = run(scm, state='stopped')
    assert result['gaps'] == [{'class': 'Win32_DependentService',
                               'error': 'timed out: the operation did not finish within the operation timeout '
                                        '(WSManFault 2150858793, w:TimedOut)'}]
    assert result['actions'] == STOP_DISABLE[:1]


def test_timed_out_dependency_read_leaves_the_refusal_to_stopservice():
    scm = kb_host()
    scm.dependency_fault = TIMED_OUT
    with pytest.raises(errors.ServiceControlError) as caught:
        run(scm, name='IISADMIN', state='stopped')
    assert caught.value.msg == ('StopService returned 3: other running services depend on it; stop them first '
                                '(option dependents=stop) on IISADMIN')
    assert (caught.value.accepted, caught.value.actions) == (False, [])
    assert scm.services['smtpsvc']['State'] == 'Running'


def test_other_dependency_read_faults_fail_before_any_call():
    scm = kb_host()
    scm.dependency_fault = errors.WSManFault('internal', host='mail01', fault_code='w:InternalError')
    with pytest.raises(errors.WSManFault):
        run(scm, state='stopped')
    assert scm.calls == []
