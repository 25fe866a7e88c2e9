/**
 * Shared stacks (docs/shared-stacks.md): the platform program
 * (examples/platform) and app stacks on it (examples/app-on-platform), each
 * run under its own mock engine in its own process (the engine is
 * process-global), the platform's outputs fed to the apps' StackReference.
 * Also an app that brings its own ids in config, and the app program's
 * refusals of bad config.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import * as pulumi from "@pulumi/pulumi";
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { runChecks } from "../../policies";
import { PlannedResource, SecretValue, UNKNOWN } from "../../policies/types";
import { shellQuote } from "../../server/quote";
import type { RenderedFile } from "../../server/types";
import { json, named, ofType, reveal } from "../helpers";

const repo = path.resolve(__dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-shared-"));
const PLATFORM_STACK = "acme/platform/platform-prod";
const APP = "app-on-platform";

/**
 * Runs one program under the mock engine and writes what it declared and
 * exported as JSON: secrets as {"$secret": v}, unknowns as {"$unknown": true}.
 */
const RUNNER = `
const fs = require("fs");
const pulumi = require(${JSON.stringify(path.join(repo, "node_modules/@pulumi/pulumi"))});
const { installMockEngine, setConfig, unwrap } = require(${JSON.stringify(path.join(repo, "cli/mock-engine"))});
const { SecretValue, UNKNOWN } = require(${JSON.stringify(path.join(repo, "policies/types"))});

function encode(v) {
  if (v instanceof SecretValue) return { $secret: encode(v.value) };
  if (v === UNKNOWN) return { $unknown: true };
  if (pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)) return { $asset: true };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}
function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if ("$secret" in v) return new SecretValue(decode(v.$secret));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const write = (result) => fs.writeFileSync(process.argv[3], JSON.stringify(result));
  // A program error inside an apply (a missing stack output) rejects an Output nobody awaits: report it.
  process.on("unhandledRejection", (e) => {
    write({ error: String(e && e.message || e), declared: engine.resources.length });
    process.exit(0);
  });
  const engine = installMockEngine({ project: input.project, stack: input.stack, region: input.region, stackOutputs: decode(input.stackOutputs) });
  setConfig(input.config, input.secretKeys);
  try {
    const program = require(input.program);
    const outputs = {};
    for (const [k, v] of Object.entries(program)) {
      if (!pulumi.Output.isInstance(v)) continue;
      const value = await unwrap(v);
      if (value !== undefined) outputs[k] = (await pulumi.isSecret(v)) ? { $secret: value } : value;
    }
    await engine.finish();
    write({ resources: encode(engine.resources), outputs });
  } catch (e) {
    write({ error: String(e && e.message || e), declared: engine.resources.length });
  }
}
main().then(() => process.exit(0));
`;
const runner = path.join(tmp, "run-program.ts");
fs.writeFileSync(runner, RUNNER);

interface Run {
  resources: PlannedResource[];
  /** The stack's outputs; secret ones as SecretValue. */
  outputs: Record<string, unknown>;
}

function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if ("$secret" in o) return new SecretValue(decode(o.$secret));
    if ("$unknown" in o) return UNKNOWN;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}
function encodeOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v instanceof SecretValue ? { $secret: v.value } : v]));
}

let runs = 0;
/** Runs a program of examples/ in its own process; resolves to what it declared, or rejects with its error. */
function runProgram(opts: {
  program: "platform" | typeof APP;
  stack: string;
  config: Record<string, unknown>;
  secretKeys?: string[];
  stackOutputs?: Record<string, Record<string, unknown>>;
}): Promise<Run> {
  const id = ++runs;
  const inputFile = path.join(tmp, `input-${id}.json`);
  const outputFile = path.join(tmp, `output-${id}.json`);
  const project = opts.program;
  fs.writeFileSync(inputFile, JSON.stringify({
    program: path.join(repo, "examples", opts.program, "index.ts"),
    project,
    stack: opts.stack,
    region: "eu-west-1",
    // As `pulumi config set` stores them: `<project>:<key>`, aws:region beside.
    config: { "aws:region": "eu-west-1", ...Object.fromEntries(Object.entries(opts.config).map(([k, v]) => [`${project}:${k}`, v])) },
    secretKeys: (opts.secretKeys ?? []).map((k) => `${project}:${k}`),
    stackOutputs: opts.stackOutputs ? Object.fromEntries(Object.entries(opts.stackOutputs).map(([s, o]) => [s, encodeOutputs(o)])) : undefined,
  }));
  return new Promise((resolve, reject) => {
    execFile(path.join(repo, "node_modules/.bin/tsx"), [runner, inputFile, outputFile], { cwd: repo, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!fs.existsSync(outputFile)) return reject(new Error(`${opts.program} ${opts.stack} did not finish: ${err?.message ?? ""}\n${stdout}${stderr}`));
      const result = JSON.parse(fs.readFileSync(outputFile, "utf8"));
      if (result.error) return reject(new Error(`${result.error} [after declaring ${result.declared} resources]`));
      resolve({ resources: decode(result.resources) as PlannedResource[], outputs: decode(result.outputs) as Record<string, unknown> });
    });
  });
}

