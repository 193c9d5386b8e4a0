# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options, their validation, the pywinrm Protocol factory and transport error mapping."""

from __future__ import annotations

import base64
import http.client
import os
import re
import ssl
import traceback

from ansible.module_utils.common.parameters import env_fallback

from ansible_collections.mailops.port25.plugins.module_utils.errors import (
    AuthenticationFailure,
    ConnectionFailure,
    InvalidOption,
    MissingDependency,
    Port25Error,
    ProtocolError,
    TLSFailure,
)
from ansible_collections.mailops.port25.plugins.module_utils import cim, kerberos

try:
    import requests
    import winrm.exceptions
    import winrm.transport
    from winrm.protocol import Protocol
    HAS_WINRM = True
    WINRM_IMPORT_ERROR = None
except ImportError:
    HAS_WINRM = False
    WINRM_IMPORT_ERROR = traceback.format_exc()
    Protocol = None

try:
    import spnego
    from requests_ntlm import HttpNtlmAuth
    from requests_ntlm.requests_ntlm import ShimSessionSecurity
    HAS_NTLM = True
except ImportError:
    HAS_NTLM = False

ENV_PREFIX = "MAILOPS_WINRM_"
TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic", "certificate")
DEFAULT_PATH = "/wsman"
# One HTTP answer may be at most this big. Requests ask for MaxEnvelopeSize 512000 (wsman.MAX_ENVELOPE_SIZE) and
# Windows keeps to it (DSP0226 R6.2-5); four times that leaves room for UTF-16 and message sealing. A bigger answer
# is cut off before it is held in memory: pywinrm would otherwise read any size.
MAX_RESPONSE_BYTES = 4 * 512000


class StaleAuthentication(Exception):
    """The host no longer knows the connection's authentication: it closed the idle keep-alive connection, and the
    message (sealed with the old session's keys) was refused unread on the new one. Nothing was processed."""


def _env(name):
    return (env_fallback, [ENV_PREFIX + name])


WINRM_ARGSPEC = dict(
    winrm_host=dict(type="str", required=True, fallback=_env("HOST")),
    winrm_port=dict(type="int", fallback=_env("PORT")),
    winrm_scheme=dict(type="str", choices=["http", "https"], fallback=_env("SCHEME")),
    winrm_path=dict(type="str", default=DEFAULT_PATH, fallback=_env("PATH")),
    winrm_transport=dict(type="str", default="ntlm", choices=list(TRANSPORTS), fallback=_env("TRANSPORT")),
    winrm_user=dict(type="str", fallback=_env("USER")),
    winrm_password=dict(type="str", no_log=True, fallback=_env("PASSWORD")),
    winrm_cert_validation=dict(type="str", default="validate", choices=["validate", "ignore"], fallback=_env("CERT_VALIDATION")),
    winrm_ca_trust_path=dict(type="path", fallback=_env("CA_TRUST_PATH")),
    winrm_cert_pem=dict(type="path", fallback=_env("CERT_PEM")),
    winrm_cert_key_pem=dict(type="path", no_log=False, fallback=_env("CERT_KEY_PEM")),
    winrm_message_encryption=dict(type="str", default="auto", choices=["auto", "always", "never"], fallback=_env("MESSAGE_ENCRYPTION")),
    winrm_operation_timeout=dict(type="int", default=20, fallback=_env("OPERATION_TIMEOUT")),
    winrm_read_timeout=dict(type="int", default=30, fallback=_env("READ_TIMEOUT")),
    winrm_allow_basic_over_http=dict(type="bool", default=False, fallback=_env("ALLOW_BASIC_OVER_HTTP")),
    winrm_kerberos_hostname_override=dict(type="str", fallback=_env("KERBEROS_HOSTNAME_OVERRIDE")),
    winrm_kerberos_delegation=dict(type="bool", default=False, fallback=_env("KERBEROS_DELEGATION")),
    winrm_kinit_mode=dict(type="str", choices=list(kerberos.KINIT_MODES), fallback=_env("KINIT_MODE")),
)

WINRM_REQUIRED_TOGETHER = [["winrm_cert_pem", "winrm_cert_key_pem"]]
WINRM_REQUIRED_IF = [["winrm_transport", "certificate", ["winrm_cert_pem", "winrm_cert_key_pem"]]]

