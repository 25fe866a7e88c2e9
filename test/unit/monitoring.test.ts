/**
 * Monitoring: its alarms and dashboard captured under the mock engine and
 * asserted after `engine.finish()`, then run through the CloudWatch policy
 * checks in place of the compliant fixture's own alarms.
 */
import { installMockEngine } from "../../cli/mock-engine";
import { named, ofType } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "dev" });

import { Monitoring } from "../../components/monitoring";
import { runChecks } from "../../policies";
import { CLOUDWATCH_CHECKS } from "../../policies/checks/cloudwatch";
import { T } from "../../policies/resource-types";
import type { PlannedResource } from "../../policies/types";
import { AGENT_METRICS } from "../../server/cloudwatch-agent";
import { loadBalancedPlan } from "../policies/fixtures";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts-topic";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

describe("Monitoring", () => {
  beforeAll(async () => {
    new Monitoring("mon", {
      alertTopicArn: TOPIC,
      box: { instanceId: "i-0abc" },
      loadBalancer: { arnSuffix: "app/alb/0123456789abcdef", targetGroups: { green: "targetgroup/tg-green/0456", blue: "targetgroup/tg-blue/0123" } },
      database: { instanceIdentifier: "db", freeStorageGb: 10 },
      cache: { replicationGroupId: "cache", nodeCount: 2 },
      queue: { queueName: "tasks", deadLetterQueueName: "tasks-dlq" },
    });
    new Monitoring("small", {
      alertTopicArn: TOPIC,
      dashboardName: "shop-dev",
      box: { instanceId: "i-0def", diskUsedPercent: 70, memoryUsedPercent: 95 },
      transform: { alarm: (args) => ({ ...args, datapointsToAlarm: 1 }) },
    });
    await engine.finish();
  });

  const alarmsOf = (prefix: string) => ofType(engine.resources, ALARM).filter((r) => r.name.startsWith(`${prefix}-`));

  it("creates one alarm per watched metric, named by role", () => {
    expect(alarmsOf("mon").map((r) => r.name).sort()).toEqual([
      "mon-alb-elb-5xx",
      "mon-alb-response-time",
      "mon-alb-target-5xx",
      "mon-alb-unhealthy-blue",
      "mon-alb-unhealthy-green",
      "mon-box-disk",
      "mon-box-memory",
      "mon-cache-evictions-1",
      "mon-cache-evictions-2",
      "mon-cache-memory-1",
      "mon-cache-memory-2",
      "mon-db-connections",
      "mon-db-cpu",
      "mon-db-free-storage",
      "mon-queue-dead-letters",
      "mon-queue-oldest-message",
    ]);
    expect(alarmsOf("small").map((r) => r.name).sort()).toEqual(["small-box-disk", "small-box-memory"]);
  });

  it("notifies the alert topic on alarm and on recovery from every alarm, and when an agent metric stops", () => {
    for (const a of [...alarmsOf("mon"), ...alarmsOf("small")]) {
      expect([a.name, a.inputs.alarmActions, a.inputs.okActions, a.inputs.actionsEnabled]).toEqual([a.name, [TOPIC], [TOPIC], true]);
      expect(String(a.inputs.alarmDescription)).not.toBe("");
    }
    expect(named(engine.resources, "mon-box-disk").inputs.insufficientDataActions).toEqual([TOPIC]);
    expect(named(engine.resources, "mon-alb-target-5xx").inputs.insufficientDataActions).toBeUndefined();
  });

  it("reads the box's memory and disk from the CloudWatch agent's metrics, with the default or given thresholds", () => {
    expect(named(engine.resources, "mon-box-disk").inputs).toMatchObject({
      namespace: AGENT_METRICS.namespace,
      metricName: "disk_used_percent",
      dimensions: { InstanceId: "i-0abc" },
      threshold: 80,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "missing",
    });
    expect(named(engine.resources, "mon-box-memory").inputs).toMatchObject({ metricName: "mem_used_percent", threshold: 90 });
    expect(named(engine.resources, "small-box-disk").inputs.threshold).toBe(70);
    expect(named(engine.resources, "small-box-memory").inputs.threshold).toBe(95);
  });

  it("watches the ALB, each target group, RDS, each Redis node and the queue by their CloudWatch dimensions", () => {
    expect(named(engine.resources, "mon-alb-unhealthy-blue").inputs.dimensions).toEqual({ LoadBalancer: "app/alb/0123456789abcdef", TargetGroup: "targetgroup/tg-blue/0123" });
    expect(named(engine.resources, "mon-alb-response-time").inputs).toMatchObject({ extendedStatistic: "p95", threshold: 2 });
    expect(named(engine.resources, "mon-alb-response-time").inputs.statistic).toBeUndefined();
    expect(named(engine.resources, "mon-db-free-storage").inputs).toMatchObject({
      metricName: "FreeStorageSpace",
      dimensions: { DBInstanceIdentifier: "db" },
      threshold: 10 * 1024 ** 3,
      comparisonOperator: "LessThanThreshold",
    });
    expect(named(engine.resources, "mon-cache-memory-2").inputs.dimensions).toEqual({ CacheClusterId: "cache-002" });
    expect(named(engine.resources, "mon-queue-oldest-message").inputs).toMatchObject({ dimensions: { QueueName: "tasks" }, threshold: 900, period: 300 });
    expect(named(engine.resources, "mon-queue-dead-letters").inputs.dimensions).toEqual({ QueueName: "tasks-dlq" });
  });

  it("applies the alarm transform to every alarm", () => {
    for (const a of alarmsOf("small")) expect(a.inputs.datapointsToAlarm).toBe(1);
    expect(named(engine.resources, "mon-box-disk").inputs.datapointsToAlarm).toBeUndefined();
  });

  it("draws a dashboard of the alarms and the parts' metrics, in the stack's region", () => {
    const dashboard = named(engine.resources, "mon-dashboard");
    expect(dashboard.inputs.dashboardName).toBe("django-tiers-django-tiers-dev");
    const body = JSON.parse(String(dashboard.inputs.dashboardBody));
    expect(body.widgets[0]).toMatchObject({ type: "alarm", properties: { title: "Alarms" } });
    expect(body.widgets[0].properties.alarms).toHaveLength(16);
    expect(body.widgets[0].properties.alarms).toContain("arn:aws:cloudwatch:us-east-1:123456789012:mon-db-cpu");
    const titles = body.widgets.slice(1).map((w: any) => w.properties.title);
    expect(titles).toEqual([
      "Box CPU %",
      "Box memory and root disk %",
      "Box status checks failed",
      "ALB requests and 5xx",
      "ALB target response time p95 (s)",
      "Database CPU %",
      "Database free storage (bytes) and connections",
      "Redis memory %",
      "Task queue: oldest message (s) and depth",
    ]);
    for (const w of body.widgets.slice(1)) expect(w.properties.region).toBe("us-east-1");
    expect(body.widgets.find((w: any) => w.properties.title === "Redis memory %").properties.metrics).toEqual([
      ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", "cache-001"],
      ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", "cache-002"],
    ]);
    expect(named(engine.resources, "small-dashboard").inputs.dashboardName).toBe("shop-dev");
  });

  it("gives every child the component as parent", () => {
    const components = engine.resources.filter((r) => r.type === "django-tiers:index:Monitoring");
    expect(components.map((c) => c.name).sort()).toEqual(["mon", "small"]);
    const children = engine.resources.filter((r) => !r.isComponent && (r.name.startsWith("mon-") || r.name.startsWith("small-")));
    expect(children.length).toBe(16 + 2 + 2);
    for (const c of children) expect(components.map((x) => x.urn)).toContain(c.parent);
  });

  it("refuses thresholds that cannot be right", () => {
    expect(() => new Monitoring("bad1", { alertTopicArn: TOPIC, box: { instanceId: "i-1", diskUsedPercent: 120 } })).toThrow(
      /box\.diskUsedPercent must be a percentage above 0 and at most 100 \(got 120\)/,
    );
    expect(() => new Monitoring("bad2", { alertTopicArn: TOPIC, cache: { replicationGroupId: "c", nodeCount: 0 } })).toThrow(/cache\.nodeCount must be a whole number from 1 to 6 \(got 0\)/);
    expect(() => new Monitoring("bad3", { alertTopicArn: TOPIC, queue: { queueName: "q", oldestMessageSeconds: -5 } })).toThrow(/queue\.oldestMessageSeconds must be a number above 0/);
    expect(() => new Monitoring("bad4", { alertTopicArn: TOPIC, loadBalancer: { arnSuffix: "app/a/1", targetGroups: { Blue: "tg" } } })).toThrow(/role "Blue"/);
  });

  it("passes the CloudWatch policy checks in place of the compliant load-balanced stack's own alarms", () => {
    const plan = loadBalancedPlan();
    plan.resources = plan.resources.filter((r) => !T.metricAlarm.includes(r.type as never));
    const ours: PlannedResource[] = alarmsOf("mon").map((a) => ({ ...a, inputs: { ...a.inputs } }));
    plan.resources.push(...ours);
    const results = runChecks(plan).filter((r) => CLOUDWATCH_CHECKS.some((c) => c.id === r.id));
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ["logs-retention", "pass"],
      ["logs-kms", "pass"],
      ["alarms-cover-components", "pass"],
      ["alarms-notify", "pass"],
    ]);
    // Without the component's alarms the same stack fails: the check can fail.
    plan.resources = plan.resources.filter((r) => !ours.includes(r));
    expect(runChecks(plan).find((r) => r.id === "alarms-cover-components")!.status).toBe("fail");
  });
});
