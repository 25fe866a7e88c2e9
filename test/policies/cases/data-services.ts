import { T } from "../../../policies/resource-types";
import { SecretValue } from "../../../policies/types";
import { ACCOUNT, arn, DB_PASSWORD_VALUE, id, json, loadBalancedPlan, remove, res, SECRET_KEY_VALUE, set, singleBoxPlan, urnOf } from "../fixtures";
import { adding, type CaseTable, editing, setOn, variant } from "./harness";

const lb = loadBalancedPlan;
const sb = singleBoxPlan;

const rolePolicy = (name: string, statements: unknown[]) =>
  res(T.iamRolePolicy[0], name, { role: id("fleet-role"), policy: json({ Version: "2012-10-17", Statement: statements }) });

export const ELASTICACHE_CASES: CaseTable = {
  "elasticache-transit-encryption": {
    fails: [
      { name: "no TLS", base: lb, breakIt: setOn("cache", "transitEncryptionEnabled", false) },
      { name: "no auth", base: lb, breakIt: setOn("cache", "authToken", undefined), message: /authToken/ },
      { name: "preferred mode", base: lb, breakIt: setOn("cache", "transitEncryptionMode", "preferred") },
    ],
    passes: [{ name: "RBAC user group instead of a token", plan: variant(lb, (p) => (set(p, "cache", "authToken", undefined), set(p, "cache", "userGroupIds", [id("cache-users")]))) }],
  },
  "elasticache-app-uses-tls": {
    fails: [{ name: "redis:// in app.env", base: lb, breakIt: editing("app.env", (c) => `${c}REDIS_URL=redis://cache.internal:6379/0\n`), message: /REDIS_URL/ }],
    notApplicable: [{ name: "no app.env rendered", plan: variant(lb, (p) => (p.serverFiles = {})), reason: /no app.env/ }],
  },
  "elasticache-at-rest-encryption": { fails: [{ name: "off", base: lb, breakIt: setOn("cache", "atRestEncryptionEnabled", false) }] },
  "elasticache-failover": {
    fails: [
      { name: "no automatic failover", base: lb, breakIt: setOn("cache", "automaticFailoverEnabled", false) },
      { name: "one node", base: lb, breakIt: setOn("cache", "numCacheClusters", 1), message: /1 node/ },
    ],
    notApplicable: [{ name: "staging", plan: variant(lb, (p) => (p.environment = "staging")), reason: /prod only/ }],
  },
  "elasticache-snapshots": { fails: [{ name: "no snapshots", base: lb, breakIt: setOn("cache", "snapshotRetentionLimit", 0) }] },
};

