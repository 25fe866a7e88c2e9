#!/usr/bin/env bash
# Installs, from Debian's packages, the real tools the server/ tests run over
# the rendered files: nginx -t, shellcheck, supervisor's parser, gunicorn
# --check-config, cloud-init schema, logrotate -d, Django's check --deploy, and
# a throwaway PostgreSQL cluster for the migrate-under-lock test.
#
# Idempotent and non-interactive; run as root on Debian bookworm (CI calls it
# before the tests). Django comes from bookworm-backports (4.2 LTS, what the
# box installs too); everything else from bookworm main.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-server-tools: run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
readonly PACKAGES=(
  nginx shellcheck supervisor gunicorn cloud-init logrotate openssl postgresql
  python3-psycopg2 python3-redis python3-django-redis python3-celery python3-rq
  systemd gpg
)
readonly DJANGO_MIN=4.2

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}" python3-django; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$pkg"
    fi
  done
}

django_is_recent() {
  /usr/bin/python3 - "$DJANGO_MIN" <<'PY' 2>/dev/null
import sys
import django
want = tuple(int(p) for p in sys.argv[1].split("."))
sys.exit(0 if django.VERSION[:2] >= want else 1)
PY
}

if [[ -z $(missing_packages) ]] && django_is_recent; then
  echo "install-server-tools: all tools present"
  exit 0
fi

# Packages must not start their daemons here (nginx would take port 80 on a
# CI machine); policy-rc.d exit 101 tells invoke-rc.d "not allowed".
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [[ $codename == bookworm ]] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
fi

apt-get update -q
apt_install=(apt-get install -y -q --no-install-recommends)
if [[ $codename == bookworm ]]; then
  "${apt_install[@]}" -t bookworm-backports python3-django
else
  "${apt_install[@]}" python3-django
fi
"${apt_install[@]}" "${PACKAGES[@]}"

django_is_recent || { echo "install-server-tools: Django >= $DJANGO_MIN not installed" >&2; exit 1; }
echo "install-server-tools: done"
