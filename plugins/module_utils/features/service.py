# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The service module: bring one Windows service to a state and start mode, idempotently, with a deadline."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import errors, host_queries as hq, service_control as sc

ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    state=dict(type='str', choices=['started', 'stopped']),
    start_mode=dict(type='str', choices=['auto', 'manual', 'disabled']),
    timeout=dict(type='int', default=60),
    dependents=dict(type='str', choices=['fail', 'stop'], default='fail'),
    allowed=dict(type='list', elements='str'),
)
REQUIRED_ONE_OF = [['state', 'start_mode']]
SUPPORTS_CHECK_MODE = True

WANTED_STATE = {'started': 'running', 'stopped': 'stopped'}


def _invalid(host, msg):
    raise errors.InvalidOption(msg, host=host, operation='service')


def check_params(params, host):
    """Refusals that need no request to the host.

    Types, choices and "one of state or start_mode" are the argument spec's (REQUIRED_ONE_OF); these are the rules
    it cannot express.
    """
    name = params['name']
    if not name or not name.strip():
        _invalid(host, 'name must not be empty')
    if params.get('state') == 'started' and params.get('start_mode') == 'disabled':
        _invalid(host, 'state=started with start_mode=disabled cannot both hold for %s' % name)
    if params['timeout'] < 1:
        _invalid(host, 'timeout must be at least 1 second (got %d)' % params['timeout'])
    allowed = params.get('allowed')
    if allowed is not None and not is_allowed(name, allowed):
        _invalid(host, 'refusing to act on service %s: it is not on the allowed list (%s)' % (name, ', '.join(allowed) or 'empty'))


def is_allowed(name, allowed):
    # Windows service names are case-insensitive.
    return name.lower() in set(item.lower() for item in allowed)


def plan(service, state, start_mode):
    """The actions that bring ``service`` to the wanted state and start mode, in the order they run (pure).

    Stopping comes before disabling and enabling before starting, so a rollback in reverse order is natural.
    Each action is {action, service, before: {state, start_mode}, after: {state, start_mode}}.
    """
    actions = []
    current = sc.short(service)

    def add(action, **after):
        nxt = dict(current, **after)
        actions.append({'action': action, 'service': service['name'], 'before': dict(current), 'after': nxt})
        current.update(after)

    wanted = WANTED_STATE.get(state)
    if wanted == 'stopped' and current['state'] != 'stopped':
        add('stop', state='stopped')
    if start_mode is not None and current['start_mode'] != start_mode:
        add('set_start_mode', start_mode=start_mode)
    if wanted == 'running' and current['state'] != 'running':
        add('start', state='running')
    return actions


def _refuse_impossible(client, service, state, start_mode):
    """Failures the host would give, predicted before anything is changed (so check mode predicts them too)."""
    name = service['name']
    if state == 'started' and service['state'] != 'running':
        mode = start_mode or service['start_mode']
        if mode == 'disabled':
            sc.fail(client, 'StartService', 'service %s is disabled; StartService would return 14 (set start_mode to auto or manual)' % name)
        if service['state'] == 'paused':
            sc.fail(client, 'StartService', 'service %s is paused; resuming a paused service is not supported' % name)


def run(client, params, check_mode=False, diff=False, deadline_factory=sc.Deadline):
    name = params['name']
    state = params.get('state')
    start_mode = params.get('start_mode')
    deadline = deadline_factory(params['timeout'])

    before = sc.wait_until_settled(client, name, deadline, 'service')
    if not before['exists']:
        sc.fail(client, 'service', 'there is no service named %s on this host' % name)
    name = before['name']  # the host's spelling
    _refuse_impossible(client, before, state, start_mode)

    gaps = []
    dependents = []
    if WANTED_STATE.get(state) == 'stopped' and before['state'] != 'stopped':
        dependents = _dependents_to_stop(client, before, params, gaps)
    actions = []
    for dependent in dependents:
        actions.extend(plan(dependent, 'stopped', None))
    actions.extend(plan(before, state, start_mode))

    if check_mode:
        after = predict(before, actions)
        # The real run marks each action it carried out; check mode predicts exactly that.
        actions = [dict(action, completed=True) for action in actions]
    else:
        apply_all(client, actions, deadline)
        after = sc.read_service(client, name) if actions else before

    result = {
        'changed': bool(actions),
        'name': name,
        'before': _public(before),
        'after': _public(after),
        'actions': actions,
        'stopped_dependents': [dependent['name'] for dependent in dependents],
        'gaps': gaps,
    }
    if diff:
        result['diff'] = {'before': _public(before), 'after': _public(after)}
    return result


