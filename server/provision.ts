/**
 * The provisioning script: one bash file whose phases (fetch, install,
 * configure, release, verify) take a fresh Debian VM to a running box, and
 * whose `fetch release verify` rolls out a new release. Plus the two Python
 * helpers it runs. The script body is fixed; only its header comes from the
 * spec, so shellcheck over any rendering covers all of it. The exceptions
 * are blue-green on the box (`colors`): those boxes also get the colors part
 * (server/colors.ts) and the lines of each phase that call it, and a box
 * behind Cloudflare's proxy (tls.mode origin-certificate), which gets the
 * Origin CA certificate part (server/origin-certificate.ts) and its lines; so
 * any other box runs exactly the script it always ran (shellcheck covers
 * every rendering).
 */
import {
  ACME_WEBROOT, appFileLocations, APPS_DIR, BACKUP_DIR, boxProgramNames, BUNDLES_DIR, ETC_DIR, EXEC_WRAPPER, KEEP_RELEASES, LIB_DIR, LOG_DIR,
  MIGRATE_LOCKED, NO_RELEASE, PROVISION_SCRIPT, SECRETS_TO_ENV, SOCKET_DIR, SOCKET_GROUP, STATE_DIR,
} from "./paths";
import { APPLY_CONFIG } from "./box-config";
import { CLOUDWATCH_AGENT_SH } from "./cloudwatch-agent";
import { SSM_AGENT_SH } from "./ssm-agent";
import { colorsHeader, COLORS_SH } from "./colors";
import { originCertificateHeader, ORIGIN_CERTIFICATE_SH } from "./origin-certificate";
import { bashArray, bashAssoc, shellQuote } from "./quote";
import type { BoxSpec, RenderedFile } from "./types";

/** Debian packages phase install ensures (python3-django comes from bookworm-backports). */
export function provisionPackages(spec: BoxSpec): string[] {
  const packages = [
    "ca-certificates", "curl", "nginx", "supervisor", "python3", "python3-venv",
    "python3-pip", "python3-gunicorn", "python3-psycopg2", "python3-redis", "python3-django-redis", "logrotate", "cron",
    "unattended-upgrades",
    // gpg checks the signatures of AWS's agent packages (ssm-agent.ts, cloudwatch-agent.ts); Debian 13's apt uses sqv, not gpg.
    "gpg",
    // Debian's Django ships the admin's jQuery as a symlink into libjs-jquery, only
    // a Recommends: without it (--no-install-recommends) collectstatic fails on the
    // dangling link for every project that installs django.contrib.admin.
    "libjs-jquery",
  ];
  // The database and the cache run on the box unless they are external services.
  if (!spec.database) packages.push("postgresql");
  else if (spec.database.engine === "postgres") packages.push("postgresql-client");
  else packages.push("default-mysql-client", "python3-mysqldb");
  // App and worker servers never run Redis: without ElastiCache, Django's local-memory cache.
  if (!spec.cache && spec.role === "single-box") packages.push("redis-server");
  // bookworm splits django-storages: the S3 backend (storages.backends.s3boto3) is its own package.
  if (spec.objectStorage) packages.push("python3-django-storages", "python3-django-storages-boto3", "python3-boto3");
  // kombu's SQS transport: boto3 for the API, pycurl for its long polling.
  if (spec.broker?.kind === "sqs") packages.push(...["python3-boto3", "python3-pycurl"].filter((p) => !packages.includes(p)));
  if (spec.taskWorker === "celery") packages.push("python3-celery");
  if (spec.taskWorker === "rq") packages.push("python3-rq");
  if (spec.tls.mode === "letsencrypt") packages.push("certbot");
  // origin-certificate: no certbot; openssl checks the certificate and key before they replace the served ones.
  if (spec.tls.mode === "origin-certificate") packages.push("openssl");
  // A worker serves no HTTP: no nginx, no gunicorn.
  return spec.role === "worker" ? packages.filter((p) => p !== "nginx" && p !== "python3-gunicorn") : packages;
}

export function renderProvisionFiles(spec: BoxSpec): RenderedFile[] {
  return [
    { path: PROVISION_SCRIPT, mode: "0755", owner: "root:root", content: renderProvisionScript(spec) },
    { path: SECRETS_TO_ENV, mode: "0644", owner: "root:root", content: SECRETS_TO_ENV_PY },
    { path: MIGRATE_LOCKED, mode: "0644", owner: "root:root", content: MIGRATE_LOCKED_PY },
  ];
}

function assoc(spec: BoxSpec, value: (app: BoxSpec["apps"][number]) => string): string {
  return bashAssoc(Object.fromEntries(spec.apps.map((a) => [a.name, value(a)])));
}

/**
 * The server's role (phases configure, release and verify read it), its
 * fleet color (informational: logs and the verify line) and where uploads
 * live in the media bucket.
 */
function roleHeader(spec: BoxSpec): string {
  const names = spec.apps.map((a) => a.name);
  const cdn = spec.objectStorage?.customDomains !== undefined;
  const mediaPrefix = (app: string) => {
    const location = appFileLocations(names, app, cdn).media;
    return location ? `${location}/` : "";
  };
  return `
# What this server is: single-box (everything), app (nginx → gunicorn behind
# the ALB) or worker (task programs, no HTTP); an app server's fleet color.
readonly ROLE=${spec.role}
readonly COLOR=${shellQuote(spec.color ?? "")}
# Each app's key prefix of uploads in the media bucket (the first app's: the
# root, or media/ behind a CDN; the others': apps/<name>/media/).
declare -rA APP_MEDIA_PREFIX=${assoc(spec, (a) => mediaPrefix(a.name))}`;
}

