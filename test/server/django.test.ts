/**
 * The Django side, run for real with Debian's Django: check --deploy on a
 * fixture project that imports django_tiers_settings and on a project made
 * by `django-admin startproject` and left untouched, the settings they end
 * up with (django_tiers_production over the app's own), the secrets.env
 * writer and the django-tiers-exec wrapper.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { BoxSpec } from "../../server";
import { appSecretString, deployCheckWarnings } from "../../server/django-env";
import { fixtureSpec } from "./fixtures";
import type { Box } from "./helpers";
import { deliveredFiles, fileAt, inApp, layBoxUnder, PYTHON, pythonModules, rebase, removeDir, run, tempDir, writeUnder } from "./helpers";

/** A key check --deploy accepts (W009: 50+ characters, 5+ distinct, no django-insecure- prefix). */
const SECRET_KEY = "k3J!x9$Qw0-zR7^pLm2&vT5*bN8@cY4%hF6#dS1(gA0)eU3+iO7=";
const TEST_SECRETS = `DJANGO_SECRET_KEY='${SECRET_KEY}'\nDATABASE_PASSWORD='not-a-real-password'\n`;

let dir: string;
beforeAll(() => {
  pythonModules("django", "django_redis", "psycopg2");
  dir = tempDir("django");
});
afterAll(() => removeDir(dir));

function layBox(label: string, spec: BoxSpec, instanceHosts?: string, projectDir?: string): Box {
  return layBoxUnder(path.join(dir, label), spec, TEST_SECRETS, instanceHosts, projectDir);
}

/** A fresh `django-admin startproject shopsite` (Debian's Django), as a new user has it: DEBUG = True, an insecure key, SQLite, ALLOWED_HOSTS = []. */
function startproject(label: string, append = ""): string {
  const target = path.join(dir, "made", label);
  fs.mkdirSync(target, { recursive: true });
  const made = run(PYTHON, ["-m", "django", "startproject", "shopsite", target]);
  if (made.status !== 0) throw new Error(`startproject failed: ${made.stderr}`);
  const settings = path.join(target, "shopsite/settings.py");
  const text = fs.readFileSync(settings, "utf8");
  // The shape issue 13 reports: every production value wrong in the file itself.
  for (const line of ["DEBUG = True", "SECRET_KEY = 'django-insecure-", "ALLOWED_HOSTS = []", "django.db.backends.sqlite3"]) expect(text).toContain(line);
  if (append) fs.appendFileSync(settings, `\n${append}\n`);
  return target;
}

const SETTINGS_DUMP = `
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASES", "CACHES", "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "STATIC_ROOT", "MEDIA_ROOT", "DATA_UPLOAD_MAX_MEMORY_SIZE", "FILE_UPLOAD_MAX_MEMORY_SIZE",
    "X_FRAME_OPTIONS", "SECURE_REDIRECT_EXEMPT", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "INSTALLED_APPS", "STORAGES",
    "LOGGING", "SECURE_REFERRER_POLICY")} | {"CELERY_BROKER_URL": getattr(s, "CELERY_BROKER_URL", None)}, default=str))
`;

describe("manage.py check --deploy", () => {
  it("passes at --fail-level WARNING with TLS on", () => {
    const box = layBox("tls", fixtureSpec({ tls: "letsencrypt" }));
    const result = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("System check identified no issues");
    expect(result.status).toBe(0);
  });

  it("warns exactly W004, W008, W012 and W016 with TLS off, as documented", () => {
    const box = layBox("plain", fixtureSpec({ tls: "none" }));
    const result = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]);
    expect(result.status).not.toBe(0);
    const ids = [...result.stderr.matchAll(/\((security\.[WE]\d+)\)/g)].map((m) => m[1]).sort();
    expect(ids).toEqual(["security.W004", "security.W008", "security.W012", "security.W016"]);
    const settings = fileAt(deliveredFiles(fixtureSpec()), "/etc/django-tiers/python/django_tiers_settings.py").content;
    expect(settings).toContain("W004, W008, W012 and W016");
  });
});

