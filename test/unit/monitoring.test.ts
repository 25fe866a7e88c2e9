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
import { AGENT_METRICS, renderCloudWatchAgentConfig } from "../../server/cloudwatch-agent";
import { fixtureSpec } from "../server/fixtures";
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
    new Monitoring("ops", {
      alertTopicArn: TOPIC,
      fleets: { green: { autoScalingGroupName: "asg-green" }, blue: { autoScalingGroupName: "asg-blue", diskUsedPercent: 70, memoryUsedPercent: 85 } },
      loadBalancer: {
        arnSuffix: "app/alb/0123456789abcdef",
        targetGroups: { blue: "targetgroup/tg-blue/0123", green: "targetgroup/tg-green/0456" },
        unhealthyHosts: 2,
        http5xxRate: { percent: 3 },
      },
      queues: { tasks: { queueName: "tasks", deadLetterQueueName: "tasks-dlq", oldestMessageSeconds: 600 }, emails: { queueName: "emails" } },
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
      "ALB 5xx % of requests",
      "ALB unhealthy and healthy targets per target group",
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
    expect(components.map((c) => c.name).sort()).toEqual(["mon", "ops", "small"]);
    const children = engine.resources.filter((r) => !r.isComponent && /^(mon|ops|small)-/.test(r.name));
    expect(children.length).toBe(16 + 2 + 2 + 14);
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

describe("Monitoring of fleets, the ALB's 5xx rate and several queues", () => {
  const ops = () => ofType(engine.resources, ALARM).filter((r) => r.name.startsWith("ops-"));

  it("creates the alarms of each fleet, target group and queue, named by role", () => {
    expect(ops().map((r) => r.name).sort()).toEqual([
      "ops-alb-5xx-rate",
      "ops-alb-elb-5xx",
      "ops-alb-response-time",
      "ops-alb-target-5xx",
      "ops-alb-unhealthy-blue",
      "ops-alb-unhealthy-green",
      "ops-fleet-blue-disk",
      "ops-fleet-blue-memory",
      "ops-fleet-green-disk",
      "ops-fleet-green-memory",
      "ops-queue-emails-oldest-message",
      "ops-queue-tasks-dead-letters",
      "ops-queue-tasks-oldest-message",
    ]);
    for (const a of ops()) expect([a.name, a.inputs.alarmActions, a.inputs.okActions]).toEqual([a.name, [TOPIC], [TOPIC]]);
  });

  it("reads each fleet's disk and memory from the agent's per-group aggregate, its fullest server", () => {
    // The dimension set the agent publishes on a fleet server (aggregation_dimensions [["AutoScalingGroupName"]]).
    const config = JSON.parse(renderCloudWatchAgentConfig({ ...fixtureSpec(), role: "app", color: "blue" }, { logGroupName: "/g" }));
    expect(config.metrics.aggregation_dimensions).toContainEqual(Object.keys(named(engine.resources, "ops-fleet-blue-disk").inputs.dimensions as object));
    expect(named(engine.resources, "ops-fleet-blue-disk").inputs).toMatchObject({
      namespace: "CWAgent",
      metricName: "disk_used_percent",
      dimensions: { AutoScalingGroupName: "asg-blue" },
      statistic: "Maximum",
      threshold: 70,
      treatMissingData: "notBreaching",
    });
    expect(named(engine.resources, "ops-fleet-blue-memory").inputs).toMatchObject({ metricName: "mem_used_percent", threshold: 85, evaluationPeriods: 2 });
    expect(named(engine.resources, "ops-fleet-green-disk").inputs).toMatchObject({ dimensions: { AutoScalingGroupName: "asg-green" }, threshold: 80 });
    expect(named(engine.resources, "ops-fleet-green-memory").inputs.threshold).toBe(90);
    expect(named(engine.resources, "ops-fleet-green-disk").inputs.insufficientDataActions).toBeUndefined();
  });

  it("alarms on the 5xx rate with metric math over the ALB's counts, quiet below the minimum of requests", () => {
    const rate = named(engine.resources, "ops-alb-5xx-rate").inputs;
    expect(rate.metricName).toBeUndefined();
    expect(rate.namespace).toBeUndefined();
    expect(rate).toMatchObject({ threshold: 3, comparisonOperator: "GreaterThanOrEqualToThreshold", evaluationPeriods: 1, treatMissingData: "notBreaching" });
    const queries = rate.metricQueries as any[];
    expect(queries.filter((q) => q.metric).map((q) => [q.id, q.metric.metricName, q.metric.stat, q.metric.period, q.metric.dimensions, q.returnData])).toEqual([
      ["m1", "HTTPCode_ELB_5XX_Count", "Sum", 300, { LoadBalancer: "app/alb/0123456789abcdef" }, false],
      ["m2", "HTTPCode_Target_5XX_Count", "Sum", 300, { LoadBalancer: "app/alb/0123456789abcdef" }, false],
      ["m3", "RequestCount", "Sum", 300, { LoadBalancer: "app/alb/0123456789abcdef" }, false],
    ]);
    const expression = queries.filter((q) => q.expression);
    expect(expression).toEqual([
      { id: "e1", expression: "IF(FILL(m3, 0) + FILL(m1, 0) >= 50, 100 * (FILL(m1, 0) + FILL(m2, 0)) / (FILL(m3, 0) + FILL(m1, 0)), 0)", label: "5xx % of requests", returnData: true },
    ]);
    // The default: no rate alarm, the count alarms alone.
    expect(engine.resources.filter((r) => r.name === "mon-alb-5xx-rate")).toEqual([]);
  });

  it("watches each target group's unhealthy hosts with LoadBalancer and TargetGroup, at the given threshold", () => {
    for (const [color, tg] of [["blue", "targetgroup/tg-blue/0123"], ["green", "targetgroup/tg-green/0456"]]) {
      expect(named(engine.resources, `ops-alb-unhealthy-${color}`).inputs).toMatchObject({
        metricName: "UnHealthyHostCount",
        dimensions: { LoadBalancer: "app/alb/0123456789abcdef", TargetGroup: tg },
        threshold: 2,
      });
    }
    expect(named(engine.resources, "mon-alb-unhealthy-blue").inputs.threshold).toBe(1);
  });

  it("watches every queue's oldest message, and its dead-letter queue when it has one", () => {
    expect(named(engine.resources, "ops-queue-tasks-oldest-message").inputs).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: "tasks" },
      threshold: 600,
    });
    expect(named(engine.resources, "ops-queue-emails-oldest-message").inputs).toMatchObject({ dimensions: { QueueName: "emails" }, threshold: 900 });
    expect(named(engine.resources, "ops-queue-tasks-dead-letters").inputs).toMatchObject({
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "tasks-dlq" },
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("draws every new alarm's metrics on the dashboard", () => {
    const body = JSON.parse(String(named(engine.resources, "ops-dashboard").inputs.dashboardBody));
    const byTitle = Object.fromEntries(body.widgets.slice(1).map((w: any) => [w.properties.title, w.properties]));
    expect(Object.keys(byTitle)).toEqual([
      "Fleets CPU % (average per fleet)",
      "Fleets memory and root disk % (fullest server)",
      "ALB requests and 5xx",
      "ALB target response time p95 (s)",
      "ALB 5xx % of requests",
      "ALB unhealthy and healthy targets per target group",
      "Task queue emails: oldest message (s), depth and dead letters",
      "Task queue tasks: oldest message (s), depth and dead letters",
    ]);
    expect(body.widgets[0].properties.alarms).toHaveLength(13);
    expect(byTitle["Fleets memory and root disk % (fullest server)"].metrics).toEqual([
      ["CWAgent", "mem_used_percent", "AutoScalingGroupName", "asg-blue"],
      ["CWAgent", "disk_used_percent", "AutoScalingGroupName", "asg-blue"],
      ["CWAgent", "mem_used_percent", "AutoScalingGroupName", "asg-green"],
      ["CWAgent", "disk_used_percent", "AutoScalingGroupName", "asg-green"],
    ]);
    expect(byTitle["ALB 5xx % of requests"].metrics[0][0]).toMatchObject({ id: "e1", expression: expect.stringContaining("100 * (FILL(m1, 0) + FILL(m2, 0))") });
    expect(byTitle["ALB 5xx % of requests"].metrics.slice(1).map((m: any[]) => m[m.length - 1])).toEqual([
      { id: "m1", visible: false },
      { id: "m2", visible: false },
      { id: "m3", visible: false },
    ]);
    expect(byTitle["ALB unhealthy and healthy targets per target group"].metrics[0]).toEqual([
      "AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", "app/alb/0123456789abcdef", "TargetGroup", "targetgroup/tg-blue/0123", { label: "blue unhealthy" },
    ]);
    expect(byTitle["Task queue tasks: oldest message (s), depth and dead letters"].metrics[2]).toEqual(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "tasks-dlq", { label: "tasks dead letters" }]);
  });

  it("passes the CloudWatch policy checks (the rate alarm's metric queries included) in place of the fixture's alarms", () => {
    const plan = loadBalancedPlan();
    plan.resources = plan.resources.filter((r) => !T.metricAlarm.includes(r.type as never));
    // Only the metric-math alarm and the per-queue alarms: their metrics must satisfy the ALB 5xx and SQS requirements.
    const ours = ops().filter((a) => !["ops-alb-elb-5xx", "ops-alb-target-5xx"].includes(a.name));
    plan.resources.push(...ours);
    const results = runChecks(plan).filter((r) => ["alarms-cover-components", "alarms-notify"].includes(r.id));
    expect(results.map((r) => r.status)).toEqual(["fail", "pass"]);
    // RDS and Redis alarms are not this component's here: only they are missing.
    const findings = results[0].findings.map((f) => f.message);
    expect(findings.some((m) => /ApplicationELB|SQS/.test(m))).toBe(false);
    expect(findings.some((m) => /AWS\/RDS/.test(m))).toBe(true);
  });

  it("refuses bad fleet and queue roles and thresholds, naming the argument", () => {
    expect(() => new Monitoring("bad5", { alertTopicArn: TOPIC, fleets: { Blue: { autoScalingGroupName: "a" } } })).toThrow(/fleets role "Blue" must be lower-case/);
    expect(() => new Monitoring("bad6", { alertTopicArn: TOPIC, fleets: { blue: { autoScalingGroupName: "a", memoryUsedPercent: 0 } } })).toThrow(
      /fleets\.blue\.memoryUsedPercent must be a percentage above 0 and at most 100 \(got 0\)/,
    );
    expect(() => new Monitoring("bad7", { alertTopicArn: TOPIC, queues: { tasks: { queueName: "q", oldestMessageSeconds: 0 } } })).toThrow(/queues\.tasks\.oldestMessageSeconds must be a number above 0/);
    expect(() => new Monitoring("bad8", { alertTopicArn: TOPIC, loadBalancer: { arnSuffix: "app/a/1", http5xxRate: { percent: 150 } } })).toThrow(/loadBalancer\.http5xxRate\.percent must be a percentage/);
    expect(() => new Monitoring("bad9", { alertTopicArn: TOPIC, loadBalancer: { arnSuffix: "app/a/1", unhealthyHosts: -1 } })).toThrow(/loadBalancer\.unhealthyHosts must be a number above 0/);
  });
});
