/** Pure helpers and invariants of the rendered files, without external tools. */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import {
  appEnvironment, appPaths, BOOTSTRAP_FILES, boxProgramNames, BoxSpecError, programNames, provisionPackages, redisDatabases, releaseBundleKey, renderBox, renderUserData,
  renderUserDataBase64, shellQuote, stripComments, USER_DATA_LIMIT_BYTES, validateBoxSpec,
} from "../../server";
import { gzipUserData } from "../../server/cloud-init";
import { envLine, pyString } from "../../server/quote";
import type { BoxSpec, RenderedFile } from "../../server";
import { STACK_ENV_NAMES, STACK_ENV_PREFIXES } from "../../server/validate";
import { fixtureSpec, problemsOf as problemsOfSpec, roleSpec, VARIANTS } from "./fixtures";
import { fileAt, PYTHON, run } from "./helpers";

function problemsOf(mutate: (spec: BoxSpec) => void, base: BoxSpec = fixtureSpec()): string[] {
  const spec = structuredClone(base);
  mutate(spec);
  return problemsOfSpec(spec);
}

describe("shellQuote", () => {
  it("leaves safe words bare and quotes the rest", () => {
    expect(shellQuote("eu-west-1")).toBe("eu-west-1");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("a b")).toBe("'a b'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("round-trips hostile strings through bash", () => {
    const values = ["it's", "$(reboot)", "`id`", "a\nb", "\\", "${HOME}", "' ; rm -rf / '", "ünï", "*", "-n"];
    for (const value of values) {
      const echoed = run("bash", ["-c", `printf '%s' ${shellQuote(value)}`]);
      expect(echoed.stdout).toBe(value);
    }
  });

  it("refuses NUL", () => {
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
  });
});

describe("envLine and pyString", () => {
  it("refuses a key that is not a variable name", () => {
    expect(() => envLine("BAD-KEY", "x")).toThrow(/not an environment variable name/);
    expect(envLine("A_1", "x y")).toBe("A_1='x y'");
  });

  it("writes Python literals Python reads back", () => {
    const value = `quote " backslash \\ newline \n ünï`;
    const read = run(PYTHON, ["-c", `import sys; sys.stdout.write(${pyString(value)})`]);
    expect(read.stdout).toBe(value);
  });
});

