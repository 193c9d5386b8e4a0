# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Win32_Service method calls with a deadline: StopService, StartService, ChangeStartMode.

Nothing here retries a method call. When a call gets no usable answer (timeout, dropped connection),
the service is read again and the decision is taken from what the host says now.
"""

from __future__ import annotations

import time

from ansible_collections.mailops.port25.plugins.module_utils import cim, errors, host_queries as hq

NAMESPACE = hq.CIMV2
CLASS_NAME = hq.SERVICE_CLASS

PENDING_STATES = ('start_pending', 'stop_pending', 'continue_pending', 'pause_pending')
PENDING_ON_THE_WAY = {'running': 'start_pending', 'stopped': 'stop_pending'}

# The argument ChangeStartMode wants for a normalised start mode.
CHANGE_START_MODE_ARGUMENT = {'auto': 'Automatic', 'manual': 'Manual', 'disabled': 'Disabled'}

# Every ReturnValue the Win32_Service control methods document, in plain words.
RETURN_CODES = {
    0: 'the request was accepted',
    1: 'the request is not supported by this service',
    2: 'access denied: the account has no right to control this service (or the service is protected)',
    3: 'other running services depend on it; stop them first (option dependents=stop)',
    4: 'the control code is not valid for this service',
    5: 'the service cannot accept the control in its current state',
    6: 'the service is not running',
    7: 'the service did not answer the control request in time',
    8: 'unknown failure while starting the service',
    9: 'the path of the service executable was not found',
    10: 'the service is already running',
    11: 'the service database is locked',
    12: 'a service this one depends on has been removed',
    13: 'a service this one depends on could not be started',
    14: 'the service is disabled',
    15: 'the service could not log on with its account',
    16: 'the service is marked for deletion',
    17: 'the service has no execution thread',
    18: 'the service has a circular dependency',
    19: 'a service with the same name is already running',
    20: 'the service name is not valid',
    21: 'a parameter passed to the service is not valid',
    22: 'the account this service runs as is not valid or lacks rights',
    23: 'the service already exists in the service database',
    24: 'the service is paused',
}

# Win32 exit codes worth a word when a service stops right after a start.
EXIT_CODES = {
    1066: 'the service reported a service-specific error',
    1053: 'the service did not respond to the start request in time',
    1069: 'the service could not log on',
}
WINSOCK_ADDRESS_IN_USE = 10048


def return_code_message(method, code):
    """Plain-English text for a Win32_Service method ReturnValue (any int, documented or not)."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return '%s returned no usable ReturnValue (%r)' % (method, code)
    text = RETURN_CODES.get(code, 'undocumented return value')
    return '%s returned %d: %s' % (method, code, text)


def read_service(client, name):
    """The service as the host reports it now; ``exists`` is False when there is no such service."""
    return hq.read_services_by_name(client, [name], hq.SERVICE_CONTROL)[name.lower()]


def short(service):
    """The part of a service that actions record (and rollback restores)."""
    return {'state': service['state'], 'start_mode': service['start_mode']}


def fail(client, operation, msg, accepted=False):
    raise errors.ServiceControlError(msg, host=getattr(client, 'host', None), operation=operation, accepted=accepted)


def exit_code_text(service):
    code = service.get('exit_code')
    specific = service.get('service_specific_exit_code')
    parts = []
    if code:
        parts.append('exit code %d (%s)' % (code, EXIT_CODES.get(code, 'Win32 error')))
    if specific:
        text = 'service-specific error %d' % specific
        if specific == WINSOCK_ADDRESS_IN_USE:
            text += ' (WSAEADDRINUSE: another program holds the port)'
        parts.append(text)
    return ', '.join(parts) if parts else 'no exit code'


class Deadline(object):
    """A deadline for pending states, with injectable clock and sleep so tests run instantly."""

    def __init__(self, seconds, clock=time.monotonic, sleep=time.sleep):
        self.seconds = seconds
        self.clock = clock
        self.sleep = sleep
        self.end = clock() + seconds

    def remaining(self):
        return self.end - self.clock()

    def pause(self, interval):
        self.sleep(max(0.0, min(interval, self.remaining())))


def _intervals(first=0.25, most=1.0):
    """Pauses between two reads of a pending service: 0.25 s, then half as long again each time, at most 1 s."""
    interval = first
    while True:
        yield interval
        interval = min(interval * 1.5, most)


