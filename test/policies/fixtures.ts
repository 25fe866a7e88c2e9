/**
 * Builders for planned resources and compliant baseline plans. Each check's
 * tests start from a baseline that passes and change one thing. References
 * follow the mock engine's conventions: ids are `<name>-id`, ARNs
 * `arn:aws:<service>:us-east-1:123456789012:<name>`.
 */
import { CLOUDFLARE_RANGES, MANAGED_SECURITY_HEADERS_POLICY } from "../../policies/checks/cdn";
import { T } from "../../policies/resource-types";
import { type PlannedResource, type PlanUnderTest, SecretValue } from "../../policies/types";
import { renderSsmAgentFiles, SSM_AGENT_SH } from "../../server/ssm-agent";
import type { RenderedFile } from "../../server/types";

export const ACCOUNT = "123456789012";
export const id = (name: string) => `${name}-id`;
export const arn = (service: string, name: string) => `arn:aws:${service}:us-east-1:${ACCOUNT}:${name}`;
export const json = (doc: unknown) => JSON.stringify(doc);

/** A planned resource as the mock engine captures it. */
export function res(
  type: string,
  name: string,
  inputs: Record<string, unknown> = {},
  options: Partial<PlannedResource["options"]> = {},
): PlannedResource {
  return {
    type,
    name,
    urn: `urn:pulumi:test::django-tiers::${type}::${name}`,
    parent: "",
    isProvider: false,
    isComponent: false,
    inputs,
    options: {
      protect: false,
      retainOnDelete: false,
      deleteBeforeReplace: false,
      ignoreChanges: [],
      aliases: 0,
      provider: "",
      dependsOn: [],
      ...options,
    },
  };
}

export function plan(resources: PlannedResource[], over: Partial<PlanUnderTest> = {}): PlanUnderTest {
  return { tier: "load-balanced", environment: "prod", resources, serverFiles: {}, relaxations: [], ...over };
}

// ------------------------------------------------------------ mutation helpers

export function find(p: PlanUnderTest, name: string): PlannedResource {
  const r = p.resources.find((x) => x.name === name);
  if (!r) throw new Error(`fixture has no resource named ${name}`);
  return r;
}

export const urnOf = (p: PlanUnderTest, name: string) => find(p, name).urn;

/** Sets `inputs.<path>` (dots; numeric parts index arrays); `undefined` deletes it. */
export function set(p: PlanUnderTest, name: string, path: string, value: unknown): PlanUnderTest {
  const keys = path.split(".");
  let cur: Record<string, unknown> = find(p, name).inputs;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === undefined) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return p;
}

export function remove(p: PlanUnderTest, ...names: string[]): PlanUnderTest {
  p.resources = p.resources.filter((r) => !names.includes(r.name));
  return p;
}

export function add(p: PlanUnderTest, ...resources: PlannedResource[]): PlanUnderTest {
  p.resources.push(...resources);
  return p;
}

/** Edits the content of the rendered file whose path ends with `suffix`. */
export function editFile(p: PlanUnderTest, suffix: string, edit: (content: string) => string): PlanUnderTest {
  const files = Object.values(p.serverFiles).flat().filter((f) => f.path.endsWith(suffix));
  if (!files.length) throw new Error(`fixture has no rendered file ending in ${suffix}`);
  for (const f of files) f.content = edit(f.content);
  return p;
}

export function filePath(p: PlanUnderTest, suffix: string): string {
  const f = Object.values(p.serverFiles).flat().find((x) => x.path.endsWith(suffix));
  if (!f) throw new Error(`fixture has no rendered file ending in ${suffix}`);
  return f.path;
}

// ------------------------------------------------------------------ builders

const [VPC] = T.vpc;
const [SUBNET] = T.subnet;
const [SG] = T.securityGroup;
const [DEFAULT_SG] = T.defaultSecurityGroup;
const [INGRESS] = T.ingressRule;

const egressAll = { protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "Outbound to AWS APIs and package mirrors" };
const world = (port: number, description: string) => ({
  protocol: "tcp",
  fromPort: port,
  toPort: port,
  cidrBlocks: ["0.0.0.0/0"],
  ipv6CidrBlocks: ["::/0"],
  description,
});

