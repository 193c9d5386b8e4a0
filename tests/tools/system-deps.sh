#!/usr/bin/env bash
# Debian packages `make test` needs, installed where this machine lets us (root with apt-get):
#   the shellcheck package         ansible-test's shellcheck sanity test
#   krb5-kdc, krb5-admin-server    krb5kdc, kdb5_util, kadmin.local: the lab's own Kerberos realm
#   krb5-user                      kinit: Ansible's winrm connection in its managed Kerberos mode
#   libkrb5-dev                    krb5-config and headers: building the Python gssapi, krb5 and pykerberos bindings
# Without them the Kerberos tests are skipped and ansible-test skips shellcheck, except under CI=true, where a
# missing Kerberos piece fails the run.
set -uo pipefail
PATH=$PATH:/usr/sbin:/sbin

missing() {
  local packages=()
  command -v shellcheck >/dev/null || packages+=(shellcheck)
  command -v krb5kdc >/dev/null || packages+=(krb5-kdc)
  command -v kadmin.local >/dev/null || packages+=(krb5-admin-server)
  command -v kinit >/dev/null || packages+=(krb5-user)
  command -v krb5-config >/dev/null || packages+=(libkrb5-dev)
  echo "${packages[@]}"
}

need=$(missing)
if [ -n "$need" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "system-deps: installing $need"
  # shellcheck disable=SC2086  # one word per package
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
  need=$(missing)
fi
kerberos=${need/shellcheck/}
kerberos=${kerberos# }
if [ -n "$kerberos" ]; then
  if [ "${CI:-}" = true ]; then
    echo "system-deps: error: missing Debian packages $kerberos (needed for the Kerberos tests; install them or run as root with apt-get)" >&2
    exit 1
  fi
  echo "system-deps: warning: missing Debian packages $kerberos: the Kerberos tests will be skipped"
fi
case " $need " in
  *" shellcheck "*) echo "system-deps: shellcheck not installed: ansible-test will skip its shellcheck test" ;;
esac
exit 0