describe("validateBoxSpec", () => {
  it("accepts every fixture variant", () => {
    for (const variant of VARIANTS) expect(() => validateBoxSpec(fixtureSpec(variant.options))).not.toThrow();
  });

  it.each<[string, (spec: BoxSpec) => void, RegExp]>([
    ["an uppercase app name", (s) => { s.apps[0].name = "Shop"; }, /app name "Shop" must match/],
    ["a reserved app name", (s) => { s.apps[0].name = "postgres"; }, /"postgres" is reserved/],
    ["shell in a domain", (s) => { s.apps[0].domains = ["a.com;reboot"]; }, /domain "a.com;reboot" is not a lowercase host name/],
    ["a wildcard domain", (s) => { s.apps[0].domains = ["*.example.com"]; }, /not a lowercase host name/],
    ["shell in the release parameter", (s) => { s.apps[0].releaseParameter = "/x/$(reboot)"; }, /releaseParameter .* is not an SSM parameter name/],
    ["a quote in the secret id", (s) => { s.apps[0].secretId = "arn'x"; }, /secretId .* is not a Secrets Manager id/],
    ["a bad settings module", (s) => { s.apps[0].settingsModule = "my-site.settings"; }, /settingsModule/],
    ["a WSGI path without callable", (s) => { s.apps[0].wsgiApplication = "site.wsgi"; }, /wsgiApplication/],
    ["a bad region", (s) => { s.region = "mars-1"; }, /region "mars-1"/],
    ["a bad bucket", (s) => { s.artifactsBucket = "Bad_Bucket"; }, /artifactsBucket/],
    ["a backup prefix without slash", (s) => { s.backup.prefix = "backups"; }, /backup.prefix "backups" must be empty or end with "\/"/],
    ["a backup hour of 24", (s) => { s.backup.hourUtc = 24; }, /backup.hourUtc must be an integer in 0..23/],
    ["nginx timing out before gunicorn", (s) => { s.nginx.proxyReadTimeoutSeconds = 30; }, /proxyReadTimeoutSeconds \(30\) must exceed gunicorn.timeoutSeconds \(30\)/],
    ["jitter above max_requests", (s) => { s.gunicorn.maxRequestsJitter = 5000; }, /maxRequestsJitter must not exceed/],
    ["fractional workers", (s) => { s.gunicorn.workers = 2.5; }, /gunicorn.workers must be an integer/],
    ["no apps", (s) => { s.apps = []; }, /apps must hold 1..16 apps/],
    ["a bad TLS email", (s) => { s.tls = { mode: "letsencrypt", email: "ops" }; }, /tls.email "ops"/],
  ])("refuses %s", (_label, mutate, message) => {
    const problems = problemsOf(mutate);
    expect(problems.some((p) => message.test(p))).toBe(true);
  });

  it("refuses clashes between apps", () => {
    const three = fixtureSpec({ apps: 3 });
    expect(problemsOf((s) => { s.apps[1].name = "shop"; }, three)).toContainEqual(expect.stringMatching(/app name is used twice/));
    expect(problemsOf((s) => { s.apps[1].domains = ["shop.example.com"]; }, three))
      .toContainEqual(expect.stringMatching(/domain shop.example.com is already served by shop/));
    expect(problemsOf((s) => { s.apps[0].domains = []; s.apps[1].domains = []; }, three))
      .toContainEqual(expect.stringMatching(/only one app may have no domain/));
  });

  it("needs a domain on every app for letsencrypt", () => {
    expect(problemsOf((s) => { s.apps[0].domains = []; }, fixtureSpec({ tls: "letsencrypt" })))
      .toContainEqual(expect.stringMatching(/letsencrypt needs a domain on every app; shop has none/));
  });

  it("lists every problem at once, and renderBox refuses the spec", () => {
    const spec = fixtureSpec();
    spec.region = "nowhere";
    spec.apps[0].name = "Bad";
    expect(() => renderBox(spec)).toThrow(BoxSpecError);
    expect(problemsOf((s) => { s.region = "nowhere"; s.apps[0].name = "Bad"; })).toHaveLength(2);
  });
});

describe("path helpers", () => {
  it("names release bundles releases/<app>/<version>.zip", () => {
    expect(releaseBundleKey("shop", "2024.06.01-3")).toBe("releases/shop/2024.06.01-3.zip");
    expect(() => releaseBundleKey("shop", "../etc")).toThrow(/release version/);
    expect(() => releaseBundleKey("Shop", "1")).toThrow(/app name/);
  });

  it("lays out an app", () => {
    const paths = appPaths("shop");
    expect(paths.socket).toBe("/run/django-tiers/shop.sock");
    expect(paths.current).toBe("/srv/apps/shop/current");
    expect(paths.static).toBe("/srv/apps/shop/current/static");
    expect(paths.media).toBe("/srv/apps/shop/shared/media");
    expect(paths.secretsEnv).toBe("/etc/django-tiers/shop/secrets.env");
    expect(() => appPaths("../x")).toThrow(/app name/);
  });

  it("gives each app two Redis databases and refuses a 17th app", () => {
    expect(redisDatabases(0)).toEqual({ cache: 0, queue: 1 });
    expect(redisDatabases(15)).toEqual({ cache: 30, queue: 31 });
    expect(() => redisDatabases(16)).toThrow(/outside 0..15/);
  });

  it("names supervisor programs by task worker", () => {
    expect(programNames("shop", "celery")).toEqual(["shop-web", "shop-worker", "shop-beat"]);
    expect(programNames("shop", "rq")).toEqual(["shop-web", "shop-worker"]);
    expect(programNames("shop", "none")).toEqual(["shop-web"]);
  });
});

