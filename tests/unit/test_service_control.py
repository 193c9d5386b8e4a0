# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""service_control: return-code messages, and the method calls against a fake SCM (accepted or not when they fail)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_queries as hq, service_control as sc


class FakeClock(object):
    """Deadline clock that advances only when the code sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def deadline(self, seconds):
        return sc.Deadline(seconds, clock=self.clock, sleep=self.sleep)


_NAME = re.compile(r"Name = '((?:[^'\\]|\\.)*)'")


class FakeSCM(object):
    """A WSManClient stand-in that plays the Windows Service Control Manager.

    A stop or start passes through its pending state for ``pending_reads`` reads of the service.
    ``returns`` forces a method's ReturnValue; ``raises`` makes a method raise (the SCM then does or does not act,
    as ``acts_despite_error`` says); ``bind_fails`` lists services whose start fails with WSAEADDRINUSE;
    ``reads_fail_after`` maps a method to the error every read raises once it has been called (the connection is lost);
    ``dependency_fault`` is raised by a Win32_DependentService query.
    """

    host = 'mail01'

    def __init__(self, services, dependencies=(), pending_reads=1):
        self.services = dict((name.lower(), dict(svc, Name=name)) for name, svc in services.items())
        self.dependencies = list(dependencies)   # (antecedent, dependent)
        self.pending_reads = pending_reads
        self.returns = {}
        self.raises = {}
        self.acts_despite_error = False
        self.bind_fails = set()
        self.stuck = set()                       # services that never leave their pending state
        self.reads_fail_after = {}
        self.dependency_fault = None
        self.calls = []
        self.queries = []
        self._countdown = {}

    # -- the client API used by service_control
    def enumerate(self, namespace, query):
        assert namespace == 'root/cimv2'
        self.queries.append(query)
        for method, _name, _params in self.calls:
            if method in self.reads_fail_after:
                raise self.reads_fail_after[method]
        if 'FROM Win32_DependentService' in query:
            if self.dependency_fault is not None:
                raise self.dependency_fault
            return [{'Antecedent': 'Win32_Service.Name="%s"' % a, 'Dependent': 'Win32_Service.Name="%s"' % d}
                    for a, d in self.dependencies]
        assert 'FROM Win32_Service' in query
        found = []
        for name in _NAME.findall(query):
            svc = self.services.get(name.replace("\\'", "'").lower())
            if svc is not None:
                self._advance(svc)
                found.append(dict((k, None if v is None else str(v)) for k, v in svc.items()))
        return found

    def invoke(self, namespace, class_name, method, selectors, params=None):
        assert (namespace, class_name) == ('root/cimv2', 'Win32_Service')
        name = selectors['Name']
        self.calls.append((method, name, dict(params or {})))
        svc = self.services[name.lower()]
        if method in self.raises:
            if self.acts_despite_error:
                self._act(svc, method, params)
            raise self.raises[method]
        if method in self.returns:
            return {'ReturnValue': str(self.returns[method])}
        return {'ReturnValue': str(self._act(svc, method, params))}

    # -- SCM semantics
    def _act(self, svc, method, params):
        if method == 'ChangeStartMode':
            svc['StartMode'] = {'Automatic': 'Auto'}.get(params['StartMode'], params['StartMode'])
            return 0
        if method == 'StopService':
            if svc['State'] == 'Stopped':
                return 5
            if any(a.lower() == svc['Name'].lower() and self.services[d.lower()]['State'] != 'Stopped' for a, d in self.dependencies):
                return 3
            svc['State'] = 'Stop Pending'
        else:
            if svc['StartMode'] == 'Disabled':
                return 14
            if svc['State'] == 'Running':
                return 10
            svc['State'] = 'Start Pending'
        self._countdown[svc['Name'].lower()] = self.pending_reads
        return 0

    def _advance(self, svc):
        key = svc['Name'].lower()
        if key not in self._countdown or key in self.stuck:
            return
        if self._countdown[key] > 0:
            self._countdown[key] -= 1
            return
        del self._countdown[key]
        if svc['State'] == 'Stop Pending':
            svc.update(State='Stopped', ProcessId=0, ExitCode=0, ServiceSpecificExitCode=0)
        elif key in self.bind_fails:
            svc.update(State='Stopped', ProcessId=0, ExitCode=1066, ServiceSpecificExitCode=10048)
        else:
            svc.update(State='Running', ProcessId=4242, ExitCode=0, ServiceSpecificExitCode=0)


def service(state='Running', mode='Auto', pid=1234):
    return {'State': state, 'StartMode': mode, 'ProcessId': pid if state == 'Running' else 0, 'ExitCode': 0,
            'ServiceSpecificExitCode': 0}


def kb_host(**kwargs):
    return FakeSCM({'SMTPSVC': service(), 'IISADMIN': service(), 'MSExchangeIMC': service('Stopped')},
                   dependencies=[('IISADMIN', 'SMTPSVC')], **kwargs)


# ------------------------------------------------------------------------------------------- pure parts

def test_every_documented_return_code_has_its_own_message():
    messages = [sc.return_code_message('StopService', code) for code in range(25)]
    assert len(set(messages)) == 25
    assert messages[0] == 'StopService returned 0: the request was accepted'
    assert messages[3] == 'StopService returned 3: other running services depend on it; stop them first (option dependents=stop)'
    assert messages[14] == 'StopService returned 14: the service is disabled'
    assert messages[24] == 'StopService returned 24: the service is paused'


def test_undocumented_and_missing_return_values_are_named():
    assert sc.return_code_message('StartService', '99') == 'StartService returned 99: undocumented return value'
    assert sc.return_code_message('StartService', None) == 'StartService returned no usable ReturnValue (None)'


def test_read_service_reads_exit_codes_and_no_process():
    scm = kb_host()
    scm.services['msexchangeimc'].update(ExitCode=1066, ServiceSpecificExitCode=10048)
    svc = sc.read_service(scm, 'MSExchangeIMC')
    assert scm.queries == ["SELECT Name,State,StartMode,ProcessId,ExitCode,ServiceSpecificExitCode FROM Win32_Service "
                           "WHERE (Name = 'MSExchangeIMC')"]
    assert svc == {'name': 'MSExchangeIMC', 'exists': True, 'display_name': None, 'state': 'stopped', 'start_mode': 'auto',
                   'delayed_auto_start': None, 'pid': None, 'path': None, 'exit_code': 1066, 'service_specific_exit_code': 10048}
    assert sc.exit_code_text(svc) == ('exit code 1066 (the service reported a service-specific error), '
                                      'service-specific error 10048 (WSAEADDRINUSE: another program holds the port)')


def test_hostile_service_name_is_quoted_not_injected():
    scm = kb_host()
    svc = sc.read_service(scm, "SMTPSVC' OR Name LIKE '%")
    assert svc['exists'] is False
    assert scm.queries[-1].endswith("WHERE (Name = 'SMTPSVC\\' OR Name LIKE \\'%')")


def test_control_characters_in_a_name_are_refused():
    with pytest.raises(errors.InvalidOption):
        sc.read_service(kb_host(), 'SMTP\nSVC')


# ------------------------------------------------------------------------------------------- method calls

def test_stop_waits_through_stop_pending():
    clock = FakeClock()
    scm = kb_host(pending_reads=3)
    svc = sc.stop(scm, 'SMTPSVC', clock.deadline(60))
    assert (svc['state'], svc['pid']) == ('stopped', None)
    assert scm.calls == [('StopService', 'SMTPSVC', {})]
    assert len(clock.sleeps) == 3


def test_pending_polls_start_at_a_quarter_second_and_grow_to_one_second():
    clock = FakeClock()
    scm = kb_host(pending_reads=6)
    sc.stop(scm, 'SMTPSVC', clock.deadline(60))
    assert clock.sleeps == [0.25, 0.375, 0.5625, 0.84375, 1.0, 1.0]
    scm._countdown['smtpsvc'] = 3
    scm.services['smtpsvc']['State'] = 'Start Pending'
    clock.sleeps = []
    assert sc.wait_until_settled(scm, 'SMTPSVC', clock.deadline(60), 'service')['exists']
    assert clock.sleeps == [0.25, 0.375, 0.5625]


def test_stop_still_pending_at_the_deadline_fails_without_asking_again():
    clock = FakeClock()
    scm = kb_host()
    scm.stuck.add('smtpsvc')
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', clock.deadline(5))
    assert str(caught.value) == 'mail01: StopService: service SMTPSVC is still stop_pending after 5 s (timeout); it was not asked again'
    assert caught.value.accepted is True
    assert scm.calls == [('StopService', 'SMTPSVC', {})]
    assert clock.now - 1000.0 == pytest.approx(5.0)


def test_stop_with_a_non_zero_return_value_names_it():
    scm = kb_host()
    scm.returns['StopService'] = 2
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.msg == ('StopService returned 2: access denied: the account has no right to control this service '
                                '(or the service is protected) on SMTPSVC')


def test_timed_out_stop_that_did_not_happen_is_not_repeated():
    scm = kb_host()
    scm.raises['StopService'] = errors.WSManFault('timed out', host='mail01', fault_code='w:TimedOut', wsman_code=2150858793)
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.msg == ('StopService on SMTPSVC got no answer (timed out or connection lost); the service is running, '
                                'not stopped; the call was not repeated')
    assert [c[0] for c in scm.calls] == ['StopService']


def test_timed_out_stop_that_did_happen_is_followed_to_the_end():
    scm = kb_host()
    scm.raises['StopService'] = errors.ConnectionFailure('connection reset', host='mail01')
    scm.acts_despite_error = True
    svc = sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert svc['state'] == 'stopped'
    assert [c[0] for c in scm.calls] == ['StopService']


def test_other_faults_of_a_method_call_propagate():
    scm = kb_host()
    scm.raises['StopService'] = errors.WSManFault('denied', host='mail01', fault_code='w:AccessDenied', wsman_code=5)
    with pytest.raises(errors.WSManFault):
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))


def test_start_that_fails_to_bind_reports_the_exit_codes_at_once():
    clock = FakeClock()
    scm = kb_host()
    scm.bind_fails.add('msexchangeimc')
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.start(scm, 'MSExchangeIMC', clock.deadline(300))
    assert caught.value.msg == ('service MSExchangeIMC stopped again right after it was started: exit code 1066 (the service reported '
                                'a service-specific error), service-specific error 10048 (WSAEADDRINUSE: another program holds the port)')
    assert caught.value.accepted is True
    assert clock.now - 1000.0 < 2


def test_start_of_a_disabled_service_reports_return_value_14():
    scm = kb_host()
    scm.services['msexchangeimc']['StartMode'] = 'Disabled'
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.start(scm, 'MSExchangeIMC', FakeClock().deadline(60))
    assert caught.value.msg == 'StartService returned 14: the service is disabled on MSExchangeIMC'


def test_set_start_mode_sends_automatic_and_verifies():
    scm = kb_host()
    scm.services['smtpsvc']['StartMode'] = 'Disabled'
    svc = sc.set_start_mode(scm, 'SMTPSVC', 'auto')
    assert svc['start_mode'] == 'auto'
    assert scm.calls == [('ChangeStartMode', 'SMTPSVC', {'StartMode': 'Automatic'})]


def test_set_start_mode_accepted_but_not_applied_is_an_error():
    scm = kb_host()
    scm.returns['ChangeStartMode'] = 0
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.set_start_mode(scm, 'SMTPSVC', 'disabled')
    assert caught.value.msg == ('ChangeStartMode(Disabled) on SMTPSVC was accepted but the start mode is auto; '
                                'the call was not repeated')


def test_read_services_by_name_marks_missing_ones():
    found = hq.read_services_by_name(kb_host(), ['smtpsvc', 'NoSuchService'], hq.SERVICE_CONTROL)
    assert found['smtpsvc']['name'] == 'SMTPSVC'
    assert found['nosuchservice'] == hq.missing_service('NoSuchService')
    assert set(found['nosuchservice']) == set(found['smtpsvc'])   # one shape


def test_error_details_carry_the_actions_already_made():
    exc = errors.ServiceControlError('boom', host='h', operation='ChangeStartMode', actions=[{'action': 'stop'}])
    assert exc.details() == {'type': 'ServiceControlError', 'host': 'h', 'operation': 'ChangeStartMode', 'message': 'boom',
                             'accepted': False, 'actions': [{'action': 'stop'}]}


# ------------------------------------------------------------------------------------------- accepted or not

LOST = errors.ConnectionFailure('cannot reach 10.0.0.5:5985 (connection reset)', host='mail01', operation='Enumerate')


def test_stop_accepted_then_the_connection_drops_names_host_service_and_what_is_known():
    scm = kb_host()
    scm.reads_fail_after['StopService'] = LOST
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.accepted is True
    assert str(caught.value) == ('mail01: StopService: StopService on SMTPSVC was accepted, then waiting for it to be stopped failed '
                                 '(Enumerate: cannot reach 10.0.0.5:5985 (connection reset)); the call was not repeated')
    assert scm.calls == [('StopService', 'SMTPSVC', {})]


def test_a_fault_during_the_wait_is_accepted_too():
    scm = kb_host()
    scm.reads_fail_after['StopService'] = errors.WSManFault('timed out', host='mail01', operation='Enumerate',
                                                            fault_code='w:TimedOut', wsman_code=2150858793)
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.accepted is True
    assert 'StopService on SMTPSVC was accepted, then waiting for it to be stopped failed (Enumerate: WSManFault 2150858793' \
        in caught.value.msg


@pytest.mark.parametrize('method, code', [('StopService', 2), ('StopService', 3), ('StartService', 14)])
def test_a_refused_call_is_not_accepted(method, code):
    scm = kb_host()
    scm.returns[method] = code
    control = sc.stop if method == 'StopService' else sc.start
    with pytest.raises(errors.ServiceControlError) as caught:
        control(scm, 'SMTPSVC' if method == 'StopService' else 'MSExchangeIMC', FakeClock().deadline(60))
    assert caught.value.accepted is False


def test_no_answer_and_no_movement_is_not_accepted():
    scm = kb_host()
    scm.raises['StopService'] = errors.ConnectionFailure('connection reset', host='mail01')
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.accepted is False


def test_no_answer_with_movement_then_the_wait_fails_is_accepted():
    scm = kb_host()
    scm.raises['StopService'] = errors.ConnectionFailure('connection reset', host='mail01')
    scm.acts_despite_error = True
    scm.stuck.add('smtpsvc')
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(3))
    assert caught.value.accepted is True
    assert caught.value.msg == 'service SMTPSVC is still stop_pending after 3 s (timeout); it was not asked again'


def test_no_answer_and_the_service_cannot_be_read_again_may_have_been_accepted():
    scm = kb_host()
    scm.raises['StopService'] = errors.ConnectionFailure('connection reset', host='mail01')
    scm.reads_fail_after['StopService'] = LOST
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.stop(scm, 'SMTPSVC', FakeClock().deadline(60))
    assert caught.value.accepted is True
    assert caught.value.msg == ('StopService on SMTPSVC got no answer (it may have been accepted), then reading the service again '
                                'failed (Enumerate: cannot reach 10.0.0.5:5985 (connection reset)); the call was not repeated')


def test_change_start_mode_accepted_but_the_read_back_fails_is_accepted():
    scm = kb_host()
    scm.reads_fail_after['ChangeStartMode'] = LOST
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.set_start_mode(scm, 'SMTPSVC', 'disabled')
    assert caught.value.accepted is True
    assert caught.value.msg == ('ChangeStartMode on SMTPSVC was accepted, then reading the start mode back failed '
                                '(Enumerate: cannot reach 10.0.0.5:5985 (connection reset)); the call was not repeated')


def test_change_start_mode_accepted_but_not_applied_is_accepted():
    scm = kb_host()
    scm.returns['ChangeStartMode'] = 0
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.set_start_mode(scm, 'SMTPSVC', 'disabled')
    assert caught.value.accepted is True


@pytest.mark.parametrize('setup', ['refused', 'no answer, no change'])
def test_change_start_mode_refused_or_unanswered_without_change_is_not_accepted(setup):
    scm = kb_host()
    if setup == 'refused':
        scm.returns['ChangeStartMode'] = 2
    else:
        scm.raises['ChangeStartMode'] = errors.ConnectionFailure('connection reset', host='mail01')
    with pytest.raises(errors.ServiceControlError) as caught:
        sc.set_start_mode(scm, 'SMTPSVC', 'disabled')
    assert caught.value.accepted is False
