# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module per Ansible module: the feature behind both the module and the action plugin.

Contract of a feature module::

    ARGUMENT_SPEC = {...}                 # module options, without the winrm_* connection options
    MUTUALLY_EXCLUSIVE = [...]            # optional, as AnsibleModule's keywords
    REQUIRED_IF = [...]                   # optional
    REQUIRED_TOGETHER = [...]             # optional
    REQUIRED_ONE_OF = [...]               # optional
    SUPPORTS_CHECK_MODE = True
    def run(client, params, check_mode=False, diff=False) -> dict:
        '''Return the result (without 'failed'); raise errors.Port25Error on failure.'''
"""
