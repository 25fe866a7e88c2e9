/**
 * RDS (PostgreSQL by default; MySQL/MariaDB as an option): `aws:rds/instance`
 * and the `aws:rds/parameterGroup` it names.
 */
import { eachResource, notApplicable, ofType, prodOnly, resolve } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings, isSecret, isUnknown, plain, walkStrings } from "../values";
import { performanceInsightsSupported } from "../conformance/rules";

const NO_RDS = "no RDS instance in this plan";

function rdsCheck(
  plan: PlanUnderTest,
  each: (db: PlannedResource) => (string | false | undefined)[],
): ReturnType<Check["run"]> {
  const dbs = ofType(plan, T.rdsInstance);
  return dbs.length ? eachResource(dbs, each) : notApplicable(NO_RDS);
}

const engineOf = (db: PlannedResource) => (asString(db.inputs.engine) ?? "postgres").toLowerCase();
const isPostgres = (db: PlannedResource) => engineOf(db).includes("postgres");

/** The instance's parameter group as `name → value` (undefined when it uses a group outside the plan). */
function parametersOf(plan: PlanUnderTest, db: PlannedResource): Record<string, string> | undefined {
  const group = resolve(plan, db.inputs.parameterGroupName, T.rdsParameterGroup);
  if (!group) return undefined;
  const params: Record<string, string> = {};
  for (const p of asArray(group.inputs.parameters)) {
    const rec = asRecord(p);
    const name = asString(rec?.name);
    if (name) params[name.toLowerCase()] = String(plain(rec?.value) ?? "");
  }
  return params;
}

const NO_GROUP = "uses no parameter group from this plan (the engine default cannot be changed)";

/** Storage encrypted at rest (read replicas inherit their source's key). Refs: CKV_AWS_16, AVD-AWS-0080, AG rds-storage-encrypted. */
export const rdsStorageEncrypted: Check = {
  id: "rds-storage-encrypted",
  title: "RDS storage is encrypted",
  refs: ["CKV_AWS_16", "AVD-AWS-0080", "AG rds-storage-encrypted"],
  description: "Unencrypted storage and snapshots expose every row at rest; encryption cannot be added later in place.",
  run: (plan) =>
    rdsCheck(plan, (db) => [
      !db.inputs.replicateSourceDb && asBool(db.inputs.storageEncrypted) !== true && "storageEncrypted is not true",
    ]),
};

/** Not reachable from the internet. Refs: CKV_AWS_17, AVD-AWS-0180, AG rds-instance-public-access-check. */
export const rdsNotPublic: Check = {
  id: "rds-not-public",
  title: "RDS is not publicly accessible",
  refs: ["CKV_AWS_17", "AVD-AWS-0180", "AG rds-instance-public-access-check"],
  description: "A public endpoint exposes PostgreSQL's login to the internet.",
  run: (plan) => rdsCheck(plan, (db) => [asBool(db.inputs.publiclyAccessible) === true && "publiclyAccessible is true"]),
};

/** A standby in a second AZ (prod only). Refs: CKV_AWS_157, AG, WA REL10-BP01. */
export const rdsMultiAz: Check = {
  id: "rds-multi-az",
  title: "RDS is multi-AZ (prod)",
  refs: ["CKV_AWS_157", "AG", "WA REL10-BP01"],
  description: "A single-AZ database is down for the length of an AZ outage or an instance failure.",
  run: (plan) => prodOnly(plan, "Multi-AZ RDS") ?? rdsCheck(plan, (db) => [asBool(db.inputs.multiAz) !== true && "multiAz is not true"]),
};

/** At least a week of point-in-time recovery. Refs: CKV_AWS_133, AVD-AWS-0077, AG rds-instance-backup-enabled, WA REL09-BP03. */
export const rdsBackupRetention: Check = {
  id: "rds-backup-retention",
  title: "RDS keeps automated backups for at least 7 days",
  refs: ["CKV_AWS_133", "AVD-AWS-0077", "AG rds-instance-backup-enabled", "WA REL09-BP03"],
  description: "Short retention means a bad migration noticed after the weekend cannot be undone.",
  run: (plan) =>
    rdsCheck(plan, (db) => {
      const days = asNumber(db.inputs.backupRetentionPeriod);
      return [(days === undefined || days < 7) && `backupRetentionPeriod is ${days ?? "unset"}, below 7`];
    }),
};

