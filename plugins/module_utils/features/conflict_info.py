# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""conflict_info: the whole KB Q222553 diagnosis of one host in one session and four WS-Man requests.

Requests: listeners (MSFT_NetTCPConnection), every service (projection), every process (projection),
the bind-failure events of the profile within the window. The profile is detected from the services
answer, so the event query comes last. Over NTLM/HTTP the three authentication legs make it seven
HTTP requests per host.
"""

from __future__ import annotations

from ansible_collections.mailops.port25.plugins.module_utils import antivirus, diagnosis, host_queries as hq, profiles

ARGUMENT_SPEC = dict(
    port=dict(type='int', default=25),
    smtp_service=dict(type='str', default=profiles.SMTP_SERVICE),
    mail_service=dict(type='str'),
    profile=dict(type='str', default='auto', choices=list(profiles.PROFILE_CHOICES)),
    event_window_hours=dict(type='int', default=72),
    antivirus_catalogue=antivirus.OPTION_SPEC,
)
SUPPORTS_CHECK_MODE = True


def check_params(params, host):
    hq.check_port(host, params['port'])
    hq.check_window(host, params['event_window_hours'], 'event_window_hours')
    hq.check_name(host, params['smtp_service'], 'smtp_service')
    hq.check_name(host, params.get('mail_service'), 'mail_service')
    hq.check_catalogue(host, params.get('antivirus_catalogue'))


def run(client, params, check_mode=False, diff=False):  # pylint: disable=unused-argument
    """Read-only: check mode and diff change nothing here."""
    return diagnose(client, params)[0]


def diagnose(client, params):
    """The diagnosis result and the antivirus catalogue it used (the conflict module's rules need both).

    ``params`` have passed ``check_params``.
    """
    port, window = params['port'], params['event_window_hours']
    smtp_name, mail_option = params['smtp_service'], params.get('mail_service')
    catalogue = antivirus.Catalogue(params.get('antivirus_catalogue'))

    gaps = []
    listeners, services, processes = hq.read_port_holders(client, port, gaps)
    names = [s['name'] for s in services or ()]
    profile, profile_source = profiles.resolve(params['profile'], names)
    events = hq.tolerant(gaps, hq.EVENT_CLASS, hq.read_events, client, hq.since_hours(window), signatures=profile.events)

    products = antivirus.find_products(catalogue, services or [], processes or [], diagnosis.port_pids(listeners))
    smtp_service = diagnosis.service_summary(smtp_name, services)
    smtp_service['is_transport'] = bool(profile.smtp_is_transport and smtp_service['exists'])
    mail_service = diagnosis.service_summary(mail_option or profile.mail_service, services)
    verdict = diagnosis.diagnose(port, profile, listeners, smtp_service, mail_service, products, events or [], gaps,
                                 catalogue, window_hours=window)
    return {
        'changed': False,
        'host': client.host,
        'port': port,
        'profile': profile.name,
        'profile_source': profile_source,
        'detected_profile': profiles.detect(names) if services is not None else None,
        'listeners': listeners,
        'owner': verdict['owner'],
        'smtp_service': smtp_service,
        'mail_service': mail_service,
        'antivirus': antivirus.summary(products),
        'events': events or [],
        'findings': verdict['findings'],
        'gaps': gaps,
        'compliant': verdict['compliant'],
    }, catalogue
