#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: conflict_info
short_description: Diagnose the TCP port 25 bind conflict of Microsoft KB Q222553 on a Windows mail server
version_added: 0.1.0
author: mailops.port25 developers (@mailops)
description:
  - Finds out, in one read-only call, who holds TCP port O(port) on a Windows host, what state the Windows SMTP service
    (O(smtp_service)) and the mail service are in, whether antivirus products are present or hold the port, and, when
    nothing on the host explains the mail service's state, whether the bind-failure events of KB Q222553 (and their
    modern equivalents) were logged within O(event_window_hours).
  - Judges the host with the rules of KB Q222553 and returns RV(findings), each naming the KB section it comes from,
    and RV(compliant).
  - Talks to the host from the Ansible controller over WinRM (WMI over WS-Management) in one HTTP session with narrow
    WQL queries - the listeners, the services a verdict names (the SMTP and mail services, the antivirus catalogue's and
    those in the listening processes) and the listening processes. Windows answers a query of many instances with the
    first one and the rest by Pull, so with NTLM over HTTP a healthy host, or one whose port another program holds,
    costs seven HTTP requests including the authentication legs. Nothing runs on the Windows host but WMI (no
    PowerShell, no Python).
  - The bind-failure events are read only when nothing on the host holds the port or its owner could not be read (the
    mail service stopped with the port free, or running without a local listener); otherwise RV(events) is empty.
    The M(mailops.port25.conflict) module reads them always.
  - Windows without the C(root/StandardCimv2) namespace (Windows Server 2008 R2 and older) are asked with C(netstat -ano)
    in a cmd shell instead.
  - Every listener of the profile is judged (O(ports)); RV(ports) shows each port's owner and verdict.
  - On Exchange 5.5 hosts where nothing on the host holds the port, the WinSock Proxy remote bind (KB Q181420) is read
    from the C(Wspcfg.ini) next to the IMS's image and the client's C(C:\\Mspclnt\\Mspclnt.ini) with one C(type) in
    one cmd shell - five WS-Man requests. A remote bind names the proxy (RV(remote_bind)); the port is then judged on
    O(port_host), with the same narrow queries to that host.
  - Then the SMTP greeting of each held port is read from the controller (O(greeting)), as KB Q146157 checks it.
  - When the account may not read one WMI class, the rest of the answer is still returned and the class is named in
    RV(gaps) and in a C(DATA_GAP) finding.
  - Runs on the controller from an action plugin; it never uses the host's Ansible connection.
notes:
  - The KB sections used in RV(findings) are C(Symptoms), C(Cause), C(Resolution step 1) (the Windows SMTP service must
    not run), C(Resolution step 2) (no other program may use the port) and C(Resolution step 3) (the antivirus product
    may contribute).
  - On Exchange 2000/2003 C(SMTPSVC) is the Exchange transport; this module then reports C(SMTP_SERVICE_IS_TRANSPORT)
    and never suggests disabling it.
  - Antivirus is only reported, never acted upon.
  - Results and errors never contain the password.
seealso:
  - module: mailops.port25.listener_info
  - module: mailops.port25.service_info
  - module: mailops.port25.event_info
  - module: mailops.port25.antivirus_info
  - module: mailops.port25.service
  - name: "KB Q222553: XFOR: IMC Events 4020, 4007 with Error 10048"
    description: The Microsoft knowledge base article this module implements (archived copy).
    link: https://github.com/jeffpar/kbarchive/blob/master/kb/222/Q222553/README.md
extends_documentation_fragment:
  - mailops.port25.diagnosis
  - mailops.port25.port_host
  - mailops.port25.winrm
  - mailops.port25.attributes
  - mailops.port25.attributes.actiongroup_winrm
  - mailops.port25.attributes.info_module
  - mailops.port25.antivirus_catalogue
"""

EXAMPLES = r"""
# In a play that targets the Windows hosts (hosts: exchange, gather_facts: false): the connection
# settings come from the inventory.
- name: Who holds port 25, and is the host compliant with KB Q222553?
  mailops.port25.conflict_info:
  register: diagnosis

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ diagnosis.owner.kind }} {{ diagnosis.owner.process }} -> compliant={{ diagnosis.compliant }}"

