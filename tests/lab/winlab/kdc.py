# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's own Kerberos realm: an MIT KDC on a free loopback port, run as a child of the lab process.

Everything lives in <state-dir>/kerberos (database, stash, keytab, logs, the acceptor's replay cache) and
<state-dir>/krb5.conf (what a controller points KRB5_CONFIG at).  The realm is created afresh at every start
(a fraction of a second): user principals with the scenario's passwords, one HTTP/<fqdn> service principal per
Kerberos host, all service keys in one keytab that the lab's acceptor reads, each host pinned to its own SPN.

krb5.conf does no DNS and no reverse lookups, so an SPN is exactly the name the client asked for and hosts can
stay on 127.x addresses.  The KDC is stopped by its PID when the fleet stops; should the lab process die
without stopping it, the kernel sends the KDC SIGTERM (PR_SET_PDEATHSIG), so no KDC outlives its fleet.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time

from winlab import write_file_atomic

TOOLS = ('krb5kdc', 'kdb5_util', 'kadmin.local')
_SBIN = ('/usr/sbin', '/usr/local/sbin', '/sbin')
START_TIMEOUT = 10.0


class KerberosSetupError(Exception):
    """The realm or its KDC cannot be set up; the message says what is missing (never a password)."""


def check_password(password):
    """kadmin's command parser has no escapes: a password with a double quote cannot be given to it."""
    if '"' in password or any(c in password for c in '\r\n'):
        raise ValueError('a Kerberos user password in the lab may not contain double quotes or line breaks')


def principal_name(username):
    """The user principal's name part of a scenario user name: 'LAB\\ansible', 'ansible@LAB.TEST' -> 'ansible'."""
    return username.rpartition('\\')[2].partition('@')[0]


def find_tool(name):
    """Absolute path of an MIT Kerberos tool (sbin directories are often not on a user's PATH)."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN))
    if not found:
        raise KerberosSetupError(
            'Kerberos hosts need the MIT KDC tools (%s) and %s was not found: install the Debian packages '
            'krb5-kdc and krb5-admin-server (make test does it where it may use apt)' % (', '.join(TOOLS), name))
    return found


def _free_port():
    """A port free for TCP and UDP on 127.0.0.1 (the KDC listens on both)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(('127.0.0.1', 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(('127.0.0.1', port))
                except OSError:
                    continue
            return port
    raise KerberosSetupError('no free loopback port for the KDC')


def _die_with_parent():
    """preexec_fn of the KDC: SIGTERM when the lab process dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def krb5_conf_text(realm, port, domains):
    """The client configuration: this realm's KDC on loopback, no DNS lookups of any kind."""
    mapping = ''.join(' .%s = %s\n %s = %s\n' % (d, realm, d, realm) for d in sorted(set(domains)))
    return ('# written by python -m winlab fleet: the lab realm (no DNS, no reverse lookups)\n'
            '[libdefaults]\n'
            ' default_realm = %(realm)s\n'
            ' dns_lookup_kdc = false\n'
            ' dns_lookup_realm = false\n'
            ' dns_canonicalize_hostname = false\n'
            ' rdns = false\n'
            ' udp_preference_limit = 1\n'
            ' forwardable = true\n'
            '[realms]\n'
            ' %(realm)s = {\n'
            '  kdc = 127.0.0.1:%(port)d\n'
            ' }\n'
            '[domain_realm]\n'
            '%(mapping)s' % {'realm': realm, 'port': port, 'mapping': mapping})


class Realm:
    """One lab realm: `users` {principal name: password}, `fqdns` the hosts that get an HTTP/<fqdn> principal."""

    def __init__(self, state_dir, realm, users, fqdns):
        self.realm = realm
        self.users = dict(users)
        self.fqdns = sorted(set(fqdns))
        self.directory = os.path.join(state_dir, 'kerberos')
        self.krb5_conf = os.path.join(state_dir, 'krb5.conf')
        self.kdc_conf = os.path.join(self.directory, 'kdc.conf')
        self.keytab = os.path.join(self.directory, 'http.keytab')
        self.rcache_dir = os.path.join(self.directory, 'rcache')
        self.port = None
        self.process = None
        self._tools = {}

    def spn(self, fqdn):
        return 'HTTP/%s@%s' % (fqdn, self.realm)

    def user_principal(self, name):
        return '%s@%s' % (name, self.realm)

    def acceptor_environment(self):
        """What the lab process needs to accept tickets and to write nothing outside the state directory."""
        return {'KRB5_CONFIG': self.krb5_conf, 'KRB5_KTNAME': 'FILE:' + self.keytab,
                'KRB5RCACHEDIR': self.rcache_dir, 'KRB5CCNAME': 'MEMORY:winlab'}

    def _env(self):
        return {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'KRB5_CONFIG': self.krb5_conf,
                'KRB5_KDC_PROFILE': self.kdc_conf, 'KRB5RCACHEDIR': self.rcache_dir, 'KRB5CCNAME': 'MEMORY:'}

    def _run(self, tool, args, stdin=None):
        proc = subprocess.run([self._tools[tool]] + args, input=stdin, capture_output=True, text=True,
                              env=self._env(), cwd=self.directory, timeout=60, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise KerberosSetupError('%s failed for realm %s: %s' % (tool, self.realm, detail[-1] if detail else
                                                                     'exit code %d' % proc.returncode))
        return proc

    def _write_kdc_conf(self):
        d = self.directory
        text = ('[kdcdefaults]\n'
                ' kdc_listen = 127.0.0.1:%(port)d\n'
                ' kdc_tcp_listen = 127.0.0.1:%(port)d\n'
                '[realms]\n'
                ' %(realm)s = {\n'
                '  database_name = %(d)s/principal\n'
                '  key_stash_file = %(d)s/stash\n'
                '  acl_file = %(d)s/kadm5.acl\n'
                '  max_life = 10h\n'
                '  max_renewable_life = 1d\n'
                ' }\n'
                '[logging]\n'
                ' kdc = FILE:%(d)s/kdc.log\n'
                ' admin_server = FILE:%(d)s/kadmin.log\n'
                ' default = FILE:%(d)s/krb5.log\n' % {'port': self.port, 'realm': self.realm, 'd': d})
        write_file_atomic(self.kdc_conf, text)

    def create(self):
        """A fresh database with every principal, the service keytab and both configuration files."""
        for tool in TOOLS:
            self._tools[tool] = find_tool(tool)
        if os.path.isdir(self.directory):
            shutil.rmtree(self.directory)
        os.makedirs(self.rcache_dir, mode=0o700)
        self.port = _free_port()
        self._write_kdc_conf()
        domains = [fqdn.partition('.')[2] for fqdn in self.fqdns if '.' in fqdn] + [self.realm.lower()]
        write_file_atomic(self.krb5_conf, krb5_conf_text(self.realm, self.port, domains), 0o644)
        # the master key protects a throwaway database: random, and never needed again (the stash file holds it)
        self._run('kdb5_util', ['create', '-s', '-r', self.realm, '-P', secrets.token_urlsafe(24)])
        # kadmin.local reads its commands from stdin, so user passwords never appear on a command line
        commands = ['addprinc -pw "%s" %s' % (password, name) for name, password in sorted(self.users.items())]
        commands += ['addprinc -randkey HTTP/%s' % fqdn for fqdn in self.fqdns]
        commands += ['ktadd -k %s HTTP/%s' % (self.keytab, fqdn) for fqdn in self.fqdns]
        self._run('kadmin.local', ['-r', self.realm], stdin='\n'.join(commands) + '\n')
        # kadmin.local exits 0 even when a command fails: check that every principal is there
        listed = set(self._run('kadmin.local', ['-r', self.realm, '-q', 'listprincs']).stdout.split())
        wanted = [self.user_principal(name) for name in self.users] + [self.spn(fqdn) for fqdn in self.fqdns]
        missing = [name for name in wanted if name not in listed]
        if missing:
            raise KerberosSetupError('kadmin.local did not create %s in realm %s' % (', '.join(missing), self.realm))

    def start(self):
        """Create the realm and start krb5kdc; returns once it accepts TCP connections."""
        for attempt in range(3):
            self.create()
            log = open(os.path.join(self.directory, 'krb5kdc.stderr'), 'ab')  # pylint: disable=consider-using-with
            with log:
                self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                    [self._tools['krb5kdc'], '-n', '-r', self.realm], env=self._env(), cwd=self.directory,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
            if self._wait_listening():
                return
            self.stop()
            if attempt == 2:
                raise KerberosSetupError('krb5kdc for realm %s did not start; see %s' % (
                    self.realm, os.path.join(self.directory, 'krb5kdc.stderr')))

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False         # e.g. the port was taken between picking and binding it
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                if sock.connect_ex(('127.0.0.1', self.port)) == 0:
                    return True
            time.sleep(0.02)
        return False

    def stop(self):
        """Stop the KDC by its PID (SIGTERM, then SIGKILL)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