/** Every string in a value, with whether it sits inside a Pulumi secret. */
function strings(value: unknown, inSecret = false, out: { s: string; inSecret: boolean }[] = []): { s: string; inSecret: boolean }[] {
  if (value instanceof SecretValue) strings(value.value, true, out);
  else if (typeof value === "string") out.push({ s: value, inSecret });
  else if (Array.isArray(value)) value.forEach((v) => strings(v, inSecret, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, inSecret, out));
  return out;
}
/** Where a value appears outside a secret: resource inputs (by resource and key) and plain outputs. */
function plainCopies(run: Run, needle: string): string[] {
  const found: string[] = [];
  for (const r of run.resources)
    for (const [k, v] of Object.entries(r.inputs)) if (strings(v).some((x) => !x.inSecret && x.s.includes(needle))) found.push(`${r.name}.${k}`);
  for (const [k, v] of Object.entries(run.outputs)) if (strings(v).some((x) => !x.inSecret && x.s.includes(needle))) found.push(`output ${k}`);
  return found;
}
function userData(run: Run): string {
  const b64 = reveal(named(run.resources, "box-instance").inputs.userDataBase64);
  return gunzipSync(Buffer.from(String(b64), "base64")).toString("utf8");
}
/** The box's rendered files, from its configuration document in the artifacts bucket. */
function boxFiles(run: Run): RenderedFile[] {
  return json(named(run.resources, "box-config-document").inputs.content).files;
}
function appEnv(run: Run, app: string): Record<string, string> {
  const file = boxFiles(run).find((f) => f.path.endsWith(`/${app}/app.env`));
  if (!file) throw new Error(`no app.env of ${app} among ${boxFiles(run).map((f) => f.path).join(", ")}`);
  return Object.fromEntries(file.content.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => {
    const [k, ...v] = l.split("=");
    return [k, v.join("=").replace(/^'(.*)'$/, "$1").replace(/^"(.*)"$/, "$1")];
  }));
}
const failures = (results: ReturnType<typeof runChecks>) =>
  results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`);
const SECRETS_ROTATION = { check: "secrets-rotation", setting: "secretsRotation", reason: "rotated by changing the secretsRotation label and pulumi up" };

let platform: Run;
let shop: Run;
let blog: Run;
let byo: Run;
let ownRole: Run;
let password: string;

beforeAll(async () => {
  platform = await runProgram({ program: "platform", stack: "platform-prod", config: { environment: "prod", cache: true } });
  const stackOutputs = { [PLATFORM_STACK]: platform.outputs };
  [shop, blog, byo, ownRole] = await Promise.all([
    runProgram({ program: APP, stack: "shop-prod", config: { platformStack: PLATFORM_STACK, appName: "shop", environment: "prod", useSharedCache: true }, stackOutputs }),
    runProgram({ program: APP, stack: "blog-prod", config: { platformStack: PLATFORM_STACK, appName: "blog", environment: "prod" }, stackOutputs }),
    runProgram({
      program: APP,
      stack: "legacy-dev",
      config: {
        appName: "legacy",
        vpcId: "vpc-0byo1234",
        publicSubnetIds: ["subnet-0pub1", "subnet-0pub2"],
        clientSecurityGroupId: "sg-0dbclients",
        databaseAddress: "legacy-db.cluster-abc.eu-west-1.rds.amazonaws.com",
        databaseUsername: "dbadmin",
        databasePassword: "byo-master-password-7Qz9",
      },
      secretKeys: ["databasePassword"],
    }),
    runProgram({
      program: APP,
      stack: "wiki-prod",
      config: { platformStack: PLATFORM_STACK, appName: "wiki", databaseUsername: "wiki", databasePassword: "wiki-role-password-3Kq8" },
      secretKeys: ["databasePassword"],
      stackOutputs,
    }),
  ]);
  password = String(reveal(platform.outputs.databasePassword));
}, 600_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the mock engine's stack references", () => {
  // In this process (the programs run in their own): what a StackReference reads from `stackOutputs`.
  installMockEngine({ project: APP, stack: "refs", stackOutputs: { "acme/platform/dev": { vpcId: "vpc-1", databasePassword: new SecretValue("pw-1") } } });

  it("returns plain outputs plain and secret outputs as secrets", async () => {
    const ref = new pulumi.StackReference("platform", { name: "acme/platform/dev" });
    const vpc = ref.requireOutput("vpcId");
    const pw = ref.requireOutput("databasePassword");
    expect([await unwrap(vpc), await pulumi.isSecret(vpc)]).toEqual(["vpc-1", false]);
    expect([await unwrap(pw), await pulumi.isSecret(pw)]).toEqual(["pw-1", true]);
  });
});

describe("the platform stack", () => {
  it("creates the network, the key, the client group, one RDS PostgreSQL server and the cache", () => {
    expect(ofType(platform.resources, "aws:ec2/vpc:Vpc")).toHaveLength(1);
    expect(ofType(platform.resources, "aws:rds/instance:Instance").map((r) => [r.name, r.inputs.engine])).toEqual([["database-instance", "postgres"]]);
    expect(ofType(platform.resources, "aws:elasticache/replicationGroup:ReplicationGroup")).toHaveLength(1);
    expect(named(platform.resources, "clients-sg").inputs.tags).toMatchObject({ "django-tiers:role": "app" });
    // The database admits the client group, which is what the apps' boxes wear.
    expect(named(platform.resources, "database-from-app").inputs.referencedSecurityGroupId).toBe("clients-sg-id");
  });

  it("exports the contract; the password and the cache token as secrets only", () => {
    const o = platform.outputs;
    expect(o).toMatchObject({
      vpcId: "network-vpc-id",
      publicSubnetIds: ["network-public-1-id", "network-public-2-id"],
      privateSubnetIds: ["network-private-1-id", "network-private-2-id"],
      clientSecurityGroupId: "clients-sg-id",
      kmsKeyArn: expect.stringMatching(/^arn:aws:kms:eu-west-1:/),
      databaseEngine: "postgres",
      databaseAddress: expect.stringMatching(/^database-instance\..*\.rds\.amazonaws\.com$/),
      databasePort: 5432,
      databaseUsername: "django",
      databasePasswordSecretArn: expect.stringMatching(/^arn:aws:secretsmanager:/),
      cachePort: 6379,
    });
    expect(o.databasePassword).toBeInstanceOf(SecretValue);
    expect(o.cacheAuthToken).toBeInstanceOf(SecretValue);
    // The RDS master password is the exported one, and it is in no plain input or output.
    expect(reveal(named(platform.resources, "database-instance").inputs.password)).toBe(password);
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(plainCopies(platform, password)).toEqual([]);
    // Kept in Secrets Manager (encrypted with the platform key) for operators, as a secret.
    const master = named(platform.resources, "database-master-value").inputs.secretString;
    expect(master).toBeInstanceOf(SecretValue);
    expect(json(master)).toMatchObject({ engine: "postgres", username: "django", password, port: 5432 });
  });

  it("passes every policy check that applies", () => {
    const results = runChecks({ tier: "external-db", environment: "prod", resources: platform.resources, serverFiles: {}, relaxations: [SECRETS_ROTATION] });
    expect(failures(results)).toEqual([]);
    for (const id of ["rds-managed-password", "rds-multi-az", "alarms-cover-components", "backup-plan-covers-data", "sg-data-ports-from-app-only", "sg-default-closed"]) {
      expect([id, results.find((r) => r.id === id)?.status]).toEqual([id, "pass"]);
    }
  });
});

describe.each([
  ["shop", () => shop],
  ["blog", () => blog],
])("an app stack on the platform (%s)", (app, get) => {
  it("creates no network, no database server and no cache of its own", () => {
    const run = get();
    for (const type of ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:kms/key:Key"]) {
      expect([type, ofType(run.resources, type).length]).toEqual([type, 0]);
    }
    // Its own box, secret, bucket, release and alerts.
    expect(ofType(run.resources, "aws:ec2/instance:Instance").map((r) => r.name)).toEqual(["box-instance"]);
    expect(ofType(run.resources, "aws:secretsmanager/secret:Secret").map((r) => r.name)).toEqual([`secrets-${app}-secret`]);
    expect(ofType(run.resources, "aws:sns/topic:Topic")).toHaveLength(1);
    expect(named(run.resources, `release-${app}-pointer`).inputs.name).toBe(`/django-tiers/${APP}/${app}-prod/${app}/release`);
  });

  it("puts its box in the platform's VPC and subnet, wearing the platform's client group", () => {
    const run = get();
    const instance = named(run.resources, "box-instance");
    expect(instance.inputs.subnetId).toBe(platform.outputs.publicSubnetIds && (platform.outputs.publicSubnetIds as string[])[0]);
    expect(instance.inputs.vpcSecurityGroupIds).toEqual(["box-sg-id", platform.outputs.clientSecurityGroupId]);
    expect(named(run.resources, "box-sg").inputs.vpcId).toBe(platform.outputs.vpcId);
    // The platform's key encrypts its disk, secret and buckets.
    expect(reveal(named(run.resources, `secrets-${app}-secret`).inputs.kmsKeyId)).toBe(platform.outputs.kmsKeyArn);
    expect((instance.inputs.rootBlockDevice as Record<string, unknown>).kmsKeyId).toBe(platform.outputs.kmsKeyArn);
  });

  it("points its app at its own database on the platform's server", () => {
    const run = get();
    expect(appEnv(run, app)).toMatchObject({
      DATABASE_HOST: platform.outputs.databaseAddress,
      DATABASE_PORT: "5432",
      DATABASE_NAME: app,
      DATABASE_USER: "django",
      DATABASE_TLS: "1",
    });
    // The provisioning creates the app's database on that server (ensure_external_database).
    const provision = boxFiles(run).find((f) => f.content.includes("ensure_external_database"))!;
    expect(provision.content).toContain(`readonly DB_HOST=${shellQuote(String(platform.outputs.databaseAddress))}\n`);
    expect(provision.content).toContain(`readonly DB_USER=${shellQuote("django")}\n`);
    expect(userData(run)).toContain(String(platform.outputs.databaseAddress));
  });

  it("keeps the platform's database password in its own secret, as a secret, and nowhere else", () => {
    const run = get();
    const value = named(run.resources, `secrets-${app}-value`).inputs.secretString;
    expect(value).toBeInstanceOf(SecretValue);
    expect(json(value).DATABASE_PASSWORD).toBe(password);
    expect(plainCopies(run, password)).toEqual([]);
    expect(userData(run)).not.toContain(password);
    expect(boxFiles(run).some((f) => f.content.includes(password))).toBe(false);
    expect(Object.keys(run.outputs).sort()).toEqual(["alertTopicArn", "artifactsBucket", "databaseName", "instanceId", "publicIp", "releaseVersion", "secretArn", "sessionCommand", "siteUrls"]);
  });

  it("passes every policy check that applies, its rendered files included", () => {
    const run = get();
    const results = runChecks({ tier: "external-db", environment: "prod", resources: run.resources, serverFiles: { "single-box": boxFiles(run) }, relaxations: [SECRETS_ROTATION] });
    expect(failures(results)).toEqual([]);
    for (const id of ["ec2-no-secrets-in-user-data", "secrets-get-value-scoped", "secrets-stay-encrypted", "backup-plan-covers-data"]) {
      expect([id, results.find((r) => r.id === id)?.status]).toEqual([id, "pass"]);
    }
  });
});

describe("two apps on one platform", () => {
  it("make two boxes and two app secrets over one database server, one database each", () => {
    const all = [platform, shop, blog].flatMap((r) => r.resources);
    expect(ofType(all, "aws:rds/instance:Instance")).toHaveLength(1);
    expect(ofType(all, "aws:ec2/instance:Instance")).toHaveLength(2);
    const secretValues = ofType(all, "aws:secretsmanager/secretVersion:SecretVersion").filter((v) => v.name.startsWith("secrets-"));
    expect(secretValues.map((v) => v.name).sort()).toEqual(["secrets-blog-value", "secrets-shop-value"]);
    // Same server and master password, own database and own SECRET_KEY.
    expect(secretValues.map((v) => json(v.inputs.secretString).DATABASE_PASSWORD)).toEqual([password, password]);
    const [a, b] = secretValues.map((v) => json(v.inputs.secretString).DJANGO_SECRET_KEY);
    expect(a).not.toBe(b);
    expect([appEnv(shop, "shop").DATABASE_NAME, appEnv(blog, "blog").DATABASE_NAME]).toEqual(["shop", "blog"]);
    expect(appEnv(shop, "shop").DATABASE_HOST).toBe(appEnv(blog, "blog").DATABASE_HOST);
  });

  it("shares the platform's cache only when asked, with its token as a secret", () => {
    const cacheHost = String(platform.outputs.cacheAddress);
    expect(appEnv(shop, "shop").REDIS_URL).toBe(`rediss://${cacheHost}:6379/0`);
    expect(json(named(shop.resources, "secrets-shop-value").inputs.secretString).REDIS_PASSWORD).toBe(reveal(platform.outputs.cacheAuthToken));
    expect(plainCopies(shop, String(reveal(platform.outputs.cacheAuthToken)))).toEqual([]);
    // blog keeps Redis (cache and rq queue) on its box.
    expect(appEnv(blog, "blog").REDIS_URL).toMatch(/^redis:\/\/127\.0\.0\.1:6379\//);
    expect(json(named(blog.resources, "secrets-blog-value").inputs.secretString).REDIS_PASSWORD).toBeUndefined();
  });
});

