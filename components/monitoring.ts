import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AGENT_METRICS } from "../server/cloudwatch-agent";
import { Component, Transform, stackTags } from "./component";

export interface BoxMonitoring {
  /** The single box (or any VM running the CloudWatch agent of server/cloudwatch-agent.ts). */
  instanceId: pulumi.Input<string>;
  /**
   * Alarm when the root file system is fuller than this (CloudWatch agent metric).
   * PostgreSQL stops accepting writes on a full disk.
   * @default 80
   */
  diskUsedPercent?: number;
  /**
   * Alarm when memory use stays above this for 10 minutes (CloudWatch agent metric).
   * @default 90
   */
  memoryUsedPercent?: number;
}

export interface FleetMonitoring {
  /**
   * The fleet's auto scaling group name: the `AutoScalingGroupName` dimension its
   * servers' CloudWatch agent aggregates over (server/cloudwatch-agent.ts, `autoScalingGroup`).
   * @example blueFleet.autoScalingGroupName
   */
  autoScalingGroupName: pulumi.Input<string>;
  /**
   * Alarm when any server's root file system is fuller than this (CloudWatch agent metric, the fleet's maximum).
   * @default 80
   */
  diskUsedPercent?: number;
  /**
   * Alarm when any server's memory use stays above this for 10 minutes (CloudWatch agent metric, the fleet's maximum).
   * @default 90
   */
  memoryUsedPercent?: number;
}

export interface Http5xxRateMonitoring {
  /**
   * Alarm when 5xx responses (the ALB's own and the targets') are at least this
   * percentage of the requests in five minutes.
   * @default 5
   */
  percent?: number;
  /**
   * Below this many requests in five minutes the rate alarm stays OK: on a quiet
   * site two errors in twenty requests are not an outage (the count alarms still fire).
   * @default 50
   */
  minimumRequests?: number;
}

export interface LoadBalancerMonitoring {
  /**
   * The ALB's ARN suffix (`app/<name>/<id>`), its CloudWatch dimension.
   * @example alb.arnSuffix
   */
  arnSuffix: pulumi.Input<string>;
  /**
   * Target groups by role, each with its ARN suffix (`targetgroup/<name>/<id>`):
   * one unhealthy-hosts alarm per group. Roles name the alarms, so keep them stable.
   * @example { blue: tgBlue.arnSuffix, green: tgGreen.arnSuffix }
   */
  targetGroups?: Record<string, pulumi.Input<string>>;
  /**
   * Alarm on this many 5xx responses (from the targets, or from the ALB itself) in five minutes.
   * @default 10
   */
  http5xxPerFiveMinutes?: number;
  /**
   * Alarm when the 95th percentile of target response time stays above this many seconds for 15 minutes.
   * @default 2
   */
  targetResponseP95Seconds?: number;
  /**
   * Alarm when a target group has at least this many unhealthy targets for 3 minutes.
   * @default 1
   */
  unhealthyHosts?: number;
  /**
   * Also alarm on the 5xx rate (metric math over `HTTPCode_ELB_5XX_Count`,
   * `HTTPCode_Target_5XX_Count` and `RequestCount`): scales with traffic where
   * the count alarms do not. Leave it out for the count alarms alone.
   * @default undefined (no rate alarm)
   * @example { percent: 2, minimumRequests: 100 }
   */
  http5xxRate?: Http5xxRateMonitoring;
}

export interface DatabaseMonitoring {
  /**
   * The RDS instance identifier (its `DBInstanceIdentifier` dimension).
   * @example db.identifier
   */
  instanceIdentifier: pulumi.Input<string>;
  /**
   * Alarm when CPU stays above this for 15 minutes.
   * @default 80
   */
  cpuPercent?: number;
  /**
   * Alarm when free storage falls below this many GiB (turn on storage autoscaling too).
   * @default 5
   */
  freeStorageGb?: number;
  /**
   * Alarm when connections stay above this for 10 minutes. Set it near 80% of the
   * class's `max_connections` (about 80 on db.t4g.micro, 400 on db.t4g.medium for PostgreSQL).
   * @default 80
   */
  connections?: number;
}