/** `name = value` as the policy checks read gunicorn.conf.py. */
function gunicornValue(content: string, name: string): string {
  const match = new RegExp(`^${name} = (.+)$`, "m").exec(content);
  if (!match) throw new Error(`gunicorn.conf.py has no "${name} = ..." line`);
  return match[1];
}

describe("renderBox", () => {
  const fixedPaths = [
    "/usr/local/sbin/django-tiers-provision",
    "/usr/local/bin/django-tiers-exec",
    "/etc/nginx/conf.d/django-tiers.conf",
    "/etc/django-tiers/python/django_tiers_settings.py",
    "/etc/logrotate.d/django-tiers",
    "/usr/local/sbin/django-tiers-backup",
    "/usr/local/sbin/django-tiers-restore",
    "/etc/cron.d/django-tiers",
  ];

  it.each(VARIANTS.map((v) => [v.label, v.options] as const))("renders the fixed paths (%s)", (_label, options) => {
    const spec = fixtureSpec(options);
    const files = renderBox(spec);
    const paths = files.map((f) => f.path);
    // With RDS, RDS keeps the backups: the box renders no dump or restore job.
    const localDumps = ["/usr/local/sbin/django-tiers-backup", "/usr/local/sbin/django-tiers-restore"];
    for (const p of fixedPaths) {
      if (spec.database && localDumps.includes(p)) expect(paths).not.toContain(p);
      else expect(paths).toContain(p);
    }
    for (const app of spec.apps) {
      for (const p of [`/etc/nginx/sites-available/${app.name}.conf`, `/etc/django-tiers/${app.name}/gunicorn.conf.py`,
        `/etc/supervisor/conf.d/${app.name}.conf`, `/etc/django-tiers/${app.name}/app.env`]) {
        expect(paths).toContain(p);
      }
    }
    for (const file of files) {
      expect(file.mode).toBe(file.content.startsWith("#!") ? "0755" : "0644");
      expect(file.owner).toBe("root:root");
      expect(file.content.endsWith("\n")).toBe(true);
    }
  });

  it("renders the provisioning script with every phase", () => {
    const script = fileAt(renderBox(fixtureSpec()), "/usr/local/sbin/django-tiers-provision").content;
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toContain("set -euo pipefail");
    for (const phase of ["fetch", "install", "configure", "release", "verify"]) expect(script).toContain(`phase_${phase}() {`);
    expect(script).toContain("readonly APPS=(shop)");
    expect(script).toContain("readonly LIB_DIR=/usr/local/lib/django-tiers\n");
    expect(script).toContain('"$LIB_DIR/migrate_locked.py"');
    expect(script).toMatch(/ln -sfn "\$dir" .*\n\s+mv -T /);
    // enable_site links the paths the nginx renderer writes.
    expect(appPaths("shop").nginxSite).toBe("/etc/nginx/sites-available/shop.conf");
    expect(script).toContain("site=/etc/nginx/sites-available/$1.conf\n");
    expect(appPaths("shop").nginxPendingSite).toBe("/etc/nginx/sites-available/pending/shop.conf");
    expect(script).toContain("site=/etc/nginx/sites-available/pending/$app.conf\n");
  });

  it("writes gunicorn settings the policy regexes read", () => {
    const fixed = fileAt(renderBox(fixtureSpec({ workers: 4 })), "/etc/django-tiers/shop/gunicorn.conf.py").content;
    expect(gunicornValue(fixed, "bind")).toBe(`"unix:/run/django-tiers/shop.sock"`);
    expect(gunicornValue(fixed, "workers")).toBe("4");
    expect(gunicornValue(fixed, "timeout")).toBe("30");
    expect(gunicornValue(fixed, "graceful_timeout")).toBe("30");
    expect(gunicornValue(fixed, "max_requests")).toBe("1000");
    expect(gunicornValue(fixed, "max_requests_jitter")).toBe("100");
    const computed = fileAt(renderBox(fixtureSpec()), "/etc/django-tiers/shop/gunicorn.conf.py").content;
    expect(gunicornValue(computed, "workers")).toBe("multiprocessing.cpu_count() * 2 + 1");
  });

  it("never allows every host and never carries a secret value", () => {
    for (const variant of VARIANTS) {
      for (const file of renderBox(fixtureSpec(variant.options))) {
        expect(file.content).not.toMatch(/^DJANGO_ALLOWED_HOSTS=.*\*/m);
        expect(file.content).not.toMatch(/^\s*(export\s+)?(DJANGO_SECRET_KEY|DATABASE_PASSWORD)=/m);
      }
    }
  });

  it("keeps nginx's headers, timeouts and limits in every site", () => {
    const spec = fixtureSpec({ apps: 3, tls: "letsencrypt" });
    const files = renderBox(spec);
    const http = fileAt(files, "/etc/nginx/conf.d/django-tiers.conf").content;
    expect(http).toContain("server_tokens off;");
    expect(http).toContain("keepalive_timeout 75s;");
    expect(http).toContain("client_max_body_size 25m;");
    expect(http).toMatch(/listen 80 default_server;\n\s+server_name _;\n\s+access_log off;\n\s+return 444;/);
    for (const app of spec.apps) {
      const site = fileAt(files, `/etc/nginx/sites-available/${app.name}.conf`).content;
      expect(site).toContain(`server_name ${app.name}.example.com www.${app.name}.example.com;`);
      expect(site).toContain("proxy_set_header X-Forwarded-Proto $scheme;");
      expect(site).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
      expect(site).toContain("proxy_read_timeout 60s;");
      expect(site).toContain("return 301 https://$host$request_uri;");
      expect(site).not.toContain("default_server");
      const pending = fileAt(files, `/etc/nginx/sites-available/pending/${app.name}.conf`).content;
      expect(pending).toContain('return 503 "TLS certificate pending\\n";');
      expect(pending).not.toContain("ssl_certificate");
    }
  });

  it("makes the app without a domain nginx's default server, with no 444 catch-all", () => {
    const files = renderBox(fixtureSpec({ apps: 3, defaultApp: true }));
    expect(fileAt(files, "/etc/nginx/sites-available/shop.conf").content).toContain("listen 80 default_server;");
    expect(fileAt(files, "/etc/nginx/sites-available/blog.conf").content).not.toContain("default_server");
    expect(fileAt(files, "/etc/nginx/conf.d/django-tiers.conf").content).not.toContain("return 444");
    const env = fileAt(files, "/etc/django-tiers/shop/app.env").content;
    expect(env).toContain("DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1\n");
    expect(env).toContain("DJANGO_TIERS_ADD_INSTANCE_HOSTS=1\n");
  });

  it("gives each app its own Redis databases", () => {
    const files = renderBox(fixtureSpec({ apps: 3, taskWorker: "rq" }));
    expect(fileAt(files, "/etc/django-tiers/wiki/app.env").content).toContain("REDIS_URL=redis://127.0.0.1:6379/4\nRQ_REDIS_URL=redis://127.0.0.1:6379/5\n");
  });

  it("schedules the backup at the spec's hour and retries certificates only with letsencrypt", () => {
    expect(fileAt(renderBox(fixtureSpec()), "/etc/cron.d/django-tiers").content)
      .toMatch(/^15 3 \* \* \* root \/usr\/local\/sbin\/django-tiers-backup >>\/var\/log\/django-tiers\/backup.log 2>&1$/m);
    expect(fileAt(renderBox(fixtureSpec()), "/etc/cron.d/django-tiers").content).not.toContain("tls");
    expect(fileAt(renderBox(fixtureSpec({ tls: "letsencrypt" })), "/etc/cron.d/django-tiers").content)
      .toMatch(/^\*\/10 \* \* \* \* root \/usr\/local\/sbin\/django-tiers-provision tls/m);
  });
});

