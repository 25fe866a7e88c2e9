/**
 * The AWS conformance layer (policies/conformance/): the model reader, the
 * shape checks, every input mapping against the installed botocore models,
 * and each prose rule with an input that breaks it and one that keeps it.
 * Needs the models: `npm run setup:server-tools` (or
 * `bash test/setup/install-aws-models.sh`) installs them.
 */
import { keyAliasName } from "../../components/encryption";
import { SINGLE_BOX_EGRESS } from "../../components/single-box";
import { checkConformance, formatConformance, valuesAt } from "../../policies/conformance/check";
import { INPUT_MAPPINGS } from "../../policies/conformance/inputs";
import { AwsModels, INSTALL_COMMAND, findModelDir } from "../../policies/conformance/models";
import { AUTOSCALING_SERVICE_LINKED_ROLE, PROSE_RULES, SG_DESCRIPTION, multiAzSupport, performanceInsightsSupported } from "../../policies/conformance/rules";
import { shapeProblems } from "../../policies/conformance/shapes";
import type { PlannedResource } from "../../policies/types";
import { ACCOUNT, arn, id, json, res } from "./fixtures";

const dir = findModelDir();
if (!dir) throw new Error(`AWS's API models are not installed: run \`${INSTALL_COMMAND}\` (npm run setup:server-tools does)`);
const models = new AwsModels(dir);

/** The errors of one rule (or model member) over these resources. */
function errors(resources: PlannedResource[], rule: string, region = "us-east-1") {
  return checkConformance(resources, region, models).errors.filter((e) => e.rule === rule);
}

describe("AWS's API models", () => {
  it("reads the newest API version of a service, gzipped", () => {
    expect(models.service("ec2").metadata.apiVersion).toBe("2016-11-15");
    expect(models.resolve("kms", "CreateAlias.AliasName").shape).toMatchObject({ min: 1, max: 256, pattern: "^[a-zA-Z0-9:/_-]+$" });
  });

  it("resolves every mapped input to a member of its service's model", () => {
    for (const [type, mappings] of Object.entries(INPUT_MAPPINGS)) {
      for (const m of mappings) expect(() => models.resolve(m.service, m.member)).not.toThrow(`${type} ${m.input}`);
    }
  });

  it("carries EC2's instance types as an enum (the settings validate against it)", () => {
    const types = models.enumOf("ec2", "InstanceType")!;
    expect(types).toEqual(expect.arrayContaining(["t4g.small", "t3.small", "m7g.large"]));
    expect(types).not.toContain("t4g.huge");
  });
});

describe("shape checks", () => {
  it("checks length, pattern, enum, range and list size", () => {
    expect(shapeProblems({ type: "string", min: 1, max: 3 }, "abcd")).toEqual(["is 4 characters, more than the maximum 3"]);
    expect(shapeProblems({ type: "string", pattern: "^[a-z]+$" }, "a.b")[0]).toMatch(/pattern/);
    expect(shapeProblems({ type: "string", enum: ["a", "b"] }, "c")[0]).toMatch(/not one of the values AWS accepts \(a, b\)/);
    expect(shapeProblems({ type: "integer", min: 5, max: 300 }, 2)).toEqual(["is 2, below the minimum 5"]);
    expect(shapeProblems({ type: "list", max: 5 }, [1, 2, 3, 4, 5, 6])).toEqual(["has 6 items, more than the maximum 5"]);
    expect(shapeProblems({ type: "string", min: 1, max: 3, pattern: "^[a-z]+$", enum: ["ab"] }, "ab")).toEqual([]);
  });

  it("reads inputs through arrays and maps", () => {
    const inputs = { rules: [{ name: "a" }, { name: "b" }], dimensions: { LoadBalancer: "app/x" } };
    expect(valuesAt(inputs, "rules.name")).toEqual(["a", "b"]);
    expect(valuesAt(inputs, "dimensions{}")).toEqual(["LoadBalancer"]);
    expect(valuesAt(inputs, "dimensions{=}")).toEqual(["app/x"]);
  });
});

