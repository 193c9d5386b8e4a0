# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The texts of the faults the collection meets, in each language a lab host can speak (its scenario ``locale``).

A Windows server writes its fault texts in its own language and says which in ``xml:lang``; the codes and subcodes
stay the same. English texts are those of the captures in tests/captures and of the Windows SDK (wsmerror.h).

German texts: "Die Anforderung kann vom WS-Verwaltungsdienst nicht verarbeitet werden." and the shell-quota sentence
are real German Windows output (New-PSSession errors quoted in MicrosoftDocs/OfficeDocs-SkypeforBusiness-Test-pr.de-de,
server-2013/the-maximum-number-of-concurrent-shells-for-this-user-in-skype-for-business-online.md, and an Exchange 2010
console error of the same wording quoted in a German administrator's notes); the WMI access-denied sentence is the one
Microsoft's German Azure Migrate troubleshooting page quotes (a machine-translated page, with straight quotes here).
No German capture of the other texts was found: they are written in the same style and marked "translated here".
"""
from __future__ import annotations

LOCALES = ('en-US', 'de-DE')

_DE_CANNOT = 'Die Anforderung kann vom WS-Verwaltungsdienst nicht verarbeitet werden. '

TEXTS = {
    'en-US': {
        # ERROR_WSMAN_WMI_SVC_ACCESS_DENIED / _PROVIDER_ACCESS_DENIED / _CANNOT_CONNECT_ACCESS_DENIED (wsmerror.h)
        'access_denied_service': "The WS-Management service cannot process the request. The WMI service returned an "
                                 "'access denied' error. ",
        'access_denied_provider': "The WS-Management service cannot process the request. The WMI provider returned an "
                                  "'access denied' error. ",
        'access_denied_connect': "The WS-Management service cannot process the request. An 'access denied' error was "
                                 "received when connecting to the WMI service on the computer specified. ",
        # omi_wsmanparser_get_notfound_fault_win2012r2.xml
        'not_found': 'The WS-Management service cannot process the request. The service cannot find the resource '
                     'identified by the resource URI and selectors. ',
        'invalid_namespace': 'The WS-Management service cannot process the request. The CIM namespace %(namespace)s '
                             'is invalid. ',
        # omi_wsmanparser_timedout_fault.xml
        'timed_out': 'The WS-Management service cannot complete the operation within the time specified in '
                     'OperationTimeout.  ',
        # txwinrm_data_error_max_concurrent.xml
        'quota_operations': 'The WS-Management service cannot process the request. The maximum number of concurrent '
                            'operations for this user has been exceeded. Close existing operations for this user, or '
                            'raise the quota for this user.',
        'quota_operations_detail': 'The WS-Management service cannot process the request. This user is allowed a '
                                   'maximum number of %(limit)d concurrent operations, which has been exceeded. Close '
                                   'existing operations for this user, or raise the quota for this user. ',
        # winrb_winrm_tests_spec_stubs_responses_wmi_error_v2.xml
        'quota_shells': 'The WS-Management service cannot process the request. The maximum number of concurrent shells '
                        'for this user has been exceeded. Close existing shells or raise the quota for this user. ',
        'quota_shells_detail': 'The WS-Management service cannot process the request. This user is allowed a maximum '
                               'number of %(limit)d concurrent shells, which has been exceeded. Close existing shells '
                               'or raise the quota for this user. ',
        # winrb_winrm_2013_spec_mock_wsman_fault.xml
        'cannot_process_filter': 'The data source could not process the filter. The filter might be missing or it '
                                 'might be invalid. Change the filter and try the request again.  ',
        'class_not_found': 'The specified class does not exist in the given namespace. ',
        'invalid_query': 'The WQL query is invalid: %(problem)s. ',
    },
    'de-DE': {
        'access_denied_service': _DE_CANNOT + 'Der WMI-Dienst hat den Fehler "Zugriff verweigert" zurückgegeben. ',
        # translated here
        'access_denied_provider': _DE_CANNOT + 'Der WMI-Anbieter hat den Fehler "Zugriff verweigert" zurückgegeben. ',
        'access_denied_connect': _DE_CANNOT + 'Beim Herstellen der Verbindung mit dem WMI-Dienst auf dem angegebenen '
                                              'Computer wurde der Fehler "Zugriff verweigert" empfangen. ',
        'not_found': _DE_CANNOT + 'Die durch den Ressourcen-URI und die Selektoren angegebene Ressource wurde vom '
                                  'Dienst nicht gefunden. ',
        'invalid_namespace': _DE_CANNOT + 'Der CIM-Namespace %(namespace)s ist ungültig. ',
        'timed_out': 'Der WS-Verwaltungsdienst kann den Vorgang nicht innerhalb der in OperationTimeout angegebenen '
                     'Zeit abschließen.  ',
        'quota_operations': _DE_CANNOT + 'Die maximale Anzahl von gleichzeitigen Vorgängen für diesen Benutzer wurde '
                                         'überschritten. Schließen Sie bestehende Vorgänge für diesen Benutzer, oder '
                                         'erhöhen Sie die Quote für diesen Benutzer.',
        'quota_operations_detail': _DE_CANNOT + 'Für diesen Benutzer sind maximal %(limit)d gleichzeitige Vorgänge '
                                                'zulässig. Diese Anzahl wurde überschritten. Schließen Sie bestehende '
                                                'Vorgänge für diesen Benutzer, oder erhöhen Sie die Quote für diesen '
                                                'Benutzer. ',
        # real (see the module docstring)
        'quota_shells': _DE_CANNOT + 'Die maximale Anzahl von gleichzeitigen Shells für diesen Benutzer wurde '
                                     'überschritten. Schließen Sie bestehende Shells, oder erhöhen Sie die Quote für '
                                     'diesen Benutzer. ',
        # translated here
        'quota_shells_detail': _DE_CANNOT + 'Für diesen Benutzer sind maximal %(limit)d gleichzeitige Shells '
                                            'zulässig. Diese Anzahl wurde überschritten. Schließen Sie bestehende '
                                            'Shells, oder erhöhen Sie die Quote für diesen Benutzer. ',
        'cannot_process_filter': 'Die Datenquelle konnte den Filter nicht verarbeiten. Der Filter fehlt '
                                 'möglicherweise, oder er ist ungültig. Ändern Sie den Filter, und wiederholen Sie die '
                                 'Anforderung.  ',
        'class_not_found': 'Die angegebene Klasse ist im angegebenen Namespace nicht vorhanden. ',
        'invalid_query': 'Die WQL-Abfrage ist ungültig: %(problem)s. ',
    },
}


def text(locale, key, **values):
    """The fault text ``key`` in ``locale`` (a scenario host's; en-US for anything else), with ``values`` filled in."""
    texts = TEXTS.get(locale) or TEXTS['en-US']
    return texts[key] % values if values else texts[key]
