import * as pulumi from "@pulumi/pulumi";
import { Component } from "./component";
import { PolicyStatements, PrivateBucket, PrivateBucketArgs } from "./private-bucket";

export interface ArtifactsArgs {
  /** KMS key that encrypts the artifacts bucket. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Key prefix of database dumps, and how many days they are kept.
   * @example { prefix: "backups/", retentionDays: 14 }
   */
  backups: { prefix: string; retentionDays: number };
  /**
   * Days S3 access logs are kept.
   * @default 90
   */
  accessLogDays?: number;
  /**
   * More statements for the logs bucket's policy, e.g. the load balancer's
   * access-log delivery (`albLogDeliveryStatement`).
   */
  logsPolicyStatements?: PolicyStatements;
  transform?: { artifacts?: PrivateBucketArgs["transform"]; logs?: PrivateBucketArgs["transform"] };
}

/**
 * The stack's two always-present buckets: `artifacts` (release bundles and
 * database dumps; KMS-encrypted, versioned, access-logged) and `logs` (S3
 * access logs; SSE-S3, because S3 log delivery cannot write SSE-KMS).
 */
export class Artifacts extends Component {
  public readonly bucketName: pulumi.Output<string>;
  public readonly bucketArn: pulumi.Output<string>;
  public readonly logsBucketName: pulumi.Output<string>;
  /** The logs bucket's name, once its policy is in place (services that test delivery on creation wait for it). */
  public readonly logsBucketWithPolicy: pulumi.Output<string>;
  public readonly backupPrefix: string;
  public readonly nodes: { artifacts: PrivateBucket; logs: PrivateBucket };

  constructor(name: string, args: ArtifactsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Artifacts", name, opts);
    if (!/^[a-z0-9][a-z0-9/_-]*\/$/.test(args.backups.prefix)) {
      throw new Error(`Artifacts ${name}: backups.prefix must be a key prefix ending in "/" (got "${args.backups.prefix}")`);
    }
    const logs = new PrivateBucket(this.childName("logs"), {
      receivesAccessLogs: true,
      noncurrentVersionDays: 7,
      lifecycleRules: [{ id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days: args.accessLogDays ?? 90 } }],
      extraPolicyStatements: args.logsPolicyStatements,
      transform: args.transform?.logs,
    }, { parent: this });
    const artifacts = new PrivateBucket(this.childName("artifacts"), {
      kmsKeyArn: args.kmsKeyArn,
      accessLogs: { bucket: logs.id, prefix: "artifacts/" },
      lifecycleRules: [{
        id: "expire-database-dumps",
        status: "Enabled",
        filter: { prefix: args.backups.prefix },
        expiration: { days: args.backups.retentionDays },
      }],
      transform: args.transform?.artifacts,
    }, { parent: this });
    this.bucketName = artifacts.id;
    this.bucketArn = artifacts.arn;
    this.logsBucketName = logs.id;
    this.logsBucketWithPolicy = logs.policy.bucket;
    this.backupPrefix = args.backups.prefix;
    this.nodes = { artifacts, logs };
    this.registerOutputs({ bucketName: this.bucketName, logsBucketName: this.logsBucketName });
  }
}
