/**
 * Database backups: a nightly `pg_dump -Fc` of every app's database to the
 * artifacts bucket, the cron file that runs it, and the restore command the
 * runbook uses.
 */
import { BACKUP_DIR, BACKUP_SCRIPT, boxProgramNames, CRON_FILE, LOG_DIR, PROVISION_SCRIPT, RESTORE_SCRIPT } from "./paths";
import { bashArray, bashAssoc, shellQuote } from "./quote";
import type { BoxSpec, RenderedFile } from "./types";

/** Minute past `backup.hourUtc` when the dump starts. */
const BACKUP_MINUTE = 15;

export function renderBackupFiles(spec: BoxSpec): RenderedFile[] {
  const cron = { path: CRON_FILE, mode: "0644", owner: "root:root", content: renderCron(spec) };
  // Dumps are of the box's own PostgreSQL; an external database (RDS) keeps its own automated backups.
  if (spec.database) return [cron];
  return [
    { path: BACKUP_SCRIPT, mode: "0755", owner: "root:root", content: renderBackupScript(spec) },
    { path: RESTORE_SCRIPT, mode: "0755", owner: "root:root", content: renderRestoreScript(spec) },
    cron,
  ];
}

function commonHeader(spec: BoxSpec): string {
  return `set -euo pipefail
umask 077
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=\${HOME:-/root}

readonly REGION=${shellQuote(spec.region)}
readonly BUCKET=${shellQuote(spec.artifactsBucket)}
readonly PREFIX=${shellQuote(spec.backup.prefix)}
readonly APPS=${bashArray(spec.apps.map((a) => a.name))}
readonly BACKUP_DIR=${BACKUP_DIR}
`;
}

export function renderBackupScript(spec: BoxSpec): string {
  return `#!/bin/bash
# django-tiers-backup: pg_dump -Fc of every app database, uploaded to
# s3://${spec.artifactsBucket}/${spec.backup.prefix}<app>/<UTC timestamp>.dump; local dumps older than
# ${spec.backup.localRetentionDays} days are removed. Exits non-zero if any app failed. Prints no secret
# (pg_dump runs as postgres over the local socket). Rendered by django-tiers.
${commonHeader(spec)}readonly RETENTION_DAYS=${spec.backup.localRetentionDays}

${BACKUP_BODY}`;
}

export function renderRestoreScript(spec: BoxSpec): string {
  const programs = Object.fromEntries(spec.apps.map((a) => [a.name, boxProgramNames(a.name, spec).join(" ")]));
  return `#!/bin/bash
# django-tiers-restore APP SOURCE: restore APP's database from a backup
# (pg_restore --clean --if-exists). See the restore runbook. Rendered by django-tiers.
${commonHeader(spec)}declare -rA APP_PROGRAMS=${bashAssoc(programs)}

${RESTORE_BODY}`;
}

/** cron runs in the box's time zone: UTC on Debian's EC2 images. */
export function renderCron(spec: BoxSpec): string {
  const lines = [
    "# Rendered by django-tiers; edits are overwritten. Times are the box's clock (UTC).",
    "SHELL=/bin/bash",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  ];
  if (!spec.database) {
    lines.push(
      "",
      `# Nightly database dumps to s3://${spec.artifactsBucket}/${spec.backup.prefix}<app>/.`,
      `${BACKUP_MINUTE} ${spec.backup.hourUtc} * * * root ${BACKUP_SCRIPT} >>${LOG_DIR}/backup.log 2>&1`,
    );
  }
  if (spec.tls.mode === "letsencrypt") {
    lines.push(
      "",
      "# Let's Encrypt: request missing certificates every 10 minutes (silent once all exist).",
      `*/10 * * * * root ${PROVISION_SCRIPT} tls >/dev/null 2>&1`,
    );
  }
  return lines.join("\n") + "\n";
}

