/**
 * Rules AWS enforces but its API models carry only in prose (or not at
 * all), as typed rules. Each cites the AWS page it comes from; each has a
 * failing-input test in test/policies/conformance.test.ts. Pure; no Pulumi.
 */
import { parsePolicy } from "../policy-documents";
import type { PlannedResource } from "../types";
import { asArray, asNumber, asRecord, asString, isSecret, isUnknown, plain } from "../values";
import type { ConformanceContext } from "./check";
import { autoNameOf } from "./inputs";

export interface RuleFinding {
  resource: PlannedResource;
  input: string;
  value: unknown;
  message: string;
}

export interface ProseRule {
  id: string;
  title: string;
  /** The AWS page (API reference or guide) that states the rule. */
  source: string;
  run(ctx: ConformanceContext): RuleFinding[];
}

const of = (ctx: ConformanceContext, ...types: string[]) => ctx.resources.filter((r) => types.includes(r.type));

/** A known string input, or the provider's auto-name when the input is absent. */
function nameOf(r: PlannedResource, input: string, mode: "as-is" | "lowercase"): { value: string; input: string } | undefined {
  const given = r.inputs[input];
  if (given === undefined) return r.inputs[`${input}Prefix`] === undefined ? { value: autoNameOf(r.name, mode), input: `${input} (auto-named)` } : undefined;
  const s = asString(given);
  return s === undefined || isUnknown(given) ? undefined : { value: s, input };
}

/** The planned resource a reference (mock id, ARN, name) points at. */
function referenced(ctx: ConformanceContext, value: unknown, types: string[]): PlannedResource | undefined {
  const v = asString(value);
  if (!v) return undefined;
  return of(ctx, ...types).find((r) => {
    const ids = [r.id, `${r.name}-id`, r.name, ...Object.values(r.outputs ?? {}).map((o) => asString(o))].filter(Boolean);
    return ids.includes(v) || v.endsWith(`:${r.name}`) || v.endsWith(`/${r.name}`);
  });
}

/** EC2's character set of security group and rule descriptions (`IpRange.Description`, `CreateSecurityGroup.GroupDescription`). */
export const SG_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;

const NAME_32 = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$/;

/** Lowercase names with letters first, no "--" and no trailing "-" (RDS and ElastiCache identifiers). */
function identifierProblems(value: string, max: number): string[] {
  const problems: string[] = [];
  if (value.length < 1 || value.length > max) problems.push(`must be 1 to ${max} characters (is ${value.length})`);
  if (!/^[a-zA-Z]/.test(value)) problems.push("must begin with a letter");
  if (!/^[a-zA-Z0-9-]*$/.test(value)) problems.push("may contain only letters, digits and hyphens");
  if (value.includes("--")) problems.push("must not contain two consecutive hyphens");
  if (value.endsWith("-")) problems.push("must not end with a hyphen");
  return problems;
}

/** PI/Database Insights instance classes AWS excludes per engine. */
export const PERFORMANCE_INSIGHTS_UNSUPPORTED: Record<string, string[]> = {
  mysql: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
  mariadb: ["db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"],
};

/** Whether RDS supports Performance Insights for this engine on this instance class. */
export function performanceInsightsSupported(engine: string, instanceClass: string): boolean {
  return !(PERFORMANCE_INSIGHTS_UNSUPPORTED[engine] ?? []).includes(instanceClass);
}

/**
 * Engines on which RDS refuses `MultiAZ` for a DB instance, and why (the
 * page each reason comes from is the rule's source). For PostgreSQL, MySQL
 * and MariaDB AWS documents no engine or instance-class exclusion of
 * Multi-AZ DB instance deployments (standby in another zone); the per-class
 * truth is live only (DescribeOrderableDBInstanceOptions' MultiAZCapable),
 * so a class RDS does not offer at all is refused earlier, by the settings'
 * check of classes against the RDS model. Multi-AZ DB *clusters* (two
 * readable standbys) have their own class list; the stack makes none.
 */
