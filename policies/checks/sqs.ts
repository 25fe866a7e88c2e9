/**
 * The `taskQueue` add-on with an SQS broker: queues, their dead-letter
 * queues and policies, and the worker role's access to them.
 */
import { allows, coversAllResources, describe, identityPolicies, parsePolicy, statementsOf, type Statement } from "../policy-documents";
import { eachResource, finding, notApplicable, ofType, refersTo } from "../plan-queries";
import { T } from "../resource-types";
import { longestWorkerStopSeconds } from "../server-files";
import type { Check, Finding, PlannedResource, PlanUnderTest } from "../types";
import { asBool, asNumber, asRecord, plain } from "../values";

const NO_QUEUES = "no SQS queue in this plan";

function redrivePolicy(q: PlannedResource): Record<string, unknown> | undefined {
  const raw = plain(q.inputs.redrivePolicy);
  if (typeof raw === "string") {
    try {
      return asRecord(JSON.parse(raw));
    } catch {
      return undefined;
    }
  }
  return asRecord(raw);
}

/** Queues that are some other queue's dead-letter target. */
export function deadLetterQueues(plan: PlanUnderTest): PlannedResource[] {
  const queues = ofType(plan, T.queue);
  const targets = queues.map((q) => redrivePolicy(q)?.deadLetterTargetArn);
  return queues.filter((q) => targets.some((t) => refersTo(t, q)));
}

/** Queues that carry tasks (every queue that is not a dead-letter queue). */
const workQueues = (plan: PlanUnderTest) => {
  const dlqs = deadLetterQueues(plan);
  return ofType(plan, T.queue).filter((q) => !dlqs.includes(q));
};

/** Messages encrypted at rest (SQS-managed SSE or KMS). Refs: CKV_AWS_27, AVD-AWS-0096, KICS 6e8849c1-3aa7-40e3-9063-b85ee300f29f. */
export const sqsEncryption: Check = {
  id: "sqs-encryption",
  title: "Queues are encrypted at rest",
  refs: ["CKV_AWS_27", "AVD-AWS-0096", "KICS 6e8849c1-3aa7-40e3-9063-b85ee300f29f"],
  description: "Task payloads often carry personal data (emails, ids) that would sit unencrypted.",
  run(plan) {
    const queues = ofType(plan, T.queue);
    if (!queues.length) return notApplicable(NO_QUEUES);
    return eachResource(queues, (q) => [
      asBool(q.inputs.sqsManagedSseEnabled) !== true && !q.inputs.kmsMasterKeyId && "neither sqsManagedSseEnabled nor kmsMasterKeyId is set",
    ]);
  },
};

/**
 * Queue policies never allow the anonymous principal nor every action.
 * Refs: CKV_AWS_72, CKV_AWS_168, CKV_AWS_387.
 */
export const sqsPolicyNoWildcards: Check = {
  id: "sqs-policy-no-wildcards",
  title: "Queue policies name principals and actions",
  refs: ["CKV_AWS_72", "CKV_AWS_168", "CKV_AWS_387"],
  description: "A `*` principal lets any AWS account send or read tasks; `*` actions let it purge or delete the queue.",
  run(plan) {
    if (!ofType(plan, T.queue).length) return notApplicable(NO_QUEUES);
    const docs: { r: PlannedResource; doc: unknown }[] = [
      ...ofType(plan, T.queuePolicy).map((r) => ({ r, doc: r.inputs.policy })),
      ...ofType(plan, T.queue)
        .filter((q) => q.inputs.policy !== undefined)
        .map((r) => ({ r, doc: r.inputs.policy })),
    ];
    return docs.flatMap(({ r, doc }): Finding[] => {
      const parsed = parsePolicy(doc);
      if ("error" in parsed) return [finding(r, parsed.error)];
      return parsed.statements
        .filter((st) => st.effect === "Allow")
        .flatMap((st) => [
          ...(st.principals?.anyone ? [finding(r, `${describe(st)} allows the anonymous principal "*"`)] : []),
          ...(st.actions.some((a) => a === "*" || a.toLowerCase() === "sqs:*") || st.notActions.length
            ? [finding(r, `${describe(st)} allows every SQS action`)]
            : []),
        ]);
    });
  },
};

