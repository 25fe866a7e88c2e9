/**
 * The library as another project gets it: `npm pack`, then an example
 * consumer stack (examples/consumer) compiled against the packed types and
 * run under the mock engine by the offline plan, policy checks included.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repo = path.resolve(__dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-pack-"));
const consumer = path.join(tmp, "consumer");
let tarball = "";

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_loglevel: "error" } });
}

beforeAll(() => {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", tmp], repo));
  tarball = path.join(tmp, packed[0].filename);

  // The consumer project: its files, its apps, and node_modules holding the packed library.
  fs.mkdirSync(path.join(consumer, "node_modules", "django-tiers"), { recursive: true });
  for (const f of ["index.ts", "tsconfig.json", "Pulumi.yaml", "Pulumi.dev.yaml", "package.json"]) {
    fs.copyFileSync(path.join(repo, "examples/consumer", f), path.join(consumer, f));
  }
  fs.cpSync(path.join(repo, "examples/apps"), path.join(consumer, "apps"), { recursive: true });
  run("tar", ["xzf", tarball, "-C", path.join(consumer, "node_modules", "django-tiers"), "--strip-components=1"], repo);
  // Exactly the packed package's declared dependencies (plus the consumer's own @types/node) resolve, to
  // this repo's installed copies — one @pulumi/pulumi runtime, as npm would dedupe. A runtime import that
  // package.json does not declare fails here as it would for a user.
  const packedManifest = JSON.parse(fs.readFileSync(path.join(consumer, "node_modules/django-tiers/package.json"), "utf8"));
  for (const dep of [...Object.keys(packedManifest.dependencies), "@types/node"]) {
    fs.mkdirSync(path.dirname(path.join(consumer, "node_modules", dep)), { recursive: true });
    fs.symlinkSync(path.join(repo, "node_modules", dep), path.join(consumer, "node_modules", dep));
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("the packed library", () => {
  it("ships compiled code and types, and no tests, sources of the CLI or examples", () => {
    const files = run("tar", ["tzf", tarball], repo).split("\n").filter(Boolean);
    expect(files).toEqual(expect.arrayContaining(["package/dist/library.js", "package/dist/library.d.ts", "package/dist/server/index.js", "package/package.json"]));
    expect(files.filter((f) => /\/(test|cli|examples)\//.test(f) || f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("compiles a consumer stack against its types and plans it under the mock engine", () => {
    run(path.join(repo, "node_modules/.bin/tsc"), ["-p", consumer], consumer);
    expect(fs.existsSync(path.join(consumer, "bin/index.js"))).toBe(true);

    let stdout = "";
    try {
      stdout = run(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), "--project-dir", consumer, "--stack", "dev", "--json"], repo);
    } catch (e) {
      throw new Error(`plan of the consumer failed: ${(e as { stdout?: string }).stdout ?? ""}${(e as { stderr?: string }).stderr ?? ""}`);
    }
    const report = JSON.parse(stdout);
    expect(report.project).toBe("consumer");
    expect(report.region).toBe("eu-west-1");
    const types = new Set(report.resources.map((r: { type: string }) => r.type));
    for (const t of ["django-tiers:index:SingleBox", "django-tiers:index:Network", "django-tiers:index:PrivateBucket", "aws:ec2/instance:Instance"]) {
      expect(types.has(t)).toBe(true);
    }
    // The component used alone keeps its own children under it.
    const archive = report.resources.find((r: { name: string }) => r.name === "exports-archive");
    const archiveBucket = report.resources.find((r: { name: string }) => r.name === "exports-archive-bucket");
    expect(archiveBucket.parent).toBe(archive.urn);
    expect(report.outputs.siteUrls).toEqual([expect.stringMatching(/^http:\/\/ec2-.*\.eu-west-1\.compute\.amazonaws\.com\/$/)]);
    expect(report.checks.filter((c: { status: string }) => c.status === "fail")).toEqual([]);
  });
});
