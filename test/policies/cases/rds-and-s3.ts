import { T } from "../../../policies/resource-types";
import { SecretValue } from "../../../policies/types";
import { arn, DB_PASSWORD_VALUE, id, json, loadBalancedPlan, remove, set, singleBoxPlan, urnOf } from "../fixtures";
import { type CaseTable, setOn, variant } from "./harness";

const lb = loadBalancedPlan;
const sb = singleBoxPlan;

const withoutRdsPassword = (p: ReturnType<typeof lb>) => set(p, "db", "manageMasterUserPassword", undefined);

export const RDS_CASES: CaseTable = {
  "rds-storage-encrypted": { fails: [{ name: "unencrypted", base: lb, breakIt: setOn("db", "storageEncrypted", false) }] },
  "rds-not-public": { fails: [{ name: "publicly accessible", base: lb, breakIt: setOn("db", "publiclyAccessible", true) }] },
  "rds-multi-az": {
    fails: [{ name: "single-AZ in prod", base: lb, breakIt: setOn("db", "multiAz", false) }],
    notApplicable: [{ name: "staging", plan: variant(lb, (p) => (p.environment = "staging")), reason: /prod only; this is a staging stack/ }],
  },
  "rds-backup-retention": {
    fails: [
      { name: "one day", base: lb, breakIt: setOn("db", "backupRetentionPeriod", 1), message: /1, below 7/ },
      { name: "unset", base: lb, breakIt: setOn("db", "backupRetentionPeriod", undefined) },
    ],
  },
  "rds-deletion-protection": { fails: [{ name: "off", base: lb, breakIt: setOn("db", "deletionProtection", false) }] },
  "rds-final-snapshot": {
    fails: [
      { name: "skipped", base: lb, breakIt: setOn("db", "skipFinalSnapshot", true) },
      { name: "no identifier", base: lb, breakIt: setOn("db", "finalSnapshotIdentifier", undefined) },
    ],
  },
  "rds-force-ssl": {
    fails: [
      { name: "force_ssl 0", base: lb, breakIt: (p) => (set(p, "db-params", "parameters.0.value", "0"), urnOf(p, "db")), message: /rds.force_ssl is 0/ },
      { name: "engine default parameter group", base: lb, breakIt: setOn("db", "parameterGroupName", "default.postgres16"), message: /no parameter group/ },
      { name: "MySQL without require_secure_transport", base: lb, breakIt: setOn("db", "engine", "mysql"), message: /require_secure_transport/ },
    ],
  },
  "rds-log-exports": {
    fails: [{ name: "postgresql log not exported", base: lb, breakIt: setOn("db", "enabledCloudwatchLogsExports", ["upgrade"]) }],
  },
  "rds-query-logging": {
    fails: [
      { name: "no statement or duration logging", base: lb, breakIt: (p) => (set(p, "db-params", "parameters", [{ name: "rds.force_ssl", value: "1" }]), urnOf(p, "db")), message: /log_statement/ },
      { name: "log_min_duration_statement -1", base: lb, breakIt: (p) => (set(p, "db-params", "parameters.2.value", "-1"), urnOf(p, "db")), message: /log_min_duration_statement/ },
    ],
  },
  "rds-auto-minor-upgrade": { fails: [{ name: "off", base: lb, breakIt: setOn("db", "autoMinorVersionUpgrade", false) }] },
  "rds-performance-insights": {
    fails: [
      { name: "off", base: lb, breakIt: setOn("db", "performanceInsightsEnabled", false) },
      { name: "off for MySQL on a class that has it", base: lb, breakIt: (p) => (set(p, "db", "engine", "mysql"), set(p, "db", "instanceClass", "db.t4g.medium"), set(p, "db", "performanceInsightsEnabled", false), urnOf(p, "db")) },
    ],
    notApplicable: [{
      name: "MySQL on db.t4g.micro, where RDS has no Performance Insights",
      plan: variant(lb, (p) => (set(p, "db", "engine", "mysql"), set(p, "db", "instanceClass", "db.t4g.micro"), set(p, "db", "performanceInsightsEnabled", false))),
      reason: /does not support Performance Insights for mysql on db\.t4g\.micro/,
    }],
  },
  "rds-performance-insights-kms": {
    fails: [{ name: "no key", base: lb, breakIt: setOn("db", "performanceInsightsKmsKeyId", undefined) }],
    notApplicable: [{ name: "Performance Insights off", plan: variant(lb, (p) => set(p, "db", "performanceInsightsEnabled", false)), reason: /off on every RDS instance/ }],
  },
  "rds-managed-password": {
    fails: [
      { name: "literal password", base: lb, breakIt: (p) => (withoutRdsPassword(p), set(p, "db", "password", "hunter2-hunter2"), urnOf(p, "db")), message: /literal/ },
      {
        name: "literal password as the SDK records it (wrapped secret)",
        base: lb,
        breakIt: (p) => (withoutRdsPassword(p), set(p, "db", "password", new SecretValue("hunter2-hunter2")), urnOf(p, "db")),
        message: /not kept in Secrets Manager/,
      },
      { name: "secret password kept nowhere", base: lb, breakIt: (p) => (withoutRdsPassword(p), set(p, "db", "password", new SecretValue("some-random-password-xyz")), urnOf(p, "db")), message: /not kept in Secrets Manager/ },
    ],
    passes: [
      {
        name: "a Pulumi-secret password that the app secret holds",
        plan: variant(lb, (p) => (withoutRdsPassword(p), set(p, "db", "password", new SecretValue(DB_PASSWORD_VALUE)))),
      },
    ],
  },
};