describe("model members", () => {
  it("fails a KMS alias with a dot (a dotted project or stack name) and passes the sanitized one", () => {
    const dotted = res("aws:kms/alias:Alias", "key-alias", { name: "alias/django-tiers/my.shop/prod.v2" });
    expect(errors([dotted], "kms CreateAlias.AliasName")[0].message).toMatch(/pattern/);
    const fixed = res("aws:kms/alias:Alias", "key-alias", { name: keyAliasName("my.shop", "prod.v2") });
    expect(errors([fixed], "kms CreateAlias.AliasName")).toEqual([]);
    // Names without a dot keep their alias: no existing stack is renamed.
    expect(keyAliasName("django-tiers", "prod")).toBe("alias/django-tiers/django-tiers/prod");
  });

  it("fails an instance type EC2 does not have", () => {
    const box = res("aws:ec2/instance:Instance", "box", { instanceType: "t4g.huge" });
    expect(errors([box], "ec2 RunInstances.InstanceType")).toHaveLength(1);
    expect(errors([{ ...box, inputs: { instanceType: "t4g.small" } }], "ec2 RunInstances.InstanceType")).toEqual([]);
  });

  it("checks a provider-generated name as a Pulumi auto-name (logical name, '-', 7 characters)", () => {
    const role = res("aws:iam/role:Role", "r".repeat(56), {});
    expect(errors([role], "iam CreateRole.RoleName")).toEqual([]);
    const longer = res("aws:iam/role:Role", "r".repeat(57), {});
    const e = errors([longer], "iam CreateRole.RoleName");
    expect(e[0]).toMatchObject({ input: "name (auto-named)", message: "is 65 characters, more than the maximum 64" });
  });

  it("fails a target group health check outside the model's range", () => {
    const tg = res("aws:lb/targetGroup:TargetGroup", "tg", { name: "tg", healthCheck: { interval: 2, path: "/healthz" } });
    expect(errors([tg], "elbv2 CreateTargetGroup.HealthCheckIntervalSeconds")[0].message).toBe("is 2, below the minimum 5");
  });
});

