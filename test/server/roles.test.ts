/**
 * The app and worker roles of the load-balanced tier: what renderBox gives
 * each, what it refuses, and the rendered files run through the real tools
 * (nginx -t, shellcheck, supervisor's parser, py_compile, cloud-init schema,
 * Django's check --deploy), nginx run for real against the ALB's Host trap,
 * and the drain watcher run for real against a fake IMDS, a fake `aws` and a
 * real supervisord.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { runChecks } from "../../policies";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import {
  appEnvironment, boxProgramNames, provisionPackages, renderBox, renderUserData, renderUserDataBase64,
  USER_DATA_LIMIT_BYTES,
} from "../../server";
import type { BoxSpec, RenderedFile } from "../../server";
import { plan, res } from "../policies/fixtures";
import { FIXTURE_SQS_QUEUES, problemsOf, roleSpec, ROLE_VARIANTS } from "./fixtures";
import type { Box } from "./helpers";
import { childProcesses, deliveredFiles, fileAt, freePort, inApp, layBoxUnder, PYTHON, pythonModules, rebase, removeDir, run, stop, tempDir, tool, waitFor, writeUnder } from "./helpers";

const SUPERVISOR_PARSE = path.join(__dirname, "tools", "supervisor_parse.py");
const SECRET_KEY = "k3J!x9$Qw0-zR7^pLm2&vT5*bN8@cY4%hF6#dS1(gA0)eU3+iO7=";
const TEST_SECRETS = `DJANGO_SECRET_KEY='${SECRET_KEY}'\nDATABASE_PASSWORD='not-a-real-password'\n`;

let dir: string;
beforeAll(() => {
  dir = tempDir("roles");
});
afterAll(() => removeDir(dir));

const paths = (files: RenderedFile[]) => files.map((f) => f.path);
const env = (spec: BoxSpec, i = 0) => Object.fromEntries(appEnvironment(spec, spec.apps[i]));

describe("renderBox by role", () => {
  it("gives an app server nginx → gunicorn under supervisor and nothing that holds data", () => {
    const spec = roleSpec("app", { color: "blue" });
    const files = renderBox(spec);
    expect(paths(files)).toEqual(expect.arrayContaining([
      "/etc/nginx/conf.d/django-tiers.conf", "/etc/nginx/sites-available/shop.conf", "/etc/django-tiers/shop/gunicorn.conf.py",
      "/etc/supervisor/conf.d/shop.conf", "/etc/django-tiers/shop/app.env",
    ]));
    for (const absent of ["/etc/redis/redis.conf", "/usr/local/sbin/django-tiers-backup", "/usr/local/sbin/django-tiers-restore",
      "/usr/local/sbin/django-tiers-drain", "/etc/letsencrypt/renewal-hooks/deploy/django-tiers-reload-nginx"]) {
      expect(paths(files)).not.toContain(absent);
    }
    expect(paths(files).filter((p) => p.includes("/pending/"))).toEqual([]);
    const supervisor = fileAt(files, "/etc/supervisor/conf.d/shop.conf").content;
    expect([...supervisor.matchAll(/^\[program:([^\]]+)\]$/gm)].map((m) => m[1])).toEqual(["shop-web"]);
    const packages = provisionPackages(spec);
    expect(packages).toEqual(expect.arrayContaining(["nginx", "python3-gunicorn", "supervisor", "postgresql-client", "python3-boto3", "python3-pycurl", "python3-celery"]));
    for (const p of ["postgresql", "redis-server", "certbot"]) expect(packages).not.toContain(p);
    expect(fileAt(files, "/etc/cron.d/django-tiers").content).not.toMatch(/django-tiers-(backup|provision)/);
    const script = fileAt(files, "/usr/local/sbin/django-tiers-provision").content;
    expect(script).toContain("readonly ROLE=app\nreadonly COLOR=blue\n");
    expect(script).toContain("readonly CACHE_MODE=none\n");
    expect(script).toContain("declare -rA APP_PROGRAMS=([shop]=shop-web)\n");
    expect(script).toContain('"$LIB_DIR/migrate_locked.py"');
    expect(renderUserData(spec)).toContain("# django-tiers app server (blue) of demo/prod (prod).");
  });

  it("gives a worker server its task programs only: no nginx, no gunicorn, no HTTP check", () => {
    const spec = roleSpec("worker", { queues: ["celery", "emails"] });
    const files = renderBox(spec);
    expect(paths(files).filter((p) => p.startsWith("/etc/nginx/") || p.endsWith("gunicorn.conf.py"))).toEqual([]);
    expect(paths(files)).toEqual(expect.arrayContaining(["/usr/local/sbin/django-tiers-drain", "/etc/supervisor/conf.d/django-tiers-drain.conf"]));
    const supervisor = fileAt(files, "/etc/supervisor/conf.d/shop.conf").content;
    expect([...supervisor.matchAll(/^\[program:([^\]]+)\]$/gm)].map((m) => m[1])).toEqual(["shop-worker"]);
    expect(supervisor).toContain(
      "-m celery -A shopsite worker --loglevel INFO --queues celery,emails --without-heartbeat --without-gossip --without-mingle\n");
    expect(supervisor).toMatch(/stopsignal=TERM\nstopwaitsecs=610\n/);
    const packages = provisionPackages(spec);
    expect(packages).not.toContain("nginx");
    expect(packages).not.toContain("python3-gunicorn");
    expect(packages).toEqual(expect.arrayContaining(["python3-boto3", "python3-pycurl", "python3-celery"]));
    const script = fileAt(files, "/usr/local/sbin/django-tiers-provision").content;
    expect(script).toContain("readonly ROLE=worker\n");
    expect(script).toContain("declare -rA APP_PROGRAMS=([shop]=shop-worker)\n");
  });

  it("runs only celery beat on the beat server, its schedule in the app's writable state directory", () => {
    const spec = roleSpec("worker", { apps: 3, beat: true, queues: [] });
    const files = renderBox(spec);
    for (const app of spec.apps) {
      const conf = fileAt(files, `/etc/supervisor/conf.d/${app.name}.conf`).content;
      expect([...conf.matchAll(/^\[program:([^\]]+)\]$/gm)].map((m) => m[1])).toEqual([`${app.name}-beat`]);
      expect(conf).toContain(`beat --loglevel INFO --schedule /srv/apps/${app.name}/shared/state/celerybeat-schedule\n`);
      expect(boxProgramNames(app.name, spec)).toEqual([`${app.name}-beat`]);
    }
    expect(fileAt(files, "/usr/local/sbin/django-tiers-drain").content).toContain("readonly PROGRAMS=(shop-beat blog-beat wiki-beat)\n");
  });

  it("gives an rq worker its queues on the command line and no drain watcher without a hook", () => {
    const spec = roleSpec("worker", { taskWorker: "rq", lifecycleHook: false, queues: ["default", "high"] });
    const files = renderBox(spec);
    expect(fileAt(files, "/etc/supervisor/conf.d/shop.conf").content).toContain("-m rq.cli worker --config django_tiers_rq default high\n");
    expect(paths(files).filter((p) => p.includes("drain"))).toEqual([]);
    expect(env(spec).RQ_REDIS_URL).toBe("rediss://master.demo-cache.abc123.euw1.cache.amazonaws.com:6379/1");
  });

  it("sets the app server's environment: HTTPS behind the ALB, SQS, the color, no Redis without a cache", () => {
    const e = env(roleSpec("app", { color: "green" }));
    expect(e).toMatchObject({
      DJANGO_TIERS_ROLE: "app",
      DJANGO_TIERS_COLOR: "green",
      DJANGO_ALLOWED_HOSTS: "shop.example.com,www.shop.example.com",
      DJANGO_CSRF_TRUSTED_ORIGINS: "https://shop.example.com,https://www.shop.example.com",
      DJANGO_SECURE_SSL_REDIRECT: "1",
      DJANGO_SECURE_HSTS_SECONDS: "31536000",
      CELERY_BROKER_URL: "sqs://",
      DJANGO_TIERS_SQS_REGION: "eu-west-1",
      DJANGO_TIERS_SQS_QUEUES: Object.entries(FIXTURE_SQS_QUEUES).map(([k, v]) => `${k}=${v}`).join(","),
      DJANGO_TIERS_SQS_VISIBILITY_TIMEOUT: "960",
      DATABASE_TLS: "1",
    });
    expect(e.REDIS_URL).toBeUndefined();
    expect(e.DJANGO_TIERS_ADD_INSTANCE_HOSTS).toBe("0");
    expect(env(roleSpec("app", { sqs: false, customDomain: true }))).toMatchObject({
      REDIS_URL: "rediss://master.demo-cache.abc123.euw1.cache.amazonaws.com:6379/0",
      CELERY_BROKER_URL: "rediss://master.demo-cache.abc123.euw1.cache.amazonaws.com:6379/1",
      DJANGO_STORAGE_CUSTOM_DOMAIN: "shop.example.com",
    });
    expect(fileAt(renderBox(roleSpec("app", { customDomain: true })), "/usr/local/sbin/django-tiers-provision").content)
      .toContain("declare -rA APP_MEDIA_PREFIX=([shop]=media/)\n");
  });

  it.each(ROLE_VARIANTS.map((v) => [v.label, v.spec] as const))("fits EC2's user data limit and passes every server-file check (%s)", (_label, make) => {
    const spec = make();
    expect(Buffer.from(renderUserDataBase64(spec), "base64").length).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    const files = renderBox(spec);
    for (const file of files) {
      expect(file.content).not.toMatch(/^\s*(export\s+)?(DJANGO_SECRET_KEY|DATABASE_PASSWORD|AWS_SECRET_ACCESS_KEY)=/m);
      expect(file.content).not.toMatch(/^DJANGO_ALLOWED_HOSTS=.*(\*|\b10\.\d+\.)/m);
    }
    const alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", idleTimeout: 60 });
    const results = runChecks(plan([alb], { serverFiles: { [spec.role]: files } }), SERVER_FILE_CHECKS);
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`)).toEqual([]);
    if (spec.role === "app") {
      expect(results.find((r) => r.id === "nginx-alb-healthz")?.status).toBe("pass");
      expect(results.find((r) => r.id === "nginx-forwarded-proto")?.status).toBe("pass");
    }
  });

  it("keeps one beat per app across the worker fleet and the beat server", () => {
    const alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application" });
    const serverFiles = {
      app: renderBox(roleSpec("app")),
      worker: renderBox(roleSpec("worker")),
      scheduler: renderBox(roleSpec("worker", { beat: true, queues: [] })),
    };
    const beat = runChecks(plan([alb], { serverFiles }), SERVER_FILE_CHECKS).find((r) => r.id === "celery-single-beat");
    expect(beat?.status).toBe("pass");
  });
});

describe("validateBoxSpec by role", () => {
  it.each<[string, () => BoxSpec, RegExp]>([
    ["an app server without a database", () => { const s = roleSpec("app"); delete s.database; return s; }, /role app needs database/],
    ["an app server without object storage", () => { const s = roleSpec("app"); delete s.objectStorage; return s; }, /role app needs objectStorage/],
    ["an app server terminating TLS itself", () => ({ ...roleSpec("app"), tls: { mode: "letsencrypt", email: "ops@example.com" } }), /role app needs tls.mode load-balancer/],
    ["an app without a domain behind the ALB", () => { const s = roleSpec("app"); s.apps[0].domains = []; return s; }, /every app needs a domain/],
    ["no trusted networks", () => ({ ...roleSpec("app"), tls: { mode: "load-balancer", trustedCidrs: [] } }), /tls.trustedCidrs must name/],
    ["a public trusted network", () => ({ ...roleSpec("app"), tls: { mode: "load-balancer", trustedCidrs: ["0.0.0.0/0"] } }), /"0.0.0.0\/0" is not an IPv4 CIDR block inside/],
    ["a color on a worker", () => ({ ...roleSpec("worker"), color: "blue" }), /color is for app servers/],
    ["queues on an app server", () => ({ ...roleSpec("app"), queues: ["celery"] }), /queues are for worker servers/],
    ["a worker without a task runner", () => { const s = roleSpec("worker", { taskWorker: "rq" }); s.taskWorker = "none"; return s; }, /needs taskWorker celery or rq/],
    ["beat with rq", () => ({ ...roleSpec("worker", { taskWorker: "rq" }), beat: true }), /beat needs taskWorker celery/],
    ["SQS with rq", () => ({ ...roleSpec("worker", { taskWorker: "rq" }), broker: { kind: "sqs", queues: FIXTURE_SQS_QUEUES, visibilityTimeoutSeconds: 960 } }), /broker sqs needs taskWorker celery/],
    ["a visibility timeout below the longest task", () => { const s = roleSpec("worker"); s.broker!.visibilityTimeoutSeconds = 600; return s; }, /visibilityTimeoutSeconds \(600\) must exceed longestTaskSeconds \(600\)/],
    ["a consumed queue SQS does not have", () => roleSpec("worker", { queues: ["reports"] }), /queues: "reports" is not one of broker.queues/],
    ["a queue name with shell in it", () => roleSpec("worker", { queues: ["a;reboot"] }), /queues: "a;reboot" must match/],
    ["a URL that is not SQS", () => { const s = roleSpec("worker"); s.broker!.queues = { celery: "https://evil.example.com/q" }; return s; }, /is not an SQS queue URL/],
    ["a hook name with a quote", () => { const s = roleSpec("worker"); s.lifecycleHook!.name = "x'y"; return s; }, /lifecycleHook.name/],
    ["a worker with rq and no cache", () => { const s = roleSpec("worker", { taskWorker: "rq" }); delete s.cache; return s; }, /taskWorker rq needs cache/],
    ["SQS on a single box", () => ({ ...roleSpec("app"), role: "single-box" as const, tls: { mode: "none" as const } }), /broker \(SQS\) is for the app and worker roles/],
    ["a bad CDN domain", () => { const s = roleSpec("app"); s.objectStorage!.customDomains = { shop: "CDN_bad" }; return s; }, /objectStorage.customDomains.shop "CDN_bad"/],
    ["an app without a CDN domain", () => { const s = roleSpec("app", { apps: 3 }); s.objectStorage!.customDomains = { shop: "shop.example.com", blog: "blog.example.com" }; return s; }, /objectStorage.customDomains has no domain for app wiki/],
    ["a CDN domain for no app", () => { const s = roleSpec("app"); s.objectStorage!.customDomains = { shop: "shop.example.com", nosuch: "x.example.com" }; return s; }, /objectStorage.customDomains names nosuch, not in apps/],
  ])("refuses %s", (_label, make, message) => {
    const problems = problemsOf(make());
    expect(problems.some((p) => message.test(p))).toBe(true);
  });

  it("accepts every role variant", () => {
    for (const variant of ROLE_VARIANTS) expect(problemsOf(variant.spec())).toEqual([]);
  });
});

describe.each(ROLE_VARIANTS.map((v) => [v.label, v.spec] as const))("real tools: %s", (label, make) => {
  const spec = make();
  const files = deliveredFiles(spec);
  const slug = label.replace(/[^a-z0-9]+/gi, "-");

  if (spec.role === "app") {
    it("passes nginx -t", () => {
      const root = path.join(dir, slug, "nginx");
      const result = nginxTest(root, spec, files);
      expect(result.stderr).toContain("test is successful");
      expect(result.status).toBe(0);
    });
  }

  it("passes shellcheck on every script, as rendered and as delivered", () => {
    const shellcheck = tool("shellcheck");
    const root = path.join(dir, slug, "shellcheck");
    const scripts = (list: RenderedFile[]) => list.filter((f) => /^#!\/bin\/(ba)?sh\n/.test(f.content));
    const rendered = scripts(renderBox(spec)).map((f) => writeUnder(path.join(root, "rendered"), f.path, f.content));
    const delivered = scripts(files).map((f) => writeUnder(path.join(root, "delivered"), f.path, f.content));
    expect(rendered.length).toBe(spec.lifecycleHook ? 3 : 2);
    const result = run(shellcheck, ["--severity=style", "--format=gcc", ...rendered, ...delivered]);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  it("is parsed by supervisor into the role's programs", () => {
    tool("supervisord");
    const root = path.join(dir, slug, "supervisor");
    for (const file of files.filter((f) => f.path.startsWith("/etc/supervisor/conf.d/"))) writeUnder(root, file.path, rebase(file.content, root, ["var"]));
    for (const app of spec.apps) fs.mkdirSync(path.join(root, "var/log/django-tiers", app.name), { recursive: true });
    const main = writeUnder(root, "/main.conf",
      `[supervisord]\nlogfile=${root}/supervisord.log\npidfile=${root}/supervisord.pid\n[include]\nfiles = ${root}/etc/supervisor/conf.d/*.conf\n`);
    const result = run(PYTHON, [SUPERVISOR_PARSE, main, ...spec.apps.map((a) => a.name)]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const parsed = JSON.parse(result.stdout) as { warnings: string[]; programs: Array<{ name: string; command: string; stopsignal: number; stopwaitsecs: number; autorestart: string }> };
    expect(parsed.warnings).toEqual([]);
    const expected = [...spec.apps.flatMap((a) => boxProgramNames(a.name, spec)), ...(spec.lifecycleHook ? ["django-tiers-drain"] : [])].sort();
    expect(parsed.programs.map((p) => p.name).sort()).toEqual(expected);
    for (const program of parsed.programs) {
      expect(program).toMatchObject({ stopsignal: 15, autorestart: "true" });
      if (program.name.endsWith("-worker")) expect(program.stopwaitsecs).toBeGreaterThanOrEqual(spec.longestTaskSeconds);
      if (program.name.endsWith("-web")) expect(program.stopwaitsecs).toBeGreaterThanOrEqual(spec.gunicorn.gracefulTimeoutSeconds);
    }
  });

  it("compiles every Python file and is valid cloud-config", () => {
    const root = path.join(dir, slug, "python");
    const written = files.filter((f) => f.path.endsWith(".py")).map((f) => writeUnder(root, f.path, f.content));
    const compiled = run(PYTHON, ["-m", "py_compile", ...written], { env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(root, ".pycache") } });
    expect(compiled.stderr).toBe("");
    expect(compiled.status).toBe(0);
    const userData = writeUnder(path.join(dir, slug), "/user-data", renderUserData(spec));
    const schema = run(tool("cloud-init"), ["schema", "--config-file", userData]);
    expect(schema.stdout).toContain("Valid cloud-config");
    expect(schema.status).toBe(0);
  });
});

/** The box's nginx files under `root`, every site enabled; `rewrite` adapts a file's text first. */
function layNginx(root: string, spec: BoxSpec, files: RenderedFile[], rewrite: (text: string) => string = (t) => t): string {
  for (const file of files.filter((f) => f.path.startsWith("/etc/nginx/"))) writeUnder(root, file.path, rewrite(rebase(file.content, root)));
  fs.copyFileSync("/etc/nginx/mime.types", path.join(root, "etc/nginx/mime.types"));
  for (const d of ["etc/nginx/modules-enabled", "etc/nginx/sites-enabled", "var/log/nginx", "run"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  for (const app of spec.apps) {
    fs.symlinkSync(path.join(root, "etc/nginx/sites-available", `${app.name}.conf`), path.join(root, "etc/nginx/sites-enabled", `${app.name}.conf`));
  }
  return path.join(root, "etc/nginx/nginx.conf");
}

function nginxTest(root: string, spec: BoxSpec, files: RenderedFile[]): ReturnType<typeof run> {
  const conf = layNginx(root, spec, files);
  return run(tool("nginx"), ["-t", "-p", `${root}/`, "-c", conf, "-e", path.join(root, "var/log/nginx/error.log")]);
}

// ---------------------------------------------------------------- live runs

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** One request; `{ error }` when the server closes the connection without an answer (nginx's 444). */
function request(port: number, urlPath: string, headers: Record<string, string>, localAddress = "127.0.0.1"):
  Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers, localAddress, agent: false }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body }));
    });
    req.on("error", (error) => resolve({ error: error.message }));
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