describe("django_tiers_settings", () => {
  it("turns app.env and secrets.env into production settings", () => {
    const box = layBox("values", fixtureSpec({ tls: "letsencrypt", taskWorker: "celery" }));
    const result = inApp(box, "shop", [PYTHON, "-c", SETTINGS_DUMP]);
    expect(result.stderr).toBe("");
    const s = JSON.parse(result.stdout);
    expect(s).toMatchObject({
      DEBUG: false,
      ALLOWED_HOSTS: ["shop.example.com", "www.shop.example.com"],
      CSRF_TRUSTED_ORIGINS: ["https://shop.example.com", "https://www.shop.example.com"],
      SECURE_PROXY_SSL_HEADER: ["HTTP_X_FORWARDED_PROTO", "https"],
      SECURE_SSL_REDIRECT: true,
      SECURE_HSTS_SECONDS: 31536000,
      SESSION_COOKIE_SECURE: true,
      CSRF_COOKIE_SECURE: true,
      STATIC_ROOT: "/srv/apps/shop/current/static",
      MEDIA_ROOT: "/srv/apps/shop/shared/media",
      DATA_UPLOAD_MAX_MEMORY_SIZE: 25 * 1024 * 1024,
      FILE_UPLOAD_MAX_MEMORY_SIZE: 2621440,
      X_FRAME_OPTIONS: "DENY",
      SECURE_REDIRECT_EXEMPT: ["^healthz/?$"],
      CELERY_BROKER_URL: "redis://127.0.0.1:6379/1",
    });
    expect(s.DATABASES.default).toMatchObject({
      ENGINE: "django.db.backends.postgresql", NAME: "shop", USER: "shop", PASSWORD: "not-a-real-password", HOST: "127.0.0.1", PORT: "5432",
    });
    expect(s.CACHES.default).toMatchObject({
      BACKEND: "django_redis.cache.RedisCache", LOCATION: "redis://127.0.0.1:6379/0", OPTIONS: { IGNORE_EXCEPTIONS: true },
    });
  });

  it("adds the instance's public names for an app without a domain, and refuses '*'", () => {
    const spec = fixtureSpec({ defaultApp: true });
    const box = layBox("instance", spec, "ec2-203-0-113-7.eu-west-1.compute.amazonaws.com,203.0.113.7");
    const result = inApp(box, "shop", [PYTHON, "-c", SETTINGS_DUMP]);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout).ALLOWED_HOSTS)
      .toEqual(["localhost", "127.0.0.1", "ec2-203-0-113-7.eu-west-1.compute.amazonaws.com", "203.0.113.7"]);
    const star = layBox("star", spec, "*");
    const refused = inApp(star, "shop", [PYTHON, "-c", SETTINGS_DUMP]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain("ALLOWED_HOSTS must name hosts, never '*'");
  });

  it("fails clearly without secrets.env's values", () => {
    const box = layBox("nosecret", fixtureSpec());
    fs.writeFileSync(path.join(box.root, "etc/django-tiers/shop/secrets.env"), "DATABASE_PASSWORD=x\n");
    const result = inApp(box, "shop", [PYTHON, "-c", SETTINGS_DUMP]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("DJANGO_SECRET_KEY is not set: it comes from the app's secrets.env (phase fetch)");
  });
});

