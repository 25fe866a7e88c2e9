/**
 * TaskQueue: SQS queues and dead-letter queues, the worker fleet and the one
 * Celery beat, captured under the mock engine and asserted after
 * `engine.finish()`; then every policy check that applies, over them.
 */
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { json, named, ofType } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

import { QUEUE_ACTIONS } from "../../components/instance-role";
import { TaskQueue, TaskQueueArgs, WorkerSpec, visibilityTimeoutSeconds } from "../../components/task-queue";
import { CHECK_GROUPS, runChecks } from "../../policies";
import { sqsDeadLetterQueue, sqsEncryption, sqsPolicyNoWildcards, sqsVisibilityTimeout, sqsWorkerRoleScoped } from "../../policies/checks/sqs";
import type { RenderedFile } from "../../server/types";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";
import { serverSpec } from "./fleet-fixtures";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts";
const ARN = (name: string) => `arn:aws:sqs:us-east-1:123456789012:${name}`;

// The fleet tests' worker spec, without what TaskQueue fills in itself.
const { role: _role, taskWorker: _runner, longestTaskSeconds: _longest, queues: _queues, beat: _beat, ...workerSpec } = serverSpec("worker");
const spec: WorkerSpec = workerSpec;

const args = (over: Partial<TaskQueueArgs> = {}): TaskQueueArgs => ({
  runner: "celery",
  broker: "sqs",
  queues: ["celery", "emails"],
  longestTaskSeconds: 600,
  kmsKeyArn: KEY,
  vpcId: "vpc-1",
  subnetIds: ["subnet-private-a", "subnet-private-b"],
  minSize: 1,
  maxSize: 4,
  spec,
  access: {
    artifactsBucket: "artifacts",
    artifactsBucketArn: "arn:aws:s3:::artifacts",
    secretArns: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite"],
    parameterArns: ["arn:aws:ssm:us-east-1:123456789012:parameter/django-tiers/django-tiers/prod/mysite/release"],
    kmsKeyArn: KEY,
  },
  extraSecurityGroupIds: ["sg-clients"],
  alertTopicArn: TOPIC,
  ...over,
});

let sqs: TaskQueue;
let rq: TaskQueue;
const files: Record<string, RenderedFile[]> = {};
let urls: Record<string, string>;

beforeAll(async () => {
  sqs = new TaskQueue("tq", args());
  rq = new TaskQueue("rq", args({ runner: "rq", broker: "redis", queues: undefined, longestTaskSeconds: 120 }));
  await engine.finish();
  files.worker = await unwrap(sqs.workers.files);
  files.scheduler = await unwrap(sqs.scheduler!.files);
  files.rqWorker = await unwrap(rq.workers.files);
  urls = await unwrap(sqs.queueUrls);
});

const queues = () => ofType(engine.resources, "aws:sqs/queue:Queue");
const supervisorPrograms = (fs: RenderedFile[]) =>
  fs.filter((f) => f.path.startsWith("/etc/supervisor/conf.d/")).flatMap((f) => [...f.content.matchAll(/^\[program:([^\]]+)\]/gm)].map((m) => m[1]));

