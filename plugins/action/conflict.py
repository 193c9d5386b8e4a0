# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs mailops.port25.conflict in Ansible's worker on the controller (no module process per host)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleError

from ansible_collections.mailops.port25.plugins.module_utils.features import conflict
from ansible_collections.mailops.port25.plugins.plugin_utils.action import FeatureAction, plain

# Options a variable never sets: what the task is, and who the record belongs to.
NOT_FROM_VARIABLES = frozenset(('state', 'vars_prefix', 'host_name', 'record', 'record_file'))
PREFIX = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


class ActionModule(FeatureAction):
    FEATURE = conflict

    def _task_defaults(self, task_vars):
        # The record is kept under the inventory name: that is how the report and rollback find it.
        defaults = {'host_name': task_vars.get('inventory_hostname')}
        prefix = self._task.args.get('vars_prefix')
        if prefix is None:
            return defaults
        if not isinstance(prefix, str) or not PREFIX.match(prefix):
            raise AnsibleError('vars_prefix must be a variable name prefix (letters, digits, _), got %r' % (prefix,))
        # Only the variables that are set are templated: a role passes its variables without one template per option.
        for option in conflict.ARGUMENT_SPEC:
            name = '%s_%s' % (prefix, option)
            if option not in NOT_FROM_VARIABLES and name in task_vars:
                value = plain(self._templar.template(task_vars[name]))
                if value is not None and value != '':  # as default(omit, true): an empty variable leaves the option unset
                    defaults[option] = value
                    self._from_variables[option] = name
        return defaults

    def run(self, tmp=None, task_vars=None):
        self._from_variables = {}
        return super(ActionModule, self).run(tmp, task_vars)

    def _consumed_args(self):
        return ('vars_prefix',)

    def _option_origin(self, option):
        return self._from_variables.get(option)