export interface CacheMonitoring {
  /**
   * The ElastiCache replication group id; its nodes are `<id>-001`, `<id>-002`, …
   * @example cache.replicationGroupId
   */
  replicationGroupId: pulumi.Input<string>;
  /**
   * Nodes in the group (primary plus replicas): one memory alarm per node.
   * @default 1
   */
  nodeCount?: number;
  /**
   * Alarm when a node's memory use stays above this (evictions follow).
   * @default 80
   */
  memoryPercent?: number;
  /**
   * Alarm on this many evictions in five minutes on any node: evicted task
   * messages are lost tasks when Redis is the broker.
   * @default 100
   */
  evictionsPerFiveMinutes?: number;
}

export interface QueueMonitoring {
  /**
   * The task queue's name (its `QueueName` dimension).
   * @example queue.name
   */
  queueName: pulumi.Input<string>;
  /**
   * Alarm when the oldest message has waited longer than this many seconds: workers are stuck or too few.
   * @default 900
   */
  oldestMessageSeconds?: number;
  /**
   * The dead-letter queue's name: alarm as soon as a message lands there.
   * @default undefined (no dead-letter alarm)
   */
  deadLetterQueueName?: pulumi.Input<string>;
}

export interface MonitoringArgs {
  /** SNS topic every alarm notifies, on alarm and on recovery (the stack's Alerts topic). */
  alertTopicArn: pulumi.Input<string>;
  /**
   * The dashboard's name.
   * @default "django-tiers-<project>-<stack>"
   */
  dashboardName?: string;
  /**
   * The single box: root-disk and memory use (from the CloudWatch agent). Its status-check alarms are SingleBox's own.
   * @default undefined (no box alarms)
   */
  box?: BoxMonitoring;
  /**
   * App and worker fleets by role (`blue`, `green`, `worker`): root-disk and memory use of
   * their servers, from the CloudWatch agent's per-group aggregates. An idle color scaled to
   * zero has no data, which these alarms treat as OK. Roles name the alarms: keep them stable.
   * @default {}
   * @example { blue: { autoScalingGroupName: blueFleet.autoScalingGroupName }, green: { autoScalingGroupName: greenFleet.autoScalingGroupName } }
   */
  fleets?: Record<string, FleetMonitoring>;
  /**
   * The ALB: 5xx responses, unhealthy targets, response time.
   * @default undefined (no load balancer alarms)
   */
  loadBalancer?: LoadBalancerMonitoring;
  /**
   * RDS: CPU, free storage, connections.
   * @default undefined (no database alarms)
   */
  database?: DatabaseMonitoring;
  /**
   * ElastiCache Redis: memory and evictions.
   * @default undefined (no cache alarms)
   */
  cache?: CacheMonitoring;
  /**
   * One SQS task queue: age of the oldest message, dead letters (alarms `queue-…`).
   * @default undefined
   */
  queue?: QueueMonitoring;
  /**
   * More SQS task queues by role (`default`, `emails`, …): each its oldest-message
   * alarm and, with a dead-letter queue, its dead-letter alarm (`queue-<role>-…`).
   * @default {}
   * @example { emails: { queueName: emails.name, deadLetterQueueName: emailsDlq.name } }
   */
  queues?: Record<string, QueueMonitoring>;
  /** Customise the children before they are created. */
  transform?: {
    /** Applied to the dashboard. */
    dashboard?: Transform<aws.cloudwatch.DashboardArgs>;
    /** Applied to every alarm; a callback gets the alarm's logical name. */
    alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
  };
}

