import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface StackKeyArgs {
  /**
   * Days KMS waits before deleting the key once it is scheduled for
   * deletion. Everything encrypted with it becomes unreadable after that.
   * @default 30
   */
  deletionWindowInDays?: number;
  /**
   * Let this account's CloudFront distributions decrypt with the key: the
   * CDN reads the static and media buckets (encrypted with it) through an
   * Origin Access Control. Which distribution may read which bucket is still
   * decided by each bucket's policy.
   * @default false
   */
  allowCloudFront?: boolean;
  /**
   * Let EC2 Auto Scaling's service-linked role (`AWSServiceRoleForAutoScaling`)
   * use the key: launch templates encrypt their volumes with it, and Auto
   * Scaling launches (and attaches volumes) as that role, which no IAM policy
   * of ours can grant. Without it every launch fails with
   * `Client.InternalError` (EC2 Auto Scaling user guide, "Required AWS KMS key
   * policy for use with encrypted volumes"). KMS refuses a policy naming a
   * role that does not exist: an account that never had an Auto Scaling
   * group creates it once with `aws iam create-service-linked-role
   * --aws-service-name autoscaling.amazonaws.com` (docs/runbooks/first-deploy.md).
   * @default false
   */
  allowAutoScaling?: boolean;
  transform?: { key?: Transform<aws.kms.KeyArgs> };
}

/**
 * The stack's customer-managed KMS key (about $1/month), rotated yearly: it
 * encrypts secrets, the artifacts bucket, log groups, the alert topic, the
 * box's disk and the backup vault.
 * Its policy lets the account's IAM policies grant use, lets CloudWatch
 * Logs use it for this account's log groups in this region, and lets this
 * account's alarms publish to the encrypted alert topic.
 */
export class StackKey extends Component {
  public readonly arn: pulumi.Output<string>;
  public readonly keyId: pulumi.Output<string>;
  public readonly nodes: { key: aws.kms.Key; alias: aws.kms.Alias };

  constructor(name: string, args: StackKeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("StackKey", name, opts);
    const account = aws.getCallerIdentityOutput({}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    const policy = pulumi.all([account.accountId, region.region, partition.partition]).apply(([accountId, regionName, part]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AccountAdministersKeyThroughIam",
            Effect: "Allow",
            Principal: { AWS: `arn:${part}:iam::${accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          {
            Sid: "CloudWatchLogsEncryptsThisAccountsLogGroups",
            Effect: "Allow",
            Principal: { Service: `logs.${regionName}.amazonaws.com` },
            Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            Resource: "*",
            Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${part}:logs:${regionName}:${accountId}:log-group:*` } },
          },
          {
            // Alarms publish to the stack's encrypted SNS topic; without this they fail silently.
            Sid: "CloudWatchAlarmsPublishToEncryptedTopic",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
            Resource: "*",
            Condition: { StringEquals: { "aws:SourceAccount": accountId } },
          },
          ...(args.allowCloudFront
            ? [{
                Sid: "CloudFrontReadsEncryptedFiles",
                Effect: "Allow",
                Principal: { Service: "cloudfront.amazonaws.com" },
                Action: ["kms:Decrypt"],
                Resource: "*",
                Condition: { ArnLike: { "aws:SourceArn": `arn:${part}:cloudfront::${accountId}:distribution/*` } },
              }]
            : []),
          ...(args.allowAutoScaling ? autoScalingStatements(`arn:${part}:iam::${accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`) : []),
        ],
      }),
    );
    const key = this.child(aws.kms.Key, "key", {
      description: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}: secrets, artifacts, logs, backups`,
      enableKeyRotation: true,
      deletionWindowInDays: args.deletionWindowInDays ?? 30,
      policy,
      tags: stackTags(),
    }, args.transform?.key);
    const alias = this.child(aws.kms.Alias, "alias", {
      name: keyAliasName(pulumi.getProject(), pulumi.getStack()),
      targetKeyId: key.keyId,
    });
    this.arn = key.arn;
    this.keyId = key.keyId;
    this.nodes = { key, alias };
    this.registerOutputs({ arn: this.arn });
  }
}

/** The two statements AWS's EC2 Auto Scaling guide requires for encrypted volumes ("Required AWS KMS key policy for use with encrypted volumes"). */
function autoScalingStatements(serviceLinkedRoleArn: string): object[] {
  return [
    {
      Sid: "AutoScalingUsesKeyForEncryptedVolumes",
      Effect: "Allow",
      Principal: { AWS: serviceLinkedRoleArn },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
    },
    {
      Sid: "AutoScalingAttachesEncryptedVolumes",
      Effect: "Allow",
      Principal: { AWS: serviceLinkedRoleArn },
      Action: "kms:CreateGrant",
      Resource: "*",
      Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
    },
  ];
}

/**
 * The stack key's alias. KMS takes only `[a-zA-Z0-9:/_-]` in alias names
 * (CreateAlias, AliasName), while Pulumi project and stack names may hold
 * dots: a dot becomes "_". Names without one are unchanged, so no existing
 * stack's alias is renamed.
 */
export function keyAliasName(project: string, stack: string): string {
  const safe = (s: string) => s.replace(/[^a-zA-Z0-9:/_-]/g, "_");
  return `alias/django-tiers/${safe(project)}/${safe(stack)}`;
}
