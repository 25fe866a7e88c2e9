/**
 * CloudWatch: log groups and the alarms every component that can fail
 * quietly must have.
 */
import { eachResource, finding, notApplicable, ofType, refersTo, resolve } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, Finding, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings } from "../values";
import { applicationLoadBalancers } from "./alb";
import { deadLetterQueues } from "./sqs";

const NO_LOG_GROUPS = "no CloudWatch log group in this plan";

/** Every log group expires its events. Refs: CKV_AWS_66, CKV_AWS_338, KICS ef0b316a-211e-42f1-888e-64efe172b755. */
export const logsRetention: Check = {
  id: "logs-retention",
  title: "Every log group sets a retention period",
  refs: ["CKV_AWS_66", "CKV_AWS_338", "KICS ef0b316a-211e-42f1-888e-64efe172b755"],
  description: "Log groups keep data forever by default: the cost grows without bound and personal data is never purged.",
  run(plan) {
    const groups = ofType(plan, T.logGroup);
    if (!groups.length) return notApplicable(NO_LOG_GROUPS);
    return eachResource(groups, (g) => [!((asNumber(g.inputs.retentionInDays) ?? 0) > 0) && "retentionInDays is not set"]);
  },
};

/** Log groups encrypted with a customer-managed key (optional in CHECKS.md). Refs: CKV_AWS_158, AVD-AWS-0017. */
export const logsKms: Check = {
  id: "logs-kms",
  title: "Log groups are encrypted with a KMS key",
  refs: ["CKV_AWS_158", "AVD-AWS-0017"],
  description: "Logs can hold request data; a CMK puts their decryption under a key policy.",
  optional: true,
  run(plan) {
    const groups = ofType(plan, T.logGroup);
    if (!groups.length) return notApplicable(NO_LOG_GROUPS);
    return eachResource(groups, (g) => [!g.inputs.kmsKeyId && "kmsKeyId is not set"]);
  },
};

interface AlarmMetric {
  alarm: PlannedResource;
  namespace?: string;
  metricName?: string;
  dimensionValues: string[];
}

/** The metrics an alarm watches: its own, or those of its metric-math queries. */
function alarmMetrics(alarm: PlannedResource): AlarmMetric[] {
  const dims = (d: unknown) => Object.values(asRecord(d) ?? {}).flatMap(asStrings);
  const own: AlarmMetric = {
    alarm,
    namespace: asString(alarm.inputs.namespace),
    metricName: asString(alarm.inputs.metricName),
    dimensionValues: dims(alarm.inputs.dimensions),
  };
  const queries = asArray(alarm.inputs.metricQueries).map((q): AlarmMetric => {
    const m = asRecord(asRecord(q)?.metric) ?? {};
    return { alarm, namespace: asString(m.namespace), metricName: asString(m.metricName), dimensionValues: dims(m.dimensions) };
  });
  return [own, ...queries].filter((m) => m.metricName);
}

/** A dimension value names `r`: an id/ARN reference, its physical or logical name, or an ARN suffix (`app/<name>/…`). */
const dimensionNames = (value: string, r: PlannedResource) =>
  refersTo(value, r) || value === r.name || value.includes(`/${r.name}/`) || value.endsWith(`/${r.name}`);

interface Requirement {
  what: string;
  namespace: string;
  /** Any one of these metrics satisfies the requirement. */
  metrics: string[];
  resources: (plan: PlanUnderTest) => PlannedResource[];
}

/** The alarms CHECKS.md requires, per kind of resource in the plan. */
export const REQUIRED_ALARMS: Requirement[] = [
  { what: "5xx responses", namespace: "AWS/ApplicationELB", metrics: ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"], resources: applicationLoadBalancers },
  { what: "unhealthy targets", namespace: "AWS/ApplicationELB", metrics: ["UnHealthyHostCount"], resources: applicationLoadBalancers },
  { what: "free storage", namespace: "AWS/RDS", metrics: ["FreeStorageSpace"], resources: (p) => ofType(p, T.rdsInstance) },
  { what: "CPU", namespace: "AWS/RDS", metrics: ["CPUUtilization"], resources: (p) => ofType(p, T.rdsInstance) },
  { what: "memory", namespace: "AWS/ElastiCache", metrics: ["DatabaseMemoryUsagePercentage"], resources: (p) => ofType(p, T.replicationGroup) },
  {
    what: "oldest message age",
    namespace: "AWS/SQS",
    metrics: ["ApproximateAgeOfOldestMessage"],
    resources: (p) => ofType(p, T.queue).filter((q) => !deadLetterQueues(p).includes(q)),
  },
];

/**
 * The alarms that catch a failing component: ALB 5xx and unhealthy hosts,
 * RDS free storage and CPU, Redis memory, SQS oldest-message age. An alarm
 * covers a resource when one of its dimensions names it (or when it is the
 * only resource of its kind). Refs: CKV_AWS_319, WA REL11-BP01, WA REL11-BP06.
 */
export const alarmsCoverComponents: Check = {
  id: "alarms-cover-components",
  title: "Alarms watch ALB 5xx/unhealthy hosts, RDS storage/CPU, Redis memory and SQS backlog",
  refs: ["CKV_AWS_319", "WA REL11-BP01", "WA REL11-BP06"],
  description: "Without these alarms a full disk, a dead fleet or a stuck queue is found by users first.",
  run(plan) {
    const watched = REQUIRED_ALARMS.filter((req) => req.resources(plan).length > 0);
    if (!watched.length) return notApplicable("no ALB, RDS instance, Redis replication group or SQS queue in this plan");
    const metrics = ofType(plan, T.metricAlarm).flatMap(alarmMetrics);
    return watched.flatMap((req): Finding[] => {
      const resources = req.resources(plan);
      const candidates = metrics.filter((m) => m.namespace === req.namespace && req.metrics.includes(m.metricName!));
      return resources
        .filter(
          (r) =>
            !candidates.some(
              (m) =>
                m.dimensionValues.some((v) => dimensionNames(v, r)) ||
                (resources.length === 1 && !m.dimensionValues.some((v) => resources.some((o) => o !== r && dimensionNames(v, o)))),
            ),
        )
        .map((r) => finding(r, `no alarm on ${req.namespace} ${req.metrics.join(" or ")} (${req.what})`));
    });
  },
};

/**
 * Every alarm is enabled and notifies an SNS topic. Refs: CKV_AWS_319.
 */
export const alarmsNotify: Check = {
  id: "alarms-notify",
  title: "Alarms are enabled and notify an SNS topic",
  refs: ["CKV_AWS_319"],
  description: "An alarm without an action changes colour in a console nobody watches.",
  run(plan) {
    const alarms = ofType(plan, T.metricAlarm);
    if (!alarms.length) return notApplicable("no CloudWatch alarm in this plan");
    const isTopic = (arn: string) => !!resolve(plan, arn, T.snsTopic) || /^arn:aws[a-z-]*:sns:/.test(arn);
    return eachResource(alarms, (a) => [
      asBool(a.inputs.actionsEnabled) === false && "actionsEnabled is false",
      !asStrings(a.inputs.alarmActions).some(isTopic) && "alarmActions names no SNS topic",
    ]);
  },
};

export const CLOUDWATCH_CHECKS: Check[] = [logsRetention, logsKms, alarmsCoverComponents, alarmsNotify];
