import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BoxSpec, SqsBrokerSpec } from "../server/types";
import { Component, Transform, stackTags } from "./component";
import { Fleet, FleetArgs, validateFleetArgs } from "./fleet";
import type { ServerAccess } from "./instance-role";

/** What the caller says about the worker servers; TaskQueue fills in the rest (role, runner, queues, broker, beat). */
export type WorkerSpec = Omit<BoxSpec, "configParameter" | "role" | "taskWorker" | "longestTaskSeconds" | "broker" | "queues" | "beat" | "color">;

/** SQS's ceiling on a visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43200;

/** How long a task message waits in its queue before SQS drops it (4 days: a long weekend of stopped workers). */
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;

/** How long a dead letter is kept for inspection and redrive (14 days, SQS's maximum). */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/** Receives before a message is a poison message and moves to the dead-letter queue. */
export const MAX_RECEIVES = 5;

const QUEUE_NAME = /^[a-z0-9_-]{1,40}$/;
/** SQS queue names: letters, digits, hyphens and underscores, at most 80 characters. */
const SQS_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/**
 * The queues' visibility timeout: half again the longest task, and at least
 * a minute more, within SQS's 12 hours. A message still being worked on
 * must not become visible to another worker (the task would run twice).
 */
export function visibilityTimeoutSeconds(longestTaskSeconds: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(Math.ceil(longestTaskSeconds * 1.5), longestTaskSeconds + 60));
}

/** The SQS queue name of a Celery queue: `<project>-<stack>-<queue>`, unique in the account and region. */
export function sqsQueueName(queue: string, suffix = ""): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "-");
  return `${safe(pulumi.getProject())}-${safe(pulumi.getStack())}-${queue}${suffix}`;
}

export interface TaskQueueArgs {
  /** The task runner on the worker servers. */
  runner: "celery" | "rq";
  /**
   * Where tasks wait. `sqs`: encrypted SQS queues with dead-letter queues,
   * reached through the instance role (Celery only; about $0.40 per million
   * requests, and idle long polling costs about 3 requests a minute per
   * worker). `redis`: the stack's cache (ElastiCache), which the spec names.
   */
  broker: "sqs" | "redis";
  /**
   * Queue names the workers consume (Celery's `task_routes` targets, or RQ
   * queues), each `[a-z0-9_-]{1,40}`. With SQS each becomes an SQS queue
   * named `<project>-<stack>-<queue>` and its dead-letter queue. Caution:
   * removing one deletes its queue and any task waiting in it.
   * @default ["celery"] with celery, ["default"] with rq
   */
  queues?: string[];
  /**
   * The longest a task may run, in seconds: the workers' stop timeout
   * (`stopwaitsecs`), the drain time of a worker being scaled in, and the
   * base of the SQS visibility timeout. With SQS at most 43140 (the
   * visibility timeout, at most 12 hours, must outlast it).
   * @example 300
   */
  longestTaskSeconds: number;
  /** KMS key that encrypts the queues (the stack key). */
  kmsKeyArn: pulumi.Input<string>;
  vpcId: pulumi.Input<string>;
  /** Private subnets in at least two availability zones. */
  subnetIds: pulumi.Input<string>[];
  /**
   * Worker instance type; must match `architecture`.
   * @default "t4g.small"
   */
  instanceType?: string;
  /**
   * The scheduler's instance type (one instance, always on, running only
   * Celery beat).
   * @default instanceType
   */
  schedulerInstanceType?: string;
  /** @default "arm64" */
  architecture?: "arm64" | "x86_64";
  /** @default 20 */
  rootVolumeGb?: number;
  /** Fewest workers (0 lets tasks wait until one starts). */
  minSize: number;
  /** Most workers. Cost: each is billed while it runs. */
  maxSize: number;
  /**
   * Scale the workers to keep their average CPU at this percentage.
   * @default no scaling policy (the workers stay at minSize)
   */
  scaling?: { targetCpuPercent: number };
  /**
   * What runs on the workers, without the parts TaskQueue fills in: role
   * `worker`, the runner, the longest task, the queues, the broker and
   * whether beat runs.
   */
  spec: pulumi.Input<WorkerSpec>;
  /**
   * Release version per app that the workers run (the bundle their spec's
   * release pointers name). A change is a new launch template version, so
   * the workers are replaced, draining, with the new code; without it they
   * keep the release they booted with.
   * @example { mysite: "3f2a9c1b7d0e" }
   */
  releases?: Record<string, string>;
  /** The image the workers and the scheduler boot (see `FleetArgs.image`). @default the newest Debian 12 when created, kept after */
  image?: FleetArgs["image"];
  /** The secrets' rotation label: a new one replaces every worker (see `FleetArgs.secretsRotation`). @default none */
  secretsRotation?: string;
  /** What identifies the apps' own secrets' values: a change replaces every worker (see `FleetArgs.appSecretsGeneration`). @default none */
  appSecretsGeneration?: pulumi.Input<string>;
  /** What the workers' first boot needs (the NAT route; see `FleetArgs.waitFor`). @default [] */
  waitFor?: FleetArgs["waitFor"];
  /** Where the workers read and write (the queues are added). */
  access: Omit<ServerAccess, "queueArns">;
  /** More security groups the workers wear (the client group the database and cache admit). */
  extraSecurityGroupIds?: pulumi.Input<string>[];
  /** SNS topic of the alarms: queue backlog, dead letters, the fleets' own. */
  alertTopicArn: pulumi.Input<string>;
  /**
   * Alarm when a queue's oldest message is older than this many seconds.
   * @default the larger of 900 and longestTaskSeconds + 600 (a task in flight keeps its message)
   */
  oldestMessageAlarmSeconds?: number;
  /** @default 30 */
  logRetentionDays?: number;
  transform?: {
    queue?: Transform<aws.sqs.QueueArgs>;
    deadLetterQueue?: Transform<aws.sqs.QueueArgs>;
    workers?: FleetArgs["transform"];
    scheduler?: FleetArgs["transform"];
  };
}