/**
 * Every work queue redrives to a dead-letter queue in the plan after a
 * bounded number of receives. Refs: Celery "Using Amazon SQS".
 */
export const sqsDeadLetterQueue: Check = {
  id: "sqs-dead-letter-queue",
  title: "Work queues redrive to a dead-letter queue",
  refs: ["Celery: Using Amazon SQS"],
  description: "Without a DLQ a poison message is retried forever, blocking a worker each time.",
  run(plan) {
    if (!ofType(plan, T.queue).length) return notApplicable(NO_QUEUES);
    const queues = ofType(plan, T.queue);
    return eachResource(workQueues(plan), (q) => {
      const rp = redrivePolicy(q);
      if (!rp) return ["has no redrivePolicy"];
      return [
        !queues.some((d) => d !== q && refersTo(rp.deadLetterTargetArn, d)) && "redrivePolicy.deadLetterTargetArn is not a queue in this plan",
        !((asNumber(rp.maxReceiveCount) ?? 0) > 0) && "redrivePolicy.maxReceiveCount is not set",
      ];
    });
  },
};

/**
 * The visibility timeout outlasts the longest task (the rendered worker
 * `stopwaitsecs`; SQS's default 30 s when none is rendered), or a running
 * task is delivered again to another worker. Refs: Celery "Using Amazon SQS — Visibility Timeout".
 */
export const sqsVisibilityTimeout: Check = {
  id: "sqs-visibility-timeout",
  title: "Queue visibility timeout is longer than the longest task",
  refs: ["Celery: Using Amazon SQS — Visibility Timeout"],
  description: "A task still running when its message becomes visible again runs twice.",
  run(plan) {
    if (!ofType(plan, T.queue).length) return notApplicable(NO_QUEUES);
    const longest = longestWorkerStopSeconds(plan);
    return eachResource(workQueues(plan), (q) => {
      const timeout = asNumber(q.inputs.visibilityTimeoutSeconds);
      if (timeout === undefined) return ["visibilityTimeoutSeconds is unset (30 s default)"];
      return [
        longest !== undefined &&
          timeout <= longest &&
          `visibilityTimeoutSeconds ${timeout} is not longer than the longest task (${longest} s worker stopwaitsecs)`,
      ];
    });
  },
};

/**
 * Identity policies grant queue actions (send, receive, delete, purge,
 * attributes) only on named queue ARNs; `sqs:ListQueues`, which only takes
 * `*`, may stay on `*`. Refs: CKV_AWS_355, CKV_AWS_290.
 */
export const sqsWorkerRoleScoped: Check = {
  id: "sqs-worker-role-scoped",
  title: "Roles reach SQS only on the stack's queue ARNs",
  refs: ["CKV_AWS_355", "CKV_AWS_290"],
  description: "A role allowed on every queue can read or purge other applications' queues.",
  run(plan) {
    if (!ofType(plan, T.queue).length) return notApplicable(NO_QUEUES);
    const grantsSqs = (st: Statement) =>
      ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue", "sqs:GetQueueAttributes"].some((a) => allows(st, a));
    return statementsOf(identityPolicies(plan)).flatMap(({ source, statements, error }): Finding[] => [
      ...(error ? [finding(source.resource, error)] : []),
      ...statements
        .filter((st) => grantsSqs(st) && coversAllResources(st, "sqs"))
        .map((st) => finding(source.resource, `${source.where} ${describe(st)} grants SQS actions on every queue`)),
    ]);
  },
};

export const SQS_CHECKS: Check[] = [sqsEncryption, sqsPolicyNoWildcards, sqsDeadLetterQueue, sqsVisibilityTimeout, sqsWorkerRoleScoped];