/** One alarm of the table below; the role names it (`<name>-<role>`). */
interface AlarmSpec {
  role: string;
  description: string;
  /** One metric (namespace, metricName, dimensions, statistic, period), or metric math (`queries`). */
  namespace?: string;
  metricName?: string;
  dimensions?: Record<string, pulumi.Input<string>>;
  statistic?: "Average" | "Maximum" | "Minimum" | "Sum";
  extendedStatistic?: string;
  period?: number;
  queries?: aws.types.input.cloudwatch.MetricAlarmMetricQuery[];
  evaluationPeriods: number;
  threshold: number;
  comparisonOperator: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold" | "LessThanThreshold";
  /** What no data means: no errors (`notBreaching`), or unknown (`missing`: the alarm says INSUFFICIENT_DATA and notifies). */
  treatMissingData: "notBreaching" | "missing";
}

/** One dashboard graph. */
interface Widget {
  title: string;
  stat: string;
  period: number;
  /** [namespace, metric, dimension name, dimension value, …, options?], or [{ expression, label, id }]. */
  metrics: pulumi.Input<string | Record<string, unknown>>[][];
}

const GIB = 1024 ** 3;

function percent(what: string, value: number): number {
  if (!(value > 0 && value <= 100)) throw new Error(`Monitoring: ${what} must be a percentage above 0 and at most 100 (got ${value})`);
  return value;
}
function positive(what: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`Monitoring: ${what} must be a number above 0 (got ${value})`);
  return value;
}
const roleName = (what: string, role: string) => {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(role)) throw new Error(`Monitoring: ${what} role "${role}" must be lower-case letters, digits and dashes (at most 31)`);
  return role;
};
const byRole = <T>(what: string, record: Record<string, T> | undefined): [string, T][] =>
  Object.entries(record ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, value]) => [roleName(what, role), value]);

