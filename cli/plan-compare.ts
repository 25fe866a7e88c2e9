/**
 * What a change of settings does to a stack: two offline plans compared by
 * URN — the resources it creates, deletes, updates in place and replaces —
 * with the ones that hold data named. `npm run plan -- --stack dev --compare
 * tier=external-db` prints it; tests use it to prove that a release or a tier
 * move replaces nothing that holds data.
 */
import type { PlannedResource } from "../policies/types";
import { SecretValue, UNKNOWN } from "../policies/types";

/** Resources whose deletion or replacement loses data, and why. */
export const HOLDS_DATA: Record<string, string> = {
  "aws:ec2/instance:Instance": "a box's disk (PostgreSQL, media and Redis on the lower tiers)",
  "aws:rds/instance:Instance": "the database",
  "aws:s3/bucket:Bucket": "files, releases and backups",
  "aws:elasticache/replicationGroup:ReplicationGroup": "cached data and queued tasks",
  "aws:backup/vault:Vault": "recovery points",
  "aws:secretsmanager/secret:Secret": "the app's secrets",
  "aws:kms/key:Key": "the key everything else is encrypted with",
};

/**
 * Inputs whose change makes the provider replace the resource (from the
 * @pulumi/aws resource docs): the types that hold data, and the few others
 * the stack changes on a release. Any other change is shown as an update.
 */
export const REPLACED_ON_CHANGE: Record<string, string[]> = {
  "aws:ec2/instance:Instance": ["ami", "subnetId", "availabilityZone", "privateIp", "tenancy", "keyName", "placementGroup"],
  "aws:rds/instance:Instance": ["engine", "identifier", "username", "dbName", "storageEncrypted", "kmsKeyId", "availabilityZone", "characterSetName"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
  "aws:elasticache/replicationGroup:ReplicationGroup": ["replicationGroupId", "engine", "atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName"],
  "aws:backup/vault:Vault": ["name", "kmsKeyArn"],
  "aws:secretsmanager/secret:Secret": ["name", "namePrefix"],
  "aws:kms/key:Key": ["customerMasterKeySpec", "keyUsage", "multiRegion"],
  "aws:s3/bucketObjectv2:BucketObjectv2": ["bucket", "key"],
  "aws:ssm/parameter:Parameter": ["name"],
};

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  /** Top-level inputs that differ (updates and replacements). */
  inputs?: string[];
  /** What is lost if this resource goes (types of HOLDS_DATA). */
  holdsData?: string;
}

export interface PlanComparison {
  creates: ResourceChange[];
  deletes: ResourceChange[];
  updates: ResourceChange[];
  replaces: ResourceChange[];
}

/** A value for comparison: secrets and unknowns compare by kind, not by their stand-in values. */
function comparable(value: unknown): unknown {
  if (value instanceof SecretValue) return "[secret]";
  if (value === UNKNOWN) return "[unknown]";
  if (Array.isArray(value)) return value.map(comparable);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

function change(r: PlannedResource, inputs?: string[]): ResourceChange {
  return { urn: r.urn, type: r.type, name: r.name, ...(inputs ? { inputs } : {}), ...(HOLDS_DATA[r.type] ? { holdsData: HOLDS_DATA[r.type] } : {}) };
}

/**
 * Compares the resources of two plans. An input listed in a resource's
 * `ignoreChanges` is not a change (Pulumi would not act on it).
 */
export function comparePlans(before: PlannedResource[], after: PlannedResource[]): PlanComparison {
  const cloud = (rs: PlannedResource[]) => new Map(rs.filter((r) => !r.isComponent && r.type !== "pulumi:pulumi:Stack").map((r) => [r.urn, r]));
  const a = cloud(before);
  const b = cloud(after);
  const result: PlanComparison = { creates: [], deletes: [], updates: [], replaces: [] };
  for (const [urn, r] of b) if (!a.has(urn)) result.creates.push(change(r));
  for (const [urn, r] of a) if (!b.has(urn)) result.deletes.push(change(r));
  for (const [urn, next] of b) {
    const prev = a.get(urn);
    if (!prev) continue;
    const keys = new Set([...Object.keys(prev.inputs), ...Object.keys(next.inputs)]);
    const differing = [...keys]
      .filter((k) => !next.options.ignoreChanges.includes(k))
      .filter((k) => JSON.stringify(comparable(prev.inputs[k])) !== JSON.stringify(comparable(next.inputs[k])))
      .sort();
    if (differing.length === 0) continue;
    const forcing = [...(REPLACED_ON_CHANGE[next.type] ?? []), ...(next.options.replaceOnChanges ?? [])].filter((k) => differing.includes(k));
    (forcing.length ? result.replaces : result.updates).push(change(next, differing));
  }
  return result;
}

export function formatComparison(c: PlanComparison, what: string): string {
  const out = [`Compared with ${what}:`];
  const section = (title: string, list: ResourceChange[], warn: boolean) => {
    out.push(`  ${title}: ${list.length}`);
    for (const r of list) {
      const data = r.holdsData && warn ? `  ⚠ holds data: ${r.holdsData}` : "";
      out.push(`    ${r.type} ${r.name}${r.inputs ? ` (${r.inputs.join(", ")})` : ""}${data}`);
    }
  };
  section("creates", c.creates, false);
  section("updates in place", c.updates, false);
  section("replaces", c.replaces, true);
  section("deletes", c.deletes, true);
  const lost = [...c.replaces, ...c.deletes].filter((r) => r.holdsData);
  out.push(lost.length ? `  ${lost.length} resource(s) that hold data would be replaced or deleted: read docs/runbooks/move-up-a-tier.md first.` : "  Nothing that holds data is replaced or deleted.");
  return out.join("\n");
}
