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

import os
import re
import sys
from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.mailops.port25.plugins.module_utils import connection, runner
from ansible_collections.mailops.port25.plugins.module_utils.text import printable

# Connection plugins whose host variables describe a WinRM endpoint.
WINRM_CONNECTIONS = ("winrm", "psrp")
# Inventory variables that feed a no_log option (the password).
SECRET_VARIABLES = frozenset(name for option, names in connection.INVENTORY_VARIABLES
                             if connection.WINRM_ARGSPEC[option].get("no_log") for name in names)


def connection_name(task_vars, task):
    """Short name of the host's connection plugin (``ansible.builtin.winrm`` -> ``winrm``), or ''."""
    name = task_vars.get("ansible_connection") or getattr(task, "connection", None) or ""
    return str(name).rpartition(".")[2]


def failed(msg):
    """The action's own failure result; its message may quote a variable's value, so it is made printable too."""
    return {"failed": True, "changed": False, "msg": printable(msg)}


def shared_env_host(env_host, hosts):
    """Why ``MAILOPS_WINRM_HOST`` must not be used for ``hosts`` (the play's hosts that would take it), or None.

    The variable names one Windows server: for two or more hosts it would diagnose (and fix) that one server under
    each host's name, and the report would show its answer for every one of them.
    """
    if not env_host or len(hosts) < 2:
        return None
    shown = ", ".join(printable(str(host)) for host in hosts[:5]) + (", ..." if len(hosts) > 5 else "")
    return ("%sHOST (%s) names one Windows server, but %d hosts of this play have no WinRM inventory settings (%s): each "
            "would be reported with that server's diagnosis. Give each host ansible_connection=winrm (or psrp) and "
            "ansible_host, set winrm_host on the task, or run the play for one host" % (
                connection.ENV_PREFIX, printable(env_host), len(hosts), shown))


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
        return self._winrm_options(task_vars)

    def _winrm_options(self, host_vars):
        """winrm_* options from one host's variables (templated), with -u / --ask-pass where they set nothing."""
        wanted = {}
        for _option, names in connection.INVENTORY_VARIABLES:
            for name in names:
                if name in host_vars:
                    wanted[name] = host_vars[name]
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

    def _env_host_problem(self, args, task_vars):
        """shared_env_host() for this play, when this host's winrm_host would come from the environment."""
        env_host = os.environ.get(connection.ENV_PREFIX + "HOST")
        if not env_host or args.get("winrm_host") is not None:
            return None
        hostvars = task_vars.get("hostvars") or {}
        play_hosts = task_vars.get("ansible_play_hosts_all") or task_vars.get("ansible_play_hosts") or []
        # A host takes the environment's server when the collection reads no inventory settings for it: not winrm/psrp.
        sharing = [name for name in play_hosts
                   if connection_name(hostvars.get(name) or {}, self._task) not in WINRM_CONNECTIONS]
        return shared_env_host(env_host, sharing)

    def _task_defaults(self, task_vars):  # pylint: disable=unused-argument
        """Option defaults that come from the play rather than the inventory's WinRM variables (none here)."""
        return {}

    def _port_host_options(self, args, task_vars):
        """The port host's connection settings, from ITS inventory variables (never the mail host's), or an error text.

        Only for features with a ``port_host`` option, and only when the task names one without giving
        ``port_host_connection``. The named host must be in the inventory, be another host, and use WinRM.
        """
        name = args.get("port_host")
        if not name or args.get("port_host_connection") or "port_host" not in runner.argument_spec(self.FEATURE):
            return None
        hostvars = task_vars.get("hostvars") or {}
        if not isinstance(name, str) or name not in hostvars:
            return "port_host %s is not a host of the inventory: name the inventory host on which this host's port is bound" % (name,)
        if name == task_vars.get("inventory_hostname"):
            return "port_host %s is this host itself: name the host on which its port is bound" % name
        port_vars = hostvars[name]
        kind = str(port_vars.get("ansible_connection") or getattr(self._task, "connection", None) or "").rpartition(".")[2]
        if kind not in WINRM_CONNECTIONS:
            return ("port_host %s does not use a WinRM connection (ansible_connection=%s): its settings cannot be read from "
                    "the inventory; give port_host_connection" % (name, kind or "unset"))
        options = self._winrm_options(dict((key, port_vars[key]) for names in connection.INVENTORY_VARIABLES for key in names[1]
                                           if key in port_vars))
        options.setdefault("winrm_host", name)   # as for any host: no ansible_host means its inventory name
        args["port_host_connection"] = options
        return None

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
            return failed(str(exc))
        for option in self._consumed_args():
            args.pop(option, None)
        for option, value in list(inventory.items()) + list(defaults.items()):
            if args.get(option) is None:
                args[option] = value
        try:
            problem = self._env_host_problem(args, task_vars) or self._port_host_options(args, task_vars)
        except AnsibleError as exc:
            problem = str(exc)
        if problem:
            return failed(self._with_origins(problem, args))

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
            return remove_values(failed(self._with_origins("; ".join(messages), args)), no_log_values)

        if not connection.HAS_WINRM:
            return {"failed": True, "changed": False,
                    "msg": "Failed to import the required Python library (pywinrm) on the controller's Python %s. "
                           "Install it with: pip install 'pywinrm>=0.5.0'" % ".".join(str(v) for v in sys.version_info[:2]),
                    "exception": connection.WINRM_IMPORT_ERROR}

        result = runner.execute(feature, validated.validated_parameters,
                                check_mode=bool(self._task.check_mode), diff=bool(self._task.diff))
        return remove_values(result, no_log_values)