export const MULTI_AZ_UNSUPPORTED_ENGINES: Record<string, string> = {
  "aurora-postgresql": "Aurora places a cluster's instances itself: MultiAZ does not apply to an Aurora DB instance",
  "aurora-mysql": "Aurora places a cluster's instances itself: MultiAZ does not apply to an Aurora DB instance",
  "sqlserver-ex": "RDS for SQL Server offers Multi-AZ on the Standard and Enterprise editions only, not Express",
  "sqlserver-web": "RDS for SQL Server offers Multi-AZ on the Standard and Enterprise editions only, not Web",
};

/**
 * Instance classes on which an engine has no Multi-AZ DB instance
 * deployment, per engine. Empty for the engines the stack runs (see
 * MULTI_AZ_UNSUPPORTED_ENGINES); an entry here needs its AWS page in the
 * rule's source.
 */
export const MULTI_AZ_UNSUPPORTED_CLASSES: Record<string, string[]> = {};

/** Whether RDS offers a Multi-AZ DB instance deployment for this engine on this instance class, and if not why. */
export function multiAzSupport(engine: string, instanceClass: string): { supported: true } | { supported: false; reason: string } {
  const byEngine = MULTI_AZ_UNSUPPORTED_ENGINES[engine];
  if (byEngine) return { supported: false, reason: byEngine };
  if ((MULTI_AZ_UNSUPPORTED_CLASSES[engine] ?? []).includes(instanceClass)) {
    return { supported: false, reason: `RDS has no Multi-AZ DB instance deployment of ${engine} on ${instanceClass}` };
  }
  return { supported: true };
}

/** The service-linked role EC2 Auto Scaling launches instances with. */
export const AUTOSCALING_SERVICE_LINKED_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";

const USER_DATA_MAX_BYTES = 16 * 1024;

function rangeFinding(r: PlannedResource, input: string, min: number, max: number): RuleFinding[] {
  const n = asNumber(plain(r.inputs[input]));
  return n !== undefined && (n < min || n > max) ? [{ resource: r, input, value: n, message: `must be from ${min} to ${max}` }] : [];
}