describe("an app's own environment (AppSpec.env)", () => {
  const HOSTILE = `it's "quoted" $HOME \`id\` \\ ; rm -rf / & a=b:c é *`;

  it("goes into app.env after the stack's variables, quoted so bash reads back each value exactly", () => {
    const spec = fixtureSpec({ apps: 3 });
    spec.apps[1].env = { SENTRY_ENVIRONMENT: "production", HOSTILE, EMPTY: "" };
    const files = renderBox(spec);
    const env = fileAt(files, "/etc/django-tiers/blog/app.env").content;
    expect(env).toContain("# The app's own environment (the appEnv setting).\nSENTRY_ENVIRONMENT=production\n");
    expect(env.indexOf("SENTRY_ENVIRONMENT")).toBeGreaterThan(env.indexOf("DJANGO_LOG_LEVEL"));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-app-env-")), "app.env");
    fs.writeFileSync(file, env);
    const sourced = run("bash", ["-c", `set -a; . "$1"; set +a; printf '%s\\0' "$SENTRY_ENVIRONMENT" "$HOSTILE" "\${EMPTY-unset}"`, "bash", file]);
    fs.rmSync(path.dirname(file), { recursive: true });
    expect(sourced.stderr).toBe("");
    expect(sourced.stdout.split("\0").slice(0, 3)).toEqual(["production", HOSTILE, ""]);
    // The other apps get none of it.
    expect(fileAt(files, "/etc/django-tiers/shop/app.env").content).not.toContain("SENTRY_ENVIRONMENT");
  });

  it("is refused for a name the stack sets or keeps, and for a value with a newline", () => {
    expect(problemsOf((s) => { s.apps[0].env = { DATABASE_URL: "postgres://elsewhere/db" }; })).toEqual([
      'apps[0] ("shop"): env DATABASE_URL: DATABASE_URL is set by the stack itself',
    ]);
    expect(problemsOf((s) => { s.apps[0].env = { AWS_SECRET_ACCESS_KEY: "x", "BAD-NAME": "x", FEATURE: "1\nDEBUG=1" }; })).toEqual([
      'apps[0] ("shop"): env AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY starts with AWS_, which the stack keeps for its own variables',
      'apps[0] ("shop"): env BAD-NAME: "BAD-NAME" is not an environment variable name (letters, digits and _, not starting with a digit, at most 128)',
      'apps[0] ("shop"): env FEATURE: holds a newline or another control character, which an environment file cannot carry safely',
    ]);
  });

  it("cannot take any name the stack renders into app.env, in any role or variant", () => {
    const specs = [
      ...VARIANTS.map((v) => fixtureSpec(v.options)),
      roleSpec("app", { color: "green", customDomain: true }),
      roleSpec("app", { apps: 3, customDomain: true }),
      roleSpec("worker", { sqs: true }),
      roleSpec("worker", { taskWorker: "rq" }),
    ];
    const rendered = new Set(specs.flatMap((spec) => spec.apps.flatMap((app) => appEnvironment(spec, app).map(([name]) => name))));
    expect(rendered.size).toBeGreaterThan(30);
    for (const name of rendered) {
      expect({ name, reserved: STACK_ENV_NAMES.includes(name) || STACK_ENV_PREFIXES.some((p) => name.startsWith(p)) }).toEqual({ name, reserved: true });
    }
  });
});

