/**
 * The fixed layout of a django-tiers box: every path a renderer writes or a
 * rendered script reads comes from here, so the files agree with each other
 * and the policy checks can find them by path.
 */
import type { Color } from "./types";
import { assertAppName, assertVersion, MAX_APPS } from "./validate";

export { defaultQueues } from "./validate";

export const PROVISION_SCRIPT = "/usr/local/sbin/django-tiers-provision";
export const BACKUP_SCRIPT = "/usr/local/sbin/django-tiers-backup";
export const RESTORE_SCRIPT = "/usr/local/sbin/django-tiers-restore";
/** worker role: polls IMDSv2 for the ASG's Terminated state, drains, completes the lifecycle hook. */
export const DRAIN_SCRIPT = "/usr/local/sbin/django-tiers-drain";
/** The drain watcher's supervisor program (one per box, not per app). */
export const DRAIN_PROGRAM = "django-tiers-drain";
export const DRAIN_SUPERVISOR_CONF = "/etc/supervisor/conf.d/django-tiers-drain.conf";
/**
 * Celery worker roles with a Redis broker: pings each app's worker every
 * minute (cron) and restarts it after two missed pings in a row (issue #6).
 */
export const WORKER_WATCHDOG_SCRIPT = "/usr/local/sbin/django-tiers-worker-watchdog";
/** Always rendered (comment-only without a Celery worker), so a box that drops Celery drops the job. */
export const WORKER_WATCHDOG_CRON = "/etc/cron.d/django-tiers-worker-watchdog";
/**
 * Blue-green on one box: sends an app's traffic to a color (checks the
 * color's /healthz on its socket, then renames the app's live socket link).
 */
export const SWITCH_COLOR_SCRIPT = "/usr/local/sbin/django-tiers-switch-color";
/** Blue-green on one box: the live color and whether the idle one runs (LIVE_COLOR=, IDLE_RUNNING=), read by phase release. */
export const COLORS_ENV = "/etc/django-tiers/colors.env";
/**
 * Blue-green on one box: stops each app's idle color after supervisord
 * starts (a boot) when colors.idleRunning is false, never the color the live
 * link points to. Run by its own supervisor program (one per box).
 */
export const IDLE_COLORS_SCRIPT = "/usr/local/sbin/django-tiers-idle-colors";
export const IDLE_COLORS_PROGRAM = "django-tiers-idle-colors";
export const IDLE_COLORS_SUPERVISOR_CONF = "/etc/supervisor/conf.d/django-tiers-idle-colors.conf";
/** Loads an app's environment (app.env, instance.env, secrets.env) and execs a command. */
export const EXEC_WRAPPER = "/usr/local/bin/django-tiers-exec";
/** Python helpers the provisioning script runs (secrets → env file, locked migrate). */
export const LIB_DIR = "/usr/local/lib/django-tiers";
export const SECRETS_TO_ENV = `${LIB_DIR}/secrets_to_env.py`;
export const MIGRATE_LOCKED = `${LIB_DIR}/migrate_locked.py`;

export const ETC_DIR = "/etc/django-tiers";
/** On every app's PYTHONPATH: the settings modules below. */
export const PYTHON_DIR = `${ETC_DIR}/python`;
/** The production values, from the environment (an app may still import it: `from django_tiers_settings import *`). */
export const SETTINGS_MODULE_FILE = `${PYTHON_DIR}/django_tiers_settings.py`;
/** DJANGO_SETTINGS_MODULE of every app on a server: the app's own settings module, then the production values over it. */
export const PRODUCTION_SETTINGS_MODULE = "django_tiers_production";
export const PRODUCTION_SETTINGS_FILE = `${PYTHON_DIR}/${PRODUCTION_SETTINGS_MODULE}.py`;
export const RQ_CONFIG_FILE = `${PYTHON_DIR}/django_tiers_rq.py`;
/** The static-files storage of apps whose files are on S3 (see renderStaticStorageModule). */
export const STATIC_STORAGE_FILE = `${PYTHON_DIR}/django_tiers_storage.py`;
/** Written by phase fetch from IMDSv2: the instance's public name and address. */
export const INSTANCE_ENV = `${ETC_DIR}/instance.env`;

