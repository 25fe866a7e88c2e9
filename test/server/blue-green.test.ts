/**
 * Blue-green on one box (issue #5, BoxSpec.colors): the rendered programs,
 * upstreams, map, include and colors.env; validation; the real tools over the
 * colored files (shellcheck, nginx -t, supervisor's parser, gunicorn
 * --check-config); and a real run: real nginx with the rendered site, real
 * gunicorn with the rendered config for each color on its own unix socket,
 * switched blue → green → blue by the rendered django-tiers-switch-color
 * under a load loop, with zero failed requests, and a broken nginx
 * configuration that leaves the old color serving.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { runChecks } from "../../policies";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import {
  boxProgramNames, BoxSpecError, colorPaths, liveColorInclude, renderBox, renderUserDataBase64, shippedLogs, USER_DATA_LIMIT_BYTES,
  validateBoxSpec,
} from "../../server";
import type { BoxSpec, Color, RenderedFile } from "../../server";
import { plan } from "../policies/fixtures";
import { fixtureSpec, type FixtureOptions, roleSpec } from "./fixtures";
import { deliveredFiles, fileAt, PYTHON, pythonModules, rebase, removeDir, run, tempDir, tool, writeUnder } from "./helpers";

const SUPERVISOR_PARSE = path.join(__dirname, "tools", "supervisor_parse.py");
const PROVISION = "/usr/local/sbin/django-tiers-provision";
const SWITCH = "/usr/local/sbin/django-tiers-switch-color";

/** A single box with blue-green releases: every app gets both colors' release parameters. */
function coloredSpec(options: FixtureOptions = {}, live: Color = "blue", idleRunning = true): BoxSpec {
  const spec = fixtureSpec(options);
  spec.colors = { live, idleRunning };
  for (const app of spec.apps) {
    app.colorReleaseParameters = { blue: `/django-tiers/demo/dev/${app.name}/blue/release`, green: `/django-tiers/demo/dev/${app.name}/green/release` };
  }
  return spec;
}

function problemsOf(spec: BoxSpec): string[] {
  try {
    validateBoxSpec(spec);
  } catch (error) {
    if (error instanceof BoxSpecError) return error.problems;
    throw error;
  }
  return [];
}

const programsIn = (conf: string) => [...conf.matchAll(/^\[program:([^\]]+)\]$/gm)].map((m) => m[1]);

let dir: string;
beforeAll(() => {
  dir = tempDir("blue-green");
});
afterAll(() => removeDir(dir));

