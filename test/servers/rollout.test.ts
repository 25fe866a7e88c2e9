/**
 * A rollout that fails, for real: a single box (Debian bookworm host in its
 * own namespace, the sample app with Celery) is provisioned with release v1,
 * then given releases that fail at each point of phase release and verify.
 * Each run must exit non-zero with the reason, and leave `current` on the
 * release that served before it, the site answering.
 *
 *  - after the switch, phase verify fails (the release's /healthz is a 404):
 *    the previous release is put back before the failure is reported;
 *  - after the switch, a program does not start (the release has no Celery
 *    app, as a project under the default `taskWorker: celery` may not): the
 *    same;
 *  - before the switch (the WSGI module does not import): the old release
 *    was never replaced, and the run says so.
 *
 * Needs Linux, root, `ip netns`, debootstrap (see single-box.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROVISION_FAILED_PATTERN } from "../../components/single-box";
import { APP, Box, imagePackages, SAMPLE_APP, sampleSpec } from "./box";
import { cleanupStale, Host, hostImage, Lan, missingPrerequisites, progress } from "./harness";

jest.setTimeout(600_000);

const missing = missingPrerequisites();
const ci = process.env.CI === "true";
if (missing) {
  progress(`SKIPPED: the real-host rollout suite cannot run here: ${missing}${ci ? "" : " (CI=true makes this a failure)"}`);
}
if (missing && ci) {
  describe("the real-host rollout suite", () => {
    it("has its prerequisites (CI=true)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
}

const suite = missing ? describe.skip : describe;
const CURRENT = `/srv/apps/${APP}/current`;
const ROLLOUT = ["release", "verify"];
const PATH_ON_BOX = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

let lan: Lan | undefined;
let host: Host | undefined;
let box: Box;
let failedRuns = 0;

beforeAll(() => {
  if (missing) return;
  cleanupStale();
  const image = hostImage(imagePackages());
  lan = new Lan(String(process.pid), "10.213.11");
  host = new Host("rollout", image, lan);
  box = new Box(host, sampleSpec({ taskWorker: "celery" }));
  progress(`[rollout] host at ${host.address}; provisioning release v1`);
  box.writeRenderedFiles();
  box.fetch("v1");
  box.mustProvision(["install", "configure", "release", "verify"]);
}, 900_000);

afterAll(() => {
  host?.destroy();
  box?.dispose();
  lan?.destroy();
}, 120_000);

/** The release the box serves, from its `current` link. */
function live(): string {
  return path.basename(box.host.mustExec(["readlink", CURRENT]).trim());
}

const PROVISION_LOG = "/var/log/django-tiers/provision.log";

/**
 * Phase fetch's outputs for VERSION (the sample app with OVERRIDES), then the rollout (verify waits 60 s at
 * most). Its output is read from provision.log, once the run's last line is there: the script tees its
 * output into the log through a process substitution, which may still be writing when the script exits.
 */
async function rollOut(version: string, overrides: Record<string, string>): Promise<{ status: number | null; output: string }> {
  box.fetch(version, overrides);
  const before = box.host.read(PROVISION_LOG).length;
  const result = box.host.exec(["/usr/local/sbin/django-tiers-provision", ...ROLLOUT],
    { env: { PATH: PATH_ON_BOX, DJANGO_TIERS_VERIFY_TIMEOUT: "60" }, timeoutMs: 420_000 });
  const ended = await box.until(() => /\] (FAILED \(exit|all done:)/.test(box.host.read(PROVISION_LOG).slice(before)), 120);
  expect(ended.ok).toBe(true);
  const output = box.host.read(PROVISION_LOG).slice(before);
  progress(`[rollout] ${version}: exit ${result.status}; ${output.split("\n").filter((l) => /ERROR|FAILED/.test(l)).join(" | ")}`);
  return { status: result.status, output };
}

/**
 * The run's FAILED line in provision.log (the log the CloudWatch agent ships) has every term of the
 * stack's metric filter (PROVISION_FAILED_PATTERN), which counts it for the rollout alarm.
 */
function expectCountedAsFailure(): void {
  const terms = [...PROVISION_FAILED_PATTERN.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  expect(terms.length).toBeGreaterThan(1);
  const counted = box.host.read(PROVISION_LOG).split("\n").filter((l) => terms.every((t) => l.includes(t)));
  expect(counted.length).toBe(++failedRuns);
}

function sampleFile(rel: string): string {
  return fs.readFileSync(path.join(SAMPLE_APP, rel), "utf8");
}

suite("a release that fails is not left live", () => {
  it("serves v1 to start with", () => {
    expect(live()).toBe("v1");
    expect(box.request("/healthz").status).toBe(200);
  });

  it("verify fails after the switch (/healthz is a 404): v1 is put back, the run fails with the reason", async () => {
    const urls = sampleFile("mysite/urls.py").replace(/^\s*path\("healthz", views\.healthz\),\n/m, "");
    expect(urls).not.toContain("healthz");
    const result = await rollOut("v2", { "mysite/urls.py": urls });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(`${APP}: /healthz still answers 404`);
    expect(result.output).toContain(`ERROR: ${APP}: release v2 failed (phase verify failed); putting back release v1`);
    expect(result.output).toContain(`ERROR: not every app is healthy; put back: ${APP}: v2 -> v1 (phase verify failed)`);
    expect(live()).toBe("v1");
    expect(box.request("/healthz").status).toBe(200);
    expect(box.program(`${APP}-web`).state).toBe("RUNNING");
    expectCountedAsFailure();
  });

  it("the worker cannot start after the switch (no Celery app in the release): v1 is put back, the run fails with the reason", async () => {
    const result = await rollOut("v3", { "mysite/celery.py": 'raise ImportError("this release has no Celery app")\n' });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(`ERROR: ${APP}: release v3 failed (its programs did not start); putting back release v1`);
    expect(result.output).toContain(`ERROR: ${APP}: release v3 failed: its programs did not start`);
    expect(live()).toBe("v1");
    expect(box.request("/healthz").status).toBe(200);
    expect(box.program(`${APP}-worker`).state).toBe("RUNNING");
    expectCountedAsFailure();
  });

  it("a release that fails before the switch (its WSGI module does not import) never goes live, and the run says so", async () => {
    const result = await rollOut("v4", { "mysite/wsgi.py": 'raise RuntimeError("broken release")\n' });
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/FAILED \(exit \d+\): release v4 of mysite failed before the switch; current still serves \/srv\/apps\/mysite\/releases\/v1/);
    expect(live()).toBe("v1");
    expect(box.request("/healthz").status).toBe(200);
    expectCountedAsFailure();
  });

  it("a good release after the failures goes live and is verified", async () => {
    const result = await rollOut("v5", {});
    expect([result.status, result.output.slice(-2000)]).toEqual([0, expect.any(String)]);
    expect(live()).toBe("v5");
    expect(box.host.exec(["test", "-e", `/var/lib/django-tiers/${APP}.unverified`]).status).not.toBe(0);
    expect(box.request("/healthz").status).toBe(200);
  });
});