describe("an untouched startproject settings.py", () => {
  it("loads with DEBUG off, the real key, the real database and the real hosts", () => {
    const box = layBox("startproject", fixtureSpec({ tls: "letsencrypt", taskWorker: "celery" }), undefined, startproject("values"));
    const result = inApp(box, "shop", [PYTHON, "-c", SETTINGS_DUMP]);
    expect(result.stderr).toBe("");
    const s = JSON.parse(result.stdout);
    expect(s).toMatchObject({
      DEBUG: false,
      SECRET_KEY,
      SECRET_KEY_FALLBACKS: [],
      ALLOWED_HOSTS: ["shop.example.com", "www.shop.example.com"],
      CSRF_TRUSTED_ORIGINS: ["https://shop.example.com", "https://www.shop.example.com"],
      SECURE_SSL_REDIRECT: true,
      STATIC_ROOT: "/srv/apps/shop/current/static",
      CELERY_BROKER_URL: "redis://127.0.0.1:6379/1",
    });
    expect(s.DATABASES).toEqual({
      default: expect.objectContaining({ ENGINE: "django.db.backends.postgresql", NAME: "shop", USER: "shop", PASSWORD: "not-a-real-password", HOST: "127.0.0.1" }),
    });
    expect(s.CACHES.default.BACKEND).toBe("django_redis.cache.RedisCache");
    // The app's own: startproject's apps, and no storage choice of its own.
    expect(s.INSTALLED_APPS).toContain("django.contrib.admin");
    expect(s.STORAGES.default.BACKEND).toBe("django.core.files.storage.FileSystemStorage");
    expect(s.STORAGES.staticfiles.BACKEND).toBe("django.contrib.staticfiles.storage.StaticFilesStorage");
    expect(s.LOGGING.root.handlers).toEqual(["stdout"]);
  });

  it("passes check --deploy at --fail-level WARNING with TLS on", () => {
    const box = layBox("startproject-tls", fixtureSpec({ tls: "letsencrypt" }), undefined, startproject("tls"));
    const result = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("System check identified no issues");
    expect(result.status).toBe(0);
  });

  it("warns with TLS off exactly what the plan says (deployCheckWarnings), and the release's fail level (ERROR) passes", () => {
    const spec = fixtureSpec({ tls: "none" });
    const box = layBox("startproject-plain", spec, undefined, startproject("plain"));
    const warned = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]);
    const ids = [...warned.stderr.matchAll(/\((security\.[WE]\d+)\)/g)].map((m) => m[1]).sort();
    expect(ids).toEqual(deployCheckWarnings(spec.tls.mode));
    const release = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "ERROR"]);
    expect(release.status).toBe(0);
  });

  it("follows the merge rules: other aliases and the app's own choices stay, the repo's key fallbacks do not", () => {
    const project = startproject("merge", [
      "DATABASES['reports'] = {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'reports.sqlite3'}",
      "CACHES = {'default': {'BACKEND': 'django.core.cache.backends.dummy.DummyCache'}, 'sessions': {'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}}",
      "STORAGES = {'default': {'BACKEND': 'storages.backends.s3boto3.S3Boto3Storage'}, 'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'}, 'exports': {'BACKEND': 'django.core.files.storage.InMemoryStorage'}}",
      "LOGGING = {'version': 1, 'root': {'level': 'WARNING'}}",
      "SECURE_REFERRER_POLICY = 'strict-origin-when-cross-origin'",
      "SECRET_KEY_FALLBACKS = ['django-insecure-from-the-repo']",
      "SECURE_REDIRECT_EXEMPT = [r'^ping$']",
    ].join("\n"));
    const box = layBox("startproject-merge", fixtureSpec({ tls: "letsencrypt" }), undefined, project);
    const result = inApp(box, "shop", [PYTHON, "-c", SETTINGS_DUMP], { DJANGO_SECRET_KEY_FALLBACKS: "old-key-from-secrets-manager" });
    expect(result.stderr).toBe("");
    const s = JSON.parse(result.stdout);
    expect(Object.keys(s.DATABASES).sort()).toEqual(["default", "reports"]);
    expect(s.DATABASES.default.ENGINE).toBe("django.db.backends.postgresql");
    expect(s.CACHES.default.BACKEND).toBe("django_redis.cache.RedisCache");
    expect(s.CACHES.sessions.BACKEND).toBe("django.core.cache.backends.locmem.LocMemCache");
    expect(s.STORAGES).toEqual({
      default: { BACKEND: "django.core.files.storage.FileSystemStorage" },
      staticfiles: { BACKEND: "django.contrib.staticfiles.storage.ManifestStaticFilesStorage" },
      exports: { BACKEND: "django.core.files.storage.InMemoryStorage" },
    });
    expect(s.LOGGING).toEqual({ version: 1, root: { level: "WARNING" } });
    expect(s.SECURE_REFERRER_POLICY).toBe("strict-origin-when-cross-origin");
    expect(s.SECRET_KEY_FALLBACKS).toEqual(["old-key-from-secrets-manager"]);
    expect(s.SECURE_REDIRECT_EXEMPT).toEqual(["^ping$", "^healthz/?$"]);
  });

  it("refuses the release (check --deploy at ERROR) on a settings error the app makes", () => {
    const box = layBox("startproject-error", fixtureSpec({ tls: "letsencrypt" }), undefined, startproject("error", "SECURE_REFERRER_POLICY = 'no-such-policy'"));
    const result = inApp(box, "shop", [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "ERROR"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("security.E023");
  });
});