function validate(name: string, args: TaskQueueArgs, queues: string[]): void {
  const fail = (message: string): never => {
    throw new Error(`TaskQueue ${name}: ${message}`);
  };
  if (args.runner !== "celery" && args.runner !== "rq") fail(`runner must be "celery" or "rq" (got ${JSON.stringify(args.runner)})`);
  if (args.broker !== "sqs" && args.broker !== "redis") fail(`broker must be "sqs" or "redis" (got ${JSON.stringify(args.broker)})`);
  if (args.broker === "sqs" && args.runner !== "celery")
    fail(`broker "sqs" works only with runner "celery" (RQ needs Redis); use broker "redis" with runner "${args.runner}"`);
  if (!queues.length) fail("queues must name at least one queue");
  for (const q of queues) if (!QUEUE_NAME.test(q)) fail(`queues: ${JSON.stringify(q)} must match ${QUEUE_NAME.source}`);
  const twice = queues.filter((q, i) => queues.indexOf(q) !== i);
  if (twice.length) fail(`queues: ${twice.map((q) => JSON.stringify(q)).join(", ")} named twice`);
  const longest = args.longestTaskSeconds;
  const max = args.broker === "sqs" ? MAX_VISIBILITY_SECONDS - 60 : 7 * 24 * 3600;
  if (!Number.isInteger(longest) || longest < 1 || longest > max)
    fail(`longestTaskSeconds must be a whole number from 1 to ${max}${args.broker === "sqs" ? " with SQS (the visibility timeout, at most 12 h, must outlast it)" : ""} (got ${longest})`);
  if (args.broker === "sqs")
    for (const q of queues) {
      const dlq = sqsQueueName(q, "-dlq");
      if (!SQS_NAME.test(dlq)) fail(`queues: the SQS name ${JSON.stringify(dlq)} of ${JSON.stringify(q)} exceeds 80 characters; shorten the queue name`);
    }
  const alarm = args.oldestMessageAlarmSeconds;
  if (alarm !== undefined && !(Number.isInteger(alarm) && alarm >= 60)) fail(`oldestMessageAlarmSeconds must be a whole number ≥ 60 (got ${alarm})`);
}

