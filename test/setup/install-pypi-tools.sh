#!/usr/bin/env bash
# Builds the venv of PyPI packages the tests run for real (moto's AWS server,
# Django, django-storages, boto3: see test/server/pypi-tools.ts) from
# test/setup/pypi-tools.txt, where every version, transitive ones included,
# is pinned. Debian's python3 and python3-venv; the venv lives under
# /var/cache/django-tiers and is rebuilt only when the list changes.
# Idempotent and non-interactive; run as root (CI calls it before the tests).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-pypi-tools: run as root" >&2
  exit 1
fi

readonly LIST="$(cd "$(dirname "$0")" && pwd)/pypi-tools.txt"
readonly VENV=/var/cache/django-tiers/pypi-tools/venv
readonly STAMP=$VENV/.pypi-tools.sha256
want=$(sha256sum "$LIST" | cut -d' ' -f1)

if [[ -x $VENV/bin/python && -r $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "install-pypi-tools: venv current"
  exit 0
fi

if ! /usr/bin/python3 -c 'import ensurepip' 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends python3-venv
fi

rm -rf "$VENV"
/usr/bin/python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --no-input --disable-pip-version-check --no-cache-dir --require-virtualenv -r "$LIST"
echo "$want" >"$STAMP"
echo "install-pypi-tools: venv built at $VENV"