export const SQS_CASES: CaseTable = {
  "sqs-encryption": { fails: [{ name: "unencrypted", base: lb, breakIt: setOn("tasks", "sqsManagedSseEnabled", false) }] },
  "sqs-policy-no-wildcards": {
    fails: [
      { name: "anyone may send", base: lb, breakIt: setOn("tasks-policy", "policy", json({ Statement: [{ Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: arn("sqs", "tasks") }] })), message: /anonymous/ },
      { name: "every action", base: lb, breakIt: setOn("tasks-policy", "policy", json({ Statement: [{ Effect: "Allow", Principal: { AWS: arn("iam", "fleet-role") }, Action: "sqs:*", Resource: arn("sqs", "tasks") }] })), message: /every SQS action/ },
    ],
  },
  "sqs-dead-letter-queue": {
    fails: [
      { name: "no redrive", base: lb, breakIt: setOn("tasks", "redrivePolicy", undefined) },
      { name: "redrive to a queue outside the plan", base: lb, breakIt: setOn("tasks", "redrivePolicy", json({ deadLetterTargetArn: arn("sqs", "elsewhere"), maxReceiveCount: 5 })) },
    ],
  },
  "sqs-visibility-timeout": {
    fails: [
      { name: "shorter than the worker's stopwaitsecs", base: lb, breakIt: setOn("tasks", "visibilityTimeoutSeconds", 300), message: /600 s/ },
      { name: "SQS default", base: lb, breakIt: setOn("tasks", "visibilityTimeoutSeconds", undefined) },
    ],
  },
  "sqs-worker-role-scoped": {
    fails: [
      { name: "send on every queue", base: lb, breakIt: adding(rolePolicy("worker-any", [{ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" }])) },
      { name: "sqs:* on arn:aws:sqs:*:*:*", base: lb, breakIt: adding(rolePolicy("worker-all", [{ Effect: "Allow", Action: "sqs:*", Resource: "arn:aws:sqs:*:*:*" }])) },
    ],
  },
};

export const SECRETS_CASES: CaseTable = {
  "secrets-stay-encrypted": {
    fails: [
      { name: "a secret copied into a String parameter", base: lb, breakIt: setOn("release-pointer", "value", SECRET_KEY_VALUE), message: /plain value of a Pulumi secret/ },
      {
        name: "a secret's value in a String parameter (SDK-wrapped)",
        base: lb,
        breakIt: adding(res(T.ssmParameter[0], "db-password-copy", { type: "String", value: new SecretValue(DB_PASSWORD_VALUE) })),
        message: /holds the value of a Pulumi secret but its type is String/,
      },
      {
        name: "a String parameter named like a secret",
        base: lb,
        breakIt: adding(res(T.ssmParameter[0], "api-token-param", { name: "/shop/prod/api_token", type: "String", value: new SecretValue("whatever") })),
        message: /named like a secret/,
      },
      {
        name: "a secret in a Lambda environment in clear",
        base: lb,
        breakIt: adding(res("aws:lambda/function:Function", "rotator", { environment: { variables: { PASSWORD: DB_PASSWORD_VALUE } } })),
        message: /input environment/,
      },
    ],
  },
  "secrets-rotation": {
    fails: [
      { name: "no rotation", base: lb, breakIt: (p) => (remove(p, "app-secret-rotation"), urnOf(p, "app-secret")) },
      { name: "yearly rotation", base: lb, breakIt: (p) => (set(p, "app-secret-rotation", "rotationRules.automaticallyAfterDays", 365), urnOf(p, "app-secret")) },
    ],
  },
  "secrets-cmk": {
    fails: [
      { name: "AWS-managed key", base: lb, breakIt: setOn("app-secret", "kmsKeyId", undefined) },
      { name: "SecureString without keyId", base: lb, breakIt: adding(res(T.ssmParameter[0], "api-token", { type: "SecureString", value: new SecretValue("token-abcdefghijk") })) },
    ],
  },
  "secrets-get-value-scoped": {
    fails: [
      {
        name: "GetSecretValue on *",
        base: lb,
        breakIt: setOn("fleet-role-policy", "policy", json({ Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" }] })),
      },
      {
        name: "every secret by ARN pattern",
        base: lb,
        breakIt: adding(rolePolicy("all-secrets", [{ Effect: "Allow", Action: "secretsmanager:Get*", Resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:*` }])),
      },
    ],
    passes: [
      {
        name: "a named secret with the random-suffix wildcard",
        plan: variant(lb, (p) =>
          set(p, "fleet-role-policy", "policy", json({ Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:shop/prod-??????` }] })),
        ),
      },
    ],
    notApplicable: [{ name: "no role reads secrets", plan: variant(sb, (p) => set(p, "box-role-policy", "policy", json({ Statement: [] }))), reason: /GetSecretValue/ }],
  },
};

export const CLOUDWATCH_CASES: CaseTable = {
  "logs-retention": { fails: [{ name: "never expires", base: lb, breakIt: setOn("app-logs", "retentionInDays", undefined) }] },
  "logs-kms": { fails: [{ name: "no key", base: lb, breakIt: setOn("app-logs", "kmsKeyId", undefined) }] },
  "alarms-cover-components": {
    fails: [
      { name: "no RDS CPU alarm", base: lb, breakIt: (p) => (remove(p, "db-cpu"), urnOf(p, "db")), message: /CPUUtilization/ },
      { name: "no SQS age alarm", base: lb, breakIt: (p) => (remove(p, "tasks-age"), urnOf(p, "tasks")) },
      { name: "no unhealthy-host alarm", base: lb, breakIt: (p) => (remove(p, "alb-unhealthy"), urnOf(p, "alb")) },
      { name: "memory alarm on another cluster", base: lb, breakIt: (p) => (set(p, "cache-memory", "dimensions.ReplicationGroupId", "other"), add2(p)), message: /DatabaseMemoryUsagePercentage/ },
    ],
  },
  "alarms-notify": {
    fails: [
      { name: "no actions", base: lb, breakIt: setOn("alb-5xx", "alarmActions", []) },
      { name: "actions disabled", base: lb, breakIt: setOn("db-cpu", "actionsEnabled", false) },
    ],
  },
};

/** A second replication group, so the memory alarm must name which one it watches. */
function add2(p: ReturnType<typeof lb>): string {
  const other = res(T.replicationGroup[0], "cache-2", { description: "second", numCacheClusters: 2 });
  p.resources.push(other);
  return urnOf(p, "cache");
}

export const IAM_CASES: CaseTable = {
  "iam-no-admin": {
    fails: [
      { name: "*:* on *", base: lb, breakIt: adding(rolePolicy("admin", [{ Effect: "Allow", Action: "*:*", Resource: "*" }])) },
      { name: "NotAction on *", base: lb, breakIt: adding(rolePolicy("almost-admin", [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }])) },
      { name: "AdministratorAccess attached", base: lb, breakIt: setOn("fleet-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]) },
      {
        name: "inline policy on the role",
        base: lb,
        breakIt: setOn("fleet-role", "inlinePolicies", [{ name: "all", policy: json({ Statement: { Effect: "Allow", Action: "*", Resource: "*" } }) }]),
        message: /inlinePolicies\[0\]/,
      },
    ],
  },
  "iam-no-user-policies": {
    fails: [
      { name: "user policy", base: lb, breakIt: adding(res(T.iamUserPolicy[0], "deployer-policy", { user: "deployer", policy: json({ Statement: [] }) })) },
      { name: "policy attached to users", base: lb, breakIt: adding(res(T.iamPolicyAttachment[0], "ci-attach", { policyArn: arn("iam", "ci"), users: ["ci"] })) },
    ],
  },
  "iam-no-access-keys": {
    fails: [{ name: "access key", base: lb, breakIt: adding(res(T.iamAccessKey[0], "deployer-key", { user: "deployer" })) }],
  },
  "iam-no-s3-wildcard": {
    fails: [
      { name: "s3:* on *", base: lb, breakIt: adding(rolePolicy("s3-all", [{ Effect: "Allow", Action: "s3:*", Resource: "*" }])) },
      { name: "s3:Get* on every bucket's objects", base: lb, breakIt: adding(rolePolicy("s3-read-all", [{ Effect: "Allow", Action: ["s3:Get*"], Resource: ["arn:aws:s3:::*/*"] }])) },
    ],
    passes: [
      {
        name: "s3:Get* on one bucket's objects",
        plan: variant(lb, (p) => p.resources.push(rolePolicy("s3-media", [{ Effect: "Allow", Action: ["s3:Get*"], Resource: ["arn:aws:s3:::media/*"] }]))),
      },
    ],
  },
  "kms-rotation": { fails: [{ name: "rotation off", base: lb, breakIt: setOn("secrets-key", "enableKeyRotation", false) }] },
  "acm-dns-validation": { fails: [{ name: "email validation", base: lb, breakIt: setOn("alb-cert", "validationMethod", "EMAIL") }] },
  "acm-create-before-destroy": {
    fails: [
      {
        name: "deleteBeforeReplace",
        base: lb,
        breakIt: (p) => {
          p.resources.find((r) => r.name === "cdn-cert")!.options.deleteBeforeReplace = true;
          return urnOf(p, "cdn-cert");
        },
      },
    ],
  },
  "backup-plan-covers-data": {
    fails: [
      { name: "database left out of the selection", base: lb, breakIt: (p) => (set(p, "backup-selection", "resources", [arn("ec2", "box")]), urnOf(p, "db")), message: /not in any AWS Backup selection/ },
      { name: "no backup plan", base: sb, breakIt: (p) => (remove(p, "backup-plan"), urnOf(p, "box")), message: /no backup plan/ },
      { name: "rule without retention", base: sb, breakIt: (p) => (set(p, "backup-plan", "rules.0.lifecycle", undefined), urnOf(p, "box")) },
    ],
    passes: [
      {
        name: "selection by tag",
        plan: variant(sb, (p) => {
          set(p, "backup-selection", "resources", ["*"]);
          set(p, "backup-selection", "selectionTags", [{ type: "STRINGEQUALS", key: "django-tiers:backup", value: "daily" }]);
        }),
      },
    ],
  },
  "backup-vault-kms": { fails: [{ name: "no CMK", base: lb, breakIt: setOn("backup-vault", "kmsKeyArn", undefined) }] },
};