/**
 * The task-queue add-on of the load-balanced tier: task workers in an
 * autoscaling group, and with Celery the one scheduler (beat). With SQS,
 * one encrypted queue per Celery queue, each redriving poison messages to
 * its own dead-letter queue after 5 receives, with a visibility timeout that
 * outlasts the longest task; the workers' role reaches exactly these queues.
 * Workers drain on scale-in: a termination hook holds each one until its
 * running tasks have finished.
 *
 * Exactly one Celery beat runs in the stack, on a fleet of one instance
 * that is replaced terminate-first: two beats would each send every
 * periodic task, so every periodic task would run twice. A gap of a few
 * minutes during a replacement only delays periodic tasks.
 */
export class TaskQueue extends Component {
  /** Queue name → SQS queue URL (empty with the Redis broker). */
  public readonly queueUrls: pulumi.Output<Record<string, string>>;
  /** The SQS queues' ARNs, in the order of `queues` (give them to the app fleets, which send tasks). */
  public readonly queueArns: pulumi.Output<string>[];
  public readonly deadLetterQueueArns: pulumi.Output<string>[];
  public readonly workerSecurityGroupId: pulumi.Output<string>;
  public readonly workers: Fleet;
  /** The Celery beat fleet (one instance); none with RQ. */
  public readonly scheduler?: Fleet;
  public readonly nodes: {
    queues: Record<string, aws.sqs.Queue>;
    deadLetterQueues: Record<string, aws.sqs.Queue>;
    alarms: aws.cloudwatch.MetricAlarm[];
    workers: Fleet;
    scheduler?: Fleet;
  };