# Inventory variable -> option, as Ansible's winrm (and psrp) connection plugins read them.
# Several variables may name one option: the first one present wins.
INVENTORY_VARIABLES = (
    ("winrm_host", ("ansible_host", "inventory_hostname")),
    ("winrm_port", ("ansible_port", "ansible_winrm_port", "ansible_psrp_port")),
    ("winrm_user", ("ansible_user", "ansible_winrm_user", "ansible_psrp_user")),
    ("winrm_password", ("ansible_password", "ansible_winrm_password", "ansible_winrm_pass", "ansible_psrp_password")),
    ("winrm_transport", ("ansible_winrm_transport", "ansible_psrp_auth")),
    ("winrm_scheme", ("ansible_winrm_scheme", "ansible_psrp_protocol")),
    ("winrm_path", ("ansible_winrm_path", "ansible_psrp_path")),
    ("winrm_cert_validation", ("ansible_winrm_server_cert_validation", "ansible_psrp_cert_validation")),
    ("winrm_ca_trust_path", ("ansible_winrm_ca_trust_path", "ansible_psrp_ca_path")),
    ("winrm_cert_pem", ("ansible_winrm_cert_pem", "ansible_psrp_certificate_pem")),
    ("winrm_cert_key_pem", ("ansible_winrm_cert_key_pem", "ansible_psrp_certificate_key_pem")),
    ("winrm_message_encryption", ("ansible_winrm_message_encryption", "ansible_psrp_message_encryption")),
    ("winrm_operation_timeout", ("ansible_winrm_operation_timeout_sec", "ansible_psrp_operation_timeout")),
    ("winrm_read_timeout", ("ansible_winrm_read_timeout_sec", "ansible_psrp_read_timeout")),
    ("winrm_kerberos_hostname_override", ("ansible_winrm_kerberos_hostname_override", "ansible_psrp_negotiate_hostname_override")),
    ("winrm_kerberos_delegation", ("ansible_winrm_kerberos_delegation", "ansible_psrp_negotiate_delegate")),
    ("winrm_kinit_mode", ("ansible_winrm_kinit_mode",)),
)

# Transport names of the other plugins: psrp's 'negotiate' is NTLM here (no SPNEGO/Kerberos
# negotiation), pywinrm's 'ssl' and 'plaintext' are Basic (over HTTPS or HTTP).
TRANSPORT_ALIASES = {"negotiate": "ntlm", "ssl": "basic", "plaintext": "basic"}

_HOST_RE = re.compile(r"^[A-Za-z0-9._:%-]+$")


def _first_transport(value):
    """Ansible accepts a list or a comma-separated string of transports: take the first one we support."""
    if isinstance(value, str):
        candidates = [v.strip() for v in value.split(",")]
    elif isinstance(value, (list, tuple)):
        candidates = [str(v).strip() for v in value]
    else:
        return value
    candidates = [c.lower() for c in candidates if c]
    for candidate in candidates:
        if candidate in TRANSPORTS:
            return candidate
    for candidate in candidates:
        if candidate in TRANSPORT_ALIASES:
            return TRANSPORT_ALIASES[candidate]
    # Nothing supported: hand the first one on so validation names it.
    return candidates[0] if candidates else None


def options_from_inventory(host_vars):
    """Map a host's (already templated) inventory connection variables to ``winrm_*`` options.

    Only options whose variables are present (and not None) are returned.
    """
    options = {}
    for option, names in INVENTORY_VARIABLES:
        for name in names:
            value = host_vars.get(name)
            if value is not None and value != "":
                options[option] = value
                break
    if "winrm_transport" in options:
        options["winrm_transport"] = _first_transport(options["winrm_transport"])
    return options


# The architecture map calls it settings_from_inventory; one implementation, two names.
settings_from_inventory = options_from_inventory


