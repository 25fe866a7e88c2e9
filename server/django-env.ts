/**
 * The Django side of the box: each app's non-secret environment (app.env),
 * the wrapper that loads it, and the Python settings module apps import.
 *
 * Secrets never pass through here: phase fetch writes secrets.env on the box
 * (DJANGO_SECRET_KEY, DATABASE_PASSWORD, ...) from Secrets Manager.
 *
 * DJANGO_SETTINGS_MODULE is the box's own module (django_tiers_production):
 * it loads the app's settings module and then sets, from the environment,
 * everything that depends on where the app runs, so nothing in the app's
 * file (startproject's DEBUG = True, its insecure key, SQLite) survives.
 */
import {
  appFileLocations, appPaths, EXEC_WRAPPER, INSTANCE_ENV, PRODUCTION_SETTINGS_FILE, PRODUCTION_SETTINGS_MODULE, PYTHON_DIR, redisDatabases, RQ_CONFIG_FILE,
  SETTINGS_MODULE_FILE, STATIC_STORAGE_FILE,
} from "./paths";
import { envLine } from "./quote";
import type { AppSpec, BoxSpec, RenderedFile, TlsSpec } from "./types";

/**
 * The SecretString of an app's Secrets Manager secret: the generated
 * DJANGO_SECRET_KEY and DATABASE_PASSWORD, then `extra` (the cache's
 * REDIS_PASSWORD, the app's own secrets). Phase fetch turns it into
 * secrets.env (secrets_to_env.py), which django-tiers-exec loads into every
 * process of the app. `extra` cannot replace the generated two.
 */
export function appSecretString(generated: { DJANGO_SECRET_KEY: string; DATABASE_PASSWORD: string }, extra: Record<string, string> = {}): string {
  const clash = Object.keys(extra).filter((k) => k in generated);
  if (clash.length) throw new Error(`an app's extra secrets cannot set ${clash.join(", ")} (generated)`);
  return JSON.stringify({ DJANGO_SECRET_KEY: generated.DJANGO_SECRET_KEY, DATABASE_PASSWORD: generated.DATABASE_PASSWORD, ...extra });
}

/** HSTS lifetime when TLS is on: one year, the minimum the preload list accepts. */
export const HSTS_SECONDS = 365 * 24 * 3600;
const REDIS = "redis://127.0.0.1:6379";

