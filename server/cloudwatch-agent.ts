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
import { appPaths, LOG_DIR, programNames } from "./paths";
import type { BoxSpec, RenderedFile } from "./types";

/** Where the agent reads its configuration (`amazon-cloudwatch-agent-ctl -a fetch-config -c file:<this>`). */
export const CLOUDWATCH_AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json";

/** The namespace and metric names the agent publishes; alarms and dashboards must use the same. */
export const AGENT_METRICS = {
  namespace: "CWAgent",
  memoryUsedPercent: "mem_used_percent",
  diskUsedPercent: "disk_used_percent",
} as const;

/**
 * What the agent needs beyond the rest of the spec. Proposed as the
 * optional BoxSpec field `cloudWatch` (server/types.ts); until it lands,
 * renderBox reads it from a spec that carries it.
 */
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
}

/** A spec that may carry the agent's settings (see `CloudWatchAgentSettings`). */
export type BoxSpecWithCloudWatch = BoxSpec & { cloudWatch?: CloudWatchAgentSettings };

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
  const logs: ShippedLog[] = [
    { path: "/var/log/nginx/access.log", stream: "nginx/access" },
    { path: "/var/log/nginx/error.log", stream: "nginx/error" },
  ];
  for (const app of spec.apps) {
    logs.push(
      { path: `/var/log/nginx/${app.name}.access.log`, stream: `${app.name}/nginx-access` },
      { path: `/var/log/nginx/${app.name}.error.log`, stream: `${app.name}/nginx-error` },
    );
    // supervisor writes each program's output (gunicorn's access and error log, celery's or rq's) to <logDir>/<role>.log.
    for (const program of programNames(app.name, spec.taskWorker)) {
      const role = program.slice(app.name.length + 1);
      logs.push({ path: `${appPaths(app.name).logDir}/${role}.log`, stream: `${app.name}/${role}` });
    }
  }
  logs.push({ path: SUPERVISORD_LOG, stream: "supervisord" });
  // PostgreSQL and Redis log on the box only when they run there (not RDS or ElastiCache).
  if (!spec.database) logs.push({ path: POSTGRESQL_LOG, stream: "postgresql" });
  if (!spec.cache) logs.push({ path: REDIS_LOG, stream: "redis" });
  logs.push({ path: `${LOG_DIR}/provision.log`, stream: "provision" });
  // The nightly pg_dump runs (and logs) only for a database on the box.
  if (!spec.database) logs.push({ path: `${LOG_DIR}/backup.log`, stream: "backup" });
  return logs;
}

/** The agent's JSON configuration (see the file comment). */
export function renderCloudWatchAgentConfig(spec: BoxSpec, settings: CloudWatchAgentSettings): string {
  if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(settings.logGroupName)) {
    throw new Error(`cloudWatch.logGroupName "${settings.logGroupName}" is not a CloudWatch log group name`);
  }
  const interval = settings.metricsIntervalSeconds ?? 60;
  if (![10, 30, 60, 120, 300].includes(interval)) throw new Error(`cloudWatch.metricsIntervalSeconds must be 10, 30, 60, 120 or 300 (got ${interval})`);
  const config = {
    agent: {
      metrics_collection_interval: interval,
      // One dimension set (InstanceId) that alarms can name exactly: no host name dimension.
      omit_hostname: true,
      logfile: "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log",
    },
    metrics: {
      namespace: AGENT_METRICS.namespace,
      append_dimensions: { InstanceId: "${aws:InstanceId}" },
      // Also publish each metric with InstanceId alone, whatever the disk's device and file system.
      aggregation_dimensions: [["InstanceId"]],
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
