/**
 * The `cache` add-on: ElastiCache Redis as a replication group, and how the
 * app's rendered environment reaches it.
 */
import { eachResource, fileFinding, notApplicable, ofType, prodOnly } from "../plan-queries";
import { T } from "../resource-types";
import { parseEnvFile, roleFiles } from "../server-files";
import type { Check, PlannedResource, PlanUnderTest } from "../types";
import { asBool, asNumber, asString, asStrings, isUnknown } from "../values";

const NO_REDIS = "no ElastiCache replication group in this plan";

function redisCheck(plan: PlanUnderTest, each: (g: PlannedResource) => (string | false | undefined)[]): ReturnType<Check["run"]> {
  const groups = ofType(plan, T.replicationGroup);
  return groups.length ? eachResource(groups, each) : notApplicable(NO_REDIS);
}

/**
 * TLS in transit (mode `required`, not `preferred`) and authentication by
 * AUTH token or RBAC user groups.
 * Refs: CKV_AWS_30, CKV_AWS_31, AVD-AWS-0051, KICS 1afbb3fa-cf6c-4a3d-b730-95e9f4df343e.
 */
export const elasticacheTransitEncryption: Check = {
  id: "elasticache-transit-encryption",
  title: "Redis requires TLS and authentication",
  refs: ["CKV_AWS_30", "CKV_AWS_31", "AVD-AWS-0051", "KICS 1afbb3fa-cf6c-4a3d-b730-95e9f4df343e"],
  description: "Plain Redis inside the VPC lets any compromised host read sessions and task payloads, with no password.",
  run: (plan) =>
    redisCheck(plan, (g) => {
      const auth = g.inputs.authToken ?? g.inputs.authTokenWo;
      const hasAuth = (auth !== undefined && (isUnknown(auth) || !!asString(auth))) || asStrings(g.inputs.userGroupIds).length > 0;
      return [
        asBool(g.inputs.transitEncryptionEnabled) !== true && "transitEncryptionEnabled is not true",
        asString(g.inputs.transitEncryptionMode) === "preferred" && 'transitEncryptionMode is "preferred" (plaintext still accepted)',
        !hasAuth && "has neither an authToken nor userGroupIds (RBAC)",
      ];
    }),
};

/**
 * With ElastiCache in the plan, no rendered app environment points at Redis
 * with `redis://` (the app must use `rediss://`). URLs carrying the AUTH token
 * belong in secrets.env, which is never rendered. Refs: as elasticache-transit-encryption.
 */
export const elasticacheAppUsesTls: Check = {
  id: "elasticache-app-uses-tls",
  title: "The app connects to Redis with rediss://",
  refs: ["CKV_AWS_30", "AVD-AWS-0051"],
  description: "A redis:// URL fails against a TLS-only cluster, or silently skips TLS against a lenient one.",
  run(plan) {
    if (!ofType(plan, T.replicationGroup).length) return notApplicable(NO_REDIS);
    const envs = roleFiles(plan).flatMap((r) => r.apps.map((a) => a.env).filter((f) => !!f));
    if (!envs.length) return notApplicable("no app.env rendered in this plan");
    return envs.flatMap((file) =>
      Object.entries(parseEnvFile(file!.content))
        .filter(([, v]) => v.startsWith("redis://"))
        .map(([k]) => fileFinding(file!.path, `${k} uses redis://, not rediss://`)),
    );
  },
};

/** Encryption at rest (snapshots and swap included). Refs: CKV_AWS_29, AVD-AWS-0045. */
export const elasticacheAtRestEncryption: Check = {
  id: "elasticache-at-rest-encryption",
  title: "Redis is encrypted at rest",
  refs: ["CKV_AWS_29", "AVD-AWS-0045"],
  description: "Unencrypted snapshots and swap hold session data and task payloads in clear.",
  run: (plan) => redisCheck(plan, (g) => [asBool(g.inputs.atRestEncryptionEnabled) !== true && "atRestEncryptionEnabled is not true"]),
};

/**
 * Automatic failover to a replica in another AZ, at least two nodes (prod
 * only, like multi-AZ RDS). Refs: CKV2_AWS_50.
 */
export const elasticacheFailover: Check = {
  id: "elasticache-failover",
  title: "Redis fails over automatically across AZs (prod)",
  refs: ["CKV2_AWS_50"],
  description: "A single Redis node takes sessions, cache and the task broker down with it.",
  run: (plan) =>
    prodOnly(plan, "Redis failover") ??
    redisCheck(plan, (g) => {
      const nodes = asNumber(g.inputs.numCacheClusters) ?? 1 + (asNumber(g.inputs.replicasPerNodeGroup) ?? 0);
      return [
        asBool(g.inputs.automaticFailoverEnabled) !== true && "automaticFailoverEnabled is not true",
        asBool(g.inputs.multiAzEnabled) !== true && "multiAzEnabled is not true",
        nodes < 2 && `has ${nodes} node(s), fewer than 2`,
      ];
    }),
};

/** Daily snapshots kept. Refs: CKV_AWS_134, AVD-AWS-0050. */
export const elasticacheSnapshots: Check = {
  id: "elasticache-snapshots",
  title: "Redis keeps snapshots",
  refs: ["CKV_AWS_134", "AVD-AWS-0050"],
  description: "Without snapshots a failed node loses queued tasks and persistent cache data.",
  run: (plan) =>
    redisCheck(plan, (g) => [
      !((asNumber(g.inputs.snapshotRetentionLimit) ?? 0) > 0) && "snapshotRetentionLimit is not above 0",
    ]),
};

export const ELASTICACHE_CHECKS: Check[] = [
  elasticacheTransitEncryption,
  elasticacheAppUsesTls,
  elasticacheAtRestEncryption,
  elasticacheFailover,
  elasticacheSnapshots,
];
