/**
 * Blue-green on one box after a reboot: supervisord starts both colors (both
 * programs are autostart=true and must stay so), and the program
 * django-tiers-idle-colors stops the idle one again when colors.idleRunning
 * is false. Which boxes get it and what is rendered; shellcheck and the
 * policy checks; and the script's decisions run for real with a stand-in
 * supervisorctl: the idle color stopped only when IDLE_RUNNING=0 and the live
 * link points to LIVE_COLOR, the color the link points to never, several
 * apps each on its own, and the provisioning and switch locks respected.
 * test/servers/blue-green-box.test.ts reboots a real colored box.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runChecks } from "../../policies";
import { SERVER_FILE_CHECKS, supervisorProcessGroups } from "../../policies/checks/server-files";
import {
  IDLE_COLORS_LOG, IDLE_COLORS_PROGRAM, IDLE_COLORS_SCRIPT, IDLE_COLORS_SUPERVISOR_CONF, renderBox, renderIdleColorsScript,
} from "../../server";
import type { RenderedFile } from "../../server";
import { plan } from "../policies/fixtures";
import { coloredSpec, fixtureSpec, VARIANTS } from "./fixtures";
import { childProcesses, fileAt, removeDir, run, tempDir, tool, waitFor, writeUnder } from "./helpers";

/** `[program:NAME]`'s keys in a supervisor file. */
function programKeys(conf: string, name: string): Record<string, string> {
  const start = conf.indexOf(`[program:${name}]\n`);
  if (start < 0) throw new Error(`no [program:${name}]`);
  const block = conf.slice(start).split("\n").slice(1);
  const end = block.findIndex((l) => l.startsWith("[") || l === "");
  return Object.fromEntries(block.slice(0, end < 0 ? undefined : end).filter((l) => !l.startsWith(";")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

const IDLE_PATHS = [IDLE_COLORS_SCRIPT, IDLE_COLORS_SUPERVISOR_CONF];

describe("which boxes get the idle colors' check", () => {
  const spec = coloredSpec({ apps: 3, tls: "letsencrypt" }, "green", false);
  const files = renderBox(spec);

  it("a colored box: the script (0755 root) and its own supervisor program, run as root once per supervisord start, then asleep", () => {
    expect(fileAt(files, IDLE_COLORS_SCRIPT)).toMatchObject({ mode: "0755", owner: "root:root" });
    expect(fileAt(files, IDLE_COLORS_SUPERVISOR_CONF)).toMatchObject({ mode: "0644", owner: "root:root" });
    const conf = fileAt(files, IDLE_COLORS_SUPERVISOR_CONF).content;
    expect([...conf.matchAll(/^\[([^\]]+)\]$/gm)].map((m) => m[1])).toEqual([`program:${IDLE_COLORS_PROGRAM}`]);
    expect(programKeys(conf, IDLE_COLORS_PROGRAM)).toEqual({
      command: `/bin/sh -c "${IDLE_COLORS_SCRIPT}; exec sleep infinity"`,
      directory: "/",
      user: "root",
      autostart: "true",
      autorestart: "true",
      startsecs: "1",
      startretries: "3",
      stopsignal: "TERM",
      stopwaitsecs: "10",
      stopasgroup: "true",
      killasgroup: "true",
      redirect_stderr: "true",
      stdout_logfile: IDLE_COLORS_LOG,
      stdout_logfile_maxbytes: "0",
      stdout_logfile_backups: "0",
    });
    expect(IDLE_COLORS_LOG).toBe("/var/log/django-tiers/idle-colors.log");
    expect(fileAt(files, IDLE_COLORS_SCRIPT).content).toContain("readonly APPS=(shop blog wiki)\n");
  });

  it("leaves both colors' programs as they were (autostart and autorestart true): a changed program would be restarted by supervisorctl update", () => {
    for (const app of spec.apps) {
      const conf = fileAt(files, `/etc/supervisor/conf.d/${app.name}.conf`).content;
      for (const color of ["blue", "green"]) {
        const keys = programKeys(conf, `${app.name}-web-${color}`);
        expect([app.name, color, keys.autostart, keys.autorestart, keys.startsecs]).toEqual([app.name, color, "true", "true", "5"]);
      }
      // The file's note says what happens after a reboot now.
      expect(conf).toContain(`; when colors.idleRunning is false). After a reboot supervisor starts both, and
; ${IDLE_COLORS_PROGRAM} (${IDLE_COLORS_SUPERVISOR_CONF}) stops the idle one
; again when colors.idleRunning is false, never the one the live link points to.
`);
      expect(conf).not.toContain("until the next rollout");
      expect(conf).not.toContain(IDLE_COLORS_PROGRAM + "]");
    }
    // colors.env says who reads it.
    expect(fileAt(files, "/etc/django-tiers/colors.env").content).toContain("After a reboot, django-tiers-idle-colors stops the idle color\n# again when IDLE_RUNNING is 0.");
  });

  it.each(VARIANTS)("a box without colors ($label) gets neither file, and no mention of it", ({ options }) => {
    const plain = renderBox(fixtureSpec(options));
    expect(plain.filter((f) => IDLE_PATHS.includes(f.path))).toEqual([]);
    expect(plain.filter((f) => f.content.includes("idle-colors")).map((f) => f.path)).toEqual([]);
  });

  it("refuses to render the script for a box without colors", () => {
    expect(() => renderIdleColorsScript(fixtureSpec())).toThrow("renderIdleColorsScript: the spec has no colors");
  });

  it("passes every server-file check; the process-groups check does read its program", () => {
    const checked = (list: RenderedFile[]) => runChecks(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": list } }), SERVER_FILE_CHECKS);
    expect(checked(files).filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => f.message).join("; ")}`)).toEqual([]);
    // The same files with the program's autorestart off: the check names it.
    const oneShot = files.map((f) => (f.path === IDLE_COLORS_SUPERVISOR_CONF ? { ...f, content: f.content.replace("autorestart=true", "autorestart=false") } : f));
    const findings = supervisorProcessGroups.run(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": oneShot } }));
    expect(Array.isArray(findings) ? findings.map((f) => f.message) : findings).toEqual([`[program:${IDLE_COLORS_PROGRAM}] autorestart is false, not true`]);
  });

  it("passes shellcheck", () => {
    const dir = tempDir("idle-colors-shellcheck");
    try {
      const scripts = [coloredSpec({ apps: 1 }, "blue", false), spec].map((s, i) => writeUnder(dir, `${i}/django-tiers-idle-colors`, fileAt(renderBox(s), IDLE_COLORS_SCRIPT).content, "0755"));
      const result = run(tool("shellcheck"), ["--severity=style", "--format=gcc", ...scripts]);
      expect(result.stdout).toBe("");
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});

type State = "STARTING" | "RUNNING" | "BACKOFF" | "STOPPED" | "EXITED" | "FATAL";

describe("django-tiers-idle-colors, run for real (stand-in supervisorctl)", () => {
  let root: string;
  let script: string;
  const APPS = ["shop", "blog", "wiki"];
  const sockets = () => path.join(root, "run");
  const provisionLock = () => path.join(root, "provision.lock");
  const switchScript = () => path.join(root, "django-tiers-switch-color");
  const env = () => ({
    DJANGO_TIERS_IDLE_COLORS_PATH: `${root}/bin:/usr/bin:/bin`,
    DJANGO_TIERS_COLORS_ENV: path.join(root, "colors.env"),
    DJANGO_TIERS_SOCKET_DIR: sockets(),
    DJANGO_TIERS_PROVISION_LOCK: provisionLock(),
    DJANGO_TIERS_SWITCH_COLOR: switchScript(),
    PATH: "/usr/bin:/bin",
  });

  /** colors.env as the configuration document writes it. */
  function colorsEnv(live: string, idleRunning: string): void {
    fs.writeFileSync(path.join(root, "colors.env"), `# Blue-green on this box.\nLIVE_COLOR=${live}\nIDLE_RUNNING=${idleRunning}\n`);
  }

  /** The app's live link, as the switch or tmpfiles.d leave it (undefined: none). */
  function liveLink(app: string, target: string | undefined): void {
    const link = path.join(sockets(), `${app}-live.sock`);
    fs.rmSync(link, { force: true });
    if (target !== undefined) fs.symlinkSync(target, link);
  }

  /** What supervisord says of each program. */
  function programs(states: Record<string, State>): void {
    for (const [name, state] of Object.entries(states)) fs.writeFileSync(path.join(root, "programs", name), state);
  }

  const state = (name: string) => fs.readFileSync(path.join(root, "programs", name), "utf8");
  const lines = (file: string) => (fs.existsSync(path.join(root, file)) ? fs.readFileSync(path.join(root, file), "utf8").trim().split("\n") : []);
  const stops = () => lines("stops");

  function runIdle(): { status: number | null; output: string } {
    const result = run("bash", [script], { env: env() });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** The log's lines without their timestamp and the script's name. */
  const logged = (output: string) => output.trim().split("\n").map((l) => l.replace(/^\S+Z django-tiers-idle-colors /, ""));

  beforeEach(() => {
    root = tempDir("idle-colors");
    fs.mkdirSync(sockets());
    fs.mkdirSync(path.join(root, "programs"));
    fs.writeFileSync(switchScript(), "#!/bin/bash\n# stands in for the switch script: only its lock is used\n", { mode: 0o755 });
    script = writeUnder(root, "/django-tiers-idle-colors", fileAt(renderBox(coloredSpec({ apps: 3 }, "blue", false)), IDLE_COLORS_SCRIPT).content, "0755");
    // supervisorctl status NAME / stop NAME over the files in programs/; a stop records
    // whether the provisioning and switch locks were held by the caller at that moment.
    writeUnder(root, "/bin/supervisorctl", `#!/bin/bash
file=${root}/programs/$2
if [[ ! -f $file ]]; then echo "$2: ERROR (no such process)"; exit 4; fi
state=$(cat "$file")
case $1 in
  status)
    printf '%-32s %-9s %s\\n' "$2" "$state" "pid 4242, uptime 0:00:02"
    [[ $state == RUNNING ]] || exit 3
    ;;
  stop)
    if [[ -e ${root}/stop-fails ]]; then echo "$2: ERROR (abnormal termination)"; exit 1; fi
    locks=""
    flock -n ${provisionLock()} true || locks+=" provision"
    flock -n ${switchScript()} true || locks+=" switch"
    echo "$2 (was $state; locks held:\${locks:- none})" >>${root}/stops
    echo STOPPED >"$file"
    echo "$2: stopped"
    ;;
  *) exit 2 ;;
esac
`, "0755");
  });

  afterEach(() => removeDir(root));

  it("stops the idle color when IDLE_RUNNING=0 and the live link points to LIVE_COLOR, holding both locks; logs one line per app", () => {
    colorsEnv("blue", "0");
    for (const app of APPS) liveLink(app, `${app}-blue.sock`);
    programs({ "shop-web-blue": "RUNNING", "shop-web-green": "RUNNING", "blog-web-blue": "STARTING", "blog-web-green": "STARTING", "wiki-web-blue": "RUNNING", "wiki-web-green": "BACKOFF" });
    const result = runIdle();
    expect(result.status).toBe(0);
    expect(stops()).toEqual([
      "shop-web-green (was RUNNING; locks held: provision switch)",
      "blog-web-green (was STARTING; locks held: provision switch)",
      "wiki-web-green (was BACKOFF; locks held: provision switch)",
    ]);
    expect(logged(result.output)).toEqual([
      "supervisord started (a boot), or this program was added: checking each app's idle color",
      "shop: blue is live; stopped shop-web-green (was RUNNING; colors.idleRunning is false)",
      "blog: blue is live; stopped blog-web-green (was STARTING; colors.idleRunning is false)",
      "wiki: blue is live; stopped wiki-web-green (was BACKOFF; colors.idleRunning is false)",
    ]);
    for (const app of APPS) expect([app, state(`${app}-web-blue`)]).toEqual([app, app === "blog" ? "STARTING" : "RUNNING"]);
    // The log line format: an ISO timestamp and the script's name.
    expect(result.output.split("\n")[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ django-tiers-idle-colors supervisord started/);
  });

  it("stops nothing when IDLE_RUNNING=1", () => {
    colorsEnv("green", "1");
    for (const app of APPS) liveLink(app, `${app}-green.sock`);
    programs(Object.fromEntries(APPS.flatMap((a) => [[`${a}-web-blue`, "RUNNING"], [`${a}-web-green`, "RUNNING"]])));
    const result = runIdle();
    expect(result.status).toBe(0);
    expect(stops()).toEqual([]);
    expect(logged(result.output).slice(1)).toEqual(APPS.map((a) => `${a}: colors.idleRunning is true; both colors run, nothing stopped`));
  });

  it("stops nothing when the live link points to the other color (a switch is pending), nor when it is missing", () => {
    colorsEnv("green", "0");
    liveLink("shop", "shop-blue.sock");
    liveLink("blog", undefined);
    liveLink("wiki", "somewhere-else.sock");
    programs(Object.fromEntries(APPS.flatMap((a) => [[`${a}-web-blue`, "RUNNING"], [`${a}-web-green`, "RUNNING"]])));
    const result = runIdle();
    expect(result.status).toBe(0);
    expect(stops()).toEqual([]);
    expect(logged(result.output).slice(1)).toEqual([
      "shop: the live link points to blue, colors.env makes green live (a switch is pending); nothing stopped",
      `blog: the live link ${sockets()}/blog-live.sock is missing or names no color (''); nothing stopped`,
      `wiki: the live link ${sockets()}/wiki-live.sock is missing or names no color ('somewhere-else.sock'); nothing stopped`,
    ]);
  });

  it("decides each app on its own: one stopped, one pending, one already stopped, one failing stop reported", () => {
    colorsEnv("green", "0");
    liveLink("shop", "shop-green.sock");
    liveLink("blog", "blog-blue.sock");
    liveLink("wiki", "wiki-green.sock");
    programs({ "shop-web-blue": "RUNNING", "shop-web-green": "RUNNING", "blog-web-blue": "RUNNING", "blog-web-green": "RUNNING", "wiki-web-blue": "STOPPED", "wiki-web-green": "RUNNING" });
    const result = runIdle();
    expect(result.status).toBe(0);
    expect(stops()).toEqual(["shop-web-blue (was RUNNING; locks held: provision switch)"]);
    expect(logged(result.output).slice(1)).toEqual([
      "shop: green is live; stopped shop-web-blue (was RUNNING; colors.idleRunning is false)",
      "blog: the live link points to blue, colors.env makes green live (a switch is pending); nothing stopped",
      "wiki: green is live; wiki-web-blue is STOPPED, nothing to stop",
    ]);
    // A stop that fails: said, exit 1, and the other apps still decided.
    programs({ "shop-web-blue": "RUNNING", "wiki-web-blue": "FATAL" });
    fs.writeFileSync(path.join(root, "stop-fails"), "");
    const failing = runIdle();
    expect(failing.status).toBe(1);
    expect(logged(failing.output).slice(1)).toEqual([
      "shop: green is live; could not stop shop-web-blue (was RUNNING): shop-web-blue: ERROR (abnormal termination)",
      "blog: the live link points to blue, colors.env makes green live (a switch is pending); nothing stopped",
      "wiki: green is live; wiki-web-blue is FATAL, nothing to stop",
    ]);
  });

  it("never stops the color the live link points to, and stops the other exactly when IDLE_RUNNING=0, the link names LIVE_COLOR and it runs", () => {
    const states: State[] = ["STARTING", "RUNNING", "BACKOFF", "STOPPED", "EXITED", "FATAL"];
    const seen: string[] = [];
    for (const live of ["blue", "green"] as const)
      for (const idleRunning of ["0", "1"])
        for (const link of ["blue", "green", undefined, "garbage"])
          for (const idleState of states) {
            fs.rmSync(path.join(root, "stops"), { force: true });
            colorsEnv(live, idleRunning);
            liveLink("shop", link === undefined ? undefined : `shop-${link}.sock`);
            liveLink("blog", undefined);
            liveLink("wiki", undefined);
            const other = link === "blue" ? "green" : "blue";
            programs({ [`shop-web-${link === "green" ? "green" : "blue"}`]: "RUNNING", [`shop-web-${other}`]: idleState });
            const result = runIdle();
            const case_ = `live=${live} idle_running=${idleRunning} link=${link} other=${idleState}`;
            expect([case_, result.status]).toEqual([case_, 0]);
            const stopped = stops().map((s) => s.split(" ")[0]);
            // The color the link points to: never.
            expect([case_, stopped.includes(`shop-web-${link}`)]).toEqual([case_, false]);
            const expected = idleRunning === "0" && link === live && ["STARTING", "RUNNING", "BACKOFF"].includes(idleState) ? [`shop-web-${other}`] : [];
            expect([case_, stopped]).toEqual([case_, expected]);
            if (expected.length) seen.push(case_);
          }
    // The rule did stop something in some cases (2 live colors × 3 running states), so the loop could fail.
    expect(seen).toHaveLength(6);
  });

  it("refuses a missing or invalid colors.env: exit 1, nothing stopped", () => {
    for (const app of APPS) liveLink(app, `${app}-blue.sock`);
    programs({ "shop-web-green": "RUNNING" });
    const missing = runIdle();
    expect(missing.status).toBe(1);
    expect(missing.output).toContain(`${root}/colors.env is missing; nothing stopped`);
    for (const [live, idle] of [["red", "0"], ["blue", "yes"], ["", ""]]) {
      colorsEnv(live, idle);
      const result = runIdle();
      expect(result.status).toBe(1);
      expect(result.output).toContain(`LIVE_COLOR '${live}' (blue or green) or IDLE_RUNNING '${idle}' (0 or 1) is invalid; nothing stopped`);
    }
    expect(stops()).toEqual([]);
  });

  it("waits for a provisioning run to end before it looks (its lock), then decides on what the run left", async () => {
    colorsEnv("blue", "0");
    for (const app of APPS) liveLink(app, `${app}-blue.sock`);
    programs({ "shop-web-green": "RUNNING" });
    // The lock held by flock itself (-o: not by its sleep) until the test releases it (no time limit the
    // test could outlast on a loaded machine), in a process group of its own, all killed at the end.
    const holder = spawn("flock", ["-o", provisionLock(), "sleep", "infinity"], { stdio: "ignore", detached: true });
    const release = () => {
      try {
        process.kill(-holder.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    };
    try {
      await waitFor("the stand-in run holding the provisioning lock", () => spawnSync("flock", ["-n", provisionLock(), "true"]).status !== 0);
      const child = spawn("bash", [script], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      const done = new Promise<number | null>((resolve) => child.on("close", resolve));
      // Blocked in its flock for the lock, not only saying it will wait: nothing can happen until the release.
      await waitFor("the check blocked on the provisioning lock",
        () => output.includes("waiting for the django-tiers-provision run in progress") && childProcesses(child.pid!).some((c) => c.argv[0] === "flock"),
        () => output);
      expect(stops()).toEqual([]);
      // Meanwhile the run switched shop to green: the check reads the link only after the run.
      colorsEnv("green", "0");
      liveLink("shop", "shop-green.sock");
      programs({ "shop-web-blue": "RUNNING", "shop-web-green": "RUNNING" });
      release();
      expect(await done).toBe(0);
      expect(stops()).toEqual(["shop-web-blue (was RUNNING; locks held: provision switch)"]);
      expect(state("shop-web-green")).toBe("RUNNING");
    } finally {
      release();
    }
  });

  it("the program's command runs the check once, then sleeps holding neither lock (a rollout or a switch can run)", async () => {
    colorsEnv("blue", "0");
    for (const app of APPS) liveLink(app, `${app}-blue.sock`);
    programs({ "shop-web-green": "RUNNING" });
    const command = programKeys(fileAt(renderBox(coloredSpec({ apps: 3 }, "blue", false)), IDLE_COLORS_SUPERVISOR_CONF).content, IDLE_COLORS_PROGRAM).command;
    // supervisor splits the command like a shell: /bin/sh -c "SCRIPT; exec sleep infinity".
    const inner = /^\/bin\/sh -c "(.*)"$/.exec(command)?.[1];
    expect(inner).toBe(`${IDLE_COLORS_SCRIPT}; exec sleep infinity`);
    const child = spawn("/bin/sh", ["-c", inner!.replace(IDLE_COLORS_SCRIPT, script)], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await waitFor("the check's last app", () => output.includes("wiki: "), () => output);
      await waitFor("the program asleep", () => fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8") === "sleep\0infinity\0",
        () => fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8"));
      expect(child.exitCode).toBeNull();
      expect(stops()).toEqual(["shop-web-green (was RUNNING; locks held: provision switch)"]);
      expect(spawnSync("flock", ["-n", provisionLock(), "true"]).status).toBe(0);
      expect(spawnSync("flock", ["-n", switchScript(), "true"]).status).toBe(0);
    } finally {
      child.kill();
    }
  });
});
