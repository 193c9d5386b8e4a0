# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identities of a fleet: NTLM user files, the Kerberos realm, client certificates, CredSSP's TLS.

FleetAuth(specs, state_dir, tls_files) prepares what the hosts' `auth` lists need, all under the state
directory, and hands out each host's HostAuth and the authentication part of its inventory entry:

    ntlm / credssp   DIR/ntlm/*.users (the acceptor's user file); inventory user DOMAIN\\user
    kerberos         a realm (kdc.Realm: DIR/krb5.conf, DIR/kerberos/), principal user@REALM and HTTP/<fqdn>;
                     inventory user user@REALM, ansible_winrm_kerberos_hostname_override <fqdn>
    certificate      DIR/tls/client-<user>.pem/.key from the lab CA, UPN user@<realm in lower case>
    basic            nothing to prepare
"""
from __future__ import annotations

import os

from winlab import auth as lab_auth
from winlab import auth_credssp, auth_kerberos, auth_ntlm, kdc, tls


class FleetAuthError(Exception):
    """A scenario's credentials cannot be set up; the message names the host (never a password)."""


class FleetAuth:
    def __init__(self, specs, state_dir, tls_files):
        self.state_dir = state_dir
        self.tls = tls_files
        self.realm = None
        self._user_files = {}       # (username, password) -> NTLM user file (generated fleets share one)
        self._client_certs = {}     # upn -> (cert, key)
        self._credssp_tls = None
        kerberos_hosts = [s for s in specs if 'kerberos' in s.auth]
        if kerberos_hosts:
            self.realm = self._make_realm(kerberos_hosts)
        for spec in specs:
            if 'credssp' in spec.auth and self._credssp_tls is None:
                self._credssp_tls = auth_credssp.tls_context(*tls.ensure_credssp_certificate(state_dir))
            if 'certificate' in spec.auth:
                self._client_certificate(spec)

    @property
    def wants_client_certificates(self):
        return bool(self._client_certs)

    def _make_realm(self, hosts):
        try:
            auth_kerberos.check_available()
            for tool in kdc.TOOLS:
                kdc.find_tool(tool)
        except (RuntimeError, kdc.KerberosSetupError) as exc:
            raise FleetAuthError('host %s has kerberos in auth: %s' % (hosts[0].name, exc)) from None
        realms = sorted({s.realm for s in hosts})
        if len(realms) > 1:
            raise FleetAuthError('one KDC per fleet: the Kerberos hosts name the realms %s' % ', '.join(realms))
        users, fqdns = {}, {}
        for spec in hosts:
            name = kdc.principal_name(spec.username)
            if users.get(name, spec.password) != spec.password:
                raise FleetAuthError('host %s: user %s has another password on another Kerberos host; '
                                     'a realm has one password per user' % (spec.name, name))
            try:
                kdc.check_password(spec.password)
            except ValueError as exc:
                raise FleetAuthError('host %s: %s' % (spec.name, exc)) from None
            users[name] = spec.password
            if spec.host_fqdn in fqdns:
                raise FleetAuthError('hosts %s and %s have the same fqdn %s (one SPN HTTP/%s each)'
                                     % (fqdns[spec.host_fqdn], spec.name, spec.host_fqdn, spec.host_fqdn))
            fqdns[spec.host_fqdn] = spec.name
        return kdc.Realm(self.state_dir, realms[0], users, list(fqdns))

    @staticmethod
    def upn(spec):
        return '%s@%s' % (kdc.principal_name(spec.username), spec.realm.lower())

    def _client_certificate(self, spec):
        upn = self.upn(spec)
        if upn not in self._client_certs:
            self._client_certs[upn] = tls.issue_client_certificate(self.state_dir, upn, 'client-' + upn.replace('@', '-at-'))
        return self._client_certs[upn]

    def _user_file(self, spec):
        key = (spec.username, spec.password)
        if key not in self._user_files:
            try:
                directory = os.path.join(self.state_dir, 'ntlm')
                self._user_files[key] = auth_ntlm.write_user_file(directory, spec.username, spec.password)
            except ValueError as exc:
                raise FleetAuthError('host %s: %s' % (spec.name, exc)) from None
        return self._user_files[key]

    def host_auth(self, spec, refuse=False):
        kerberos = 'kerberos' in spec.auth
        return lab_auth.HostAuth(
            username=spec.username, password=spec.password, methods=list(spec.auth),
            user_file=self._user_file(spec) if {'ntlm', 'credssp'} & set(spec.auth) else None,
            refuse=refuse, cert_hash=self.tls.cert_hash,
            fqdn=spec.host_fqdn if kerberos else None,
            principal=self.realm.user_principal(kdc.principal_name(spec.username)) if kerberos else None,
            client_ca=self.tls.ca_certificate() if 'certificate' in spec.auth else None,
            client_upn=self.upn(spec) if 'certificate' in spec.auth else None,
            credssp_tls=self._credssp_tls if 'credssp' in spec.auth else None)

    def inventory_vars(self, spec):
        """The authentication variables of a host's inventory entry (its first auth method is the transport)."""
        method = spec.auth[0]
        data = {'ansible_user': spec.username, 'ansible_password': spec.password, 'ansible_winrm_transport': method}
        if method == 'kerberos':
            data['ansible_user'] = self.realm.user_principal(kdc.principal_name(spec.username))
            data['ansible_winrm_kerberos_hostname_override'] = spec.host_fqdn
            # Ansible's winrm connection runs kinit with a bare environment: let it see the lab's krb5.conf
            data['ansible_winrm_kinit_env_vars'] = ['KRB5_CONFIG']
        elif method == 'certificate':
            cert, key = self._client_certificate(spec)
            data = {'ansible_user': self.upn(spec), 'ansible_winrm_transport': method,
                    'ansible_winrm_cert_pem': cert, 'ansible_winrm_cert_key_pem': key}
        return data

    def start(self):
        """Start the KDC (if any) and point this process's Kerberos library at the realm."""
        if self.realm is None:
            return
        try:
            self.realm.start()
        except kdc.KerberosSetupError as exc:
            raise FleetAuthError(str(exc)) from None
        os.environ.update(self.realm.acceptor_environment())

    def stop(self):
        if self.realm is not None:
            self.realm.stop()

    def ready_info(self):
        return {'realm': self.realm.realm if self.realm else None,
                'krb5_conf': self.realm.krb5_conf if self.realm else None,
                'kdc_port': self.realm.port if self.realm else None,
                'kdc_pid': self.realm.process.pid if self.realm and self.realm.process else None}