class ConnectionSettings(object):
    """Validated connection settings for one host. ``repr()`` never shows the password."""

    __slots__ = ("host", "port", "scheme", "path", "transport", "user", "password", "cert_validation",
                 "ca_trust_path", "cert_pem", "cert_key_pem", "message_encryption", "operation_timeout",
                 "read_timeout", "allow_basic_over_http", "kerberos_hostname_override", "kerberos_delegation", "kinit_mode")

    def __init__(self, **kwargs):
        for name in self.__slots__:
            setattr(self, name, kwargs.get(name))

    @property
    def url_host(self):
        """Host as written in a URL: IPv6 literals in brackets."""
        return "[%s]" % self.host if ":" in self.host else self.host

    @property
    def endpoint(self):
        return "%s://%s:%d%s" % (self.scheme, self.url_host, self.port, self.path)

    @property
    def address(self):
        """``host:port`` for messages (IPv6 in brackets)."""
        return "%s:%d" % (self.url_host, self.port)

    def __repr__(self):
        shown = ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.__slots__ if n != "password")
        return "ConnectionSettings(%s, password=%s)" % (shown, "'********'" if self.password else None)


def _int_option(params, name, default=None):
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidOption("%s must be an integer, got %r" % (name, value))


def settings_from_params(params):
    """Validate ``winrm_*`` parameters and return ConnectionSettings; raise InvalidOption naming the problem."""
    host = (params.get("winrm_host") or "")
    host = str(host).strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise InvalidOption("winrm_host is required (or set ansible_host in the inventory, or %sHOST)" % ENV_PREFIX)
    if not _HOST_RE.match(host):
        raise InvalidOption("winrm_host %r is not a host name or IP address" % host)

    transport = str(params.get("winrm_transport") or "ntlm").strip().lower()
    if transport not in TRANSPORTS:
        raise InvalidOption("winrm_transport %r is not supported; use one of %s" % (transport, ", ".join(TRANSPORTS)), host=host)

    port = _int_option(params, "winrm_port")
    scheme = params.get("winrm_scheme")
    if scheme is not None:
        scheme = str(scheme).lower()
        if scheme not in ("http", "https"):
            raise InvalidOption("winrm_scheme must be http or https, got %r" % scheme, host=host)
    if scheme is None:
        # As Ansible's winrm connection: plain HTTP only on the well-known HTTP port.
        scheme = "http" if port == 5985 else "https"
    if port is None:
        port = 5986 if scheme == "https" else 5985
    if not 1 <= port <= 65535:
        raise InvalidOption("winrm_port must be between 1 and 65535, got %d" % port, host=host)

    path = params.get("winrm_path") or DEFAULT_PATH
    if not path.startswith("/") or any(c in path for c in " ?#\r\n\t"):
        raise InvalidOption("winrm_path must be an absolute URL path such as /wsman, got %r" % path, host=host)

    cert_validation = params.get("winrm_cert_validation") or "validate"
    if cert_validation not in ("validate", "ignore"):
        raise InvalidOption("winrm_cert_validation must be validate or ignore, got %r" % cert_validation, host=host)
    encryption = params.get("winrm_message_encryption") or "auto"
    if encryption not in ("auto", "always", "never"):
        raise InvalidOption("winrm_message_encryption must be auto, always or never, got %r" % encryption, host=host)

    operation_timeout = _int_option(params, "winrm_operation_timeout", 20)
    read_timeout = _int_option(params, "winrm_read_timeout", 30)
    if operation_timeout < 1:
        raise InvalidOption("winrm_operation_timeout must be at least 1 second, got %d" % operation_timeout, host=host)
    if read_timeout <= operation_timeout:
        raise InvalidOption("winrm_read_timeout (%d) must be greater than winrm_operation_timeout (%d)"
                            % (read_timeout, operation_timeout), host=host)

    user = params.get("winrm_user")
    password = params.get("winrm_password")
    allow_basic = bool(params.get("winrm_allow_basic_over_http"))
    cert_pem = params.get("winrm_cert_pem")
    cert_key_pem = params.get("winrm_cert_key_pem")
    kinit_mode = params.get("winrm_kinit_mode")
    hostname_override = params.get("winrm_kerberos_hostname_override") or None
    if hostname_override is not None and not _HOST_RE.match(str(hostname_override)):
        raise InvalidOption("winrm_kerberos_hostname_override %r is not a host name" % hostname_override, host=host)

    if transport == "basic" and scheme == "http" and not allow_basic:
        raise InvalidOption(
            "Basic authentication over plain HTTP would send the password of user '%s' unencrypted to %s:%d; "
            "use winrm_scheme=https, another transport, or set winrm_allow_basic_over_http=true to accept the risk"
            % (user, host, port), host=host)
    if transport == "certificate":
        if scheme != "https":
            raise InvalidOption("winrm_transport=certificate needs HTTPS (winrm_scheme=https)", host=host)
        if not cert_pem or not cert_key_pem:
            raise InvalidOption("winrm_transport=certificate needs both winrm_cert_pem and winrm_cert_key_pem", host=host)
        for option, value in (("winrm_cert_pem", cert_pem), ("winrm_cert_key_pem", cert_key_pem)):
            if not os.path.isfile(value):
                raise InvalidOption("%s: file not found: %s" % (option, value), host=host)
    elif transport == "kerberos":
        kerberos.check_user(user, host)
        if kinit_mode not in (None, "") + kerberos.KINIT_MODES:
            raise InvalidOption("winrm_kinit_mode must be managed or manual, got %r" % kinit_mode, host=host)
        if (kinit_mode == "managed" or (not kinit_mode and password)) and not (user and password):
            raise InvalidOption("winrm_kinit_mode=managed gets the Kerberos ticket from winrm_user and winrm_password: "
                                "give both (ansible_user as user@REALM, ansible_password), or use winrm_kinit_mode=manual "
                                "with a ticket from kinit", host=host)
    else:
        if not user:
            raise InvalidOption("winrm_user is required for winrm_transport=%s (or set ansible_user, or %sUSER)"
                                % (transport, ENV_PREFIX), host=host)
        if password is None:
            raise InvalidOption("winrm_password is required for winrm_transport=%s and user '%s' (or set ansible_password, or %sPASSWORD)"
                                % (transport, user, ENV_PREFIX), host=host)
    if encryption == "always" and transport in ("basic", "certificate"):
        raise InvalidOption("winrm_message_encryption=always is not possible with winrm_transport=%s (no message encryption); "
                            "use HTTPS instead" % transport, host=host)
    ca_trust_path = params.get("winrm_ca_trust_path")
    if ca_trust_path and cert_validation == "validate" and not os.path.exists(ca_trust_path):
        raise InvalidOption("winrm_ca_trust_path: file or directory not found: %s" % ca_trust_path, host=host)

    return ConnectionSettings(
        host=host, port=port, scheme=scheme, path=path, transport=transport, user=user, password=password,
        cert_validation=cert_validation, ca_trust_path=ca_trust_path, cert_pem=cert_pem, cert_key_pem=cert_key_pem,
        message_encryption=encryption, operation_timeout=operation_timeout, read_timeout=read_timeout,
        allow_basic_over_http=allow_basic, kerberos_hostname_override=hostname_override,
        kerberos_delegation=bool(params.get("winrm_kerberos_delegation")), kinit_mode=kinit_mode or None,
    )


