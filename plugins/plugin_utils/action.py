# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FeatureAction: run a feature in-process in Ansible's worker, on the controller.

The action never executes the module file and never opens the Ansible
connection: it talks to the Windows host itself over WinRM (pywinrm). Imports
happen at module level because the parent process loads action plugins once and
forks its workers, so each host pays nothing for them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.mailops.port25.plugins.module_utils import connection, runner

# Connection plugins whose host variables describe a WinRM endpoint.
WINRM_CONNECTIONS = ("winrm", "psrp")
# Inventory variables that feed a no_log option (the password).
SECRET_VARIABLES = frozenset(name for option, names in connection.INVENTORY_VARIABLES
                             if connection.WINRM_ARGSPEC[option].get("no_log") for name in names)


def connection_name(task_vars, task):
    """Short name of the host's connection plugin (``ansible.builtin.winrm`` -> ``winrm``), or ''."""
    name = task_vars.get("ansible_connection") or getattr(task, "connection", None) or ""
    return str(name).rpartition(".")[2]


def plain(value):
    """``value`` as builtin Python types, as a module receives its arguments (from JSON).

    Before ansible-core 2.19 task arguments and variables are ``AnsibleUnicode``, ``AnsibleUnsafeText``,
    ``AnsibleMapping`` ... (and a vaulted variable is not even a ``str``); the argument validator would name
    those classes in its messages and the features would see them.
    """
    if isinstance(value, Mapping):
        return dict((plain(key), plain(item)) for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    if getattr(value, "__ENCRYPTED__", False):
        value = str(value)  # decrypts (AnsibleVaultEncryptedUnicode before 2.19)
    # str.__str__ and friends return the builtin type even where a subclass overrides __str__ (AnsibleUnsafeText).
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value


class FeatureAction(ActionBase):
    """Base class of the collection's action plugins; subclasses set ``FEATURE``."""

    FEATURE = None
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def _inventory_options(self, task_vars):
        """winrm_* options from the inventory host's WinRM variables, templated (only when its connection is WinRM)."""
        if connection_name(task_vars, self._task) not in WINRM_CONNECTIONS:
            return {}
        # With delegate_to: localhost the top-level vars are still the inventory host's, which is what we want.
        wanted = {}
        for _option, names in connection.INVENTORY_VARIABLES:
            for name in names:
                if name in task_vars:
                    wanted[name] = task_vars[name]
        templated = {}
        for name, value in wanted.items():
            try:
                templated[name] = self._templar.template(value)
            except AnsibleError as exc:
                # ansible-core before 2.19 quotes the template text in its message: for a password variable, the password.
                secrets = set(str(plain(wanted[secret])) for secret in SECRET_VARIABLES.intersection(wanted)) - {""}
                raise AnsibleError(remove_values("cannot template the inventory variable %s: %s" % (name, exc.message), secrets))
        options = connection.options_from_inventory(plain(templated))
        # A user (-u, the play's remote_user) or a password (--ask-pass, an AWX machine credential) given outside
        # the inventory is not a variable: Ansible keeps it in the play context. Inventory variables win, as in Ansible.
        for option, attribute in (("winrm_user", "remote_user"), ("winrm_password", "password")):
            value = getattr(self._play_context, attribute, None)
            if option not in options and value:
                options[option] = value
        return options

    def _task_defaults(self, task_vars):  # pylint: disable=unused-argument
        """Option defaults that come from the play rather than the inventory's WinRM variables (none here)."""
        return {}

    def _consumed_args(self):
        """Task arguments the action itself uses up; they do not reach the feature (none here)."""
        return ()

    def _option_origin(self, option):  # pylint: disable=unused-argument
        """The variable an option's value came from, to name it in an error (None: the task or the inventory)."""
        return None

    def _with_origins(self, text, args):
        """``text`` plus the variables that set options it names, so that the user knows what to fix."""
        origins = ['%s (from the variable %s)' % (option, self._option_origin(option)) for option in sorted(args)
                   if self._option_origin(option) and re.search(r"\b%s\b" % re.escape(option), text)]
        return text + ('; options set by variables: %s' % ', '.join(origins) if origins else '')

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        super(FeatureAction, self).run(tmp, task_vars)
        feature = self.FEATURE
        args = plain(self._task.args)
        spec = runner.argument_spec(feature)

        # Precedence: task args > inventory > environment (fallback) > default.
        try:
            inventory = self._inventory_options(task_vars)
            defaults = self._task_defaults(task_vars)
        except AnsibleError as exc:
            return {"failed": True, "changed": False, "msg": str(exc)}
        for option in self._consumed_args():
            args.pop(option, None)
        for option, value in list(inventory.items()) + list(defaults.items()):
            if args.get(option) is None:
                args[option] = value

        validator = ArgumentSpecValidator(spec, **runner.validation_rules(feature))
        validated = validator.validate(args)
        no_log_values = set(validated._no_log_values)
        if validated.error_messages:
            messages = []
            for error in validated.errors:
                text = error.msg if hasattr(error, "msg") else str(error)
                if isinstance(error, UnsupportedError):
                    text = "Unsupported parameters for (%s) module: %s" % (self._task.action, text)
                messages.append(text)
            return remove_values({"failed": True, "changed": False, "msg": self._with_origins("; ".join(messages), args)},
                                 no_log_values)

        if not connection.HAS_WINRM:
            return {"failed": True, "changed": False,
                    "msg": "Failed to import the required Python library (pywinrm) on the controller's Python %s. "
                           "Install it with: pip install 'pywinrm>=0.5.0'" % ".".join(str(v) for v in sys.version_info[:2]),
                    "exception": connection.WINRM_IMPORT_ERROR}

        result = runner.execute(feature, validated.validated_parameters,
                                check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
        return remove_values(result, no_log_values)
