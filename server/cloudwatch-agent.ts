/**
 * The Amazon CloudWatch agent's configuration for a django-tiers box: the
 * log files the box's services write (nginx, each app's gunicorn and task
 * programs under supervisor, supervisord itself, PostgreSQL, Redis, the
 * provisioning and backup scripts) shipped to the box's log group, and the
 * memory and root-disk metrics EC2 does not publish, which the Monitoring
 * component's alarms read.
 *
 * The paths come from the renderers that configure those services (paths.ts,
 * supervisor.ts, nginx.ts), so the agent ships the files they actually write
 * (a test checks it against the rendered files).
 */
import { appPaths, boxProgramNames, IDLE_COLORS_LOG, LOG_DIR } from "./paths";
import { watchdogApps } from "./supervisor";
import type { BoxSpec, RenderedFile } from "./types";

/** Where the agent reads its configuration (`amazon-cloudwatch-agent-ctl -a fetch-config -c file:<this>`). */
export const CLOUDWATCH_AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json";

/** The namespace and metric names the agent publishes; alarms and dashboards must use the same. */
export const AGENT_METRICS = {
  namespace: "CWAgent",
  memoryUsedPercent: "mem_used_percent",
  diskUsedPercent: "disk_used_percent",
  /** Every metric is published with this dimension alone (one box). */
  instanceDimension: "InstanceId",
  /** On fleet servers, also aggregated over the auto scaling group with this dimension alone. */
  groupDimension: "AutoScalingGroupName",
} as const;

/** What the agent needs beyond the rest of the spec: BoxSpec's `cloudWatch` (server/types.ts). */
export interface CloudWatchAgentSettings {
  /**
   * The log group every file is shipped to (it must exist, with its
   * retention set: the agent would otherwise create one that never expires).
   * @example "/django-tiers/shop/prod/box"
   */
  logGroupName: string;
  /**
   * Seconds between metric samples.
   * @default 60
   */
  metricsIntervalSeconds?: number;
  /**
   * The server belongs to an auto scaling group (a blue or green app fleet,
   * the workers): the agent also publishes each metric aggregated over the
   * group, with `AutoScalingGroupName` as its only dimension, which the
   * fleet alarms read. The agent finds the group name through
   * `ec2:DescribeTags`, which the instance role must allow.
   * @default true for the app and worker roles, false for a single box
   */
  autoScalingGroup?: boolean;
}

/** A spec that may carry the agent's settings (BoxSpec itself, since `cloudWatch` is part of it). */
export type BoxSpecWithCloudWatch = BoxSpec;

/** One file the agent ships, and the stream it lands in (prefixed with the instance id). */
export interface ShippedLog {
  path: string;
  stream: string;
}

/** Where Debian's supervisor package logs supervisord itself. */
export const SUPERVISORD_LOG = "/var/log/supervisor/supervisord.log";
/** PostgreSQL's cluster log on Debian (`postgresql-<version>-main.log`); the agent follows the newest match. */
export const POSTGRESQL_LOG = "/var/log/postgresql/postgresql-*-main.log";
export const REDIS_LOG = "/var/log/redis/redis-server.log";

/** Every log file of the box, in a stable order. */
export function shippedLogs(spec: BoxSpec): ShippedLog[] {
  // Worker servers run no nginx.
  const web = spec.role !== "worker";
  const logs: ShippedLog[] = web
    ? [
        { path: "/var/log/nginx/access.log", stream: "nginx/access" },
        { path: "/var/log/nginx/error.log", stream: "nginx/error" },
      ]
    : [];
  const watched = new Set(watchdogApps(spec).map((a) => a.name));
  for (const app of spec.apps) {
    if (web) {
      logs.push(
        { path: `/var/log/nginx/${app.name}.access.log`, stream: `${app.name}/nginx-access` },
        { path: `/var/log/nginx/${app.name}.error.log`, stream: `${app.name}/nginx-error` },
      );
    }
    // supervisor writes each program's output (gunicorn's access and error log, celery's or rq's) to <logDir>/<role>.log.
    for (const program of boxProgramNames(app.name, spec)) {
      const role = program.slice(app.name.length + 1);
      logs.push({ path: `${appPaths(app.name).logDir}/${role}.log`, stream: `${app.name}/${role}` });
    }
    // The Celery worker watchdog's cron job (server/supervisor.ts) logs next to the worker.
    if (watched.has(app.name)) logs.push({ path: `${appPaths(app.name).logDir}/watchdog.log`, stream: `${app.name}/watchdog` });
  }
  logs.push({ path: SUPERVISORD_LOG, stream: "supervisord" });
  if (spec.role === "worker" && spec.lifecycleHook) logs.push({ path: `${LOG_DIR}/drain.log`, stream: "drain" });
  if (spec.colors) logs.push({ path: IDLE_COLORS_LOG, stream: "idle-colors" });
  // PostgreSQL and Redis log only on a single box that runs them (not RDS or ElastiCache, never on fleet servers).
  if (spec.role === "single-box" && !spec.database) logs.push({ path: POSTGRESQL_LOG, stream: "postgresql" });
  if (spec.role === "single-box" && !spec.cache) logs.push({ path: REDIS_LOG, stream: "redis" });
  logs.push({ path: `${LOG_DIR}/provision.log`, stream: "provision" });
  // The nightly pg_dump runs (and logs) only for a database on the box.
  if (spec.role === "single-box" && !spec.database) logs.push({ path: `${LOG_DIR}/backup.log`, stream: "backup" });
  return logs;
}