/** The oldest-message and dead-letter alarms of one queue, `queue-<infix>…`. */
function queueAlarms(infix: string, what: string, q: QueueMonitoring): AlarmSpec[] {
  const alarms: AlarmSpec[] = [{
    role: `queue-${infix}oldest-message`,
    description: `Tasks wait too long in the ${what}: workers are stuck, down or too few`,
    namespace: "AWS/SQS",
    metricName: "ApproximateAgeOfOldestMessage",
    dimensions: { QueueName: q.queueName },
    statistic: "Maximum",
    period: 300,
    evaluationPeriods: 1,
    threshold: positive(`${infix ? `queues.${infix.slice(0, -1)}` : "queue"}.oldestMessageSeconds`, q.oldestMessageSeconds ?? 900),
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    treatMissingData: "notBreaching",
  }];
  if (q.deadLetterQueueName !== undefined) {
    alarms.push({
      role: `queue-${infix}dead-letters`,
      description: `Tasks failed too often and landed in the ${what}'s dead-letter queue`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: q.deadLetterQueueName },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
  }
  return alarms;
}

/** The alarms and graphs of the parts the stack has (see MonitoringArgs). */
export function monitoringPlan(args: MonitoringArgs): { alarms: AlarmSpec[]; widgets: Widget[] } {
  const alarms: AlarmSpec[] = [];
  const widgets: Widget[] = [];

  if (args.box) {
    const b = args.box;
    const dims = { InstanceId: b.instanceId };
    alarms.push(
      {
        role: "box-disk",
        description: "The box's root file system is filling up (PostgreSQL stops writing when it is full)",
        namespace: AGENT_METRICS.namespace,
        metricName: AGENT_METRICS.diskUsedPercent,
        dimensions: dims,
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: percent("box.diskUsedPercent", b.diskUsedPercent ?? 80),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "missing",
      },
      {
        role: "box-memory",
        description: "The box's memory use is high (the kernel kills processes when it runs out)",
        namespace: AGENT_METRICS.namespace,
        metricName: AGENT_METRICS.memoryUsedPercent,
        dimensions: dims,
        statistic: "Average",
        period: 300,
        evaluationPeriods: 2,
        threshold: percent("box.memoryUsedPercent", b.memoryUsedPercent ?? 90),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "missing",
      },
    );
    widgets.push(
      { title: "Box CPU %", stat: "Average", period: 60, metrics: [["AWS/EC2", "CPUUtilization", "InstanceId", b.instanceId]] },
      {
        title: "Box memory and root disk %",
        stat: "Maximum",
        period: 60,
        metrics: [
          [AGENT_METRICS.namespace, AGENT_METRICS.memoryUsedPercent, "InstanceId", b.instanceId],
          [AGENT_METRICS.namespace, AGENT_METRICS.diskUsedPercent, "InstanceId", b.instanceId],
        ],
      },
      { title: "Box status checks failed", stat: "Maximum", period: 60, metrics: [["AWS/EC2", "StatusCheckFailed", "InstanceId", b.instanceId]] },
    );
  }

  const fleets = byRole("fleets", args.fleets);
  for (const [role, f] of fleets) {
    const dims = { [AGENT_METRICS.groupDimension]: f.autoScalingGroupName };
    alarms.push(
      {
        role: `fleet-${role}-disk`,
        description: `A ${role} server's root file system is filling up (the fleet's fullest disk)`,
        namespace: AGENT_METRICS.namespace,
        metricName: AGENT_METRICS.diskUsedPercent,
        dimensions: dims,
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: percent(`fleets.${role}.diskUsedPercent`, f.diskUsedPercent ?? 80),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        // An idle color scaled to zero publishes nothing: that is not an alarm.
        treatMissingData: "notBreaching",
      },
      {
        role: `fleet-${role}-memory`,
        description: `A ${role} server's memory use is high (the fleet's highest)`,
        namespace: AGENT_METRICS.namespace,
        metricName: AGENT_METRICS.memoryUsedPercent,
        dimensions: dims,
        // The maximum over the group's servers: an average would hide the one that is swapping.
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 2,
        threshold: percent(`fleets.${role}.memoryUsedPercent`, f.memoryUsedPercent ?? 90),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      },
    );
  }
  if (fleets.length) {
    widgets.push(
      {
        title: "Fleets CPU % (average per fleet)",
        stat: "Average",
        period: 60,
        metrics: fleets.map(([, f]) => ["AWS/EC2", "CPUUtilization", AGENT_METRICS.groupDimension, f.autoScalingGroupName]),
      },
      {
        title: "Fleets memory and root disk % (fullest server)",
        stat: "Maximum",
        period: 60,
        metrics: fleets.flatMap(([, f]) => [
          [AGENT_METRICS.namespace, AGENT_METRICS.memoryUsedPercent, AGENT_METRICS.groupDimension, f.autoScalingGroupName],
          [AGENT_METRICS.namespace, AGENT_METRICS.diskUsedPercent, AGENT_METRICS.groupDimension, f.autoScalingGroupName],
        ]),
      },
    );
  }

  if (args.loadBalancer) {
    const lb = args.loadBalancer;
    const errors = positive("loadBalancer.http5xxPerFiveMinutes", lb.http5xxPerFiveMinutes ?? 10);
    for (const [role, metric, who] of [
      ["alb-target-5xx", "HTTPCode_Target_5XX_Count", "Django (the targets)"],
      ["alb-elb-5xx", "HTTPCode_ELB_5XX_Count", "the load balancer itself (no healthy target, timeouts)"],
    ] as const) {
      alarms.push({
        role,
        description: `5xx responses from ${who}`,
        namespace: "AWS/ApplicationELB",
        metricName: metric,
        dimensions: { LoadBalancer: lb.arnSuffix },
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: errors,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
    }
    alarms.push({
      role: "alb-response-time",
      description: "Slow responses: the 95th percentile of target response time is high",
      namespace: "AWS/ApplicationELB",
      metricName: "TargetResponseTime",
      dimensions: { LoadBalancer: lb.arnSuffix },
      extendedStatistic: "p95",
      period: 300,
      evaluationPeriods: 3,
      threshold: positive("loadBalancer.targetResponseP95Seconds", lb.targetResponseP95Seconds ?? 2),
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: "notBreaching",
    });
    const unhealthy = positive("loadBalancer.unhealthyHosts", lb.unhealthyHosts ?? 1);
    const targetGroups = byRole("target group", lb.targetGroups);
    for (const [role, tg] of targetGroups) {
      alarms.push({
        role: `alb-unhealthy-${role}`,
        description: `Unhealthy targets in the ${role} target group`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions: { LoadBalancer: lb.arnSuffix, TargetGroup: tg },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: 3,
        threshold: unhealthy,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
    }
    // The ALB's own 5xx (a 503 with no healthy target) never reach a target, so
    // RequestCount leaves them out: they are added to the requests as well as to the errors.
    const alb = (id: string, metricName: string) => ({
      id,
      returnData: false,
      metric: { namespace: "AWS/ApplicationELB", metricName, dimensions: { LoadBalancer: lb.arnSuffix }, stat: "Sum", period: 300 },
    });
    const rateExpression = (min: number) =>
      `IF(FILL(m3, 0) + FILL(m1, 0) >= ${min}, 100 * (FILL(m1, 0) + FILL(m2, 0)) / (FILL(m3, 0) + FILL(m1, 0)), 0)`;
    if (lb.http5xxRate) {
      const min = positive("loadBalancer.http5xxRate.minimumRequests", lb.http5xxRate.minimumRequests ?? 50);
      alarms.push({
        role: "alb-5xx-rate",
        description: "A high share of requests end in a 5xx (from Django or from the load balancer)",
        queries: [
          alb("m1", "HTTPCode_ELB_5XX_Count"),
          alb("m2", "HTTPCode_Target_5XX_Count"),
          alb("m3", "RequestCount"),
          { id: "e1", expression: rateExpression(min), label: "5xx % of requests", returnData: true },
        ],
        evaluationPeriods: 1,
        threshold: percent("loadBalancer.http5xxRate.percent", lb.http5xxRate.percent ?? 5),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
    }
    widgets.push(
      {
        title: "ALB requests and 5xx",
        stat: "Sum",
        period: 60,
        metrics: [
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb.arnSuffix],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb.arnSuffix],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb.arnSuffix],
        ],
      },
      { title: "ALB target response time p95 (s)", stat: "p95", period: 60, metrics: [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb.arnSuffix]] },
      {
        title: "ALB 5xx % of requests",
        stat: "Sum",
        period: 300,
        metrics: [
          [{ expression: rateExpression(1), label: "5xx %", id: "e1" }],
          ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb.arnSuffix, { id: "m1", visible: false }],
          ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb.arnSuffix, { id: "m2", visible: false }],
          ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb.arnSuffix, { id: "m3", visible: false }],
        ],
      },
    );
    if (targetGroups.length) {
      widgets.push({
        title: "ALB unhealthy and healthy targets per target group",
        stat: "Maximum",
        period: 60,
        metrics: targetGroups.flatMap(([role, tg]) => [
          ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", tg, { label: `${role} unhealthy` }],
          ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", lb.arnSuffix, "TargetGroup", tg, { label: `${role} healthy` }],
        ]),
      });
    }
  }

  if (args.database) {
    const db = args.database;
    const dims = { DBInstanceIdentifier: db.instanceIdentifier };
    const freeGb = positive("database.freeStorageGb", db.freeStorageGb ?? 5);
    alarms.push(
      {
        role: "db-cpu",
        description: "The database's CPU is busy",
        namespace: "AWS/RDS",
        metricName: "CPUUtilization",
        dimensions: dims,
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: percent("database.cpuPercent", db.cpuPercent ?? 80),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "missing",
      },
      {
        role: "db-free-storage",
        description: `The database has less than ${freeGb} GiB of free storage`,
        namespace: "AWS/RDS",
        metricName: "FreeStorageSpace",
        dimensions: dims,
        statistic: "Minimum",
        period: 300,
        evaluationPeriods: 1,
        threshold: freeGb * GIB,
        comparisonOperator: "LessThanThreshold",
        treatMissingData: "missing",
      },
      {
        role: "db-connections",
        description: "The database has many connections (near max_connections new ones are refused)",
        namespace: "AWS/RDS",
        metricName: "DatabaseConnections",
        dimensions: dims,
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 2,
        threshold: positive("database.connections", db.connections ?? 80),
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "missing",
      },
    );
    widgets.push(
      { title: "Database CPU %", stat: "Average", period: 60, metrics: [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db.instanceIdentifier]] },
      {
        title: "Database free storage (bytes) and connections",
        stat: "Minimum",
        period: 300,
        metrics: [
          ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db.instanceIdentifier],
          ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db.instanceIdentifier],
        ],
      },
    );
  }

  if (args.cache) {
    const c = args.cache;
    const nodes = c.nodeCount ?? 1;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 6) throw new Error(`Monitoring: cache.nodeCount must be a whole number from 1 to 6 (got ${nodes})`);
    const memory = percent("cache.memoryPercent", c.memoryPercent ?? 80);
    const evictions = positive("cache.evictionsPerFiveMinutes", c.evictionsPerFiveMinutes ?? 100);
    const nodeIds = Array.from({ length: nodes }, (_, i) => pulumi.interpolate`${c.replicationGroupId}-${String(i + 1).padStart(3, "0")}`);
    nodeIds.forEach((node, i) => {
      alarms.push(
        {
          role: `cache-memory-${i + 1}`,
          description: `Redis node ${i + 1} is running out of memory (it evicts keys next)`,
          namespace: "AWS/ElastiCache",
          metricName: "DatabaseMemoryUsagePercentage",
          dimensions: { CacheClusterId: node },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 1,
          threshold: memory,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          treatMissingData: "missing",
        },
        {
          role: `cache-evictions-${i + 1}`,
          description: `Redis node ${i + 1} evicts keys (cache misses; lost tasks if Redis is the broker)`,
          namespace: "AWS/ElastiCache",
          metricName: "Evictions",
          dimensions: { CacheClusterId: node },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: evictions,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          treatMissingData: "notBreaching",
        },
      );
    });
    widgets.push({
      title: "Redis memory %",
      stat: "Maximum",
      period: 60,
      metrics: nodeIds.map((node) => ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", node]),
    });
  }

  if (args.queue) {
    const q = args.queue;
    alarms.push({
      role: "queue-oldest-message",
      description: "Tasks wait too long in the queue: workers are stuck, down or too few",
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: q.queueName },
      statistic: "Maximum",
      period: 300,
      evaluationPeriods: 1,
      threshold: positive("queue.oldestMessageSeconds", q.oldestMessageSeconds ?? 900),
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
    });
    if (q.deadLetterQueueName !== undefined) {
      alarms.push({
        role: "queue-dead-letters",
        description: "Tasks failed too often and landed in the dead-letter queue",
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: q.deadLetterQueueName },
        statistic: "Maximum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
      });
    }
    widgets.push({
      title: "Task queue: oldest message (s) and depth",
      stat: "Maximum",
      period: 300,
      metrics: [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.queueName],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.queueName],
      ],
    });
  }

  for (const [role, q] of byRole("queues", args.queues)) {
    alarms.push(...queueAlarms(`${role}-`, `"${role}" queue`, q));
    widgets.push({
      title: `Task queue ${role}: oldest message (s), depth and dead letters`,
      stat: "Maximum",
      period: 300,
      metrics: [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.queueName],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.queueName],
        ...(q.deadLetterQueueName !== undefined ? [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.deadLetterQueueName, { label: `${role} dead letters` }]] : []),
      ],
    });
  }
  return { alarms, widgets };
}

