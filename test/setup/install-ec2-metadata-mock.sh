#!/usr/bin/env bash
# Installs AWS's amazon-ec2-metadata-mock (Go module proxy, pinned), the
# instance metadata service (IMDSv2: tokens, instance id, public names, the
# instance role's credentials, autoscaling target-lifecycle-state) for the
# real runs of test/servers/, as /var/cache/django-tiers/bin/ec2-metadata-mock
# (outside git). moto, the AWS APIs' counterpart, comes with the PyPI tools
# (install-pypi-tools.sh). Idempotent and non-interactive; run as root (CI
# calls it through `npm run setup:server-tools`).
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install-ec2-metadata-mock: run as root" >&2
  exit 1
fi

readonly CACHE=/var/cache/django-tiers
readonly MODULE=github.com/aws/amazon-ec2-metadata-mock
readonly MOCK_VERSION=v1.13.0
readonly BINARY=$CACHE/bin/ec2-metadata-mock-$MOCK_VERSION

if [[ -x $BINARY ]]; then
  echo "install-ec2-metadata-mock: $MOCK_VERSION present"
else
  export DEBIAN_FRONTEND=noninteractive
  installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
  apt_install=(apt-get install -y -q --no-install-recommends)
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  # The mock's go.mod asks for Go 1.23: bookworm's own Go is 1.19, so there it
  # comes from bookworm-backports.
  if command -v go >/dev/null 2>&1; then
    go=go
  elif [[ $codename == bookworm ]]; then
    grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/ ||
      echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
    installed golang-1.23-go || { apt-get update -q && "${apt_install[@]}" -t bookworm-backports golang-1.23-go; }
    go=/usr/lib/go-1.23/bin/go
  else
    installed golang-go || { apt-get update -q && "${apt_install[@]}" golang-go; }
    go=go
  fi
  install -d "$CACHE/bin" "$CACHE/go"
  GOPATH=$CACHE/go GOBIN=$CACHE/go/bin GOFLAGS=-modcacherw GOTOOLCHAIN=local "$go" install "$MODULE/cmd/ec2-metadata-mock@$MOCK_VERSION"
  install -m 0755 "$CACHE/go/bin/ec2-metadata-mock" "$BINARY"
  echo "install-ec2-metadata-mock: $MOCK_VERSION installed as $BINARY"
fi
# The name test/servers runs it by.
ln -sfn "$BINARY" "$CACHE/bin/ec2-metadata-mock"