if HAS_WINRM and HAS_NTLM:

    class PreemptiveNtlmAuth(HttpNtlmAuth):
        """NTLM that sends its NEGOTIATE token with the first request of a session, as the Windows WinRM client does.

        requests-ntlm waits for a 401 before negotiating: three HTTP legs per session instead of two.
        Later 401s (a new TCP connection) fall back to the library's own handshake.
        """

        def __init__(self, username, password, send_cbt=True):
            super(PreemptiveNtlmAuth, self).__init__(username, password, send_cbt=send_cbt)
            self._pending = None

        def __call__(self, request):
            request.headers["Connection"] = "Keep-Alive"
            if self.session_security is None and self._pending is None and "Authorization" not in request.headers:
                host = requests.utils.urlparse(request.url).hostname
                self._pending = spnego.client(self.username, self.password, protocol="ntlm", hostname=host, service="http",
                                              options=spnego.NegotiateOptions.use_ntlm)
                request.headers["Authorization"] = "Negotiate " + base64.b64encode(self._pending.step()).decode("ascii")
                request.register_hook("response", self._answer_challenge)
            else:
                request.register_hook("response", self._answer)
            return request

        def _answer(self, response, **kwargs):
            # A 401 on a session that was authenticated: the host closed the idle connection (HTTP.sys IdleConnection)
            # and this request went out on a new one. The library would authenticate that connection and resend a body
            # sealed with the old keys, which the host refuses (HTTP 400); the message must be sealed anew instead.
            if response.status_code == 401 and self.session_security is not None and \
                    response.request.headers.get("Content-Type", "").startswith("multipart/encrypted"):
                response.close()
                raise StaleAuthentication()
            return self.response_hook(response, **kwargs)

        def _answer_challenge(self, response, **kwargs):
            client, self._pending = self._pending, None
            challenge = _challenge_token(response)
            if response.status_code != 401 or challenge is None:
                return response
            cert_hash = self._get_server_cert(response)
            bindings = spnego.channel_bindings.GssChannelBindings(
                application_data=b"tls-server-end-point:" + cert_hash) if cert_hash else None
            # Release the connection before reusing it: NTLM authenticates the TCP connection itself.
            response.content  # pylint: disable=pointless-statement
            response.raw.release_conn()
            retry = response.request.copy()
            retry.headers["Authorization"] = "Negotiate " + base64.b64encode(client.step(challenge, channel_bindings=bindings)).decode("ascii")
            answer = response.connection.send(retry, **dict(kwargs, stream=False))
            answer.history.append(response)
            if answer.status_code != 401:
                self.session_security = ShimSessionSecurity(client)
            return answer

    def _capped_send(send, endpoint):
        """``session.send`` that reads an answer only up to MAX_RESPONSE_BYTES (ProtocolError beyond)."""

        def capped(request, **kwargs):
            if kwargs.pop("stream", False):
                return send(request, stream=True, **kwargs)
            response = send(request, stream=True, **kwargs)
            declared = response.headers.get("Content-Length", "")
            if not (declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES):
                chunks, size = [], 0
                for chunk in response.iter_content(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        break
                if size <= MAX_RESPONSE_BYTES:
                    response._content = b"".join(chunks)  # pylint: disable=protected-access
                    return response
            response.close()
            raise ProtocolError("an answer from %s is bigger than %d bytes (HTTP %s, Content-Length %s); WS-Management "
                                "answers are at most the MaxEnvelopeSize the client asks for: refused before reading it all"
                                % (requests.utils.urlparse(endpoint).netloc, MAX_RESPONSE_BYTES, response.status_code,
                                   declared or "not given"))
        return capped

    def _challenge_token(response):
        """The NTLM CHALLENGE of a 401 (``WWW-Authenticate: Negotiate <base64>``), or None."""
        for value in response.headers.get("www-authenticate", "").split(","):
            scheme, _sep, token = value.strip().partition(" ")
            if scheme.lower() in ("negotiate", "ntlm") and token.strip():
                try:
                    return base64.b64decode(token.strip())
                except (TypeError, ValueError):
                    return None
        return None

    class Port25Transport(winrm.transport.Transport):
        """pywinrm's Transport, with PreemptiveNtlmAuth in place of HttpNtlmAuth and no per-request environment lookups."""

        def _adjust(self, session):
            if type(session.auth) is HttpNtlmAuth:  # pylint: disable=unidiomatic-typecheck
                session.auth = PreemptiveNtlmAuth(self.username, self.password, send_cbt=self.send_cbt)
            # Proxies and the CA bundle are resolved once in create_protocol(); with trust_env requests would scan
            # the environment (proxies, .netrc) again for every message, which costs controller CPU per host.
            session.trust_env = False
            if not getattr(session, "capped", False):
                session.send = _capped_send(session.send, self.endpoint)
                session.capped = True

        def setup_encryption(self, session):
            # Called from build_session before the first (blank) message when messages are encrypted.
            self._adjust(session)
            super(Port25Transport, self).setup_encryption(session)

        def build_session(self):
            session = super(Port25Transport, self).build_session()
            self._adjust(session)
            return session


def require_winrm():
    """Raise MissingDependency when pywinrm (or requests) cannot be imported."""
    if not HAS_WINRM:
        raise MissingDependency("the pywinrm Python library (>= 0.5.0) is required on the controller: pip install pywinrm")


def create_protocol(settings):
    """Build one pywinrm Protocol (one requests session, created on first use) for ``settings``."""
    require_winrm()
    try:
        protocol = Protocol(
            endpoint=settings.endpoint,
            transport=settings.transport,
            username=settings.user,
            password=settings.password,
            server_cert_validation=settings.cert_validation,
            # Without a path, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE still apply (resolved here, explicitly), else the default bundle.
            ca_trust_path=settings.ca_trust_path or _env_ca_bundle(),
            cert_pem=settings.cert_pem,
            cert_key_pem=settings.cert_key_pem,
            message_encryption=settings.message_encryption,
            operation_timeout_sec=settings.operation_timeout,
            read_timeout_sec=settings.read_timeout,
            # Proxies from the environment are not used: WinRM endpoints are reached directly.
            proxy=None,
            kerberos_hostname_override=settings.kerberos_hostname_override,
            kerberos_delegation=bool(settings.kerberos_delegation),
        )
    except Exception as exc:
        raise map_error(exc, settings, "connect")
    if HAS_NTLM and type(protocol.transport) is winrm.transport.Transport:  # pylint: disable=unidiomatic-typecheck
        # Same object and state, two methods overridden (see Port25Transport).
        protocol.transport.__class__ = Port25Transport
    return protocol


def _env_ca_bundle():
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def ca_description(settings):
    """Which CA bundle verifies the host's certificate (for TLS error messages)."""
    if settings.ca_trust_path:
        return "CA path %s" % settings.ca_trust_path
    env_bundle = _env_ca_bundle()
    if env_bundle:
        return "CA path %s (from the environment)" % env_bundle
    return "the default CA bundle (set winrm_ca_trust_path to use another)"


def scrub(text, settings):
    """Remove the password from a text built from a library's exception, just in case."""
    text = str(text)
    if settings is not None and settings.password:
        text = text.replace(settings.password, "********")
    return text


def _chain(exc):
    """Every exception reachable from ``exc`` (reason, args, cause, context), outermost first."""
    seen = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = getattr(current, "reason", None)
        todo.extend(e for e in (inner,) + tuple(current.args) if isinstance(e, BaseException))
        todo.extend((current.__cause__, current.__context__))


def _reason(exc):
    """The innermost readable reason of a requests/urllib3 exception chain."""
    reason = str(exc)
    for current in _chain(exc):
        text = str(current)
        if text:
            reason = text
    return reason


_RESET_TYPES = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.RemoteDisconnected)