/** Deletion protection on the instance. Refs: CKV_AWS_293, AVD-AWS-0177. */
export const rdsDeletionProtection: Check = {
  id: "rds-deletion-protection",
  title: "RDS has deletion protection",
  refs: ["CKV_AWS_293", "AVD-AWS-0177"],
  description: "A mistaken `pulumi destroy` or replacement would delete the database.",
  run: (plan) => rdsCheck(plan, (db) => [asBool(db.inputs.deletionProtection) !== true && "deletionProtection is not true"]),
};

/** A final snapshot is taken on delete. Refs: CKV_AWS_293, AVD-AWS-0177 (same CHECKS.md line), WA REL09-BP03. */
export const rdsFinalSnapshot: Check = {
  id: "rds-final-snapshot",
  title: "RDS takes a final snapshot on delete",
  refs: ["CKV_AWS_293", "AVD-AWS-0177", "WA REL09-BP03"],
  description: "Without a final snapshot, deleting or replacing the instance loses the data for good.",
  run: (plan) =>
    rdsCheck(plan, (db) => [
      asBool(db.inputs.skipFinalSnapshot) === true && "skipFinalSnapshot is true",
      asBool(db.inputs.skipFinalSnapshot) !== true && !db.inputs.finalSnapshotIdentifier && "finalSnapshotIdentifier is not set",
    ]),
};

/** Clients must use TLS: `rds.force_ssl=1` (PostgreSQL) or `require_secure_transport=ON` (MySQL). Refs: CKV2_AWS_69. */
export const rdsForceSsl: Check = {
  id: "rds-force-ssl",
  title: "RDS parameter group forces TLS",
  refs: ["CKV2_AWS_69"],
  description: "Without it a misconfigured client sends the password and the data in clear text inside the VPC.",
  run: (plan) =>
    rdsCheck(plan, (db) => {
      const params = parametersOf(plan, db);
      if (!params) return [NO_GROUP];
      if (isPostgres(db)) return [params["rds.force_ssl"] !== "1" && `rds.force_ssl is ${params["rds.force_ssl"] ?? "unset"}, not 1`];
      const v = (params.require_secure_transport ?? "").toLowerCase();
      return [!["on", "1"].includes(v) && `require_secure_transport is ${v || "unset"}, not ON`];
    }),
};

/** Engine logs go to CloudWatch. Refs: CKV_AWS_129. */
export const rdsLogExports: Check = {
  id: "rds-log-exports",
  title: "RDS exports its logs to CloudWatch",
  refs: ["CKV_AWS_129"],
  description: "Without exported logs, errors and slow queries vanish with the instance's local log rotation.",
  run: (plan) =>
    rdsCheck(plan, (db) => {
      const exports = asStrings(db.inputs.enabledCloudwatchLogsExports);
      const wanted = isPostgres(db) ? "postgresql" : "error";
      return [!exports.includes(wanted) && `enabledCloudwatchLogsExports does not include "${wanted}"`];
    }),
};

/**
 * Query logging: PostgreSQL logs DDL/modifying statements (`log_statement`)
 * and slow queries (`log_min_duration_statement` ≥ 0); MySQL turns on the
 * slow query log. Refs: CKV2_AWS_30.
 */
export const rdsQueryLogging: Check = {
  id: "rds-query-logging",
  title: "RDS logs statements and slow queries",
  refs: ["CKV2_AWS_30"],
  description: "Without statement logs a schema change or data tampering leaves no trace, and slow queries go unseen.",
  run: (plan) =>
    rdsCheck(plan, (db) => {
      const params = parametersOf(plan, db);
      if (!params) return [NO_GROUP];
      if (!isPostgres(db)) return [params.slow_query_log !== "1" && "slow_query_log is not 1"];
      const duration = Number(params.log_min_duration_statement ?? "-1");
      return [
        !["ddl", "mod", "all"].includes(params.log_statement ?? "") && `log_statement is ${params.log_statement ?? "unset"}, not ddl/mod/all`,
        !(duration >= 0) && "log_min_duration_statement is unset or -1",
      ];
    }),
};

/** Minor versions (security fixes) applied in the maintenance window. Refs: CKV_AWS_226. */
export const rdsAutoMinorUpgrade: Check = {
  id: "rds-auto-minor-upgrade",
  title: "RDS applies minor version upgrades",
  refs: ["CKV_AWS_226"],
  description: "Turning them off leaves known engine vulnerabilities unpatched.",
  run: (plan) =>
    rdsCheck(plan, (db) => [asBool(db.inputs.autoMinorVersionUpgrade) === false && "autoMinorVersionUpgrade is false"]),
};