  constructor(name: string, args: TaskQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super("TaskQueue", name, opts);
    const queueNames = args.queues ?? [args.runner === "celery" ? "celery" : "default"];
    validate(name, args, queueNames);
    const longest = args.longestTaskSeconds;
    const visibility = visibilityTimeoutSeconds(longest);
    const shared = {
      vpcId: args.vpcId,
      subnetIds: args.subnetIds,
      architecture: args.architecture,
      rootVolumeGb: args.rootVolumeGb,
      extraSecurityGroupIds: args.extraSecurityGroupIds,
      alertTopicArn: args.alertTopicArn,
      logRetentionDays: args.logRetentionDays,
      image: args.image,
      waitFor: args.waitFor,
      secretsRotation: args.secretsRotation,
      appSecretsGeneration: args.appSecretsGeneration,
    };
    const workerArgs = {
      ...shared,
      role: "worker" as const,
      label: "worker",
      instanceType: args.instanceType,
      minSize: args.minSize,
      maxSize: args.maxSize,
      scaling: args.scaling,
      // Scale-in waits for running tasks (the server stops its programs, then completes the hook).
      drainSeconds: longest,
      transform: args.transform?.workers,
    };
    const schedulerArgs = {
      ...shared,
      role: "worker" as const,
      label: "scheduler",
      instanceType: args.schedulerInstanceType ?? args.instanceType,
      minSize: 1,
      maxSize: 1,
      replacement: "terminate-before-launch" as const,
      transform: args.transform?.scheduler,
    };
    // The fleets' own checks, before a queue is declared.
    validateFleetArgs(this.childName("worker"), { ...workerArgs, access: args.access });
    if (args.runner === "celery") validateFleetArgs(this.childName("scheduler"), { ...schedulerArgs, access: args.access });

    const queues: Record<string, aws.sqs.Queue> = {};
    const deadLetterQueues: Record<string, aws.sqs.Queue> = {};
    const urls: Record<string, pulumi.Output<string>> = {};
    const alarms: aws.cloudwatch.MetricAlarm[] = [];
    if (args.broker === "sqs") {
      const partition = aws.getPartitionOutput({}, { parent: this });
      const region = aws.getRegionOutput({}, { parent: this }).region;
      const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
      const oldestAlarm = args.oldestMessageAlarmSeconds ?? Math.max(900, longest + 600);
      for (const q of queueNames) {
        const queueName = sqsQueueName(q);
        // The source's ARN from its name: the source's redrive policy names the DLQ, so the DLQ cannot wait for it.
        const sourceArn = pulumi.interpolate`arn:${partition.partition}:sqs:${region}:${account}:${queueName}`;
        const dlq = this.child(aws.sqs.Queue, `dlq-${q}`, {
          name: sqsQueueName(q, "-dlq"),
          kmsMasterKeyId: args.kmsKeyArn,
          // Cost: a longer reuse period means fewer KMS calls (KMS bills per 10,000 requests).
          kmsDataKeyReusePeriodSeconds: 3600,
          messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
          redriveAllowPolicy: sourceArn.apply((arn) => JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [arn] })),
          tags: stackTags({ "django-tiers:queue": q, "django-tiers:role": "dead-letters" }),
        }, args.transform?.deadLetterQueue);
        const queue = this.child(aws.sqs.Queue, `queue-${q}`, {
          name: queueName,
          kmsMasterKeyId: args.kmsKeyArn,
          kmsDataKeyReusePeriodSeconds: 3600,
          visibilityTimeoutSeconds: visibility,
          messageRetentionSeconds: QUEUE_RETENTION_SECONDS,
          // Long polling: an idle worker asks every 20 s instead of constantly (fewer billed requests).
          receiveWaitTimeSeconds: 20,
          redrivePolicy: dlq.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES })),
          tags: stackTags({ "django-tiers:queue": q }),
        }, args.transform?.queue);
        queues[q] = queue;
        deadLetterQueues[q] = dlq;
        urls[q] = queue.url;
        alarms.push(
          this.child(aws.cloudwatch.MetricAlarm, `oldest-${q}`, {
            alarmDescription: `Tasks wait too long in the ${q} queue: workers are stuck, down or too few`,
            namespace: "AWS/SQS",
            metricName: "ApproximateAgeOfOldestMessage",
            dimensions: { QueueName: queue.name },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: oldestAlarm,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
            alarmActions: [args.alertTopicArn],
            okActions: [args.alertTopicArn],
            tags: stackTags(),
          }),
          this.child(aws.cloudwatch.MetricAlarm, `dead-letters-${q}`, {
            alarmDescription: `Tasks of the ${q} queue failed ${MAX_RECEIVES} times and landed in its dead-letter queue`,
            namespace: "AWS/SQS",
            metricName: "ApproximateNumberOfMessagesVisible",
            dimensions: { QueueName: dlq.name },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            treatMissingData: "notBreaching",
            alarmActions: [args.alertTopicArn],
            okActions: [args.alertTopicArn],
            tags: stackTags(),
          }),
        );
      }
    }
    const queueArns = queueNames.filter((q) => queues[q]).map((q) => queues[q].arn);
    const broker: pulumi.Output<SqsBrokerSpec | undefined> =
      args.broker === "sqs"
        ? pulumi.all(urls).apply((u) => ({ kind: "sqs" as const, queues: u, visibilityTimeoutSeconds: visibility }))
        : pulumi.output(undefined);

    const workerSpec = (beat: boolean, consumes: string[]): pulumi.Output<Omit<BoxSpec, "configParameter">> =>
      pulumi.all([pulumi.output(args.spec), broker]).apply(([sp, b]) => ({
        ...(sp as WorkerSpec),
        role: "worker" as const,
        taskWorker: args.runner,
        longestTaskSeconds: longest,
        queues: consumes,
        beat,
        ...(b ? { broker: b } : {}),
      }));
    const access = { ...args.access, queueArns };
    const releases = args.releases ? { releases: args.releases } : {};
    const workers = new Fleet(this.childName("worker"), { ...workerArgs, ...releases, access, spec: workerSpec(false, queueNames) }, { parent: this });
    // Beat only: it sends periodic tasks to the queues and consumes none.
    const scheduler = args.runner === "celery"
      ? new Fleet(this.childName("scheduler"), { ...schedulerArgs, ...releases, access, spec: workerSpec(true, []) }, { parent: this })
      : undefined;

    this.queueUrls = pulumi.all(urls);
    this.queueArns = queueArns;
    this.deadLetterQueueArns = queueNames.filter((q) => deadLetterQueues[q]).map((q) => deadLetterQueues[q].arn);
    this.workerSecurityGroupId = workers.securityGroupId;
    this.workers = workers;
    this.scheduler = scheduler;
    this.nodes = { queues, deadLetterQueues, alarms, workers, scheduler };
    this.registerOutputs({ queueUrls: this.queueUrls, workerSecurityGroupId: this.workerSecurityGroupId });
  }
}
