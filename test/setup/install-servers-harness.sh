#!/usr/bin/env bash
# Installs, from Debian's packages, what the real-host harness of
# test/servers/ needs on the machine that runs it: debootstrap (the host
# images), iproute2 (ip netns, veth, bridges), curl (requests into the
# namespaces), wrk (bench/servers), util-linux (mount, nsenter, flock),
# haproxy (the ALB's stand-in in test/servers/load-balanced.test.ts, a test
# fixture that no stack deploys) and rsync-free coreutils. Idempotent and
# non-interactive; run as root on Debian (CI calls it before `npm test`). The
# host images themselves are built by the tests and cached under
# /var/cache/django-tiers/hosts.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-servers-harness: run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
readonly PACKAGES=(debootstrap iproute2 curl wrk util-linux procps psmisc ca-certificates openssl haproxy gpg)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-servers-harness: all tools present"
  exit 0
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-servers-harness: installed ${missing[*]}"