export const NGINX_MAIN_CONF = "/etc/nginx/nginx.conf";
export const NGINX_HTTP_CONF = "/etc/nginx/conf.d/django-tiers.conf";
export const LOGROTATE_CONF = "/etc/logrotate.d/django-tiers";
export const CRON_FILE = "/etc/cron.d/django-tiers";
export const REDIS_CONF = "/etc/redis/redis.conf";
export const TMPFILES_CONF = "/etc/tmpfiles.d/django-tiers.conf";
export const UNATTENDED_UPGRADES_CONF = "/etc/apt/apt.conf.d/52django-tiers-unattended-upgrades";
export const CERTBOT_DEPLOY_HOOK = "/etc/letsencrypt/renewal-hooks/deploy/django-tiers-reload-nginx";

export const APPS_DIR = "/srv/apps";
export const LOG_DIR = "/var/log/django-tiers";
/** What django-tiers-idle-colors did at each supervisord start, one line per app (supervisord captures it). */
export const IDLE_COLORS_LOG = `${LOG_DIR}/idle-colors.log`;
export const STATE_DIR = "/var/lib/django-tiers";
export const BUNDLES_DIR = `${STATE_DIR}/bundles`;
/** One django-tiers-provision run at a time (flock; provision.ts main); django-tiers-idle-colors waits for it too. */
export const PROVISION_LOCK = `${STATE_DIR}/provision.lock`;
export const BACKUP_DIR = "/var/backups/django-tiers";
/** gunicorn's unix sockets; group `django-tiers` (every app user), sticky. */
export const SOCKET_DIR = "/run/django-tiers";
export const SOCKET_GROUP = "django-tiers";
/** certbot's HTTP-01 webroot, shared by every site. */
export const ACME_WEBROOT = "/var/www/django-tiers/acme";

/** Where one app's files live on the box. */
export interface AppPaths {
  /** `/srv/apps/<app>`: the app user's home. */
  root: string;
  releases: string;
  /** Symlink to the live release; switched atomically by phase release. */
  current: string;
  shared: string;
  /** User uploads, kept across releases; served by nginx. */
  media: string;
  /** App-writable state kept across releases (celery beat's schedule). */
  state: string;
  /** Static files of the live release (collectstatic writes per release). */
  static: string;
  /** Python of the live release's venv. */
  python: string;
  etcDir: string;
  appEnv: string;
  secretsEnv: string;
  gunicornConf: string;
  supervisorConf: string;
  nginxSite: string;
  /**
   * The letsencrypt site used until the certificate exists. In a
   * subdirectory, so `sites-available/<app>.conf` is only ever the live site.
   */
  nginxPendingSite: string;
  nginxEnabled: string;
  socket: string;
  logDir: string;
  bundleDir: string;
  /** Key, version and file name of the fetched bundle (written by phase fetch). */
  bundleCurrent: string;
  certFullchain: string;
  certPrivkey: string;
  backupDir: string;
}

