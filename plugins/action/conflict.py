# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs mailops.port25.conflict in Ansible's worker on the controller (no module process per host)."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils.features import conflict
from ansible_collections.mailops.port25.plugins.plugin_utils.action import FeatureAction


class ActionModule(FeatureAction):
    FEATURE = conflict

    def _task_defaults(self, task_vars):
        # The record is kept under the inventory name: that is how the report and rollback find it.
        return {'host_name': task_vars.get('inventory_hostname')}
