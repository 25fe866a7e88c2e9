/**
 * S3 buckets (static, media, artifacts, logs) and their companion resources,
 * which name the bucket by id in `bucket`. A bucket is a *log bucket* when it
 * receives logs: the `targetBucket` of a BucketLogging, an ALB's
 * `accessLogs.bucket`, or a CloudFront `loggingConfig.bucket`. Log buckets do
 * not log themselves and need no versioning; a CloudFront standard-logging
 * bucket must keep ACLs (`BucketOwnerPreferred`), because CloudFront writes
 * its logs with an ACL.
 */
import { allows, parsePolicy, type Statement } from "../policy-documents";
import { eachResource, notApplicable, ofType, refersTo, resolve } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, field } from "../values";

const NO_BUCKETS = "no S3 bucket in this plan";

const buckets = (plan: PlanUnderTest) => ofType(plan, T.bucket);

/** Companion resources (public access block, versioning, …) of a bucket. */
export function companions(plan: PlanUnderTest, types: readonly string[], bucket: PlannedResource): PlannedResource[] {
  return ofType(plan, types).filter((c) => refersTo(c.inputs.bucket, bucket));
}

/** A bucket from a domain name such as `logs.s3.amazonaws.com` (CloudFront's logging bucket). */
function bucketFromDomain(plan: PlanUnderTest, domain: unknown): PlannedResource | undefined {
  const d = asString(domain);
  if (!d) return undefined;
  const name = d.replace(/\.s3[.-].*$/, "");
  return resolve(plan, d, T.bucket) ?? ofType(plan, T.bucket).find((b) => b.name === name || refersTo(name, b));
}

export function cloudfrontLogBuckets(plan: PlanUnderTest): PlannedResource[] {
  return ofType(plan, T.distribution)
    .map((d) => bucketFromDomain(plan, field(d.inputs, "loggingConfig.bucket")))
    .filter((b): b is PlannedResource => !!b);
}

/** Buckets that receive logs (see the module comment). */
export function logBuckets(plan: PlanUnderTest): PlannedResource[] {
  const found = [
    ...ofType(plan, T.bucketLogging).map((l) => resolve(plan, l.inputs.targetBucket, T.bucket)),
    ...ofType(plan, T.loadBalancer).map((lb) => resolve(plan, field(lb.inputs, "accessLogs.bucket"), T.bucket)),
    ...cloudfrontLogBuckets(plan),
  ];
  return [...new Set(found.filter((b): b is PlannedResource => !!b))];
}

/** The statements of every policy attached to the bucket (BucketPolicy and the inline `policy`). */
function bucketStatements(plan: PlanUnderTest, bucket: PlannedResource): { statements: Statement[]; errors: string[] } {
  const docs = [...companions(plan, T.bucketPolicy, bucket).map((p) => p.inputs.policy)];
  if (bucket.inputs.policy !== undefined) docs.push(bucket.inputs.policy);
  const statements: Statement[] = [];
  const errors: string[] = [];
  for (const doc of docs) {
    const parsed = parsePolicy(doc);
    if ("error" in parsed) errors.push(`bucket policy: ${parsed.error}`);
    else statements.push(...parsed.statements);
  }
  return { statements, errors };
}

function bucketCheck(
  plan: PlanUnderTest,
  each: (b: PlannedResource) => (string | false | undefined)[],
  which: (plan: PlanUnderTest) => PlannedResource[] = buckets,
): ReturnType<Check["run"]> {
  if (!buckets(plan).length) return notApplicable(NO_BUCKETS);
  return eachResource(which(plan), each);
}

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/**
 * A public access block with all four flags on every bucket, so no later
 * ACL or policy edit can make objects public. Media is served through
 * CloudFront (OAC), which needs none of them off.
 * Refs: CKV_AWS_53, CKV_AWS_54, CKV_AWS_55, CKV_AWS_56, CKV2_AWS_6,
 * AVD-AWS-0086, AVD-AWS-0087, AVD-AWS-0091, AVD-AWS-0093, AVD-AWS-0094.
 */
export const s3PublicAccessBlock: Check = {
  id: "s3-public-access-block",
  title: "Every bucket blocks public access (all four flags)",
  refs: ["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6", "AVD-AWS-0086", "AVD-AWS-0087", "AVD-AWS-0091", "AVD-AWS-0093", "AVD-AWS-0094"],
  description: "Without the block, one ACL or policy edit publishes private uploads to the internet.",
  run: (plan) =>
    bucketCheck(plan, (b) => {
      const blocks = companions(plan, T.bucketPublicAccessBlock, b);
      if (!blocks.length) return ["has no BucketPublicAccessBlock"];
      const off = PAB_FLAGS.filter((f) => !blocks.some((pab) => asBool(pab.inputs[f]) === true));
      return [off.length > 0 && `public access block does not set ${off.join(", ")}`];
    }),
};