/**
 * The stack's CloudWatch dashboard and the alarms of its parts, each
 * notifying the alert topic on alarm and on recovery (and when an agent
 * metric stops arriving). Give it the ids of what the stack has: the box,
 * the ALB and its target groups, the database, the cache, the task queue;
 * thresholds are arguments with defaults.
 */
export class Monitoring extends Component {
  /** The dashboard's name. */
  public readonly dashboardName: pulumi.Output<string>;
  /** The dashboard in the CloudWatch console. */
  public readonly dashboardUrl: pulumi.Output<string>;
  /** Every alarm's ARN, in the order of the alarm table. */
  public readonly alarmArns: pulumi.Output<string[]>;
  /** The raw children: the dashboard, and the alarms by role (`box-disk`, `fleet-blue-memory`, …). */
  public readonly nodes: { dashboard: aws.cloudwatch.Dashboard; alarms: Record<string, aws.cloudwatch.MetricAlarm> };

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Monitoring", name, opts);
    const { alarms: specs, widgets } = monitoringPlan(args);
    const region = aws.getRegionOutput({}, { parent: this }).region;

    const alarms: Record<string, aws.cloudwatch.MetricAlarm> = {};
    for (const a of specs) {
      alarms[a.role] = this.child(aws.cloudwatch.MetricAlarm, a.role, {
        alarmDescription: a.description,
        ...(a.queries
          ? { metricQueries: a.queries }
          : {
            namespace: a.namespace,
            metricName: a.metricName,
            dimensions: a.dimensions,
            ...(a.extendedStatistic ? { extendedStatistic: a.extendedStatistic } : { statistic: a.statistic }),
            period: a.period,
          }),
        evaluationPeriods: a.evaluationPeriods,
        threshold: a.threshold,
        comparisonOperator: a.comparisonOperator,
        treatMissingData: a.treatMissingData,
        actionsEnabled: true,
        alarmActions: [args.alertTopicArn],
        okActions: [args.alertTopicArn],
        // A metric that stops arriving (a dead agent, a deleted resource) is news too.
        ...(a.treatMissingData === "missing" ? { insufficientDataActions: [args.alertTopicArn] } : {}),
        tags: stackTags(),
      }, args.transform?.alarm);
    }