/** The agent's JSON configuration (see the file comment). */
export function renderCloudWatchAgentConfig(spec: BoxSpec, settings: CloudWatchAgentSettings): string {
  if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(settings.logGroupName)) {
    throw new Error(`cloudWatch.logGroupName "${settings.logGroupName}" is not a CloudWatch log group name`);
  }
  const interval = settings.metricsIntervalSeconds ?? 60;
  if (![10, 30, 60, 120, 300].includes(interval)) throw new Error(`cloudWatch.metricsIntervalSeconds must be 10, 30, 60, 120 or 300 (got ${interval})`);
  const inGroup = settings.autoScalingGroup ?? spec.role !== "single-box";
  const config = {
    agent: {
      metrics_collection_interval: interval,
      // One dimension set (InstanceId) that alarms can name exactly: no host name dimension.
      omit_hostname: true,
      logfile: "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log",
    },
    metrics: {
      namespace: AGENT_METRICS.namespace,
      append_dimensions: {
        [AGENT_METRICS.instanceDimension]: "${aws:InstanceId}",
        ...(inGroup ? { [AGENT_METRICS.groupDimension]: "${aws:AutoScalingGroupName}" } : {}),
      },
      // Also publish each metric with InstanceId alone, whatever the disk's device and file
      // system, and on a fleet with AutoScalingGroupName alone: the dimension sets alarms name.
      aggregation_dimensions: [[AGENT_METRICS.instanceDimension], ...(inGroup ? [[AGENT_METRICS.groupDimension]] : [])],
      metrics_collected: {
        mem: { measurement: ["used_percent"] },
        disk: { measurement: ["used_percent"], resources: ["/"], drop_device: true },
      },
    },
    logs: {
      force_flush_interval: 15,
      logs_collected: {
        files: {
          collect_list: shippedLogs(spec).map((log) => ({
            file_path: log.path,
            log_group_name: settings.logGroupName,
            log_stream_name: `{instance_id}/${log.stream}`,
            timezone: "UTC",
          })),
        },
      },
    },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function renderCloudWatchAgentFile(spec: BoxSpec, settings: CloudWatchAgentSettings): RenderedFile {
  return { path: CLOUDWATCH_AGENT_CONFIG, mode: "0644", owner: "root:root", content: renderCloudWatchAgentConfig(spec, settings) };
}

/** The agent's files for renderBox: none until the spec names a log group. */
export function renderCloudWatchAgentFiles(spec: BoxSpecWithCloudWatch): RenderedFile[] {
  return spec.cloudWatch ? [renderCloudWatchAgentFile(spec, spec.cloudWatch)] : [];
}

/** Where AWS publishes the public key that signs the agent's packages. */
export const CLOUDWATCH_AGENT_KEY_URL = "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg";
/**
 * The fingerprint of that key ("Amazon CloudWatch Agent", 3B789C72), as the
 * AWS documentation states it: "Verify the signature of the CloudWatch agent
 * package", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/verify-CloudWatch-Agent-Package-Signature.html
 * ("9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72"; read in the
 * docs.amazonaws.cn and docs.aws.amazon.com/zh_cn editions of that page).
 */
export const CLOUDWATCH_AGENT_KEY_FINGERPRINT = "937616F3450B7D806CBD9725D58167303B789C72";
/** The agent's control script, installed by its package. */
export const CLOUDWATCH_AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";

/**
 * The provisioning script's `ensure_cloudwatch_agent` (and its helper),
 * which phase configure calls last: installs the agent once and (re)loads
 * the rendered configuration on every run, so a changed configuration
 * document reaches a running box with the next rollout.
 *
 * The agent is not a Debian package: its .deb comes from AWS's bucket in
 * the box's region, with a detached signature that is checked against the
 * documented key before `dpkg -i`. It runs only where it can work and is
 * wanted, and says in the log why it did not:
 *  - the configuration file exists (the stack named a log group:
 *    BoxSpec `cloudWatch`);
 *  - `DJANGO_TIERS_CLOUDWATCH_AGENT` is not `off` (a test host sets it);
 *  - IMDSv2 answers: the agent needs the instance's identity and role, so
 *    off EC2 (the real-run test hosts have no metadata service) it is skipped.
 * A failure is logged as a WARNING and provisioning goes on: the box serves
 * without its metrics (the agent alarms then report INSUFFICIENT_DATA,
 * which notifies), rather than failing its boot over them.
 *
 * Expects from the script around it: set -euo pipefail, REGION, IMDS, and
 * the functions log, is_installed and ensure_packages.
 */
export const CLOUDWATCH_AGENT_SH = `# ---- CloudWatch agent (server/cloudwatch-agent.ts) ----------------------------
readonly CLOUDWATCH_AGENT_CONFIG=${CLOUDWATCH_AGENT_CONFIG}
readonly CLOUDWATCH_AGENT_CTL=${CLOUDWATCH_AGENT_CTL}
readonly CLOUDWATCH_AGENT_KEY_URL=${CLOUDWATCH_AGENT_KEY_URL}
# The key's fingerprint as AWS documents it ("Verify the signature of the CloudWatch agent package").
readonly CLOUDWATCH_AGENT_KEY_FINGERPRINT=${CLOUDWATCH_AGENT_KEY_FINGERPRINT}

# install_cloudwatch_agent DIR: downloads the agent's .deb for this region and
# architecture into the scratch directory DIR, checks its signature against the
# documented key only, and installs it. Returns 1 on any failure.
install_cloudwatch_agent() {
  local dir=$1 arch url fpr status
  arch=$(dpkg --print-architecture) || return 1
  case $arch in
    amd64 | arm64) ;;
    *)
      log "CloudWatch agent: no package for the $arch architecture"
      return 1
      ;;
  esac
  url=https://amazoncloudwatch-agent-$REGION.s3.$REGION.amazonaws.com/debian/$arch/latest/amazon-cloudwatch-agent.deb
  if ! command -v gpg >/dev/null 2>&1; then
    ensure_packages gpg || return 1
  fi
  curl -fsS --retry 3 --max-time 600 -o "$dir/agent.deb" "$url" || return 1
  curl -fsS --retry 3 --max-time 60 -o "$dir/agent.deb.sig" "$url.sig" || return 1
  curl -fsS --retry 3 --max-time 60 -o "$dir/agent.gpg" "$CLOUDWATCH_AGENT_KEY_URL" || return 1
  # The key file must be the documented key (its primary fingerprint)...
  fpr=$(gpg --batch --with-colons --show-keys "$dir/agent.gpg" 2>/dev/null | awk -F: '$1 == "fpr" && !seen { print $10; seen = 1 }') || return 1
  if [[ $fpr != "$CLOUDWATCH_AGENT_KEY_FINGERPRINT" ]]; then
    log "CloudWatch agent: the key at $CLOUDWATCH_AGENT_KEY_URL has the fingerprint '$fpr', not the documented $CLOUDWATCH_AGENT_KEY_FINGERPRINT"
    return 1
  fi
  # ...and the package's signature must be a good one made by that key.
  install -d -m 0700 "$dir/gnupg" || return 1
  GNUPGHOME=$dir/gnupg gpg --batch --quiet --import "$dir/agent.gpg" 2>/dev/null || return 1
  status=$(GNUPGHOME=$dir/gnupg gpg --batch --status-fd 1 --verify "$dir/agent.deb.sig" "$dir/agent.deb" 2>/dev/null) || status=""
  GNUPGHOME=$dir/gnupg gpgconf --kill all >/dev/null 2>&1 || true
  if ! grep -q "^\\[GNUPG:\\] VALIDSIG .* $CLOUDWATCH_AGENT_KEY_FINGERPRINT\\$" <<<"$status"; then
    log "CloudWatch agent: the signature of $url does not verify with the documented key"
    return 1
  fi
  dpkg -i "$dir/agent.deb" >/dev/null || return 1
}

# ensure_cloudwatch_agent: installs the agent unless it is installed, then
# loads the rendered configuration and (re)starts it. Never fails the run.
ensure_cloudwatch_agent() {
  local dir
  [[ -s $CLOUDWATCH_AGENT_CONFIG ]] || return 0
  if [[ \${DJANGO_TIERS_CLOUDWATCH_AGENT:-on} == off ]]; then
    log "CloudWatch agent: skipped (DJANGO_TIERS_CLOUDWATCH_AGENT=off)"
    return 0
  fi
  if ! curl -fsS --connect-timeout 2 --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \\
    "$IMDS/api/token" >/dev/null 2>&1; then
    log "CloudWatch agent: skipped, no instance metadata service (not on EC2)"
    return 0
  fi
  if is_installed amazon-cloudwatch-agent; then
    log "CloudWatch agent: installed, skipping the download"
  else
    log "CloudWatch agent: installing the signed package for $REGION"
    if ! dir=$(mktemp -d); then
      log "WARNING: CloudWatch agent not installed (no scratch directory); the box runs without its metrics and log shipping"
      return 0
    fi
    if ! install_cloudwatch_agent "$dir"; then
      rm -rf "$dir"
      log "WARNING: CloudWatch agent not installed; the box runs without its metrics and log shipping (the next run retries)"
      return 0
    fi
    rm -rf "$dir"
  fi
  if "$CLOUDWATCH_AGENT_CTL" -a fetch-config -m ec2 -s -c "file:$CLOUDWATCH_AGENT_CONFIG" >/dev/null; then
    log "CloudWatch agent: running with $CLOUDWATCH_AGENT_CONFIG"
  else
    log "WARNING: the CloudWatch agent did not start with $CLOUDWATCH_AGENT_CONFIG; the box runs without its metrics and log shipping"
  fi
}
`;
