# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The shared WinRM connection options (mirrors connection.WINRM_ARGSPEC)."""

    DOCUMENTATION = r'''
options:
  winrm_host:
    description:
      - Host name or IP address (IPv4 or IPv6) of the Windows host's WinRM listener.
      - When the task runs for a host whose connection is C(winrm) or C(psrp), the host's V(ansible_host)
        (else its inventory name) is used when this option is not set.
      - If not set in the task or inventory, the value of E(MAILOPS_WINRM_HOST) is used. That variable names one
        server, so a play with two or more hosts whose connection is not C(winrm) or C(psrp) is refused when it
        would be their server.
    type: str
    required: true
  winrm_port:
    description:
      - TCP port of the WinRM listener.
      - Defaults to V(5986) for HTTPS and V(5985) for HTTP.
      - Inventory variables C(ansible_port), C(ansible_winrm_port) or C(ansible_psrp_port), the first one set.
      - Environment variable E(MAILOPS_WINRM_PORT).
    type: int
  winrm_scheme:
    description:
      - URL scheme of the WinRM listener.
      - Defaults to V(http) when O(winrm_port=5985), else V(https).
      - Inventory variables C(ansible_winrm_scheme) or C(ansible_psrp_protocol), the first one set.
      - Environment variable E(MAILOPS_WINRM_SCHEME).
    type: str
    choices: [http, https]
  winrm_path:
    description:
      - URL path of the WinRM listener.
      - Inventory variables C(ansible_winrm_path) or C(ansible_psrp_path), the first one set.
      - Environment variable E(MAILOPS_WINRM_PATH).
    type: str
    default: /wsman
  winrm_transport:
    description:
      - Authentication method.
      - V(basic) over plain HTTP is refused unless O(winrm_allow_basic_over_http=true).
      - V(certificate) needs HTTPS, O(winrm_cert_pem) and O(winrm_cert_key_pem).
      - V(kerberos) needs pykerberos, gssapi and krb5 on the controller (C(pip install pywinrm[kerberos] pyspnego[kerberos]))
        and a Kerberos configuration that names the realm's KDCs (C(/etc/krb5.conf) or E(KRB5_CONFIG)); see
        O(winrm_kinit_mode) for where the ticket comes from.
      - V(credssp) needs the pywinrm CredSSP extra (C(pip install pywinrm[credssp])); it delegates the password to the host.
      - Inventory variables C(ansible_winrm_transport) or C(ansible_psrp_auth), the first one set (a list or
        comma-separated string; the first supported transport is used).
      - Environment variable E(MAILOPS_WINRM_TRANSPORT).
    type: str
    default: ntlm
    choices: [ntlm, kerberos, credssp, basic, certificate]
  winrm_user:
    description:
      - User name, for example V(Administrator), V(DOMAIN\\user) or V(user@DOMAIN.COM).
      - With O(winrm_transport=kerberos) the user principal name V(user@REALM) (a V(DOMAIN\\user) name is refused
        with the form to use instead); it may be left out with O(winrm_kinit_mode=manual) to use the default
        principal of the credential cache.
      - Inventory variables C(ansible_user), C(ansible_winrm_user) or C(ansible_psrp_user), the first one set.
      - Environment variable E(MAILOPS_WINRM_USER).
    type: str
  winrm_password:
    description:
      - Password of O(winrm_user). Never shown in output or error messages.
      - Inventory variables C(ansible_password), C(ansible_winrm_password), C(ansible_winrm_pass) or C(ansible_psrp_password), the first one set.
      - Environment variable E(MAILOPS_WINRM_PASSWORD).
    type: str
  winrm_cert_validation:
    description:
      - Whether to verify the TLS certificate of the WinRM listener when using HTTPS.
      - Only set V(ignore) on trusted networks or for tests.
      - Inventory variables C(ansible_winrm_server_cert_validation) or C(ansible_psrp_cert_validation), the first one set.
      - Environment variable E(MAILOPS_WINRM_CERT_VALIDATION).
    type: str
    default: validate
    choices: [validate, ignore]
  winrm_ca_trust_path:
    description:
      - CA bundle file or directory used to verify the listener's certificate.
      - When not set, E(REQUESTS_CA_BUNDLE) or the default CA bundle of the controller is used.
      - Inventory variables C(ansible_winrm_ca_trust_path) or C(ansible_psrp_ca_path), the first one set.
      - Environment variable E(MAILOPS_WINRM_CA_TRUST_PATH).
    type: path
  winrm_cert_pem:
    description:
      - Client certificate (PEM file) for O(winrm_transport=certificate).
      - Inventory variables C(ansible_winrm_cert_pem) or C(ansible_psrp_certificate_pem), the first one set.
      - Environment variable E(MAILOPS_WINRM_CERT_PEM).
    type: path
  winrm_cert_key_pem:
    description:
      - Private key (PEM file) of O(winrm_cert_pem).
      - Inventory variables C(ansible_winrm_cert_key_pem) or C(ansible_psrp_certificate_key_pem), the first one set.
      - Environment variable E(MAILOPS_WINRM_CERT_KEY_PEM).
    type: path
  winrm_message_encryption:
    description:
      - Message-level encryption (NTLM, Kerberos and CredSSP only).
      - V(auto) encrypts over HTTP and relies on TLS over HTTPS; V(always) also encrypts over HTTPS; V(never) disables it.
      - Inventory variables C(ansible_winrm_message_encryption) or C(ansible_psrp_message_encryption), the first one set.
      - Environment variable E(MAILOPS_WINRM_MESSAGE_ENCRYPTION).
    type: str
    default: auto
    choices: [auto, always, never]
  winrm_operation_timeout:
    description:
      - WS-Management operation timeout in seconds, sent to the host with every request.
      - Must be smaller than O(winrm_read_timeout).
      - Inventory variables C(ansible_winrm_operation_timeout_sec) or C(ansible_psrp_operation_timeout), the first one set.
      - Environment variable E(MAILOPS_WINRM_OPERATION_TIMEOUT).
    type: int
    default: 20
  winrm_read_timeout:
    description:
      - HTTP connect and read timeout in seconds.
      - Inventory variables C(ansible_winrm_read_timeout_sec) or C(ansible_psrp_read_timeout), the first one set.
      - Environment variable E(MAILOPS_WINRM_READ_TIMEOUT).
    type: int
    default: 30
  winrm_allow_basic_over_http:
    description:
      - Allow O(winrm_transport=basic) over plain HTTP, which sends the password unencrypted.
      - Environment variable E(MAILOPS_WINRM_ALLOW_BASIC_OVER_HTTP).
    type: bool
    default: false
  winrm_kerberos_hostname_override:
    description:
      - Host name for the Kerberos service principal name C(HTTP/<name>) instead of O(winrm_host).
      - Needed when O(winrm_host) is an IP address or an alias (a CNAME) that has no service principal name in the
        domain; give the host's name as the domain knows it, such as V(mail01.corp.example.com).
      - Only used with O(winrm_transport=kerberos).
      - Inventory variables C(ansible_winrm_kerberos_hostname_override) or C(ansible_psrp_negotiate_hostname_override),
        the first one set.
      - Environment variable E(MAILOPS_WINRM_KERBEROS_HOSTNAME_OVERRIDE).
    type: str
  winrm_kerberos_delegation:
    description:
      - Forward the user's Kerberos ticket to the host (the host can then act as the user towards other servers).
      - The modules of this collection do not need it; leave it off unless you know you do.
      - In O(winrm_kinit_mode=managed) the ticket is then obtained as forwardable.
      - Inventory variables C(ansible_winrm_kerberos_delegation) or C(ansible_psrp_negotiate_delegate), the first one set.
      - Environment variable E(MAILOPS_WINRM_KERBEROS_DELEGATION).
    type: bool
    default: false
  winrm_kinit_mode:
    description:
      - Where the Kerberos ticket of O(winrm_user) comes from, with O(winrm_transport=kerberos).
      - V(managed) gets a ticket for each task from O(winrm_user) and O(winrm_password), inside the controller's
        process, into an in-memory credential cache that only this task uses and that is destroyed afterwards; no
        C(kinit) is run, nothing is written to disk and the password is passed to no other program.
      - V(manual) uses the controller's current credential cache (E(KRB5CCNAME), for example filled by C(kinit)) or
        client keytab (E(KRB5_CLIENT_KTNAME)).
      - Default V(managed) when a password is given, else V(manual), as with Ansible's C(winrm) connection.
      - Inventory variable C(ansible_winrm_kinit_mode).
      - Environment variable E(MAILOPS_WINRM_KINIT_MODE).
    type: str
    choices: [managed, manual]
requirements:
  - pywinrm >= 0.5.0 on the controller
  - for O(winrm_transport=kerberos), pykerberos, gssapi and krb5 on the controller
notes:
  - This module runs on the Ansible controller and talks to the Windows host over WinRM (WS-Management);
    it needs no Python on Windows and does not use the play's connection.
  - When the task's host uses the C(winrm) or C(psrp) connection, its inventory connection variables
    (C(ansible_host), C(ansible_port), C(ansible_user), C(ansible_password), C(ansible_winrm_*), or the
    C(ansible_psrp_*) equivalents, where C(ansible_psrp_auth=negotiate) means V(ntlm)) are used for every option
    not set in the task, also with C(delegate_to=localhost). A password given with C(--ask-pass) is used too.
  - "Precedence: task option (or C(module_defaults) for the group C(group/mailops.port25.winrm)) > inventory
    variable > E(MAILOPS_WINRM_*) environment variable > default."
  - Proxies from the environment are not used.
'''