export function renderProvisionScript(spec: BoxSpec): string {
  const tlsEmail = spec.tls.mode === "letsencrypt" ? spec.tls.email : "";
  const header = `#!/bin/bash
# django-tiers-provision: provisions this box in phases. Rendered by django-tiers
# for ${spec.project}/${spec.stack}; edits are overwritten.
#
#   django-tiers-provision                   every phase: fetch install configure release verify
#   django-tiers-provision PHASE...          just those, e.g. \`fetch release verify\` (a new release)
#   django-tiers-provision tls               request missing Let's Encrypt certificates (cron)
#
# fetch is the only phase that talks to AWS (instance role, IMDSv2); the others
# work offline from its outputs. Every phase is idempotent. Secrets are read in
# fetch straight into files only root and the app's group can read, and never
# reach this script, its arguments, stdout or ${LOG_DIR}/provision.log.
set -euo pipefail
umask 022
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=\${HOME:-/root}

# ---- from the stack's BoxSpec ---------------------------------------------------
readonly PROJECT=${shellQuote(spec.project)}
readonly STACK=${shellQuote(spec.stack)}
readonly ENVIRONMENT=${shellQuote(spec.environment)}
readonly REGION=${shellQuote(spec.region)}
readonly ARTIFACTS_BUCKET=${shellQuote(spec.artifactsBucket)}
readonly TLS_MODE=${shellQuote(spec.tls.mode)}
readonly TLS_EMAIL=${shellQuote(tlsEmail)}
readonly APPS=${bashArray(spec.apps.map((a) => a.name))}
declare -rA APP_DOMAINS=${assoc(spec, (a) => a.domains.join(" "))}
declare -rA APP_RELEASE_PARAMETER=${assoc(spec, (a) => a.releaseParameter)}
declare -rA APP_SECRET_ID=${assoc(spec, (a) => a.secretId)}
declare -rA APP_WSGI=${assoc(spec, (a) => a.wsgiApplication)}
declare -rA APP_PROGRAMS=${assoc(spec, (a) => boxProgramNames(a.name, spec).join(" "))}
${spec.colors ? colorsHeader(spec) : ""}${spec.tls.mode === "origin-certificate" ? originCertificateHeader(spec) : ""}readonly PACKAGES=${bashArray(provisionPackages(spec))}
# The database and the cache: on this box (local) or external services (RDS, ElastiCache).
readonly DB_MODE=${spec.database ? "external" : "local"}
readonly DB_ENGINE=${spec.database?.engine ?? "postgres"}
readonly DB_HOST=${shellQuote(spec.database?.host ?? "127.0.0.1")}
readonly DB_PORT=${spec.database?.port ?? 5432}
readonly DB_USER=${shellQuote(spec.database?.user ?? "postgres")}
readonly CACHE_MODE=${spec.cache ? "external" : spec.role === "single-box" ? "local" : "none"}
# With object storage: the bucket the apps' media files live in (django-storages).
readonly MEDIA_BUCKET=${shellQuote(spec.objectStorage?.mediaBucket ?? "")}${roleHeader(spec)}
# 1 when an app has no domain: fetch records the instance's public names for it.
readonly NEEDS_INSTANCE_HOSTS=${spec.apps.some((a) => a.domains.length === 0) ? 1 : 0}

# ---- the box's layout (server/paths.ts) ----------------------------------------
readonly PHASES=(fetch install configure release verify)
readonly ETC_DIR=${ETC_DIR}
readonly APPS_DIR=${APPS_DIR}
readonly LOG_DIR=${LOG_DIR}
readonly STATE_DIR=${STATE_DIR}
readonly BUNDLES_DIR=${BUNDLES_DIR}
readonly BACKUP_DIR=${BACKUP_DIR}
readonly SOCKET_DIR=${SOCKET_DIR}
readonly SOCKET_GROUP=${SOCKET_GROUP}
readonly ACME_WEBROOT=${ACME_WEBROOT}
readonly LIB_DIR=${LIB_DIR}
readonly EXEC_WRAPPER=${EXEC_WRAPPER}
readonly KEEP_RELEASES=${KEEP_RELEASES}
# The release parameter's value before an app's first release.
readonly NO_RELEASE=${NO_RELEASE}
# The SSM parameter naming this box's configuration document (every rendered file).
readonly CONFIG_PARAMETER=${shellQuote(spec.configParameter)}
readonly APPLY_CONFIG=${APPLY_CONFIG}
readonly PROVISION_SCRIPT=${PROVISION_SCRIPT}
`;
  return header + provisionBody(spec.colors !== undefined, spec.tls.mode === "origin-certificate");
}

/**
 * Secrets Manager's SecretString (a JSON object) on stdin → `KEY='value'`
 * lines on stdout. Errors name keys, never values.
 */
export const SECRETS_TO_ENV_PY = `"""Turn an app's secret (a JSON object) into secrets.env lines.

django-tiers-provision fetch pipes Secrets Manager's SecretString into this
and writes stdout to /etc/django-tiers/<app>/secrets.env, which bash sources
with \`set -a\`: every value is shell-quoted. Error messages name keys, never
values. Rendered by django-tiers; edits are overwritten.
"""
import json
import re
import shlex
import sys

REQUIRED = ("DJANGO_SECRET_KEY", "DATABASE_PASSWORD")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def fail(message):
    sys.stderr.write("secrets_to_env: %s\\n" % message)
    sys.exit(1)


def main():
    try:
        data = json.loads(sys.stdin.read())
    except ValueError:
        fail("the secret is not valid JSON")
    if not isinstance(data, dict):
        fail("the secret must be a JSON object of NAME: value")
    lines = []
    for key in sorted(data):
        if not NAME.match(key):
            fail("key %r is not an environment variable name" % key)
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            fail("the value of %s must be a string or a number" % key)
        value = str(value)
        if "\\0" in value:
            fail("the value of %s holds a NUL byte" % key)
        lines.append("%s=%s\\n" % (key, shlex.quote(value)))
    missing = [key for key in REQUIRED if not data.get(key)]
    if missing:
        fail("missing or empty: %s" % ", ".join(missing))
    sys.stdout.write("".join(lines))


if __name__ == "__main__":
    main()
`;

/** Django's migrate behind a PostgreSQL advisory lock (one host migrates at a time). */
export const MIGRATE_LOCKED_PY = `"""Run Django's migrate under a PostgreSQL advisory lock.

django-tiers-provision release runs this as the app's user, in the new
release's directory, with the app's environment. When several hosts share a
database, the first takes the lock and migrates; the others wait for it, then
find nothing left to do. The lock is a session lock on the very connection
migrate uses, so it is released when migrate ends or the connection drops.
Rendered by django-tiers; edits are overwritten.
"""
import os
import sys
import time

# Any fixed number: advisory lock keys are scoped to the current database, so
# apps with their own databases never wait for each other.
LOCK_KEY = 7_146_317_214_051
WAIT_SECONDS = int(os.environ.get("DJANGO_TIERS_MIGRATE_LOCK_WAIT", "1800"))


def log(message):
    print("migrate_locked: %s" % message, flush=True)


def main():
    sys.path.insert(0, os.getcwd())
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "mysql":
        # MySQL/MariaDB: a named lock held by this connection, the same guarantee.
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK('django-tiers-migrate', %s)", [WAIT_SECONDS])
            if cursor.fetchone()[0] != 1:
                log("another host held the migration lock for %ss; giving up" % WAIT_SECONDS)
                sys.exit(1)
            log("lock taken; migrating")
            call_command("migrate", interactive=False)
            cursor.execute("SELECT RELEASE_LOCK('django-tiers-migrate')")
        return
    if connection.vendor != "postgresql":
        log("the database is %s, neither PostgreSQL nor MySQL: migrating without a lock" % connection.vendor)
        call_command("migrate", interactive=False)
        return

    deadline = time.monotonic() + WAIT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                log("another host held the migration lock for %ss; giving up" % WAIT_SECONDS)
                sys.exit(1)
            log("another host is migrating; waiting for the lock")
            time.sleep(2)
    log("lock taken")
    try:
        call_command("migrate", interactive=False)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        log("lock released")


if __name__ == "__main__":
    main()
`;

/**
 * The script's body. \`colored\` (blue-green on the box) adds the colors part
 * and the lines that call it, \`originCertificate\` (tls.mode
 * origin-certificate) the Origin CA certificate part and its lines; without
 * them the body is the same for every box.
 */