export function appPaths(app: string): AppPaths {
  assertAppName(app);
  const root = `${APPS_DIR}/${app}`;
  const etcDir = `${ETC_DIR}/${app}`;
  const bundleDir = `${BUNDLES_DIR}/${app}`;
  const live = `/etc/letsencrypt/live/${app}`;
  return {
    root,
    releases: `${root}/releases`,
    current: `${root}/current`,
    shared: `${root}/shared`,
    media: `${root}/shared/media`,
    state: `${root}/shared/state`,
    static: `${root}/current/static`,
    python: `${root}/current/venv/bin/python`,
    etcDir,
    appEnv: `${etcDir}/app.env`,
    secretsEnv: `${etcDir}/secrets.env`,
    gunicornConf: `${etcDir}/gunicorn.conf.py`,
    supervisorConf: `/etc/supervisor/conf.d/${app}.conf`,
    nginxSite: `/etc/nginx/sites-available/${app}.conf`,
    nginxPendingSite: `/etc/nginx/sites-available/pending/${app}.conf`,
    nginxEnabled: `/etc/nginx/sites-enabled/${app}.conf`,
    socket: `${SOCKET_DIR}/${app}.sock`,
    logDir: `${LOG_DIR}/${app}`,
    bundleDir,
    bundleCurrent: `${bundleDir}/CURRENT`,
    certFullchain: `${live}/fullchain.pem`,
    certPrivkey: `${live}/privkey.pem`,
    backupDir: `${BACKUP_DIR}/${app}`,
  };
}

/**
 * The artifacts-bucket key of an app's release bundle. Phase fetch accepts
 * only keys of this shape from the release parameter.
 */
export function releaseBundleKey(app: string, version: string): string {
  assertAppName(app);
  assertVersion(version);
  return `releases/${app}/${version}.zip`;
}

/** Supervisor program names of an app, web first. */
export function programNames(app: string, taskWorker: "celery" | "rq" | "none"): string[] {
  assertAppName(app);
  switch (taskWorker) {
    case "celery":
      return [`${app}-web`, `${app}-worker`, `${app}-beat`];
    case "rq":
      return [`${app}-web`, `${app}-worker`];
    case "none":
      return [`${app}-web`];
  }
}

/** What decides a box's supervisor programs (see boxProgramNames). */
export interface ProgramRole {
  role: "single-box" | "app" | "worker";
  taskWorker: "celery" | "rq" | "none";
  /** Apps whose own task runner differs from taskWorker (AppSpec.taskWorker: none). */
  apps?: ReadonlyArray<{ name: string; taskWorker?: "celery" | "rq" | "none" }>;
  beat?: boolean;
  /** single-box role: blue-green on the box (two web programs per app). */
  colors?: unknown;
}

/** The two colors of blue-green releases, in a fixed order. */
export const COLORS: readonly Color[] = ["blue", "green"];

/** One color's web program of an app on a box with blue-green releases. */
export interface ColorPaths {
  /** supervisor program `<app>-web-<color>`. */
  program: string;
  /** `/srv/apps/<app>/<color>`: symlink to that color's release, switched like `current`. */
  link: string;
  /** gunicorn's socket: `/run/django-tiers/<app>-<color>.sock`. */
  socket: string;
  /** Python of that color's release venv. */
  python: string;
  /** The program's output, captured by supervisor: `<logDir>/web-<color>.log`. */
  log: string;
  /** The nginx upstream of that color: `django_tiers_<app>_<color>`. */
  upstream: string;
}

export function colorPaths(app: string, color: Color): ColorPaths {
  const paths = appPaths(app);
  if (!COLORS.includes(color)) throw new Error(`color ${JSON.stringify(color)} must be blue or green`);
  const link = `${paths.root}/${color}`;
  return {
    program: `${app}-web-${color}`,
    link,
    socket: `${SOCKET_DIR}/${app}-${color}.sock`,
    python: `${link}/venv/bin/python`,
    log: `${paths.logDir}/web-${color}.log`,
    upstream: `django_tiers_${app}_${color}`,
  };
}

/**
 * Blue-green on one box: `/run/django-tiers/<app>-live.sock`, a symlink to the
 * live color's socket (`<app>-blue.sock` or `<app>-green.sock`, relative), and
 * its nginx upstream `django_tiers_<app>_live`. django-tiers-switch-color
 * renames a new link over it; nginx connects through it for every request.
 */
export function liveSocket(app: string): { link: string; upstream: string; target: (color: Color) => string } {
  assertAppName(app);
  return {
    link: `${SOCKET_DIR}/${app}-live.sock`,
    upstream: `django_tiers_${app}_live`,
    target: (color) => colorPaths(app, color).socket.slice(SOCKET_DIR.length + 1),
  };
}