const policyOf = (statements: unknown[]) => json({ Version: "2012-10-17", Statement: statements });

export const S3_CASES: CaseTable = {
  "s3-public-access-block": {
    fails: [
      { name: "no public access block", base: sb, breakIt: (p) => (remove(p, "media-pab"), urnOf(p, "media")), message: /no BucketPublicAccessBlock/ },
      { name: "blockPublicPolicy off", base: sb, breakIt: (p) => (set(p, "artifacts-pab", "blockPublicPolicy", false), urnOf(p, "artifacts")), message: /blockPublicPolicy/ },
    ],
  },
  "s3-acls-disabled": {
    fails: [
      { name: "ObjectWriter", base: sb, breakIt: (p) => (set(p, "media-ownership", "rule.objectOwnership", "ObjectWriter"), urnOf(p, "media")) },
      { name: "no ownership controls", base: sb, breakIt: (p) => (remove(p, "logs-ownership"), urnOf(p, "logs")) },
      { name: "public-read canned ACL", base: sb, breakIt: setOn("artifacts", "acl", "public-read"), message: /public-read/ },
      { name: "CloudFront log bucket without ACLs", base: lb, breakIt: (p) => (set(p, "cdn-logs-ownership", "rule.objectOwnership", "BucketOwnerEnforced"), urnOf(p, "cdn-logs")), message: /CloudFront log bucket/ },
    ],
  },
  "s3-encryption": {
    fails: [{ name: "no SSE configuration", base: sb, breakIt: (p) => (remove(p, "artifacts-sse"), urnOf(p, "artifacts")) }],
  },
  "s3-versioning": {
    fails: [
      { name: "media not versioned", base: sb, breakIt: (p) => (remove(p, "media-versioning"), urnOf(p, "media")) },
      { name: "artifacts suspended", base: sb, breakIt: (p) => (set(p, "artifacts-versioning", "versioningConfiguration.status", "Suspended"), urnOf(p, "artifacts")) },
    ],
  },
  "s3-deny-insecure-transport": {
    fails: [
      {
        name: "policy without the TLS deny",
        base: sb,
        breakIt: (p) => (set(p, "artifacts-policy", "policy", policyOf([{ Effect: "Allow", Principal: { AWS: arn("iam", "box-role") }, Action: "s3:GetObject", Resource: "*" }])), urnOf(p, "artifacts")),
      },
      { name: "no bucket policy", base: sb, breakIt: (p) => (remove(p, "logs-policy"), urnOf(p, "logs")) },
    ],
  },
  "s3-read-only-through-cloudfront": {
    fails: [
      {
        name: "anonymous GetObject",
        base: sb,
        breakIt: (p) => (set(p, "artifacts-policy", "policy", policyOf([{ Sid: "Public", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }])), urnOf(p, "artifacts")),
        message: /"Public" allows the anonymous principal/,
      },
      {
        name: "CloudFront without SourceArn",
        base: sb,
        breakIt: (p) => (
          set(p, "media-policy", "policy", policyOf([{ Effect: "Allow", Principal: { Service: "cloudfront.amazonaws.com" }, Action: "s3:GetObject", Resource: "*" }])),
          urnOf(p, "media")
        ),
        message: /any CloudFront distribution/,
      },
    ],
  },
  "s3-access-logs": {
    fails: [{ name: "media without access logs", base: sb, breakIt: (p) => (remove(p, "media-logging"), urnOf(p, "media")) }],
  },
  "s3-lifecycle-abort-uploads": {
    fails: [
      { name: "log bucket without lifecycle", base: sb, breakIt: (p) => (remove(p, "logs-lifecycle"), urnOf(p, "logs")) },
      { name: "rule disabled", base: sb, breakIt: (p) => (set(p, "media-lifecycle", "rules.0.status", "Disabled"), urnOf(p, "media")) },
    ],
  },
};

/** S3 companions match buckets by their physical name too (a bucket given `bucket: "…"`). */
export const physicallyNamedBucket = variant(sb, (p) => {
  set(p, "media", "bucket", "shop-media-prod");
  for (const r of p.resources)
    if (r.inputs.bucket === id("media") && r.type !== T.bucket[0]) r.inputs.bucket = "shop-media-prod";
});