/**
 * ACLs disabled (`BucketOwnerEnforced`): access is decided by policies only.
 * A CloudFront standard-logging bucket keeps ACLs with `BucketOwnerPreferred`,
 * as CloudFront requires. Refs: CKV2_AWS_65.
 */
export const s3AclsDisabled: Check = {
  id: "s3-acls-disabled",
  title: "Bucket ACLs are disabled (BucketOwnerEnforced)",
  refs: ["CKV2_AWS_65"],
  description: "ACLs are a second, easily forgotten way to grant access; objects written by others stay theirs.",
  run(plan) {
    const cfLogs = cloudfrontLogBuckets(plan);
    return bucketCheck(plan, (b) => {
      const needsAcl = cfLogs.includes(b);
      const wanted = needsAcl ? "BucketOwnerPreferred" : "BucketOwnerEnforced";
      const owners = companions(plan, T.bucketOwnershipControls, b).map((o) => asString(field(o.inputs, "rule.objectOwnership")));
      const acl = asString(b.inputs.acl);
      return [
        !owners.includes(wanted) &&
          `objectOwnership is ${owners.length ? owners.join(", ") : "not set (no BucketOwnershipControls)"}, not ${wanted}${needsAcl ? " (CloudFront log bucket)" : ""}`,
        !needsAcl && acl !== undefined && acl !== "private" && `acl is "${acl}"`,
        !needsAcl && asArray(b.inputs.grants).length > 0 && "has ACL grants",
        !needsAcl && companions(plan, T.bucketAcl, b).length > 0 && "has a BucketAcl resource",
      ];
    });
  },
};

/**
 * Default server-side encryption declared (AES256 or KMS).
 * Refs: CKV_AWS_19, CKV_AWS_145, AVD-AWS-0088, AVD-AWS-0132.
 */
export const s3Encryption: Check = {
  id: "s3-encryption",
  title: "Every bucket declares default encryption (SSE-S3 or KMS)",
  refs: ["CKV_AWS_19", "CKV_AWS_145", "AVD-AWS-0088", "AVD-AWS-0132"],
  description: "An explicit default keeps objects encrypted whatever the account default becomes.",
  run: (plan) =>
    bucketCheck(plan, (b) => {
      const rules = [
        ...companions(plan, T.bucketEncryption, b).flatMap((e) => asArray(e.inputs.rules)),
        ...asArray(field(b.inputs, "serverSideEncryptionConfiguration.rule")),
      ];
      const algorithms = rules.map((r) => asString(field(r, "applyServerSideEncryptionByDefault.sseAlgorithm")));
      return [
        !algorithms.some((a) => a && ["AES256", "aws:kms", "aws:kms:dsse"].includes(a)) &&
          "has no server-side encryption configuration with AES256 or aws:kms",
      ];
    }),
};

/**
 * Versioning on every bucket that is not a log bucket (media, static,
 * artifacts): an overwrite or delete can be undone. Refs: CKV_AWS_21, AVD-AWS-0090.
 */
export const s3Versioning: Check = {
  id: "s3-versioning",
  title: "Media and artifact buckets are versioned",
  refs: ["CKV_AWS_21", "AVD-AWS-0090"],
  description: "Without versioning a buggy delete or overwrite of user uploads is permanent.",
  run(plan) {
    const logs = logBuckets(plan);
    return bucketCheck(
      plan,
      (b) => {
        const statuses = [
          ...companions(plan, T.bucketVersioning, b).map((v) => asString(field(v.inputs, "versioningConfiguration.status"))),
          asBool(field(b.inputs, "versioning.enabled")) === true ? "Enabled" : undefined,
        ];
        return [!statuses.includes("Enabled") && "versioning is not Enabled"];
      },
      (p) => buckets(p).filter((b) => !logs.includes(b)),
    );
  },
};

const denyInsecure = (st: Statement) =>
  st.effect === "Deny" &&
  st.principals?.anyone === true &&
  st.actions.some((a) => a === "*" || a.toLowerCase() === "s3:*") &&
  (st.conditions.Bool?.["aws:securetransport"] ?? []).includes("false");

/**
 * The bucket policy denies every request not made over TLS
 * (`aws:SecureTransport=false`). Refs: CKV_AWS_379.
 */