def _public(service):
    return {'state': service['state'], 'start_mode': service['start_mode'], 'pid': service['pid'], 'exists': service['exists']}


def predict(service, actions):
    """The service as it would be after ``actions`` (check mode); a state change means a new or no process."""
    after = dict(service)
    for action in actions:
        if action['service'].lower() == service['name'].lower():
            after.update(action['after'])
    if after['state'] != service['state']:
        after['pid'] = None
    return after


def apply_all(client, actions, deadline):
    """Carry out the actions in order, marking each one carried out with ``completed: True``; returns them.

    On failure the ServiceControlError lists the actions completed and, when the host had accepted the failed
    action's call (its wait or read-back failed), that action too with ``completed: False``: its change may still
    happen, so it must be in the record with its before-state. Actions never attempted, or refused, are not listed.
    """
    done = []
    for action in actions:
        try:
            _apply(client, action, deadline)
        except errors.Port25Error as exc:
            accepted = getattr(exc, 'accepted', False)
            if accepted:
                action['completed'] = False
                done.append(action)
            raise errors.ServiceControlError(exc.text(), host=exc.host, operation=exc.operation, actions=done,
                                             accepted=accepted) from exc
        action['completed'] = True
        done.append(action)
    return done


def _apply(client, action, deadline):
    name = action['service']
    if action['action'] == 'stop':
        return sc.stop(client, name, deadline)
    if action['action'] == 'start':
        return sc.start(client, name, deadline)
    return sc.set_start_mode(client, name, action['after']['start_mode'])


def _dependents_to_stop(client, service, params, gaps):
    """Running services that depend on ``service`` (deepest first); fails unless dependents=stop and all are allowed."""
    running = running_dependents(client, service['name'], gaps)
    if not running:
        return []
    names = ', '.join(dep['name'] for dep in running)
    if params['dependents'] != 'stop':
        sc.fail(client, 'StopService', 'running services depend on %s: %s; nothing was stopped (use dependents=stop to stop them first)'
                % (service['name'], names))
    allowed = params.get('allowed')
    refused = [dep['name'] for dep in running if allowed is not None and not is_allowed(dep['name'], allowed)]
    if refused:
        sc.fail(client, 'StopService', 'refusing to stop %s: dependents %s are not on the allowed list; nothing was stopped'
                % (service['name'], ', '.join(refused)))
    return running


def running_dependents(client, name, gaps=None):
    """Running services that depend on ``name``, directly or not, in a safe stop order (deepest first).

    When Win32_DependentService cannot be read (hq.DEPENDENCY_FAULTS) a gap goes to ``gaps`` and the answer is []:
    StopService itself then refuses (ReturnValue 3) while dependents run.
    """
    graph = hq.read_dependents_tolerant(client, [] if gaps is None else gaps)
    if graph is None:
        return []
    order = []
    seen = set()

    def visit(service_name):
        for dependent in graph.get(service_name.lower(), []):
            if dependent.lower() not in seen:
                seen.add(dependent.lower())
                visit(dependent)
                order.append(dependent)

    visit(name)
    if not order:
        return []
    services = hq.read_services_by_name(client, order, hq.SERVICE_CONTROL)
    return [services[dep.lower()] for dep in order
            if services[dep.lower()]['exists'] and services[dep.lower()]['state'] not in ('stopped', None)]
