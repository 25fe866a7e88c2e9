/**
 * What every django-tiers server VM shares, whether it is the single box or
 * a member of a fleet: its Debian image and its instance role, scoped to
 * exactly the secrets, parameters, bucket prefixes, queues and log group it
 * uses. Free functions that declare children under a component with that
 * component's naming (`${parent.name}-role`, …), so every server's role
 * looks the same and is reviewed in one place.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { applyTransform, Component, Transform, stackTags } from "./component";

/** Debian's own AWS account: the official Debian cloud images. */
export const DEBIAN_AMI_OWNER = "136693071363";

/**
 * An official Debian 12 (bookworm) AMI of an architecture, looked up in
 * Debian's account: the one named `name`, else the newest.
 */
export function debianAmi(parent: pulumi.Resource, architecture: "arm64" | "x86_64", name?: string): pulumi.Output<aws.ec2.GetAmiResult> {
  return aws.ec2.getAmiOutput({
    owners: [DEBIAN_AMI_OWNER],
    mostRecent: true,
    filters: [
      { name: "name", values: [name ?? `debian-12-${architecture === "arm64" ? "arm64" : "amd64"}-*`] },
      { name: "architecture", values: [architecture] },
      { name: "virtualization-type", values: ["hvm"] },
      { name: "root-device-type", values: ["ebs"] },
    ],
  }, { parent });
}

/** Where a server reads and writes. Its role is scoped to exactly these. */
export interface ServerAccess {
  artifactsBucketArn: pulumi.Input<string>;
  /** Name of the artifacts bucket (where the configuration document goes). */
  artifactsBucket: pulumi.Input<string>;
  /**
   * Key prefix the server writes database dumps under, ending in "/". Omit it
   * where no server-side dump runs (fleets: RDS keeps the backups), and the
   * role gets no write access to the bucket at all.
   */
  backupPrefix?: string;
  secretArns: pulumi.Input<string>[];
  parameterArns: pulumi.Input<string>[];
  kmsKeyArn: pulumi.Input<string>;
  /** Static and media buckets (object storage): read, write and delete objects, list the bucket. */
  fileBucketArns?: pulumi.Input<string>[];
  /**
   * SQS task queues (the SQS broker): receive, delete, change visibility,
   * read attributes, resolve the URL and send, on exactly these ARNs.
   * The app servers send, the workers receive; both need the same actions
   * because kombu checks the queue's attributes on connect.
   */
  queueArns?: pulumi.Input<string>[];
}

export interface ServerInstanceRoleArgs {
  /** The role's IAM description: who uses it and for what. */
  description: string;
  access: ServerAccess;
  /** The server's configuration pointer (BoxConfig's parameter), readable besides `access.parameterArns`. */
  configParameterArn: pulumi.Input<string>;
  /** The server's CloudWatch log group, which it ships its logs to. */
  logGroupArn: pulumi.Input<string>;
  /**
   * The autoscaling group whose lifecycle hooks the server completes (a
   * worker that drains before it terminates). The permission is scoped to
   * that group's ARN pattern, built from its name: the group's own ARN would
   * depend on the group, whose instances need the role first.
   */
  lifecycleHook?: { autoScalingGroupName: pulumi.Input<string> };
  /**
   * The server is in an autoscaling group: its CloudWatch agent reads the
   * instance's tags (`ec2:DescribeTags`, which has no resource-level
   * permissions) to find the group's name for its metrics.
   * @default false
   */
  inAutoScalingGroup?: boolean;
  /**
   * Key prefix of the artifacts bucket where SSM writes the output of the
   * rollout association's runs, ending in "/": the agent uploads it with
   * the instance's role.
   * @default undefined (no rollout association targets the server)
   */
  rolloutOutputPrefix?: string;
  transform?: Transform<aws.iam.RoleArgs>;
}

export interface ServerInstanceRole {
  role: aws.iam.Role;
  profile: aws.iam.InstanceProfile;
  accessPolicy: aws.iam.RolePolicy;
  ssmCore: aws.iam.RolePolicyAttachment;
}

/** The EC2 trust policy every server role has. */
const EC2_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** The SQS actions of a Celery/kombu producer and consumer, no more (no purge, no delete queue). */
export const QUEUE_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes",
  "sqs:GetQueueUrl",
  "sqs:SendMessage",
] as const;

/** What a draining server does with its group's termination hook. */
export const LIFECYCLE_ACTIONS = ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"] as const;