function provisionBody(colored: boolean, originCertificate: boolean): string {
  const ifColored = (text: string, otherwise = ""): string => (colored ? text : otherwise);
  // Behind Cloudflare's proxy (tls.mode origin-certificate): the Origin CA certificate part (origin-certificate.ts).
  const ifOrigin = (text: string, otherwise = ""): string => (originCertificate ? text : otherwise);
  return `readonly IMDS=http://169.254.169.254/latest
# Seconds phase verify waits for /healthz (overridable for slow first boots).
readonly VERIFY_TIMEOUT=\${DJANGO_TIERS_VERIFY_TIMEOUT:-180}

phase=main
# The app and version release_app is building, until its switch (on_exit names them).
releasing=""
# What put_back_previous put back in this run ("app: failed -> previous (reason)").
rolled_back=()

# Log lines go to stderr, which (like stdout) is teed into provision.log: a
# function whose stdout is captured can still log.
log() {
  printf '%s django-tiers-provision [%s] %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$phase" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

usage() {
  cat <<'USAGE'
Usage: django-tiers-provision [PHASE...]
  With no PHASE, runs every phase in order: fetch install configure release verify.
  PHASE...  run just those, in the order given; \`fetch release verify\` rolls out
            the release named by each app's release parameter.
  tls       (not a phase) request missing Let's Encrypt certificates; cron runs it.
${ifColored("  colors    (not a phase) print each app's live color, and each color's release and program state.\n")}USAGE
}

# wait_for SECONDS WHAT COMMAND...: retry COMMAND once a second until it succeeds.
wait_for() {
  local timeout=$1 what=$2 start=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS - start < timeout)) || die "$what not ready after \${timeout}s"
    sleep 1
  done
}

# ---- packages ------------------------------------------------------------------
apt_updated=0

is_installed() {
  dpkg-query -W -f='\${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_install [OPTION...] PACKAGE...: confold keeps the files cloud-init placed
# before the packages existed (nginx.conf, redis.conf). The lock timeout waits
# out apt runs of the image's own (unattended-upgrades at first boot).
apt_install() {
  if ((apt_updated == 0)); then
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt_updated=1
  fi
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \\
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

# ensure_packages PACKAGE...: installs the missing ones only, so a box (or a
# test host) that has them all needs no network.
ensure_packages() {
  local pkg
  local -a missing=()
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if ((\${#missing[@]} > 0)); then
    log "installing \${missing[*]}"
    apt_install "\${missing[@]}"
  fi
}

# Django 4.2 LTS from bookworm-backports: bookworm's own 3.2 is past upstream
# support and lacks Django's Redis cache backend.
ensure_django() {
  local codename
  is_installed python3-django && return 0
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "\${VERSION_CODENAME:-}")
  if [[ $codename != bookworm ]]; then
    ensure_packages python3-django
    return 0
  fi
  if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/bookworm-backports.list
    apt_updated=0
  fi
  log "installing python3-django from bookworm-backports"
  apt_install -t bookworm-backports python3-django
}

# ---- services ------------------------------------------------------------------
# EC2 boots Debian with systemd; the test hosts (debootstrap roots, containers)
# have no service manager at all, and a policy-rc.d keeps packages from
# starting daemons there. So every call checks at run time: with systemd as
# PID 1, systemctl; without it, the daemon is started directly, as its unit would.
# A daemon started directly gets fd 9 closed (\`9>&-\`): it would otherwise
# inherit provision.lock's descriptor and hold the lock for its whole life,
# so the next run (a release) would wait on it for an hour.
have_systemd() {
  [[ -d /run/systemd/system ]]
}

pidfile_alive() {
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

start_postgresql() {
  [[ $DB_MODE == local ]] || return 0
  if have_systemd; then
    systemctl enable --now postgresql
  else
    local version cluster status
    while read -r version cluster _ status _; do
      [[ $status == online* ]] || pg_ctlcluster "$version" "$cluster" start 9>&-
    done < <(pg_lsclusters --no-header)
  fi
  wait_for 60 PostgreSQL pg_isready -q
}

start_redis() {
  [[ $CACHE_MODE == local ]] || return 0
  if have_systemd; then
    systemctl enable --now redis-server
  elif ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    install -d -o redis -g redis -m 0755 /run/redis
    (cd / && runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes) 9>&-
  fi
  wait_for 30 Redis redis-cli -h 127.0.0.1 ping
}

start_supervisor() {
  if have_systemd; then
    systemctl enable --now supervisor
  elif ! supervisorctl pid >/dev/null 2>&1; then
    supervisord -c /etc/supervisor/supervisord.conf 9>&-
  fi
  wait_for 30 supervisord supervisorctl pid
}

start_cron() {
  if have_systemd; then
    systemctl enable --now cron
  elif ! pidfile_alive /run/crond.pid; then
    cron 9>&-
  fi
}

# What nginx loads: every file of its configuration (nginx -T)${ifOrigin(`,
# and the origin certificate and key it serves (nginx -T shows neither): a new
# certificate reloads nginx even when no configuration file changed`)}.
nginx_config_hash() {
  ${ifOrigin("{ nginx -T 2>/dev/null; origin_certificate_digests; }", "nginx -T 2>/dev/null")} | sha256sum | cut -d' ' -f1
}

# Validates the whole configuration first: a broken file never reaches a
# running nginx, which keeps serving the previous one. A running nginx is
# reloaded only when its configuration changed since it was loaded: a reload
# ends the old workers, which close every idle keep-alive connection, and a
# client's next request sent on one at that moment gets no answer. Every
# rollout runs phase configure, so an unchanged configuration must cost nothing.
reload_nginx() {
  local hash stamp=$STATE_DIR/nginx-loaded.sha256 loaded=""
  nginx -t -q || die "nginx -t rejected the configuration"
  hash=$(nginx_config_hash)
  [[ -r $stamp ]] && loaded=$(<"$stamp")
  if have_systemd; then
    systemctl enable nginx
    if [[ $loaded == "$hash" ]] && systemctl is-active --quiet nginx; then
      log "nginx's configuration is unchanged: not reloaded"
      return 0
    fi
    systemctl reload-or-restart nginx
  elif pidfile_alive /run/nginx.pid; then
    if [[ $loaded == "$hash" ]]; then
      log "nginx's configuration is unchanged: not reloaded"
      return 0
    fi
    nginx -s reload
  else
    nginx 9>&-
  fi
  install -d -m 0755 "$STATE_DIR"
  printf '%s\\n' "$hash" >"$stamp"
}

program_state() {
  { supervisorctl status "$1" 2>/dev/null || true; } | awk 'NR == 1 { print $2 }'
}

# ---- secrets -------------------------------------------------------------------
# secret_value APP KEY: one value of the app's secrets.env on stdout, for a
# caller that captures it. Never traced, never logged.
secret_value() {
  { set +x; } 2>/dev/null
  local file=$ETC_DIR/$1/secrets.env
  [[ -r $file ]] || die "$file is missing: phase fetch writes it"
  # shellcheck source=/dev/null
  (. "$file" && printf '%s' "\${!2:-}")
}

# secrets.env is readable by the app's group once the app user exists
# (phase install creates it, after phase fetch wrote the file on first boot).
secure_secrets() {
  local app=$1 file=$ETC_DIR/$1/secrets.env
  [[ -e $file ]] || return 0
  chmod 0640 "$file"
  if getent group "$app" >/dev/null; then
    chown "root:$app" "$file"
  else
    chown root:root "$file"
  fi
}

# ---- phase fetch: the only one that talks to AWS ------------------------------
aws_cli() {
  aws --region "$REGION" "$@"
}

imds_get() {
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $1" "$IMDS/meta-data/$2"
}

# instance.env: the instance's public name and address (IMDSv2), which an app
# without a domain adds to ALLOWED_HOSTS. Never "*".
write_instance_env() {
  local token value field
  local -a hosts=()
  if token=$(curl -fsS --max-time 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS/api/token"); then
    for field in public-hostname public-ipv4; do
      if value=$(imds_get "$token" "$field") && [[ $value =~ ^[A-Za-z0-9.-]+$ ]]; then
        hosts+=("$value")
      fi
    done
  else
    log "IMDSv2 unreachable: no instance host names for apps without a domain"
  fi
  local IFS=,
  printf 'DJANGO_TIERS_INSTANCE_HOSTS=%s\\n' "\${hosts[*]}" >"$ETC_DIR/instance.env.tmp"
  mv -f "$ETC_DIR/instance.env.tmp" "$ETC_DIR/instance.env"
  log "instance host names: \${hosts[*]:-none}"
}

# fetch_bundle APP PARAMETER CURRENT: downloads the bundle the release
# pointer PARAMETER names and records it in the file CURRENT (key, version,
# file); removes CURRENT while no release is published. Both colors of a
# blue-green box fetch theirs through it too (colors.ts).
fetch_bundle() {
  local app=$1 parameter=$2 current=$3 dir=$BUNDLES_DIR/$1 key version file
  install -d -m 0700 "$dir"
  key=$(aws_cli ssm get-parameter --name "$parameter" --query Parameter.Value --output text)
  if [[ $key == "$NO_RELEASE" ]]; then
    # A stack created before its first release: provision the rest, and let
    # the release association's \`fetch release verify\` bring the app up later.
    rm -f "$current"
    log "$app: no release published yet ($parameter is '$NO_RELEASE')"
    return 0
  fi
  [[ $key =~ ^releases/$app/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\\.zip$ ]] ||
    die "$app: $parameter holds '$key', expected releases/$app/<version>.zip"
  version=\${BASH_REMATCH[1]}
  file=\${key##*/}
  # Release keys are immutable (a new release is a new version): a bundle
  # already here is the right one.
  if [[ -s $dir/$file ]]; then
    log "$app: bundle $file already fetched"
  else
    log "$app: downloading s3://$ARTIFACTS_BUCKET/$key"
    aws_cli s3 cp --only-show-errors "s3://$ARTIFACTS_BUCKET/$key" "$dir/$file.part"
    mv -f "$dir/$file.part" "$dir/$file"
  fi
  printf 'key=%s\\nversion=%s\\nfile=%s\\n' "$key" "$version" "$file" >"$current.tmp"
  mv -f "$current.tmp" "$current"
  log "$app: release $version is in \${current##*/}"
}

fetch_release() {
  local app=$1 dir=$BUNDLES_DIR/$1
  fetch_bundle "$app" "\${APP_RELEASE_PARAMETER[$app]}" "$dir/CURRENT"
  # Keep the newest bundles only; releases keep their unpacked copy.
  find "$dir" -maxdepth 1 -type f -name '*.zip' -printf '%T@ %p\\n' | sort -rn |
    tail -n +"$((KEEP_RELEASES + 1))" | cut -d' ' -f2- | xargs -r rm -f --
}

# The secret's JSON goes from the AWS CLI's stdout straight into the helper
# and a file only root and the app's group read: never into a variable, an
# argument or the log.
fetch_secrets() {
  { set +x; } 2>/dev/null
  local app=$1 dest=$ETC_DIR/$1/secrets.env tmp
  install -d -m 0750 "$ETC_DIR/$app"
  tmp=$(mktemp "$ETC_DIR/$app/.secrets.env.XXXXXX")
  if ! aws_cli secretsmanager get-secret-value --secret-id "\${APP_SECRET_ID[$app]}" \\
    --query SecretString --output text | /usr/bin/python3 "$LIB_DIR/secrets_to_env.py" >"$tmp"; then
    rm -f "$tmp"
    die "$app: could not turn secret \${APP_SECRET_ID[$app]} into secrets.env"
  fi
  # A changed secret needs a full restart in phase release: a HUP'd gunicorn
  # keeps the environment its master started with.
  if ! cmp -s "$tmp" "$dest"; then
    touch "$STATE_DIR/$app.secrets-changed"
  fi
  mv -f "$tmp" "$dest"
  secure_secrets "$app"
  log "$app: secrets written to $dest (values not shown)"
}

# User data runs once; later settings arrive as the configuration document the
# stack keeps in the artifacts bucket (server/box-config.ts). When applying it
# changed this very script, the run starts over with the new one, the document
# already applied.
fetch_box_config() {
  local key document changed app
  [[ \${DJANGO_TIERS_CONFIG_APPLIED:-0} != 1 ]] || return 0
  key=$(aws_cli ssm get-parameter --name "$CONFIG_PARAMETER" --query Parameter.Value --output text)
  [[ $key =~ ^config/[a-z-]+/[0-9a-f]{12}\.json$ ]] || die "$CONFIG_PARAMETER holds '$key', expected config/<role>/<hash>.json"
  document=$STATE_DIR/box-config.json
  aws_cli s3 cp --only-show-errors "s3://$ARTIFACTS_BUCKET/$key" "$document.part"
  mv -f "$document.part" "$document"
  changed=$(/usr/bin/python3 "$APPLY_CONFIG" "$document")
  if [[ -z $changed ]]; then
    log "configuration \${key##*/} already applied"
    return 0
  fi
  log "configuration \${key##*/} applied: $(tr '\n' ' ' <<<"$changed")"
  # A changed app.env (its appEnv, its domains, ...) needs the full restart a
  # changed secret gets in phase release: a HUP'd gunicorn keeps the
  # environment its master started with.
  for app in "\${APPS[@]}"; do
    if grep -qxF "$ETC_DIR/$app/app.env" <<<"$changed"; then
      install -d -m 0755 "$STATE_DIR"
      touch "$STATE_DIR/$app.secrets-changed"
    fi
  done
  if grep -qx "$PROVISION_SCRIPT" <<<"$changed"; then
    log "this script changed; starting over with the new one"
    export DJANGO_TIERS_CONFIG_APPLIED=1
    exec 9>&-
    exec "$PROVISION_SCRIPT" "\${requested[@]}"
  fi
}

phase_fetch() {
  local app
  command -v aws >/dev/null 2>&1 || ensure_packages awscli
  command -v curl >/dev/null 2>&1 || ensure_packages curl ca-certificates
  install -d -m 0755 "$ETC_DIR"
  install -d -m 0700 "$BUNDLES_DIR"
  fetch_box_config
  if ((NEEDS_INSTANCE_HOSTS)); then
    write_instance_env
  fi
  for app in "\${APPS[@]}"; do
    ${ifColored("fetch_color_releases", "fetch_release")} "$app"
    fetch_secrets "$app"
  done
}

# ---- phase install -------------------------------------------------------------
ensure_users() {
  local app
  getent group "$SOCKET_GROUP" >/dev/null || groupadd --system "$SOCKET_GROUP"
  for app in "\${APPS[@]}"; do
    if ! id -u "$app" >/dev/null 2>&1; then
      log "$app: creating system user"
      useradd --system --user-group --home-dir "$APPS_DIR/$app" --no-create-home \\
        --shell /usr/sbin/nologin "$app"
    fi
    usermod -a -G "$SOCKET_GROUP" "$app"
  done
}

# /run is a tmpfs: systemd-tmpfiles recreates the socket directory at boot
# (tmpfiles.d/django-tiers.conf); without systemd every phase that needs it does.
ensure_socket_dir() {
  install -d -m 1775 -o root -g "$SOCKET_GROUP" "$SOCKET_DIR"
}

ensure_directories() {
  local app
  install -d -m 0755 "$APPS_DIR" "$STATE_DIR" "$ACME_WEBROOT" "$LOG_DIR"
  install -d -m 0700 "$BUNDLES_DIR" "$BACKUP_DIR"
  ensure_socket_dir
  for app in "\${APPS[@]}"; do
    install -d -m 0755 "$APPS_DIR/$app" "$APPS_DIR/$app/releases" "$APPS_DIR/$app/shared"
    install -d -m 0755 -o "$app" -g "$app" "$APPS_DIR/$app/shared/media"
    install -d -m 0750 -o "$app" -g "$app" "$APPS_DIR/$app/shared/state"
    # Written by supervisord (root), which captures every program's output.
    install -d -m 0750 "$LOG_DIR/$app"
    install -d -m 0750 -o root -g "$app" "$ETC_DIR/$app"
    install -d -m 0700 "$BUNDLES_DIR/$app" "$BACKUP_DIR/$app"
    secure_secrets "$app"
  done
}

# The app's role and database; the role's password is (re)set from
# secrets.env on every run, so a rotated DATABASE_PASSWORD takes effect with
# the next \`fetch release\`. psql gets it through its environment, not argv.
ensure_database() {
  { set +x; } 2>/dev/null
  local app=$1 password
  password=$(secret_value "$app" DATABASE_PASSWORD)
  [[ -n $password ]] || die "$app: DATABASE_PASSWORD is missing from $ETC_DIR/$app/secrets.env"
  if [[ $DB_MODE == external ]]; then
    ensure_external_database "$app" "$password"
    return
  fi
  (cd / && DJANGO_TIERS_DB_PASSWORD=$password runuser -u postgres -- \\
    psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -v app="$app") <<'SQL'
\\getenv password DJANGO_TIERS_DB_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'app')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \\gexec
ALTER ROLE :"app" WITH LOGIN PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I', :'app', :'app')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app') \\gexec
REVOKE ALL ON DATABASE :"app" FROM PUBLIC;
SQL
  log "$app: PostgreSQL role and database ready"
}

# On RDS the app's database is created by the master user, over TLS (the
# parameter group refuses anything else); the password goes through the
# environment, never argv.
ensure_external_database() {
  { set +x; } 2>/dev/null
  local app=$1 password=$2 server="host=$DB_HOST port=$DB_PORT user=$DB_USER dbname=postgres sslmode=require connect_timeout=10"
  if [[ $DB_ENGINE == postgres ]]; then
    # The servers of a fleet boot together: a CREATE DATABASE that lost the
    # race to another server's is fine, as long as the database is there.
    if ! PGPASSWORD=$password psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -v app="$app" "$server" <<'SQL'
SELECT format('CREATE DATABASE %I', :'app')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app') \\gexec
SQL
    then
      [[ -n $(PGPASSWORD=$password psql -XAtq "$server" -c "SELECT 1 FROM pg_database WHERE datname = '$app'") ]] ||
        die "$app: could not create database $app on $DB_HOST"
    fi
  else
    [[ $app =~ ^[a-z][a-z0-9]*$ ]] || die "$app: not a safe database name"
    MYSQL_PWD=$password mysql --ssl-mode=REQUIRED --connect-timeout=10 -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" \
      -e "CREATE DATABASE IF NOT EXISTS \\\`$app\\\` CHARACTER SET utf8mb4"
  fi
  log "$app: database $app ready on $DB_HOST"
}

${SSM_AGENT_SH}
phase_install() {
  local app
  ensure_django
  ensure_packages "\${PACKAGES[@]}"
  # What the rollout association and Session Manager need to reach this box.
  ensure_ssm_agent
  ensure_users
  # Files of the configuration document owned by app users went to root while
  # those users did not exist (first boot): give them their owners now.
  if [[ -s $STATE_DIR/box-config.json ]]; then
    /usr/bin/python3 "$APPLY_CONFIG" "$STATE_DIR/box-config.json" >/dev/null
  fi
  ensure_directories
  start_postgresql
  start_redis
  for app in "\${APPS[@]}"; do
    ensure_database "$app"
  done
}

# ---- phase configure -----------------------------------------------------------
has_certificate() {
  [[ -s /etc/letsencrypt/live/$1/fullchain.pem ]]
}

# The live site, or with letsencrypt and no certificate yet, the pending one
# (ACME challenge, /healthz and a 503 "TLS certificate pending").
enable_site() {
  local app=$1 site=/etc/nginx/sites-available/$1.conf
  if [[ $TLS_MODE == letsencrypt ]] && ! has_certificate "$app"; then
    site=/etc/nginx/sites-available/pending/$app.conf
  fi
  ln -sfn "$site" "/etc/nginx/sites-enabled/$app.conf"
}

# Requests the missing certificates through certbot's webroot (HTTP-01).
# Failing is not fatal (DNS may not point here yet): the site stays pending
# and cron retries every 10 minutes. Renewal is certbot's own timer/cron job;
# its deploy hook reloads nginx.
obtain_certificates() {
  local app domain issued=0
  local -a domains args
  for app in "\${APPS[@]}"; do
    has_certificate "$app" && continue
    read -ra domains <<<"\${APP_DOMAINS[$app]}"
    args=()
    for domain in "\${domains[@]}"; do
      args+=(-d "$domain")
    done
    log "$app: requesting a Let's Encrypt certificate for \${domains[*]}"
    if certbot certonly --webroot -w "$ACME_WEBROOT" --cert-name "$app" "\${args[@]}" \\
      --email "$TLS_EMAIL" --agree-tos --no-eff-email --non-interactive --keep-until-expiring; then
      issued=1
    else
      log "$app: no certificate yet; HTTP answers 503 until one is issued (cron retries every 10 minutes)"
    fi
  done
  if ((issued)); then
    for app in "\${APPS[@]}"; do
      enable_site "$app"
    done
    reload_nginx
    log "TLS sites enabled for the new certificates"
  fi
}

all_certificates_present() {
  local app
  for app in "\${APPS[@]}"; do
    has_certificate "$app" || return 1
  done
}

${ifOrigin(`${ORIGIN_CERTIFICATE_SH}\n`)}phase_configure() {
  local app
  ensure_socket_dir${ifColored("\n  read_colors")}
  start_postgresql
  start_redis
  # A worker server answers no HTTP: it has no nginx.
  if [[ $ROLE != worker ]]; then
    rm -f /etc/nginx/sites-enabled/default
${ifOrigin("    # Before the sites: nginx -t reads the certificate they name.\n    install_origin_certificate\n")}    for app in "\${APPS[@]}"; do
      enable_site "$app"
${ifColored(`      ensure_live_link "$app"\n`)}    done
    reload_nginx
  fi
  start_supervisor
  # Adds new programs and restarts changed ones. Before the first release
  # their "current" directory is missing: they exit at once and supervisor
  # gives up on them (FATAL in supervisorctl status) until release starts them.
  supervisorctl reread
  supervisorctl update
  start_cron
  if [[ $TLS_MODE == letsencrypt ]]; then
    obtain_certificates
  fi
  # Last, so a slow or failed agent download never delays the site; it never fails the run.
  ensure_cloudwatch_agent
}

${CLOUDWATCH_AGENT_SH}
phase_tls() {
  if [[ $TLS_MODE != letsencrypt ]]; then
    log "tls.mode is $TLS_MODE: no certificates to request"
    return 0
  fi
  obtain_certificates
}

# ---- phase release -------------------------------------------------------------
# as_app APP DIR COMMAND...: COMMAND as the app's user, in DIR, with the app's
# environment (app.env, instance.env, secrets.env).
as_app() {
  local app=$1 dir=$2
  shift 2
  (cd "$dir" && runuser -u "$app" -- "$EXEC_WRAPPER" "$app" "$@")
}

bundle_field() {
  local file=$BUNDLES_DIR/$1/CURRENT
  [[ -r $file ]] || die "$file is missing: phase fetch writes it"
  sed -n "s/^$2=//p" "$file" | head -n 1
}

# Code and venv belong to root (the app cannot rewrite itself); only static/
# is the app's, for collectstatic.
build_release() {
  local app=$1 bundle=$2 dir=$3
  log "$app: building release \${dir##*/}"
  rm -rf "$dir"
  install -d -m 0755 "$dir"
  # Pulumi uploads the app folder as a zip; Python's zipfile refuses absolute and ../ paths.
  /usr/bin/python3 -m zipfile -e "$bundle" "$dir"
  [[ -f $dir/manage.py ]] || die "$app: the bundle has no manage.py at its top"
  # System site packages: Debian's Django, gunicorn, psycopg2, redis, celery
  # satisfy requirements.txt with no download when their versions fit.
  /usr/bin/python3 -m venv --system-site-packages "$dir/venv"
  if [[ -f $dir/requirements.txt ]]; then
    log "$app: pip install -r requirements.txt"
    "$dir/venv/bin/pip" install --quiet --no-input --disable-pip-version-check --no-cache-dir \\
      -r "$dir/requirements.txt"
  fi
  "$dir/venv/bin/python" -m compileall -q -x '/venv/' "$dir" >/dev/null ||
    log "$app: warning: some files did not byte-compile"
  install -d -m 0755 -o "$app" -g "$app" "$dir/static"
  # With S3, collectstatic uploads from app servers only (worker servers serve
  # no pages). django_tiers_storage.StaticStorage never deletes and skips
  # files whose object has the same content, so fleet servers collecting at
  # once cannot delete each other's uploads, nor pages of the live release
  # lose a file in between.
  if [[ $ROLE == worker ]]; then
    log "$app: no collectstatic on a worker server"
  else
    log "$app: collectstatic"
    as_app "$app" "$dir" env DJANGO_STATIC_ROOT="$dir/static" \\
      "$dir/venv/bin/python" manage.py collectstatic --noinput --verbosity 1
  fi
  touch "$dir/.django-tiers-built"
}

# The new release must load before it goes live: a WSGI app that fails to
# import would take gunicorn down on the HUP. check --deploy runs on the
# settings the server really loads (the app's own, then the production values
# over them): an error refuses the release; warnings are logged (without a
# domain: W004, W008, W012, W016, as the plan says).
preflight() {
  local app=$1 dir=$2
  log "$app: manage.py check --deploy and WSGI import"
  as_app "$app" "$dir" "$dir/venv/bin/python" manage.py check --deploy --fail-level ERROR ||
    die "$app: manage.py check --deploy found errors in the settings the server loads; the release is refused"
  as_app "$app" "$dir" "$dir/venv/bin/python" -c \\
    'import importlib, sys; m, _, a = sys.argv[1].partition(":"); getattr(importlib.import_module(m), a)' \\
    "\${APP_WSGI[$app]}"
}

# migrate_locked.py takes a PostgreSQL advisory lock first: when several hosts
# share the database, one migrates and the others wait, then find nothing to do.
# Moving up the ladder (single-box → external-db): the first release that
# points an app at RDS finds its data still in the box's own PostgreSQL. It
# stops the app's programs (no write may land in the old database), copies
# the database over TLS with pg_dump | pg_restore, and leaves the local copy
# untouched for a rollback. It runs once: only while the RDS database has no
# tables yet and the local one has.
move_database_to_external() {
  { set +x; } 2>/dev/null
  local app=$1 password local_tables remote_tables programs
  [[ $DB_MODE == external && ! -e $STATE_DIR/$app.database-moved ]] || return 0
  if ! command -v pg_lsclusters >/dev/null 2>&1 || [[ -z $(pg_lsclusters --no-header 2>/dev/null) ]]; then
    return 0
  fi
  local version cluster status
  while read -r version cluster _ status _; do
    [[ $status == online* ]] || pg_ctlcluster "$version" "$cluster" start 9>&-
  done < <(pg_lsclusters --no-header)
  wait_for 60 "the box's PostgreSQL" pg_isready -q
  local_tables=$(cd / && runuser -u postgres -- psql -XAtq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$app'") ||
    local_tables=""
  if [[ -z $local_tables ]]; then
    touch "$STATE_DIR/$app.database-moved"
    return 0
  fi
  local_tables=$(cd / && runuser -u postgres -- psql -XAtq -d "$app" -c \
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  if ((local_tables == 0)); then
    touch "$STATE_DIR/$app.database-moved"
    return 0
  fi
  [[ $DB_ENGINE == postgres ]] ||
    die "$app: the box's PostgreSQL cannot be copied into $DB_ENGINE; move the data with dumpdata/loaddata (docs/runbooks/move-up-a-tier.md)"
  password=$(secret_value "$app" DATABASE_PASSWORD)
  remote_tables=$(PGPASSWORD=$password psql -XAtq \
    "host=$DB_HOST port=$DB_PORT user=$DB_USER dbname=$app sslmode=require connect_timeout=10" \
    -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  if ((remote_tables > 0)); then
    log "$app: nothing to move: $DB_HOST already has $remote_tables tables"
    touch "$STATE_DIR/$app.database-moved"
    return 0
  fi
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  log "$app: moving the database to $DB_HOST: stopping \${programs[*]}"
  supervisorctl stop "\${programs[@]}" >/dev/null 2>&1 || true
  (cd / && runuser -u postgres -- pg_dump --format=custom --no-owner --no-privileges --dbname="$app") |
    PGPASSWORD=$password pg_restore --no-owner --no-privileges --single-transaction --exit-on-error \
      --dbname="host=$DB_HOST port=$DB_PORT user=$DB_USER dbname=$app sslmode=require connect_timeout=10"
  remote_tables=$(PGPASSWORD=$password psql -XAtq \
    "host=$DB_HOST port=$DB_PORT user=$DB_USER dbname=$app sslmode=require connect_timeout=10" \
    -c "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  ((remote_tables == local_tables)) || die "$app: copied $remote_tables of $local_tables tables to $DB_HOST"
  touch "$STATE_DIR/$app.database-moved"
  log "$app: database moved to $DB_HOST ($remote_tables tables); the box's copy is kept for a rollback"
}

# Moving up to object storage: uploads made while media lived on the box are
# copied to the media bucket once (nothing is deleted on either side).
move_media_to_s3() {
  local app=$1 media=$APPS_DIR/$1/shared/media
  [[ -n $MEDIA_BUCKET && ! -e $STATE_DIR/$app.media-moved ]] || return 0
  if [[ -d $media ]] && [[ -n $(find "$media" -type f -print -quit) ]]; then
    log "$app: copying media files to s3://$MEDIA_BUCKET/\${APP_MEDIA_PREFIX[$app]}"
    aws_cli s3 sync --only-show-errors "$media/" "s3://$MEDIA_BUCKET/\${APP_MEDIA_PREFIX[$app]}"
  fi
  touch "$STATE_DIR/$app.media-moved"
}

migrate() {
  local app=$1 dir=$2
  log "$app: migrate (under the advisory lock)"
  as_app "$app" "$dir" "$dir/venv/bin/python" "$LIB_DIR/migrate_locked.py"
}

# A new symlink renamed over the old one: rename(2) is atomic, so every
# request sees either the old release or the new one.
switch_current() {
  local app=$1 dir=$2 link=$APPS_DIR/$1/current
  touch "$dir"
  if [[ $(readlink "$link" 2>/dev/null || true) == "$dir" ]]; then
    log "$app: \${dir##*/} is already current"
    return 0
  fi
  ln -sfn "$dir" "$APPS_DIR/$app/.current.tmp"
  mv -T "$APPS_DIR/$app/.current.tmp" "$link"
  log "$app: current -> $dir"
}

# Returns 1 when a program does not start (its callers put the previous
# release back); they call it in a condition, where set -e does not apply.
reload_programs() {
  local app=$1 program secrets_changed=0
  local -a programs
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  [[ -e $STATE_DIR/$app.secrets-changed ]] && secrets_changed=1
  for program in "\${programs[@]}"; do
    if [[ $(program_state "$program") != RUNNING ]]; then
      # Possibly backing off from a start before the first release: stop, then start.
      log "$app: starting $program"
      supervisorctl stop "$program" >/dev/null 2>&1 || true
      supervisorctl start "$program" || return 1
    elif [[ $program == "$app-web" ]] && ((secrets_changed == 0)); then
      # HUP: gunicorn starts workers on the new release, then lets the old ones
      # finish their requests; the socket never closes, no request is dropped.
      log "$app: graceful reload of $program (HUP)"
      supervisorctl signal HUP "$program" || return 1
    else
      # Workers, and the web program after a secret rotation. TERM is a warm
      # shutdown: the running task or request finishes (stopwaitsecs covers the
      # longest), queued ones wait in Redis.
      log "$app: restarting $program"
      supervisorctl restart "$program" || return 1
    fi
  done
  rm -f "$STATE_DIR/$app.secrets-changed"
}

# A release that fails after the switch (its programs do not start, or phase
# verify fails) must not stay live. release_app records, as it switches, the
# release it replaces ($app.previous) and marks the new one unverified
# ($app.unverified); phase verify clears the mark, or puts the previous
# release back. Migrations are not undone: the previous release runs on the
# new schema, as it does during any rolling release.
put_back_previous() {
  local app=$1 reason=$2 failed previous=""
  failed=$(readlink "$APPS_DIR/$app/current" 2>/dev/null || true)
  [[ -r $STATE_DIR/$app.previous ]] && previous=$(<"$STATE_DIR/$app.previous")
  rm -f "$STATE_DIR/$app.unverified"
  if [[ -z $previous || $previous == "$failed" || ! -f $previous/.django-tiers-built ]]; then
    log "ERROR: $app: release \${failed##*/} failed ($reason); there is no previous release to put back"
    return 0
  fi
  log "ERROR: $app: release \${failed##*/} failed ($reason); putting back release \${previous##*/}"
  switch_current "$app" "$previous"
  if ! reload_programs "$app"; then
    log "ERROR: $app: the programs of release \${previous##*/} did not start either"
  elif [[ $ROLE == worker ]] || healthz_through_nginx "$app"; then
    log "$app: release \${previous##*/} is live again"
  fi
  rolled_back+=("$app: \${failed##*/} -> \${previous##*/} ($reason)")
}

# Keeps the newest releases (and always the live one).
prune_releases() {
  local app=$1 live path previous=""
  local -i seen=0
  live=$(readlink -f "$APPS_DIR/$app/current")
  # The release a failed verify would put back stays too.
  [[ -r $STATE_DIR/$app.previous ]] && previous=$(<"$STATE_DIR/$app.previous")
  while IFS= read -r path; do
    seen+=1
    if ((seen > KEEP_RELEASES)) && [[ $path != "$live" && $path != "$previous" ]]; then
      log "$app: removing old release \${path##*/}"
      rm -rf "$path"
    fi
  done < <(find "$APPS_DIR/$app/releases" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\\n' |
    sort -rn | cut -d' ' -f2-)
}

release_app() {
  local app=$1 version file dir previous
  if [[ ! -e $BUNDLES_DIR/$app/CURRENT ]]; then
    log "$app: no release fetched yet; skipped"
    return 0
  fi
  version=$(bundle_field "$app" version)
  file=$(bundle_field "$app" file)
  [[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "$app: bad version '$version' in CURRENT"
  [[ -f $BUNDLES_DIR/$app/$file ]] || die "$app: bundle $file is missing: run phase fetch"
  dir=$APPS_DIR/$app/releases/$version
  previous=$(readlink "$APPS_DIR/$app/current" 2>/dev/null || true)
  # on_exit names it if the run fails before the switch (the old release still serves).
  releasing="$app $version"
  if [[ -f $dir/.django-tiers-built ]]; then
    log "$app: release $version already built"
  else
    build_release "$app" "$BUNDLES_DIR/$app/$file" "$dir"
  fi
  ensure_database "$app"
  move_database_to_external "$app"
  move_media_to_s3 "$app"
  preflight "$app" "$dir"
  migrate "$app" "$dir"
  if [[ -n $previous && $previous != "$dir" ]]; then
    printf '%s\\n' "$previous" >"$STATE_DIR/$app.previous"
    printf '%s\\n' "$dir" >"$STATE_DIR/$app.unverified"
  fi
  switch_current "$app" "$dir"
  releasing=""
  if ! reload_programs "$app"; then
    put_back_previous "$app" "its programs did not start"
    die "$app: release $version failed: its programs did not start (supervisor's log: $LOG_DIR/$app/)"
  fi
  prune_releases "$app"
  log "$app: release $version is live"
}

phase_release() {
  local app
  ensure_socket_dir
  start_postgresql
  start_redis
  start_supervisor
${ifColored("  read_colors\n")}  for app in "\${APPS[@]}"; do
    ${ifColored("release_app_colors", "release_app")} "$app"
  done
}

# ---- phase verify --------------------------------------------------------------
# healthz_through_nginx APP: polls the app's /healthz through nginx, with its Host.
healthz_through_nginx() {
  local app=$1 host code start=$SECONDS url
  local -a domains args=(-sS -o /dev/null -w '%{http_code}' --max-time 5)
  read -ra domains <<<"\${APP_DOMAINS[$app]}"
  host=\${domains[0]:-localhost}
  if ${ifOrigin("[[ $TLS_MODE == origin-certificate ]] || { [[ $TLS_MODE == letsencrypt ]] && has_certificate \"$app\"; }", "[[ $TLS_MODE == letsencrypt ]] && has_certificate \"$app\"")}; then
    # Through the TLS server block, as a browser would; -k: this checks the
    # app behind nginx, not the certificate.
    args+=(-k --resolve "$host:443:127.0.0.1")
    url="https://$host/healthz"
  else
    args+=(-H "Host: $host")
    url=http://127.0.0.1/healthz
  fi
  while :; do
    code=$(curl "\${args[@]}" "$url" 2>/dev/null) || code=000
    if [[ $code == 200 ]]; then
      log "$app: /healthz is 200 through nginx (Host $host\${COLOR:+, $COLOR fleet}) after $((SECONDS - start))s"
      return 0
    fi
    if ((SECONDS - start >= VERIFY_TIMEOUT)); then
      log "$app: /healthz still answers $code after \${VERIFY_TIMEOUT}s (Host $host)"
      return 1
    fi
    sleep 1
  done
}

# The load balancer's health check: an address as Host, which only nginx's
# default server answers (with the first app's /healthz).
balancer_check() {
  local code start=$SECONDS
  while :; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H 'Host: 127.0.0.1' http://127.0.0.1/healthz 2>/dev/null) || code=000
    if [[ $code == 200 ]]; then
      log "the load balancer's health check (/healthz, Host an address) is 200\${COLOR:+ on the $COLOR fleet}"
      return 0
    fi
    if ((SECONDS - start >= 30)); then
      log "the load balancer's health check (/healthz, Host an address) answers $code"
      return 1
    fi
    sleep 1
  done
}

verify_app() {
  local app=$1 state program
  local -a programs
  if [[ ! -L $APPS_DIR/$app/current ]]; then
    log "$app: no release is live yet; nothing to verify"
    return 0
  fi
  if [[ $ROLE != worker ]]; then
    healthz_through_nginx "$app" || return 1
  fi
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  for program in "\${programs[@]}"; do
    state=$(program_state "$program")
    if [[ $state != RUNNING ]]; then
      log "$app: $program is \${state:-unknown}, not RUNNING"
      return 1
    fi
  done
  if [[ $ROLE == worker ]]; then
    log "$app: \${programs[*]} RUNNING"
  fi
}

phase_verify() {
  local app failed=0
${ifColored("  read_colors\n")}  for app in "\${APPS[@]}"; do
    if ${ifColored("verify_app_colors", "verify_app")} "$app"; then
      rm -f "$STATE_DIR/$app.unverified"
    else
      failed=1
      if [[ -e $STATE_DIR/$app.unverified ]]; then
        put_back_previous "$app" "phase verify failed"
      fi
    fi
  done
  if [[ $ROLE == app && -L $APPS_DIR/\${APPS[0]}/current ]] && ((failed == 0)); then
    balancer_check || failed=1
  fi
  if ((\${#rolled_back[@]} > 0)); then
    die "not every app is healthy; put back: \${rolled_back[*]}"
  fi
  ((failed == 0)) || die "not every app is healthy"
}

${ifColored(`${COLORS_SH}\n`)}# ---- main ----------------------------------------------------------------------
# First boot can start before the instance has a way out: a single box's only
# public address is its Elastic IP, associated after the instance runs, and a
# fleet server goes out through the NAT route. Phase fetch (AWS's APIs),
# phase install (Debian's mirror, the SSM Agent's bucket) and certbot's
# HTTP-01 challenge all need it, and a failed first boot is not retried. So a
# run with no phase given (cloud-init's) first waits, at most
# NETWORK_TIMEOUT seconds, until an HTTPS request to the region's SSM
# endpoint gets an answer (any HTTP status: the route works). IMDS is
# link-local and answers from the start.
wait_for_route_out() {
  local probe=\${DJANGO_TIERS_NETWORK_PROBE:-https://ssm.$REGION.amazonaws.com/} start=$SECONDS next=0
  local timeout=\${DJANGO_TIERS_NETWORK_TIMEOUT:-900}
  until curl -sS -o /dev/null --connect-timeout 5 --max-time 10 "$probe" 2>/dev/null; do
    if ((SECONDS - start >= timeout)); then
      die "no route out after \${timeout}s: $probe does not answer (is the Elastic IP associated, or the NAT route in place?)"
    fi
    if ((SECONDS - start >= next)); then
      log "waiting for a route out: $probe does not answer yet ($((SECONDS - start))s of \${timeout}s; the Elastic IP or NAT route may not be in place yet)"
      next=$((next + 30))
    fi
    sleep 2
  done
  log "route out: $probe answers after $((SECONDS - start))s"
}

run_phase() {
  local start=$SECONDS
  phase=$1
  log "start"
  "phase_$1"
  log "done in $((SECONDS - start))s"
  phase=main
}

on_exit() {
  local rc=$?
  if ((rc != 0)); then
    if [[ -n $releasing ]]; then
      log "FAILED (exit $rc): release \${releasing#* } of \${releasing%% *} failed before the switch; current still serves $(readlink "$APPS_DIR/\${releasing%% *}/current" 2>/dev/null || echo "no release")"
    else
      log "FAILED (exit $rc)"
    fi
  fi
}

main() {
  local p
  local -a requested=("$@")
  if ((\${#requested[@]} == 0)); then
    requested=("\${PHASES[@]}")
  fi
  for p in "\${requested[@]}"; do
    case $p in
      fetch | install | configure | release | verify | tls${ifColored(" | colors")}) ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        usage >&2
        echo "django-tiers-provision: unknown phase '$p'" >&2
        return 64
        ;;
    esac
  done
${ifColored(`  if [[ \${requested[*]} == colors ]]; then
    print_colors
    return 0
  fi
`)}  # The cron retry of \`tls\` stays silent once every certificate exists.
  if [[ \${requested[*]} == tls ]] && { [[ $TLS_MODE != letsencrypt ]] || all_certificates_present; }; then
    return 0
  fi

  install -d -m 0755 "$LOG_DIR" "$STATE_DIR"
  exec > >(tee -a "$LOG_DIR/provision.log") 2>&1
  trap on_exit EXIT

  # One run at a time: cloud-init's, the release association's, cron's tls.
  exec 9>"$STATE_DIR/provision.lock"
  if [[ \${requested[*]} == tls ]]; then
    flock -n 9 || return 0
  else
    flock -w 3600 9 || die "another django-tiers-provision run held the lock for an hour"
  fi

  log "phases: \${requested[*]} ($PROJECT/$STACK, $ENVIRONMENT, $ROLE\${COLOR:+ $COLOR})"
  if (($# == 0)); then
    wait_for_route_out
  fi
  for p in "\${requested[@]}"; do
    run_phase "$p"
  done
  log "all done: \${requested[*]}"
}

main "$@"
`;
}
