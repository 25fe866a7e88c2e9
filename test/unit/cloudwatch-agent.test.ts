/**
 * The CloudWatch agent's configuration: what it ships and where, checked
 * against the log files the other rendered files tell the services to write.
 */
import { renderBox } from "../../server";
import {
  AGENT_METRICS,
  BoxSpecWithCloudWatch,
  CLOUDWATCH_AGENT_CONFIG,
  renderCloudWatchAgentConfig,
  shippedLogs,
} from "../../server/cloudwatch-agent";
import { VARIANTS, fixtureSpec } from "../server/fixtures";

const LOG_GROUP = "/django-tiers/demo/dev/box";
const withAgent = (spec: ReturnType<typeof fixtureSpec>): BoxSpecWithCloudWatch => ({ ...spec, cloudWatch: { logGroupName: LOG_GROUP } });

/** Log files the rendered configuration of nginx, supervisor, Redis, cron and the provisioning script write. */
function logFilesWritten(files: { path: string; content: string }[]): string[] {
  const found = new Set<string>();
  for (const f of files) {
    for (const [, p] of f.content.matchAll(/^\s*(?:access_log|error_log)\s+(\/\S+?);/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/^stdout_logfile=(\S+)$/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/^logfile (\/\S+)$/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/>>(\/var\/log\/\S+?\.log)/g)) found.add(p);
    for (const [, p] of f.content.matchAll(/tee -a "\$LOG_DIR\/(\S+?\.log)"/g)) found.add(`/var/log/django-tiers/${p}`);
  }
  return [...found].sort();
}

describe("renderCloudWatchAgentConfig", () => {
  it.each(VARIANTS)("ships every log file the box's services write ($label)", ({ options }) => {
    const spec = withAgent(fixtureSpec(options));
    const files = renderBox(spec);
    // With ElastiCache, redis-server is not installed (provision.ts), though redis.conf is still rendered.
    const written = logFilesWritten(files).filter((p) => !(spec.cache && p.startsWith("/var/log/redis/")));
    expect(written.length).toBeGreaterThan(4);
    const shipped = shippedLogs(spec).map((l) => l.path);
    expect(written.filter((p) => !shipped.includes(p))).toEqual([]);
    // And ships nothing the rendered files do not account for, but Debian's own service logs.
    const debianOwn = ["/var/log/supervisor/supervisord.log", "/var/log/postgresql/postgresql-*-main.log"];
    expect(shipped.filter((p) => !written.includes(p) && !debianOwn.includes(p))).toEqual([]);
  });

  it("is in renderBox only once the spec names the log group, at the agent's config path", () => {
    const spec = fixtureSpec();
    expect(renderBox(spec).map((f) => f.path)).not.toContain(CLOUDWATCH_AGENT_CONFIG);
    const file = renderBox(withAgent(spec)).find((f) => f.path === CLOUDWATCH_AGENT_CONFIG);
    expect(file).toMatchObject({ mode: "0644", owner: "root:root" });
    expect(JSON.parse(file!.content).logs.logs_collected.files.collect_list[0].log_group_name).toBe(LOG_GROUP);
  });

  it("sends each file to the log group, in its own stream per instance, and collects memory and root-disk use", () => {
    const spec = fixtureSpec({ apps: 3, taskWorker: "celery" });
    const config = JSON.parse(renderCloudWatchAgentConfig(spec, { logGroupName: LOG_GROUP }));
    const list = config.logs.logs_collected.files.collect_list;
    expect(new Set(list.map((e: any) => e.log_group_name))).toEqual(new Set([LOG_GROUP]));
    const streams = list.map((e: any) => e.log_stream_name);
    expect(new Set(streams).size).toBe(streams.length);
    expect(streams).toEqual(expect.arrayContaining(["{instance_id}/nginx/access", "{instance_id}/shop/web", "{instance_id}/blog/worker", "{instance_id}/wiki/beat", "{instance_id}/supervisord"]));
    expect(list.find((e: any) => e.log_stream_name === "{instance_id}/shop/web").file_path).toBe("/var/log/django-tiers/shop/web.log");
    expect(config.metrics).toMatchObject({
      namespace: AGENT_METRICS.namespace,
      append_dimensions: { InstanceId: "${aws:InstanceId}" },
      aggregation_dimensions: [["InstanceId"]],
      metrics_collected: { mem: { measurement: ["used_percent"] }, disk: { measurement: ["used_percent"], resources: ["/"] } },
    });
    // `mem` + `used_percent` is published as mem_used_percent: the names the alarms use.
    expect([`mem_${config.metrics.metrics_collected.mem.measurement[0]}`, `disk_${config.metrics.metrics_collected.disk.measurement[0]}`]).toEqual([
      AGENT_METRICS.memoryUsedPercent,
      AGENT_METRICS.diskUsedPercent,
    ]);
    expect(config.agent).toMatchObject({ metrics_collection_interval: 60, omit_hostname: true });
  });

  it("leaves out PostgreSQL's and Redis's logs when they run on RDS and ElastiCache", () => {
    const streams = shippedLogs(fixtureSpec({ external: true })).map((l) => l.stream);
    expect(streams).not.toContain("postgresql");
    expect(streams).not.toContain("redis");
    expect(shippedLogs(fixtureSpec()).map((l) => l.stream)).toEqual(expect.arrayContaining(["postgresql", "redis"]));
  });

  it("refuses a log group name CloudWatch would refuse, and an interval the agent does not take", () => {
    expect(() => renderCloudWatchAgentConfig(fixtureSpec(), { logGroupName: "bad name" })).toThrow(/is not a CloudWatch log group name/);
    expect(() => renderCloudWatchAgentConfig(fixtureSpec(), { logGroupName: LOG_GROUP, metricsIntervalSeconds: 45 })).toThrow(/must be 10, 30, 60, 120 or 300 \(got 45\)/);
  });
});