describe("rendered files of a box with colors", () => {
  const spec = coloredSpec({ apps: 3, tls: "letsencrypt", taskWorker: "celery" }, "green", false);
  const files = renderBox(spec);

  it("runs two web programs per app, each from its color's link, socket and log; worker and beat stay on current", () => {
    expect(boxProgramNames("shop", spec)).toEqual(["shop-web-blue", "shop-web-green", "shop-worker", "shop-beat"]);
    const conf = fileAt(files, "/etc/supervisor/conf.d/shop.conf").content;
    expect(programsIn(conf)).toEqual(["shop-web-blue", "shop-web-green", "shop-worker", "shop-beat"]);
    for (const color of ["blue", "green"] as const) {
      const block = conf.slice(conf.indexOf(`[program:shop-web-${color}]`)).split("\n\n")[0];
      expect(block).toContain(`command=/usr/local/bin/django-tiers-exec shop /srv/apps/shop/${color}/venv/bin/python -P -m gunicorn --config /etc/django-tiers/shop/gunicorn.conf.py shopsite.wsgi:application\n`);
      expect(block).toContain(`directory=/srv/apps/shop/${color}\n`);
      expect(block).toContain(`environment=HOME="/srv/apps/shop",USER="shop",LOGNAME="shop",DJANGO_TIERS_COLOR="${color}"\n`);
      expect(block).toContain(`stdout_logfile=/var/log/django-tiers/shop/web-${color}.log\n`);
    }
    const worker = conf.slice(conf.indexOf("[program:shop-worker]")).split("\n\n")[0];
    expect(worker).toContain("command=/usr/local/bin/django-tiers-exec shop /srv/apps/shop/current/venv/bin/python -m celery");
    expect(worker).toContain("directory=/srv/apps/shop/current\n");
    expect(worker).not.toContain("DJANGO_TIERS_COLOR");
    expect(colorPaths("shop", "green")).toEqual({
      program: "shop-web-green", link: "/srv/apps/shop/green", socket: "/run/django-tiers/shop-green.sock",
      python: "/srv/apps/shop/green/venv/bin/python", log: "/var/log/django-tiers/shop/web-green.log", upstream: "django_tiers_shop_green",
    });
  });

  it("gives nginx one upstream per color and a map whose default is the include", () => {
    for (const site of [`/etc/nginx/sites-available/blog.conf`, `/etc/nginx/sites-available/pending/blog.conf`]) {
      const text = fileAt(files, site).content;
      expect(text).toContain("upstream django_tiers_blog_blue {\n");
      expect(text).toContain("    server unix:/run/django-tiers/blog-blue.sock fail_timeout=0;\n");
      expect(text).toContain("    server unix:/run/django-tiers/blog-green.sock fail_timeout=0;\n");
      expect(text).toContain(
        "map $http_x_django_tiers_color $django_tiers_blog_color {\n    include /etc/nginx/django-tiers/blog.live-color;\n    blue blue;\n    green green;\n}\n");
      expect(text).not.toMatch(/upstream django_tiers_blog \{/);
      const passes = [...text.matchAll(/proxy_pass (\S+);/g)].map((m) => m[1]);
      expect(passes.length).toBeGreaterThan(0);
      expect(new Set(passes)).toEqual(new Set(["http://django_tiers_blog_$django_tiers_blog_color"]));
    }
    expect(liveColorInclude("blog")).toBe("/etc/nginx/django-tiers/blog.live-color");
    // The include is written by the switch only: never a rendered file, so applying a document switches nothing.
    expect(files.map((f) => f.path).filter((p) => p.startsWith("/etc/nginx/django-tiers/"))).toEqual([]);
    // Static files still come from current (the live release).
    expect(fileAt(files, "/etc/nginx/sites-available/blog.conf").content).toContain("alias /srv/apps/blog/current/static/;");
  });

  it("carries the live color and the idle color's fate in colors.env, and the switch script", () => {
    expect(fileAt(files, "/etc/django-tiers/colors.env")).toMatchObject({ mode: "0644", owner: "root:root" });
    const env = fileAt(files, "/etc/django-tiers/colors.env").content;
    expect(env.split("\n").filter((l) => !l.startsWith("#"))).toEqual(["LIVE_COLOR=green", "IDLE_RUNNING=0", ""]);
    expect(fileAt(renderBox(coloredSpec({}, "blue", true)), "/etc/django-tiers/colors.env").content).toMatch(/^LIVE_COLOR=blue\nIDLE_RUNNING=1\n$/m);
    expect(fileAt(files, SWITCH)).toMatchObject({ mode: "0755", owner: "root:root" });
    expect(fileAt(files, SWITCH).content).toContain("readonly APPS=(shop blog wiki)\n");
  });

  it("renders the colors part of the provisioning script, and each color's release parameter", () => {
    const script = fileAt(files, PROVISION).content;
    expect(script).toContain("declare -rA APP_COLOR_RELEASE_PARAMETER=([shop/blue]=/django-tiers/demo/dev/shop/blue/release [shop/green]=/django-tiers/demo/dev/shop/green/release ");
    expect(script).toContain("declare -rA APP_PROGRAMS=([shop]='shop-web-blue shop-web-green shop-worker shop-beat' ");
    expect(script).toContain("readonly SWITCH_COLOR=/usr/local/sbin/django-tiers-switch-color\n");
    for (const call of ['    fetch_color_releases "$app"\n', '    release_app_colors "$app"\n', '    verify_app_colors "$app" || failed=1\n',
      '      ensure_live_color_include "$app"\n', '  "$SWITCH_COLOR" "$app" "$live_color" 9>&- ||\n']) {
      expect(script).toContain(call);
    }
    const plain = fileAt(renderBox(fixtureSpec({ apps: 3, tls: "letsencrypt" })), PROVISION).content;
    for (const absent of ["release_app_colors", "APP_COLOR_RELEASE_PARAMETER", "colors.env", "switch-color"]) expect(plain).not.toContain(absent);
    expect(renderBox(fixtureSpec()).map((f) => f.path)).not.toContain(SWITCH);
  });

  it("ships each color's log, fits the user data limit and leaves the bootstrap files alone", () => {
    expect(shippedLogs(spec).filter((l) => l.stream.startsWith("shop/web"))).toEqual([
      { path: "/var/log/django-tiers/shop/web-blue.log", stream: "shop/web-blue" },
      { path: "/var/log/django-tiers/shop/web-green.log", stream: "shop/web-green" },
    ]);
    expect(Buffer.from(renderUserDataBase64(spec), "base64").length).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
  });

  it("passes every server-file check that reads these files", () => {
    const results = runChecks(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": files } }), SERVER_FILE_CHECKS);
    const failing = results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => f.message).join("; ")}`);
    expect(failing).toEqual([]);
    for (const id of ["gunicorn-graceful-within-stopwaitsecs", "gunicorn-bind-local", "gunicorn-timeout-below-proxy", "supervisor-process-groups", "celery-single-beat", "nginx-forwarded-proto"]) {
      expect(`${id}: ${results.find((r) => r.id === id)?.status}`).toBe(`${id}: pass`);
    }
    for (const app of spec.apps) {
      const conf = fileAt(files, `/etc/supervisor/conf.d/${app.name}.conf`).content;
      const waits = [...conf.matchAll(/\[program:[a-z0-9]+-web-(?:blue|green)\][^[]*?stopwaitsecs=(\d+)/g)].map((m) => Number(m[1]));
      expect(waits).toEqual([spec.gunicorn.gracefulTimeoutSeconds + 10, spec.gunicorn.gracefulTimeoutSeconds + 10]);
    }
  });
});

describe("validation of colors", () => {
  it.each<[string, (s: BoxSpec) => void, RegExp]>([
    ["colors on an app server", (s) => Object.assign(s, { ...roleSpec("app", { color: "blue" }), colors: { live: "blue", idleRunning: true } }),
      /role app: colors \(blue-green on one box\) is for the single-box role/],
    ["an app without colorReleaseParameters", (s) => { delete s.apps[1].colorReleaseParameters; },
      /apps\[1\] \("blog"\): colorReleaseParameters must name the blue and green release parameters/],
    ["a missing green parameter", (s) => { delete (s.apps[0].colorReleaseParameters as Partial<Record<Color, string>>).green; },
      /apps\[0\] \("shop"\): colorReleaseParameters.green is missing/],
    ["shell in a color's parameter", (s) => { s.apps[0].colorReleaseParameters!.blue = "/x/$(reboot)"; },
      /colorReleaseParameters.blue "\/x\/\$\(reboot\)" is not an SSM parameter name/],
    ["a third color", (s) => { (s.apps[0].colorReleaseParameters as Record<string, string>).red = "/x"; }, /colorReleaseParameters has red; only blue and green/],
    ["a live color that is not one", (s) => { s.colors!.live = "purple" as Color; }, /colors.live must be blue or green, got "purple"/],
    ["idleRunning that is not a boolean", (s) => { (s.colors as { idleRunning: unknown }).idleRunning = "yes"; }, /colors.idleRunning must be true or false/],
  ])("refuses %s", (_label, mutate, message) => {
    const spec = coloredSpec({ apps: 3 });
    mutate(spec);
    const problems = problemsOf(spec);
    expect(problems).toContainEqual(expect.stringMatching(message));
    expect(() => renderBox(spec)).toThrow(BoxSpecError);
  });

  it("accepts colors on a single box, and colorReleaseParameters without colors (unused)", () => {
    expect(problemsOf(coloredSpec({ apps: 3, tls: "letsencrypt" }))).toEqual([]);
    const plain = coloredSpec();
    delete plain.colors;
    expect(problemsOf(plain)).toEqual([]);
    expect(boxProgramNames("shop", plain)).toEqual(["shop-web", "shop-worker", "shop-beat"]);
  });
});

describe.each([
  ["1 app, tls none, rq, blue live", coloredSpec({ apps: 1, tls: "none", taskWorker: "rq", workers: 2 })],
  ["3 apps, letsencrypt, celery, green live, idle stopped", coloredSpec({ apps: 3, tls: "letsencrypt", taskWorker: "celery" }, "green", false)],
])("real tools over a box with colors: %s", (label, spec) => {
  const files = deliveredFiles(spec);
  const slug = label.replace(/[^a-z0-9]+/gi, "-");

  it("passes shellcheck on every script, as rendered and as delivered", () => {
    const root = path.join(dir, slug, "shellcheck");
    const scripts = (list: RenderedFile[]) => list.filter((f) => /^#!\/bin\/(ba)?sh\n/.test(f.content));
    const rendered = scripts(renderBox(spec)).map((f) => writeUnder(path.join(root, "rendered"), f.path, f.content));
    const delivered = scripts(files).map((f) => writeUnder(path.join(root, "delivered"), f.path, f.content));
    expect(rendered.map((p) => path.basename(p))).toEqual(expect.arrayContaining(["django-tiers-provision", "django-tiers-switch-color"]));
    const result = run(tool("shellcheck"), ["--severity=style", "--format=gcc", ...rendered, ...delivered]);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("passes nginx -t with the live sites and each app's include", () => {
    const root = path.join(dir, slug, "nginx");
    const conf = layNginx(root, spec, files, (t) => t, spec.colors!.live);
    const result = run(tool("nginx"), ["-t", "-p", `${root}/`, "-c", conf, "-e", path.join(root, "var/log/nginx/error.log")]);
    expect(result.stderr).toContain("test is successful");
    expect(result.status).toBe(0);
  });

  it("is parsed by supervisor into both colors' programs", () => {
    tool("supervisord");
    const root = path.join(dir, slug, "supervisor");
    for (const file of files.filter((f) => f.path.startsWith("/etc/supervisor/conf.d/"))) writeUnder(root, file.path, rebase(file.content, root, ["var"]));
    for (const app of spec.apps) fs.mkdirSync(path.join(root, "var/log/django-tiers", app.name), { recursive: true });
    const main = writeUnder(root, "/main.conf",
      `[supervisord]\nlogfile=${root}/supervisord.log\npidfile=${root}/supervisord.pid\n[include]\nfiles = ${root}/etc/supervisor/conf.d/*.conf\n`);
    const result = run(PYTHON, [SUPERVISOR_PARSE, main, ...spec.apps.map((a) => a.name)]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as { warnings: string[]; programs: Array<{ name: string; directory: string; stopwaitsecs: number }> };
    expect(parsed.warnings).toEqual([]);
    expect(parsed.programs.map((p) => p.name).sort()).toEqual(spec.apps.flatMap((a) => boxProgramNames(a.name, spec)).sort());
    for (const p of parsed.programs.filter((p) => /-web-(blue|green)$/.test(p.name))) {
      const [app, , color] = p.name.split("-");
      expect(p.directory).toBe(`/srv/apps/${app}/${color}`);
      expect(p.stopwaitsecs).toBeGreaterThanOrEqual(spec.gunicorn.gracefulTimeoutSeconds);
    }
  });

  it("gives gunicorn each color's socket and release from DJANGO_TIERS_COLOR, and refuses to start without it", () => {
    pythonModules("gunicorn");
    const root = path.join(dir, slug, "gunicorn");
    // The release links gunicorn changes into, under root (it refuses a chdir that does not exist).
    // Each with a stub of the WSGI module the spec names, which gunicorn loads to print its config.
    for (const color of ["blue", "green"]) {
      writeUnder(root, `/srv/apps/shop/${color}/shopsite/__init__.py`, "");
      writeUnder(root, `/srv/apps/shop/${color}/shopsite/wsgi.py`, "def application(environ, start_response):\n    return []\n");
    }
    const conf = writeUnder(root, "/gunicorn.conf.py", rebase(fileAt(files, "/etc/django-tiers/shop/gunicorn.conf.py").content, root, ["srv"]));
    const printed = (color?: string) => run(PYTHON, ["-P", "-m", "gunicorn", "--print-config", "--config", conf, "shopsite.wsgi:application"],
      { cwd: "/", env: { PATH: "/usr/bin:/bin", ...(color ? { DJANGO_TIERS_COLOR: color } : {}) } });
    for (const color of ["blue", "green"]) {
      const out = printed(color);
      expect(out.stderr).toBe("");
      expect(out.status).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`^bind\\s+= \\['unix:/run/django-tiers/shop-${color}.sock'\\]$`, "m"));
      expect(out.stdout).toMatch(new RegExp(`^chdir\\s+= ${root}/srv/apps/shop/${color}$`, "m"));
      expect(out.stdout).toMatch(new RegExp(`^proc_name\\s+= shop-web-${color}$`, "m"));
      expect(out.stdout).toMatch(/^graceful_timeout\s+= 30$/m);
    }
    const refused = printed();
    expect(refused.status).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain("DJANGO_TIERS_COLOR must be blue or green");
  });
});

// ---------------------------------------------------------------- the real run

/**
 * The box's nginx files under `root`, every site enabled and each app's
 * live-color include naming `live`; `rewrite` adapts a file's text first.
 */
function layNginx(root: string, spec: BoxSpec, files: RenderedFile[], rewrite: (text: string) => string, live: Color): string {
  for (const file of files.filter((f) => f.path.startsWith("/etc/nginx/"))) writeUnder(root, file.path, rewrite(rebase(file.content, root)));
  fs.copyFileSync("/etc/nginx/mime.types", path.join(root, "etc/nginx/mime.types"));
  for (const d of ["etc/nginx/modules-enabled", "etc/nginx/sites-enabled", "var/log/nginx", "run"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const app of spec.apps) {
    fs.symlinkSync(path.join(root, "etc/nginx/sites-available", `${app.name}.conf`), path.join(root, "etc/nginx/sites-enabled", `${app.name}.conf`));
    writeUnder(root, liveColorInclude(app.name), `default ${live};\n`);
    if (spec.tls.mode === "letsencrypt") selfSignedCert(root, app.name);
  }
  return path.join(root, "etc/nginx/nginx.conf");
}

function selfSignedCert(root: string, app: string): void {
  const live = path.join(root, "etc/letsencrypt/live", app);
  fs.mkdirSync(live, { recursive: true });
  const made = run(tool("openssl"), ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", `/CN=${app}.example.com`, "-keyout", path.join(live, "privkey.pem"), "-out", path.join(live, "fullchain.pem")]);
  expect(made.status).toBe(0);
}

function runAsync(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

interface Answer {
  status?: number;
  body?: string;
  error?: string;
}

/** One GET through nginx on a new connection. */
function get(port: number, headers: Record<string, string>, urlPath = "/"): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers, agent: false }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
    req.on("error", (error) => resolve({ error: error.message }));
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, seconds = 20): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not after ${seconds}s`);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * A bounded load loop: `loops` clients, each sending requests one after the
 * other (a new connection each) until stopped. Every answer but a 200 is a
 * failure, with what it was.
 */
class Load {
  total = 0;
  failures: string[] = [];
  bodies = new Map<string, number>();
  private running = true;
  private readonly done: Promise<void[]>;

  constructor(port: number, host: string, loops: number) {
    this.done = Promise.all(Array.from({ length: loops }, async () => {
      while (this.running) {
        const answer = await get(port, { Host: host });
        this.total++;
        if (answer.status !== 200) this.failures.push(JSON.stringify(answer));
        else this.bodies.set(answer.body!, (this.bodies.get(answer.body!) ?? 0) + 1);
      }
    }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

describe("switching colors for real: nginx, gunicorn on each color's socket, django-tiers-switch-color", () => {
  const spec = coloredSpec({ apps: 1, tls: "none", taskWorker: "none", workers: 2 }, "blue");
  const files = deliveredFiles(spec);
  const host = "shop.example.com";
  const gunicorns: ChildProcess[] = [];
  let root = "";
  let nginx: ChildProcess | undefined;
  let port = 0;
  let switchEnv: NodeJS.ProcessEnv = {};
  let switchScript = "";
  let load: Load | undefined;
  const logs: string[] = [];

  const answer = (headers: Record<string, string> = {}) => get(port, { Host: host, ...headers });
  const include = () => fs.readFileSync(path.join(root, liveColorInclude("shop")), "utf8");
  const switchTo = (color: string) => runAsync(switchScript, ["shop", color], switchEnv);
  /** Answers without a color header flip to `color` and stay there. */
  const servesOnly = async (color: Color) => {
    await waitFor(`answers from ${color}`, async () => (await answer()).body?.startsWith(`${color} `) === true, 10);
    const next = await Promise.all(Array.from({ length: 20 }, () => answer()));
    expect(next.map((a) => a.body?.split(" ")[0])).toEqual(Array(20).fill(color));
  };

  beforeAll(async () => {
    pythonModules("gunicorn");
    root = path.join(dir, "live");
    const free = http.createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));

    // Two releases, each a WSGI app that answers "<color> <release>" (its color from supervisor's variable).
    for (const [color, release] of [["blue", "v1"], ["green", "v2"]] as const) {
      const releaseDir = path.join(root, "srv/apps/shop/releases", release);
      writeUnder(releaseDir, "/shopsite/__init__.py", "");
      writeUnder(releaseDir, "/shopsite/wsgi.py", `import os

RELEASE = ${JSON.stringify(release)}


def application(environ, start_response):
    body = ("%s %s %s" % (os.environ["DJANGO_TIERS_COLOR"], RELEASE, environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
`);
      fs.symlinkSync(releaseDir, path.join(root, "srv/apps/shop", color));
    }
    fs.mkdirSync(path.join(root, "run/django-tiers"), { recursive: true });
    // The rendered gunicorn.conf.py, its /srv and /run paths moved under root.
    const conf = writeUnder(root, "/etc/django-tiers/shop/gunicorn.conf.py",
      rebase(fileAt(files, "/etc/django-tiers/shop/gunicorn.conf.py").content, root, ["srv"]).split('"unix:/run/').join(`"unix:${root}/run/`));
    for (const color of ["blue", "green"] as const) {
      const child = spawn(PYTHON, ["-P", "-m", "gunicorn", "--config", conf, "shopsite.wsgi:application"],
        { cwd: "/", env: { PATH: "/usr/bin:/bin", DJANGO_TIERS_COLOR: color }, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout?.on("data", (c) => logs.push(`${color}: ${c}`));
      child.stderr?.on("data", (c) => logs.push(`${color}: ${c}`));
      gunicorns.push(child);
    }

    // The rendered nginx files: port 80 → a free loopback port, sockets under root, workers as this user.
    const nginxConf = layNginx(root, spec, files, (text) => text
      .replace(/^user www-data;\n/m, process.getuid?.() === 0 ? "user root;\n" : "")
      .replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${port}$1;`)
      .split("unix:/run/django-tiers/").join(`unix:${root}/run/django-tiers/`), "blue");
    const nginxArgs = ["-p", `${root}/`, "-c", nginxConf, "-e", path.join(root, "var/log/nginx/error.log")];
    nginx = spawn(tool("nginx"), [...nginxArgs, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    nginx.stderr?.on("data", (c) => logs.push(`nginx: ${c}`));

    // The rendered switch script, its nginx this test's (same prefix and configuration).
    switchScript = writeUnder(root, SWITCH, fileAt(files, SWITCH).content, "0755");
    writeUnder(root, "/bin/nginx", `#!/bin/sh\nexec ${tool("nginx")} ${nginxArgs.join(" ")} "$@"\n`, "0755");
    switchEnv = {
      PATH: "/usr/bin:/bin",
      DJANGO_TIERS_SWITCH_PATH: `${root}/bin:/usr/bin:/bin`,
      DJANGO_TIERS_NGINX_COLOR_DIR: path.join(root, "etc/nginx/django-tiers"),
    };

    await waitFor(`nginx and both gunicorns (${logs.join("")})`, async () => {
      const [live, preview] = await Promise.all([answer(), answer({ "X-Django-Tiers-Color": "green" })]);
      return live.body === "blue v1 /" && preview.body === "green v2 /";
    }, 30);
    load = new Load(port, host, 4);
  });

  afterAll(async () => {
    await load?.stop();
    await stop(nginx);
    await Promise.all(gunicorns.map(stop));
  });

  it("sends traffic to the live color, the preview header to either color, and any other value to the live one", async () => {
    expect(include()).toBe("default blue;\n");
    expect((await answer()).body).toBe("blue v1 /");
    expect((await answer({ "X-Django-Tiers-Color": "green" })).body).toBe("green v2 /");
    expect((await answer({ "X-Django-Tiers-Color": "blue" })).body).toBe("blue v1 /");
    for (const other of ["purple", "green;", "blue green", "", "default"]) {
      expect(`${other}: ${(await answer({ "X-Django-Tiers-Color": other })).body}`).toBe(`${other}: blue v1 /`);
    }
    const healthz = await get(port, { Host: host, "X-Django-Tiers-Color": "green" }, "/healthz");
    expect(healthz).toEqual({ status: 200, body: "green v2 /healthz" });
  });

  it("switches blue → green → blue under load with zero failed requests", async () => {
    const toGreen = await switchTo("green");
    expect(toGreen.stderr).toContain("shop: green is live (was blue); nginx reloaded gracefully");
    expect(toGreen.status).toBe(0);
    expect(include()).toBe("default green;\n");
    await servesOnly("green");
    expect((await answer({ "X-Django-Tiers-Color": "blue" })).body).toBe("blue v1 /");
    expect((await answer({ "X-Django-Tiers-Color": "nonsense" })).body).toBe("green v2 /");

    const again = await switchTo("green");
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("shop: green is already live");

    const back = await switchTo("blue");
    expect(back.status).toBe(0);
    expect(include()).toBe("default blue;\n");
    await servesOnly("blue");
    await new Promise((resolve) => setTimeout(resolve, 500));

    const counts = { total: load!.total, failures: load!.failures.slice(0, 10), bodies: Object.fromEntries(load!.bodies) };
    expect(counts.failures).toEqual([]);
    expect(counts.total).toBeGreaterThan(100);
    expect(counts.bodies["blue v1 /"]).toBeGreaterThan(0);
    expect(counts.bodies["green v2 /"]).toBeGreaterThan(0);
  });

  it("leaves the old color serving when nginx -t fails, and puts its include back", async () => {
    const broken = writeUnder(root, "/etc/nginx/sites-enabled/zz-broken.conf", "server {\n    listen 127.0.0.1:1;\n    no_such_directive on;\n}\n");
    try {
      const result = await switchTo("green");
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("shop: nginx -t rejected the configuration, nothing reloaded: blue keeps serving");
      expect(result.stderr).toContain("no_such_directive");
      expect(include()).toBe("default blue;\n");
      const next = await Promise.all(Array.from({ length: 20 }, () => answer()));
      expect(next.map((a) => a.body)).toEqual(Array(20).fill("blue v1 /"));
    } finally {
      fs.rmSync(broken);
    }
    expect(load!.failures).toEqual([]);
  });

  it("refuses an unknown app or color before touching anything", async () => {
    for (const args of [["blog", "green"], ["shop", "purple"], ["shop"]]) {
      const result = await runAsync(switchScript, args, switchEnv);
      expect(result.status).toBe(64);
      expect(result.stderr).toContain("usage: django-tiers-switch-color APP COLOR (APP: shop; COLOR: blue or green)");
    }
    expect(include()).toBe("default blue;\n");
  });
});
