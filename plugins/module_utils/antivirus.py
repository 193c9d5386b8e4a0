# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Antivirus and mail-security products: a catalogue of service and process names, and matching (pure).

KB Q222553 RESOLUTION names the antivirus product as a possible contributor; the collection only
reports products, it never stops them. Each entry's ``source`` names the vendor document or article its names
and behaviour come from, with a confidence label ([C] a vendor source says it, [W] only a public list or log shows
it) so that users can judge a match.
"""

from __future__ import annotations

import re

from ansible_collections.mailops.port25.plugins.module_utils import errors

# behaviour: listen (a local SMTP server/proxy that can own TCP 25), intercept (a driver or proxy that
# scans SMTP/POP3 traffic), block (a rule that blocks port 25), none (no mail traffic handling known).
BEHAVIOURS = ('listen', 'intercept', 'block', 'none')

CATALOGUE = (
    {'vendor': 'Microsoft', 'product': 'Microsoft Defender Antivirus', 'services': ['WinDefend'], 'processes': ['MsMpEng.exe'],
     'mail_scanning': False, 'behaviour': 'none',
     'source': 'Microsoft Defender Antivirus service (WinDefend) and engine process MsMpEng.exe, as Windows lists them; '
               'names also used by public detection rules (SigmaHQ) [W]'},
    {'vendor': 'Symantec', 'product': 'Symantec Endpoint Protection', 'services': ['SepMasterService'],
     'processes': ['ccSvcHst.exe', 'Rtvscan.exe', 'Smc.exe'], 'mail_scanning': True, 'behaviour': 'intercept',
     'source': 'Internet Email Auto-Protect: Symantec Endpoint Protection Small Business Edition guide p.143, Broadcom '
               'KB 177773 (not supported on servers) and KB 170706 (SEP 14 services) [C]; ccSvcHst.exe is shared with '
               'Norton consumer products'},
    {'vendor': 'Symantec', 'product': 'Norton AntiVirus / Internet Security (email proxy)', 'services': ['ccProxy'],
     'processes': ['ccpxysvc.exe', 'symproxysvc.exe'], 'mail_scanning': True, 'behaviour': 'intercept',
     'source': 'Norton Internet Security 2012 manual p.199: scans all POP3/SMTP, port 25 cannot be removed [C]; process '
               'names from public process lists [W]'},
    {'vendor': 'McAfee', 'product': 'McAfee VirusScan Enterprise', 'services': ['McShield', 'McAfeeFramework', 'McTaskManager'],
     'processes': ['mcshield.exe', 'FrameworkService.exe', 'VsTskMgr.exe'], 'mail_scanning': False, 'behaviour': 'block',
     'source': 'Access Protection rule "Prevent mass mailing worms from sending mail" blocks ports 25/587 (DISA STIG '
               'DTAM150 for VirusScan 8.8; Exchange Best Practices Analyzer rule "Port 25 is blocked") [C]; processes '
               'McAfee KB65784 [C]; service name McShield [W]'},
    {'vendor': 'McAfee', 'product': 'McAfee Agent', 'services': [], 'processes': ['masvc.exe', 'macmnsvc.exe', 'macompatsvc.exe'],
     'mail_scanning': False, 'behaviour': 'none', 'source': 'McAfee KB65784: McAfee Agent 5.x processes [C]'},
    {'vendor': 'Trend Micro', 'product': 'OfficeScan / Apex One', 'services': [],
     'processes': ['ntrtscan.exe', 'tmlisten.exe', 'TmProxy.exe', 'Pop3Trap.exe', 'TMBMSRV.exe', 'PccNTMon.exe'],
     'mail_scanning': True, 'behaviour': 'intercept',
     'source': 'Trend Micro Control Manager / OfficeScan client documentation: POP3 Mail Scan runs through the '
               'OfficeScan NT Proxy Service (TmProxy.exe) [C]; other process names from public process lists [W]'},
    {'vendor': 'Kaspersky', 'product': 'Kaspersky Internet Security / Endpoint Security', 'services': [], 'processes': ['avp.exe'],
     'mail_scanning': True, 'behaviour': 'intercept',
     'source': 'Kaspersky Internet Security 7 user guide: Mail Anti-Virus scans POP3/SMTP/IMAP/NNTP traffic in avp.exe [C]'},
    {'vendor': 'Kaspersky', 'product': 'Kaspersky Security for Windows Server', 'services': ['KAVFS'], 'processes': [],
     'mail_scanning': False, 'behaviour': 'none',
     'source': 'Kaspersky Security for Windows Server 11 help, article 182789: the Kaspersky Security Service (KAVFS) '
               'can run as a Protected Process Light [C]'},
    {'vendor': 'Kaspersky', 'product': 'Kaspersky Security Center Network Agent', 'services': [], 'processes': ['klnagent.exe'],
     'mail_scanning': False, 'behaviour': 'none', 'source': 'Kaspersky Security Center documentation: Network Agent process klnagent.exe [C]'},
    {'vendor': 'ESET', 'product': 'ESET Endpoint / File / Mail Security', 'services': [], 'processes': ['ekrn.exe', 'egui.exe'],
     'mail_scanning': True, 'behaviour': 'intercept',
     'source': 'ESET File Security for Windows Server 10 help: protocol filtering for email protocols [C]; ekrn.exe as '
               'the ESET Service process seen in a public system log [W]'},
    {'vendor': 'Avast', 'product': 'Avast Antivirus (Mail Shield)', 'services': [], 'processes': ['AvastSvc.exe'],
     'mail_scanning': True, 'behaviour': 'listen',
     'source': 'Avast 3.x readme: Internet Mail "works as a local SMTP and POP3 server"; Avast Business help, Mail '
               'Shield: not recommended on a server running Microsoft Exchange [C]'},
    {'vendor': 'AVG', 'product': 'AVG E-mail Scanner', 'services': [], 'processes': ['AVGSvc.exe', 'avgemc.exe'],
     'mail_scanning': True, 'behaviour': 'listen',
     'source': 'AVG 9 user manual: the E-mail Scanner creates automatic servers checked on ports 110 and 25 [C]'},
    {'vendor': 'Sophos', 'product': 'Sophos Anti-Virus', 'services': [], 'processes': ['SAVService.exe', 'SophosFS.exe', 'SophosHealth.exe'],
     'mail_scanning': False, 'behaviour': 'none', 'source': 'process names from public process lists [W]'},
    {'vendor': 'G Data', 'product': 'G Data email proxy', 'services': [], 'processes': ['AVKProxy.exe', 'avkpop.exe'],
     'mail_scanning': True, 'behaviour': 'intercept', 'source': 'email proxy process name from public process lists [W]'},
    {'vendor': 'Panda', 'product': 'Panda email proxy', 'services': [], 'processes': ['pavproxy.exe'],
     'mail_scanning': True, 'behaviour': 'intercept', 'source': 'email proxy process name from public process lists [W]'},
    {'vendor': 'Hauri', 'product': 'ViRobot email proxy', 'services': [], 'processes': ['Vrproxyd.exe'],
     'mail_scanning': True, 'behaviour': 'intercept', 'source': 'email proxy process name from public process lists [W]'},
)


def product_text(product):
    """``Vendor Product`` without repeating a vendor that the product name already starts with."""
    vendor, name = product.get('vendor') or '', product.get('product') or ''
    return name if name.lower().startswith(vendor.lower()) else ('%s %s' % (vendor, name)).strip()


ENTRY_KEYS = ('vendor', 'product', 'services', 'processes', 'mail_scanning', 'behaviour', 'source')
USER_SOURCE = 'user catalogue'
# The ``antivirus_catalogue`` option's argument spec (validate_entries() checks what a spec cannot express).
ENTRY_ARGUMENT_SPEC = dict(
    vendor=dict(type='str', required=True),
    product=dict(type='str', required=True),
    services=dict(type='list', elements='str'),
    processes=dict(type='list', elements='str'),
    mail_scanning=dict(type='bool', default=False),
    behaviour=dict(type='str', choices=list(BEHAVIOURS)),
    source=dict(type='str', default=USER_SOURCE),
)
OPTION_SPEC = dict(type='list', elements='dict', default=[], options=ENTRY_ARGUMENT_SPEC)
# A service or image name: printable, no path separators, no wildcards (matching is by exact name).
_NAME_RE = re.compile(r'^[^\x00-\x1f\x7f\\/*?"<>|]{1,256}$')


def _invalid(index, field, problem):
    return errors.InvalidOption('antivirus_catalogue[%d].%s: %s' % (index, field, problem))


def _names(entry, index, field):
    value = entry.get(field)
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _invalid(index, field, 'must be a list of names, got %r' % (value,))
    for name in value:
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise _invalid(index, field, '%r is not a valid name (no path, wildcard or control characters)' % (name,))
    return list(value)


def _text(entry, index, field, default=None):
    value = entry.get(field)
    if value is None:
        value = default
    if not isinstance(value, str) or not value.strip():
        raise _invalid(index, field, 'must be a non-empty string')
    return value


def validate_entries(entries):
    """Check user catalogue entries; return normalised copies. Raises ``errors.InvalidOption``."""
    result = []
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            raise _invalid(index, 'entry', 'must be a dictionary, got %r' % (entry,))
        unknown = sorted(set(entry) - set(ENTRY_KEYS))
        if unknown:
            raise _invalid(index, unknown[0], 'unknown key (allowed: %s)' % ', '.join(ENTRY_KEYS))
        vendor = _text(entry, index, 'vendor')
        product = _text(entry, index, 'product')
        services = _names(entry, index, 'services')
        processes = _names(entry, index, 'processes')
        if not services and not processes:
            raise _invalid(index, 'services', 'give at least one service or process name')
        mail_scanning = entry.get('mail_scanning')
        mail_scanning = False if mail_scanning is None else mail_scanning
        if not isinstance(mail_scanning, bool):
            raise _invalid(index, 'mail_scanning', 'must be true or false')
        behaviour = entry.get('behaviour') or ('listen' if mail_scanning else 'none')
        if behaviour not in BEHAVIOURS:
            raise _invalid(index, 'behaviour', 'must be one of %s' % ', '.join(BEHAVIOURS))
        result.append({
            'vendor': vendor,
            'product': product,
            'services': services,
            'processes': processes,
            'mail_scanning': mail_scanning,
            'behaviour': behaviour,
            'source': _text(entry, index, 'source', USER_SOURCE),
        })
    return result


class Catalogue:
    """Name lookups over the built-in catalogue plus the user's entries (which win on a shared name)."""

    def __init__(self, user_entries=None):
        self.entries = validate_entries(user_entries) + [dict(entry) for entry in CATALOGUE]
        self._services = {}
        self._processes = {}
        for entry in self.entries:
            for name in entry['services']:
                self._services.setdefault(name.lower(), entry)
            for name in entry['processes']:
                self._processes.setdefault(name.lower(), entry)

    def by_service(self, name):
        """The entry whose service list holds ``name`` (any case), or None."""
        return self._services.get(name.lower()) if name else None

    def by_process(self, image):
        """The entry whose process list holds the image name (a path is reduced to its file name)."""
        if not image:
            return None
        return self._processes.get(re.split(r'[\\/]', image)[-1].lower())

    def service_names(self):
        """The service names of every entry."""
        return [name for entry in self.entries for name in entry['services']]

    def images_not_shown_by(self, services):
        """The process images of the entries that no running service of ``services`` matched: the products whose
        processes must still be looked for."""
        shown = [self.by_service(service['name']) for service in services if service.get('state') == 'running']
        return [name for entry in self.entries if not any(entry is found for found in shown)
                for name in entry['processes']]

    def identify(self, services=(), process_name=None):
        """The entry for a process that hosts ``services`` and runs ``process_name``; services first."""
        for name in services:
            entry = self.by_service(name)
            if entry:
                return entry
        return self.by_process(process_name)


