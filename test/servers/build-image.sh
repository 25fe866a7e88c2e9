#!/usr/bin/env bash
# build-image.sh DEST PACKAGE...: a Debian bookworm root for the simulated
# hosts of test/servers/, with the Debian packages the provisioning script's
# phase install ensures already installed, so that phase (run for real in
# each host) finds them present and needs no network. Built once into
# DEST.tmp, then renamed to DEST; the caller holds a lock and names DEST after
# a hash of this script and the package list, so a change rebuilds it.
#
# What a fresh EC2 Debian AMI would not have is kept out: no django-tiers
# file, no user, no cluster configuration beyond what the packages create.
set -euo pipefail
dest=$1
shift
readonly MIRROR=${DJANGO_TIERS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
tmp=$dest.tmp
rm -rf "$tmp"
mkdir -p "$(dirname "$dest")"

echo "build-image: debootstrap --variant=minbase bookworm ($MIRROR)"
debootstrap --variant=minbase bookworm "$tmp" "$MIRROR" >"$tmp.log" 2>&1 || {
  tail -n 30 "$tmp.log" >&2
  exit 1
}

# As on the harness machines: packages must not start daemons in a chroot.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
echo "deb $MIRROR bookworm-backports main" >"$tmp/etc/apt/sources.list.d/bookworm-backports.list"
cp /etc/resolv.conf "$tmp/etc/resolv.conf"

mount -t proc proc "$tmp/proc"
trap 'umount "$tmp/proc" 2>/dev/null || true' EXIT
in_root() {
  chroot "$tmp" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root "$@"
}
apt_install=(apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
echo "build-image: apt-get install ${*} (+ python3-django from bookworm-backports)"
in_root apt-get update -q >>"$tmp.log" 2>&1
in_root "${apt_install[@]}" -t bookworm-backports python3-django >>"$tmp.log" 2>&1 || { tail -n 30 "$tmp.log" >&2; exit 1; }
in_root "${apt_install[@]}" "$@" >>"$tmp.log" 2>&1 || { tail -n 30 "$tmp.log" >&2; exit 1; }
in_root apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/*
# The image's resolver is the builder's; the hosts have no route out anyway.
rm -f "$tmp/etc/resolv.conf"
umount "$tmp/proc"
trap - EXIT
touch "$tmp/.django-tiers-image-complete"
rm -rf "$dest"
mv "$tmp" "$dest"
mv "$tmp.log" "$dest.log"
echo "build-image: done ($(du -sh "$dest" | cut -f1))"