export const s3DenyInsecureTransport: Check = {
  id: "s3-deny-insecure-transport",
  title: "Bucket policies deny requests without TLS",
  refs: ["CKV_AWS_379"],
  description: "Without the deny, a misconfigured client can read or write objects over plain HTTP.",
  run: (plan) =>
    bucketCheck(plan, (b) => {
      const { statements, errors } = bucketStatements(plan, b);
      return [...errors, !statements.some(denyInsecure) && "no policy statement denies s3:* when aws:SecureTransport is false"];
    }),
};

const READ_ACTION = "s3:GetObject";

/**
 * Nobody but a CloudFront distribution (through OAC, pinned with an
 * `AWS:SourceArn` condition) is granted reads by a bucket policy; no
 * statement allows an anonymous (`*`) principal at all.
 * Refs: CKV_AWS_70.
 */
export const s3ReadOnlyThroughCloudFront: Check = {
  id: "s3-read-only-through-cloudfront",
  title: "Bucket policies grant GetObject only to CloudFront (OAC, pinned by SourceArn)",
  refs: ["CKV_AWS_70"],
  description: "A `*` principal, or CloudFront without a SourceArn, lets anyone (or any distribution) read the bucket.",
  run: (plan) =>
    bucketCheck(plan, (b) => {
      const { statements, errors } = bucketStatements(plan, b);
      return [
        ...errors,
        ...statements.flatMap((st) => {
          if (st.effect !== "Allow") return [];
          const label = st.sid ? `statement "${st.sid}"` : "a statement";
          if (st.principals?.anyone) return [`${label} allows the anonymous principal "*"`];
          if (!allows(st, READ_ACTION)) return [];
          const cloudfront = st.principals?.service.includes("cloudfront.amazonaws.com");
          const pinned = Object.values(st.conditions).some((c) => (c["aws:sourcearn"] ?? []).length > 0);
          if (cloudfront && !pinned) return [`${label} lets any CloudFront distribution read (no AWS:SourceArn condition)`];
          const others = st.principals?.service.filter((s) => s !== "cloudfront.amazonaws.com") ?? [];
          return others.length ? [`${label} grants ${READ_ACTION} to ${others.join(", ")}`] : [];
        }),
      ];
    }),
};

/** Server access logs for every bucket that is not itself a log bucket. Refs: CKV_AWS_18. */
export const s3AccessLogs: Check = {
  id: "s3-access-logs",
  title: "Buckets write access logs (except the log bucket)",
  refs: ["CKV_AWS_18"],
  description: "Without access logs there is no record of who read or deleted an object.",
  run(plan) {
    const logs = logBuckets(plan);
    return bucketCheck(
      plan,
      (b) => [
        !companions(plan, T.bucketLogging, b).some((l) => l.inputs.targetBucket) &&
          !field(b.inputs, "logging.targetBucket") &&
          "has no BucketLogging",
      ],
      (p) => buckets(p).filter((b) => !logs.includes(b)),
    );
  },
};

/**
 * A lifecycle configuration with an enabled rule that aborts incomplete
 * multipart uploads (they are billed and invisible).
 * Refs: CKV2_AWS_61, CKV_AWS_300.
 */
export const s3LifecycleAbortUploads: Check = {
  id: "s3-lifecycle-abort-uploads",
  title: "Bucket lifecycles abort incomplete multipart uploads",
  refs: ["CKV2_AWS_61", "CKV_AWS_300"],
  description: "Abandoned multipart uploads are invisible in listings and billed forever.",
  run: (plan) =>
    bucketCheck(plan, (b) => {
      const configs = companions(plan, T.bucketLifecycle, b);
      if (!configs.length) return ["has no BucketLifecycleConfiguration"];
      const aborts = configs
        .flatMap((c) => asArray(c.inputs.rules))
        .some(
          (r) =>
            asString(asRecord(r)?.status) === "Enabled" &&
            (asNumber(field(r, "abortIncompleteMultipartUpload.daysAfterInitiation")) ?? 0) > 0,
        );
      return [!aborts && "no enabled lifecycle rule sets abortIncompleteMultipartUpload.daysAfterInitiation"];
    }),
};

export const S3_CHECKS: Check[] = [
  s3PublicAccessBlock,
  s3AclsDisabled,
  s3Encryption,
  s3Versioning,
  s3DenyInsecureTransport,
  s3ReadOnlyThroughCloudFront,
  s3AccessLogs,
  s3LifecycleAbortUploads,
];