- name: Exchange 2019 front end, a site-specific mail gateway, one week of events
  mailops.port25.conflict_info:
    profile: exchange2013
    event_window_hours: 168
    antivirus_catalogue:
      - vendor: Example Corp
        product: Example Mail Gateway
        services: [ExMailGw]
        processes: [exmailgw.exe]
        mail_scanning: true
        source: site inventory 2026-11

- name: Explicit connection settings over HTTPS
  mailops.port25.conflict_info:
    winrm_host: mail01.example.com
    winrm_transport: ntlm
    winrm_user: EXAMPLE\ansible
    winrm_password: "{{ vault_winrm_password }}"
    winrm_ca_trust_path: /etc/pki/example-ca.pem
"""

RETURN = r"""
host:
  description: The WinRM host that was asked.
  returned: success
  type: str
  sample: mail01.example.com
port:
  description: The TCP port judged (O(port)).
  returned: success
  type: int
  sample: 25
profile:
  description: The Exchange profile used.
  returned: success
  type: str
  sample: exchange55
profile_source:
  description: V(detected) from the installed services, or V(option) when O(profile) named it.
  returned: success
  type: str
  sample: detected
detected_profile:
  description:
    - The profile the installed services show, whatever O(profile) says; V(null) when the services could not be read.
    - The M(mailops.port25.conflict) module refuses a forced O(profile) that contradicts it.
  returned: success
  type: str
  sample: exchange55
listeners:
  description: The sockets listening on the port (one per local address), with their process and services.
  returned: success
  type: list
  elements: dict
  contains:
    local_address:
      description: Local address (C(0.0.0.0), C(::) or a specific address).
      type: str
    local_port:
      description: The port.
      type: int
    pid:
      description: Process ID that owns the socket.
      type: int
    process:
      description: The process (C(pid), C(name), C(path), C(parent_pid)); V(null) when processes could not be read.
      type: dict
    services:
      description: Services hosted in that process (several for shared processes such as C(inetinfo.exe)).
      type: list
      elements: str
    parent_process:
      description:
        - When no service runs in the process, its parent (C(pid), C(name), C(path), C(services)); this maps a worker
          such as C(EdgeTransport.exe) to its service. V(null) otherwise.
      type: dict
  sample:
    - local_address: 0.0.0.0
      local_port: 25
      pid: 1844
      process: {pid: 1844, name: inetinfo.exe, path: 'C:\Windows\system32\inetsrv\inetinfo.exe', parent_pid: 604}
      services: [IISADMIN, SMTPSVC]
      parent_process: null