def is_reset(exc):
    """True when the connection was reset/closed by the peer mid-request (worth one more try on a new connection)."""
    return any(isinstance(current, _RESET_TYPES) for current in _chain(exc))


def _fault_in(body):
    """The SOAP fault carried by an HTTP error body, or None when the body is empty, not XML or not a fault."""
    if not body or not body.lstrip().startswith("<"):
        return None
    try:
        return cim.fault_info(body)
    except Port25Error:  # unparseable or refused (a DTD): the caller reports the HTTP status instead
        return None


# TLS alerts by which a host refuses the client certificate (OpenSSL's texts), and Windows' "logon denied".
_CERT_ALERTS = ("alert unknown ca", "alert bad certificate", "alert certificate unknown", "alert certificate required",
                "alert unsupported certificate", "alert access denied")
SEC_E_LOGON_DENIED = 0x8009030C


def _method_failure(exc, settings, operation, address):
    """What a Kerberos, certificate or CredSSP failure means (None for other failures and transports)."""
    if settings is None:
        return None
    host = settings.host
    if settings.transport == "kerberos":
        return kerberos.explain(exc, settings, operation, address)
    if settings.transport == "certificate":
        reason = _reason(exc).lower()
        refused = isinstance(exc, winrm.exceptions.AuthenticationError)
        # TLS 1.3: the host checks the certificate after the client's handshake, then closes (or sends an alert)
        closed = isinstance(exc, requests.exceptions.ConnectionError) and (
            any(alert in reason for alert in _CERT_ALERTS)
            or any(isinstance(e, (http.client.RemoteDisconnected, ssl.SSLEOFError)) for e in _chain(exc)))
        if refused or closed:
            how = "answered HTTP 401" if refused else "closed the TLS connection (%s)" % scrub(_reason(exc), settings)
            return AuthenticationFailure(
                "%s %s: it does not accept the client certificate %s; the certificate must be issued by a CA the host "
                "trusts, carry the Client Authentication usage and a user principal name mapped to a local account "
                "(WSMan ClientCertificate mapping)" % (address, how, settings.cert_pem), host=host, operation=operation)
    if settings.transport == "credssp":
        status = getattr(exc, "status", None) if type(exc).__name__ == "NTStatusException" else None
        if status == SEC_E_LOGON_DENIED or isinstance(exc, winrm.exceptions.AuthenticationError):
            return AuthenticationFailure("%s refused user '%s' (CredSSP: wrong user name or password)" % (address, settings.user),
                                         host=host, operation=operation)
        if type(exc).__name__ == "AuthenticationException":
            return AuthenticationFailure("CredSSP with %s failed for user '%s': %s (is CredSSP enabled on the host's WinRM "
                                         "service?)" % (address, settings.user, scrub(exc, settings)), host=host, operation=operation)
    return None


