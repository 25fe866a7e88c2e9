/**
 * The managed services of the external-db and object-storage tiers and the
 * cache add-on: RDS, S3 buckets for files, ElastiCache, and the client group
 * they admit. Inputs asserted after the mock engine has finished.
 */
import { installMockEngine } from "../../cli/mock-engine";
import { childrenOf, json, named, ofType, reveal } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

import { Cache } from "../../components/cache";
import { ClientSecurityGroup } from "../../components/client-group";
import { Database, familyOf } from "../../components/database";
import { ObjectStorage } from "../../components/object-storage";
import { SecretValue } from "../../policies/types";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";

beforeAll(async () => {
  new ClientSecurityGroup("cl", { vpcId: "vpc-1", vpcCidr: "10.0.0.0/16", ports: { database: 5432, cache: 6379 } });
  new Database("db", {
    vpcId: "vpc-1",
    subnetIds: ["subnet-a", "subnet-b"],
    clients: { app: "sg-app", worker: "sg-worker" },
    kmsKeyArn: KEY,
    multiAz: true,
    backupRetentionDays: 14,
  });
  new Database("mysql", { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"], clients: { app: "sg-app" }, kmsKeyArn: KEY, engine: "mysql", deletionProtection: false });
  new Cache("cache", { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"], clients: { app: "sg-app" }, kmsKeyArn: KEY, highAvailability: true });
  new Cache("small", { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"], clients: { app: "sg-app" }, kmsKeyArn: KEY });
  new ObjectStorage("files", { kmsKeyArn: KEY, accessLogsBucket: "logs-bucket" });
  new ObjectStorage("site", { kmsKeyArn: KEY, accessLogsBucket: "logs-bucket", corsOrigins: ["https://shop.example.com", "https://blog.example.com"] });
  await engine.finish();
});

describe("ClientSecurityGroup", () => {
  it("marks its members as app servers and lets them reach only the service ports inside the VPC", () => {
    expect(named(engine.resources, "cl-sg").inputs.tags).toMatchObject({ "django-tiers:role": "app" });
    const rules = engine.resources.filter((r) => r.name.startsWith("cl-to-"));
    expect(rules.map((r) => [r.name, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).toEqual([
      ["cl-to-database", 5432, 5432, "10.0.0.0/16"],
      ["cl-to-cache", 6379, 6379, "10.0.0.0/16"],
    ]);
  });
});

describe("Database", () => {
  it("is private, encrypted, TLS-only, backed up, protected, with a final snapshot", () => {
    const db = named(engine.resources, "db-instance");
    expect(db.inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "16",
      instanceClass: "db.t4g.micro",
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      storageEncrypted: true,
      kmsKeyId: KEY,
      publiclyAccessible: false,
      multiAz: true,
      backupRetentionPeriod: 14,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "db-final-prod",
      autoMinorVersionUpgrade: true,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: KEY,
      dbSubnetGroupName: "db-subnets",
      parameterGroupName: "db-params",
      vpcSecurityGroupIds: ["db-sg-id"],
    });
    // The database is the data: Pulumi refuses to delete or replace it while protected.
    expect(db.options.protect).toBe(true);
    expect(named(engine.resources, "mysql-instance").options.protect).toBe(false);
  });

  it("uses a generated password, kept secret", () => {
    const db = named(engine.resources, "db-instance");
    expect(db.inputs.password).toBeInstanceOf(SecretValue);
    expect(String(reveal(db.inputs.password))).toMatch(/^mock-secret-db-password-/);
    expect(named(engine.resources, "db-password").inputs).toMatchObject({ length: 32, special: false });
  });

  it("forces TLS and logs schema changes and slow queries, per engine", () => {
    const pg = named(engine.resources, "db-params").inputs;
    expect(pg.family).toBe("postgres16");
    expect(Object.fromEntries((pg.parameters as any[]).map((p) => [p.name, p.value]))).toEqual({ "rds.force_ssl": "1", log_statement: "ddl", log_min_duration_statement: "1000" });
    const my = named(engine.resources, "mysql-params").inputs;
    expect(my.family).toBe("mysql8.0");
    expect((my.parameters as any[]).find((p) => p.name === "require_secure_transport").value).toBe("ON");
    expect(familyOf("postgres", "15.4")).toBe("postgres15");
    expect(familyOf("mariadb", "10.6.14")).toBe("mariadb10.6");
  });

  it("admits only its clients' security groups, one rule per role", () => {
    const rules = engine.resources.filter((r) => r.name.startsWith("db-from-"));
    expect(rules.map((r) => [r.name, r.inputs.referencedSecurityGroupId, r.inputs.fromPort])).toEqual([
      ["db-from-app", "sg-app", 5432],
      ["db-from-worker", "sg-worker", 5432],
    ]);
    expect(rules.every((r) => r.inputs.cidrIpv4 === undefined)).toBe(true);
    expect(named(engine.resources, "mysql-from-app").inputs.fromPort).toBe(3306);
    expect(named(engine.resources, "db-sg").inputs.tags).toMatchObject({ "django-tiers:role": "database" });
  });

  it("refuses settings RDS would refuse", () => {
    const base = { vpcId: "v", clients: {}, kmsKeyArn: KEY };
    expect(() => new Database("bad1", { ...base, subnetIds: ["subnet-a"] })).toThrow(/at least two availability zones/);
    expect(() => new Database("bad2", { ...base, subnetIds: ["a", "b"], storageGb: 200, maxStorageGb: 100 })).toThrow(/maxStorageGb \(100\) must be at least storageGb \(200\)/);
    expect(() => new Database("bad3", { ...base, subnetIds: ["a", "b"], backupRetentionDays: 40 })).toThrow(/backupRetentionDays must be 1–35/);
  });
});

describe("Cache", () => {
  it("requires TLS and an AUTH token, encrypts at rest, keeps snapshots", () => {
    const rg = named(engine.resources, "cache-redis");
    expect(rg.inputs).toMatchObject({
      engine: "valkey",
      nodeType: "cache.t4g.micro",
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      kmsKeyId: KEY,
      snapshotRetentionLimit: 3,
      subnetGroupName: "cache-subnets",
      securityGroupIds: ["cache-sg-id"],
    });
    expect(rg.inputs.authToken).toBeInstanceOf(SecretValue);
  });

  it("fails over across zones with two nodes only when highly available", () => {
    expect(named(engine.resources, "cache-redis").inputs).toMatchObject({ numCacheClusters: 2, automaticFailoverEnabled: true, multiAzEnabled: true });
    expect(named(engine.resources, "small-redis").inputs).toMatchObject({ numCacheClusters: 1, automaticFailoverEnabled: false, multiAzEnabled: false });
  });

  it("admits only its clients on 6379", () => {
    expect(named(engine.resources, "cache-from-app").inputs).toMatchObject({ referencedSecurityGroupId: "sg-app", fromPort: 6379, toPort: 6379 });
    expect(named(engine.resources, "cache-sg").inputs.tags).toMatchObject({ "django-tiers:role": "cache" });
  });
});

describe("ObjectStorage", () => {
  it("makes private, KMS-encrypted, versioned, access-logged static and media buckets", () => {
    for (const b of ["files-static", "files-media"]) {
      expect(named(engine.resources, `${b}-public-access`).inputs).toMatchObject({ blockPublicAcls: true, restrictPublicBuckets: true });
      expect(named(engine.resources, `${b}-versioning`).inputs.versioningConfiguration).toEqual({ status: "Enabled" });
      expect((named(engine.resources, `${b}-encryption`).inputs.rules as any[])[0].applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY });
      expect(named(engine.resources, `${b}-access-logs`).inputs).toMatchObject({ targetBucket: "logs-bucket" });
      expect(json(named(engine.resources, `${b}-policy`).inputs.policy).Statement[0].Condition).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    }
    const lifecycle = (name: string) => (named(engine.resources, name).inputs.rules as any[]).find((r) => r.id === "expire-old-versions");
    expect(lifecycle("files-media-lifecycle").noncurrentVersionExpiration).toEqual({ noncurrentDays: 90 });
    expect(lifecycle("files-static-lifecycle").noncurrentVersionExpiration).toEqual({ noncurrentDays: 30 });
  });

  it("answers CORS reads (GET, HEAD) from the origins given, on both buckets, and has no CORS rule without them", () => {
    for (const b of ["site-static", "site-media"]) {
      const cors = named(engine.resources, `${b}-cors`);
      expect(cors.inputs.bucket).toBe(named(engine.resources, `${b}-bucket`).id);
      expect(cors.inputs.corsRules).toEqual([{
        id: "reads-from-the-site",
        allowedOrigins: ["https://shop.example.com", "https://blog.example.com"],
        allowedMethods: ["GET", "HEAD"],
        maxAgeSeconds: 86400,
      }]);
    }
    expect(ofType(engine.resources, "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration").map((r) => r.name).sort()).toEqual(["site-media-cors", "site-static-cors"]);
  });

  it.each([
    ["*"],
    ["https://*.example.com"],
    ["https://shop.example.com/"],
    ["shop.example.com"],
  ])("refuses the CORS origin %s before declaring any child", async (origin) => {
    const name = `badcors${["*", "https://*.example.com", "https://shop.example.com/", "shop.example.com"].indexOf(origin)}`;
    expect(() => new ObjectStorage(name, { kmsKeyArn: KEY, accessLogsBucket: "logs-bucket", corsOrigins: [origin] }))
      .toThrow(`PrivateBucket ${name}-static: corsOrigins: ${JSON.stringify(origin)} is not an origin like "https://shop.example.com" (scheme and lowercase host, no path, no wildcard)`);
    await engine.finish();
    expect(engine.resources.filter((r) => r.name.startsWith(`${name}-static-`))).toEqual([]);
  });
});

it("gives every child its component as parent", () => {
  for (const c of engine.resources.filter((r) => r.isComponent)) {
    for (const child of childrenOf(engine.resources, c)) expect(child.name.startsWith(`${c.name}-`)).toBe(true);
  }
  expect(engine.resources.filter((r) => !r.isComponent && r.parent === "").map((r) => r.name)).toEqual([]);
  expect(ofType(engine.resources, "aws:rds/instance:Instance").length).toBe(2);
});
