/**
 * The Pulumi type tokens the checks read, as @pulumi/aws 7 and
 * @pulumi/cloudflare 6 register them (`__pulumiType` in each module's .js).
 * Where a resource has a deprecated twin still accepted by the provider
 * (`aws:alb/*` beside `aws:lb/*`, the `*V2` S3 resources), both are listed so
 * a stack cannot pass a check by using the other spelling.
 */
export const T = {
  vpc: ["aws:ec2/vpc:Vpc"],
  subnet: ["aws:ec2/subnet:Subnet"],
  ec2Instance: ["aws:ec2/instance:Instance"],
  launchTemplate: ["aws:ec2/launchTemplate:LaunchTemplate"],
  autoscalingGroup: ["aws:autoscaling/group:Group"],
  ebsVolume: ["aws:ebs/volume:Volume"],
  eip: ["aws:ec2/eip:Eip"],
  eipAssociation: ["aws:ec2/eipAssociation:EipAssociation"],

  securityGroup: ["aws:ec2/securityGroup:SecurityGroup"],
  defaultSecurityGroup: ["aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"],
  ingressRule: ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"],
  egressRule: ["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"],
  legacyRule: ["aws:ec2/securityGroupRule:SecurityGroupRule"],

  rdsInstance: ["aws:rds/instance:Instance"],
  rdsParameterGroup: ["aws:rds/parameterGroup:ParameterGroup"],

  bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
  bucketPublicAccessBlock: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
  bucketOwnershipControls: ["aws:s3/bucketOwnershipControls:BucketOwnershipControls"],
  bucketAcl: ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"],
  bucketEncryption: [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
  ],
  bucketVersioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
  bucketPolicy: ["aws:s3/bucketPolicy:BucketPolicy"],
  bucketLogging: ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"],
  bucketLifecycle: [
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
  ],

  loadBalancer: ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
  listener: ["aws:lb/listener:Listener", "aws:alb/listener:Listener"],
  listenerRule: ["aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"],
  targetGroup: ["aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"],

  distribution: ["aws:cloudfront/distribution:Distribution"],
  originAccessControl: ["aws:cloudfront/originAccessControl:OriginAccessControl"],
  responseHeadersPolicy: ["aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"],
  originRequestPolicy: ["aws:cloudfront/originRequestPolicy:OriginRequestPolicy"],
  logDeliverySource: ["aws:cloudwatch/logDeliverySource:LogDeliverySource"],

  cloudflareZoneSetting: ["cloudflare:index/zoneSetting:ZoneSetting"],
  cloudflareDnsRecord: ["cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/record:Record"],

  replicationGroup: ["aws:elasticache/replicationGroup:ReplicationGroup"],

  queue: ["aws:sqs/queue:Queue"],
  queuePolicy: ["aws:sqs/queuePolicy:QueuePolicy"],

  secret: ["aws:secretsmanager/secret:Secret"],
  secretVersion: ["aws:secretsmanager/secretVersion:SecretVersion"],
  secretRotation: ["aws:secretsmanager/secretRotation:SecretRotation"],
  ssmParameter: ["aws:ssm/parameter:Parameter"],

  logGroup: ["aws:cloudwatch/logGroup:LogGroup"],
  metricAlarm: ["aws:cloudwatch/metricAlarm:MetricAlarm"],
  snsTopic: ["aws:sns/topic:Topic"],

  iamRole: ["aws:iam/role:Role"],
  iamRolePolicy: ["aws:iam/rolePolicy:RolePolicy"],
  iamRolePolicyAttachment: ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
  iamPolicy: ["aws:iam/policy:Policy"],
  iamUser: ["aws:iam/user:User"],
  iamUserPolicy: ["aws:iam/userPolicy:UserPolicy"],
  iamUserPolicyAttachment: ["aws:iam/userPolicyAttachment:UserPolicyAttachment"],
  iamPolicyAttachment: ["aws:iam/policyAttachment:PolicyAttachment"],
  iamGroupPolicy: ["aws:iam/groupPolicy:GroupPolicy"],
  iamAccessKey: ["aws:iam/accessKey:AccessKey"],

  kmsKey: ["aws:kms/key:Key"],
  acmCertificate: ["aws:acm/certificate:Certificate"],

  backupPlan: ["aws:backup/plan:Plan"],
  backupVault: ["aws:backup/vault:Vault"],
  backupSelection: ["aws:backup/selection:Selection"],
} as const;

/**
 * The tag components put on security groups (and may put on anything else)
 * to say what the resource is for. The security-group checks read it:
 * - `edge`   — takes traffic from the internet: the ALB's SG, or the single
 *              box's SG (nginx terminates TLS there). Only `edge` SGs may
 *              open 80/443 to 0.0.0.0/0 or ::/0.
 * - `app`    — the Django web VMs. Ingress only from `edge` SGs. A single box
 *              that talks to RDS or ElastiCache carries BOTH an `edge` SG and
 *              an `app` SG, so the database admits the `app` one.
 * - `worker` — task-queue VMs; no ingress needed.
 * - `database`, `cache` — RDS and ElastiCache; 5432/6379 only from `app` or
 *              `worker` SGs.
 */
export const ROLE_TAG = "django-tiers:role";
export type SecurityGroupRole = "edge" | "app" | "worker" | "database" | "cache";