def map_error(exc, settings, operation):
    """Translate an exception raised by pywinrm/requests into a Port25Error naming the host and operation."""
    host = settings.host if settings is not None else None
    if isinstance(exc, Port25Error):
        exc.host, exc.operation = exc.host or host, exc.operation or operation
        return exc
    address = settings.address if settings is not None else host
    if not HAS_WINRM:
        return Port25Error(scrub("%s: %s" % (type(exc).__name__, exc), settings), host=host, operation=operation)
    explained = _method_failure(exc, settings, operation, address)
    if explained is not None:
        return explained
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSFailure("TLS certificate verification of %s failed using %s (%s)"
                          % (address, ca_description(settings), scrub(_reason(exc), settings)), host=host, operation=operation)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectionFailure("cannot reach %s (connection timed out after %ss)" % (address, settings.read_timeout),
                                 host=host, operation=operation)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return ConnectionFailure("cannot reach %s (no answer within %ss)" % (address, settings.read_timeout), host=host, operation=operation)
    if isinstance(exc, requests.exceptions.ConnectionError):
        failure = ConnectionFailure("cannot reach %s (%s)" % (address, scrub(_reason(exc), settings)), host=host, operation=operation)
        failure.transient = is_reset(exc)
        return failure
    if isinstance(exc, winrm.exceptions.AuthenticationError):
        return AuthenticationFailure(
            "user '%s' was rejected by %s (HTTP 401): check the user name and password, and that transport %s is enabled on the listener"
            % (settings.user, address, settings.transport), host=host, operation=operation)
    if isinstance(exc, winrm.exceptions.WSManFaultError):
        info = _fault_in(exc.response)
        if info is not None:
            return cim.fault_from_info(info, host=host, operation=operation)
        return Port25Error("HTTP %s from %s: %s" % (exc.code, address, scrub(exc.reason, settings)), host=host, operation=operation)
    if isinstance(exc, winrm.exceptions.WinRMOperationTimeoutError):
        return cim.fault_from_info({"reason": "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
                                    "subcode": "w:TimedOut", "wsman_code": 2150858793}, host=host, operation=operation)
    if isinstance(exc, StaleAuthentication) or (isinstance(exc, winrm.exceptions.WinRMTransportError) and exc.code == 400
                                                and not (exc.response_text or "").strip()):
        # An empty 400 is how WinRM refuses a message it cannot unseal (a new connection after an idle close):
        # faults from WinRM or WMI come as HTTP 500 with a SOAP body, so an empty 400 or the 401 above were not processed.
        failure = ConnectionFailure("%s no longer accepted this connection's authentication (it closes idle connections): "
                                    "the request was refused unread" % address, host=host, operation=operation)
        failure.unprocessed = True
        return failure
    if isinstance(exc, winrm.exceptions.WinRMTransportError):
        info = _fault_in(exc.response_text)
        if info is not None:
            return cim.fault_from_info(info, host=host, operation=operation)
        return Port25Error("unexpected HTTP %s from %s" % (exc.code, address), host=host, operation=operation)
    if isinstance(exc, winrm.exceptions.WinRMError):
        return Port25Error(scrub(str(exc), settings), host=host, operation=operation)
    return Port25Error(scrub("%s: %s" % (type(exc).__name__, exc), settings), host=host, operation=operation)