/** The non-secret environment of one app, as ordered key/value pairs. */
export function appEnvironment(spec: BoxSpec, app: AppSpec): Array<[string, string]> {
  const index = spec.apps.findIndex((a) => a.name === app.name);
  if (index < 0) throw new Error(`app ${app.name} is not part of the spec`);
  const paths = appPaths(app.name);
  const dbs = redisDatabases(index);
  // TLS at nginx (letsencrypt, or Cloudflare's origin certificate behind its proxy) or at the load balancer
  // in front: either way browsers use https. Only a box without a domain (none) is plain HTTP.
  const https = spec.tls.mode !== "none";
  const scheme = https ? "https" : "http";
  // With no domain the app is nginx's default server: the box reaches it as
  // localhost (phase verify), the world by the public name fetched at boot.
  const hosts = app.domains.length > 0 ? app.domains : ["localhost", "127.0.0.1"];
  const db = spec.database;
  const dbEngine = db ? (db.engine === "postgres" ? "postgresql" : "mysql") : "postgresql";
  const dbHost = db?.host ?? "127.0.0.1";
  const dbPort = String(db?.port ?? 5432);
  const dbUser = db?.user ?? app.name;
  // An external cache speaks TLS with an AUTH token (REDIS_PASSWORD in secrets.env, added by the settings module).
  const redis = spec.cache ? `rediss://${spec.cache.host}:${spec.cache.port}` : REDIS;
  // App and worker servers run no Redis: without the external cache, Django's
  // local-memory cache (the settings module's default) and no Redis URL at all.
  const hasRedis = spec.cache !== undefined || spec.role === "single-box";
  const env: Array<[string, string]> = [
    ["DJANGO_TIERS_APP", app.name],
    ["DJANGO_TIERS_ENVIRONMENT", spec.environment],
    // The role and the fleet's color are informational (logs, error reports); they change nothing.
    ...(spec.role !== "single-box" ? [["DJANGO_TIERS_ROLE", spec.role] as [string, string]] : []),
    ...(spec.color ? [["DJANGO_TIERS_COLOR", spec.color] as [string, string]] : []),
    ["DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS_MODULE],
    // The app's own settings, which the production module loads first and then overrides.
    ["DJANGO_TIERS_APP_SETTINGS_MODULE", app.settingsModule],
    ["PYTHONPATH", PYTHON_DIR],
    ["DJANGO_DEBUG", "0"],
    ["DJANGO_ALLOWED_HOSTS", hosts.join(",")],
    ["DJANGO_TIERS_ADD_INSTANCE_HOSTS", app.domains.length === 0 ? "1" : "0"],
    ["DJANGO_CSRF_TRUSTED_ORIGINS", app.domains.map((d) => `${scheme}://${d}`).join(",")],
    ["DATABASE_ENGINE", dbEngine],
    ["DATABASE_HOST", dbHost],
    ["DATABASE_PORT", dbPort],
    ["DATABASE_NAME", app.name],
    ["DATABASE_USER", dbUser],
    // RDS forces TLS (rds.force_ssl / require_secure_transport); on the box the socket stays local.
    ["DATABASE_TLS", db ? "1" : "0"],
    // No password here: django-tiers-exec adds DATABASE_PASSWORD (secrets.env) in the process's environment only.
    ["DATABASE_URL", databaseUrl(db, dbUser, dbHost, dbPort, app.name)],
  ];
  if (hasRedis) env.push(["REDIS_URL", `${redis}/${dbs.cache}`]);
  // An app with no tasks (AppSpec.taskWorker none) gets no broker.
  const taskWorker = app.taskWorker ?? spec.taskWorker;
  if (taskWorker === "celery" && spec.broker?.kind === "sqs") {
    // kombu's SQS transport: credentials from the instance role (boto3 through
    // IMDSv2), never keys; only the predefined queues, which the stack made.
    env.push(
      ["CELERY_BROKER_URL", "sqs://"],
      ["DJANGO_TIERS_SQS_REGION", spec.region],
      ["DJANGO_TIERS_SQS_QUEUES", Object.entries(spec.broker.queues).map(([name, url]) => `${name}=${url}`).join(",")],
      ["DJANGO_TIERS_SQS_VISIBILITY_TIMEOUT", String(spec.broker.visibilityTimeoutSeconds)],
    );
  } else if (taskWorker === "celery") env.push(["CELERY_BROKER_URL", `${redis}/${dbs.queue}`]);
  if (taskWorker === "rq") env.push(["RQ_REDIS_URL", `${redis}/${dbs.queue}`]);
  if (spec.objectStorage) {
    env.push(
      ["DJANGO_STORAGE", "s3"],
      ["DJANGO_STATIC_BUCKET", spec.objectStorage.staticBucket],
      ["DJANGO_MEDIA_BUCKET", spec.objectStorage.mediaBucket],
      ["AWS_S3_REGION_NAME", spec.region],
    );
    const customDomain = spec.objectStorage.customDomains?.[app.name];
    if (customDomain) env.push(["DJANGO_STORAGE_CUSTOM_DOMAIN", customDomain]);
    // Each app but the first under its own prefix; the first keeps the settings module's defaults (its keys of old).
    if (index > 0) {
      const locations = appFileLocations(spec.apps.map((a) => a.name), app.name, customDomain !== undefined);
      env.push(["DJANGO_STORAGE_STATIC_LOCATION", locations.static], ["DJANGO_STORAGE_MEDIA_LOCATION", locations.media]);
    }
  }
  env.push(
    ["DJANGO_TIERS_LONGEST_TASK_SECONDS", String(spec.longestTaskSeconds)],
    ["DJANGO_STATIC_ROOT", paths.static],
    ["DJANGO_MEDIA_ROOT", paths.media],
    ["DJANGO_SECURE_SSL_REDIRECT", https ? "1" : "0"],
    ["DJANGO_SECURE_HSTS_SECONDS", https ? String(HSTS_SECONDS) : "0"],
    ["DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", https ? "1" : "0"],
    ["DJANGO_SECURE_HSTS_PRELOAD", https ? "1" : "0"],
    // Same limit as nginx's client_max_body_size.
    ["DJANGO_UPLOAD_MAX_BYTES", String(spec.nginx.maxUploadMb * 1024 * 1024)],
    ["DJANGO_LOG_LEVEL", "INFO"],
  );
  return env;
}

/**
 * The URL dj-database-url and django-environ read, without the password. With
 * RDS, TLS is required in the URL's options as in DATABASES.
 */
function databaseUrl(db: BoxSpec["database"], user: string, host: string, port: string, name: string): string {
  if (!db) return `postgres://${user}@${host}:${port}/${name}`;
  if (db.engine === "postgres") return `postgres://${user}@${host}:${port}/${name}?sslmode=require`;
  return `mysql://${user}@${host}:${port}/${name}?ssl_mode=REQUIRED`;
}

/**
 * The warnings `manage.py check --deploy` gives on this server's settings
 * because of the stack's shape, whatever the app's settings say: without TLS
 * (no domain yet) no HSTS (W004), no SSL redirect (W008), no secure session
 * (W012) and CSRF (W016) cookies. The release phase prints them and goes on;
 * errors stop it. The server tests run Django's check to hold this list true.
 */
export function deployCheckWarnings(tlsMode: TlsSpec["mode"]): string[] {
  return tlsMode === "none" ? ["security.W004", "security.W008", "security.W012", "security.W016"] : [];
}

export function renderAppEnv(spec: BoxSpec, app: AppSpec): string {
  const lines = appEnvironment(spec, app).map(([k, v]) => envLine(k, v));
  // The app's own variables (appEnv) come after the stack's; none can take a stack name (server/validate.ts).
  const own = Object.entries(app.env ?? {}).map(([k, v]) => envLine(k, v));
  return `# Environment of app ${app.name} (no secrets). Rendered by django-tiers; edits are overwritten.
# Loaded with \`set -a\` by ${EXEC_WRAPPER}, before ${INSTANCE_ENV} and secrets.env.
${lines.join("\n")}
${own.length ? `# The app's own environment (the appEnv setting).\n${own.join("\n")}\n` : ""}`;
}

export function renderDjangoEnvFiles(spec: BoxSpec): RenderedFile[] {
  const files: RenderedFile[] = [
    { path: EXEC_WRAPPER, mode: "0755", owner: "root:root", content: renderExecWrapper() },
    { path: SETTINGS_MODULE_FILE, mode: "0644", owner: "root:root", content: renderSettingsModule() },
    { path: PRODUCTION_SETTINGS_FILE, mode: "0644", owner: "root:root", content: renderProductionSettingsModule() },
  ];
  if (spec.taskWorker === "rq") files.push({ path: RQ_CONFIG_FILE, mode: "0644", owner: "root:root", content: renderRqConfig() });
  if (spec.objectStorage) files.push({ path: STATIC_STORAGE_FILE, mode: "0644", owner: "root:root", content: renderStaticStorageModule() });
  for (const app of spec.apps) {
    files.push({ path: appPaths(app.name).appEnv, mode: "0644", owner: "root:root", content: renderAppEnv(spec, app) });
  }
  return files;
}

/**
 * The static-files storage on S3: django-storages' S3StaticStorage with two
 * changes, for the way a release reaches S3.
 *
 * collectstatic copies a file when the stored copy is older than the source
 * (LastModified against the file's mtime), and deletes the stored copy
 * first. A release is unpacked from Pulumi's zip, whose entries all carry a
 * fixed 1990 date that Python's zipfile does not restore, so every file of
 * every release has the unpacking time as its mtime: newer than any object.
 * Each server of each release therefore deleted and re-uploaded every static
 * file; between the DELETE and the PUT, pages of the live release lost their
 * CSS and JS, and two fleet servers collecting at once deleted what the other
 * had just uploaded. Keeping the zip's dates would be no better: a changed
 * file would then look older than its object and never be uploaded.
 *
 * So this storage decides by content, not dates: a PUT replaces an object in
 * one step (readers see the old or the new bytes, never none), so it never
 * deletes for collectstatic, and it skips the upload of a file whose object
 * already holds the same bytes (the ETag of a single-part upload is the MD5
 * of its content).
 */
export function renderStaticStorageModule(): string {
  return `"""Static files on S3 for django-tiers. Rendered by django-tiers; edits are overwritten.

collectstatic deletes an object before it uploads a newer file; the release's
files all look newer (unpacking sets their dates), so every release deleted
and re-uploaded every file, leaving live pages without their CSS for a
moment and letting fleet servers delete each other's uploads. A PUT replaces
an object atomically, so this storage never deletes, and it skips a file whose
object already has the same content.
"""
import hashlib

from botocore.exceptions import ClientError

try:
    from storages.backends.s3 import S3StaticStorage
    from storages.utils import clean_name
except ImportError:  # django-storages before 1.14
    from storages.backends.s3boto3 import S3StaticStorage
    from storages.utils import clean_name


class StaticStorage(S3StaticStorage):
    def delete(self, name):
        # collectstatic's delete-then-copy: the copy's PUT replaces the object.
        return None

    def _stored_etag(self, name):
        key = self._normalize_name(clean_name(name))
        try:
            head = self.connection.meta.client.head_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head.get("ETag", "").strip('"')

    def _save(self, name, content):
        digest = hashlib.md5(usedforsecurity=False)
        content.seek(0)
        for chunk in iter(lambda: content.read(1 << 20), b""):
            digest.update(chunk if isinstance(chunk, bytes) else chunk.encode())
        content.seek(0)
        if self._stored_etag(name) == digest.hexdigest():
            return clean_name(name)
        return super()._save(name, content)
`;
}

/** `django-tiers-exec APP CMD...`: the app's environment, then exec (so signals reach CMD). */
export function renderExecWrapper(): string {
  return `#!/bin/bash
# django-tiers-exec APP COMMAND [ARG...]
# Runs COMMAND with APP's environment: app.env (non-secret), the instance's
# public names (instance.env, written by phase fetch) and secrets.env, all
# exported. exec, so supervisor's signals reach COMMAND itself.
# Rendered by django-tiers; edits are overwritten.
set -euo pipefail

if (($# < 2)); then
  echo "usage: django-tiers-exec APP COMMAND [ARG...]" >&2
  exit 64
fi
app=$1
shift
if [[ ! $app =~ ^[a-z][a-z0-9]{0,20}$ ]]; then
  echo "django-tiers-exec: invalid app name" >&2
  exit 64
fi
etc=/etc/django-tiers

set -a
# shellcheck source=/dev/null
. "$etc/$app/app.env"
if [[ -r $etc/instance.env ]]; then
  # shellcheck source=/dev/null
  . "$etc/instance.env"
fi
# shellcheck source=/dev/null
. "$etc/$app/secrets.env"
set +a

# percent_encode VALUE: VALUE with every byte but [A-Za-z0-9._~-] as %XX, in
# $encoded (a password inside a URL). Byte by byte (LC_ALL=C), so a UTF-8
# character becomes its UTF-8 bytes whatever the locale.
percent_encode() {
  local LC_ALL=C value=$1 c i
  encoded=""
  for ((i = 0; i < \${#value}; i++)); do
    c=\${value:i:1}
    if [[ $c == [A-Za-z0-9._~-] ]]; then encoded+=$c; else printf -v c '%%%02X' "'$c"; encoded+=$c; fi
  done
}

# Complete URLs for what reads them from the environment by itself, with the
# passwords from secrets.env (app.env's URLs carry none), in this process's
# environment only, never in a file: DATABASE_URL for dj-database-url and
# django-environ; an external Redis's (ElastiCache) AUTH token in every Redis
# URL (Celery prefers the CELERY_BROKER_URL variable to its settings, rq's CLI
# reads RQ_REDIS_URL).
if [[ -n \${DATABASE_PASSWORD:-} && \${DATABASE_URL:-} == *://*@* ]]; then
  rest=\${DATABASE_URL#*://}
  if [[ \${rest%%@*} != *:* ]]; then
    percent_encode "$DATABASE_PASSWORD"
    export "DATABASE_URL=\${DATABASE_URL%%://*}://\${rest%%@*}:$encoded@\${rest#*@}"
  fi
fi
if [[ -n \${REDIS_PASSWORD:-} ]]; then
  percent_encode "$REDIS_PASSWORD"
  for var in REDIS_URL CELERY_BROKER_URL RQ_REDIS_URL; do
    url=\${!var:-}
    if [[ $url == redis*://* && $url != *@* ]]; then
      export "$var=\${url%%://*}://:$encoded@\${url#*://}"
    fi
  done
fi
unset -f percent_encode
unset encoded rest url var

exec "$@"
`;
}

/** rq's worker config module (`rq worker --config django_tiers_rq`). */
export function renderRqConfig(): string {
  return `"""rq worker settings for a django-tiers app (rq worker --config django_tiers_rq).

Sets Django up once in the worker, so jobs can use the ORM; the Redis URL
comes from RQ_REDIS_URL (app.env), which rq reads itself.
Rendered by django-tiers; edits are overwritten.
"""
import django

django.setup()

QUEUES = ["default"]
`;
}

/**
 * The production values, read from the environment the wrapper loads, so one
 * file serves every app of the box. The production module applies them over
 * the app's own settings; an app may also import it (older django-tiers apps
 * do), which changes nothing.
 */
export function renderSettingsModule(): string {
  return `"""Production settings for a Django app on a django-tiers server.

Rendered by django-tiers into ${PYTHON_DIR}, which app.env puts on
PYTHONPATH. Every value comes from the environment django-tiers-exec loads
(app.env, instance.env, secrets.env). The app does not need to import it:
DJANGO_SETTINGS_MODULE is ${PRODUCTION_SETTINGS_MODULE}, which loads the app's own
settings module and then applies these values over it (the merge rules are
in its docstring). An app that imports it anyway (\`from django_tiers_settings
import *\`) changes nothing.

The app must answer GET /healthz with 200 when it can serve (a plain view is
enough); nginx proxies it and \`django-tiers-provision verify\` polls it.
It is exempt from the HTTPS redirect so health checks over HTTP work.

With TLS on, \`manage.py check --deploy --fail-level WARNING\` passes for an
app that keeps Django's security middleware. With TLS off (a stack with no
domain yet) the SSL redirect, HSTS and secure cookies are off, and check
--deploy warns security.W004, W008, W012 and W016 until a domain and
certificate are attached.

Caching: django-redis (Debian's python3-django-redis, installed on the box)
with IGNORE_EXCEPTIONS, so a Redis outage degrades to cache misses. Without
django-redis, Django's own RedisCache (4.0+) is used, which raises instead.
Edits are overwritten.
"""
import importlib.util
import os

import django
from django.core.exceptions import ImproperlyConfigured


def _env(name, default=""):
    return os.environ.get(name, default).strip()


def _flag(name, default=False):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(name, default):
    value = _env(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured("%s must be an integer" % name) from None


def _list(name):
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _required(name):
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(
            "%s is not set: it comes from the app's secrets.env (phase fetch)" % name
        )
    return value


_APP = _env("DJANGO_TIERS_APP", "app")
_HTTPS = _flag("DJANGO_SECURE_SSL_REDIRECT")
_LONGEST_TASK = _int("DJANGO_TIERS_LONGEST_TASK_SECONDS", 3600)

DEBUG = _flag("DJANGO_DEBUG")
SECRET_KEY = _required("DJANGO_SECRET_KEY")
SECRET_KEY_FALLBACKS = _list("DJANGO_SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS")
if _flag("DJANGO_TIERS_ADD_INSTANCE_HOSTS"):
    # The instance's public name and address, from IMDSv2 at boot (instance.env).
    ALLOWED_HOSTS += _list("DJANGO_TIERS_INSTANCE_HOSTS")
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name hosts, never '*'")

CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS")
if django.VERSION < (4, 0):
    # Before 4.0 the entries are host names without a scheme.
    CSRF_TRUSTED_ORIGINS = [o.split("://", 1)[-1] for o in CSRF_TRUSTED_ORIGINS]

_DB_ENGINE = _env("DATABASE_ENGINE", "postgresql")
_DB_TLS = _flag("DATABASE_TLS")
if _DB_ENGINE == "mysql":
    _DB_OPTIONS = {"connect_timeout": 5, "charset": "utf8mb4"}
    if _DB_TLS:
        _DB_OPTIONS["ssl_mode"] = "REQUIRED"
else:
    _DB_OPTIONS = {"connect_timeout": 5}
    if _DB_TLS:
        _DB_OPTIONS["sslmode"] = "require"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends." + _DB_ENGINE,
        "NAME": _env("DATABASE_NAME", _APP),
        "USER": _env("DATABASE_USER", _APP),
        "PASSWORD": _required("DATABASE_PASSWORD"),
        "HOST": _env("DATABASE_HOST", "127.0.0.1"),
        "PORT": _env("DATABASE_PORT", "5432"),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": _DB_OPTIONS,
    }
}


def _with_redis_password(url):
    """An external cache needs its AUTH token (REDIS_PASSWORD, secrets.env) in the URL."""
    password = _env("REDIS_PASSWORD")
    if not url or not password or "@" in url:
        return url
    from urllib.parse import quote

    scheme, rest = url.split("://", 1)
    return "%s://:%s@%s" % (scheme, quote(password, safe=""), rest)


_REDIS_URL = _with_redis_password(_env("REDIS_URL"))
if _REDIS_URL and importlib.util.find_spec("django_redis") is not None:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": _REDIS_URL,
            "KEY_PREFIX": _APP,
            "OPTIONS": {
                # A Redis outage is a cache miss, not a 500.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
elif _REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _REDIS_URL,
            "KEY_PREFIX": _APP,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

if _env("CELERY_BROKER_URL") == "sqs://":
    # SQS (app and worker servers): boto3 takes the instance role's credentials
    # through IMDSv2; kombu uses only the queues the stack created (name=url
    # pairs), and SQS re-delivers a task not acknowledged within the queue's
    # visibility timeout, which the stack keeps above the longest task.
    CELERY_BROKER_URL = "sqs://"
    _SQS_QUEUES = dict(item.split("=", 1) for item in _list("DJANGO_TIERS_SQS_QUEUES"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "region": _env("DJANGO_TIERS_SQS_REGION"),
        "predefined_queues": {name: {"url": url} for name, url in _SQS_QUEUES.items()},
        "visibility_timeout": _int("DJANGO_TIERS_SQS_VISIBILITY_TIMEOUT", 2 * _LONGEST_TASK),
    }
    if "celery" not in _SQS_QUEUES and _SQS_QUEUES:
        CELERY_TASK_DEFAULT_QUEUE = sorted(_SQS_QUEUES)[0]
    # Remote control and events need a broadcast exchange, which SQS has not
    # (kombu would try to create pidbox queues outside predefined_queues).
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
    CELERY_WORKER_SEND_TASK_EVENTS = False
    CELERY_TASK_SEND_SENT_EVENT = False
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False
elif _env("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = _with_redis_password(_env("CELERY_BROKER_URL"))
    if CELERY_BROKER_URL.startswith("rediss://"):
        import ssl

        CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
        CELERY_REDIS_BACKEND_USE_SSL = CELERY_BROKER_USE_SSL
    # Redis re-delivers a task not acknowledged within the visibility timeout:
    # keep it well above the longest task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": max(3600, 2 * _LONGEST_TASK)}
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

if _env("RQ_REDIS_URL"):
    # django-rq's setting; plain rq reads RQ_REDIS_URL itself.
    RQ_QUEUES = {"default": {"URL": _with_redis_password(_env("RQ_REDIS_URL")), "DEFAULT_TIMEOUT": _LONGEST_TASK}}

STATIC_URL = "/static/"
STATIC_ROOT = _env("DJANGO_STATIC_ROOT")
MEDIA_URL = "/media/"
MEDIA_ROOT = _env("DJANGO_MEDIA_ROOT")
if _env("DJANGO_STORAGE") == "s3":
    # django-storages through the instance role (boto3 finds its credentials
    # through IMDSv2). The buckets are private: browsers get signed URLs.
    _S3 = {"region_name": _env("AWS_S3_REGION_NAME"), "signature_version": "s3v4", "querystring_auth": True, "default_acl": None}
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3boto3.S3Boto3Storage",
            "OPTIONS": dict(_S3, bucket_name=_env("DJANGO_MEDIA_BUCKET"), file_overwrite=False),
        },
        "staticfiles": {
            # django-storages' S3StaticStorage, but collectstatic never deletes
            # (see django_tiers_storage.py beside this file).
            "BACKEND": "django_tiers_storage.StaticStorage",
            "OPTIONS": dict(_S3, bucket_name=_env("DJANGO_STATIC_BUCKET")),
        },
    }
    # Several apps share the buckets: each but the first has its own key
    # prefix (DJANGO_STORAGE_*_LOCATION, apps/<name>/static and .../media);
    # the first keeps the keys it always had (the defaults below).
    _LOCATIONS = {
        "staticfiles": _env("DJANGO_STORAGE_STATIC_LOCATION"),
        "default": _env("DJANGO_STORAGE_MEDIA_LOCATION"),
    }
    if _env("DJANGO_STORAGE_CUSTOM_DOMAIN"):
        # A CDN in front of both buckets, at this app's own domain: its
        # behaviors read each path from the key of the same name (/static/*
        # from static/, /apps/<name>/static/* from apps/<name>/static/...), and
        # it (not the browser) holds the bucket access, so URLs are plain
        # https://<domain>/<location>/... links.
        for _name, _prefix in (("staticfiles", "static"), ("default", "media")):
            STORAGES[_name]["OPTIONS"].update(
                custom_domain=_env("DJANGO_STORAGE_CUSTOM_DOMAIN"),
                location=_LOCATIONS[_name] or _prefix,
                querystring_auth=False,
            )
    else:
        for _name, _location in _LOCATIONS.items():
            if _location:
                STORAGES[_name]["OPTIONS"]["location"] = _location
# nginx (www-data) serves media from disk, whatever the process umask.
FILE_UPLOAD_PERMISSIONS = 0o644
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o755
# nginx refuses bodies above client_max_body_size; Django accepts up to the same.
DATA_UPLOAD_MAX_MEMORY_SIZE = _int("DJANGO_UPLOAD_MAX_BYTES", 2621440)
FILE_UPLOAD_MAX_MEMORY_SIZE = min(2621440, DATA_UPLOAD_MAX_MEMORY_SIZE)

# nginx overwrites X-Forwarded-Proto with the scheme of the client's own
# connection, so this header can be trusted on the box. Behind the ALB (app
# servers) nginx passes the ALB's X-Forwarded-Proto, which the ALB always
# sets itself, and serves nothing that did not come through the ALB.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = _int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _flag("DJANGO_SECURE_HSTS_PRELOAD")
SESSION_COOKIE_SECURE = _HTTPS
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = _HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# stdout: supervisor writes it to /var/log/django-tiers/<app>/, logrotate rotates it.
_LOG_LEVEL = _env("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"},
    },
    "root": {"handlers": ["stdout"], "level": _LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["stdout"], "level": _LOG_LEVEL, "propagate": False},
    },
}

__all__ = [name for name in list(globals()) if name.isupper()]
`;
}

/**
 * DJANGO_SETTINGS_MODULE on every server: the app's own settings module
 * (DJANGO_TIERS_APP_SETTINGS_MODULE), then the production values over it by
 * fixed rules, so the app's file needs no edit and cannot win over them.
 */
export function renderProductionSettingsModule(): string {
  return `"""The settings module of a Django app on a django-tiers server.

DJANGO_SETTINGS_MODULE points here (manage.py, wsgi.py and celery.py set it
with setdefault, so the environment wins). It imports the app's own settings
module, DJANGO_TIERS_APP_SETTINGS_MODULE (the one manage.py names, or the
stack's settingsModules setting), then applies django_tiers_settings over it:

- replaced, whatever the app says: DEBUG, SECRET_KEY, SECRET_KEY_FALLBACKS
  (from Secrets Manager only, never from the repo), ALLOWED_HOSTS,
  CSRF_TRUSTED_ORIGINS, STATIC_URL/ROOT, MEDIA_URL/ROOT, the upload limits,
  the HTTPS settings (proxy header, SSL redirect, HSTS, secure cookies), the
  Celery broker and RQ queues when the stack runs them;
- merged by alias: DATABASES["default"] and CACHES["default"] are the
  stack's (no Redis: local memory), other aliases stay the app's;
  STORAGES["default"] is the stack's, STORAGES["staticfiles"] the stack's
  on S3 and the app's own on a box when it chose one; SECURE_REDIRECT_EXEMPT
  is the app's plus /healthz;
- the app's when it sets them, the stack's otherwise: LOGGING,
  X_FRAME_OPTIONS, SECURE_REFERRER_POLICY, SECURE_CROSS_ORIGIN_OPENER_POLICY,
  SECURE_CONTENT_TYPE_NOSNIFF, SESSION_COOKIE_HTTPONLY;
- untouched: everything else (INSTALLED_APPS, MIDDLEWARE, ROOT_URLCONF,
  TEMPLATES, ...).

Values the app's file computed from its own DEBUG (an \`if DEBUG:\` block)
were computed before this module runs: keep such blocks out of the settings
module the server loads. Rendered by django-tiers; edits are overwritten.
"""
import importlib
import os

from django.core.exceptions import ImproperlyConfigured

_APP_SETTINGS = os.environ.get("DJANGO_TIERS_APP_SETTINGS_MODULE", "").strip()
if not _APP_SETTINGS:
    raise ImproperlyConfigured("DJANGO_TIERS_APP_SETTINGS_MODULE is not set: it comes from the app's app.env")
_app = importlib.import_module(_APP_SETTINGS)
globals().update({_name: _value for _name, _value in vars(_app).items() if _name.isupper()})

import django_tiers_settings as _stack  # noqa: E402

_APP_FIRST = {
    "LOGGING", "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SESSION_COOKIE_HTTPONLY",
}
_BY_ALIAS = {"DATABASES", "CACHES", "STORAGES", "SECURE_REDIRECT_EXEMPT"}
for _name in _stack.__all__:
    if _name in _BY_ALIAS:
        continue
    if _name in _APP_FIRST and hasattr(_app, _name):
        continue
    globals()[_name] = getattr(_stack, _name)


def _aliases(name):
    value = getattr(_app, name, None)
    return dict(value) if isinstance(value, dict) else {}


DATABASES = dict(_aliases("DATABASES"), default=_stack.DATABASES["default"])
CACHES = dict(
    _aliases("CACHES"),
    default=getattr(_stack, "CACHES", {}).get("default")
    or {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": _stack._APP},
)
_stack_storages = getattr(_stack, "STORAGES", {})
STORAGES = _aliases("STORAGES")
STORAGES["default"] = _stack_storages.get("default") or {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if _stack._env("DJANGO_STORAGE") == "s3" or "staticfiles" not in STORAGES:
    STORAGES["staticfiles"] = _stack_storages.get("staticfiles") or {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
SECURE_REDIRECT_EXEMPT = list(getattr(_app, "SECURE_REDIRECT_EXEMPT", [])) + [
    p for p in _stack.SECURE_REDIRECT_EXEMPT if p not in getattr(_app, "SECURE_REDIRECT_EXEMPT", [])
]
`;
}