    const dashboardName = args.dashboardName ?? `django-tiers-${pulumi.getProject()}-${pulumi.getStack()}`.replace(/[^A-Za-z0-9_-]/g, "-");
    const alarmArns = pulumi.all(Object.values(alarms).map((a) => a.arn));
    const body = pulumi
      .all([region, alarmArns, pulumi.all(widgets.map((w) => pulumi.all(w.metrics.map((m) => pulumi.all(m)))))])
      .apply(([regionName, arns, metrics]) =>
        JSON.stringify({
          widgets: [
            ...(arns.length
              ? [{ type: "alarm", x: 0, y: 0, width: 24, height: 4, properties: { title: "Alarms", alarms: [...arns].sort() } }]
              : []),
            ...widgets.map((w, i) => ({
              type: "metric",
              x: (i % 2) * 12,
              y: 4 + Math.floor(i / 2) * 6,
              width: 12,
              height: 6,
              properties: { title: w.title, region: regionName, view: "timeSeries", stat: w.stat, period: w.period, metrics: metrics[i] },
            })),
          ],
        }),
      );
    const dashboard = this.child(aws.cloudwatch.Dashboard, "dashboard", { dashboardName, dashboardBody: body }, args.transform?.dashboard);

    this.dashboardName = dashboard.dashboardName;
    this.dashboardUrl = pulumi.interpolate`https://console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${dashboard.dashboardName}`;
    this.alarmArns = alarmArns;
    this.nodes = { dashboard, alarms };
    this.registerOutputs({ dashboardName: this.dashboardName, dashboardUrl: this.dashboardUrl, alarmArns: this.alarmArns });
  }
}