describe("SQS queues", () => {
  it("makes one encrypted, long-polled queue per Celery queue, named <project>-<stack>-<queue>", () => {
    for (const q of ["celery", "emails"]) {
      expect(named(engine.resources, `tq-queue-${q}`).inputs).toMatchObject({
        name: `django-tiers-prod-${q}`,
        kmsMasterKeyId: KEY,
        kmsDataKeyReusePeriodSeconds: 3600,
        visibilityTimeoutSeconds: 900,
        messageRetentionSeconds: 345600,
        receiveWaitTimeSeconds: 20,
      });
      expect(json(named(engine.resources, `tq-queue-${q}`).inputs.redrivePolicy)).toEqual({ deadLetterTargetArn: ARN(`django-tiers-prod-${q}-dlq`), maxReceiveCount: 5 });
    }
    expect(queues().map((q) => q.name).sort()).toEqual(["tq-dlq-celery", "tq-dlq-emails", "tq-queue-celery", "tq-queue-emails"]);
  });

  it("keeps dead letters 14 days, encrypted, redriven only from their own queue", () => {
    const dlq = named(engine.resources, "tq-dlq-emails");
    expect(dlq.inputs).toMatchObject({ name: "django-tiers-prod-emails-dlq", kmsMasterKeyId: KEY, messageRetentionSeconds: 1209600 });
    expect(json(dlq.inputs.redriveAllowPolicy)).toEqual({ redrivePermission: "byQueue", sourceQueueArns: [ARN("django-tiers-prod-emails")] });
  });

  it("sets the visibility timeout to 1.5 × the longest task, at least a minute more, at most 12 hours", () => {
    expect(visibilityTimeoutSeconds(600)).toBe(900);
    expect(visibilityTimeoutSeconds(30)).toBe(90);
    expect(visibilityTimeoutSeconds(119)).toBe(179);
    expect(visibilityTimeoutSeconds(121)).toBe(182);
    expect(visibilityTimeoutSeconds(40000)).toBe(43200);
    for (const t of [1, 59, 60, 200, 1000, 28800, 43140]) expect(visibilityTimeoutSeconds(t)).toBeGreaterThanOrEqual(t + 60);
  });

  it("exposes the queue URLs and ARNs, and gives the URLs to the servers as kombu's predefined queues", async () => {
    expect(urls).toEqual({
      celery: "https://sqs.us-east-1.amazonaws.com/123456789012/django-tiers-prod-celery",
      emails: "https://sqs.us-east-1.amazonaws.com/123456789012/django-tiers-prod-emails",
    });
    expect(await unwrap(sqs.queueArns[1])).toBe(ARN("django-tiers-prod-emails"));
    expect(await unwrap(sqs.deadLetterQueueArns[0])).toBe(ARN("django-tiers-prod-celery-dlq"));
    const env = files.worker.map((f) => f.content).join("\n");
    expect(env).toContain(urls.emails);
  });

  it("alarms on a stuck queue and on any dead letter", () => {
    expect(named(engine.resources, "tq-oldest-celery").inputs).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: "django-tiers-prod-celery" },
      threshold: 1200,
      alarmActions: [TOPIC],
    });
    expect(named(engine.resources, "tq-dead-letters-emails").inputs).toMatchObject({
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "django-tiers-prod-emails-dlq" },
      threshold: 1,
    });
  });
});

describe("workers and scheduler", () => {
  it("scopes the workers' and the scheduler's SQS access to exactly the stack's queues", () => {
    for (const role of ["tq-worker-access", "tq-scheduler-access"]) {
      const statements = json(named(engine.resources, role).inputs.policy).Statement;
      const sqsStatements = statements.filter((s: any) => s.Action.some((a: string) => a.startsWith("sqs:")));
      expect(sqsStatements).toEqual([{ Sid: "TaskQueues", Effect: "Allow", Action: [...QUEUE_ACTIONS], Resource: [ARN("django-tiers-prod-celery"), ARN("django-tiers-prod-emails")] }]);
    }
    expect(json(named(engine.resources, "tq-worker-access").inputs.policy).Statement.find((s: any) => s.Sid === "DrainBeforeTermination").Resource).toEqual([
      "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/django-tiers-django-tiers-prod-tq-worker",
    ]);
  });

  it("drains workers for the longest task on scale-in", () => {
    expect(named(engine.resources, "tq-worker-drain").inputs).toMatchObject({ heartbeatTimeout: 660, defaultResult: "CONTINUE" });
    expect(named(engine.resources, "tq-worker-asg").inputs).toMatchObject({ minSize: 1, maxSize: 4, healthCheckType: "EC2" });
    expect(engine.resources.some((r) => r.name === "tq-scheduler-drain")).toBe(false);
  });

  it("runs exactly one Celery beat in the stack: a fleet of one, replaced terminate-first", () => {
    expect(named(engine.resources, "tq-scheduler-asg").inputs).toMatchObject({
      minSize: 1,
      maxSize: 1,
      desiredCapacity: 1,
      instanceRefresh: { preferences: { minHealthyPercentage: 0, maxHealthyPercentage: 100 } },
      instanceMaintenancePolicy: { minHealthyPercentage: 0, maxHealthyPercentage: 100 },
    });
    const beats = (fs: RenderedFile[]) => supervisorPrograms(fs).filter((p) => p.endsWith("-beat"));
    expect(beats(files.scheduler)).toEqual(["mysite-beat"]);
    expect(beats(files.worker)).toEqual([]);
    expect(supervisorPrograms(files.scheduler).filter((p) => p.endsWith("-worker"))).toEqual([]);
    expect(supervisorPrograms(files.worker).filter((p) => p.endsWith("-worker"))).toEqual(["mysite-worker"]);
  });

  it("tags the scheduler's and the workers' groups as worker groups", () => {
    for (const sg of ["tq-worker-sg", "tq-scheduler-sg"]) expect(named(engine.resources, sg).inputs.tags).toMatchObject({ "django-tiers:role": "worker" });
  });
});