describe("bring your own (plain ids in config, no platform stack)", () => {
  it("uses the given VPC, subnet, client group and database, and makes only its own key", () => {
    const instance = named(byo.resources, "box-instance");
    expect(instance.inputs.subnetId).toBe("subnet-0pub1");
    expect(instance.inputs.vpcSecurityGroupIds).toEqual(["box-sg-id", "sg-0dbclients"]);
    expect(named(byo.resources, "box-sg").inputs.vpcId).toBe("vpc-0byo1234");
    expect(ofType(byo.resources, "aws:ec2/vpc:Vpc")).toHaveLength(0);
    expect(ofType(byo.resources, "aws:rds/instance:Instance")).toHaveLength(0);
    // No kmsKeyArn given: the stack's own key.
    expect(ofType(byo.resources, "aws:kms/key:Key").map((k) => k.name)).toEqual(["key-key"]);
    expect(appEnv(byo, "legacy")).toMatchObject({
      DATABASE_HOST: "legacy-db.cluster-abc.eu-west-1.rds.amazonaws.com",
      DATABASE_PORT: "5432",
      DATABASE_NAME: "legacy",
      DATABASE_USER: "dbadmin",
    });
  });

  it("keeps the configured password a secret", () => {
    const value = named(byo.resources, "secrets-legacy-value").inputs.secretString;
    expect(value).toBeInstanceOf(SecretValue);
    expect(json(value).DATABASE_PASSWORD).toBe("byo-master-password-7Qz9");
    expect(plainCopies(byo, "byo-master-password-7Qz9")).toEqual([]);
    expect(userData(byo)).not.toContain("byo-master-password-7Qz9");
  });

  it("passes every policy check that applies", () => {
    const results = runChecks({ tier: "external-db", environment: "dev", resources: byo.resources, serverFiles: { "single-box": boxFiles(byo) }, relaxations: [SECRETS_ROTATION] });
    expect(failures(results)).toEqual([]);
  });
});

