/**
 * Blue-green on one box (issue #5, BoxSpec.colors): the rendered programs,
 * upstreams, map, live socket link (tmpfiles.d) and colors.env; validation;
 * the real tools over the colored files (shellcheck, nginx -t, supervisor's
 * parser, gunicorn --print-config); and a real run: real nginx with the
 * rendered site, real gunicorn with the rendered config for each color on its
 * own unix socket, switched blue → green → blue by the rendered
 * django-tiers-switch-color (a symlink renamed, nginx never reloaded) under a
 * keep-alive load loop with zero failed requests, each answer naming its
 * color in X-Django-Tiers-Color; and a switch to a color whose gunicorn is
 * down, refused with nothing changed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { runChecks } from "../../policies";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import {
  boxProgramNames, BoxSpecError, colorPaths, IDLE_COLORS_LOG, IDLE_COLORS_PROGRAM, IDLE_COLORS_SCRIPT, liveSocket, renderBox, renderUserDataBase64,
  shippedLogs, USER_DATA_LIMIT_BYTES,
} from "../../server";
import type { BoxSpec, Color, RenderedFile } from "../../server";
import { plan } from "../policies/fixtures";
import { coloredSpec, fixtureSpec, problemsOf, roleSpec } from "./fixtures";
import { deliveredFiles, fileAt, PYTHON, pythonModules, rebase, removeDir, run, stop, tempDir, tool, waitFor, writeUnder } from "./helpers";

const SUPERVISOR_PARSE = path.join(__dirname, "tools", "supervisor_parse.py");
const PROVISION = "/usr/local/sbin/django-tiers-provision";
const SWITCH = "/usr/local/sbin/django-tiers-switch-color";

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

  it("gives nginx one upstream per color, one through the live link, and a map whose default is live", () => {
    for (const site of [`/etc/nginx/sites-available/blog.conf`, `/etc/nginx/sites-available/pending/blog.conf`]) {
      const text = fileAt(files, site).content;
      const upstreams = Object.fromEntries([...text.matchAll(/^upstream (\S+) \{\n([^}]*)\}$/gm)].map((m) => [m[1], m[2]]));
      expect(Object.keys(upstreams)).toEqual(["django_tiers_blog_blue", "django_tiers_blog_green", "django_tiers_blog_live"]);
      expect(upstreams.django_tiers_blog_blue).toContain("    server unix:/run/django-tiers/blog-blue.sock fail_timeout=0;\n");
      expect(upstreams.django_tiers_blog_green).toContain("    server unix:/run/django-tiers/blog-green.sock fail_timeout=0;\n");
      expect(upstreams.django_tiers_blog_live).toContain("    server unix:/run/django-tiers/blog-live.sock fail_timeout=0;\n");
      // No upstream keepalive: nginx connects to the socket path (and so follows the live link) for every request.
      for (const [name, body] of Object.entries(upstreams)) expect(`${name}: ${body}`).not.toMatch(/^\s*keepalive/m);
      expect(text).not.toMatch(/^\s*keepalive\b/m);
      expect(text).toContain("map $http_x_django_tiers_color $django_tiers_blog_color {\n    default live;\n    blue blue;\n    green green;\n}\n");
      expect(text).not.toContain("include");
      const passes = [...text.matchAll(/proxy_pass (\S+);/g)].map((m) => m[1]);
      expect(passes.length).toBeGreaterThan(0);
      expect(new Set(passes)).toEqual(new Set(["http://django_tiers_blog_$django_tiers_blog_color"]));
    }
    expect(liveSocket("blog")).toMatchObject({ link: "/run/django-tiers/blog-live.sock", upstream: "django_tiers_blog_live" });
    expect(liveSocket("blog").target("green")).toBe("blog-green.sock");
    // Nothing nginx loads names the live color: a switch changes no nginx file.
    const blue = renderBox(coloredSpec({ apps: 3, tls: "letsencrypt", taskWorker: "celery" }, "blue", false));
    const nginxFiles = (list: RenderedFile[]) => list.filter((f) => f.path.startsWith("/etc/nginx/"));
    expect(nginxFiles(blue)).toEqual(nginxFiles(files));
    // Static files still come from current (the live release).
    // Static files: the live release first, then each color's (hashed names of either color are found).
    expect(fileAt(files, "/etc/nginx/sites-available/blog.conf").content).toContain(
      "    location /static/ {\n        root /srv/apps/blog;\n        try_files /current$uri /blue$uri /green$uri =404;\n");
  });

  it("recreates each app's live link at boot (tmpfiles.d, from colors.live); a box without colors gets the same file as before", () => {
    expect(fileAt(files, "/etc/tmpfiles.d/django-tiers.conf").content.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      "d /run/django-tiers 1775 root django-tiers -",
      "L /run/django-tiers/shop-live.sock - - - - shop-green.sock",
      "L /run/django-tiers/blog-live.sock - - - - blog-green.sock",
      "L /run/django-tiers/wiki-live.sock - - - - wiki-green.sock",
    ]);
    expect(fileAt(renderBox(coloredSpec({}, "blue")), "/etc/tmpfiles.d/django-tiers.conf").content).toContain("\nL /run/django-tiers/shop-live.sock - - - - shop-blue.sock\n");
    expect(fileAt(renderBox(fixtureSpec({ apps: 3 })), "/etc/tmpfiles.d/django-tiers.conf").content)
      .toBe("# Rendered by django-tiers: gunicorn's unix sockets (group django-tiers: every app user; sticky).\nd /run/django-tiers 1775 root django-tiers -\n");
  });

  it("names the color in every response from gunicorn (post_worker_init); a box without colors has no hook", () => {
    const conf = fileAt(files, "/etc/django-tiers/shop/gunicorn.conf.py").content;
    expect(conf).toContain("\ndef post_worker_init(worker):\n");
    expect(conf).toContain('    header = ("X-Django-Tiers-Color", color)\n');
    expect(fileAt(renderBox(fixtureSpec({ apps: 3 })), "/etc/django-tiers/shop/gunicorn.conf.py").content).not.toContain("post_worker_init");
  });

  it("carries the live color and the idle color's fate in colors.env, and the switch script", () => {
    expect(fileAt(files, "/etc/django-tiers/colors.env")).toMatchObject({ mode: "0644", owner: "root:root" });
    const env = fileAt(files, "/etc/django-tiers/colors.env").content;
    expect(env.split("\n").filter((l) => !l.startsWith("#"))).toEqual(["LIVE_COLOR=green", "IDLE_RUNNING=0", ""]);
    expect(fileAt(renderBox(coloredSpec({}, "blue", true)), "/etc/django-tiers/colors.env").content).toMatch(/^LIVE_COLOR=blue\nIDLE_RUNNING=1\n$/m);
    expect(fileAt(files, SWITCH)).toMatchObject({ mode: "0755", owner: "root:root" });
    expect(fileAt(files, SWITCH).content).toContain("readonly APPS=(shop blog wiki)\n");
    expect(fileAt(files, SWITCH).content).toContain("declare -rA APP_HOST=([shop]=shop.example.com ");
    // The switch renames a link: it never checks or reloads nginx.
    const code = fileAt(files, SWITCH).content.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
    expect(code).not.toMatch(/nginx -[tTs]|systemctl|kill/);
  });

  it("renders the colors part of the provisioning script, and each color's release parameter", () => {
    const script = fileAt(files, PROVISION).content;
    expect(script).toContain("declare -rA APP_COLOR_RELEASE_PARAMETER=([shop/blue]=/django-tiers/demo/dev/shop/blue/release [shop/green]=/django-tiers/demo/dev/shop/green/release ");
    expect(script).toContain("declare -rA APP_PROGRAMS=([shop]='shop-web-blue shop-web-green shop-worker shop-beat' ");
    expect(script).toContain("readonly SWITCH_COLOR=/usr/local/sbin/django-tiers-switch-color\n");
    for (const call of ['    fetch_color_releases "$app"\n', '    release_app_colors "$app"\n', '    if verify_app_colors "$app"; then\n',
      '      ensure_live_link "$app"\n', '  "$SWITCH_COLOR" "$app" "$live_color" 9>&- ||\n']) {
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
    // The idle-colors program's log (what it stopped after a boot), once per box.
    expect(shippedLogs(spec).filter((l) => l.stream === "idle-colors")).toEqual([{ path: "/var/log/django-tiers/idle-colors.log", stream: "idle-colors" }]);
    expect(shippedLogs(fixtureSpec({ apps: 3 })).filter((l) => l.stream === "idle-colors")).toEqual([]);
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

  it("passes nginx -t with the live sites", () => {
    const root = path.join(dir, slug, "nginx");
    const conf = layNginx(root, spec, files, (t) => t, spec.colors!.live);
    const result = run(tool("nginx"), ["-t", "-p", `${root}/`, "-c", conf, "-e", path.join(root, "var/log/nginx/error.log")]);
    expect(result.stderr).toContain("test is successful");
    expect(result.status).toBe(0);
  });

  it("recreates the socket directory and each app's live link with systemd-tmpfiles, and leaves a switched link alone", () => {
    const root = path.join(dir, slug, "tmpfiles");
    writeUnder(root, "/etc/tmpfiles.d/django-tiers.conf", fileAt(files, "/etc/tmpfiles.d/django-tiers.conf").content);
    // The box's user database, as far as the file names it.
    writeUnder(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    writeUnder(root, "/etc/group", "root:x:0:\ndjango-tiers:x:990:\n");
    const create = () => run(tool("systemd-tmpfiles"), ["--create", `--root=${root}`]);
    const links = () => Object.fromEntries(spec.apps.map((a) => [a.name, fs.readlinkSync(path.join(root, liveSocket(a.name).link))]));
    const created = create();
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const live = spec.colors!.live;
    expect(links()).toEqual(Object.fromEntries(spec.apps.map((a) => [a.name, `${a.name}-${live}.sock`])));
    expect((fs.statSync(path.join(root, "run/django-tiers")).mode & 0o7777).toString(8)).toBe("1775");
    // A switch by hand, then another --create (a package's postinst may run one): the link stays where the switch put it.
    const other = live === "blue" ? "green" : "blue";
    const link = path.join(root, liveSocket(spec.apps[0].name).link);
    fs.rmSync(link);
    fs.symlinkSync(`${spec.apps[0].name}-${other}.sock`, link);
    expect(create().status).toBe(0);
    expect(links()[spec.apps[0].name]).toBe(`${spec.apps[0].name}-${other}.sock`);
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
    const parsed = JSON.parse(result.stdout) as {
      warnings: string[];
      programs: Array<{ name: string; group: string; directory: string; stopwaitsecs: number; command: string; uid: number | null; autostart: boolean; autorestart: string; stdout_logfile: string }>;
    };
    expect(parsed.warnings).toEqual([]);
    // Every app's programs, and the one that stops the idle colors after a boot.
    expect(parsed.programs.map((p) => p.name).sort()).toEqual([...spec.apps.flatMap((a) => boxProgramNames(a.name, spec)), IDLE_COLORS_PROGRAM].sort());
    const idle = parsed.programs.find((p) => p.name === IDLE_COLORS_PROGRAM)!;
    expect(idle).toMatchObject({
      // A group of its own: supervisorctl update adds it without touching any app's programs.
      group: IDLE_COLORS_PROGRAM,
      command: `/bin/sh -c "${IDLE_COLORS_SCRIPT}; exec sleep infinity"`,
      directory: "/",
      autostart: true,
      autorestart: "true",
      stdout_logfile: path.join(root, IDLE_COLORS_LOG),
    });
    expect(idle.uid).toBe(0);
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
 * The box's nginx files under `root`, every site enabled and each app's live
 * socket link (under root's run/django-tiers) naming `live`; `rewrite` adapts
 * a file's text first.
 */