describe("RQ on Redis", () => {
  it("creates no queue and no scheduler; the workers reach no SQS", () => {
    expect(queues().filter((q) => q.name.startsWith("rq-"))).toEqual([]);
    expect(rq.scheduler).toBeUndefined();
    expect(engine.resources.filter((r) => r.name.startsWith("rq-scheduler"))).toEqual([]);
    const statements = json(named(engine.resources, "rq-worker-access").inputs.policy).Statement;
    expect(statements.filter((s: any) => s.Action.some((a: string) => a.startsWith("sqs:")))).toEqual([]);
    expect(named(engine.resources, "rq-worker-drain").inputs.heartbeatTimeout).toBe(180);
  });

  it("runs rq workers on the default queue", () => {
    expect(supervisorPrograms(files.rqWorker)).toContain("mysite-worker");
    const supervisor = files.rqWorker.find((f) => f.path === "/etc/supervisor/conf.d/mysite.conf")!.content;
    expect(supervisor).toMatch(/rq\.cli worker .* default/);
  });
});

describe("policy checks", () => {
  const plan = () => ({
    tier: "load-balanced",
    environment: "prod" as const,
    resources: engine.resources,
    serverFiles: { worker: files.worker, scheduler: files.scheduler, "rq-worker": files.rqWorker },
    relaxations: [],
  });

  it("passes every SQS check", () => {
    for (const check of [sqsEncryption, sqsPolicyNoWildcards, sqsDeadLetterQueue, sqsVisibilityTimeout, sqsWorkerRoleScoped])
      expect([check.id, check.run(plan())]).toEqual([check.id, []]);
  });

  it("the visibility check reads the rendered workers' stop timeout, and fails a queue that does not outlast it", () => {
    const p = plan();
    const shortQueue = { ...named(p.resources, "tq-queue-celery") };
    shortQueue.inputs = { ...shortQueue.inputs, visibilityTimeoutSeconds: 610 };
    const out = sqsVisibilityTimeout.run({ ...p, resources: p.resources.map((r) => (r.name === "tq-queue-celery" ? shortQueue : r)) });
    expect(out).toEqual([expect.objectContaining({ message: expect.stringMatching(/visibilityTimeoutSeconds 610 is not longer than the longest task \(610 s worker stopwaitsecs\)/) })]);
  });

  it("passes every other resource check that applies", () => {
    const results = runChecks(plan(), CHECK_GROUPS.filter((g) => g.group !== "Server files").flatMap((g) => g.checks));
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`)).toEqual([]);
    expect(results.filter((r) => r.status === "pass").map((r) => r.id)).toEqual(
      expect.arrayContaining(["sqs-encryption", "sqs-dead-letter-queue", "sqs-visibility-timeout", "sqs-worker-role-scoped", "alarms-cover-components", "ec2-no-public-ip", "iam-no-admin"]),
    );
  });
});

describe("bad arguments", () => {
  it.each<[string, Partial<TaskQueueArgs>, RegExp]>([
    ["rq with SQS", { runner: "rq", broker: "sqs" }, /TaskQueue bad-rq-with-SQS: broker "sqs" works only with runner "celery"/],
    ["a queue name with capitals", { queues: ["Emails"] }, /queues: "Emails" must match/],
    ["a queue named twice", { queues: ["a", "a"] }, /queues: "a" named twice/],
    ["no queue", { queues: [] }, /queues must name at least one queue/],
    ["a task longer than SQS can hide it", { longestTaskSeconds: 43141 }, /longestTaskSeconds must be a whole number from 1 to 43140 with SQS/],
    ["workers' sizes the wrong way round", { minSize: 5, maxSize: 2 }, /Fleet bad-workers-sizes-the-wrong-way-round-worker: minSize \(5\) must not exceed maxSize \(2\)/],
  ])("refuses %s, naming the argument, before declaring anything", async (what, over, message) => {
    const name = `bad-${what.replace(/\W+/g, "-")}`;
    expect(() => new TaskQueue(name, args(over))).toThrow(message);
    await engine.finish();
    expect(engine.resources.filter((r) => r.name.startsWith(`${name}-`))).toEqual([]);
  });
});
