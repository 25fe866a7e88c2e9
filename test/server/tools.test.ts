/**
 * The real tools over the files as they land on the box (decoded from the
 * user data): nginx -t, shellcheck, supervisor's parser, gunicorn
 * --check-config, cloud-init schema, py_compile and logrotate -d.
 * Each fails, naming test/setup/install-server-tools.sh, when its tool is missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { programNames, renderBox, renderUserData } from "../../server";
import type { BoxSpec, RenderedFile } from "../../server";
import { fixtureSpec, VARIANTS } from "./fixtures";
import { deliveredFiles, PYTHON, pythonModules, rebase, removeDir, run, tempDir, tool, writeUnder } from "./helpers";

const SUPERVISOR_PARSE = path.join(__dirname, "tools", "supervisor_parse.py");

let dir: string;
beforeAll(() => {
  dir = tempDir("tools");
});
afterAll(() => removeDir(dir));

function selfSignedCert(root: string, app: string): void {
  const live = path.join(root, "etc/letsencrypt/live", app);
  fs.mkdirSync(live, { recursive: true });
  const made = run(tool("openssl"), [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", `/CN=${app}.example.com`, "-keyout", path.join(live, "privkey.pem"), "-out", path.join(live, "fullchain.pem"),
  ]);
  expect(made.status).toBe(0);
}

/** nginx -t over the box's nginx files under a scratch prefix, with `site` enabled for every app. */
function nginxTest(root: string, spec: BoxSpec, files: RenderedFile[], site: "live" | "pending"): ReturnType<typeof run> {
  const nginx = tool("nginx");
  for (const file of files.filter((f) => f.path.startsWith("/etc/nginx/"))) writeUnder(root, file.path, rebase(file.content, root));
  fs.copyFileSync("/etc/nginx/mime.types", path.join(root, "etc/nginx/mime.types"));
  for (const d of ["etc/nginx/modules-enabled", "etc/nginx/sites-enabled", "var/log/nginx", "run"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const app of spec.apps) {
    const target = path.join(root, "etc/nginx/sites-available", site === "live" ? `${app.name}.conf` : `pending/${app.name}.conf`);
    fs.symlinkSync(target, path.join(root, "etc/nginx/sites-enabled", `${app.name}.conf`));
    if (site === "live" && spec.tls.mode === "letsencrypt") selfSignedCert(root, app.name);
  }
  return run(nginx, ["-t", "-p", `${root}/`, "-c", path.join(root, "etc/nginx/nginx.conf"), "-e", path.join(root, "var/log/nginx/error.log")]);
}

function scriptsOf(files: RenderedFile[]): RenderedFile[] {
  return files.filter((f) => /^#!\/bin\/(ba)?sh\n/.test(f.content));
}

describe.each(VARIANTS.map((v) => [v.label, v.options] as const))("%s", (label, options) => {
  const spec = fixtureSpec(options);
  const files = deliveredFiles(spec);
  const slug = label.replace(/[^a-z0-9]+/gi, "-");

  it("passes nginx -t with the live sites, waiting for gunicorn as long as the spec says", () => {
    const result = nginxTest(path.join(dir, slug, "nginx-live"), spec, files, "live");
    expect(result.stderr).toContain("test is successful");
    expect(result.status).toBe(0);
    // requestTimeoutSeconds as nginx got it: every proxied location waits the spec's time both ways.
    const nginxFiles = files.filter((f) => f.path.startsWith("/etc/nginx/")).map((f) => f.content).join("\n");
    const waits = nginxFiles.match(/proxy_(read|send)_timeout \d+s;/g) ?? [];
    expect(waits.length).toBeGreaterThanOrEqual(2 * spec.apps.length);
    expect(new Set(waits.map((w) => w.replace(/proxy_(read|send)_timeout /, "")))).toEqual(new Set([`${spec.nginx.proxyReadTimeoutSeconds}s;`]));
    expect(nginxFiles).toContain(`keepalive_timeout ${spec.nginx.keepaliveTimeoutSeconds}s;`);
  });

  if (spec.tls.mode === "letsencrypt") {
    it("passes nginx -t with the pending sites and no certificate", () => {
      const result = nginxTest(path.join(dir, slug, "nginx-pending"), spec, files, "pending");
      expect(result.stderr).toContain("test is successful");
      expect(result.status).toBe(0);
    });
  }

  it("passes shellcheck, as rendered and as delivered", () => {
    const shellcheck = tool("shellcheck");
    const root = path.join(dir, slug, "shellcheck");
    const rendered = scriptsOf(renderBox(spec)).map((f) => writeUnder(path.join(root, "rendered"), f.path, f.content));
    const delivered = scriptsOf(files).map((f) => writeUnder(path.join(root, "delivered"), f.path, f.content));
    expect(delivered).toHaveLength(rendered.length);
    // provision, exec wrapper, TLS/cron helpers, and the backup and restore jobs unless RDS keeps the backups.
    expect(rendered.length).toBeGreaterThanOrEqual(spec.database ? 3 : 4);
    const result = run(shellcheck, ["--severity=style", "--format=gcc", ...rendered, ...delivered]);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("is parsed by supervisor into the expected programs", () => {
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
      programs: Array<{ name: string; command: string; uid: number | null; autorestart: string; stopsignal: number; stopwaitsecs: number;
        stopasgroup: boolean; killasgroup: boolean; stdout_logfile: string; directory: string }>;
    };
    expect(parsed.warnings).toEqual([]);
    const expected = spec.apps.flatMap((a) => programNames(a.name, spec.taskWorker)).sort();
    expect(parsed.programs.map((p) => p.name).sort()).toEqual(expected);
    for (const program of parsed.programs) {
      const app = program.name.split("-")[0];
      expect(program.command.startsWith(`/usr/local/bin/django-tiers-exec ${app} /srv/apps/${app}/current/venv/bin/python `)).toBe(true);
      expect(program.directory).toBe(`/srv/apps/${app}/current`);
      expect(program.uid).toBe(64000);
      expect(program).toMatchObject({ autorestart: "true", stopsignal: 15, stopasgroup: true, killasgroup: true });
      expect(program.stdout_logfile.startsWith(`${root}/var/log/django-tiers/${app}/`)).toBe(true);
      if (program.name.endsWith("-web")) expect(program.stopwaitsecs).toBeGreaterThanOrEqual(spec.gunicorn.gracefulTimeoutSeconds);
      if (program.name.endsWith("-worker")) expect(program.stopwaitsecs).toBeGreaterThanOrEqual(spec.longestTaskSeconds);
    }
    const beats = parsed.programs.filter((p) => p.name.endsWith("-beat")).map((p) => p.name).sort();
    expect(beats).toEqual(spec.taskWorker === "celery" ? spec.apps.map((a) => `${a.name}-beat`).sort() : []);
  });

  it("passes gunicorn --check-config, with the spec's values", () => {
    pythonModules("gunicorn");
    for (const app of spec.apps) {
      const root = path.join(dir, slug, "gunicorn", app.name);
      const [module, callable] = app.wsgiApplication.split(":");
      // A stub WSGI app at the module path the spec names: gunicorn loads it to check.
      writeUnder(root, `/project/${module.replace(/\./g, "/")}.py`,
        `def ${callable}(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n`);
      writeUnder(root, `/project/${module.split(".")[0]}/__init__.py`, "");
      const conf = files.find((f) => f.path === `/etc/django-tiers/${app.name}/gunicorn.conf.py`)!.content;
      expect(conf).toMatch(/^chdir = "\/srv\/apps\/[a-z0-9]+\/current"$/m);
      const confPath = writeUnder(root, "/gunicorn.conf.py", conf.replace(/^chdir = .*$/m, `chdir = "${root}/project"`));
      // As supervisor starts it (-P: no working directory on sys.path), from /:
      // only the config's chdir makes the app importable.
      const gunicorn = (mode: string): ReturnType<typeof run> =>
        run(PYTHON, ["-P", "-m", "gunicorn", mode, "--config", confPath, app.wsgiApplication], { cwd: "/" });
      const checked = gunicorn("--check-config");
      expect(checked.stderr).toBe("");
      expect(checked.status).toBe(0);
      const printed = gunicorn("--print-config");
      expect(printed.status).toBe(0);
      const value = (name: string): string => new RegExp(`^${name}\\s+= (.*)$`, "m").exec(printed.stdout)?.[1] ?? "(missing)";
      expect(value("bind")).toBe(`['unix:/run/django-tiers/${app.name}.sock']`);
      expect(value("timeout")).toBe(String(spec.gunicorn.timeoutSeconds));
      expect(value("graceful_timeout")).toBe(String(spec.gunicorn.gracefulTimeoutSeconds));
      expect(value("max_requests")).toBe(String(spec.gunicorn.maxRequests));
      expect(value("max_requests_jitter")).toBe(String(spec.gunicorn.maxRequestsJitter));
      expect(value("preload_app")).toBe("False");
      expect(Number(value("workers"))).toBe(spec.gunicorn.workers ?? undefinedWorkers());
    }
  });

  it("is valid cloud-config", () => {
    const cloudInit = tool("cloud-init");
    const userData = writeUnder(path.join(dir, slug), "/user-data", renderUserData(spec));
    const result = run(cloudInit, ["schema", "--config-file", userData]);
    expect(result.stdout).toContain("Valid cloud-config");
    expect(result.status).toBe(0);
  });

  it("compiles every Python file", () => {
    const python = files.filter((f) => f.path.endsWith(".py"));
    expect(python.length).toBeGreaterThanOrEqual(4);
    const root = path.join(dir, slug, "python");
    const written = python.map((f) => writeUnder(root, f.path, f.content));
    const result = run(PYTHON, ["-m", "py_compile", ...written], { env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(root, ".pycache") } });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("passes logrotate -d", () => {
    const logrotate = tool("logrotate");
    const root = path.join(dir, slug, "logrotate");
    const conf = files.find((f) => f.path === "/etc/logrotate.d/django-tiers")!.content;
    const confPath = writeUnder(root, "/logrotate.conf", rebase(conf, root));
    for (const app of spec.apps) {
      // One log per app that exists and is due, so logrotate goes through a rotation.
      writeUnder(root, `/var/log/django-tiers/${app.name}/web.log`, "a line\n");
    }
    const result = run(logrotate, ["-d", "-f", "-s", path.join(root, "state"), confPath]);
    expect(result.stderr).not.toMatch(/error/i);
    for (const app of spec.apps) expect(result.stderr).toContain(`copying ${root}/var/log/django-tiers/${app.name}/web.log to`);
    expect(result.status).toBe(0);
  });
});

/** gunicorn's value for `workers = multiprocessing.cpu_count() * 2 + 1` on this machine. */
function undefinedWorkers(): number {
  return Number(run(PYTHON, ["-c", "import multiprocessing; print(multiprocessing.cpu_count() * 2 + 1)"]).stdout.trim());
}

describe("the harness", () => {
  it("fails nginx -t on a broken site", () => {
    const spec = fixtureSpec();
    const broken = deliveredFiles(spec).map((f) =>
      f.path === "/etc/nginx/sites-available/shop.conf" ? { ...f, content: f.content.replace("proxy_redirect off;", "proxy_redirect off") } : f,
    );
    const result = nginxTest(path.join(dir, "broken-nginx"), spec, broken, "live");
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/emerg/);
  });
});