/**
 * Supervisor program names of an app on a box of `spec.role`: every program
 * on a single box (programNames), with `<app>-web-blue` and `<app>-web-green`
 * in place of `<app>-web` when it has blue-green releases (`colors`); only
 * `<app>-web` on an app server; on a worker only `<app>-worker`, or only
 * `<app>-beat` on the one worker with `beat: true` (a second scheduler would
 * send every periodic task twice).
 */
export function boxProgramNames(app: string, spec: ProgramRole): string[] {
  // An app with no tasks of its own (taskWorker none) has only its web program, wherever it runs.
  const taskWorker = spec.apps?.find((a) => a.name === app)?.taskWorker ?? spec.taskWorker;
  switch (spec.role) {
    case "single-box":
      if (spec.colors !== undefined) {
        return programNames(app, taskWorker).flatMap((p) => (p === `${app}-web` ? COLORS.map((c) => colorPaths(app, c).program) : [p]));
      }
      return programNames(app, taskWorker);
    case "app":
      return programNames(app, "none");
    case "worker":
      assertAppName(app);
      if (taskWorker === "none") return [];
      return [spec.beat ? `${app}-beat` : `${app}-worker`];
  }
}

/**
 * Redis database numbers of the app at `index` in the spec: one for its
 * cache, one for its task queue. Numbers follow the app's position, so apps
 * keep their place in the list (append new ones).
 */
export function redisDatabases(index: number): { cache: number; queue: number } {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_APPS) {
    throw new Error(`app index ${index} is outside 0..${MAX_APPS - 1}`);
  }
  return { cache: 2 * index, queue: 2 * index + 1 };
}

/**
 * The value of an app's release parameter before its first release: phase
 * fetch then skips the app, and a later `fetch release verify` brings it up.
 */
export const NO_RELEASE = "none";
/** Releases kept per app (the live one is never removed). */
export const KEEP_RELEASES = 5;

/** The key prefix under which each app but the first keeps its files in the stack's shared buckets. */
export const APP_FILES_PREFIX = "apps";

/** Where an app's static and media files live in the stack's two buckets (django-storages' `location`). */
export interface AppFileLocations {
  /** Key prefix in the static bucket, without a trailing slash; "" is django-storages' default (AWS_LOCATION, else the root). */
  static: string;
  /** Key prefix in the media bucket, as `static`. */
  media: string;
}

/**
 * Where the app `app` of `apps` (the stack's apps, in their order) keeps its
 * files in the shared static and media buckets. `cdn`: a CDN serves the
 * buckets at the apps' own domains, each path to the key of the same name.
 *
 * The first app keeps the keys every stack used before apps had prefixes,
 * so no upgrade moves an existing stack's files: the bucket root (django-
 * storages' default, which the app's own AWS_LOCATION still sets), or
 * `static/` and `media/` behind a CDN. Every other app has its own prefix,
 * `apps/<name>/static` and `apps/<name>/media`, the same with or without a
 * CDN: the first app's keys behind a CDN all start with `static/` or
 * `media/`, so they cannot meet; at the bucket root only a first app that
 * itself stored keys under `apps/<other app>/static/` or `.../media/`
 * could. Like the Redis databases (redisDatabases), locations follow the
 * list: append new apps; moving another app to the front moves whose files
 * sit where.
 */
export function appFileLocations(apps: readonly string[], app: string, cdn: boolean): AppFileLocations {
  assertAppName(app);
  const index = apps.indexOf(app);
  if (index < 0) throw new Error(`app ${app} is not one of ${apps.join(", ")}`);
  if (index === 0) return cdn ? { static: "static", media: "media" } : { static: "", media: "" };
  return { static: `${APP_FILES_PREFIX}/${app}/static`, media: `${APP_FILES_PREFIX}/${app}/media` };
}