describe("prose rules", () => {
  const rule = (id: string) => {
    const r = PROSE_RULES.find((p) => p.id === id);
    if (!r) throw new Error(`no rule ${id}`);
    return r;
  };

  it("every rule cites an AWS page", () => {
    for (const r of PROSE_RULES) expect(r.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });

  it("ec2-security-group-description: refuses an apostrophe (Let's Encrypt), and the box's egress rules conform", () => {
    expect(rule("ec2-security-group-description")).toBeDefined();
    const bad = res("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "box-out-https", { description: "HTTPS to Let's Encrypt" });
    expect(errors([bad], "ec2-security-group-description")[0].message).toMatch(/contains "'"/);
    for (const e of SINGLE_BOX_EGRESS) expect(e.description).toMatch(SG_DESCRIPTION);
    const group = res("aws:ec2/securityGroup:SecurityGroup", "sg", { description: "x".repeat(256) });
    expect(errors([group], "ec2-security-group-description")[0].message).toMatch(/at most 255/);
  });

  it("ec2-security-group-name: refuses a name starting with sg-", () => {
    expect(errors([res("aws:ec2/securityGroup:SecurityGroup", "sg-box", {})], "ec2-security-group-name")[0].message).toMatch(/sg-/);
    expect(errors([res("aws:ec2/securityGroup:SecurityGroup", "box-sg", {})], "ec2-security-group-name")).toEqual([]);
  });

  it("elbv2-names: 32 characters at most (auto-names included), no internal- load balancer", () => {
    expect(errors([res("aws:lb/targetGroup:TargetGroup", "lb-tg-blue", {})], "elbv2-names")).toEqual([]);
    expect(errors([res("aws:lb/targetGroup:TargetGroup", "a-target-group-named-at-length", {})], "elbv2-names")).toHaveLength(1);
    expect(errors([res("aws:lb/loadBalancer:LoadBalancer", "lb", { name: "internal-web" })], "elbv2-names")[0].message).toMatch(/internal-/);
    expect(errors([res("aws:lb/loadBalancer:LoadBalancer", "lb", { name: "-web" })], "elbv2-names")).toHaveLength(1);
  });

  it("kms-key-admits-autoscaling: a key encrypting a group's volumes must admit AWSServiceRoleForAutoScaling", () => {
    const rootOnly = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };
    const slr = `arn:aws:iam::${ACCOUNT}:${AUTOSCALING_SERVICE_LINKED_ROLE}`;
    const withSlr = {
      ...rootOnly,
      Statement: [
        ...rootOnly.Statement,
        { Effect: "Allow", Principal: { AWS: slr }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], Resource: "*" },
        { Effect: "Allow", Principal: { AWS: slr }, Action: "kms:CreateGrant", Resource: "*", Condition: { Bool: { "kms:GrantIsForAWSResource": true } } },
      ],
    };
    const plan = (policy: unknown) => [
      res("aws:kms/key:Key", "key", { policy: json(policy) }),
      res("aws:ec2/launchTemplate:LaunchTemplate", "app-lt", { blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: "true", kmsKeyId: arn("kms", "key") } }] }),
      res("aws:autoscaling/group:Group", "app-asg", { launchTemplate: { id: id("app-lt"), version: "1" } }),
    ];
    expect(errors(plan(rootOnly), "kms-key-admits-autoscaling")[0].message).toMatch(/AWSServiceRoleForAutoScaling .*kms:CreateGrant.*every launch fails/);
    expect(errors(plan(withSlr), "kms-key-admits-autoscaling")).toEqual([]);
  });

  it("rds-performance-insights-class: not for MySQL or MariaDB on db.t4g.micro", () => {
    const db = (engine: string, instanceClass: string) => res("aws:rds/instance:Instance", "db", { engine, instanceClass, performanceInsightsEnabled: true });
    expect(errors([db("mysql", "db.t4g.micro")], "rds-performance-insights-class")).toHaveLength(1);
    expect(errors([db("mariadb", "db.t3.small")], "rds-performance-insights-class")).toHaveLength(1);
    expect(errors([db("postgres", "db.t4g.micro"), db("mysql", "db.t4g.medium")], "rds-performance-insights-class")).toEqual([]);
    expect(performanceInsightsSupported("mysql", "db.t4g.micro")).toBe(false);
  });

  it("rds-multi-az-engine-class: not on Aurora instances or SQL Server Express/Web; PostgreSQL, MySQL and MariaDB pass", () => {
    const db = (engine: string, instanceClass: string, multiAz = true) => res("aws:rds/instance:Instance", `db-${engine}`, { engine, instanceClass, multiAz });
    const found = errors([db("sqlserver-ex", "db.t3.small"), db("aurora-postgresql", "db.r6g.large")], "rds-multi-az-engine-class");
    expect(found.map((e) => [e.resource, e.input, e.message])).toEqual([
      ["db-sqlserver-ex", "multiAz", "is not offered for sqlserver-ex on db.t3.small: RDS for SQL Server offers Multi-AZ on the Standard and Enterprise editions only, not Express"],
      ["db-aurora-postgresql", "multiAz", "is not offered for aurora-postgresql on db.r6g.large: Aurora places a cluster's instances itself: MultiAZ does not apply to an Aurora DB instance"],
    ]);
    expect(errors([db("postgres", "db.t4g.micro"), db("mysql", "db.t4g.micro"), db("mariadb", "db.m7g.large"), db("sqlserver-ex", "db.t3.small", false)], "rds-multi-az-engine-class")).toEqual([]);
    expect(multiAzSupport("postgres", "db.t4g.micro")).toEqual({ supported: true });
    expect(multiAzSupport("sqlserver-web", "db.m5.large")).toMatchObject({ supported: false });
  });

  it("ec2-user-data-size: at most 16 KB before base64", () => {
    const big = Buffer.from("#!/bin/sh\n" + "x".repeat(16 * 1024)).toString("base64");
    expect(errors([res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { userData: big })], "ec2-user-data-size")[0].message).toMatch(/16384/);
    expect(errors([res("aws:ec2/instance:Instance", "box", { userDataBase64: Buffer.from("#!/bin/sh\n").toString("base64") })], "ec2-user-data-size")).toEqual([]);
  });

  it("subnets-two-zones: a load balancer or subnet group in one zone fails", () => {
    const subnets = [res("aws:ec2/subnet:Subnet", "a", { availabilityZone: "us-east-1a" }), res("aws:ec2/subnet:Subnet", "b", { availabilityZone: "us-east-1a" }), res("aws:ec2/subnet:Subnet", "c", { availabilityZone: "us-east-1b" })];
    expect(errors([...subnets, res("aws:lb/loadBalancer:LoadBalancer", "lb", { name: "lb", subnets: [id("a"), id("b")] })], "subnets-two-zones")).toHaveLength(1);
    expect(errors([...subnets, res("aws:rds/subnetGroup:SubnetGroup", "db", { subnetIds: [id("a"), id("b")] })], "subnets-two-zones")).toHaveLength(1);
    expect(errors([...subnets, res("aws:rds/subnetGroup:SubnetGroup", "db", { subnetIds: [id("a"), id("c")] })], "subnets-two-zones")).toEqual([]);
  });

  it("cloudfront-certificate-region: a certificate outside us-east-1 fails", () => {
    const cert = res("aws:acm/certificate:Certificate", "cert", { region: "eu-west-1" });
    const dist = res("aws:cloudfront/distribution:Distribution", "cdn", { viewerCertificate: { acmCertificateArn: "arn:aws:acm:eu-west-1:123456789012:cert" } });
    expect(errors([cert, dist], "cloudfront-certificate-region", "eu-west-1")[0].message).toMatch(/us-east-1 only/);
    const east = res("aws:acm/certificate:Certificate", "cert", { region: "us-east-1" });
    expect(errors([east, dist], "cloudfront-certificate-region", "eu-west-1")).toEqual([]);
  });

  it("waf-scope-cloudfront: a REGIONAL web ACL or one outside us-east-1 cannot front a distribution", () => {
    const acl = res("aws:wafv2/webAcl:WebAcl", "waf", { scope: "REGIONAL", region: "eu-west-1" });
    const dist = res("aws:cloudfront/distribution:Distribution", "cdn", { webAclId: arn("wafv2", "waf") });
    expect(errors([acl, dist], "waf-scope-cloudfront").map((e) => e.input).sort()).toEqual(["region", "scope"]);
    expect(errors([{ ...acl, inputs: { scope: "CLOUDFRONT", region: "us-east-1" } }, dist], "waf-scope-cloudfront")).toEqual([]);
  });

  it("cloudfront-comment: at most 128 characters", () => {
    expect(errors([res("aws:cloudfront/distribution:Distribution", "cdn", { comment: "c".repeat(129) })], "cloudfront-comment")).toHaveLength(1);
  });

  it("s3-bucket-name: auto-names are lowercased; an upper-case or too long name fails", () => {
    expect(errors([res("aws:s3/bucket:Bucket", "Files-Static", {})], "s3-bucket-name")).toEqual([]);
    expect(errors([res("aws:s3/bucket:Bucket", "b", { bucket: "My_Bucket" })], "s3-bucket-name")).toHaveLength(1);
    expect(errors([res("aws:s3/bucket:Bucket", "b".repeat(60), {})], "s3-bucket-name")[0].message).toMatch(/3 to 63/);
  });

  it("rds-identifiers: no '--' or trailing hyphen in a final snapshot identifier", () => {
    const db = res("aws:rds/instance:Instance", "database-instance", { finalSnapshotIdentifier: "database-final--x-" });
    expect(errors([db], "rds-identifiers").map((e) => e.message).sort()).toEqual(["must not contain two consecutive hyphens", "must not end with a hyphen"]);
  });

  it("elasticache-replication-group-id: 40 characters at most", () => {
    expect(errors([res("aws:elasticache/replicationGroup:ReplicationGroup", "c".repeat(33), {})], "elasticache-replication-group-id")[0].message).toMatch(/1 to 40/);
    expect(errors([res("aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis", {})], "elasticache-replication-group-id")).toEqual([]);
  });

  it("elasticache-multi-az: needs failover and two nodes", () => {
    const rg = res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", { multiAzEnabled: true, automaticFailoverEnabled: true, numCacheClusters: 1 });
    expect(errors([rg], "elasticache-multi-az")[0].message).toMatch(/at least 2 nodes/);
  });

  it("sqs-queue: names of letters, digits, - and _; attributes in range", () => {
    expect(errors([res("aws:sqs/queue:Queue", "q", { name: "my.shop-celery" })], "sqs-queue")).toHaveLength(1);
    expect(errors([res("aws:sqs/queue:Queue", "q", { name: "shop-celery", visibilityTimeoutSeconds: 50000 })], "sqs-queue")[0].input).toBe("visibilityTimeoutSeconds");
  });

  it("sns-topic-name: letters, digits, - and _", () => {
    expect(errors([res("aws:sns/topic:Topic", "t", { name: "alerts.prod" })], "sns-topic-name")).toHaveLength(1);
  });

  it("secretsmanager-recovery-window: 7 to 30 days, or 0", () => {
    expect(errors([res("aws:secretsmanager/secret:Secret", "s", { recoveryWindowInDays: 3 })], "secretsmanager-recovery-window")).toHaveLength(1);
    expect(errors([res("aws:secretsmanager/secret:Secret", "s", { recoveryWindowInDays: 0 })], "secretsmanager-recovery-window")).toEqual([]);
  });

  it("elbv2-attributes: idle timeout and deregistration delay in range", () => {
    expect(errors([res("aws:lb/loadBalancer:LoadBalancer", "lb", { name: "lb", idleTimeout: 5000 })], "elbv2-attributes")).toHaveLength(1);
    expect(errors([res("aws:lb/targetGroup:TargetGroup", "tg", { name: "tg", deregistrationDelay: 4000 })], "elbv2-attributes")).toHaveLength(1);
  });

  it("every prose rule has a test above", () => {
    const source = require("fs").readFileSync(__filename, "utf8") as string;
    for (const r of PROSE_RULES) expect(source.includes(`"${r.id}"`)).toBe(true);
  });
});

describe("the report", () => {
  it("prints each error with its rule and source, and names unmapped types", () => {
    const r = checkConformance([res("aws:sns/topic:Topic", "t", { name: "a.b" }), res("aws:made/up:Thing", "x", {})], "us-east-1", models);
    const text = formatConformance(r).join("\n");
    expect(text).toMatch(/1 error/);
    expect(text).toMatch(/sns-topic-name; https:\/\/docs\.aws\.amazon\.com/);
    expect(r.unmappedTypes).toEqual(["aws:made/up:Thing"]);
  });
});