function layNginx(root: string, spec: BoxSpec, files: RenderedFile[], rewrite: (text: string) => string, live: Color): string {
  for (const file of files.filter((f) => f.path.startsWith("/etc/nginx/"))) writeUnder(root, file.path, rewrite(rebase(file.content, root)));
  fs.copyFileSync("/etc/nginx/mime.types", path.join(root, "etc/nginx/mime.types"));
  for (const d of ["etc/nginx/modules-enabled", "etc/nginx/sites-enabled", "var/log/nginx", "run"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const app of spec.apps) {
    fs.symlinkSync(path.join(root, "etc/nginx/sites-available", `${app.name}.conf`), path.join(root, "etc/nginx/sites-enabled", `${app.name}.conf`));
    fs.mkdirSync(path.join(root, "run/django-tiers"), { recursive: true });
    fs.symlinkSync(liveSocket(app.name).target(live), path.join(root, liveSocket(app.name).link));
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
  /** The response's X-Django-Tiers-Color: the color whose gunicorn answered. */
  color?: string;
  error?: string;
}

/** One GET through nginx, on a new connection or on `agent`'s kept-alive one. */
function get(port: number, headers: Record<string, string>, urlPath = "/", agent?: http.Agent): Promise<Answer & { reused?: boolean }> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers, agent: agent ?? false }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body, color: response.headers["x-django-tiers-color"] as string | undefined, reused: req.reusedSocket }));
    });
    req.on("error", (error) => resolve({ error: error.message, reused: req.reusedSocket }));
    // A hang guard above nginx's proxy_read_timeout (60 s): whatever nginx answers is what is recorded.
    req.setTimeout(120_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/**
 * A bounded keep-alive load loop: `loops` clients, each with one HTTP/1.1
 * connection to nginx that it keeps open (reopened only after an error) and
 * sends requests on one after the other until stopped, never retrying: a
 * request sent on a connection nginx closes at that instant (an nginx reload
 * does that to idle ones) fails. Every answer but a 200 is a failure, with
 * what it was; each 200 is counted by its body and by the color its
 * X-Django-Tiers-Color names.
 */
class Load {
  total = 0;
  reused = 0;
  failures: string[] = [];
  bodies = new Map<string, number>();
  colors = new Map<string, number>();
  private running = true;
  private readonly agents: http.Agent[] = [];
  private readonly done: Promise<void[]>;

  constructor(port: number, host: string, loops: number) {
    this.done = Promise.all(Array.from({ length: loops }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      this.agents.push(agent);
      while (this.running) {
        const answer = await get(port, { Host: host }, "/", agent);
        this.total++;
        if (answer.reused) this.reused++;
        if (answer.status !== 200) this.failures.push(JSON.stringify(answer));
        else {
          this.bodies.set(answer.body!, (this.bodies.get(answer.body!) ?? 0) + 1);
          this.colors.set(String(answer.color), (this.colors.get(String(answer.color)) ?? 0) + 1);
        }
      }
    }));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    for (const agent of this.agents) agent.destroy();
  }
}

