/**
 * Static files on S3: collectstatic of the rendered settings, run for real
 * (Django, django-storages and boto3 from PyPI, as an app's lock installs
 * them) against moto's S3 server on loopback, the real counterpart of the
 * bucket. Bucket versioning is on, so the bucket's own history says what
 * each run did: a delete marker is a DeleteObject, a version is a PutObject.
 *
 * Why the storage exists (server/django-env.ts, renderStaticStorageModule):
 * a release unpacked from Pulumi's zip gives every file the unpacking time
 * as its mtime, so django-storages' own S3StaticStorage deletes and uploads
 * again every file whose object is older (the first test shows it), and two
 * servers collecting at once delete each other's uploads.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderBox } from "../../server";
import { STATIC_STORAGE_FILE } from "../../server/paths";
import { fixtureSpec } from "./fixtures";
import { appShell, freePort, layBoxUnder, removeDir, run, stop, tempDir, waitFor, writeUnder } from "./helpers";
import { PYPI_TOOLS_PYTHON, requirePypiTools } from "./pypi-tools";

const SECRETS = "DJANGO_SECRET_KEY='k3J!x9$Qw0-zR7^pLm2&vT5*bN8@cY4%hF6#dS1(gA0)eU3+iO7='\nDATABASE_PASSWORD='not-a-real-password'\n";
const spec = fixtureSpec({ apps: 1, tls: "none", taskWorker: "none", external: true });
const app = spec.apps[0]!.name;
const bucket = spec.objectStorage!.staticBucket;
/** The project's own static folder (the fixture installs no app with static files of its own). */
const OWN_FILES: Record<string, string> = { "site/site.css": "body { color: #123; }\n", "site/app.js": "console.log('v1');\n" };

let dir: string;
let moto: ChildProcess | undefined;
let endpoint: string;
const motoLog: string[] = [];

interface History {
  /** Per key: how many versions (PUTs) and delete markers (DELETEs). */
  puts: Map<string, number>;
  deletes: Map<string, number>;
}

/** Runs Python with boto3 against moto; returns stdout. */
function boto(script: string, ...args: string[]): string {
  const result = run(PYPI_TOOLS_PYTHON, ["-c", script, endpoint, bucket, ...args], { env: awsEnv() });
  if (result.status !== 0) throw new Error(`boto3 script failed: ${result.stderr}`);
  return result.stdout;
}

function awsEnv(): NodeJS.ProcessEnv {
  // Service-specific endpoint variable of botocore: the rendered settings stay untouched.
  return {
    PATH: "/usr/bin:/bin",
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

function history(): History {
  const out = boto(`
import boto3, json, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
seen = {"puts": {}, "deletes": {}}
for page in s3.get_paginator("list_object_versions").paginate(Bucket=sys.argv[2]):
    for v in page.get("Versions", []):
        seen["puts"][v["Key"]] = seen["puts"].get(v["Key"], 0) + 1
    for m in page.get("DeleteMarkers", []):
        seen["deletes"][m["Key"]] = seen["deletes"].get(m["Key"], 0) + 1
print(json.dumps(seen))
`);
  const parsed = JSON.parse(out) as { puts: Record<string, number>; deletes: Record<string, number> };
  return { puts: new Map(Object.entries(parsed.puts)), deletes: new Map(Object.entries(parsed.deletes)) };
}

function objectBody(key: string): string {
  return boto(`
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
sys.stdout.write(s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])["Body"].read().decode())
`, key);
}

function resetBucket(): void {
  boto(`
import boto3, sys
s3 = boto3.resource("s3", endpoint_url=sys.argv[1], region_name="eu-west-1")
b = s3.Bucket(sys.argv[2])
if b.creation_date:
    b.object_versions.delete()
    b.delete()
b.create(CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
b.Versioning().enable()
`);
}

/**
 * A box's files and the fixture project, with a static folder of its own,
 * under a fresh root. `stockBackend`: the app's settings put django-storages'
 * own static storage back (an app may; here it shows what that storage does).
 */
function layProject(label: string, stockBackend = false, boxSpec = spec): { root: string; project: string } {
  const box = layBoxUnder(path.join(dir, label), boxSpec, SECRETS);
  for (const [name, content] of Object.entries(OWN_FILES)) writeUnder(path.join(box.project, "static"), name, content);
  const settings = path.join(box.project, "shopsite/settings.py");
  fs.appendFileSync(settings, `import pathlib\nSTATICFILES_DIRS = [pathlib.Path(__file__).resolve().parent.parent / "static"]\n`);
  if (stockBackend) fs.appendFileSync(settings, `STORAGES["staticfiles"]["BACKEND"] = "storages.backends.s3.S3StaticStorage"\n`);
  return box;
}

/**
 * Sets every file's mtime as unpacking a later release does: after the last
 * upload. collectstatic compares whole seconds, so "now" could fall in the
 * second of the upload on a fast machine; two seconds on, it cannot.
 */
function unpackedNow(project: string): void {
  const now = new Date(Date.now() + 2000);
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else fs.utimesSync(p, now, now);
    }
  };
  walk(project);
}

