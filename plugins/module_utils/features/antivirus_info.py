# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""antivirus_info: antivirus and mail-security products found by service and process name, and whether one holds the port."""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, diagnosis, host_queries as hq

ARGUMENT_SPEC = dict(
    port=dict(type='int', default=25),
    antivirus_catalogue=antivirus.OPTION_SPEC,
)
SUPPORTS_CHECK_MODE = True


def check_params(params, host):
    hq.check_port(host, params['port'])
    hq.check_catalogue(host, params.get('antivirus_catalogue'))


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only: listeners, then the catalogue's services and those in the listening processes, then processes."""
    port = params['port']
    catalogue = antivirus.Catalogue(params.get('antivirus_catalogue'))
    gaps = []
    listeners, services, processes = hq.read_port_holders(client, port, gaps, catalogue=catalogue)
    products = antivirus.find_products(catalogue, services or [], processes or [], diagnosis.port_pids(listeners))
    result = {'changed': False, 'host': client.host, 'port': port, 'gaps': gaps}
    result.update(antivirus.summary(products))
    return result