export const PROSE_RULES: ProseRule[] = [
  {
    id: "ec2-security-group-description",
    title: "Security group and rule descriptions use EC2's character set, up to 255 characters",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html (Description) and API_CreateSecurityGroup.html (GroupDescription)",
    run: (ctx) =>
      of(ctx, "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/securityGroupRule:SecurityGroupRule").flatMap((r) => {
        const d = asString(r.inputs.description);
        if (d === undefined) return [];
        const bad = [...new Set([...d].filter((c) => !SG_DESCRIPTION.test(c)))];
        const problems = [
          ...(bad.length ? [`contains ${bad.map((c) => JSON.stringify(c)).join(", ")}; allowed are a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*`] : []),
          ...(d.length > 255 ? [`is ${d.length} characters; at most 255`] : []),
        ];
        return problems.map((message) => ({ resource: r, input: "description", value: d, message }));
      }),
  },
  {
    id: "ec2-security-group-name",
    title: "Security group names: up to 255 characters, not starting with sg-",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html (GroupName)",
    run: (ctx) =>
      of(ctx, "aws:ec2/securityGroup:SecurityGroup").flatMap((r) => {
        const n = nameOf(r, "name", "as-is");
        if (!n) return [];
        const problems = [
          ...(n.value.length > 255 ? [`is ${n.value.length} characters; at most 255`] : []),
          ...(/^sg-/i.test(n.value) ? ["must not start with sg-"] : []),
          ...(!SG_DESCRIPTION.test(n.value) ? ["uses characters outside a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*"] : []),
        ];
        return problems.map((message) => ({ resource: r, input: n.input, value: n.value, message }));
      }),
  },
  {
    id: "elbv2-names",
    title: "Load balancer and target group names: at most 32 alphanumerics and hyphens, no hyphen first or last; a load balancer's not starting with internal-",
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html and API_CreateTargetGroup.html (Name)",
    run: (ctx) =>
      of(ctx, "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup").flatMap((r) => {
        const n = nameOf(r, "name", "as-is");
        if (!n) return [];
        const problems = [
          ...(!NAME_32.test(n.value) ? ["must be 1 to 32 letters, digits and hyphens, not beginning or ending with a hyphen"] : []),
          ...(r.type.endsWith(":LoadBalancer") && n.value.startsWith("internal-") ? ["must not begin with internal-"] : []),
        ];
        return problems.map((message) => ({ resource: r, input: n.input, value: n.value, message }));
      }),
  },
  {
    id: "kms-key-admits-autoscaling",
    title: "A KMS key that encrypts the EBS volumes of an Auto Scaling group admits AWSServiceRoleForAutoScaling",
    source: "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html (Required AWS KMS key policy for use with encrypted volumes)",
    run: (ctx) => {
      const findings: RuleFinding[] = [];
      for (const group of of(ctx, "aws:autoscaling/group:Group")) {
        const lt = referenced(ctx, asString(asRecord(plain(group.inputs.launchTemplate))?.id), ["aws:ec2/launchTemplate:LaunchTemplate"]);
        if (!lt) continue;
        for (const mapping of asArray(plain(lt.inputs.blockDeviceMappings))) {
          const ebs = asRecord(asRecord(mapping)?.ebs);
          const keyRef = ebs?.kmsKeyId;
          if (!keyRef || isUnknown(keyRef)) continue;
          const key = referenced(ctx, keyRef, ["aws:kms/key:Key"]);
          if (!key) continue;
          const policy = parsePolicy(key.inputs.policy);
          if ("error" in policy) {
            findings.push({ resource: key, input: "policy", value: "[policy]", message: `cannot be read (${policy.error}); it must admit ${AUTOSCALING_SERVICE_LINKED_ROLE} for ${lt.name}'s volumes` });
            continue;
          }
          const admits = (action: string) =>
            policy.statements.some(
              (s) => s.effect === "Allow" && s.principals?.aws.some((p) => p.endsWith(AUTOSCALING_SERVICE_LINKED_ROLE)) &&
                s.actions.some((a) => a === "kms:*" || new RegExp(`^${a.replace(/\*/g, ".*")}$`, "i").test(action)),
            );
          const missing = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey", "kms:CreateGrant"].filter((a) => !admits(a));
          if (missing.length) {
            findings.push({ resource: key, input: "policy", value: "[policy]", message: `does not allow ${AUTOSCALING_SERVICE_LINKED_ROLE} ${missing.join(", ")}, yet ${lt.name} encrypts ${group.name}'s volumes with it: every launch fails (Client.InternalError)` });
          }
        }
      }
      return findings;
    },
  },
  {
    id: "rds-performance-insights-class",
    title: "Performance Insights only where RDS supports it for the engine and instance class",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PerfInsights.Overview.Engines.html (and USER_DatabaseInsights.Engines.html)",
    run: (ctx) =>
      of(ctx, "aws:rds/instance:Instance").flatMap((r) => {
        const engine = asString(r.inputs.engine) ?? "";
        const cls = asString(r.inputs.instanceClass) ?? "";
        return plain(r.inputs.performanceInsightsEnabled) === true && !performanceInsightsSupported(engine, cls)
          ? [{ resource: r, input: "performanceInsightsEnabled", value: true, message: `is not supported for ${engine} on ${cls} (not on ${PERFORMANCE_INSIGHTS_UNSUPPORTED[engine].join(", ")})` }]
          : [];
      }),
  },
  {
    id: "rds-multi-az-engine-class",
    title: "Multi-AZ only where RDS offers a Multi-AZ DB instance deployment for the engine and instance class",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (MultiAZ: does not apply to Amazon Aurora); https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerMultiAZ.html (Standard and Enterprise editions); https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html",
    run: (ctx) =>
      of(ctx, "aws:rds/instance:Instance").flatMap((r) => {
        if (plain(r.inputs.multiAz) !== true) return [];
        const engine = asString(r.inputs.engine) ?? "";
        const cls = asString(r.inputs.instanceClass) ?? "";
        const support = multiAzSupport(engine, cls);
        return support.supported ? [] : [{ resource: r, input: "multiAz", value: true, message: `is not offered for ${engine} on ${cls}: ${support.reason}` }];
      }),
  },
  {
    id: "ec2-user-data-size",
    title: "User data at most 16 KB before base64",
    source: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html (user data is limited to 16 KB, in raw form, before it is base64-encoded)",
    run: (ctx) =>
      of(ctx, "aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate").flatMap((r) => {
        const findings: RuleFinding[] = [];
        for (const [input, base64] of [["userData", r.type.includes("launchTemplate")], ["userDataBase64", true]] as const) {
          const v = r.inputs[input];
          if (v === undefined || isUnknown(v)) continue;
          const s = asString(isSecret(v) ? v.value : v);
          if (s === undefined) continue;
          const bytes = base64 ? Buffer.from(s, "base64").length : Buffer.byteLength(s, "utf8");
          if (bytes > USER_DATA_MAX_BYTES) findings.push({ resource: r, input, value: `[${bytes} bytes]`, message: `is ${bytes} bytes before base64; at most ${USER_DATA_MAX_BYTES}` });
        }
        return findings;
      }),
  },
  {
    id: "subnets-two-zones",
    title: "Load balancers, DB subnet groups and cache subnet groups span at least two availability zones",
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones; https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Subnets",
    run: (ctx) =>
      of(ctx, "aws:lb/loadBalancer:LoadBalancer", "aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup").flatMap((r) => {
        const input = r.type.startsWith("aws:lb") ? "subnets" : "subnetIds";
        const ids = asArray(plain(r.inputs[input]));
        const subnets = ids.map((id) => referenced(ctx, id, ["aws:ec2/subnet:Subnet"]));
        // Subnets brought from outside the stack: their zones are not in the plan (settings ask for two).
        if (subnets.some((s) => !s)) return [];
        const zones = new Set(subnets.map((s) => asString(s!.inputs.availabilityZone)));
        return zones.size < 2 ? [{ resource: r, input, value: [...zones], message: `spans ${zones.size} availability zone(s); AWS requires at least two` }] : [];
      }),
  },
  {
    id: "cloudfront-certificate-region",
    title: "CloudFront's ACM certificate is in us-east-1",
    source: "https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html (certificates for CloudFront must be requested in US East (N. Virginia))",
    run: (ctx) =>
      of(ctx, "aws:cloudfront/distribution:Distribution").flatMap((r) => {
        const arn = asString(asRecord(plain(r.inputs.viewerCertificate))?.acmCertificateArn);
        if (!arn) return [];
        // The certificate's own region (@pulumi/aws 7's per-resource region), else its ARN's, else the stack's.
        const cert = referenced(ctx, arn, ["aws:acm/certificate:Certificate"]);
        const region = (cert && asString(cert.inputs.region)) ?? arn.split(":")[3] ?? ctx.region;
        return region && region !== "us-east-1" ? [{ resource: r, input: "viewerCertificate.acmCertificateArn", value: arn, message: `is in ${region}; CloudFront takes certificates from us-east-1 only` }] : [];
      }),
  },
  {
    id: "waf-scope-cloudfront",
    title: "A web ACL attached to CloudFront has scope CLOUDFRONT and lives in us-east-1",
    source: "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html (Scope)",
    run: (ctx) =>
      of(ctx, "aws:cloudfront/distribution:Distribution").flatMap((r) => {
        const acl = referenced(ctx, r.inputs.webAclId, ["aws:wafv2/webAcl:WebAcl"]);
        if (!acl) return [];
        const scope = asString(acl.inputs.scope);
        const region = asString(acl.inputs.region) ?? ctx.region;
        return [
          ...(scope !== "CLOUDFRONT" ? [{ resource: acl, input: "scope", value: scope, message: "must be CLOUDFRONT for a web ACL attached to a distribution" }] : []),
          ...(region !== "us-east-1" ? [{ resource: acl, input: "region", value: region, message: "must be us-east-1 for scope CLOUDFRONT" }] : []),
        ];
      }),
  },
  {
    id: "cloudfront-comment",
    title: "A distribution's comment is at most 128 characters",
    source: "https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html (Comment)",
    run: (ctx) =>
      of(ctx, "aws:cloudfront/distribution:Distribution").flatMap((r) => {
        const c = asString(r.inputs.comment);
        return c && c.length > 128 ? [{ resource: r, input: "comment", value: c, message: `is ${c.length} characters; at most 128` }] : [];
      }),
  },
  {
    id: "s3-bucket-name",
    title: "S3 bucket names: 3–63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit",
    source: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    run: (ctx) =>
      of(ctx, "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2").flatMap((r) => {
        const n = nameOf(r, "bucket", "lowercase");
        if (!n) return [];
        const v = n.value;
        const problems = [
          ...(v.length < 3 || v.length > 63 ? [`is ${v.length} characters; 3 to 63`] : []),
          ...(!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(v) ? ["must be lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit"] : []),
          ...(v.includes("..") ? ["must not contain two adjacent periods"] : []),
          ...(/^xn--|^sthree-|^amzn-s3-demo-/.test(v) || /-s3alias$|--ol-s3$|\.mrap$|--x-s3$/.test(v) ? ["uses a prefix or suffix S3 reserves"] : []),
        ];
        return problems.map((message) => ({ resource: r, input: n.input, value: v, message }));
      }),
  },
  {
    id: "rds-identifiers",
    title: "RDS instance, final snapshot and parameter group identifiers: a letter first, letters, digits and hyphens, no '--', no trailing hyphen",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (DBInstanceIdentifier), API_DeleteDBInstance.html (FinalDBSnapshotIdentifier), API_CreateDBParameterGroup.html (DBParameterGroupName)",
    run: (ctx) => [
      ...of(ctx, "aws:rds/instance:Instance").flatMap((r) => {
        const id = nameOf(r, "identifier", "lowercase");
        const snap = asString(r.inputs.finalSnapshotIdentifier);
        return [
          ...(id ? identifierProblems(id.value, 63).map((message) => ({ resource: r, input: id.input, value: id.value, message })) : []),
          ...(snap ? identifierProblems(snap, 255).map((message) => ({ resource: r, input: "finalSnapshotIdentifier", value: snap, message })) : []),
        ];
      }),
      ...of(ctx, "aws:rds/parameterGroup:ParameterGroup").flatMap((r) => {
        const n = nameOf(r, "name", "lowercase");
        return n ? identifierProblems(n.value, 255).map((message) => ({ resource: r, input: n.input, value: n.value, message })) : [];
      }),
    ],
  },
  {
    id: "elasticache-replication-group-id",
    title: "ElastiCache replication group ids: 1–40 characters, a letter first, letters, digits and hyphens, no '--', no trailing hyphen",
    source: "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html (ReplicationGroupId)",
    run: (ctx) =>
      of(ctx, "aws:elasticache/replicationGroup:ReplicationGroup").flatMap((r) => {
        const n = nameOf(r, "replicationGroupId", "lowercase");
        return n ? identifierProblems(n.value, 40).map((message) => ({ resource: r, input: n.input, value: n.value, message })) : [];
      }),
  },
  {
    id: "elasticache-multi-az",
    title: "ElastiCache Multi-AZ needs automatic failover and at least one replica",
    source: "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html (MultiAZEnabled, AutomaticFailoverEnabled)",
    run: (ctx) =>
      of(ctx, "aws:elasticache/replicationGroup:ReplicationGroup").flatMap((r) => {
        const multiAz = plain(r.inputs.multiAzEnabled) === true;
        const failover = plain(r.inputs.automaticFailoverEnabled) === true;
        const nodes = asNumber(plain(r.inputs.numCacheClusters)) ?? 1;
        return [
          ...(multiAz && !failover ? [{ resource: r, input: "multiAzEnabled", value: true, message: "needs automaticFailoverEnabled" }] : []),
          ...(failover && nodes < 2 ? [{ resource: r, input: "automaticFailoverEnabled", value: true, message: `needs at least 2 nodes (numCacheClusters is ${nodes})` }] : []),
        ];
      }),
  },
  {
    id: "sqs-queue",
    title: "SQS queue names (up to 80 letters, digits, hyphens, underscores) and attribute ranges",
    source: "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html (QueueName, Attributes)",
    run: (ctx) =>
      of(ctx, "aws:sqs/queue:Queue").flatMap((r) => {
        const n = nameOf(r, "name", "as-is");
        const fifo = plain(r.inputs.fifoQueue) === true;
        const base = n && fifo ? n.value.replace(/\.fifo$/, "") : n?.value;
        return [
          ...(n && base !== undefined && !/^[a-zA-Z0-9_-]{1,80}$/.test(fifo ? `${base}` : n.value) ? [{ resource: r, input: n.input, value: n.value, message: "must be 1 to 80 letters, digits, hyphens and underscores" }] : []),
          ...rangeFinding(r, "visibilityTimeoutSeconds", 0, 43200),
          ...rangeFinding(r, "messageRetentionSeconds", 60, 1209600),
          ...rangeFinding(r, "receiveWaitTimeSeconds", 0, 20),
          ...rangeFinding(r, "kmsDataKeyReusePeriodSeconds", 60, 86400),
          ...rangeFinding(r, "delaySeconds", 0, 900),
        ];
      }),
  },
  {
    id: "sns-topic-name",
    title: "SNS topic names: up to 256 letters, digits, hyphens and underscores",
    source: "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html (Name)",
    run: (ctx) =>
      of(ctx, "aws:sns/topic:Topic").flatMap((r) => {
        const n = nameOf(r, "name", "as-is");
        return n && !/^[a-zA-Z0-9_-]{1,256}(\.fifo)?$/.test(n.value) ? [{ resource: r, input: n.input, value: n.value, message: "must be 1 to 256 letters, digits, hyphens and underscores" }] : [];
      }),
  },
  {
    id: "secretsmanager-recovery-window",
    title: "A secret's recovery window is 7 to 30 days (0: delete at once)",
    source: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html (RecoveryWindowInDays)",
    run: (ctx) =>
      of(ctx, "aws:secretsmanager/secret:Secret").flatMap((r) => {
        const n = asNumber(plain(r.inputs.recoveryWindowInDays));
        return n !== undefined && n !== 0 && (n < 7 || n > 30) ? [{ resource: r, input: "recoveryWindowInDays", value: n, message: "must be from 7 to 30, or 0" }] : [];
      }),
  },
  {
    id: "elbv2-attributes",
    title: "Load balancer idle timeout 1–4000 s; target group deregistration delay 0–3600 s",
    source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html and API_TargetGroupAttribute.html",
    run: (ctx) => [
      ...of(ctx, "aws:lb/loadBalancer:LoadBalancer").flatMap((r) => rangeFinding(r, "idleTimeout", 1, 4000)),
      ...of(ctx, "aws:lb/targetGroup:TargetGroup").flatMap((r) => rangeFinding(r, "deregistrationDelay", 0, 3600)),
    ],
  },
];