/** collectstatic in the app's environment, as the release phase runs it. */
function collectstatic(box: { root: string; project: string }, asApp = app): Promise<{ status: number | null; output: string }> {
  // Every app runs the one fixture project (shopsite's settings), each with its own app.env.
  const args = [...appShell(box, asApp, { DJANGO_TIERS_APP_SETTINGS_MODULE: "shopsite.settings" }), PYPI_TOOLS_PYTHON, "manage.py", "collectstatic", "--noinput", "--verbosity", "1"];
  return new Promise((resolve) => {
    const child = spawn("bash", args, { cwd: box.project, env: awsEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("close", (status) => resolve({ status, output }));
  });
}

/** Fails the test with collectstatic's own output unless it exited 0. */
function succeeded(collected: { status: number | null; output: string }): void {
  if (collected.status !== 0) throw new Error(`collectstatic exited ${collected.status}:\n${collected.output}`);
}

beforeAll(async () => {
  requirePypiTools();
  dir = tempDir("static-storage");
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  moto = spawn(path.join(path.dirname(PYPI_TOOLS_PYTHON), "moto_server"), ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  moto.stdout?.on("data", (c) => motoLog.push(String(c)));
  moto.stderr?.on("data", (c) => motoLog.push(String(c)));
  await waitFor(`moto's server on ${endpoint}`, async () => {
    try {
      return (await fetch(`${endpoint}/moto-api/`)).ok;
    } catch {
      return false;
    }
  }, () => motoLog.join("").slice(-2000));
});

afterAll(async () => {
  await stop(moto);
  if (dir) removeDir(dir);
});

it("renders the storage on a box whose files are on S3, and only there", () => {
  expect(renderBox(spec).map((f) => f.path)).toContain(STATIC_STORAGE_FILE);
  expect(renderBox(fixtureSpec({ apps: 1, tls: "none", taskWorker: "none" })).map((f) => f.path)).not.toContain(STATIC_STORAGE_FILE);
});

it("django-storages' own S3StaticStorage deletes every object again when a release is unpacked (why the storage exists)", async () => {
  resetBucket();
  const box = layProject("stock", true);
  const first = await collectstatic(box);
  succeeded(first);
  unpackedNow(box.project);
  const second = await collectstatic(box);
  succeeded(second);
  const { deletes } = history();
  // Every file: deleted once, then uploaded again.
  expect(Object.fromEntries(deletes)).toEqual(Object.fromEntries(Object.keys(OWN_FILES).map((k) => [k, 1])));
});

it("two servers collecting at once, then a new release: nothing is deleted, unchanged files are not uploaded again, a changed one is", async () => {
  resetBucket();
  const web1 = layProject("web1");
  const web2 = layProject("web2");
  const together = await Promise.all([collectstatic(web1), collectstatic(web2)]);
  for (const collected of together) succeeded(collected);
  const afterFirst = history();
  expect(afterFirst.deletes.size).toBe(0);
  expect(objectBody("site/site.css")).toBe(OWN_FILES["site/site.css"]);
  const keys = [...afterFirst.puts.keys()].sort();
  expect(keys).toEqual(Object.keys(OWN_FILES).sort());

  // The next release: every file unpacked anew, one file changed.
  fs.writeFileSync(path.join(web1.project, "static/site/app.js"), "console.log('v2');\n");
  unpackedNow(web1.project);
  const next = await collectstatic(web1);
  succeeded(next);
  const afterNext = history();
  expect(afterNext.deletes.size).toBe(0);
  expect(objectBody("site/app.js")).toBe("console.log('v2');\n");
  for (const key of keys) {
    expect([key, afterNext.puts.get(key)]).toEqual([key, key === "site/app.js" ? afterFirst.puts.get(key)! + 1 : afterFirst.puts.get(key)]);
  }
});

it("several apps share the bucket: the first keeps the root, the next collects under apps/<name>/static, same-named files do not meet", async () => {
  resetBucket();
  const shared = fixtureSpec({ apps: 3, tls: "none", taskWorker: "none", external: true });
  expect(shared.objectStorage!.staticBucket).toBe(bucket);
  const box = layProject("apps", false, shared);
  succeeded(await collectstatic(box, "shop"));
  // The second app's own version of the same file.
  fs.writeFileSync(path.join(box.project, "static/site/site.css"), "body { color: #456; }\n");
  unpackedNow(box.project);
  succeeded(await collectstatic(box, "blog"));
  const { puts, deletes } = history();
  expect(deletes.size).toBe(0);
  expect([...puts.keys()].sort()).toEqual([
    ...Object.keys(OWN_FILES).map((k) => `apps/blog/static/${k}`),
    ...Object.keys(OWN_FILES),
  ].sort());
  expect(objectBody("site/site.css")).toBe(OWN_FILES["site/site.css"]);
  expect(objectBody("apps/blog/static/site/site.css")).toBe("body { color: #456; }\n");
});