describe("secrets_to_env.py", () => {
  const helper = (): string => {
    const root = path.join(dir, "secrets-helper");
    const file = fileAt(deliveredFiles(fixtureSpec()), "/usr/local/lib/django-tiers/secrets_to_env.py");
    return writeUnder(root, file.path, file.content);
  };

  it("writes values bash reads back exactly", () => {
    const secrets = { DJANGO_SECRET_KEY: `a'b"c $HOME \`id\` \\ ; rm -rf /\nsecond line`, DATABASE_PASSWORD: "p@ss'word", WORKERS: 5 };
    const converted = run(PYTHON, [helper()], { input: JSON.stringify(secrets) });
    expect(converted.stderr).toBe("");
    expect(converted.status).toBe(0);
    const envFile = writeUnder(dir, "/roundtrip/secrets.env", converted.stdout);
    const read = run("bash", ["-c", `set -a; . "${envFile}"; set +a; exec ${PYTHON} -c 'import json, os; print(json.dumps({k: os.environ[k] for k in ("DJANGO_SECRET_KEY", "DATABASE_PASSWORD", "WORKERS")}))'`]);
    expect(JSON.parse(read.stdout)).toEqual({ ...secrets, WORKERS: "5" });
  });

  it.each<[string, string, RegExp]>([
    ["a missing key", JSON.stringify({ DJANGO_SECRET_KEY: "hunter2-secret" }), /missing or empty: DATABASE_PASSWORD/],
    ["text that is not JSON", "hunter2-secret", /not valid JSON/],
    ["a nested value", JSON.stringify({ DJANGO_SECRET_KEY: "hunter2-secret", DATABASE_PASSWORD: { v: "hunter2-secret" } }), /value of DATABASE_PASSWORD must be a string/],
    ["a bad key", JSON.stringify({ "BAD-KEY": "hunter2-secret" }), /key 'BAD-KEY' is not an environment variable name/],
  ])("refuses %s without printing a value", (_label, input, message) => {
    const result = run(PYTHON, [helper()], { input });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("hunter2");
  });
});