def product_ref(entry):
    """The short form used in ``owner.product``."""
    return {'vendor': entry['vendor'], 'product': entry['product']} if entry else None


def find_products(catalogue, services, processes, port_pids=()):
    """Products present on a host, one per catalogue entry, in catalogue order.

    ``services``: normalised service dicts (name, state, pid); ``processes``: dicts (pid, name);
    ``port_pids``: the PIDs that listen on the port (and their parents). A product is running when one
    of its services runs or one of its processes exists; it holds the port when one of its PIDs listens.
    """
    port_pids = set(port_pids)
    found = {}
    for service in services:
        entry = catalogue.by_service(service.get('name'))
        if entry:
            found.setdefault(id(entry), (entry, []))[1].append(
                ('service', service['name'], service.get('state') == 'running', service.get('pid')))
    for process in processes:
        entry = catalogue.by_process(process.get('name'))
        if entry:
            found.setdefault(id(entry), (entry, []))[1].append(('process', process['name'], True, process.get('pid')))
    products = []
    for entry in catalogue.entries:
        if id(entry) not in found:
            continue
        matches = found[id(entry)][1]
        holding = [m for m in matches if m[3] is not None and m[3] in port_pids]
        # Show the match that explains the verdict: the one holding the port, else a running one, else the first.
        kind, name, _running, pid = (holding or [m for m in matches if m[2]] or matches)[0]
        products.append({
            'vendor': entry['vendor'],
            'product': entry['product'],
            'mail_scanning': entry['mail_scanning'],
            'behaviour': entry['behaviour'],
            'source': entry['source'],
            'match_kind': kind,
            'match_name': name,
            'running': any(m[2] for m in matches),
            'pid': pid,
            'holds_port': bool(holding),
        })
    return products


def summary(products):
    """The ``antivirus`` block of a result: present, holds_port, products."""
    return {'present': bool(products), 'holds_port': any(p['holds_port'] for p in products), 'products': products}