const BACKUP_BODY = `log() {
  printf '%s django-tiers-backup %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

stamp=$(date -u +%Y%m%dT%H%M%SZ)

# Every step checks its own status: this function runs inside \`if\`, where
# \`set -e\` does not apply, so that one app's failure does not skip the others.
backup_app() {
  local app=$1 dir=$BACKUP_DIR/$1 dump key
  dump=$dir/$stamp.dump
  key=$PREFIX$app/$stamp.dump
  install -d -m 0700 "$dir" || return
  log "$app: pg_dump"
  # As postgres over the local socket (peer authentication): no password involved.
  (cd / && runuser -u postgres -- pg_dump --format=custom --no-password --dbname="$app") >"$dump.part" || return
  mv -f "$dump.part" "$dump" || return
  log "$app: upload to s3://$BUCKET/$key ($(stat -c %s "$dump") bytes)"
  # The bucket's default encryption applies to the object.
  aws --region "$REGION" s3 cp --only-show-errors "$dump" "s3://$BUCKET/$key" || return
  find "$dir" -maxdepth 1 -type f -name '*.dump' -mtime "+$RETENTION_DAYS" -delete || return
}

failed=()
for app in "\${APPS[@]}"; do
  if backup_app "$app"; then
    log "$app: done"
  else
    rm -f "$BACKUP_DIR/$app/$stamp.dump.part"
    log "$app: FAILED"
    failed+=("$app")
  fi
done

if ((\${#failed[@]} > 0)); then
  log "backup failed for: \${failed[*]}"
  exit 1
fi
log "backup complete"
`;
const RESTORE_BODY = `log() {
  printf '%s django-tiers-restore %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

usage() {
  cat <<'USAGE'
Usage: django-tiers-restore APP SOURCE
  Restores APP's database from a pg_dump custom-format dump (django-tiers-backup).
  SOURCE: a local file, an s3://bucket/key URL, a key of the artifacts
  bucket, or just a dump's name in APP's backups (20250101T031500Z.dump).
  APP's running programs are stopped during the restore and started again
  after it; a program that was not running (the idle color of a blue-green
  box, one stopped by hand) stays as it was.
USAGE
}

if (($# != 2)); then
  usage >&2
  exit 64
fi
app=$1
src=$2
known=0
for candidate in "\${APPS[@]}"; do
  [[ $candidate == "$app" ]] && known=1
done
if ((known == 0)); then
  echo "django-tiers-restore: unknown app '$app' (apps: \${APPS[*]})" >&2
  exit 64
fi

tmp=
stopped=0
read -ra programs <<<"\${APP_PROGRAMS[$app]}"
# What runs now is what runs after: a program stopped on purpose stays stopped.
running=()
for program in "\${programs[@]}"; do
  state=$({ supervisorctl status "$program" 2>/dev/null || true; } | awk 'NR == 1 { print $2 }')
  case $state in
    RUNNING | STARTING | BACKOFF) running+=("$program") ;;
    *) log "$app: $program is \${state:-unknown to supervisor}: left as it is" ;;
  esac
done
cleanup() {
  if [[ -n $tmp ]]; then
    rm -f "$tmp"
  fi
  if ((stopped)); then
    log "$app: starting \${running[*]}"
    supervisorctl start "\${running[@]}" || log "$app: could not start every program; check supervisorctl status"
  fi
}
trap cleanup EXIT

if [[ -f $src ]]; then
  dump=$src
else
  case $src in
    s3://*) url=$src ;;
    */*) url=s3://$BUCKET/\${src#/} ;;
    *) url=s3://$BUCKET/$PREFIX$app/$src ;;
  esac
  install -d -m 0700 "$BACKUP_DIR"
  tmp=$(mktemp "$BACKUP_DIR/restore.XXXXXX")
  log "$app: downloading $url"
  aws --region "$REGION" s3 cp --only-show-errors "$url" "$tmp"
  dump=$tmp
fi

# No request may see a half-restored database.
if ((\${#running[@]} > 0)); then
  log "$app: stopping \${running[*]}"
  stopped=1
  supervisorctl stop "\${running[@]}"
fi

# A dropped database is created again, empty and owned by the app's role (as
# phase install creates it), for the dump to fill. App names are [a-z][a-z0-9]*.
if [[ -z $(cd / && runuser -u postgres -- psql -XAtq -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$app'") ]]; then
  log "$app: the database does not exist: creating it"
  (cd / && runuser -u postgres -- createdb --owner="$app" "$app")
  (cd / && runuser -u postgres -- psql -Xq -d postgres -c "REVOKE ALL ON DATABASE \\"$app\\" FROM PUBLIC")
fi

log "$app: pg_restore --clean --if-exists from $src"
# One transaction: a failed restore leaves the database as it was.
(cd / && runuser -u postgres -- pg_restore --clean --if-exists --single-transaction --exit-on-error \\
  --no-password --dbname="$app") <"$dump"
log "$app: restore complete"
`;