describe("nginx of an app server, run for real: the ALB's Host trap", () => {
  const spec = roleSpec("app", { apps: 3, color: "blue" });
  const seen: Seen[] = [];
  const upstream = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end("ok from upstream");
  });
  let nginx: ChildProcess | undefined;
  let port = 0;
  let stderr = "";

  beforeAll(async () => {
    const upstreamPort = await listen(upstream);
    port = await freePort();
    const root = path.join(dir, "nginx-live");
    // Every app's gunicorn socket → the stub; port 80 → a free loopback port; workers as the default user.
    const conf = layNginx(root, spec, deliveredFiles(spec), (text) => {
      let out = text.replace(/^user www-data;\n/m, "").replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${port}$1;`);
      for (const app of spec.apps) {
        const socket = `/run/django-tiers/${app.name}.sock`;
        out = out.split(`http://unix:${socket}:`).join(`http://127.0.0.1:${upstreamPort}`).split(`unix:${socket}`).join(`127.0.0.1:${upstreamPort}`);
      }
      return out;
    });
    nginx = spawn(tool("nginx"), ["-p", `${root}/`, "-c", conf, "-e", path.join(root, "var/log/nginx/error.log"), "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    nginx.stderr?.on("data", (chunk) => (stderr += chunk));
    await waitFor(`nginx on port ${port}`, async () => (await request(port, "/", { Host: "shop.example.com" })).status !== undefined, () => stderr);
    seen.length = 0;
  });

  afterAll(async () => {
    await stop(nginx);
    await close(upstream);
  });

  it("proxies /healthz with the instance IP as Host to the first app, with that app's domain as Host", async () => {
    const answer = await request(port, "/healthz", { Host: "10.0.1.23", "X-Forwarded-Proto": "http" });
    expect(answer).toEqual({ status: 200, body: "ok from upstream" });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/healthz" });
    expect(seen[0].headers.host).toBe("shop.example.com");
    expect(seen[0].headers["x-forwarded-proto"]).toBe("http");
  });

  it("answers nothing (444) to any other request with an unknown Host, and never reaches the app", async () => {
    seen.length = 0;
    for (const [urlPath, host] of [["/", "10.0.1.23"], ["/admin/", "10.0.1.23"], ["/healthz/", "10.0.1.23"], ["/", "evil.example.net"]]) {
      const answer = await request(port, urlPath, { Host: host });
      expect(answer.status).toBeUndefined();
      expect(answer.error).toMatch(/socket hang up|ECONNRESET/);
    }
    expect(seen).toEqual([]);
  });

  it("routes each domain to its app with the ALB's X-Forwarded-Proto", async () => {
    seen.length = 0;
    const answer = await request(port, "/orders/?page=2", { Host: "www.blog.example.com", "X-Forwarded-Proto": "https" });
    expect(answer.status).toBe(200);
    expect(seen.map((s) => [s.url, s.headers.host, s.headers["x-forwarded-proto"]])).toEqual([["/orders/?page=2", "www.blog.example.com", "https"]]);
    expect(seen[0].headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("serves no connection from outside the trusted networks, whatever its Host", async () => {
    seen.length = 0;
    // 127.0.0.2 is this machine too, but neither this box's 127.0.0.1 nor the VPC's 10.0.0.0/16.
    for (const host of ["shop.example.com", "10.0.1.23"]) {
      const answer = await request(port, "/healthz", { Host: host }, "127.0.0.2");
      expect(answer.error).toMatch(/socket hang up|ECONNRESET/);
    }
    expect(seen).toEqual([]);
  });
});

describe("Django behind the ALB (app server settings, Debian's Django)", () => {
  let box: Box;
  beforeAll(() => {
    pythonModules("django", "psycopg2");
    box = layBoxUnder(path.join(dir, "django-app"), roleSpec("app", { color: "blue" }), TEST_SECRETS);
  });

  it("passes check --deploy at --fail-level WARNING", () => {
    const result = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("System check identified no issues");
    expect(result.status).toBe(0);
  });

  it("trusts the ALB's X-Forwarded-Proto, refuses an address as Host, and sets SQS up from the instance role", () => {
    const probe = `
import json, django
django.setup()
from django.conf import settings as s
from django.test import Client
c = Client()
def get(path, **headers):
    r = c.get(path, **headers)
    return [r.status_code, r.get("Location")]
print("RESULT " + json.dumps({
    "https": get("/healthz", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="https"),
    "http": get("/orders/", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="http"),
    "health_check_over_http": get("/healthz", HTTP_HOST="shop.example.com"),
    "address_as_host": get("/healthz", HTTP_HOST="10.0.1.23"),
    "cache": s.CACHES["default"]["BACKEND"],
    "broker": s.CELERY_BROKER_URL,
    "transport": s.CELERY_BROKER_TRANSPORT_OPTIONS,
    "remote_control": s.CELERY_WORKER_ENABLE_REMOTE_CONTROL,
    "allowed": s.ALLOWED_HOSTS,
}))
`;
    const result = inApp(box, "shop", [PYTHON, "-c", probe]);
    expect(result.status).toBe(0);
    // Django logs the refused Host on stdout (LOGGING): the result is the marked line.
    const out = JSON.parse(result.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice("RESULT ".length));
    expect(result.stdout).toContain("Invalid HTTP_HOST header: '10.0.1.23'");
    expect(out.https).toEqual([200, null]);
    expect(out.http).toEqual([301, "https://shop.example.com/orders/"]);
    expect(out.health_check_over_http).toEqual([200, null]);
    expect(out.address_as_host[0]).toBe(400);
    expect(out.cache).toBe("django.core.cache.backends.locmem.LocMemCache");
    expect(out.broker).toBe("sqs://");
    expect(out.transport).toEqual({
      region: "eu-west-1",
      predefined_queues: Object.fromEntries(Object.entries(FIXTURE_SQS_QUEUES).map(([k, url]) => [k, { url }])),
      visibility_timeout: 960,
    });
    expect(out.remote_control).toBe(false);
    expect(out.allowed).toEqual(["shop.example.com", "www.shop.example.com"]);
  });

  // Every app's environment over the one fixture project (shopsite's settings stand in for blog's and wiki's).
  const storagesOf = (box: ReturnType<typeof layBoxUnder>, app: string) => {
    const result = inApp(box, app, [PYTHON, "-c",
      "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(s.STORAGES))"],
    { DJANGO_TIERS_APP_SETTINGS_MODULE: "shopsite.settings" });
    expect(result.stderr).toBe("");
    return JSON.parse(result.stdout);
  };

  it("points django-storages at the CDN domain, under static/ and media/, unsigned", () => {
    const cdn = layBoxUnder(path.join(dir, "django-cdn"), roleSpec("app", { customDomain: true }), TEST_SECRETS);
    const storages = storagesOf(cdn, "shop");
    expect(storages.staticfiles.OPTIONS).toMatchObject({ bucket_name: "demo-prod-static", custom_domain: "shop.example.com", location: "static", querystring_auth: false });
    expect(storages.default.OPTIONS).toMatchObject({ bucket_name: "demo-prod-media", custom_domain: "shop.example.com", location: "media", querystring_auth: false });
  });

  it("gives each app behind the CDN its own domain and, after the first, its own key prefix", () => {
    const box = layBoxUnder(path.join(dir, "django-cdn-3"), roleSpec("app", { apps: 3, sqs: false, customDomain: true }), TEST_SECRETS);
    const seen = Object.fromEntries(["shop", "blog", "wiki"].map((app) => {
      const { staticfiles, default: media } = storagesOf(box, app);
      return [app, [staticfiles.OPTIONS.custom_domain, staticfiles.OPTIONS.location, media.OPTIONS.custom_domain, media.OPTIONS.location]];
    }));
    expect(seen).toEqual({
      shop: ["shop.example.com", "static", "shop.example.com", "media"],
      blog: ["blog.example.com", "apps/blog/static", "blog.example.com", "apps/blog/media"],
      wiki: ["wiki.example.com", "apps/wiki/static", "wiki.example.com", "apps/wiki/media"],
    });
  });

  it("without a CDN keeps the first app's files where they were (no location: the app's AWS_LOCATION or the root) and prefixes the others", () => {
    const box = layBoxUnder(path.join(dir, "django-s3-3"), roleSpec("app", { apps: 3, sqs: false }), TEST_SECRETS);
    const shop = storagesOf(box, "shop");
    expect(shop.staticfiles.OPTIONS).not.toHaveProperty("location");
    expect(shop.default.OPTIONS).not.toHaveProperty("location");
    expect(shop.staticfiles.OPTIONS).not.toHaveProperty("custom_domain");
    const blog = storagesOf(box, "blog");
    expect([blog.staticfiles.OPTIONS.location, blog.default.OPTIONS.location, blog.staticfiles.OPTIONS.querystring_auth]).toEqual(["apps/blog/static", "apps/blog/media", true]);
  });
});

describe("django-tiers-drain, run for real (fake IMDS and aws, real supervisord)", () => {
  const spec = roleSpec("worker", { queues: ["celery", "emails"] });
  let root: string;
  let imds: http.Server;
  let lifecycleState = "InService";
  /** How many times the watcher has asked for the lifecycle state. */
  let statePolls = 0;
  let supervisord: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  let watcherLog = "";
  let supervisorctl: string;

  beforeAll(async () => {
    root = path.join(dir, "drain");
    fs.mkdirSync(path.join(root, "bin"), { recursive: true });
    // IMDSv2: a token first, then metadata only with it.
    imds = http.createServer((req, res) => {
      if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
        res.end("token-1");
        return;
      }
      if (req.method !== "GET" || req.headers["x-aws-ec2-metadata-token"] !== "token-1") {
        res.writeHead(401).end();
        return;
      }
      if (req.url === "/latest/meta-data/autoscaling/target-lifecycle-state") statePolls++;
      const answers: Record<string, string> = {
        "/latest/meta-data/autoscaling/target-lifecycle-state": lifecycleState,
        "/latest/meta-data/instance-id": "i-0123456789abcdef0",
      };
      if (req.url && req.url in answers) res.end(answers[req.url]);
      else res.writeHead(404).end();
    });
    const imdsPort = await listen(imds);

    // supervisord with a stand-in for the Celery worker: on TERM it finishes its "task" (1 s) and exits.
    const conf = writeUnder(root, "/supervisord.conf", `[unix_http_server]
file=${root}/supervisor.sock
[supervisord]
logfile=${root}/supervisord.log
pidfile=${root}/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://${root}/supervisor.sock
[program:shop-worker]
command=/bin/bash -c 'trap "sleep 1; echo task finished; exit 0" TERM; echo working; while :; do sleep 0.1; done'
stopsignal=TERM
stopwaitsecs=20
startsecs=0
autorestart=true
redirect_stderr=true
stdout_logfile=${root}/shop-worker.log
`);
    supervisord = spawn(tool("supervisord"), ["-n", "-c", conf], { stdio: "ignore" });
    supervisorctl = writeUnder(root, "/bin/supervisorctl", `#!/bin/sh\nexec ${tool("supervisorctl")} -c ${conf} "$@"\n`, "0755");
    // The fake aws CLI records its arguments and the worker's state at the moment it is called.
    writeUnder(root, "/bin/aws", `#!/bin/bash\nprintf '%s\\n' "$@" >${root}/aws.args\n${supervisorctl} status shop-worker >${root}/aws.worker-state || true\n`, "0755");
    let state = "";
    await waitFor("the stand-in worker RUNNING", () => (state = run(supervisorctl, ["status", "shop-worker"]).stdout).includes("RUNNING"), () => state);

    const script = writeUnder(root, "/django-tiers-drain", fileAt(renderBox(spec), "/usr/local/sbin/django-tiers-drain").content, "0755");
    fs.mkdirSync(path.join(root, "state"));
    watcher = spawn(script, [], {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        DJANGO_TIERS_IMDS_URL: `http://127.0.0.1:${imdsPort}`,
        DJANGO_TIERS_DRAIN_PATH: `${root}/bin:/usr/bin:/bin`,
        DJANGO_TIERS_DRAIN_INTERVAL: "0.2",
        DJANGO_TIERS_STATE_DIR: path.join(root, "state"),
      },
    });
    watcher.stdout?.on("data", (chunk) => (watcherLog += chunk));
    watcher.stderr?.on("data", (chunk) => (watcherLog += chunk));
  });

  afterAll(async () => {
    await stop(watcher);
    await stop(supervisord);
    if (imds) await close(imds);
  });

  it("leaves the workers alone while the instance is in service", async () => {
    // The watcher acts on an answer before it asks again: at the third question, two InService answers were acted on.
    await waitFor("the watcher's first line and third poll", () => watcherLog.includes("watching for scale-in") && statePolls >= 3, () => `${statePolls} polls; ${watcherLog}`);
    expect(fs.existsSync(path.join(root, "aws.args"))).toBe(false);
    expect(run(supervisorctl, ["status", "shop-worker"]).stdout).toContain("RUNNING");
  });

  it("on Terminated stops the worker (its task finishes) and only then completes the lifecycle hook", async () => {
    lifecycleState = "Terminated";
    // Waits for the state asserted below (the marker and the line), not for a line written before it.
    await waitFor("the hook completed and recorded", () => fs.existsSync(path.join(root, "state", "drained")) && watcherLog.includes("completed"), () => watcherLog);
    expect(fs.readFileSync(path.join(root, "aws.args"), "utf8").trim().split("\n")).toEqual([
      "--region", "eu-west-1", "autoscaling", "complete-lifecycle-action", "--lifecycle-action-result", "CONTINUE",
      "--lifecycle-hook-name", "demo-prod-worker-drain", "--auto-scaling-group-name", "demo-prod-worker-asg",
      "--instance-id", "i-0123456789abcdef0",
    ]);
    expect(fs.readFileSync(path.join(root, "aws.worker-state"), "utf8")).toMatch(/^shop-worker\s+STOPPED/);
    expect(fs.readFileSync(path.join(root, "shop-worker.log"), "utf8")).toContain("task finished");
    expect(fs.existsSync(path.join(root, "state", "drained"))).toBe(true);
    expect(watcherLog).toContain("lifecycle hook demo-prod-worker-drain completed for i-0123456789abcdef0");
  });

  it("completes the hook once, and stops at once on supervisor's TERM", async () => {
    fs.rmSync(path.join(root, "aws.args"));
    // Each turn of the watcher's loop decides, then sleeps in a child of its own: every sleep seen after
    // the first one belongs to a turn that decided after the removal (counted, not timed).
    const sleeps = new Set<number>();
    await waitFor("three more turns of the watcher's loop", () => {
      for (const child of childProcesses(watcher!.pid!)) if (child.argv[0] === "sleep") sleeps.add(child.pid);
      return sleeps.size >= 3;
    }, () => `${sleeps.size} sleeps seen; ${watcherLog}`);
    expect(fs.existsSync(path.join(root, "aws.args"))).toBe(false);
    const exited = new Promise<number | null>((resolve) => watcher!.once("exit", (code) => resolve(code)));
    watcher!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
