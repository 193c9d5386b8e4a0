# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one path every module takes, whether run as a module or from the action plugin."""

from __future__ import annotations

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mailops.port25.plugins.module_utils import connection, kerberos
from ansible_collections.mailops.port25.plugins.module_utils.errors import MissingDependency, Port25Error
from ansible_collections.mailops.port25.plugins.module_utils.text import printable_data
from ansible_collections.mailops.port25.plugins.module_utils.wsman import WSManClient

# Feature attribute -> AnsibleModule / ArgumentSpecValidator keyword, with the connection rules merged in.
_RULES = (
    ("MUTUALLY_EXCLUSIVE", "mutually_exclusive", ()),
    ("REQUIRED_TOGETHER", "required_together", connection.WINRM_REQUIRED_TOGETHER),
    ("REQUIRED_ONE_OF", "required_one_of", ()),
    ("REQUIRED_IF", "required_if", connection.WINRM_REQUIRED_IF),
    ("REQUIRED_BY", "required_by", None),
)


def argument_spec(feature):
    """Deep copy of WINRM_ARGSPEC merged with the feature's ARGUMENT_SPEC (the shared dicts are never mutated)."""
    spec = copy.deepcopy(connection.WINRM_ARGSPEC)
    spec.update(copy.deepcopy(getattr(feature, "ARGUMENT_SPEC", {})))
    return spec


def validation_rules(feature):
    """Keyword arguments (mutually_exclusive, required_if, ...) for AnsibleModule / ArgumentSpecValidator."""
    rules = {}
    for attribute, keyword, common in _RULES:
        own = getattr(feature, attribute, None)
        if keyword == "required_by":
            if own:
                rules[keyword] = copy.deepcopy(own)
            continue
        merged = copy.deepcopy(list(common)) + copy.deepcopy(list(own or ()))
        if merged:
            rules[keyword] = merged
    return rules


def failure(exc):
    """The module result for a Port25Error.

    A failure can come after changes were made (a service stopped, then its start mode refused):
    those are on the exception's ``actions``, and the task must then report ``changed``.
    """
    made = [action for action in getattr(exc, "actions", None) or [] if action.get("changed", True)]
    return {"failed": True, "changed": bool(made), "msg": str(exc), "error": exc.details()}


def with_replaced_characters(result, client):
    """The feature's result, plus ``replaced_characters`` and a warning for each class and property in which the host
    sent characters XML cannot carry (shown as U+FFFD): the answer is used, and the operator knows what was altered."""
    replaced = getattr(client, "replaced_characters", lambda: [])()
    if not replaced:
        return result
    result = dict(result or {})
    result["replaced_characters"] = replaced
    result["warnings"] = list(result.get("warnings") or []) + [
        "%s.%s: %d value(s) held characters XML cannot carry (control characters); they are shown as U+FFFD"
        % (entry["class"], entry["property"], entry["values"]) for entry in replaced]
    return result


def execute(feature, params, check_mode=False, diff=False, client_factory=None):
    """Validate connection settings, open the client, run the feature, close. Always returns a dict.

    Control and bidi characters in it are escaped (text.printable): the result is shown, never parsed back.
    """
    settings = None
    try:
        settings = connection.settings_from_params(params)
        # The feature's own refusals come before the client exists: bad input costs no request and no authentication.
        check = getattr(feature, "check_params", None)
        if check is not None:
            check(params, settings.host)
        # Kerberos: the user's ticket, in a cache private to this task, for as long as the task talks to the host
        with kerberos.ticket(settings):
            client = (client_factory or WSManClient)(settings)
            try:
                result = with_replaced_characters(feature.run(client, params, check_mode=check_mode, diff=diff), client)
            finally:
                client.close()
    except Port25Error as exc:
        return printable_data(failure(exc))
    except Exception as exc:  # a bug must still come back as a task failure, never as a password-bearing traceback
        return printable_data({
            "failed": True,
            "changed": False,
            "msg": connection.scrub("unexpected error: %s: %s" % (type(exc).__name__, exc), settings),
            "exception": connection.scrub(traceback.format_exc(), settings),
        })
    result = dict(result or {})
    result.setdefault("changed", False)
    if not diff:
        result.pop("diff", None)
    # Every string a host sent (names, messages, errors) is shown to a person: the terminal, the report, AWX.
    return printable_data(result)


def module_main(feature):
    """Entry point of the module files: AnsibleModule with the merged spec, then execute()."""
    module = AnsibleModule(
        argument_spec=argument_spec(feature),
        supports_check_mode=getattr(feature, "SUPPORTS_CHECK_MODE", True),
        **validation_rules(feature)
    )
    try:
        connection.require_winrm()
    except MissingDependency:
        module.fail_json(msg=missing_required_lib("pywinrm"), exception=connection.WINRM_IMPORT_ERROR)
    result = execute(feature, module.params, check_mode=module.check_mode, diff=module._diff)
    if result.pop("failed", False):
        msg = result.pop("msg")
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)