describe("an app without tasks (AppSpec.taskWorker none) on a box with a runner", () => {
  const spec = (): BoxSpec => {
    const s = fixtureSpec({ apps: 3, taskWorker: "celery" });
    s.apps[1].taskWorker = "none";
    return s;
  };

  it("gets only its web program, and phase release and verify wait for no worker or beat of it", () => {
    const files = renderBox(spec());
    const supervisor = fileAt(files, "/etc/supervisor/conf.d/blog.conf").content;
    expect(supervisor).toContain("[program:blog-web]");
    expect(supervisor).not.toMatch(/blog-worker|blog-beat|celery/);
    expect(fileAt(files, "/etc/supervisor/conf.d/shop.conf").content).toMatch(/\[program:shop-worker\][\s\S]*\[program:shop-beat\]/);
    // The programs phase release restarts and phase verify waits for.
    expect(fileAt(files, "/usr/local/sbin/django-tiers-provision").content)
      .toContain("declare -rA APP_PROGRAMS=([shop]='shop-web shop-worker shop-beat' [blog]=blog-web [wiki]='wiki-web wiki-worker wiki-beat')");
    expect(fileAt(files, "/etc/django-tiers/blog/app.env").content).not.toContain("CELERY_BROKER_URL");
    expect(fileAt(files, "/etc/django-tiers/shop/app.env").content).toContain("CELERY_BROKER_URL=redis://127.0.0.1:6379/1\n");
  });

  it("runs nothing on a worker server, and on a blue-green box has its two web programs only", () => {
    const worker = roleSpec("worker", { apps: 3 });
    worker.apps[1].taskWorker = "none";
    expect(worker.apps.map((a) => boxProgramNames(a.name, worker))).toEqual([["shop-worker"], [], ["wiki-worker"]]);
    expect(boxProgramNames("blog", { ...spec(), colors: { live: "blue", idleRunning: false } })).toEqual(["blog-web-blue", "blog-web-green"]);
  });

  it("is the only runner an app may have apart from the box's, and a worker server needs one app with a runner", () => {
    expect(problemsOf((s) => { s.apps[0].taskWorker = "rq"; })).toEqual(['apps[0] ("shop"): taskWorker rq differs from the box\'s (celery); an app\'s own can only be none']);
    const worker = roleSpec("worker");
    worker.apps[0].taskWorker = "none";
    expect(problemsOfSpec(worker)).toEqual(["role worker needs an app with a task worker (every app's taskWorker is none)"]);
  });
});