def wait_for_state(client, name, wanted, deadline, operation):
    """Poll until the service reaches ``wanted`` (running|stopped); fail at the deadline or when it settles elsewhere.

    A service that was asked to start and is found stopped again has failed to start: that is reported with
    its exit codes at once instead of waiting for the deadline. Every failure here comes after the host
    accepted the call, so it is a ServiceControlError with ``accepted`` True.
    """
    for interval in _intervals():
        service = read_service(client, name)
        if not service['exists']:
            fail(client, operation, 'service %s disappeared while waiting for it to be %s' % (name, wanted), accepted=True)
        state = service['state']
        if state == wanted:
            return service
        if wanted == 'running' and state == 'stopped':
            fail(client, operation, 'service %s stopped again right after it was started: %s' % (name, exit_code_text(service)),
                 accepted=True)
        if state not in PENDING_STATES and state != 'unknown':
            fail(client, operation, 'service %s is %s, expected %s' % (name, state, wanted), accepted=True)
        if deadline.remaining() <= 0:
            fail(client, operation, 'service %s is still %s after %s s (timeout); it was not asked again'
                 % (name, state, deadline.seconds), accepted=True)
        deadline.pause(interval)


def _after_accepted(client, operation, name, doing, read):
    """Run ``read`` (the wait or the read-back) after a call the host accepted, or may have accepted.

    A lost connection or a fault on the way becomes a ServiceControlError with ``accepted`` True that names the host,
    the service and what is known: the change may still happen, so the caller records the call instead of losing it.
    """
    try:
        return read()
    except (errors.ConnectionFailure, errors.WSManFault) as exc:
        cause = '%s: %s' % (exc.operation, exc.text()) if exc.operation else exc.text()
        fail(client, operation, '%s on %s %s failed (%s); the call was not repeated' % (operation, name, doing, cause), accepted=True)


def wait_until_settled(client, name, deadline, operation):
    """A service found in a pending state is left to finish before anything is decided about it."""
    for interval in _intervals():
        service = read_service(client, name)
        if not (service['exists'] and service['state'] in PENDING_STATES):
            return service
        if deadline.remaining() <= 0:
            fail(client, operation, 'service %s is still %s after %s s (timeout); nothing was done'
                 % (name, service['state'], deadline.seconds))
        deadline.pause(interval)


def invoke(client, name, method, params=None):
    """Call a Win32_Service method once. Returns the ReturnValue as int, or None when no answer came back.

    A timed-out or dropped call may or may not have reached the service, so the caller re-reads the state.
    """
    try:
        output = client.invoke(NAMESPACE, CLASS_NAME, method, {'Name': name}, params)
    except errors.WSManFault as exc:
        if exc.is_timed_out:
            return None
        raise
    except errors.ConnectionFailure:
        return None
    return cim.to_int((output or {}).get('ReturnValue'))


def _no_answer(client, operation, name, service, wanted):
    fail(client, operation, '%s on %s got no answer (timed out or connection lost); the service is %s, not %s; '
         'the call was not repeated' % (operation, name, service['state'], wanted))


def _control(client, name, method, wanted, deadline):
    """Call StopService/StartService once, then wait for ``wanted``; without an answer, follow what the host shows."""
    code = invoke(client, name, method)
    if code is None:
        service = _after_accepted(client, method, name, 'got no answer (it may have been accepted), then reading the service again',
                                  lambda: read_service(client, name))
        if service['state'] not in (wanted, PENDING_ON_THE_WAY[wanted]):
            _no_answer(client, method, name, service, wanted)
    elif code != 0:
        fail(client, method, '%s on %s' % (return_code_message(method, code), name))
    return _after_accepted(client, method, name, 'was accepted, then waiting for it to be %s' % wanted,
                           lambda: wait_for_state(client, name, wanted, deadline, method))


def stop(client, name, deadline):
    """StopService, then wait until stopped. Returns the service as read at the end."""
    return _control(client, name, 'StopService', 'stopped', deadline)


def start(client, name, deadline):
    """StartService, then wait until running (fails with the exit codes when the service stops again)."""
    return _control(client, name, 'StartService', 'running', deadline)


def set_start_mode(client, name, start_mode):
    """ChangeStartMode to auto|manual|disabled; verified by reading the service back.

    A failure after the call returned 0, or a read-back that fails after a call that got no answer, has ``accepted``
    True (the start mode may have changed); a refused call, or no answer and the old start mode, has ``accepted`` False.
    """
    argument = CHANGE_START_MODE_ARGUMENT[start_mode]
    code = invoke(client, name, 'ChangeStartMode', {'StartMode': argument})
    if code is not None and code != 0:
        fail(client, 'ChangeStartMode', '%s on %s' % (return_code_message('ChangeStartMode', code), name))
    doing = 'was accepted, then reading the start mode back' if code == 0 else \
        'got no answer (it may have been accepted), then reading the start mode back'
    service = _after_accepted(client, 'ChangeStartMode', name, doing, lambda: read_service(client, name))
    if service['start_mode'] != start_mode:
        why = 'got no answer' if code is None else 'was accepted'
        fail(client, 'ChangeStartMode', 'ChangeStartMode(%s) on %s %s but the start mode is %s; the call was not repeated'
             % (argument, name, why, service['start_mode']), accepted=code == 0)
    return service