/** A security group tagged with its django-tiers role. */
export function sg(name: string, role: string, description: string, ingress: unknown[] = [], egress: unknown[] = [egressAll]): PlannedResource {
  return res(SG, name, { vpcId: id("net-vpc"), description, ingress, egress, tags: { "django-tiers:role": role } });
}

export function network(): PlannedResource[] {
  const subnet = (name: string, az: string, publicIps: boolean) =>
    res(SUBNET, name, { vpcId: id("net-vpc"), availabilityZone: az, cidrBlock: "10.0.0.0/24", ...(publicIps ? { mapPublicIpOnLaunch: true } : {}) });
  return [
    res(VPC, "net-vpc", { cidrBlock: "10.0.0.0/16", enableDnsHostnames: true }),
    res(DEFAULT_SG, "net-default-sg", { vpcId: id("net-vpc"), ingress: [], egress: [] }),
    subnet("net-public-a", "us-east-1a", true),
    subnet("net-public-b", "us-east-1b", true),
    subnet("net-private-a", "us-east-1a", false),
    subnet("net-private-b", "us-east-1b", false),
  ];
}

const metadataOptions = () => ({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });

const trust = json({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** An instance role, its profile and its permissions: its app's secret, the artifacts bucket, the release pointer. */
export function vmRole(prefix: string): PlannedResource[] {
  return [
    res(T.iamRole[0], `${prefix}-role`, { assumeRolePolicy: trust, description: "Instance role" }),
    res("aws:iam/instanceProfile:InstanceProfile", `${prefix}-profile`, { role: id(`${prefix}-role`) }),
    res(T.iamRolePolicy[0], `${prefix}-role-policy`, {
      role: id(`${prefix}-role`),
      policy: json({
        Version: "2012-10-17",
        Statement: [
          { Sid: "AppSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [arn("secretsmanager", "app-secret")] },
          { Sid: "Releases", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${arn("s3", "artifacts")}/releases/*`] },
          { Sid: "ReleasePointer", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [arn("ssm", "release-pointer")] },
        ],
      }),
    }),
  ];
}

export const BOX_USER_DATA = "#!/bin/bash\nset -euo pipefail\n/usr/local/sbin/django-tiers-provision --phases fetch,install,configure,release,verify\n";

/** The single box: edge SG (80/443 from the world), app SG (its identity for RDS/Redis), the VM and its role. */
export function singleBox(): PlannedResource[] {
  return [
    sg("box-edge-sg", "edge", "Single box: HTTP and HTTPS from the internet", [
      world(80, "HTTP from the internet (redirects to HTTPS, ACME challenges)"),
      world(443, "HTTPS from the internet"),
    ]),
    sg("box-app-sg", "app", "Single box: app identity for the database and cache", []),
    res(T.ec2Instance[0], "box", {
      ami: "ami-0123456789abcdef0",
      instanceType: "t4g.small",
      subnetId: id("net-public-a"),
      associatePublicIpAddress: true,
      vpcSecurityGroupIds: [id("box-edge-sg"), id("box-app-sg")],
      iamInstanceProfile: id("box-profile"),
      metadataOptions: metadataOptions(),
      rootBlockDevice: { encrypted: true, volumeSize: 20, volumeType: "gp3" },
      monitoring: true,
      userData: BOX_USER_DATA,
      tags: { Name: "box", "django-tiers:backup": "daily" },
    }),
    ...vmRole("box"),
  ];
}

/** The app's secret, encrypted with a rotating CMK, rotated monthly; the release pointer parameter. */
export const RELEASE_KEY = "releases/shop/0123456789ab.zip";
export const SECRET_KEY_VALUE = "django-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-!@#";
export const DB_PASSWORD_VALUE = "db-password-0123456789";
export function secrets(): PlannedResource[] {
  return [
    res(T.kmsKey[0], "secrets-key", { description: "Secrets", enableKeyRotation: true }),
    res(T.secret[0], "app-secret", { kmsKeyId: id("secrets-key"), description: "Django secrets" }),
    res(T.secretVersion[0], "app-secret-version", {
      secretId: id("app-secret"),
      secretString: new SecretValue(json({ DJANGO_SECRET_KEY: SECRET_KEY_VALUE, DATABASE_PASSWORD: DB_PASSWORD_VALUE })),
    }),
    res(T.secretRotation[0], "app-secret-rotation", {
      secretId: id("app-secret"),
      rotationLambdaArn: arn("lambda", "rotate-app-secret"),
      rotationRules: { automaticallyAfterDays: 30 },
    }),
    // The AWS SDK wraps every parameter value in pulumi.secret, String or not; the bundle object carries the same key in clear.
    res(T.ssmParameter[0], "release-pointer", { name: "/django-tiers/shop/prod/shop/release", type: "String", value: new SecretValue(RELEASE_KEY) }),
    res("aws:s3/bucketObjectv2:BucketObjectv2", "release-bundle", { bucket: id("artifacts"), key: RELEASE_KEY, contentType: "application/zip" }),
    res(T.logGroup[0], "app-logs", { retentionInDays: 30, kmsKeyId: arn("kms", "logs-key") }),
  ];
}

/** RDS PostgreSQL, compliant for prod, admitting `appSg` on 5432. */
export function database(appSg = "app-sg"): PlannedResource[] {
  return [
    sg("db-sg", "database", "PostgreSQL", [], []),
    res(INGRESS, "db-from-app", {
      securityGroupId: id("db-sg"),
      referencedSecurityGroupId: id(appSg),
      ipProtocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      description: "PostgreSQL from the app servers",
    }),
    res(T.rdsParameterGroup[0], "db-params", {
      family: "postgres16",
      parameters: [
        { name: "rds.force_ssl", value: "1" },
        { name: "log_statement", value: "ddl" },
        { name: "log_min_duration_statement", value: "1000" },
      ],
    }),
    res(T.rdsInstance[0], "db", {
      engine: "postgres",
      engineVersion: "16.3",
      instanceClass: "db.t4g.medium",
      allocatedStorage: 20,
      storageEncrypted: true,
      kmsKeyId: arn("kms", "db-key"),
      publiclyAccessible: false,
      multiAz: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "db-final",
      parameterGroupName: id("db-params"),
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      autoMinorVersionUpgrade: true,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: arn("kms", "db-key"),
      manageMasterUserPassword: true,
      username: "shop",
      vpcSecurityGroupIds: [id("db-sg")],
    }),
  ];
}

const denyInsecure = (bucket: string) => ({
  Sid: "DenyInsecureTransport",
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: [arn("s3", bucket), `${arn("s3", bucket)}/*`],
  Condition: { Bool: { "aws:SecureTransport": "false" } },
});

/** A bucket and its companions; `logTo` names the access-log bucket. */
export function bucket(
  name: string,
  opts: { logTo?: string; versioned?: boolean; ownership?: string; statements?: unknown[] } = {},
): PlannedResource[] {
  const b = id(name);
  return [
    res(T.bucket[0], name, { forceDestroy: false }),
    res(T.bucketPublicAccessBlock[0], `${name}-pab`, {
      bucket: b,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
    res(T.bucketOwnershipControls[0], `${name}-ownership`, { bucket: b, rule: { objectOwnership: opts.ownership ?? "BucketOwnerEnforced" } }),
    res(T.bucketEncryption[0], `${name}-sse`, { bucket: b, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }),
    ...(opts.versioned !== false ? [res(T.bucketVersioning[0], `${name}-versioning`, { bucket: b, versioningConfiguration: { status: "Enabled" } })] : []),
    ...(opts.logTo ? [res(T.bucketLogging[0], `${name}-logging`, { bucket: b, targetBucket: id(opts.logTo), targetPrefix: `${name}/` })] : []),
    res(T.bucketLifecycle[0], `${name}-lifecycle`, {
      bucket: b,
      rules: [{ id: "abort-uploads", status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } }],
    }),
    res(T.bucketPolicy[0], `${name}-policy`, {
      bucket: b,
      policy: json({ Version: "2012-10-17", Statement: [denyInsecure(name), ...(opts.statements ?? [])] }),
    }),
  ];
}

/** Log bucket (ALB and S3 access logs), media bucket read by CloudFront through OAC, artifacts bucket. */
export function buckets(): PlannedResource[] {
  return [
    ...bucket("logs", {
      versioned: false,
      statements: [
        {
          Sid: "AlbLogDelivery",
          Effect: "Allow",
          Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: `${arn("s3", "logs")}/alb/*`,
        },
      ],
    }),
    ...bucket("media", {
      logTo: "logs",
      statements: [
        {
          Sid: "CloudFrontReadsMedia",
          Effect: "Allow",
          Principal: { Service: "cloudfront.amazonaws.com" },
          Action: "s3:GetObject",
          Resource: `${arn("s3", "media")}/*`,
          Condition: { StringEquals: { "AWS:SourceArn": arn("cloudfront", "cdn") } },
        },
      ],
    }),
    ...bucket("artifacts", { logTo: "logs" }),
  ];
}

const [LISTENER] = T.listener;
const [TG] = T.targetGroup;
const [ASG] = T.autoscalingGroup;

function targetGroup(name: string): PlannedResource {
  return res(TG, name, {
    port: 80,
    protocol: "HTTP",
    vpcId: id("net-vpc"),
    deregistrationDelay: 60,
    healthCheck: { enabled: true, path: "/healthz", matcher: "200", interval: 15 },
  });
}

function fleet(name: string, tg: string, minSize: number): PlannedResource {
  return res(ASG, name, {
    minSize,
    maxSize: 6,
    vpcZoneIdentifiers: [id("net-private-a"), id("net-private-b")],
    targetGroupArns: [arn("elasticloadbalancing", tg)],
    healthCheckType: "ELB",
    healthCheckGracePeriod: 300,
    launchTemplate: { id: id("fleet-lt"), version: "$Latest" },
  });
}

/** The load-balanced tier: ALB (edge SG), app SG, listeners, blue/green target groups and fleets, launch template. */
export function loadBalancer(): PlannedResource[] {
  return [
    sg("alb-sg", "edge", "ALB: HTTP and HTTPS from the internet", [
      world(80, "HTTP from the internet (redirected to HTTPS)"),
      world(443, "HTTPS from the internet"),
    ]),
    sg("app-sg", "app", "App fleet", [
      { protocol: "tcp", fromPort: 80, toPort: 80, securityGroups: [id("alb-sg")], description: "HTTP from the ALB" },
    ]),
    res(T.loadBalancer[0], "alb", {
      loadBalancerType: "application",
      subnets: [id("net-public-a"), id("net-public-b")],
      securityGroups: [id("alb-sg")],
      dropInvalidHeaderFields: true,
      accessLogs: { bucket: id("logs"), enabled: true, prefix: "alb" },
      enableDeletionProtection: true,
      desyncMitigationMode: "defensive",
      idleTimeout: 60,
    }),
    res(LISTENER, "alb-http", {
      loadBalancerArn: arn("elasticloadbalancing", "alb"),
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
    }),
    res(LISTENER, "alb-https", {
      loadBalancerArn: arn("elasticloadbalancing", "alb"),
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      certificateArn: arn("acm", "alb-cert"),
      defaultActions: [{ type: "forward", targetGroupArn: arn("elasticloadbalancing", "tg-blue") }],
    }),
    targetGroup("tg-blue"),
    targetGroup("tg-green"),
    // The idle color's preview: a header whose value holds the stack's secret key.
    res(T.listenerRule[0], "alb-preview-green", {
      listenerArn: arn("elasticloadbalancing", "alb-https"),
      priority: 20,
      conditions: new SecretValue([{ httpHeader: { httpHeaderName: "X-Django-Tiers-Preview", values: ["green.previewkey0123456789"] } }]),
      actions: [{ type: "forward", targetGroupArn: arn("elasticloadbalancing", "tg-green") }],
    }),
    res(T.launchTemplate[0], "fleet-lt", {
      imageId: "ami-0123456789abcdef0",
      instanceType: "t4g.small",
      metadataOptions: metadataOptions(),
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", volumeSize: 20, volumeType: "gp3" } }],
      monitoring: { enabled: true },
      iamInstanceProfile: { name: id("fleet-profile") },
      vpcSecurityGroupIds: [id("app-sg")],
      userData: Buffer.from(BOX_USER_DATA).toString("base64"),
    }),
    fleet("fleet-blue", "tg-blue", 2),
    fleet("fleet-green", "tg-green", 0),
    ...vmRole("fleet"),
    res(T.acmCertificate[0], "alb-cert", { domainName: "shop.example.com", validationMethod: "DNS" }),
  ];
}

/** CloudFront in front of the ALB and the media bucket, with its own log bucket (CloudFront logging needs ACLs). */
export function cdn(): PlannedResource[] {
  return [
    res(T.originAccessControl[0], "media-oac", { originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" }),
    res(T.responseHeadersPolicy[0], "security-headers", {
      securityHeadersConfig: {
        strictTransportSecurity: { accessControlMaxAgeSec: 63072000, includeSubdomains: true, preload: true, override: true },
      },
    }),
    res(T.acmCertificate[0], "cdn-cert", { domainName: "shop.example.com", validationMethod: "DNS", region: "us-east-1" }),
    ...bucket("cdn-logs", { versioned: false, ownership: "BucketOwnerPreferred" }),
    res(T.distribution[0], "cdn", {
      enabled: true,
      aliases: ["shop.example.com"],
      origins: [
        { originId: "media", domainName: "media.s3.us-east-1.amazonaws.com", originAccessControlId: id("media-oac") },
        {
          originId: "alb",
          domainName: "origin.shop.example.com",
          customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"], originReadTimeout: 60 },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: "alb",
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
        cachedMethods: ["GET", "HEAD"],
        responseHeadersPolicyId: id("security-headers"),
      },
      orderedCacheBehaviors: [
        {
          pathPattern: "/media/*",
          targetOriginId: "media",
          viewerProtocolPolicy: "https-only",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
          responseHeadersPolicyId: MANAGED_SECURITY_HEADERS_POLICY,
        },
      ],
      viewerCertificate: { acmCertificateArn: arn("acm", "cdn-cert"), minimumProtocolVersion: "TLSv1.2_2021", sslSupportMethod: "sni-only" },
      loggingConfig: { bucket: "cdn-logs.s3.amazonaws.com", prefix: "cdn/" },
      webAclId: arn("wafv2", "cdn-waf"),
      restrictions: { geoRestriction: { restrictionType: "none" } },
    }),
  ];
}

/** Cloudflare's proxy in front of an origin whose edge SG admits only Cloudflare's ranges. */
export function cloudflare(): PlannedResource[] {
  const setting = (settingId: string, value: string) =>
    res(T.cloudflareZoneSetting[0], `zone-${settingId}`, { zoneId: "zone-1", settingId, value });
  const v4 = CLOUDFLARE_RANGES.filter((c) => !c.includes(":"));
  const v6 = CLOUDFLARE_RANGES.filter((c) => c.includes(":"));
  return [
    res(T.cloudflareDnsRecord[0], "www", { zoneId: "zone-1", name: "shop.example.com", type: "A", content: "203.0.113.10", proxied: true, ttl: 1 }),
    setting("ssl", "strict"),
    setting("always_use_https", "on"),
    setting("min_tls_version", "1.2"),
    sg("origin-sg", "edge", "Origin: HTTPS from Cloudflare only", [
      { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: v4, ipv6CidrBlocks: v6, description: "HTTPS from Cloudflare" },
    ]),
  ];
}

export const REDIS_TOKEN = "redis-auth-token-0123456789abcdef";

/** ElastiCache Redis, compliant for prod, admitting the app SG. */
export function cache(): PlannedResource[] {
  return [
    sg("cache-sg", "cache", "Redis", [], []),
    res(INGRESS, "cache-from-app", {
      securityGroupId: id("cache-sg"),
      referencedSecurityGroupId: id("app-sg"),
      ipProtocol: "tcp",
      fromPort: 6379,
      toPort: 6379,
      description: "Redis from the app servers",
    }),
    res(T.replicationGroup[0], "cache", {
      description: "Sessions, cache and broker",
      engine: "redis",
      nodeType: "cache.t4g.small",
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      authToken: new SecretValue(REDIS_TOKEN),
      atRestEncryptionEnabled: true,
      snapshotRetentionLimit: 7,
      securityGroupIds: [id("cache-sg")],
    }),
  ];
}

/** SQS broker: the task queue, its DLQ, its policy and the worker's scoped permissions. */
export function queue(): PlannedResource[] {
  return [
    res(T.queue[0], "tasks-dlq", { sqsManagedSseEnabled: true, messageRetentionSeconds: 1209600 }),
    res(T.queue[0], "tasks", {
      sqsManagedSseEnabled: true,
      visibilityTimeoutSeconds: 3600,
      redrivePolicy: json({ deadLetterTargetArn: arn("sqs", "tasks-dlq"), maxReceiveCount: 5 }),
    }),
    res(T.queuePolicy[0], "tasks-policy", {
      queueUrl: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/tasks`,
      policy: json({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: arn("iam", "fleet-role") }, Action: ["sqs:SendMessage", "sqs:ReceiveMessage"], Resource: arn("sqs", "tasks") }],
      }),
    }),
    res(T.iamRolePolicy[0], "worker-sqs", {
      role: id("fleet-role"),
      policy: json({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "Tasks",
            Effect: "Allow",
            Action: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            Resource: [arn("sqs", "tasks"), arn("sqs", "tasks-dlq")],
          },
          { Sid: "List", Effect: "Allow", Action: "sqs:ListQueues", Resource: "*" },
        ],
      }),
    }),
  ];
}

function alarm(name: string, namespace: string, metricName: string, dimensions: Record<string, string>): PlannedResource {
  return res(T.metricAlarm[0], name, {
    namespace,
    metricName,
    dimensions,
    statistic: "Maximum",
    period: 60,
    evaluationPeriods: 5,
    threshold: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    alarmActions: [arn("sns", "alerts")],
    okActions: [arn("sns", "alerts")],
  });
}

/** The alarms CHECKS.md asks for, notifying an SNS topic. */
export function monitoring(): PlannedResource[] {
  return [
    res(T.snsTopic[0], "alerts", {}),
    alarm("alb-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", { LoadBalancer: "app/alb/0123456789abcdef" }),
    alarm("alb-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", { LoadBalancer: "app/alb/0123456789abcdef", TargetGroup: "targetgroup/tg-blue/0123" }),
    alarm("db-free-storage", "AWS/RDS", "FreeStorageSpace", { DBInstanceIdentifier: "db" }),
    alarm("db-cpu", "AWS/RDS", "CPUUtilization", { DBInstanceIdentifier: "db" }),
    alarm("cache-memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", { ReplicationGroupId: "cache" }),
    alarm("tasks-age", "AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: "tasks" }),
  ];
}

/** AWS Backup: a vault with a CMK, a daily plan kept 35 days, a selection of the database and the box. */
export function backups(): PlannedResource[] {
  return [
    res(T.backupVault[0], "backup-vault", { kmsKeyArn: arn("kms", "backup-key") }),
    res(T.backupPlan[0], "backup-plan", {
      rules: [{ ruleName: "daily", targetVaultName: id("backup-vault"), schedule: "cron(0 3 * * ? *)", lifecycle: { deleteAfter: 35 } }],
    }),
    res(T.backupSelection[0], "backup-selection", {
      planId: id("backup-plan"),
      iamRoleArn: arn("iam", "backup-role"),
      resources: [arn("rds", "db"), arn("ec2", "box")],
    }),
  ];
}

// -------------------------------------------------------------- server files

const file = (path: string, content: string, mode = "0644"): RenderedFile => ({ path, mode, owner: "root:root", content });

/** The files server/ renders for one app, following the conventions policies/server-files.ts reads. */
export function appServerFiles(app = "shop", opts: { behindAlb?: boolean } = {}): RenderedFile[] {
  const proto = opts.behindAlb ? "$http_x_forwarded_proto" : "$scheme";
  return [
    file(
      "/etc/nginx/conf.d/django-tiers.conf",
      ["# django-tiers: http-level settings", "server_tokens off;", "keepalive_timeout 75s;", "client_max_body_size 25m;", ""].join("\n"),
    ),
    file(
      `/etc/nginx/sites-available/${app}.conf`,
      `upstream ${app}_app {
    server unix:/run/django-tiers/${app}/gunicorn.sock fail_timeout=0;
}

server {
    listen 80 default_server;
    server_name shop.example.com;

    location = /healthz {
        access_log off;
        return 200 "ok\\n";
    }

    location /static/ {
        alias /srv/django-tiers/${app}/current/static/;
    }

    location / {
        proxy_pass http://${app}_app;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto ${proto};
        proxy_read_timeout 60s;
        client_max_body_size 25m;
    }
}
`,
    ),
    file(
      `/etc/django-tiers/${app}/gunicorn.conf.py`,
      `import multiprocessing

bind = "unix:/run/django-tiers/${app}/gunicorn.sock"
workers = multiprocessing.cpu_count() * 2 + 1
timeout = 30
graceful_timeout = 30
max_requests = 1000
max_requests_jitter = 100
`,
    ),
    file(
      `/etc/supervisor/conf.d/${app}.conf`,
      `[program:${app}-web]
command=/srv/django-tiers/${app}/venv/bin/gunicorn -c /etc/django-tiers/${app}/gunicorn.conf.py ${app}.wsgi:application
user=${app}
stopwaitsecs=35
stopasgroup=true
killasgroup=true
autorestart=true

[program:${app}-worker]
command=/srv/django-tiers/${app}/venv/bin/celery -A ${app} worker --loglevel INFO
user=${app}
stopwaitsecs=600
stopasgroup=true
killasgroup=true
autorestart=true

[program:${app}-beat]
command=/srv/django-tiers/${app}/venv/bin/celery -A ${app} beat --loglevel INFO
user=${app}
stopwaitsecs=30
stopasgroup=true
killasgroup=true
autorestart=true
`,
    ),
    file(
      `/etc/django-tiers/${app}/app.env`,
      [
        "DJANGO_SETTINGS_MODULE=django_tiers_production",
        `DJANGO_TIERS_APP_SETTINGS_MODULE=${app}.settings`,
        "DJANGO_DEBUG=0",
        "DJANGO_ALLOWED_HOSTS=shop.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS=https://shop.example.com",
        "DJANGO_MAX_UPLOAD_MB=25",
        `DATABASE_URL=postgres://${app}@127.0.0.1:5432/${app}`,
        `DJANGO_SECRETS_ID=${arn("secretsmanager", "app-secret")}`,
        "",
      ].join("\n"),
      "0640",
    ),
    // The SSM Agent's part as rendered (rollout-reaches-server reads it), and AWS's key beside it.
    file("/usr/local/sbin/django-tiers-provision", `#!/bin/bash\nset -euo pipefail\n${SSM_AGENT_SH}\nphase_install() {\n  ensure_ssm_agent\n}\n`, "0755"),
    ...renderSsmAgentFiles(),
  ];
}

// ---------------------------------------------------------------- baselines

/** A compliant prod stack on the load-balanced tier with every add-on (CloudFront as the CDN). */
export function loadBalancedPlan(): PlanUnderTest {
  return plan(
    [...network(), ...loadBalancer(), ...buckets(), ...cdn(), ...database("app-sg"), ...cache(), ...queue(), ...secrets(), ...monitoring(), ...backups()],
    { tier: "load-balanced", environment: "prod", serverFiles: { "app-fleet": appServerFiles("shop", { behindAlb: true }) } },
  );
}

/** A compliant dev stack on the single-box tier (artifacts and log buckets, AWS Backup of the box). */
export function singleBoxPlan(): PlanUnderTest {
  return plan([...network(), ...singleBox(), ...buckets(), ...secrets(), ...backups()], {
    tier: "single-box",
    environment: "dev",
    serverFiles: { "single-box": appServerFiles("shop") },
  });
}

/** A compliant stack behind Cloudflare's proxy (single box as the origin). */
export function cloudflarePlan(): PlanUnderTest {
  const p = singleBoxPlan();
  p.resources = p.resources.filter((r) => r.name !== "box-edge-sg");
  p.resources.push(...cloudflare());
  set(p, "box", "vpcSecurityGroupIds", [id("origin-sg"), id("box-app-sg")]);
  return p;
}

/** A plan with nothing in it (every check is not applicable). */
export function emptyPlan(): PlanUnderTest {
  return plan([], { tier: "single-box", environment: "dev" });
}