owner:
  description: Who holds the port.
  returned: success
  type: dict
  contains:
    kind:
      description:
        - V(none) (nothing listens), V(mail_service) (the expected service), V(smtp_service) (the Windows SMTP service),
          V(antivirus) (a catalogued antivirus product), V(other) (any other program), or V(unknown) (the listeners or
          services could not be read, see RV(gaps)).
        - When several programs listen (on different addresses), the most troublesome one is reported, in the order
          smtp_service, antivirus, other, mail_service.
      type: str
    pid:
      description: Process ID, or V(null).
      type: int
    process:
      description: Process image name, or V(null).
      type: str
    path:
      description: Executable path, or V(null).
      type: str
    services:
      description: The services that explain the owner (its own, or its parent's for a worker process).
      type: list
      elements: str
    product:
      description: C(vendor) and C(product) when RV(owner.kind=antivirus), else V(null).
      type: dict
  sample: {kind: smtp_service, pid: 1844, process: inetinfo.exe, path: 'C:\Windows\system32\inetsrv\inetinfo.exe',
           services: [IISADMIN, SMTPSVC], product: null}
smtp_service:
  description: The Windows SMTP service (O(smtp_service)).
  returned: success
  type: dict
  contains:
    name:
      description: Service name as the host spells it.
      type: str
    exists:
      description: Whether it is installed; V(null) when services could not be read.
      type: bool
    state:
      description: V(running), V(stopped), V(start_pending), ... or V(null) when it does not exist.
      type: str
    start_mode:
      description: V(auto), V(manual), V(disabled), ... or V(null).
      type: str
    pid:
      description: Process ID, or V(null).
      type: int
    is_transport:
      description: True when this service is the Exchange transport (Exchange 2000/2003) and must never be disabled.
      type: bool
  sample: {name: SMTPSVC, exists: true, state: running, start_mode: auto, pid: 1844, is_transport: false}
mail_service:
  description: The mail service (O(mail_service) or the profile's), same keys as RV(smtp_service) without C(is_transport).
  returned: success
  type: dict
  sample: {name: MSExchangeIMC, exists: true, state: stopped, start_mode: auto, pid: null}
antivirus:
  description: Antivirus and mail-security products found by service and process name.
  returned: success
  type: dict
  contains:
    present:
      description: Whether any product was found.
      type: bool
    holds_port:
      description: Whether a product's process listens on the port.
      type: bool
    products:
      description:
        - One entry per product - C(vendor), C(product), C(mail_scanning), C(behaviour), C(source) (where the names come
          from), C(match_kind) (V(service) or V(process)), C(match_name), C(running), C(pid), C(holds_port).
      type: list
      elements: dict
  sample:
    present: true
    holds_port: false
    products:
      - {vendor: Microsoft, product: Microsoft Defender Antivirus, mail_scanning: false, behaviour: none,
         source: 'Microsoft Defender Antivirus service (WinDefend) ...', match_kind: service, match_name: WinDefend, running: true, pid: 2100,
         holds_port: false}
events:
  description:
    - The bind-failure events of the profile within O(event_window_hours), newest first.
    - Empty without a query when something on the host holds the port (the mail service, or the program in its way).
  returned: success
  type: list
  elements: dict
  contains:
    log:
      description: Event log name.
      type: str
    source:
      description: Event source.
      type: str
    event_id:
      description: Event ID (C(EventCode)).
      type: int
    type:
      description: V(error), V(warning), V(information), V(audit_success) or V(audit_failure).
      type: str
    time:
      description: When the event was generated (ISO 8601, UTC).
      type: str
    message:
      description: The event message; V(null) when the host cannot load the source's message file.
      type: str
    insertion_strings:
      description: The strings the message was formatted from (C(InsertionStrings)).
      type: list
      elements: str
    winsock_error:
      description: The WinSock error code in the message, or else in the insertion strings (for example V(10048),
        address in use); V(null) when there is none.
      type: int
    record_number:
      description: The record number in its log.
      type: int
  sample:
    - {log: Application, source: MSExchangeIMC, event_id: 4007, type: error, time: '2026-11-28T14:07:41Z',
       message: The following error occurred while trying to bind the TCP/IP listener socket. 10048,
       insertion_strings: ['10048'], winsock_error: 10048, record_number: 812}
findings:
  description:
    - What is wrong (or worth knowing), by the rules of KB Q222553.
    - C(code) is one of C(PORT_HELD_BY_SMTP_SERVICE), C(PORT_HELD_BY_ANTIVIRUS), C(PORT_HELD_BY_OTHER),
      C(SMTP_SERVICE_ENABLED), C(SMTP_SERVICE_IS_TRANSPORT), C(MAIL_SERVICE_NOT_RUNNING), C(MAIL_SERVICE_MISSING),
      C(BIND_FAILURE_EVENTS), C(ANTIVIRUS_PRESENT), C(PORT_FREE), C(DATA_GAP); for the wire C(GREETING_OTHER_PROGRAM)
      (another program answers a port the mail service holds, KB Q146157), C(GREETING_MISSING), C(GREETING_UNREADABLE);
      for a remote bind C(REMOTE_BIND), C(REMOTE_BIND_PORT_HOST_NOT_SET), C(PORT_HOST_NOT_THE_PROXY),
      C(PROXY_SERVICE_MISSING), C(PROXY_SERVICE_NOT_RUNNING).
    - C(severity) is V(error), V(warning) or V(info); C(kb_section) names the KB section (V(null) for C(DATA_GAP)).
    - C(port) is set on findings about a port other than O(port); C(host) on findings about the port host.
  returned: success
  type: list
  elements: dict
  sample:
    - {code: PORT_HELD_BY_SMTP_SERVICE, severity: error, kb_section: Resolution step 1,
       message: TCP port 25 is held by PID 1844 (inetinfo.exe) hosting IISADMIN, SMTPSVC.}
ports:
  description: Every listener judged (O(port) first), with who holds it and the verdict.
  returned: success
  type: list
  elements: dict
  contains:
    port:
      description: The TCP port.
      type: int
    service:
      description: The service expected on it.
      type: str
    host:
      description: The port host when the port is bound there (a remote bind), else V(null).
      type: str
    owner:
      description: Who holds it (as RV(owner)); V(null) when it is bound on a port host that was not checked.
      type: dict
    verdict:
      description:
        - V(ok) (the expected service holds it; on a port host - the WinSock Proxy service, while this host's service
          runs), V(conflict), V(free), V(unknown), V(not_installed) (the expected service is not installed), V(unchecked)
          (bound on a port host that is not configured).
      type: str
    greeting:
      description:
        - The SMTP greeting read from the controller (V(null) when not read) - C(address), C(port), C(code), C(text),
          C(software) (V(exchange55_ims), V(iis_smtp), V(exchange_transport) or V(other)), C(software_name), C(error),
          C(expected), C(expected_name), C(matches).
      type: dict
  sample:
    - {port: 25, service: MSExchangeFrontEndTransport, host: null, verdict: ok,
       owner: {kind: mail_service, pid: 4100, process: MSExchangeFrontendTransport.exe, path: null,
               services: [MSExchangeFrontEndTransport], product: null},
       greeting: {address: 10.0.0.5, port: 25, code: 220, text: 'EX1.example.com Microsoft ESMTP MAIL Service ready at Mon, 1 Dec 2026 10:00:00 +0000',
                  software: exchange_transport, software_name: the Microsoft Exchange transport (Exchange 2007 or later), error: null,
                  expected: exchange_transport, expected_name: the Microsoft Exchange transport (Exchange 2007 or later), matches: true}}
port_services:
  description: The services expected on the ports (the mail service first), with the keys of RV(mail_service).
  returned: success
  type: list
  elements: dict
greeting:
  description: The greeting of O(port) (see RV(ports)), V(null) when it was not read.
  returned: success
  type: dict
remote_bind:
  description:
    - On Exchange 5.5 hosts where nothing on the host holds the port, the WinSock Proxy client settings of the mail
      service (V(null) elsewhere, or when its image path could not be read) - C(application), C(files) (the files
      typed), C(missing), C(configured) (the port is bound on the proxy), C(ports) (C(ServerBindTcpPorts)),
      C(persistent), C(kill_old_session), C(disabled), C(proxy) (the proxy's name from C(Mspclnt.ini), or V(null)),
      C(proxy_source).
  returned: success
  type: dict
  sample: {application: msexcimc, files: ['C:\exchsrvr\connect\msexcimc\bin\Wspcfg.ini', 'C:\Mspclnt\Mspclnt.ini'],
           missing: [], configured: true, ports: [25], persistent: true, kill_old_session: true, disabled: false,
           proxy: PROXY01, proxy_source: 'Mspclnt.ini [Servers Ip Addresses] Name'}
port_host:
  description:
    - With O(port_host) and a remote port, what that host says - C(host), C(address), C(detected_profile),
      C(smtp_service), C(proxy_service) (C(WSPSRV)), C(antivirus), C(gaps); V(null) otherwise.
  returned: success
  type: dict
gaps:
  description: WMI classes that could not be read (access denied or timed out; for the event log also a WMI quota on a big
    log or the missing privilege of the Security log), with the error. Empty when all were read.
  returned: success
  type: list
  elements: dict
  sample: [{class: Win32_NTLogEvent, error: 'access denied: ... (WSManFault 5, w:AccessDenied)'}]
compliant:
  description: True when no finding has severity V(error).
  returned: success
  type: bool
  sample: false
"""

from ansible_collections.mailops.port25.plugins.module_utils import runner
from ansible_collections.mailops.port25.plugins.module_utils.features import conflict_info as feature


def main():
    runner.module_main(feature)


if __name__ == '__main__':
    main()
