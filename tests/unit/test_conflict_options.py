# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conflict module's read_only and vars_prefix options: a read-only run changes nothing and never reports
changed; options come from <prefix>_<option> variables only when set, and a bad one is named with its variable."""

from __future__ import annotations

import types

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.mailops.port25.plugins.action import conflict as conflict_action
from ansible_collections.mailops.port25.plugins.module_utils import antivirus, runner
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict, conflict_info
from ansible_collections.mailops.port25.tests.unit.conftest import refused_before_any_client
from ansible_collections.mailops.port25.tests.unit.test_remediation import diagnosis

HOST = {'inventory_hostname': 'mail01', 'ansible_connection': 'winrm', 'ansible_host': '127.0.0.9',
        'ansible_user': 'lab\\admin', 'ansible_password': 'pw', 'ansible_winrm_transport': 'ntlm',
        'ansible_winrm_scheme': 'http'}


class NoConnection(object):
    def __init__(self):
        self._shell = types.SimpleNamespace(tmpdir=None)   # ActionBase reads it when it is built

    def __getattr__(self, name):
        raise AssertionError('the action used the Ansible connection (%s)' % name)


@pytest.fixture(name='executed')
def _executed(monkeypatch):
    """What the action hands to the feature: the validated parameters of each run."""
    calls = []

    def execute(feature, params, check_mode=False, diff=False, client_factory=None):  # pylint: disable=unused-argument
        calls.append(params)
        return {'changed': False}
    monkeypatch.setattr(runner, 'execute', execute)
    return calls


def run_action(args, task_vars):
    task = types.SimpleNamespace(args=dict(args), check_mode=False, diff=False, async_val=0,
                                 action='mailops.port25.conflict', connection=None, delegate_to=None)
    templar = Templar(loader=DataLoader(), variables=task_vars)
    plugin = conflict_action.ActionModule(task, NoConnection(), None, DataLoader(), templar, None)
    return plugin.run(task_vars=task_vars)


def test_options_come_from_the_prefixed_variables_that_are_set(executed):
    task_vars = dict(HOST, bind_conflict_port=trust_as_template('{{ 20 + 5 }}'), bind_conflict_allowed_to_stop=['smtpsvc'],
                     bind_conflict_timeout=30, bind_conflict_mail_service='', other_port=2525)
    assert run_action({'state': 'resolved', 'vars_prefix': 'bind_conflict'}, task_vars) == {'changed': False}
    params = executed[0]
    assert (params['port'], params['allowed_to_stop'], params['timeout']) == (25, ['smtpsvc'], 30)
    assert params['mail_service'] is None           # an empty variable leaves the option unset (its default)
    assert params['verify_retries'] == 5            # not set as a variable: the module's default
    assert params['vars_prefix'] is None            # used up by the action, never seen by the feature
    assert params['host_name'] == 'mail01'


def test_a_task_argument_wins_over_the_variable(executed):
    run_action({'vars_prefix': 'bind_conflict', 'timeout': 90}, dict(HOST, bind_conflict_timeout=30))
    assert executed[0]['timeout'] == 90


@pytest.mark.parametrize('option', sorted(conflict_action.NOT_FROM_VARIABLES - {'vars_prefix'}))
def test_what_the_task_is_and_whose_record_never_comes_from_a_variable(executed, option):
    value = {'state': 'rolled_back', 'host_name': 'other', 'record': {'host': 'other'}, 'record_file': '/tmp/x'}[option]
    run_action({'vars_prefix': 'bind_conflict'}, dict(HOST, **{'bind_conflict_' + option: value}))
    assert executed[0][option] == {'state': 'resolved', 'host_name': 'mail01', 'record': None, 'record_file': None}[option]


def test_without_vars_prefix_the_variables_are_not_read(executed):
    run_action({}, dict(HOST, bind_conflict_timeout=30, bind_conflict_allowed_to_stop=['TmProxy']))
    assert (executed[0]['timeout'], executed[0]['allowed_to_stop']) == (60, ['SMTPSVC'])


def test_a_bad_value_from_a_variable_is_refused_naming_the_variable(executed):
    result = run_action({'vars_prefix': 'bind_conflict'}, dict(HOST, bind_conflict_fail_on_noncompliant='treu',
                                                               bind_conflict_timeout=30))
    assert result['failed'] is True and executed == []
    assert 'fail_on_noncompliant' in result['msg']
    assert 'fail_on_noncompliant (from the variable bind_conflict_fail_on_noncompliant)' in result['msg']
    assert 'bind_conflict_timeout' not in result['msg']   # only the variables behind the error are named


@pytest.mark.parametrize('prefix', ['bind-conflict', 'x y', '', '1abc'])
def test_a_prefix_that_is_no_variable_name_is_refused(executed, prefix):
    result = run_action({'vars_prefix': prefix}, dict(HOST))
    assert result['failed'] is True and 'vars_prefix must be a variable name prefix' in result['msg'] and executed == []


def test_as_a_module_process_vars_prefix_is_refused_before_any_client():
    msg = refused_before_any_client(conflict, {'vars_prefix': 'bind_conflict'})
    assert msg == ('mail01.example.test: conflict: vars_prefix is only understood when the task runs through the action '
                   'plugin (not as a module process)')


class Refusing(object):
    """A client that fails the test on any service method call."""
    host = 'mail01'

    def invoke(self, *args, **kwargs):
        raise AssertionError('a method call was made: %r %r' % (args, kwargs))


@pytest.mark.parametrize('check_mode', [False, True])
def test_read_only_predicts_changes_nothing_and_never_reports_changed(monkeypatch, check_mode):
    monkeypatch.setattr(conflict_info, 'diagnose', lambda client, params: (diagnosis(), antivirus.Catalogue()))
    params = dict((name, spec.get('default')) for name, spec in conflict.ARGUMENT_SPEC.items())
    params.update(read_only=True, host_name='mail01')
    result = conflict.run(Refusing(), params, check_mode=check_mode, diff=True)
    assert result['changed'] is False and result['check_mode'] is True
    assert [(a['action'], a['service'], a['changed']) for a in result['actions']] == [
        ('stop', 'SMTPSVC', False), ('set_start_mode', 'SMTPSVC', False), ('start', 'MSExchangeIMC', False)]
    assert [d['before_header'] for d in result['diff']] == ['service SMTPSVC', 'service MSExchangeIMC']


def test_check_mode_without_read_only_says_the_host_would_change(monkeypatch):
    monkeypatch.setattr(conflict_info, 'diagnose', lambda client, params: (diagnosis(), antivirus.Catalogue()))
    params = dict((name, spec.get('default')) for name, spec in conflict.ARGUMENT_SPEC.items())
    result = conflict.run(Refusing(), dict(params, host_name='mail01'), check_mode=True)
    assert result['changed'] is True and len(result['actions']) == 3
