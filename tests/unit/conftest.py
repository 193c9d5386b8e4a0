# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared unit-test helpers: the real captures (tests/captures) and a fake pywinrm Protocol that replays them."""

from __future__ import annotations

import re
import subprocess

import pytest

from ansible_collections.mailops.port25.tests.captures import read_capture

_MESSAGE_ID = re.compile(rb"<(?:\w+:)?MessageID>(uuid:[0-9A-Fa-f-]+)</(?:\w+:)?MessageID>")
_RELATES_TO = re.compile(rb"(<(?:\w+:)?RelatesTo>)uuid:[0-9A-Fa-f-]+(</(?:\w+:)?RelatesTo>)")


class FakeProtocol(object):
    """Stands in for winrm.protocol.Protocol.send_message: returns queued answers, records requests.

    An answer is bytes (returned), or an exception instance (raised). RelatesTo of a
    returned answer is rewritten to the request's MessageID, as a real server would.
    """

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.sent = []
        self.closed = 0
        self.transport = self

    def send_message(self, message):
        if isinstance(message, bytes):
            message = message.decode("utf-8")
        self.sent.append(message)
        if not self.answers:
            raise AssertionError("FakeProtocol: no answer queued for request %d" % len(self.sent))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        found = _MESSAGE_ID.search(message.encode("utf-8"))
        if found:
            answer = _RELATES_TO.sub(lambda m: m.group(1) + found.group(1) + m.group(2), answer)
        return answer

    # the transport half (WSManClient calls close_session on reset/close)
    def close_session(self):
        self.closed += 1


@pytest.fixture
def capture():
    return read_capture


@pytest.fixture
def settings():
    from ansible_collections.mailops.port25.plugins.module_utils.connection import settings_from_params

    def make(**overrides):
        params = {"winrm_host": "mail01.example.test", "winrm_port": 5985, "winrm_user": "EXAMPLE\\ops",
                  "winrm_password": "S3cret!pass"}
        params.update(overrides)
        return settings_from_params(params)
    return make


@pytest.fixture(name="other_process")
def _other_process():
    """A live process that is not this one (the ansible-playbook of another run, for the report lock)."""
    proc = subprocess.Popen(["sleep", "600"])  # pylint: disable=consider-using-with
    yield proc
    proc.kill()
    proc.wait()


def refused_before_any_client(feature, params, host='mail01.example.test'):
    """Run ``feature`` through runner.execute with ``params`` (validated like the action plugin does) and a client
    factory that fails the test: the refusal must come before a client exists. Returns the task's message."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.mailops.port25.plugins.module_utils import runner

    def no_client(settings):
        raise AssertionError('a client was created for %s' % settings.host)

    validated = ArgumentSpecValidator(runner.argument_spec(feature), **runner.validation_rules(feature)).validate(
        dict(params, winrm_host=host, winrm_user='ops', winrm_password='S3cret!pass'))
    assert not validated.error_messages, validated.error_messages
    result = runner.execute(feature, validated.validated_parameters, client_factory=no_client)
    assert result['failed'] is True and result['changed'] is False
    return result['msg']
