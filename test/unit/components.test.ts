/**
 * Each component's children and their inputs, captured under the mock engine
 * and asserted after `engine.finish()` (so every assertion can fail).
 */
import { installMockEngine } from "../../cli/mock-engine";
import { childrenOf, json, named, ofType, reveal } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "dev" });

import * as path from "path";
import { Artifacts } from "../../components/artifacts";
import { Backup } from "../../components/backup";
import { bundleFiles, bundleVersion } from "../../components/bundle";
import { DnsRecords } from "../../components/dns";
import { StackKey } from "../../components/encryption";
import { Network, subnetCidrs } from "../../components/network";
import { PrivateBucket } from "../../components/private-bucket";
import { Release } from "../../components/release";
import { releaseBundleKey } from "../../server";
import { AppSecrets } from "../../components/secrets";
import { SecretValue } from "../../policies/types";

const appDir = path.resolve(__dirname, "../../examples/apps/mysite");

describe("Network", () => {
  beforeAll(async () => {
    new Network("net", { azCount: 3, cidr: "10.1.0.0/16" });
    new Network("natnet", { natGateway: true });
    new Network("byo", { existing: { vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-01", "subnet-02"], privateSubnetIds: ["subnet-03", "subnet-04"] } });
    await engine.finish();
  });

  it("splits the VPC into one public and one private subnet per zone, named by zone number", () => {
    const subnets = ofType(engine.resources, "aws:ec2/subnet:Subnet").filter((r) => r.name.startsWith("net-"));
    expect(subnets.map((s) => [s.name, s.inputs.cidrBlock, s.inputs.availabilityZone])).toEqual([
      ["net-public-1", "10.1.0.0/20", "us-east-1a"],
      ["net-public-2", "10.1.16.0/20", "us-east-1b"],
      ["net-public-3", "10.1.32.0/20", "us-east-1c"],
      ["net-private-1", "10.1.128.0/20", "us-east-1a"],
      ["net-private-2", "10.1.144.0/20", "us-east-1b"],
      ["net-private-3", "10.1.160.0/20", "us-east-1c"],
    ]);
    for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
  });

  it("closes the default security group and routes only public subnets to the internet gateway", () => {
    const dsg = named(engine.resources, "net-default-sg");
    expect(dsg.type).toBe("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
    expect(dsg.inputs.ingress).toBeUndefined();
    expect(dsg.inputs.egress).toBeUndefined();
    expect(named(engine.resources, "net-public-rt").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", gatewayId: "net-igw-id" }]);
    expect(named(engine.resources, "net-private-rt").inputs.routes).toEqual([]);
    expect(ofType(engine.resources, "aws:ec2/natGateway:NatGateway").map((r) => r.name)).toEqual(["natnet-nat"]);
    expect(named(engine.resources, "natnet-private-rt").inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: "natnet-nat-id" }]);
  });

  it("creates nothing for an existing VPC", () => {
    expect(engine.resources.filter((r) => r.name.startsWith("byo-"))).toEqual([]);
  });

  it("refuses a zone count outside 2–6", () => {
    expect(() => new Network("bad", { azCount: 1 })).toThrow(/azCount must be a whole number from 2 to 6 \(got 1\)/);
  });

  it("subnetCidrs never moves an existing subnet when zones are added", () => {
    const two = subnetCidrs("10.0.0.0/16", 2);
    const four = subnetCidrs("10.0.0.0/16", 4);
    expect(four.public.slice(0, 2)).toEqual(two.public);
    expect(four.private.slice(0, 2)).toEqual(two.private);
    expect(subnetCidrs("192.168.0.0/24", 2)).toEqual({ public: ["192.168.0.0/28", "192.168.0.16/28"], private: ["192.168.0.128/28", "192.168.0.144/28"] });
  });
});

describe("StackKey", () => {
  beforeAll(async () => {
    new StackKey("k");
    await engine.finish();
  });
  it("rotates, and lets CloudWatch Logs use it only for this account's log groups", () => {
    const key = named(engine.resources, "k-key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(key.inputs.deletionWindowInDays).toBe(30);
    const policy = json(key.inputs.policy);
    const logs = policy.Statement.find((s: any) => s.Principal.Service === "logs.us-east-1.amazonaws.com");
    expect(logs.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]).toBe("arn:aws:logs:us-east-1:123456789012:log-group:*");
    expect(named(engine.resources, "k-alias").inputs.name).toBe("alias/django-tiers/django-tiers/dev");
  });
});

describe("PrivateBucket and Artifacts", () => {
  beforeAll(async () => {
    new Artifacts("art", { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", backups: { prefix: "backups/", retentionDays: 14 } });
    await engine.finish();
  });

  it("blocks public access, enforces bucket ownership, versions and never force-destroys", () => {
    for (const b of ["art-artifacts", "art-logs"]) {
      expect(named(engine.resources, `${b}-public-access`).inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      expect(named(engine.resources, `${b}-ownership`).inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
      expect(named(engine.resources, `${b}-versioning`).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
      const bucket = named(engine.resources, `${b}-bucket`);
      expect(bucket.inputs.forceDestroy).toBe(false);
      expect(bucket.options.retainOnDelete).toBe(true);
    }
  });

  it("encrypts artifacts with the stack key and logs with SSE-S3", () => {
    expect(named(engine.resources, "art-artifacts-encryption").inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" }, bucketKeyEnabled: true },
    ]);
    expect(named(engine.resources, "art-logs-encryption").inputs.rules).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
  });

  it("denies plain HTTP, and only the log bucket admits S3 log delivery from this account", () => {
    const artifacts = json(named(engine.resources, "art-artifacts-policy").inputs.policy);
    expect(artifacts.Statement).toEqual([expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]);
    const logs = json(named(engine.resources, "art-logs-policy").inputs.policy);
    expect(logs.Statement[1]).toMatchObject({ Principal: { Service: "logging.s3.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } });
  });

  it("logs artifacts access to the log bucket and expires dumps, old versions and incomplete uploads", () => {
    expect(named(engine.resources, "art-artifacts-access-logs").inputs).toMatchObject({ bucket: "art-artifacts-bucket-id", targetBucket: "art-logs-bucket-id", targetPrefix: "artifacts/" });
    expect(engine.resources.some((r) => r.name === "art-logs-access-logs")).toBe(false);
    const rules = named(engine.resources, "art-artifacts-lifecycle").inputs.rules as any[];
    expect(rules.map((r) => r.id)).toEqual(["abort-incomplete-uploads", "expire-old-versions", "expire-database-dumps"]);
    expect(rules[2]).toMatchObject({ filter: { prefix: "backups/" }, expiration: { days: 14 } });
  });

  it("refuses a backup prefix that is not a folder", () => {
    expect(() => new Artifacts("bad", { kmsKeyArn: "k", backups: { prefix: "backups", retentionDays: 7 } })).toThrow(/backups.prefix must be a key prefix ending in "\/"/);
  });

  it("applies transforms to the bucket it wraps", async () => {
    new PrivateBucket("tx", { transform: { bucket: { tags: { team: "web" } } } });
    await engine.finish();
    expect(named(engine.resources, "tx-bucket").inputs.tags).toEqual({ team: "web" });
  });
});

describe("AppSecrets", () => {
  beforeAll(async () => {
    new AppSecrets("sec", { app: "mysite", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", rotation: "2026-11" });
    await engine.finish();
  });
  it("generates a long SECRET_KEY and a password, keyed to the rotation label", () => {
    expect(named(engine.resources, "sec-secret-key").inputs).toMatchObject({ length: 64, keepers: { rotation: "2026-11" } });
    expect(named(engine.resources, "sec-db-password").inputs).toMatchObject({ length: 32, special: false, keepers: { rotation: "2026-11" } });
  });
  it("stores them as one KMS-encrypted Secrets Manager secret whose value is a Pulumi secret", () => {
    expect(named(engine.resources, "sec-secret").inputs).toMatchObject({ kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k", recoveryWindowInDays: 30 });
    const value = named(engine.resources, "sec-value").inputs.secretString;
    expect(value).toBeInstanceOf(SecretValue);
    expect(Object.keys(json(value))).toEqual(["DJANGO_SECRET_KEY", "DATABASE_PASSWORD"]);
    expect(String(json(value).DJANGO_SECRET_KEY).length).toBeGreaterThanOrEqual(50);
  });
});

describe("Release", () => {
  beforeAll(async () => {
    new Release("rel", { app: "mysite", dir: appDir, bucket: "artifacts-bucket" });
    new Release("pinned", { app: "blog", dir: appDir, bucket: "artifacts-bucket", version: "v1.2.3" });
    await engine.finish();
  });
  it("uploads the bundle under its content hash and points an SSM parameter at it", () => {
    const version = bundleVersion(appDir);
    expect(version).toMatch(/^[0-9a-f]{12}$/);
    const bundle = named(engine.resources, "rel-bundle");
    expect(bundle.inputs).toMatchObject({ bucket: "artifacts-bucket", key: releaseBundleKey("mysite", version), contentType: "application/zip" });
    expect(bundle.options.retainOnDelete).toBe(true);
    const pointer = named(engine.resources, "rel-pointer");
    expect(pointer.inputs).toMatchObject({ name: "/django-tiers/django-tiers/dev/mysite/release", type: "String" });
    // @pulumi/aws marks every parameter value secret; this one is a plain S3 key.
    expect(reveal(pointer.inputs.value)).toBe(`releases/mysite/${version}.zip`);
    expect(reveal(named(engine.resources, "pinned-pointer").inputs.value)).toBe("releases/blog/v1.2.3.zip");
  });
  it("leaves caches and local state out of the bundle", () => {
    const files = bundleFiles(appDir);
    expect(files).toContain("manage.py");
    expect(files).toContain("mysite/settings.py");
    expect(files.some((f) => f.includes("__pycache__") || f.endsWith(".pyc") || f === "db.sqlite3")).toBe(false);
  });
});

describe("Backup", () => {
  beforeAll(async () => {
    new Backup("bk", { resourceArns: ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"], kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", hourUtc: 4, retentionDays: 21 });
    await engine.finish();
  });
  it("backs the box up daily into a KMS vault that is never force-destroyed", () => {
    expect(named(engine.resources, "bk-vault").inputs).toMatchObject({ kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", forceDestroy: false });
    expect((named(engine.resources, "bk-plan").inputs.rules as any[])[0]).toMatchObject({ schedule: "cron(0 4 * * ? *)", lifecycle: { deleteAfter: 21 }, targetVaultName: "bk-vault" });
    expect(named(engine.resources, "bk-selection").inputs.resources).toEqual(["arn:aws:ec2:us-east-1:123456789012:instance/i-1"]);
  });
  it("refuses an hour outside the day", () => {
    expect(() => new Backup("bad", { resourceArns: [], kmsKeyArn: "k", hourUtc: 24 })).toThrow(/hourUtc must be 0–23 \(got 24\)/);
  });
});

describe("DnsRecords", () => {
  beforeAll(async () => {
    new DnsRecords("dns", { zoneId: "z", hosts: ["example.com", "www.example.com"], target: "203.0.113.20", type: "A" });
    await engine.finish();
  });
  it("makes one unproxied A record per host, named by host", () => {
    const records = ofType(engine.resources, "cloudflare:index/dnsRecord:DnsRecord").filter((r) => r.name.startsWith("dns-"));
    expect(records.map((r) => [r.name, r.inputs.name, r.inputs.content, r.inputs.proxied, r.inputs.ttl])).toEqual([
      ["dns-example.com", "example.com", "203.0.113.20", false, 300],
      ["dns-www.example.com", "www.example.com", "203.0.113.20", false, 300],
    ]);
  });
});

describe("SingleBox", () => {
  const { SingleBox } = require("../../components/single-box") as typeof import("../../components/single-box");
  const spec = {
    role: "single-box" as const,
    project: "django-tiers",
    stack: "dev",
    environment: "dev" as const,
    region: "us-east-1",
    apps: [{
      name: "mysite",
      domains: ["example.com"],
      settingsModule: "mysite.settings",
      wsgiApplication: "mysite.wsgi:application",
      celeryApp: "mysite",
      releaseParameter: "/django-tiers/django-tiers/dev/mysite/release",
      secretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite",
    }],
    artifactsBucket: "artifacts",
    taskWorker: "celery" as const,
    tls: { mode: "letsencrypt" as const, email: "ops@example.com" },
    gunicorn: { timeoutSeconds: 30, gracefulTimeoutSeconds: 30, maxRequests: 1000, maxRequestsJitter: 100 },
    nginx: { proxyReadTimeoutSeconds: 60, keepaliveTimeoutSeconds: 75, maxUploadMb: 10 },
    backup: { hourUtc: 3, prefix: "backups/", localRetentionDays: 3 },
    longestTaskSeconds: 300,
  };
  beforeAll(async () => {
    new SingleBox("sb", {
      vpcId: "vpc-1",
      subnetId: "subnet-1",
      instanceType: "t4g.medium",
      rootVolumeGb: 30,
      spec,
      releases: { mysite: "abc123" },
      access: {
        artifactsBucket: "artifacts",
        artifactsBucketArn: "arn:aws:s3:::artifacts",
        backupPrefix: "backups/",
        secretArns: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite"],
        parameterArns: ["arn:aws:ssm:us-east-1:123456789012:parameter/django-tiers/django-tiers/dev/mysite/release"],
        kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k",
      },
      deletionProtection: true,
      alertTopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
      transform: { instance: (args) => ({ ...args, tags: { ...(args.tags as object), owner: "web" } }) },
    });
    await engine.finish();
  });

  it("opens 80 and 443 to the world and nothing else in; only 80 and 443 out", () => {
    const rules = engine.resources.filter((r) => r.name.startsWith("sb-in-") || r.name.startsWith("sb-out-"));
    expect(rules.map((r) => [r.type.split(":").pop(), r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).toEqual([
      ["SecurityGroupIngressRule", 80, 80, "0.0.0.0/0"],
      ["SecurityGroupIngressRule", 443, 443, "0.0.0.0/0"],
      ["SecurityGroupEgressRule", 80, 80, "0.0.0.0/0"],
      ["SecurityGroupEgressRule", 443, 443, "0.0.0.0/0"],
    ]);
    expect(named(engine.resources, "sb-sg").inputs.tags).toMatchObject({ "django-tiers:role": "edge" });
  });

  it("scopes the role to its own secrets, parameters, bucket prefixes, key and log group", () => {
    const statements = json(named(engine.resources, "sb-access").inputs.policy).Statement;
    const byId = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
    expect(byId.ReadOwnSecrets.Resource).toEqual(["arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite"]);
    expect(byId.ReadReleaseBundlesAndConfig.Resource).toEqual(["arn:aws:s3:::artifacts/releases/*", "arn:aws:s3:::artifacts/config/*"]);
    expect(byId.WriteAndReadBackups.Resource).toEqual(["arn:aws:s3:::artifacts/backups/*"]);
    for (const s of statements) {
      // The agent's metrics are the one "*" (PutMetricData has no resource-level permissions), held to its namespace.
      if (s.Sid !== "PublishAgentMetrics") expect(s.Resource).not.toContain("*");
      expect(String(s.Action)).not.toMatch(/:\*$/);
    }
    expect(byId.PublishAgentMetrics).toMatchObject({ Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "CWAgent" } } });
    expect(byId.AgentFindsItsGroup).toBeUndefined();
  });

  it("boots Debian with IMDSv2, an encrypted gp3 root kept on termination, monitoring and termination protection", () => {
    const instance = named(engine.resources, "sb-instance");
    expect(instance.inputs).toMatchObject({
      ami: "ami-mock-debian-12-arm64",
      instanceType: "t4g.medium",
      associatePublicIpAddress: false,
      monitoring: true,
      disableApiTermination: true,
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      rootBlockDevice: { volumeType: "gp3", volumeSize: 30, encrypted: true, deleteOnTermination: false, kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" },
    });
    expect(instance.inputs.tags).toMatchObject({ owner: "web", "django-tiers:role": "single-box" });
    expect(instance.options.ignoreChanges).toEqual(["ami", "userDataBase64"]);
  });

  it("puts every rendered file in the box's configuration document and points the box at it", () => {
    const document = named(engine.resources, "sb-config-document");
    const files = JSON.parse(String(document.inputs.content)).files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(["/usr/local/sbin/django-tiers-provision", "/etc/nginx/sites-available/mysite.conf", "/etc/django-tiers/mysite/app.env"]));
    expect(String(document.inputs.key)).toMatch(/^config\/single-box\/[0-9a-f]{12}\.json$/);
    expect(reveal(named(engine.resources, "sb-config-pointer").inputs.value)).toBe(document.inputs.key);
    expect(String(document.inputs.content)).not.toMatch(/mock-secret-/);
    const statements = json(named(engine.resources, "sb-access").inputs.policy).Statement;
    expect(statements.find((s: any) => s.Sid === "ReadReleasePointers").Resource).toContain("arn:aws:ssm:us-east-1:123456789012:sb-config-pointer");
  });

  it("gives the box gzipped cloud-config user data under 16 KB that names no secret", () => {
    const userData = String(named(engine.resources, "sb-instance").inputs.userDataBase64);
    const raw = Buffer.from(userData, "base64");
    expect(raw.length).toBeLessThanOrEqual(16384);
    const text = require("zlib").gunzipSync(raw).toString("utf8");
    expect(text.startsWith("#cloud-config")).toBe(true);
    expect(text).toContain("/usr/local/sbin/django-tiers-provision");
    expect(text).not.toMatch(/mock-secret-/);
  });

  it("recovers and reboots itself on failed status checks, and tells the alert topic", () => {
    expect(named(engine.resources, "sb-recover").inputs).toMatchObject({
      metricName: "StatusCheckFailed_System",
      alarmActions: ["arn:aws:automate:us-east-1:ec2:recover", "arn:aws:sns:us-east-1:123456789012:alerts"],
    });
    expect(named(engine.resources, "sb-reboot").inputs.alarmActions).toEqual(["arn:aws:automate:us-east-1:ec2:reboot", "arn:aws:sns:us-east-1:123456789012:alerts"]);
  });

  it("rolls releases out through an SSM association whose command names the versions", () => {
    const rollout = named(engine.resources, "sb-rollout");
    expect(rollout.inputs).toMatchObject({ name: "AWS-RunShellScript", targets: [{ key: "InstanceIds", values: ["sb-instance-id"] }] });
    expect((rollout.inputs.parameters as any).commands).toMatch(
      /^\/usr\/local\/sbin\/django-tiers-provision fetch configure release verify # releases: mysite=abc123; secrets: initial; config: [0-9a-f]{12}$/,
    );
  });

  it("makes `pulumi up` wait for each rollout's Success, with the box's output in the artifacts bucket", () => {
    const rollout = named(engine.resources, "sb-rollout");
    expect(rollout.inputs).toMatchObject({
      waitForSuccessTimeoutSeconds: 3600,
      parameters: { executionTimeout: "1800" },
      outputLocation: { s3BucketName: "artifacts", s3KeyPrefix: "rollout/single-box", s3Region: "us-east-1" },
    });
    // The provider waits only on create: a new command (every rollout) must create a new association.
    expect(rollout.options.replaceOnChanges).toEqual(["parameters"]);
    const statements = json(named(engine.resources, "sb-access").inputs.policy).Statement;
    expect(statements.find((s: any) => s.Sid === "WriteRolloutOutput")).toMatchObject({
      Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::artifacts/rollout/single-box/*"],
    });
  });

  it("alarms on a failed provisioning run, from the FAILED line the box ships to its log group", () => {
    const filter = named(engine.resources, "sb-rollout-failures");
    expect(filter.inputs).toMatchObject({
      logGroupName: "/django-tiers/django-tiers/dev/sb",
      pattern: '"django-tiers-provision" "FAILED (exit"',
      metricTransformation: { namespace: "DjangoTiers/Rollout", name: "sb-provision-failures", value: "1" },
    });
    expect(named(engine.resources, "sb-rollout-failed").inputs).toMatchObject({
      namespace: "DjangoTiers/Rollout",
      metricName: "sb-provision-failures",
      statistic: "Sum",
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: ["arn:aws:sns:us-east-1:123456789012:alerts"],
    });
  });
});

describe("Alerts", () => {
  beforeAll(async () => {
    const { Alerts } = require("../../components/alerts") as typeof import("../../components/alerts");
    new Alerts("al", { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k", email: "ops@example.com" });
    new Alerts("quiet", { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k" });
    await engine.finish();
  });
  it("encrypts the topic and subscribes the email only when one is given", () => {
    expect(named(engine.resources, "al-topic").inputs.kmsMasterKeyId).toBe("arn:aws:kms:us-east-1:123456789012:key/k");
    expect(named(engine.resources, "al-email").inputs).toMatchObject({ protocol: "email", endpoint: "ops@example.com", topic: "arn:aws:sns:us-east-1:123456789012:al-topic" });
    expect(engine.resources.filter((r) => r.name.startsWith("quiet-")).map((r) => r.name)).toEqual(["quiet-topic"]);
  });
});

// Last, so it sees every component declared above.
describe("every child of a component", () => {
  it("has its component as parent and a name prefixed by the component's", () => {
    const components = engine.resources.filter((r) => r.isComponent);
    expect(components.length).toBeGreaterThan(5);
    for (const c of components) {
      for (const child of childrenOf(engine.resources, c)) expect(child.name.startsWith(`${c.name}-`)).toBe(true);
    }
    const orphans = engine.resources.filter((r) => !r.isComponent && r.parent === "");
    expect(orphans.map((r) => r.name)).toEqual([]);
  });
});
