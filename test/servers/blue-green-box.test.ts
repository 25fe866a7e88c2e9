/**
 * Blue-green on one box (issue #5), for real: a colored single box (Celery,
 * PostgreSQL and Redis on the box, as topology 1) on a harness host, every
 * rollout the rendered script's `fetch configure release verify` as the
 * stack's rollout association runs it (phase fetch through the AWS CLI
 * stand-in of colors.ts), every assertion over real HTTP through nginx from
 * the lan, under a keep-alive load loop where traffic moves.
 *
 * The first deploy runs v1 on both colors, live blue, the idle one running:
 * that is what the stack plans (tiers/box.ts gives a color whose release is
 * not pinned the built release), so the first promotion already has a
 * running idle color to deploy to, and "no release yet" is only a pointer
 * the stack never leaves on a colored box.
 *
 * Then: promote (green gets v2 while blue serves; then live=green), roll
 * back (live=blue: the switch alone), stop the idle color (idleRunning
 * false) and switch to it (started, /healthz, then the switch), and a
 * faulty release on the idle color (its /healthz fails: nothing switched).
 * Needs Linux, root, `ip netns`, debootstrap: elsewhere the suite says why
 * it cannot run, and fails when CI=true.
 */
import * as fs from "node:fs";
import { runChecks } from "../../policies";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import { IDLE_COLORS_LOG, IDLE_COLORS_PROGRAM, PROVISION_LOCK, renderBox, SWITCH_COLOR_SCRIPT } from "../../server";
import { plan } from "../policies/fixtures";
import { APP, Box, describeLoad, imagePackages, type LoadReport, sleep } from "./box";
import { ColoredBox, coloredBoxSpec, lineIndex, logLines, STANDIN_CALLS } from "./colors";
import { cleanupStale, Host, hostImage, Lan, missingPrerequisites, progress } from "./harness";

jest.setTimeout(600_000); // per test: real boots, releases and load runs on a possibly loaded 2-core machine

const missing = missingPrerequisites();
const ci = process.env.CI === "true";
if (missing) {
  progress(`SKIPPED: the blue-green box suite cannot run here: ${missing}${ci ? "" : " (CI=true makes this a failure)"}`);
}
if (missing && ci) {
  describe("the blue-green box suite", () => {
    it("has its prerequisites (CI=true)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
}

const suite = missing ? describe.skip : describe;

const ROOT = `/srv/apps/${APP}`;
const PAGES = ["/", "/healthz", "/db", "/cache", "/tasks/", "/upload"];
/** v2: a visible difference, and a migration (expand only: v1 keeps working beside it). */
const V2 = {
  "mysite/version.py": 'VERSION = "2"\n',
  "notes/migrations/0003_v2_marker.py": `from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notes", "0002_first_notes")]

    operations = [migrations.RunSQL("CREATE TABLE notes_v2_marker (id serial PRIMARY KEY)", "DROP TABLE notes_v2_marker")]
`,
};
/** v3: v2 whose /healthz answers 503 (it imports, passes manage.py check and migrates: only its health fails). */
const V3_BROKEN = {
  ...V2,
  "mysite/version.py": 'VERSION = "3"\n',
  "mysite/urls.py": fs.readFileSync(`${__dirname}/../../examples/apps/mysite/mysite/urls.py`, "utf8")
    .replace('path("healthz", views.healthz),', 'path("healthz", lambda request: __import__("django.http").http.HttpResponse("broken", status=503)),'),
};

let lan: Lan | undefined;
let image = "";
let host: Host | undefined;
let box: Box;
let colored: ColoredBox;

beforeAll(() => {
  if (missing) return;
  cleanupStale();
  image = hostImage(imagePackages());
  lan = new Lan(String(process.pid));
}, 900_000);

afterAll(() => {
  host?.destroy();
  box?.dispose();
  lan?.destroy();
}, 120_000);

/** The answer's version on the home page, live or through the preview header. */
function servedVersion(color?: "blue" | "green"): string {
  return served(color).version;
}

/** The home page's version and the color its response header names (the promote CLI's smoke test reads it). */
function served(color?: "blue" | "green"): { version: string; color: string } {
  const response = box.request("/", color ? ["-H", `X-Django-Tiers-Color: ${color}`] : []);
  if (response.status !== 200) return { version: `status ${response.status}`, color: "" };
  return { version: /<span id="version">(\d+)<\/span>/.exec(response.text)?.[1] ?? "none", color: response.headers["x-django-tiers-color"] ?? "" };
}

function stylesheetUrl(): string {
  const href = /href="(\/static\/notes\/site\.[0-9a-f]+\.css)"/.exec(box.request("/").text)?.[1];
  if (!href) throw new Error("no stylesheet link on the home page");
  return href;
}

/** The live socket link's target: the socket of the color nginx sends live traffic to. */
function liveLink(): string {
  return box.host.exec(["readlink", `/run/django-tiers/${APP}-live.sock`]).output.trim();
}

/** nginx's processes (master and workers): a reload would replace the workers. */
function nginxProcesses(): string {
  const master = box.host.read("/run/nginx.pid").trim();
  const workers = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1] === master;
    } catch {
      return false;
    }
  });
  return [master, ...workers.sort()].join(" ");
}