describe("stripComments", () => {
  const file = (path: string, content: string): RenderedFile => ({ path, mode: "0644", owner: "root:root", content });

  it("drops full-line comments but keeps the shebang, shellcheck directives and heredocs", () => {
    const script = [
      "#!/bin/bash", "# why", "  # indented why", "echo a # trailing stays", "# shellcheck source=/dev/null",
      "cat <<'EOF'", "# kept: heredoc text", "EOF", "# gone", "x=1", "",
    ].join("\n");
    expect(stripComments(file("/usr/local/sbin/x", script))).toBe(
      ["#!/bin/bash", "echo a # trailing stays", "# shellcheck source=/dev/null", "cat <<'EOF'", "# kept: heredoc text", "EOF", "x=1", ""].join("\n"),
    );
  });

  it("keeps Python strings whole and supervisor ; comments out", () => {
    const py = ['"""Doc', "# inside the docstring", '"""', "# comment", "x = 1  # trailing", ""].join("\n");
    expect(stripComments(file("/etc/x.py", py))).toBe(['"""Doc', "# inside the docstring", '"""', "x = 1  # trailing", ""].join("\n"));
    expect(stripComments(file("/etc/supervisor/conf.d/a.conf", "; why\n[program:a]\n"))).toBe("[program:a]\n");
    expect(stripComments(file("/etc/apt/apt.conf.d/x", "// why\nA \"1\";\n"))).toBe('A "1";\n');
  });
});