describe("django-tiers-exec", () => {
  it("runs a command with app.env, instance.env and secrets.env exported", () => {
    const box = layBox("exec", fixtureSpec({ defaultApp: true }), "203.0.113.7");
    const wrapper = writeUnder(box.root, "/exec", rebase(fs.readFileSync(path.join(box.root, "usr/local/bin/django-tiers-exec"), "utf8"), box.root, ["etc"]), "0755");
    const result = run(wrapper, ["shop", "env"], { env: { PATH: "/usr/bin:/bin" } });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const env = new Map(result.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as [string, string]));
    expect(env.get("DJANGO_SETTINGS_MODULE")).toBe("django_tiers_production");
    expect(env.get("DJANGO_TIERS_APP_SETTINGS_MODULE")).toBe("shopsite.settings");
    // Complete for dj-database-url and django-environ, in the process's environment only.
    expect(env.get("DATABASE_URL")).toBe("postgres://shop:not-a-real-password@127.0.0.1:5432/shop");
    expect(fs.readFileSync(path.join(box.root, "etc/django-tiers/shop/app.env"), "utf8")).toContain("DATABASE_URL=postgres://shop@127.0.0.1:5432/shop\n");
    expect(env.get("DJANGO_TIERS_INSTANCE_HOSTS")).toBe("203.0.113.7");
    expect(env.get("DJANGO_SECRET_KEY")).toBe(SECRET_KEY);
  });

  it("gives every process of the app its own secrets (appSecrets) from the secret phase fetch reads, and no rendered file holds them", () => {
    const spec = fixtureSpec({ apps: 3 });
    const own = { SENTRY_DSN: "https://hunter2key@o1.ingest.sentry.io/1", STRIPE_API_KEY: `sk_live_'hunter2' $HOME \`id\`\nline two` };
    // The app's secret as the stack stores it (components/secrets.ts), through the helper phase fetch pipes it into.
    const secretString = appSecretString({ DJANGO_SECRET_KEY: SECRET_KEY, DATABASE_PASSWORD: "not-a-real-password" }, own);
    const helper = writeUnder(path.join(dir, "exec-own"), "/secrets_to_env.py", fileAt(deliveredFiles(spec), "/usr/local/lib/django-tiers/secrets_to_env.py").content);
    const converted = run(PYTHON, [helper], { input: secretString });
    expect(converted.stderr).toBe("");
    expect(converted.status).toBe(0);
    const box = layBoxUnder(path.join(dir, "exec-own"), spec, converted.stdout);
    const wrapper = writeUnder(box.root, "/exec", rebase(fs.readFileSync(path.join(box.root, "usr/local/bin/django-tiers-exec"), "utf8"), box.root, ["etc"]), "0755");
    const read = "import json, os; print(json.dumps({k: os.environ.get(k) for k in ('SENTRY_DSN', 'STRIPE_API_KEY', 'DJANGO_SECRET_KEY')}))";
    const result = run(wrapper, ["blog", PYTHON, "-c", read], { env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" } });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ ...own, DJANGO_SECRET_KEY: SECRET_KEY });
    // Only secrets.env (written at boot, never rendered) holds them.
    for (const file of deliveredFiles(spec)) expect([file.path, file.content.includes("hunter2")]).toEqual([file.path, false]);
  });

  it("puts a password with URL characters into DATABASE_URL so a URL parser reads it back, with RDS's TLS option kept", () => {
    const spec = fixtureSpec({ external: true, tls: "letsencrypt" });
    const password = "p@ss:w/rd?#%&é";
    const box = layBoxUnder(path.join(dir, "exec-url"), spec, `DJANGO_SECRET_KEY='${SECRET_KEY}'\nDATABASE_PASSWORD='${password}'\nREDIS_PASSWORD='t0k3n/+='\n`);
    const wrapper = writeUnder(box.root, "/exec", rebase(fs.readFileSync(path.join(box.root, "usr/local/bin/django-tiers-exec"), "utf8"), box.root, ["etc"]), "0755");
    const parse = "import json, os; from urllib.parse import urlsplit, unquote, parse_qs; u = urlsplit(os.environ['DATABASE_URL']); " +
      "r = urlsplit(os.environ['REDIS_URL']); print(json.dumps([u.scheme, u.username, unquote(u.password), u.hostname, u.port, u.path, parse_qs(u.query), unquote(r.password)]))";
    const result = run(wrapper, ["shop", PYTHON, "-c", parse], { env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" } });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual([
      "postgres", "django", password, "demo-db.abc123.eu-west-1.rds.amazonaws.com", 5432, "/shop", { sslmode: ["require"] }, "t0k3n/+=",
    ]);
  });

  it("refuses a bad app name and a missing secrets.env", () => {
    const box = layBox("exec-bad", fixtureSpec());
    const wrapper = writeUnder(box.root, "/exec", rebase(fs.readFileSync(path.join(box.root, "usr/local/bin/django-tiers-exec"), "utf8"), box.root, ["etc"]), "0755");
    expect(run(wrapper, ["../shop", "env"]).status).toBe(64);
    expect(run(wrapper, ["shop"]).status).toBe(64);
    fs.rmSync(path.join(box.root, "etc/django-tiers/shop/secrets.env"));
    const missing = run(wrapper, ["shop", "env"]);
    expect(missing.status).not.toBe(0);
    expect(missing.stdout).toBe("");
  });
});