/** django-tiers-idle-colors's log ("" before its first run). */
function idleColorsLog(): string {
  const file = box.host.file(IDLE_COLORS_LOG);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/** Its lines since `mark` (a length of the log), without timestamp and name. */
function idleLogLines(mark: number): string[] {
  return idleColorsLog().slice(mark).split("\n").filter(Boolean).map((l) => l.replace(/^\S+Z django-tiers-idle-colors /, ""));
}

function link(name: string): string {
  return box.host.exec(["readlink", `${ROOT}/${name}`]).output.trim();
}

/** The release directory a process runs in (its cwd, through the overlay). */
function cwdRelease(pid: number | undefined): string {
  return fs.readlinkSync(`/proc/${pid}/cwd`).split(`${ROOT}/releases/`)[1] ?? "";
}

function expectNoFailures(label: string, report: LoadReport): void {
  describeLoad(label, report);
  expect(report.failures).toEqual([]);
  expect(report.failed).toBe(0);
  expect(report.ok).toBeGreaterThan(50);
}

suite("blue-green on one box: colored single box, Celery, rollouts through phase fetch", () => {
  let firstBoot = "";
  /** Seconds of the rollout that built, checked and migrated v2 (green's deploy): what a rollback is measured against. */
  let buildSeconds = 0;
  const outputs: string[] = [];

  beforeAll(() => {
    host = new Host("bg", image, lan!);
    // The first deploy's spec: Box writes its user data files (writeRenderedFiles).
    box = new Box(host, coloredBoxSpec({ live: "blue", idleRunning: true }));
    colored = new ColoredBox(box, { live: "blue", idleRunning: true });
    progress(`[bg] host at ${host.address} (${host.ns}); the first deploy: v1 on both colors, blue live, green running`);
    // What `pulumi up` leaves before the instance boots: the bundle, both pointers, the document.
    colored.publish("v1");
    colored.point("blue", "v1");
    colored.point("green", "v1");
    colored.configure({ live: "blue", idleRunning: true });
    // cloud-init's write_files, then the user data's run of every phase.
    box.writeRenderedFiles();
    const run = colored.mustRun(["fetch", "install", "configure", "release", "verify"]);
    firstBoot = run.output;
    outputs.push(run.output);
  }, 600_000);

  it("fetched both colors' pointers, the document and the secret through the AWS CLI, and wrote CURRENT.<color>", () => {
    const calls = colored.calls();
    for (const call of ["ssm get-parameter /django-tiers/servers-test/single-box/config",
      `ssm get-parameter /django-tiers/servers-test/${APP}/blue/release`, `ssm get-parameter /django-tiers/servers-test/${APP}/green/release`,
      `s3 cp s3://django-tiers-servers-test-artifacts/releases/${APP}/v1.zip`]) {
      expect(calls).toContain(call);
    }
    expect(calls.filter((c) => c.startsWith("secretsmanager get-secret-value "))).toHaveLength(1);
    // The plain release pointer is not read on a colored box.
    expect(calls).not.toContain(`ssm get-parameter /django-tiers/servers-test/${APP}/release`);
    const current = (color: string) => box.host.read(`/var/lib/django-tiers/bundles/${APP}/CURRENT.${color}`);
    expect(current("blue")).toBe(`key=releases/${APP}/v1.zip\nversion=v1\nfile=v1.zip\n`);
    expect(current("green")).toBe(current("blue"));
    expect(box.host.exec(["test", "-e", `/var/lib/django-tiers/bundles/${APP}/CURRENT`]).status).not.toBe(0);
    expect(box.host.read("/etc/django-tiers/colors.env")).toMatch(/^LIVE_COLOR=blue\nIDLE_RUNNING=1\n/m);
    // v1 is built once for both colors.
    expect(logLines(firstBoot).filter((l) => l.includes("building release"))).toEqual([`[release] ${APP}: building release v1`]);
  });

  it("runs mysite-web-blue and -green on their own sockets; `colors` says so; pages answer 200 through nginx", async () => {
    for (const color of ["blue", "green"] as const) {
      expect([color, box.program(`${APP}-web-${color}`).state]).toEqual([color, "RUNNING"]);
      expect([color, fs.lstatSync(box.host.file(`/run/django-tiers/${APP}-${color}.sock`)).isSocket()]).toEqual([color, true]);
      expect(link(color)).toBe(`${ROOT}/releases/v1`);
    }
    expect(box.program(`${APP}-web`).state).not.toBe("RUNNING");
    for (const program of [`${APP}-worker`, `${APP}-beat`]) expect([program, box.program(program).state]).toEqual([program, "RUNNING"]);
    expect(link("current")).toBe(`${ROOT}/releases/v1`);
    expect(liveLink()).toBe(`${APP}-blue.sock`);
    const colors = colored.colors();
    expect(colors.live).toBe("blue");
    expect(colors.blue).toEqual({ release: "v1", program: `${APP}-web-blue`, state: "RUNNING" });
    expect(colors.green).toEqual({ release: "v1", program: `${APP}-web-green`, state: "RUNNING" });
    for (const page of PAGES) expect([page, box.request(page).status]).toEqual([page, 200]);
    expect(servedVersion()).toBe("1");
    expect(servedVersion("green")).toBe("1");
    // Each color's gunicorn logs its own requests.
    box.request("/db?probe=blue", ["-H", "X-Django-Tiers-Color: blue"]);
    box.request("/db?probe=green", ["-H", "X-Django-Tiers-Color: green"]);
    // (gunicorn's access log reaches supervisor's file with a delay: polled)
    const logged = await box.until(() => box.host.read(`/var/log/django-tiers/${APP}/web-blue.log`).includes("/db?probe=blue") &&
      box.host.read(`/var/log/django-tiers/${APP}/web-green.log`).includes("/db?probe=green"), 60);
    expect(logged.ok).toBe(true);
    expect(box.host.read(`/var/log/django-tiers/${APP}/web-green.log`)).not.toContain("/db?probe=blue");
  });

  it("passes every server-file check that reads a colored box's files", () => {
    const results = runChecks(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": renderBox(colored.spec) } }), SERVER_FILE_CHECKS);
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => f.message).join("; ")}`)).toEqual([]);
  });

  it("promotes under load: green gets v2 (migrated, /healthz on its socket) while blue serves, then live=green — zero failed requests", async () => {
    const blueMaster = box.program(`${APP}-web-blue`).pid;
    const nginxBefore = nginxProcesses();
    const workerBefore = box.program(`${APP}-worker`).pid;
    const css = stylesheetUrl();
    const load = box.startLoad(["/", "/db", "/healthz", css], { maxSeconds: 900 });
    await load.reach({ ok: 20 });

    // Step 1 of a promotion: the idle color's pointer names v2 (live stays blue).
    colored.publish("v2", V2);
    colored.point("green", "v2");
    const deploy = colored.mustRun();
    buildSeconds = deploy.seconds;
    outputs.push(deploy.output);
    const deployed = { live: servedVersion(), blue: servedVersion("blue"), green: servedVersion("green"), link: liveLink(), current: link("current") };
    const lines = logLines(deploy.output);
    const migrated = lineIndex(lines, `[release] ${APP}: migrate (under the advisory lock)`);
    const restarted = lineIndex(lines, `[release] ${APP}: restarting ${APP}-web-green on its new release`);
    const healthy = lineIndex(lines, `[release] ${APP}: green answers /healthz on /run/django-tiers/${APP}-green.sock`);
    const markerTable = box.host.sh(`cd / && runuser -u postgres -- psql -XAtq -d ${APP} -c "SELECT to_regclass('notes_v2_marker')"`).output.trim();

    // Step 2: live=green, a new configuration document (colors.env).
    colored.configure({ live: "green", idleRunning: true });
    const promote = colored.mustRun();
    outputs.push(promote.output);
    const live = await box.until(() => servedVersion() === "2", 120);
    await load.reach({ ok: load.progress().ok + 20 });
    const report = await load.stop();
    expectNoFailures("promotion (deploy green, then switch)", report);

    progress(`promotion: deploying v2 to green took ${deploy.seconds.toFixed(1)}s, the switch ${promote.seconds.toFixed(1)}s`);
    expect(deployed).toEqual({ live: "1", blue: "1", green: "2", link: `${APP}-blue.sock`, current: `${ROOT}/releases/v1` });
    expect(migrated).toBeGreaterThanOrEqual(0);
    expect(restarted).toBeGreaterThan(migrated);
    expect(healthy).toBeGreaterThan(restarted);
    expect(lineIndex(lines, "is live (was")).toBe(-1);
    expect(markerTable).toBe("notes_v2_marker");
    expect(live.ok).toBe(true);
    expect(liveLink()).toBe(`${APP}-green.sock`);
    expect(servedVersion("blue")).toBe("1");
    expect(logLines(promote.output).filter((l) => l.includes("building release"))).toEqual([]);
    expect(promote.output).toContain(`${APP}: green is live (was blue); /run/django-tiers/${APP}-live.sock -> ${APP}-green.sock, nginx not reloaded`);
    expect(nginxProcesses()).toBe(nginxBefore);
    expect(served()).toEqual({ version: "2", color: "green" });
    expect(served("blue")).toEqual({ version: "1", color: "blue" });
    // Blue kept serving through it all: never restarted.
    expect(box.program(`${APP}-web-blue`).pid).toBe(blueMaster);
    // The worker follows current: restarted on v2.
    expect(link("current")).toBe(`${ROOT}/releases/v2`);
    const worker = box.program(`${APP}-worker`);
    expect(worker.state).toBe("RUNNING");
    expect(worker.pid).not.toBe(workerBefore);
    expect(cwdRelease(worker.pid)).toBe("v2");
    expect(cwdRelease(box.program(`${APP}-beat`).pid)).toBe("v2");
    const colors = colored.colors();
    expect([colors.live, colors.blue.release, colors.blue.state, colors.green.release, colors.green.state]).toEqual(["green", "v1", "RUNNING", "v2", "RUNNING"]);
    const id = box.enqueueTask(12);
    expect(await box.taskResult(id)).toMatchObject({ state: "done", result: 650 });
  });

  it("rolls back under load (live=blue again, no build): the switch alone, zero failed requests", async () => {
    const masters = { blue: box.program(`${APP}-web-blue`).pid, green: box.program(`${APP}-web-green`).pid };
    const nginxBefore = nginxProcesses();
    const load = box.startLoad(["/", "/db", "/healthz"], { maxSeconds: 900 });
    await load.reach({ ok: 20 });
    colored.configure({ live: "blue", idleRunning: true });
    const rollback = colored.mustRun();
    outputs.push(rollback.output);
    const back = await box.until(() => servedVersion() === "1", 120);
    await load.reach({ ok: load.progress().ok + 20 });
    const report = await load.stop();
    const lines = logLines(rollback.output);
    progress(`rollback: the rollout took ${rollback.seconds.toFixed(1)}s (the one that built v2: ${buildSeconds.toFixed(1)}s); ` +
      `its release phase: ${lines.filter((l) => l.startsWith("[release]")).join(" | ")}`);
    expectNoFailures("rollback", report);
    expect(back.ok).toBe(true);
    expect(liveLink()).toBe(`${APP}-blue.sock`);
    expect(link("current")).toBe(`${ROOT}/releases/v1`);
    expect(servedVersion("green")).toBe("2");
    expect(lines.filter((l) => /building release|migrate \(|manage\.py check/.test(l))).toEqual([]);
    expect(rollback.output).toContain(`${APP}: blue is live (was green); /run/django-tiers/${APP}-live.sock -> ${APP}-blue.sock, nginx not reloaded`);
    expect(nginxProcesses()).toBe(nginxBefore);
    expect(served()).toEqual({ version: "1", color: "blue" });
    // Neither color was restarted: the switch is a renamed link.
    expect({ blue: box.program(`${APP}-web-blue`).pid, green: box.program(`${APP}-web-green`).pid }).toEqual(masters);
    // No build, no migration, no restart (asserted above): its seconds are printed, not asserted (timings
    // belong in bench/, and this machine's load varies).
    expect(cwdRelease(box.program(`${APP}-worker`).pid)).toBe("v1");
  });

  it("stops the idle color with idleRunning false; switching to it starts it and waits for its /healthz — zero failed requests", async () => {
    const load = box.startLoad(["/", "/db", "/healthz"], { maxSeconds: 900 });
    await load.reach({ ok: 20 });
    colored.configure({ live: "blue", idleRunning: false });
    const stopIdle = colored.mustRun();
    outputs.push(stopIdle.output);
    const afterStop = { green: box.program(`${APP}-web-green`).state, blue: box.program(`${APP}-web-blue`).state, colors: colored.colors() };
    expect(box.host.read("/etc/django-tiers/colors.env")).toMatch(/^LIVE_COLOR=blue\nIDLE_RUNNING=0\n/m);

    colored.configure({ live: "green", idleRunning: false });
    const toStopped = colored.mustRun();
    outputs.push(toStopped.output);
    const live = await box.until(() => servedVersion() === "2", 120);
    await load.reach({ ok: load.progress().ok + 20 });
    const report = await load.stop();
    expectNoFailures("idle stopped, then switched to", report);
    progress(`idleRunning false: stopping green took ${stopIdle.seconds.toFixed(1)}s; switching to the stopped green ${toStopped.seconds.toFixed(1)}s`);

    expect(stopIdle.output).toContain(`${APP}: stopping ${APP}-web-green (colors.idleRunning is false)`);
    expect(afterStop.green).toBe("STOPPED");
    expect(afterStop.blue).toBe("RUNNING");
    expect([afterStop.colors.live, afterStop.colors.green.state, afterStop.colors.green.release]).toEqual(["blue", "STOPPED", "v2"]);

    const lines = logLines(toStopped.output);
    const started = lineIndex(lines, `[release] ${APP}: starting ${APP}-web-green`);
    const healthy = lineIndex(lines, `[release] ${APP}: green answers /healthz`);
    const switched = lineIndex(lines, `${APP}: green is live (was blue)`);
    const stopped = lineIndex(lines, `[release] ${APP}: stopping ${APP}-web-blue (colors.idleRunning is false)`);
    expect(started).toBeGreaterThanOrEqual(0);
    expect(healthy).toBeGreaterThan(started);
    expect(switched).toBeGreaterThan(healthy);
    expect(stopped).toBeGreaterThan(switched);
    expect(lines.filter((l) => l.includes("building release"))).toEqual([]);
    expect(live.ok).toBe(true);
    expect(box.program(`${APP}-web-green`).state).toBe("RUNNING");
    expect(box.program(`${APP}-web-blue`).state).toBe("STOPPED");
    expect(liveLink()).toBe(`${APP}-green.sock`);
    expect(link("current")).toBe(`${ROOT}/releases/v2`);
  });

  it("phase configure's supervisorctl update adds the idle colors' program to a running box without restarting a color; its first run stops nothing that serves", async () => {
    const started = Date.now();
    // A box from before the program: removed from supervisord (its file stays, as the next document brings it).
    box.host.mustSh(`supervisorctl stop ${IDLE_COLORS_PROGRAM} && supervisorctl remove ${IDLE_COLORS_PROGRAM}`);
    expect(box.program(IDLE_COLORS_PROGRAM).state).not.toBe("RUNNING");
    const before = { green: box.program(`${APP}-web-green`).pid, worker: box.program(`${APP}-worker`).pid, beat: box.program(`${APP}-beat`).pid };
    const mark = idleColorsLog().length;
    const configure = colored.mustRun(["configure"]);
    outputs.push(configure.output);
    expect(configure.output).toContain(`${IDLE_COLORS_PROGRAM}: added process group`);
    const decided = await box.until(() => idleColorsLog().slice(mark).includes(`${APP}: `), 120);
    progress(`idle colors' program added by phase configure: decided ${decided.seconds.toFixed(1)}s after configure; the step took ` +
      `${((Date.now() - started) / 1000).toFixed(1)}s; its log: ${idleLogLines(mark).join(" | ")}`);
    expect(decided.ok).toBe(true);
    expect(idleLogLines(mark)).toContainEqual(`${APP}: green is live; ${APP}-web-blue is STOPPED, nothing to stop`);
    // STARTING until its startsecs (1 s) have passed, then RUNNING (it sleeps after its check).
    const running = await box.until(() => box.program(IDLE_COLORS_PROGRAM).state === "RUNNING", 60);
    expect(running.ok).toBe(true);
    // No color, worker or beat restarted: supervisorctl update only touched the new group.
    expect({ green: box.program(`${APP}-web-green`).pid, worker: box.program(`${APP}-worker`).pid, beat: box.program(`${APP}-beat`).pid }).toEqual(before);
    expect(box.program(`${APP}-web-blue`).state).toBe("STOPPED");
  });

  it("after a reboot with idleRunning false, the live color serves and the idle color is stopped again (django-tiers-idle-colors)", async () => {
    const mark = idleColorsLog().length;
    box.host.powerOff();
    expect(box.request("/healthz").status).toBe(0);
    const started = Date.now();
    box.host.boot();
    const up = await box.until(() => box.request("/healthz").status === 200, 240);
    const decided = await box.until(() => idleLogLines(mark).some((l) => l.startsWith(`${APP}: `)), 180);
    const idleStopped = await box.until(() => box.program(`${APP}-web-blue`).state === "STOPPED", 180);
    progress(`reboot: /healthz 200 after ${up.seconds.toFixed(1)}s; the idle color STOPPED ${((Date.now() - started) / 1000).toFixed(1)}s after boot; ` +
      `django-tiers-idle-colors: ${idleLogLines(mark).join(" | ")}`);
    expect(up.ok).toBe(true);
    expect(decided.ok).toBe(true);
    expect(idleStopped.ok).toBe(true);
    // tmpfiles.d recreated the live link to colors.live; the idle colors' check stopped blue, not green.
    expect(liveLink()).toBe(`${APP}-green.sock`);
    const lines = idleLogLines(mark);
    expect(lines[0]).toBe("supervisord started (a boot), or this program was added: checking each app's idle color");
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^${APP}: green is live; stopped ${APP}-web-blue \\(was (STARTING|RUNNING); colors\\.idleRunning is false\\)$`))]);
    // nginx may answer through green while supervisor still counts its startsecs (5 s): wait for RUNNING.
    const greenRunning = await box.until(() => box.program(`${APP}-web-green`).state === "RUNNING", 120);
    expect(greenRunning.ok).toBe(true);
    const green = box.program(`${APP}-web-green`);
    expect(green.pid).toBeDefined();
    expect(box.program(`${APP}-web-blue`).state).toBe("STOPPED");
    for (const page of PAGES) expect([page, box.request(page).status]).toEqual([page, 200]);
    expect(served()).toEqual({ version: "2", color: "green" });
    for (const program of [`${APP}-worker`, `${APP}-beat`]) {
      const ready = await box.until(() => box.program(program).state === "RUNNING", 120);
      expect([program, ready.ok]).toEqual([program, true]);
    }
    const colors = colored.colors();
    expect([colors.live, colors.green.state, colors.blue.state, colors.blue.release]).toEqual(["green", "RUNNING", "STOPPED", "v1"]);
    // The check ran once and sleeps: RUNNING, and neither the provisioning lock nor the switch's is held.
    expect((await box.until(() => box.program(IDLE_COLORS_PROGRAM).state === "RUNNING", 60)).ok).toBe(true);
    expect(box.host.exec(["flock", "-n", PROVISION_LOCK, "true"]).status).toBe(0);
    expect(box.host.exec(["flock", "-n", SWITCH_COLOR_SCRIPT, "true"]).status).toBe(0);
    // The live color was never stopped or restarted by it.
    await sleep(1000);
    expect(box.program(`${APP}-web-green`).pid).toBe(green.pid);
    const id = box.enqueueTask(4);
    expect(await box.taskResult(id, 90)).toMatchObject({ state: "done", result: 30 });
  });

  it("a faulty release on the idle color (/healthz 503) fails the rollout; green keeps serving, nothing switched — zero failed requests", async () => {
    const greenMaster = box.program(`${APP}-web-green`).pid;
    expect(greenMaster).toBeDefined();
    const load = box.startLoad(["/", "/db", "/healthz"], { maxSeconds: 900 });
    await load.reach({ ok: 20 });
    // A promotion's first step: the idle color gets v3 and runs (idleRunning true).
    colored.publish("v3", V3_BROKEN);
    colored.point("blue", "v3");
    colored.configure({ live: "green", idleRunning: true });
    // The wait for blue's /healthz is shortened (default 180 s) so the suite stays short, and long enough that
    // gunicorn's workers have booted and answer (503) on a loaded machine (before that, curl gets no answer).
    const faulty = colored.run(undefined, { DJANGO_TIERS_VERIFY_TIMEOUT: "30" });
    outputs.push(faulty.output);
    await load.reach({ ok: load.progress().ok + 20 });
    const report = await load.stop();
    expectNoFailures("faulty release on the idle color", report);
    expect(faulty.status).not.toBe(0);
    expect(faulty.output).toContain(`${APP}: blue's /healthz on /run/django-tiers/${APP}-blue.sock still answers 503 after 30s`);
    expect(faulty.output).toContain(`${APP}: blue does not answer /healthz; nothing switched (green keeps serving)`);
    expect(faulty.output).not.toContain("is live (was");
    expect(liveLink()).toBe(`${APP}-green.sock`);
    expect(link("current")).toBe(`${ROOT}/releases/v2`);
    expect(link("blue")).toBe(`${ROOT}/releases/v3`);
    expect(box.program(`${APP}-web-green`).pid).toBe(greenMaster);
    for (let i = 0; i < 5; i++) expect(servedVersion()).toBe("2");
    expect(box.request("/healthz", ["-H", "X-Django-Tiers-Color: blue"]).status).toBe(503);
    expect(cwdRelease(box.program(`${APP}-worker`).pid)).toBe("v2");
  });

  it("never writes a secret into the provisioning log or the stand-in's call log", () => {
    const logs = [...outputs, box.host.read(STANDIN_CALLS)];
    for (const value of Object.values(box.secrets)) {
      expect(logs.filter((text) => text.includes(value))).toEqual([]);
    }
  });
});

