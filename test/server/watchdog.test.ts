/**
 * The Celery worker watchdog (issue #6): which boxes get it, its cron job,
 * shellcheck, and its decisions run for real with stand-ins for
 * supervisorctl and runuser (the ping's exit code is the test's to choose).
 * test/servers runs it on real hosts against a worker stuck by the kombu bug.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderBox, watchdogApps, WORKER_WATCHDOG_CRON, WORKER_WATCHDOG_SCRIPT } from "../../server";
import type { BoxSpec } from "../../server";
import { fixtureSpec, roleSpec } from "./fixtures";
import { fileAt, removeDir, run, tempDir, tool, waitFor, writeUnder } from "./helpers";

const CRON_LINE = /^\* \* \* \* \* root \/usr\/local\/sbin\/django-tiers-worker-watchdog ([a-z0-9]+) >>\/var\/log\/django-tiers\/\1\/watchdog\.log 2>&1$/;

function cronJobs(spec: BoxSpec): string[] {
  return fileAt(renderBox(spec), WORKER_WATCHDOG_CRON).content.split("\n").filter((l) => l !== "" && !l.startsWith("#") && !l.includes("="));
}

function hasScript(spec: BoxSpec): boolean {
  return renderBox(spec).some((f) => f.path === WORKER_WATCHDOG_SCRIPT);
}

describe("which boxes get the worker watchdog", () => {
  it("a single box with Celery: the script (0755 root) and one job per app, every minute, as root, logging to the app's log dir", () => {
    const spec = fixtureSpec({ apps: 3, taskWorker: "celery" });
    const files = renderBox(spec);
    const script = fileAt(files, WORKER_WATCHDOG_SCRIPT);
    expect([script.mode, script.owner]).toEqual(["0755", "root:root"]);
    expect(fileAt(files, WORKER_WATCHDOG_CRON)).toMatchObject({ mode: "0644", owner: "root:root" });
    const jobs = cronJobs(spec);
    expect(jobs.map((l) => CRON_LINE.exec(l)?.[1])).toEqual(["shop", "blog", "wiki"]);
    // The Celery app of each app comes from its spec, not from its name.
    expect(script.content).toContain("declare -rA CELERY_APPS=([shop]=shopsite [blog]=blogsite [wiki]=wikisite)\n");
    expect(fileAt(files, WORKER_WATCHDOG_CRON).content).toContain("SHELL=/bin/bash\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  });

  it("external-db/cache single box and a worker server on the ElastiCache broker get it", () => {
    expect(cronJobs(fixtureSpec({ external: true, taskWorker: "celery" }))).toHaveLength(1);
    const worker = roleSpec("worker", { sqs: false, cache: true });
    expect(watchdogApps(worker).map((a) => a.name)).toEqual(["shop"]);
    expect(hasScript(worker)).toBe(true);
    expect(cronJobs(worker)).toHaveLength(1);
  });

  it.each([
    ["a single box with RQ", fixtureSpec({ taskWorker: "rq" })],
    ["a single box without a worker", fixtureSpec({ taskWorker: "none" })],
    ["the beat-only worker server", roleSpec("worker", { apps: 3, beat: true, queues: [], sqs: false, cache: true })],
    ["a Celery worker server on SQS (no broadcast: ping cannot work)", roleSpec("worker", { queues: ["celery", "emails"] })],
    ["an RQ worker server", roleSpec("worker", { taskWorker: "rq", lifecycleHook: false })],
    ["an app server", roleSpec("app", { color: "blue", sqs: false, cache: true })],
  ])("%s: no script, and a cron file with no job (so a box leaving Celery loses the job)", (_label, spec) => {
    expect(hasScript(spec)).toBe(false);
    expect(cronJobs(spec)).toEqual([]);
    expect(fileAt(renderBox(spec), WORKER_WATCHDOG_CRON).content).toContain("# No Celery worker with a Redis broker on this box");
  });

  it("passes shellcheck", () => {
    const dir = tempDir("watchdog-shellcheck");
    try {
      const file = writeUnder(dir, "watchdog", fileAt(renderBox(fixtureSpec({ apps: 3 })), WORKER_WATCHDOG_SCRIPT).content, "0755");
      const result = run(tool("shellcheck"), ["--severity=style", "--format=gcc", file]);
      expect(result.stdout).toBe("");
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});

describe("django-tiers-worker-watchdog, run for real (stand-in supervisorctl and runuser)", () => {
  let root: string;
  let script: string;
  const state = () => path.join(root, "state");

  /** What the stand-ins answer: supervisorctl's status line, the ping's exit code. */
  function world(status: string, pingExit: number): void {
    fs.writeFileSync(path.join(root, "status"), `${status}\n`);
    fs.writeFileSync(path.join(root, "ping-exit"), String(pingExit));
  }

  /** The job's command as cron runs it (bash, its PATH), with the stand-ins first on PATH. */
  function runWatchdog(app = "shop"): { status: number | null; output: string } {
    const result = run("bash", ["-c", `${script} ${app}`], {
      env: { DJANGO_TIERS_WATCHDOG_PATH: `${root}/bin:/usr/sbin:/usr/bin:/sbin:/bin`, DJANGO_TIERS_STATE_DIR: state(), PATH: "/usr/bin:/bin" },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  const restarts = () => (fs.existsSync(path.join(root, "restarts")) ? fs.readFileSync(path.join(root, "restarts"), "utf8").trim().split("\n") : []);
  const pings = () => (fs.existsSync(path.join(root, "pings")) ? fs.readFileSync(path.join(root, "pings"), "utf8").trim().split("\n") : []);
  const RUNNING_LONG = "shop-worker                      RUNNING   pid 4242, uptime 1:02:03";

  beforeEach(() => {
    root = tempDir("watchdog");
    fs.mkdirSync(state());
    script = writeUnder(root, "/django-tiers-worker-watchdog", fileAt(renderBox(fixtureSpec({ apps: 3 })), WORKER_WATCHDOG_SCRIPT).content, "0755");
    writeUnder(root, "/bin/supervisorctl", `#!/bin/bash
case $1 in
  status) cat ${root}/status; [[ $(cat ${root}/status) == *RUNNING* ]] || exit 3 ;;
  restart) echo "$2" >>${root}/restarts; echo "$2: stopped"; echo "$2: started" ;;
  *) exit 2 ;;
esac
`, "0755");
    // Records the whole command line (one line per ping) and exits as told.
    writeUnder(root, "/bin/runuser", `#!/bin/bash\necho "$*" >>${root}/pings\necho "-> pong or not"\nexit "$(cat ${root}/ping-exit)"\n`, "0755");
  });

  afterEach(() => removeDir(root));

  it("pings the app's own node, as the app user, through the exec wrapper, from the live release, with --timeout 5", () => {
    world(RUNNING_LONG.replace("shop-worker", "blog-worker"), 0);
    const result = runWatchdog("blog");
    expect(result.status).toBe(0);
    expect(pings()).toEqual([
      "-u blog -- env --chdir=/srv/apps/blog/current timeout --kill-after=5 30 /usr/local/bin/django-tiers-exec blog " +
      `/srv/apps/blog/current/venv/bin/python -m celery -A blogsite inspect ping --timeout 5 --destination celery@${os.hostname()}`,
    ]);
  });

  it("leaves a worker that answers alone", () => {
    world(RUNNING_LONG, 0);
    const result = runWatchdog();
    expect(result.output).toMatch(/^\S+ django-tiers-worker-watchdog shop-worker answers a ping \(celery@/);
    expect(restarts()).toEqual([]);
    expect(fs.readFileSync(path.join(state(), "shop.worker-watchdog"), "utf8")).toBe("0\n");
  });

  it("restarts only after two missed pings in a row", () => {
    world(RUNNING_LONG, 69);
    const first = runWatchdog();
    expect(first.output).toContain("shop-worker does not answer a ping within 5s (1 of 2): restarting if it stays silent");
    expect(restarts()).toEqual([]);
    const second = runWatchdog();
    expect(second.output).toContain("shop-worker does not answer a ping within 5s (2 of 2): restarting it");
    expect(second.output).toContain("shop-worker restarted");
    expect(second.status).toBe(0);
    expect(restarts()).toEqual(["shop-worker"]);
    // The count starts again after the restart.
    expect(runWatchdog().output).toContain("(1 of 2)");
    expect(restarts()).toEqual(["shop-worker"]);
  });

  it("an answered ping in between starts the count again", () => {
    world(RUNNING_LONG, 69);
    runWatchdog();
    world(RUNNING_LONG, 0);
    runWatchdog();
    world(RUNNING_LONG, 69);
    expect(runWatchdog().output).toContain("(1 of 2)");
    expect(restarts()).toEqual([]);
  });

  it("does not count a ping that cannot reach the broker (timeout's 124, any other error)", () => {
    world(RUNNING_LONG, 69);
    runWatchdog();
    for (const code of [124, 1]) {
      world(RUNNING_LONG, code);
      expect(runWatchdog().output).toContain(`shop-worker: the ping did not run to the end (exit ${code}, broker unreachable?): not counted`);
    }
    expect(restarts()).toEqual([]);
    // The earlier miss still counts: the next miss restarts.
    world(RUNNING_LONG, 69);
    expect(runWatchdog().output).toContain("(2 of 2): restarting it");
    expect(restarts()).toEqual(["shop-worker"]);
  });

  it("does not count a worker started under a minute ago; counts one up for days", () => {
    world("shop-worker                      RUNNING   pid 4242, uptime 0:00:59", 69);
    expect(runWatchdog().output).toContain("shop-worker started 59s ago and does not answer yet: not counted");
    expect(runWatchdog().output).toContain("not counted");
    world("shop-worker                      RUNNING   pid 4242, uptime 3 days, 0:00:10", 69);
    expect(runWatchdog().output).toContain("(1 of 2)");
    expect(restarts()).toEqual([]);
  });

  it("does nothing to a worker supervisor does not run (stopped for a release, FATAL) and forgets earlier misses", () => {
    world(RUNNING_LONG, 69);
    runWatchdog();
    for (const status of ["shop-worker                      STOPPED   Nov 22 08:00 PM", "shop-worker                      FATAL     Exited too quickly"]) {
      world(status, 69);
      const result = runWatchdog();
      expect(result.output).toContain("shop-worker is not RUNNING, nothing to do");
      expect(result.status).toBe(0);
    }
    expect(pings()).toHaveLength(1);
    world(RUNNING_LONG, 69);
    expect(runWatchdog().output).toContain("(1 of 2)");
    expect(restarts()).toEqual([]);
  });

  it("never overlaps a run still going (flock), and refuses an app without a Celery worker here", async () => {
    world(RUNNING_LONG, 69);
    // The lock held by flock itself (-o: not by its sleep) until the test releases it, not for a time the
    // run below could outlast on a loaded machine; in a process group of its own, all killed at the end.
    const holder = spawn("flock", ["-o", path.join(state(), "shop.worker-watchdog.lock"), "sleep", "infinity"], { stdio: "ignore", detached: true });
    try {
      await waitFor("the stand-in run holding the lock", () => spawnSync("flock", ["-n", path.join(state(), "shop.worker-watchdog.lock"), "true"]).status !== 0);
      const result = runWatchdog();
      expect(result.output).toContain("shop-worker: the previous run is still going");
      expect(result.status).toBe(0);
      expect(pings()).toEqual([]);
    } finally {
      try {
        process.kill(-holder.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const unknown = runWatchdog("other");
    expect(unknown.status).toBe(64);
    expect(unknown.output).toContain("usage: django-tiers-worker-watchdog APP (apps with a Celery worker here: ");
    expect(pings()).toEqual([]);
  });
});