describe("switching colors for real: nginx, gunicorn on each color's socket, django-tiers-switch-color", () => {
  const spec = coloredSpec({ apps: 1, tls: "none", taskWorker: "none", workers: 2 }, "blue");
  const files = deliveredFiles(spec);
  const host = "shop.example.com";
  const gunicorns = new Map<Color, ChildProcess>();
  let root = "";
  let conf = "";
  let nginx: ChildProcess | undefined;
  let nginxPid = 0;
  let port = 0;
  let switchEnv: NodeJS.ProcessEnv = {};
  let switchScript = "";
  let load: Load | undefined;
  const logs: string[] = [];

  const answer = (headers: Record<string, string> = {}) => get(port, { Host: host, ...headers });
  const liveLink = () => fs.readlinkSync(path.join(root, liveSocket("shop").link));
  const switchTo = (color: string) => runAsync(switchScript, ["shop", color], switchEnv);
  /** nginx's master and worker processes: a reload would replace the workers. */
  const nginxProcesses = () => run("/usr/bin/pgrep", ["-P", String(nginxPid)]).stdout.split("\n").filter(Boolean).concat(String(nginxPid)).sort();
  /** Answers without a color header come from `color` (body and response header) and stay there. */
  const servesOnly = async (color: Color) => {
    let last: Answer = {};
    await waitFor(`answers from ${color}`, async () => (last = await answer()).color === color, () => JSON.stringify(last));
    const next = await Promise.all(Array.from({ length: 20 }, () => answer()));
    expect(next.map((a) => `${a.color} ${a.body?.split(" ")[0]}`)).toEqual(Array(20).fill(`${color} ${color}`));
  };
  const startGunicorn = (color: Color) => {
    const child = spawn(PYTHON, ["-P", "-m", "gunicorn", "--config", conf, "shopsite.wsgi:application"],
      { cwd: "/", env: { PATH: "/usr/bin:/bin", DJANGO_TIERS_COLOR: color }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (c) => logs.push(`${color}: ${c}`));
    child.stderr?.on("data", (c) => logs.push(`${color}: ${c}`));
    gunicorns.set(color, child);
  };
  const socketAnswers = (color: Color) => async () =>
    run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", path.join(root, colorPaths("shop", color).socket),
      "-H", `Host: ${host}`, "http://localhost/healthz"]).stdout === "200";

  beforeAll(async () => {
    pythonModules("gunicorn");
    root = path.join(dir, "live");
    const free = http.createServer();
    await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
    port = (free.address() as { port: number }).port;
    await new Promise((resolve) => free.close(resolve));

    // Two releases, each a WSGI app that answers "<color> <release> <path>" (its color from supervisor's variable).
    for (const [color, release] of [["blue", "v1"], ["green", "v2"]] as const) {
      const releaseDir = path.join(root, "srv/apps/shop/releases", release);
      writeUnder(releaseDir, "/shopsite/__init__.py", "");
      writeUnder(releaseDir, "/shopsite/wsgi.py", `import os

RELEASE = ${JSON.stringify(release)}


def application(environ, start_response):
    body = ("%s %s %s" % (os.environ["DJANGO_TIERS_COLOR"], RELEASE, environ["PATH_INFO"])).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("X-Django-Tiers-Color", "forged")])
    return [body]
`);
      fs.symlinkSync(releaseDir, path.join(root, "srv/apps/shop", color));
      // collectstatic's output: an unhashed name in both releases, a hashed one in this release only.
      writeUnder(releaseDir, "/static/css/site.css", `${release} site.css\n`);
      writeUnder(releaseDir, `/static/css/site.${release}.css`, `${release} hashed\n`);
    }
    // "current" is the live release (blue's).
    fs.symlinkSync(path.join(root, "srv/apps/shop/releases/v1"), path.join(root, "srv/apps/shop/current"));
    fs.mkdirSync(path.join(root, "run/django-tiers"), { recursive: true });
    // The rendered gunicorn.conf.py, its /srv and /run paths moved under root.
    conf = writeUnder(root, "/etc/django-tiers/shop/gunicorn.conf.py",
      rebase(fileAt(files, "/etc/django-tiers/shop/gunicorn.conf.py").content, root, ["srv"]).split('"unix:/run/').join(`"unix:${root}/run/`));
    for (const color of ["blue", "green"] as const) startGunicorn(color);

    // The rendered nginx files: port 80 → a free loopback port, sockets under root, workers as this user.
    const nginxConf = layNginx(root, spec, files, (text) => text
      .replace(/^user www-data;\n/m, process.getuid?.() === 0 ? "user root;\n" : "")
      .replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${port}$1;`)
      .split("unix:/run/django-tiers/").join(`unix:${root}/run/django-tiers/`), "blue");
    const nginxArgs = ["-p", `${root}/`, "-c", nginxConf, "-e", path.join(root, "var/log/nginx/error.log")];
    nginx = spawn(tool("nginx"), [...nginxArgs, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    nginxPid = nginx.pid!;
    nginx.stderr?.on("data", (c) => logs.push(`nginx: ${c}`));

    // The rendered switch script, its socket directory this test's.
    switchScript = writeUnder(root, SWITCH, fileAt(files, SWITCH).content, "0755");
    switchEnv = { PATH: "/usr/bin:/bin", DJANGO_TIERS_SOCKET_DIR: path.join(root, "run/django-tiers") };

    let last: Answer[] = [];
    await waitFor("nginx and both gunicorns", async () => {
      last = await Promise.all([answer(), answer({ "X-Django-Tiers-Color": "green" })]);
      return last[0].body === "blue v1 /" && last[1].body === "green v2 /";
    }, () => `${JSON.stringify(last)}; logs: ${logs.join("")}`);
    load = new Load(port, host, 4);
  });

  afterAll(async () => {
    await load?.stop();
    await stop(nginx);
    await Promise.all([...gunicorns.values()].map(stop));
  });

  it("sends traffic to the live color, the preview header to either color, and any other value to the live one; each answer names its color", async () => {
    expect(liveLink()).toBe("shop-blue.sock");
    expect(await answer()).toMatchObject({ status: 200, body: "blue v1 /", color: "blue" });
    expect(await answer({ "X-Django-Tiers-Color": "green" })).toMatchObject({ body: "green v2 /", color: "green" });
    expect(await answer({ "X-Django-Tiers-Color": "blue" })).toMatchObject({ body: "blue v1 /", color: "blue" });
    for (const other of ["purple", "green;", "blue green", "", "default", "live"]) {
      const a = await answer({ "X-Django-Tiers-Color": other });
      expect(`${other}: ${a.body} (${a.color})`).toBe(`${other}: blue v1 / (blue)`);
    }
    const healthz = await get(port, { Host: host, "X-Django-Tiers-Color": "green" }, "/healthz");
    expect(healthz).toMatchObject({ status: 200, body: "green v2 /healthz", color: "green" });
  });

  it("serves a static file from the live release first, then from either color's release (hashed names of both are found)", async () => {
    const file = async (name: string) => {
      const a = await get(port, { Host: host }, `/static/css/${name}`);
      return `${a.status} ${(a.body ?? "").trim()}`;
    };
    expect(await file("site.css")).toBe("200 v1 site.css");
    expect(await file("site.v1.css")).toBe("200 v1 hashed");
    // Only green's release (v2) has it: a page of green, previewed or just switched to, finds its stylesheet.
    expect(await file("site.v2.css")).toBe("200 v2 hashed");
    expect(await file("site.v3.css")).toMatch(/^404 /);
  });

  it("switches blue → green → blue under keep-alive load with zero failed requests, and never reloads nginx", async () => {
    const processes = nginxProcesses();
    expect(processes.length).toBeGreaterThan(1);
    // The load spans each switch: it has answers before it, and from the new color after it (counted, not timed).
    const loadServed = (color: Color, more: number) => {
      const from = load!.colors.get(color) ?? 0;
      return waitFor(`${more} more answers from ${color} in the load`, () => (load!.colors.get(color) ?? 0) >= from + more,
        () => JSON.stringify({ total: load!.total, colors: Object.fromEntries(load!.colors), failures: load!.failures.slice(0, 3) }));
    };
    await loadServed("blue", 50);
    const toGreen = await switchTo("green");
    expect(toGreen.stderr).toContain(`shop: green is live (was blue); ${root}/run/django-tiers/shop-live.sock -> shop-green.sock, nginx not reloaded`);
    expect(toGreen.status).toBe(0);
    expect(liveLink()).toBe("shop-green.sock");
    await servesOnly("green");
    await loadServed("green", 50);
    expect(await answer({ "X-Django-Tiers-Color": "blue" })).toMatchObject({ body: "blue v1 /", color: "blue" });
    expect(await answer({ "X-Django-Tiers-Color": "nonsense" })).toMatchObject({ body: "green v2 /", color: "green" });

    const again = await switchTo("green");
    expect(again.status).toBe(0);
    expect(again.stderr).toContain("shop: green is already live");

    const back = await switchTo("blue");
    expect(back.status).toBe(0);
    expect(liveLink()).toBe("shop-blue.sock");
    await servesOnly("blue");
    await loadServed("blue", 50);

    const counts = { total: load!.total, failures: load!.failures.slice(0, 10), bodies: Object.fromEntries(load!.bodies), colors: Object.fromEntries(load!.colors) };
    expect(counts.failures).toEqual([]);
    // Kept-alive connections: all but each loop's first request reused one.
    expect(load!.reused).toBeGreaterThan(counts.total * 0.9);
    expect(counts.bodies["blue v1 /"]).toBeGreaterThan(0);
    expect(counts.bodies["green v2 /"]).toBeGreaterThan(0);
    // The response header is gunicorn's (the app's own forged one replaced): the color that answered.
    expect(Object.keys(counts.colors).sort()).toEqual(["blue", "green"]);
    expect(counts.colors.blue).toBe(counts.bodies["blue v1 /"]);
    // The same nginx master and workers throughout: nothing reloaded.
    expect(nginxProcesses()).toEqual(processes);
  });

  it("refuses to switch to a color whose gunicorn is down: exit 1, the link unchanged, the old color serving", async () => {
    const green = gunicorns.get("green")!;
    await stop(green);
    const socket = path.join(root, colorPaths("shop", "green").socket);
    // gunicorn removes its socket when it stops; a stale one (a killed gunicorn) must be refused as well.
    fs.rmSync(socket, { force: true });
    const down = await switchTo("green");
    expect(down.status).toBe(1);
    expect(down.stderr).toContain(`shop: ${root}/run/django-tiers/shop-green.sock is not a socket (shop-web-green is not running); nothing switched: blue keeps serving`);
    expect(liveLink()).toBe("shop-blue.sock");

    // A socket nothing answers on: curl fails, nothing switched either.
    const stale = run(PYTHON, ["-c", `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socket)})`]);
    expect(stale.status).toBe(0);
    const dead = await switchTo("green");
    expect(dead.status).toBe(1);
    expect(dead.stderr).toContain("shop: green answers /healthz on");
    expect(dead.stderr).toContain("with 000, not 200; nothing switched: blue keeps serving");
    expect(liveLink()).toBe("shop-blue.sock");
    fs.rmSync(socket);

    const next = await Promise.all(Array.from({ length: 20 }, () => answer()));
    expect(next.map((a) => `${a.body} (${a.color})`)).toEqual(Array(20).fill("blue v1 / (blue)"));
    expect(load!.failures).toEqual([]);

    // Green again: it answers, and a switch to it goes through.
    startGunicorn("green");
    await waitFor("green's gunicorn", socketAnswers("green"), () => logs.join("").slice(-2000));
    expect((await switchTo("green")).status).toBe(0);
    await servesOnly("green");
    expect((await switchTo("blue")).status).toBe(0);
    await servesOnly("blue");
    expect(load!.failures).toEqual([]);
  });

  it("refuses an unknown app or color before touching anything", async () => {
    for (const args of [["blog", "green"], ["shop", "purple"], ["shop"]]) {
      const result = await runAsync(switchScript, args, switchEnv);
      expect(result.status).toBe(64);
      expect(result.stderr).toContain("usage: django-tiers-switch-color APP COLOR (APP: shop; COLOR: blue or green)");
    }
    expect(liveLink()).toBe("shop-blue.sock");
  });
});
