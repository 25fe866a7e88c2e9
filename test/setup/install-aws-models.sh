#!/usr/bin/env bash
# Installs AWS's own API models, which the conformance check of every planned
# resource reads (policies/conformance/): botocore, at the version pinned in
# policies/conformance/models.ts (BOTOCORE_VERSION), from PyPI, into
# /var/cache/django-tiers/botocore-<version> (as root; CI calls it from
# `npm run setup:server-tools`) or, for a user, ~/.cache/django-tiers/.
# Only its data files are read (botocore/data/<service>/<api>/service-2.json.gz);
# nothing imports it. Idempotent; the models are never copied into the repo.
set -euo pipefail

version=$(sed -n 's/^export const BOTOCORE_VERSION = "\([0-9.]*\)";$/\1/p' "$(dirname "$0")/../../policies/conformance/models.ts")
if [[ -z $version ]]; then
  echo "install-aws-models: no BOTOCORE_VERSION in policies/conformance/models.ts" >&2
  exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
  cache=/var/cache/django-tiers
else
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/django-tiers
fi
target=$cache/botocore-$version

if [[ -f $target/botocore/data/ec2/2016-11-15/service-2.json.gz ]]; then
  echo "install-aws-models: botocore $version models present in $target"
  exit 0
fi

if ! python3 -m pip --version >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-aws-models: python3's pip is missing; install it (Debian: apt-get install python3-pip) and run again" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq python3-pip >/dev/null
fi

mkdir -p "$cache"
# Into a fresh folder, then renamed: a half-finished install is never taken for the models.
partial=$(mktemp -d "$cache/botocore-$version.partial.XXXXXX")
trap 'rm -rf "$partial"' EXIT
chmod 755 "$partial"
python3 -m pip install --quiet --no-deps --no-compile --disable-pip-version-check --target "$partial" "botocore==$version"
rm -rf "$target"
mv "$partial" "$target"
trap - EXIT
echo "install-aws-models: botocore $version models installed in $target"