describe("user data", () => {
  it.each(VARIANTS.map((v) => [v.label, v.options] as const))("fits EC2's 16 KB gzipped (%s)", (_label, options) => {
    const spec = fixtureSpec(options);
    const packed = Buffer.from(renderUserDataBase64(spec), "base64");
    expect(packed.length).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    expect(gunzipSync(packed).toString("utf8")).toBe(renderUserData(spec));
  });

  it("refuses a document that does not fit", () => {
    const noise = randomBytes(30_000).toString("base64");
    expect(() => gzipUserData(`#cloud-config\n# ${noise}\n`, 3)).toThrow(/above EC2's 16384-byte limit/);
  });

  it("writes the bootstrap files with their modes, then runs the provisioning script", () => {
    const spec = fixtureSpec({ apps: 3, tls: "letsencrypt" });
    const text = renderUserData(spec);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = parse(text) as { write_files: Array<{ path: string; permissions: string; owner: string }>; runcmd: string[][] };
    expect(doc.write_files.map((f) => [f.path, f.permissions, f.owner]))
      .toEqual(renderBox(spec).filter((f) => BOOTSTRAP_FILES.includes(f.path)).map((f) => [f.path, f.mode, f.owner]));
    expect(doc.runcmd).toEqual([["/usr/local/sbin/django-tiers-provision"]]);
    expect(renderUserDataBase64(spec)).toBe(renderUserDataBase64(spec));
  });
});

describe("external services (RDS, ElastiCache, S3)", () => {
  const local = fixtureSpec({ apps: 1, tls: "letsencrypt" });
  const external = fixtureSpec({ apps: 1, tls: "letsencrypt", external: true });
  const env = (spec: BoxSpec) => Object.fromEntries(appEnvironment(spec, spec.apps[0]));

  it("points the app at RDS over TLS and at ElastiCache with rediss://", () => {
    expect(env(external)).toMatchObject({
      DATABASE_ENGINE: "postgresql",
      DATABASE_HOST: "demo-db.abc123.eu-west-1.rds.amazonaws.com",
      DATABASE_USER: "django",
      DATABASE_NAME: "shop",
      DATABASE_TLS: "1",
      REDIS_URL: "rediss://master.demo-cache.abc123.euw1.cache.amazonaws.com:6379/0",
      CELERY_BROKER_URL: "rediss://master.demo-cache.abc123.euw1.cache.amazonaws.com:6379/1",
      DJANGO_STORAGE: "s3",
      DJANGO_STATIC_BUCKET: "demo-dev-static",
      DJANGO_MEDIA_BUCKET: "demo-dev-media",
    });
    expect(env(local)).toMatchObject({ DATABASE_HOST: "127.0.0.1", DATABASE_TLS: "0", REDIS_URL: "redis://127.0.0.1:6379/0" });
    expect(env(local).DJANGO_STORAGE).toBeUndefined();
  });

  it("installs clients instead of servers, and django-storages for S3", () => {
    const packages = provisionPackages(external);
    expect(packages).toEqual(expect.arrayContaining(["postgresql-client", "python3-django-storages", "python3-django-storages-boto3", "python3-boto3"]));
    expect(packages).not.toContain("postgresql");
    expect(packages).not.toContain("redis-server");
    expect(provisionPackages(local)).toEqual(expect.arrayContaining(["postgresql", "redis-server"]));
  });

  it("tells the script where the database and cache are", () => {
    const script = renderBox(external).find((f) => f.path === "/usr/local/sbin/django-tiers-provision")!.content;
    expect(script).toContain("readonly DB_MODE=external");
    expect(script).toContain("readonly DB_HOST=demo-db.abc123.eu-west-1.rds.amazonaws.com");
    expect(script).toContain("readonly CACHE_MODE=external");
    const localScript = renderBox(local).find((f) => f.path === "/usr/local/sbin/django-tiers-provision")!.content;
    expect(localScript).toContain("readonly DB_MODE=local");
  });

  it("lets S3 serve static and media: nginx has no location for them", () => {
    const site = renderBox(external).find((f) => f.path === "/etc/nginx/sites-available/shop.conf")!.content;
    expect(site).not.toContain("location /static/");
    expect(site).not.toContain("location /media/");
    expect(renderBox(local).find((f) => f.path === "/etc/nginx/sites-available/shop.conf")!.content).toContain("location /static/");
  });
});
