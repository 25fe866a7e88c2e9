import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface PrivateBucketArgs {
  /**
   * KMS key for default encryption (SSE-KMS with an S3 bucket key, so KMS
   * requests stay cheap). Without it, SSE-S3 (AES-256) — required for a
   * bucket that receives S3 server access logs.
   */
  kmsKeyArn?: pulumi.Input<string>;
  /**
   * Where S3 writes this bucket's access logs. Leave unset only for the log
   * bucket itself.
   */
  accessLogs?: { bucket: pulumi.Input<string>; prefix: string };
  /**
   * Let S3's log delivery write into this bucket (it becomes a log bucket).
   * @default false
   */
  receivesAccessLogs?: boolean;
  /**
   * Days old object versions are kept after being overwritten or deleted.
   * @default 90
   */
  noncurrentVersionDays?: number;
  /**
   * More bucket-policy statements, appended after ours: the deny of
   * non-TLS requests always stays first, so no statement can reopen plain
   * HTTP. A function receives this bucket's ARN, for statements about the
   * bucket itself. The public access block refuses a statement that makes
   * the bucket public.
   * @default none
   * @example (bucketArn) => distributionArn.apply((arn) => [cloudFrontReadStatement(bucketArn, arn)])
   */
  extraPolicyStatements?: PolicyStatements;
  /** More lifecycle rules (e.g. expiring backups under a prefix). */
  lifecycleRules?: aws.types.input.s3.BucketLifecycleConfigurationRule[];
  /**
   * Keep the bucket (and its objects) when the stack is destroyed or the
   * resource replaced. On for buckets that hold the user's data.
   * @default true
   */
  retainOnDelete?: boolean;
  /**
   * Object ownership. `BucketOwnerPreferred` re-enables ACLs, which only
   * CloudFront's standard logging needs (it writes through an ACL grant);
   * every other bucket keeps ACLs off.
   * @default "BucketOwnerEnforced"
   */
  objectOwnership?: "BucketOwnerEnforced" | "BucketOwnerPreferred";
  /**
   * Origins (`https://host`) whose pages may read the bucket's objects in
   * CORS mode (GET and HEAD): a page loading a font from the bucket needs
   * it. Name each origin; `*` is refused. Empty or unset: no CORS rule.
   * @default none
   * @example ["https://shop.example.com", "https://www.shop.example.com"]
   */
  corsOrigins?: string[];
  transform?: {
    bucket?: Transform<aws.s3.BucketArgs>;
    policy?: Transform<aws.s3.BucketPolicyArgs>;
    lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs>;
    cors?: Transform<aws.s3.BucketCorsConfigurationArgs>;
  };
}

const CORS_ORIGIN = /^https?:\/\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/;

/** Bucket-policy statements: a list, or a function of the bucket's ARN returning one. */
export type PolicyStatements = pulumi.Input<object[]> | ((bucketArn: string) => pulumi.Input<object[]>);

/**
 * A bucket nobody outside the account can read: public access blocked (all
 * four flags), ACLs disabled, encrypted by default, versioned, TLS-only,
 * incomplete uploads cleaned up, access logged. Never emptied on delete.
 */
export class PrivateBucket extends Component {
  public readonly bucket: aws.s3.Bucket;
  /** The bucket's name. */
  public readonly id: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;
  /** The bucket policy; wait on it before a service that tests its access (ALB access logs). */
  public readonly policy: aws.s3.BucketPolicy;
  /** The ownership controls; wait on them before a service that writes with ACLs (CloudFront's logs). */
  public readonly ownership: aws.s3.BucketOwnershipControls;

  constructor(name: string, args: PrivateBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("PrivateBucket", name, opts);
    for (const origin of args.corsOrigins ?? []) {
      if (typeof origin !== "string" || !CORS_ORIGIN.test(origin)) {
        throw new Error(`PrivateBucket ${name}: corsOrigins: ${JSON.stringify(origin)} is not an origin like "https://shop.example.com" (scheme and lowercase host, no path, no wildcard)`);
      }
    }
    const bucket = this.child(aws.s3.Bucket, "bucket", {
      // Never delete objects implicitly: a destroy fails on a non-empty bucket instead of losing data.
      forceDestroy: false,
      tags: stackTags(),
    }, args.transform?.bucket, { retainOnDelete: args.retainOnDelete ?? true });

    const publicAccess = this.child(aws.s3.BucketPublicAccessBlock, "public-access", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    this.ownership = this.child(aws.s3.BucketOwnershipControls, "ownership", {
      bucket: bucket.id,
      rule: { objectOwnership: args.objectOwnership ?? "BucketOwnerEnforced" },
    });
    this.child(aws.s3.BucketServerSideEncryptionConfiguration, "encryption", {
      bucket: bucket.id,
      rules: [
        args.kmsKeyArn
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    });
    const versioning = this.child(aws.s3.BucketVersioning, "versioning", {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
    if (args.accessLogs) {
      this.child(aws.s3.BucketLogging, "access-logs", {
        bucket: bucket.id,
        targetBucket: args.accessLogs.bucket,
        targetPrefix: args.accessLogs.prefix,
      });
    }

    const account = aws.getCallerIdentityOutput({}, { parent: this });
    const given = args.extraPolicyStatements;
    const extra = typeof given === "function" ? bucket.arn.apply(given) : pulumi.output(given ?? []);
    const policy = pulumi.all([bucket.arn, account.accountId, extra]).apply(([arn, accountId, extraStatements]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [arn, `${arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          ...(args.receivesAccessLogs
            ? [{
                Sid: "S3ServerAccessLogsFromThisAccount",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${arn}/*`,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
              }]
            : []),
          ...extraStatements,
        ],
      }),
    );
    // The policy waits for the public access block: with it, a mistakenly public statement is refused, not applied.
    this.policy = this.child(aws.s3.BucketPolicy, "policy", { bucket: bucket.id, policy }, args.transform?.policy, { dependsOn: [publicAccess] });

    this.child(aws.s3.BucketLifecycleConfiguration, "lifecycle", {
      bucket: bucket.id,
      rules: [
        { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        { id: "expire-old-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 90 } },
        ...(args.lifecycleRules ?? []),
      ],
    }, args.transform?.lifecycle, { dependsOn: [versioning] });

    if (args.corsOrigins?.length) {
      this.child(aws.s3.BucketCorsConfiguration, "cors", {
        bucket: bucket.id,
        corsRules: [{
          id: "reads-from-the-site",
          allowedOrigins: args.corsOrigins,
          allowedMethods: ["GET", "HEAD"],
          maxAgeSeconds: 86400,
        }],
      }, args.transform?.cors);
    }

    this.bucket = bucket;
    this.id = bucket.id;
    this.arn = bucket.arn;
    this.registerOutputs({ id: this.id, arn: this.arn });
  }
}