/**
 * The instance role of a server VM, as children of `parent`: `role`,
 * `ssm-core` (Session Manager instead of SSH; the same agent runs
 * rollouts), `access` (the scoped inline policy) and `profile`.
 */
export function serverInstanceRole(parent: Component, args: ServerInstanceRoleArgs): ServerInstanceRole {
  const name = (role: string) => `${parent.name}-${role}`;
  const partition = aws.getPartitionOutput({}, { parent }).partition;
  const [roleArgs, roleOpts] = applyTransform<aws.iam.RoleArgs>(args.transform, name("role"), {
    description: args.description,
    assumeRolePolicy: EC2_TRUST,
    tags: stackTags(),
  }, { parent });
  const role = new aws.iam.Role(name("role"), roleArgs, { ...roleOpts, parent });

  const ssmCore = new aws.iam.RolePolicyAttachment(name("ssm-core"), {
    role: role.name,
    policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
  }, { parent });

  const a = args.access;
  const hookGroupArn = args.lifecycleHook
    ? pulumi.interpolate`arn:${partition}:autoscaling:${aws.getRegionOutput({}, { parent }).region}:${aws.getCallerIdentityOutput({}, { parent }).accountId}:autoScalingGroup:*:autoScalingGroupName/${args.lifecycleHook.autoScalingGroupName}`
    : undefined;
  const accessPolicy = new aws.iam.RolePolicy(name("access"), {
    role: role.id,
    policy: pulumi
      .all([
        a.artifactsBucketArn,
        pulumi.all(a.secretArns),
        pulumi.all([...a.parameterArns, args.configParameterArn]),
        a.kmsKeyArn,
        args.logGroupArn,
        pulumi.all(a.fileBucketArns ?? []),
        pulumi.all(a.queueArns ?? []),
        pulumi.output(hookGroupArn),
      ])
      .apply(([bucketArn, secretArns, parameterArns, keyArn, logGroupArn, fileBucketArns, queueArns, groupArn]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: secretArns },
            { Sid: "ReadReleasePointers", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: parameterArns },
            {
              Sid: "ReadReleaseBundlesAndConfig",
              Effect: "Allow",
              Action: ["s3:GetObject"],
              Resource: [`${bucketArn}/releases/*`, `${bucketArn}/config/*`],
            },
            ...(a.backupPrefix !== undefined
              ? [
                  { Sid: "WriteAndReadBackups", Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject"], Resource: [`${bucketArn}/${a.backupPrefix}*`] },
                  {
                    Sid: "ListBackups",
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: [bucketArn],
                    Condition: { StringLike: { "s3:prefix": [`${a.backupPrefix}*`] } },
                  },
                ]
              : []),
            ...(args.rolloutOutputPrefix !== undefined
              ? [{ Sid: "WriteRolloutOutput", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn}/${args.rolloutOutputPrefix}*`] }]
              : []),
            { Sid: "UseStackKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [keyArn] },
            {
              Sid: "ShipLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              Resource: [logGroupArn, `${logGroupArn}:*`],
            },
            {
              // The CloudWatch agent's memory and disk metrics, in its own namespace only.
              Sid: "PublishAgentMetrics",
              Effect: "Allow",
              Action: ["cloudwatch:PutMetricData"],
              Resource: "*",
              Condition: { StringEquals: { "cloudwatch:namespace": "CWAgent" } },
            },
            ...(args.inAutoScalingGroup ? [{ Sid: "AgentFindsItsGroup", Effect: "Allow", Action: ["ec2:DescribeTags"], Resource: "*" }] : []),
            ...(fileBucketArns.length
              ? [
                  {
                    Sid: "StaticAndMediaFiles",
                    Effect: "Allow",
                    Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    Resource: fileBucketArns.map((arn) => `${arn}/*`),
                  },
                  { Sid: "ListStaticAndMediaFiles", Effect: "Allow", Action: ["s3:ListBucket"], Resource: fileBucketArns },
                ]
              : []),
            ...(queueArns.length ? [{ Sid: "TaskQueues", Effect: "Allow", Action: [...QUEUE_ACTIONS], Resource: queueArns }] : []),
            ...(groupArn ? [{ Sid: "DrainBeforeTermination", Effect: "Allow", Action: [...LIFECYCLE_ACTIONS], Resource: [groupArn] }] : []),
          ],
        }),
      ),
  }, { parent });
  const profile = new aws.iam.InstanceProfile(name("profile"), { role: role.name, tags: stackTags() }, { parent });
  return { role, profile, accessPolicy, ssmCore };
}
