/**
 * Every preset stack, and the variations users try, plan with zero AWS
 * conformance errors (policies/conformance/), as `npm run plan` reports
 * them: per stack in the text, whole in --json, and in the exit code.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const repo = path.resolve(__dirname, "../..");

function plan(args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function conformanceOf(args: string[]) {
  const r = plan([...args, "--json"]);
  if (r.code === 2) throw new Error(`plan ${args.join(" ")} exited 2:\n${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout);
  return { code: r.code, conformance: report.conformance, notes: report.notes as string[] };
}

/** A project folder with another project name and stack name, running this repo's stack program. */
function renamedProject(project: string, stack: string, from: string, extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "djt-names-"));
  const yaml = fs.readFileSync(path.join(repo, "Pulumi.yaml"), "utf8")
    .replace(/^name: django-tiers$/m, `name: ${project}`)
    .replace(/^main: index.ts$/m, `main: ${path.join(repo, "index.ts")}`)
    .replace(/^ {2}django-tiers:/gm, `  ${project}:`);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml);
  let stackFile = fs.readFileSync(path.join(repo, `Pulumi.${from}.yaml`), "utf8").replace(/django-tiers:/g, `${project}:`);
  for (const [k, v] of Object.entries({ environment: from === "files" ? "staging" : from, ...extra })) {
    if (!stackFile.includes(`${project}:${k}:`)) stackFile += `  ${project}:${k}: ${v}\n`;
  }
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), stackFile);
  return dir;
}

// The four stacks themselves: test/plan/plan.test.ts.
const VARIATIONS: Array<[string, string[]]> = [
  ["files with MariaDB", ["--stack", "files", "--set", "databaseEngine=mariadb"]],
  ["prod with the Redis broker and no CDN", ["--stack", "prod", "--set", "taskQueueBroker=redis", "--set", "cdn=none"]],
  ["prod behind Cloudflare", ["--stack", "prod", "--set", "cdn=cloudflare"]],
  ["prod with CloudFront in eu-west-1", ["--stack", "prod", "--set", "aws:region=eu-west-1"]],
  ["prod on x86_64", ["--stack", "prod", "--set", "architecture=x86_64", "--set", "instanceType=t3.small", "--set", "workerInstanceType=t3.small"]],
  ["dev on x86_64 behind Cloudflare", ["--stack", "dev", "--set", "architecture=x86_64", "--set", "instanceType=t3.small", "--set", "cdn=cloudflare", "--set", 'domains=["dev.example.com"]', "--set", "cloudflareZoneId=0123456789abcdef0123456789abcdef"]],
  ["dev blue-green on the box", ["--stack", "dev", "--set", "boxReleases=blue-green"]],
  ["staging with standbys", ["--stack", "staging", "--set", "highAvailability=on"]],
];

describe("variations users try", () => {
  it.each(VARIATIONS)("%s: zero conformance errors", (_what, args) => {
    const { code, conformance } = conformanceOf(args);
    expect(conformance.errors).toEqual([]);
    expect(code).toBe(0);
  });

  it("staging with MySQL on db.t4g.micro: zero conformance errors, without Performance Insights, and the plan says why", () => {
    const { code, conformance, notes } = conformanceOf(["--stack", "staging", "--set", "databaseEngine=mysql"]);
    expect(conformance.errors).toEqual([]);
    expect(code).toBe(0);
    expect(notes.join("\n")).toMatch(/Performance Insights is off: RDS does not support it for mysql on db\.t4g\.micro/);
  });

  it.each([
    ["my.shop", "prod.v2", "prod"],
    ["a-really-long-project-name-that-goes-on-and-on-x", "staging.environment-number-two", "staging"],
  ])("project %s, stack %s (%s): zero conformance errors", (project, stack, from) => {
    const dir = renamedProject(project, stack, from);
    try {
      const { code, conformance } = conformanceOf(["--project-dir", dir, "--stack", stack]);
      expect(conformance.errors).toEqual([]);
      expect(code).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