describe("an app on the platform with its own database role", () => {
  it("connects as its role, with its role's password, not the master's", () => {
    expect(appEnv(ownRole, "wiki")).toMatchObject({ DATABASE_HOST: platform.outputs.databaseAddress, DATABASE_NAME: "wiki", DATABASE_USER: "wiki" });
    const value = named(ownRole.resources, "secrets-wiki-value").inputs.secretString;
    expect(value).toBeInstanceOf(SecretValue);
    expect(json(value).DATABASE_PASSWORD).toBe("wiki-role-password-3Kq8");
    expect(strings(ownRole.resources.map((r) => r.inputs)).some((x) => x.s.includes(password))).toBe(false);
    expect(plainCopies(ownRole, "wiki-role-password-3Kq8")).toEqual([]);
  });
});

describe("the app program refuses bad config before declaring anything", () => {
  it.each([
    [{ appName: "shop" }, /set config platformStack .* or, to bring your own, vpcId/],
    [{ appName: "Shop", platformStack: PLATFORM_STACK }, /config appName must be a lowercase letter/],
    [{ appName: "shop", platformStack: PLATFORM_STACK, useSharedCache: true, taskWorker: "celery" }, /taskWorker must be none with useSharedCache/],
  ])("%j", async (config, message) => {
    const run = runProgram({ program: APP, stack: "bad", config, stackOutputs: { [PLATFORM_STACK]: platform.outputs } });
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(/\[after declaring 0 resources\]$/);
  });

  it("fails on a platform stack that does not export the contract", async () => {
    const { databasePassword: _dropped, ...partial } = platform.outputs;
    await expect(runProgram({ program: APP, stack: "bad", config: { appName: "shop", platformStack: PLATFORM_STACK }, stackOutputs: { [PLATFORM_STACK]: partial } }))
      .rejects.toThrow(/Required output 'databasePassword' does not exist on stack 'acme\/platform\/platform-prod'/);
  });
});
