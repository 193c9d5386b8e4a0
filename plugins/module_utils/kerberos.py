# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos for the WinRM session of one task: the user's ticket, and what a Kerberos failure means.

Two ways to get the ticket, as Ansible's winrm connection offers them (``winrm_kinit_mode``):

* ``managed`` (the default when a password is given): the ticket-granting ticket is obtained from the
  password inside this process (MIT krb5's get_init_creds_password, no ``kinit``), stored in a new
  in-memory credential cache (``MEMORY:``) and destroyed when the task is done.  ``KRB5CCNAME`` names that
  cache only while the task talks to its host, and only in this process (Ansible runs every task of every
  host in a worker process of its own).  Nothing is written to disk; the password is given to no other
  process and is never on a command line or in an environment.
* ``manual``: the controller's current credential cache (``KRB5CCNAME`` or the default one) or client
  keytab (``KRB5_CLIENT_KTNAME``) is used as it is, for example after ``kinit`` by a scheduler.

pywinrm's Kerberos transport (pykerberos) then asks for the service ticket ``HTTP/<host>`` itself, where
``<host>`` is ``winrm_kerberos_hostname_override`` or the host name the task connects to.
"""

from __future__ import annotations

import contextlib
import os
import uuid

from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    AuthenticationFailure,
    ConnectionFailure,
    InvalidOption,
    MissingDependency,
)

try:
    import krb5
    HAS_KRB5 = True
except ImportError:
    HAS_KRB5 = False

try:
    import gssapi
    import gssapi.exceptions
    HAS_GSSAPI = True
except ImportError:
    HAS_GSSAPI = False

try:
    import kerberos as pykerberos  # what pywinrm's Kerberos transport runs on
    HAS_PYKERBEROS = True
except ImportError:
    HAS_PYKERBEROS = False

KINIT_MODES = ("managed", "manual")
SERVICE = "HTTP"

# MIT krb5 error codes (com_err table krb5, base -1765328384) a user meets, by what they mean.
KDC_UNREACHABLE = frozenset((-1765328228, -1765328164))          # KRB5_KDC_UNREACH, KRB5_REALM_CANT_RESOLVE
REALM_UNKNOWN = frozenset((-1765328230, -1765328160))            # KRB5_REALM_UNKNOWN, KRB5_CONFIG_NODEFREALM
CLIENT_UNKNOWN = frozenset((-1765328378,))                       # KDC_ERR_C_PRINCIPAL_UNKNOWN
SERVICE_UNKNOWN = frozenset((-1765328377,))                      # KDC_ERR_S_PRINCIPAL_UNKNOWN
WRONG_PASSWORD = frozenset((-1765328360, -1765328353))           # KDC_ERR_PREAUTH_FAILED, KRB_AP_ERR_BAD_INTEGRITY
PASSWORD_EXPIRED = frozenset((-1765328361,))                     # KDC_ERR_KEY_EXP
ACCOUNT_LOCKED = frozenset((-1765328366,))                       # KDC_ERR_CLIENT_REVOKED
CLOCK_SKEW = frozenset((-1765328347,))                           # KRB_AP_ERR_SKEW
TICKET_EXPIRED = frozenset((-1765328352,))                       # KRB_AP_ERR_TKT_EXPIRED
NO_TICKET = frozenset((-1765328189, -1765328243, -1765328245,    # KRB5_FCC_NOFILE, KRB5_CC_NOTFOUND, KRB5_CC_END
                       39756032, 39756034, 39756044))            # gssapi's KG_CCACHE_NOMATCH, KG_TGT_MISSING, KG_EMPTY_CCACHE
GSS_S_CREDENTIALS_EXPIRED = 11 << 16
GSS_S_NO_CRED = 7 << 16


def kinit_mode(settings):
    """'managed' or 'manual' for these settings (managed when a password is given, unless set)."""
    if settings.kinit_mode:
        return settings.kinit_mode
    return "managed" if settings.password else "manual"


def default_realm():
    """The default realm of this controller's Kerberos configuration, or None."""
    if not HAS_KRB5:
        return None
    try:
        return krb5.get_default_realm(krb5.init_context()).decode("utf-8", "replace") or None
    except krb5.Krb5Error:
        return None


def check_user(user, host):
    """Refuse a DOMAIN\\user name for Kerberos, showing the user@REALM form to use instead.

    Kerberos reads the backslash as an escape ('LAB\\ansible' becomes the principal 'LABansible'), and the
    NetBIOS domain name is not the realm, so the name is not mapped: the user writes the right one."""
    if not user or "\\" not in user:
        return
    domain, _sep, name = user.partition("\\")
    realm = default_realm() or "%s.EXAMPLE.COM" % domain.upper()
    raise InvalidOption(
        "winrm_user '%s' is a DOMAIN\\user name, which Kerberos cannot use: give the user principal name "
        "user@REALM instead, for example '%s@%s' (the realm is the Active Directory domain's DNS name in capitals)"
        % (user, name, realm), host=host)


def target_name(settings):
    """The host name pywinrm puts in the service principal name HTTP/<name>."""
    return settings.kerberos_hostname_override or settings.host


def _realm_of(settings):
    user = settings.user or ""
    return user.rpartition("@")[2] if "@" in user else default_realm() or "(default realm)"


def _spn(settings):
    return "%s/%s@%s" % (SERVICE, target_name(settings), _realm_of(settings))


def _config():
    return "KRB5_CONFIG=%s" % os.environ["KRB5_CONFIG"] if os.environ.get("KRB5_CONFIG") else "/etc/krb5.conf"


def require_libraries():
    if not (HAS_KRB5 and HAS_GSSAPI and HAS_PYKERBEROS):
        raise MissingDependency(
            "winrm_transport=kerberos needs the Python libraries pykerberos (pywinrm's Kerberos transport), gssapi and "
            "krb5 on the controller: pip install 'pywinrm[kerberos]' 'pyspnego[kerberos]' (they build against the MIT "
            "Kerberos development files: libkrb5-dev on Debian/Ubuntu, krb5-devel on RHEL/Fedora)")


# ---------------------------------------------------------------------------------------------- tickets

def _managed_ticket(settings, ccache_name):
    """Get the user's TGT with the password and store it in the in-memory cache `ccache_name`."""
    context = krb5.init_context()
    try:
        principal = krb5.parse_name_flags(context, settings.user.encode("utf-8"))
        options = krb5.get_init_creds_opt_alloc(context)
        krb5.get_init_creds_opt_set_canonicalize(options, True)
        # a ticket the host may use on the user's behalf only when delegation is asked for, like `kinit -f`
        krb5.get_init_creds_opt_set_forwardable(options, bool(settings.kerberos_delegation))
        creds = krb5.get_init_creds_password(context, principal, options, password=settings.password.encode("utf-8"))
        ccache = krb5.cc_resolve(context, ccache_name.encode("ascii"))
        krb5.cc_initialize(context, ccache, creds.client)
        krb5.cc_store_cred(context, ccache, creds)
    except krb5.Krb5Error as exc:
        raise explain_code(getattr(exc, "err_code", None), str(exc), settings, "kinit") from None


def _check_manual_ticket(settings):
    """In manual mode, fail early and clearly when the cache holds no usable ticket for the user."""
    name = gssapi.Name(settings.user, gssapi.NameType.user) if settings.user else None
    try:
        gssapi.Credentials(name=name, usage="initiate").lifetime  # pylint: disable=expression-not-assigned
    except gssapi.exceptions.GSSError as exc:
        raise explain_code(_gss_code(exc), _gss_text(exc), settings, "kinit", major=getattr(exc, "maj_code", 0)) from None


def _gss_code(exc):
    code = getattr(exc, "min_code", None)
    return code - (1 << 32) if code is not None and code >= 1 << 31 else code


def _gss_text(exc):
    try:
        return exc.gen_message()
    except Exception:  # pylint: disable=broad-except
        return str(exc)


@contextlib.contextmanager
def ticket(settings):
    """While the block runs, pywinrm finds the user's ticket: managed (private, in memory) or manual."""
    if settings is None or settings.transport != "kerberos":
        yield
        return
    require_libraries()
    if kinit_mode(settings) == "manual":
        _check_manual_ticket(settings)
        yield
        return
    ccache_name = "MEMORY:mailops-port25-%s" % uuid.uuid4().hex
    saved = os.environ.get("KRB5CCNAME")
    try:
        _managed_ticket(settings, ccache_name)
        os.environ["KRB5CCNAME"] = ccache_name
        yield
    finally:
        if saved is None:
            os.environ.pop("KRB5CCNAME", None)
        else:
            os.environ["KRB5CCNAME"] = saved
        with contextlib.suppress(krb5.Krb5Error):
            context = krb5.init_context()
            krb5.cc_destroy(context, krb5.cc_resolve(context, ccache_name.encode("ascii")))


# ---------------------------------------------------------------------------------------------- failures

def _cache_name():
    if os.environ.get("KRB5CCNAME"):
        return os.environ["KRB5CCNAME"]
    with contextlib.suppress(Exception):
        return krb5.cc_default_name(krb5.init_context()).decode("utf-8", "replace")
    return "the default credential cache"


def explain_code(code, text, settings, operation, major=0):
    """The Port25Error for a Kerberos error code (and the library's text), naming host, user and what to do."""
    host = settings.host
    user = settings.user or "(the default principal of the cache)"
    realm = _realm_of(settings)
    if code in KDC_UNREACHABLE:
        return ConnectionFailure("cannot get a Kerberos ticket for user %s: no KDC of realm %s answered (%s); check the "
                                 "realm's kdc entries in %s and that a domain controller is reachable"
                                 % (user, realm, text, _config()), host=host, operation=operation)
    if code in REALM_UNKNOWN:
        return AuthenticationFailure("cannot get a Kerberos ticket for user %s: realm %s is unknown to %s (%s)"
                                     % (user, realm, _config(), text), host=host, operation=operation)
    if code in CLIENT_UNKNOWN:
        return AuthenticationFailure("the KDC of realm %s does not know user %s (%s): check winrm_user (ansible_user), "
                                     "written user@REALM" % (realm, user, text), host=host, operation=operation)
    if code in WRONG_PASSWORD:
        return AuthenticationFailure("the KDC of realm %s refused the password of user %s (%s)" % (realm, user, text),
                                     host=host, operation=operation)
    if code in PASSWORD_EXPIRED or code in ACCOUNT_LOCKED:
        return AuthenticationFailure("the KDC of realm %s refused user %s: %s" % (realm, user, text),
                                     host=host, operation=operation)
    if code in SERVICE_UNKNOWN:
        return AuthenticationFailure(
            "the KDC of realm %s knows no service principal %s, so user %s cannot get a ticket for this host (%s): the "
            "name comes from the host name the task connects to; for a host addressed by IP address or by an alias, set "
            "winrm_kerberos_hostname_override (ansible_winrm_kerberos_hostname_override) to its name in the domain"
            % (realm, _spn(settings), user, text), host=host, operation=operation)
    if code in CLOCK_SKEW:
        return AuthenticationFailure(
            "user %s: the clock of this controller and the clock of the KDC of realm %s (or of the host) differ by more "
            "than Kerberos allows, 5 minutes by default (%s): synchronise the clocks (NTP)" % (user, realm, text),
            host=host, operation=operation)
    if code in TICKET_EXPIRED or major & 0xFFFF0000 == GSS_S_CREDENTIALS_EXPIRED:
        return AuthenticationFailure(
            "the Kerberos ticket of user %s in %s has expired (%s): run kinit again, or give winrm_password and "
            "winrm_kinit_mode=managed so that each task gets a fresh ticket" % (user, _cache_name(), text),
            host=host, operation=operation)
    if code in NO_TICKET or major & 0xFFFF0000 == GSS_S_NO_CRED:
        return AuthenticationFailure(
            "no Kerberos ticket for user %s in %s (winrm_kinit_mode=manual) (%s): run kinit first, or give "
            "winrm_password so that the task gets its own ticket (winrm_kinit_mode=managed)" % (user, _cache_name(), text),
            host=host, operation=operation)
    return AuthenticationFailure("Kerberos failed for user %s and service principal %s: %s" % (user, _spn(settings), text),
                                 host=host, operation=operation)


def _pykerberos_error(exc):
    """(minor code, text) of the first pykerberos GSSError in an exception's chain, or None."""
    seen = set()
    current = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if HAS_PYKERBEROS and isinstance(current, pykerberos.GSSError) and len(current.args) >= 2:
            minor = current.args[1]
            if isinstance(minor, tuple) and len(minor) == 2:
                code = minor[1]
                if isinstance(code, int) and code >= 1 << 31:
                    code -= 1 << 32
                return code, str(minor[0])
        current = current.__cause__ or current.__context__
    return None


def explain(exc, settings, operation, address):
    """A clear Port25Error for a Kerberos failure pywinrm raised while talking to the host, or None."""
    found = _pykerberos_error(exc)
    if found is not None:
        return explain_code(found[0], found[1], settings, operation)
    name = type(exc).__name__
    user = settings.user or "(the default principal of the cache)"
    if name == "MutualAuthenticationError":
        return AuthenticationFailure(
            "the answer of %s did not prove that it holds the key of %s (Kerberos mutual authentication failed): "
            "another computer may answer at this address" % (address, _spn(settings)), host=settings.host, operation=operation)
    if name in ("InvalidCredentialsError", "AuthenticationError"):
        return AuthenticationFailure(
            "%s refused the Kerberos ticket of user %s for %s (HTTP 401): the host may not accept Kerberos, the "
            "service principal may belong to another computer (check winrm_kerberos_hostname_override), the user "
            "may not be allowed to use WinRM there, or the clocks may differ by more than 5 minutes"
            % (address, user, _spn(settings)), host=settings.host, operation=operation)
    return None
