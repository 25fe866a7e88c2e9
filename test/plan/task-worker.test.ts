/**
 * The task worker per app, as `npm run plan` shows it: detected from the
 * project when taskWorker is auto (the default), and an app set to none
 * planned with no worker or beat program on its box.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type { PlanReport } from "../../cli/plan-stack";
import { ofType } from "../helpers";

const repo = path.resolve(__dirname, "../..");

function planJson(...args: string[]): PlanReport {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args, "--json"], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`plan ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The files of the box's configuration document (the artifacts-bucket object phase fetch applies). */
function boxFiles(report: PlanReport): Map<string, string> {
  const document = ofType(report.resources, "aws:s3/bucketObjectv2:BucketObjectv2").find((r) => /^config\/single-box\//.test(String(r.inputs.key)))!;
  const files = (JSON.parse(String(document.inputs.content)) as { files: Array<{ path: string; content: string }> }).files;
  return new Map(files.map((f) => [f.path, f.content]));
}

describe("plan --stack dev: the task worker of the sample app", () => {
  it("is detected (the project has mysite/celery.py) and the plan says so", () => {
    const report = planJson("--stack", "dev");
    expect(report.notes).toContain("App mysite: task worker celery (detected: its project has a Celery app, mysite/celery.py); a worker and one beat run it.");
    const files = boxFiles(report);
    expect(files.get("/etc/supervisor/conf.d/mysite.conf")).toMatch(/\[program:mysite-worker\][\s\S]*\[program:mysite-beat\]/);
  });

  it("set to none (appTaskWorkers), gets no worker or beat, no broker URL, and verify waits for its web program only", () => {
    const report = planJson("--stack", "dev", "--set", 'appTaskWorkers=["none"]');
    expect(report.notes.filter((n) => n.includes("task worker"))).toEqual([]);
    const files = boxFiles(report);
    expect(files.get("/etc/supervisor/conf.d/mysite.conf")).not.toMatch(/mysite-worker|mysite-beat/);
    expect(files.get("/etc/django-tiers/mysite/app.env")).not.toContain("CELERY_BROKER_URL");
    expect(files.get("/usr/local/sbin/django-tiers-provision")).toContain("declare -rA APP_PROGRAMS=([mysite]=mysite-web)");
    expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
  });
});