/** Performance Insights on, where RDS supports it for the engine and class (MySQL and MariaDB: not on the smallest classes). Refs: CKV_AWS_353. */
export const rdsPerformanceInsights: Check = {
  id: "rds-performance-insights",
  title: "RDS Performance Insights is enabled",
  refs: ["CKV_AWS_353"],
  description: "Without it, finding the query behind a load spike means guessing.",
  run(plan) {
    const dbs = ofType(plan, T.rdsInstance);
    if (!dbs.length) return notApplicable(NO_RDS);
    const supported = dbs.filter((db) => performanceInsightsSupported(engineOf(db), asString(db.inputs.instanceClass) ?? ""));
    if (!supported.length) {
      return notApplicable(`RDS does not support Performance Insights for ${dbs.map((db) => `${engineOf(db)} on ${asString(db.inputs.instanceClass)}`).join(", ")} (a larger class has it)`);
    }
    return eachResource(supported, (db) => [asBool(db.inputs.performanceInsightsEnabled) !== true && "performanceInsightsEnabled is not true"]);
  },
};

/** Performance Insights data (which includes query text) encrypted with a customer key. Refs: CKV_AWS_354. */
export const rdsPerformanceInsightsKms: Check = {
  id: "rds-performance-insights-kms",
  title: "RDS Performance Insights is encrypted with a customer-managed key",
  refs: ["CKV_AWS_354"],
  description: "Performance Insights keeps query text, which can contain personal data.",
  run(plan) {
    const dbs = ofType(plan, T.rdsInstance);
    if (!dbs.length) return notApplicable(NO_RDS);
    const withInsights = dbs.filter((db) => asBool(db.inputs.performanceInsightsEnabled) === true);
    if (!withInsights.length) return notApplicable("Performance Insights is off on every RDS instance (see rds-performance-insights)");
    return eachResource(withInsights, (db) => [!db.inputs.performanceInsightsKmsKeyId && "performanceInsightsKmsKeyId is not set"]);
  },
};

/** The password is held by Secrets Manager: the instance's `password` is one of its secret versions' plain values. */
function passwordInSecretsManager(plan: PlanUnderTest, password: unknown): boolean {
  const value = plain(password);
  if (typeof value !== "string" || value.length === 0) return false;
  return ofType(plan, T.secretVersion).some((v) => {
    let found = false;
    walkStrings(v.inputs.secretString, (s) => {
      found ||= s === value || s.includes(JSON.stringify(value));
    });
    return found;
  });
}

/**
 * No literal master password: RDS manages it in Secrets Manager
 * (`manageMasterUserPassword`), or the password is also stored in a Secrets
 * Manager secret version of the plan (where the app reads it). A password
 * written in the program lives in code and never rotates. Refs: WA SEC02-BP03.
 */
export const rdsManagedPassword: Check = {
  id: "rds-managed-password",
  title: "RDS master password is managed in Secrets Manager",
  refs: ["WA SEC02-BP03"],
  description: "A literal password lives in code and state in clear text and never rotates.",
  run: (plan) =>
    rdsCheck(plan, (db) => {
      if (asBool(db.inputs.manageMasterUserPassword) === true) return [];
      if (db.inputs.replicateSourceDb || db.inputs.snapshotIdentifier) return [];
      const pw = db.inputs.password ?? db.inputs.passwordWo;
      if (pw === undefined) return ["neither manageMasterUserPassword nor a password is set"];
      if (!isSecret(pw) && !isUnknown(pw)) return ["password is a literal string; set manageMasterUserPassword"];
      if (isUnknown(pw)) return [];
      // The SDK wraps `password` as secret whatever it is, so the wrapper proves nothing: look for it in Secrets Manager.
      return [
        !passwordInSecretsManager(plan, pw) &&
          "password is not kept in Secrets Manager (no secret version of this plan holds it); set manageMasterUserPassword",
      ];
    }),
};

export const RDS_CHECKS: Check[] = [
  rdsStorageEncrypted,
  rdsNotPublic,
  rdsMultiAz,
  rdsBackupRetention,
  rdsDeletionProtection,
  rdsFinalSnapshot,
  rdsForceSsl,
  rdsLogExports,
  rdsQueryLogging,
  rdsAutoMinorUpgrade,
  rdsPerformanceInsights,
  rdsPerformanceInsightsKms,
  rdsManagedPassword,
];
