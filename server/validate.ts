/**
 * Validation of what the renderers embed in shell, nginx and Python files.
 * Values land inside scripts that run as root, so anything outside a narrow
 * alphabet is refused here, with a message naming the field, before a single
 * file is rendered (and the renderers still quote what they embed).
 */
import { isIPv4, isIPv6 } from "node:net";
import type { AppSpec, BoxSpec } from "./types";

/** The queues a worker consumes when the spec names none (paths.ts re-exports it). */
export function defaultQueues(taskWorker: "celery" | "rq" | "none"): string[] {
  return taskWorker === "rq" ? ["default"] : ["celery"];
}

/** Redis runs with 32 databases (see redis.conf), two per app. */
export const REDIS_DATABASES = 32;
export const MAX_APPS = REDIS_DATABASES / 2;

const APP_NAME = /^[a-z][a-z0-9]{0,20}$/;
/**
 * Names an app cannot take: it becomes a unix user, a PostgreSQL role and
 * database and a directory beside `/etc/django-tiers/python`.
 */
const RESERVED_APP_NAMES = new Set([
  "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
  "backup", "list", "irc", "gnats", "nobody", "admin", "debian", "ubuntu", "postgres", "postgresql",
  "template0", "template1", "redis", "nginx", "www", "supervisor", "certbot", "cron", "sshd", "python",
  "default", "instance", "djangotiers",
]);
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PY_DOTTED = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const WSGI = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;
const SSM_PARAMETER = /^[A-Za-z0-9_.\-/]{1,2048}$/;
const SECRET_ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;
const REGION = /^[a-z]{2}(?:-gov)?-[a-z]+-\d+$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/;
const KEY_PREFIX = /^(?:[A-Za-z0-9._-]+\/)*$/;
const LABEL = /^[A-Za-z0-9._-]{1,64}$/;
const ROLES: readonly string[] = ["single-box", "app", "worker"];
/** A Celery/rq queue name (it lands in a supervisor command line). */
const QUEUE = /^[A-Za-z0-9_-]{1,80}$/;
const SQS_URL = /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/\d{12}\/[A-Za-z0-9_-]{1,80}(?:\.fifo)?$/;
const HOOK_NAME = /^[A-Za-z0-9_.\-/]{1,255}$/;

/**
 * Environment variables the stack sets for every app (app.env, the instance's
 * instance.env, secrets.env, supervisor and django-tiers-exec), plus Django's
 * own names the production settings replace: an app's own variables (appEnv,
 * appSecrets) cannot take them, or they would be overridden or would override.
 * test/unit/app-env.test.ts holds this list to what appEnvironment renders.
 */
export const STACK_ENV_NAMES: readonly string[] = [
  // app.env (server/django-env.ts appEnvironment)
  "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS", "DJANGO_CSRF_TRUSTED_ORIGINS",
  "DATABASE_ENGINE", "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_TLS", "DATABASE_URL",
  "REDIS_URL", "CELERY_BROKER_URL", "RQ_REDIS_URL", "DJANGO_STORAGE", "DJANGO_STATIC_BUCKET", "DJANGO_MEDIA_BUCKET",
  "DJANGO_STORAGE_CUSTOM_DOMAIN", "DJANGO_STORAGE_STATIC_LOCATION", "DJANGO_STORAGE_MEDIA_LOCATION", "DJANGO_STATIC_ROOT", "DJANGO_MEDIA_ROOT", "DJANGO_SECURE_SSL_REDIRECT",
  "DJANGO_SECURE_HSTS_SECONDS", "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", "DJANGO_SECURE_HSTS_PRELOAD",
  "DJANGO_UPLOAD_MAX_BYTES", "DJANGO_LOG_LEVEL",
  // secrets.env (the app's Secrets Manager secret) and what the settings module reads beside it
  "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FALLBACKS", "DATABASE_PASSWORD", "REDIS_PASSWORD",
  // Django settings the production module sets whatever the environment says
  "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS",
  // supervisor's program environment and the process basics
  "HOME", "USER", "LOGNAME", "PATH", "SHELL", "PYTHONHOME",
];
/**
 * Prefixes of names the stack owns: DJANGO_TIERS_* (the app, role, color,
 * instance names, SQS queues), AWS_* (boto3 and django-storages reach AWS
 * through the instance role; AWS_ACCESS_KEY_ID and the like would replace
 * it), LD_* (the dynamic loader).
 */
export const STACK_ENV_PREFIXES: readonly string[] = ["DJANGO_TIERS_", "AWS_", "LD_"];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** The longest value of an app's own variable (app.env is sourced by every process start). */
export const MAX_APP_ENV_VALUE = 4096;

/** Why `name` cannot be one of an app's own environment variables, or undefined. */
export function appEnvNameProblem(name: string): string | undefined {
  if (!ENV_NAME.test(name)) return `${JSON.stringify(name)} is not an environment variable name (letters, digits and _, not starting with a digit, at most 128)`;
  if (STACK_ENV_NAMES.includes(name)) return `${name} is set by the stack itself`;
  const prefix = STACK_ENV_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `${name} starts with ${prefix}, which the stack keeps for its own variables`;
  return undefined;
}

/** Why `value` cannot be the value of an app's own (plain) environment variable, or undefined. */
export function appEnvValueProblem(value: string): string | undefined {
  // A newline would end the line in app.env and in any KEY=value reader; other control characters are no better.
  if (/[\x00-\x1f\x7f]/.test(value)) return "holds a newline or another control character, which an environment file cannot carry safely";
  if (value.length > MAX_APP_ENV_VALUE) return `is ${value.length} characters long, above ${MAX_APP_ENV_VALUE}`;
  return undefined;
}

/** Thrown for an invalid spec; `problems` lists every one found. */
export class BoxSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid BoxSpec:\n  - ${problems.join("\n  - ")}`);
    this.name = "BoxSpecError";
  }
}

export function assertAppName(name: string): void {
  const problem = appNameProblem(name);
  if (problem) throw new Error(problem);
}

export function assertVersion(version: string): void {
  if (!VERSION.test(version)) {
    throw new Error(`release version ${JSON.stringify(version)} must match ${VERSION.source}`);
  }
}

function appNameProblem(name: string): string | undefined {
  if (!APP_NAME.test(name)) {
    return `app name ${JSON.stringify(name)} must match ${APP_NAME.source} (a lowercase letter, then up to 20 lowercase letters or digits)`;
  }
  if (RESERVED_APP_NAMES.has(name)) {
    return `app name ${JSON.stringify(name)} is reserved (it is a system user, database or directory on the box)`;
  }
  return undefined;
}

/** Throws a BoxSpecError listing every problem of the spec. */
export function validateBoxSpec(spec: BoxSpec): void {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const int = (value: number, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void =>
    check(Number.isInteger(value) && value >= min && value <= max, `${field} must be an integer in ${min}..${max}, got ${value}`);

  check(ROLES.includes(spec.role), `role must be single-box, app or worker, got ${JSON.stringify(spec.role)}`);
  check(LABEL.test(spec.project), `project ${JSON.stringify(spec.project)} must match ${LABEL.source}`);
  check(LABEL.test(spec.stack), `stack ${JSON.stringify(spec.stack)} must match ${LABEL.source}`);
  check(["dev", "staging", "prod"].includes(spec.environment), `environment must be dev, staging or prod`);
  check(REGION.test(spec.region), `region ${JSON.stringify(spec.region)} is not an AWS region name`);
  check(BUCKET.test(spec.artifactsBucket), `artifactsBucket ${JSON.stringify(spec.artifactsBucket)} is not an S3 bucket name`);
  check(["celery", "rq", "none"].includes(spec.taskWorker), `taskWorker must be celery, rq or none`);

  if (spec.tls.mode === "letsencrypt") {
    check(EMAIL.test(spec.tls.email), `tls.email ${JSON.stringify(spec.tls.email)} is not an email address`);
  } else if (spec.tls.mode === "load-balancer") {
    const cidrs = spec.tls.trustedCidrs;
    check(Array.isArray(cidrs) && cidrs.length > 0, "tls.trustedCidrs must name the load balancer's networks (the VPC's CIDR blocks)");
    for (const cidr of cidrs ?? []) {
      check(isPrivateCidr(cidr), `tls.trustedCidrs: ${JSON.stringify(cidr)} is not an IPv4 CIDR block inside 10/8, 172.16/12 or 192.168/16`);
    }
  } else if (spec.tls.mode === "origin-certificate") {
    const { secretId, realIpFrom } = spec.tls;
    check(typeof secretId === "string" && SECRET_ID.test(secretId),
      `tls.secretId ${JSON.stringify(secretId)} must be the Secrets Manager id or ARN of the secret holding the origin certificate and key`);
    check(Array.isArray(realIpFrom) && realIpFrom.length > 0,
      "tls.realIpFrom must list the networks CF-Connecting-IP is believed from (Cloudflare's edge ranges)");
    for (const cidr of Array.isArray(realIpFrom) ? realIpFrom : []) {
      const problem = cidrProblem(cidr);
      if (problem) problems.push(`tls.realIpFrom: ${JSON.stringify(cidr)} ${problem}`);
    }
  } else {
    check(spec.tls.mode === "none", `tls.mode must be letsencrypt, origin-certificate, none or load-balancer, got ${JSON.stringify((spec.tls as { mode: unknown }).mode)}`);
  }

  const g = spec.gunicorn;
  if (g.workers !== undefined) int(g.workers, "gunicorn.workers", 1, 64);
  int(g.timeoutSeconds, "gunicorn.timeoutSeconds", 1, 3600);
  int(g.gracefulTimeoutSeconds, "gunicorn.gracefulTimeoutSeconds", 1, 3600);
  int(g.maxRequests, "gunicorn.maxRequests", 0);
  int(g.maxRequestsJitter, "gunicorn.maxRequestsJitter", 0);
  check(g.maxRequestsJitter <= g.maxRequests, "gunicorn.maxRequestsJitter must not exceed gunicorn.maxRequests");

  const n = spec.nginx;
  int(n.proxyReadTimeoutSeconds, "nginx.proxyReadTimeoutSeconds", 1, 3600);
  int(n.keepaliveTimeoutSeconds, "nginx.keepaliveTimeoutSeconds", 1, 3600);
  int(n.maxUploadMb, "nginx.maxUploadMb", 1, 10240);
  // A request gunicorn may still be working on must not be cut by nginx first.
  check(
    n.proxyReadTimeoutSeconds > g.timeoutSeconds,
    `nginx.proxyReadTimeoutSeconds (${n.proxyReadTimeoutSeconds}) must exceed gunicorn.timeoutSeconds (${g.timeoutSeconds})`,
  );

  int(spec.backup.hourUtc, "backup.hourUtc", 0, 23);
  int(spec.backup.localRetentionDays, "backup.localRetentionDays", 1, 3650);
  check(
    KEY_PREFIX.test(spec.backup.prefix),
    `backup.prefix ${JSON.stringify(spec.backup.prefix)} must be empty or end with "/" (letters, digits, . _ - and /)`,
  );
  int(spec.longestTaskSeconds, "longestTaskSeconds", 1, 7 * 24 * 3600);

  check(spec.apps.length >= 1 && spec.apps.length <= MAX_APPS, `apps must hold 1..${MAX_APPS} apps, got ${spec.apps.length}`);
  const names = new Set<string>();
  const domainOwner = new Map<string, string>();
  const defaultApps: string[] = [];
  spec.apps.forEach((app, i) => {
    const where = `apps[${i}] (${JSON.stringify(app.name)})`;
    const nameProblem = appNameProblem(app.name);
    if (nameProblem) problems.push(`${where}: ${nameProblem}`);
    check(!names.has(app.name), `${where}: app name is used twice`);
    names.add(app.name);
    appProblems(app).forEach((p) => problems.push(`${where}: ${p}`));
    // One kind of runner per box: an app differs from the box's only by having none.
    check(app.taskWorker === undefined || app.taskWorker === "none" || app.taskWorker === spec.taskWorker,
      `${where}: taskWorker ${app.taskWorker} differs from the box's (${spec.taskWorker}); an app's own can only be none`);
    for (const domain of app.domains) {
      const owner = domainOwner.get(domain);
      check(owner === undefined, `${where}: domain ${domain} is already served by ${owner}`);
      domainOwner.set(domain, app.name);
    }
    if (app.domains.length === 0) defaultApps.push(app.name);
  });
  check(defaultApps.length <= 1, `only one app may have no domain (it is nginx's default server); ${defaultApps.join(", ")} have none`);
  if (spec.tls.mode === "letsencrypt") {
    check(defaultApps.length === 0, `tls.mode letsencrypt needs a domain on every app; ${defaultApps.join(", ")} has none`);
  }
  if (spec.tls.mode === "origin-certificate") {
    check(defaultApps.length === 0,
      `tls.mode origin-certificate needs a domain on every app (Cloudflare proxies domains, the certificate names them); ${defaultApps.join(", ")} has none`);
  }

  roleProblems(spec).forEach((p) => problems.push(p));

  if (problems.length > 0) throw new BoxSpecError(problems);
}

/** What each role needs and refuses (the load-balanced tier's app and worker servers hold no data). */
function roleProblems(spec: BoxSpec): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };
  const role = spec.role;
  const where = `role ${role}`;
  const customDomains = spec.objectStorage?.customDomains;
  if (customDomains !== undefined) {
    for (const app of spec.apps) {
      const domain = customDomains[app.name];
      check(typeof domain === "string" && DOMAIN.test(domain),
        domain === undefined
          ? `objectStorage.customDomains has no domain for app ${app.name} (behind a CDN every app needs one)`
          : `objectStorage.customDomains.${app.name} ${JSON.stringify(domain)} is not a lowercase host name`);
    }
    const unknown = Object.keys(customDomains).filter((name) => !spec.apps.some((a) => a.name === name));
    check(unknown.length === 0, `objectStorage.customDomains names ${unknown.join(", ")}, not in apps`);
  }
  if (role === "single-box") {
    check(spec.tls.mode !== "load-balancer", `${where}: tls.mode load-balancer is for app servers behind an ALB; use letsencrypt, origin-certificate or none`);
    check(spec.broker === undefined, `${where}: broker (SQS) is for the app and worker roles; a single box uses its own Redis`);
  } else {
    // Several identical hosts share everything that holds data: it must live off the box.
    check(spec.database !== undefined, `${where} needs database (an external database: app and worker servers hold no data)`);
    check(spec.objectStorage !== undefined, `${where} needs objectStorage (S3: uploads must be visible to every server)`);
    if (spec.taskWorker === "celery") {
      check(spec.broker !== undefined || spec.cache !== undefined,
        `${where}: taskWorker celery needs broker (SQS) or cache (ElastiCache Redis as the broker)`);
    }
    if (spec.taskWorker === "rq") {
      check(spec.cache !== undefined, `${where}: taskWorker rq needs cache (rq's queue is Redis)`);
    }
  }
  if (role !== "app") check(spec.color === undefined, `${where}: color is for app servers (the blue and green fleets)`);
  colorsProblems(spec).forEach((p) => problems.push(p));
  if (role === "app") {
    check(spec.tls.mode === "load-balancer", `${where} needs tls.mode load-balancer (TLS ends at the ALB), got ${spec.tls.mode}`);
    check(spec.color === undefined || spec.color === "blue" || spec.color === "green", `color must be blue or green`);
    const bare = spec.apps.filter((a) => a.domains.length === 0).map((a) => a.name);
    check(bare.length === 0, `${where}: every app needs a domain (ALLOWED_HOSTS behind the ALB); ${bare.join(", ")} has none`);
  }
  if (role !== "worker") {
    check(spec.queues === undefined, `${where}: queues are for worker servers`);
    check(spec.beat === undefined, `${where}: beat is for worker servers (a single box always runs one per app)`);
    check(spec.lifecycleHook === undefined, `${where}: lifecycleHook is for worker servers`);
  } else {
    check(spec.tls.mode !== "letsencrypt" && spec.tls.mode !== "origin-certificate",
      `${where}: tls.mode ${spec.tls.mode} needs nginx; a worker serves no HTTP (use none or load-balancer)`);
    check(spec.taskWorker !== "none", `${where} needs taskWorker celery or rq`);
    check(spec.apps.some((a) => (a.taskWorker ?? spec.taskWorker) !== "none"), `${where} needs an app with a task worker (every app's taskWorker is none)`);
    if (spec.beat) check(spec.taskWorker === "celery", `${where}: beat needs taskWorker celery (rq has no scheduler)`);
    const queues = spec.queues;
    if (queues !== undefined) {
      for (const q of queues) check(QUEUE.test(q), `queues: ${JSON.stringify(q)} must match ${QUEUE.source}`);
      check(new Set(queues).size === queues.length, "queues repeat");
      check(queues.length > 0 || spec.beat === true, "queues must name at least one queue (only the beat server consumes none)");
    }
    if (spec.lifecycleHook) {
      check(HOOK_NAME.test(spec.lifecycleHook.name), `lifecycleHook.name ${JSON.stringify(spec.lifecycleHook.name)} must match ${HOOK_NAME.source}`);
      check(HOOK_NAME.test(spec.lifecycleHook.autoScalingGroupName),
        `lifecycleHook.autoScalingGroupName ${JSON.stringify(spec.lifecycleHook.autoScalingGroupName)} must match ${HOOK_NAME.source}`);
    }
  }
  const broker = spec.broker;
  if (broker !== undefined) {
    check(broker.kind === "sqs", `broker.kind must be sqs, got ${JSON.stringify(broker.kind)}`);
    check(spec.taskWorker === "celery", `broker sqs needs taskWorker celery (rq speaks only Redis), got ${spec.taskWorker}`);
    const names = Object.keys(broker.queues ?? {});
    check(names.length > 0, "broker.queues must map at least one Celery queue name to its SQS queue URL");
    for (const name of names) {
      check(QUEUE.test(name), `broker.queues: queue name ${JSON.stringify(name)} must match ${QUEUE.source}`);
      check(SQS_URL.test(broker.queues[name]), `broker.queues.${name}: ${JSON.stringify(broker.queues[name])} is not an SQS queue URL`);
    }
    const v = broker.visibilityTimeoutSeconds;
    check(Number.isInteger(v) && v >= 1 && v <= 43200, `broker.visibilityTimeoutSeconds must be an integer in 1..43200, got ${v}`);
    // SQS hands a task not deleted within the visibility timeout to another worker: a longer task would run twice.
    check(v > spec.longestTaskSeconds,
      `broker.visibilityTimeoutSeconds (${v}) must exceed longestTaskSeconds (${spec.longestTaskSeconds}), or long tasks run twice`);
    if (role === "worker" && !spec.beat) {
      for (const q of spec.queues ?? defaultQueues(spec.taskWorker)) {
        check(names.includes(q), `queues: ${JSON.stringify(q)} is not one of broker.queues (${names.join(", ")})`);
      }
    }
  }
  return problems;
}

/**
 * Blue-green on one box (`colors`): only the single-box role has two web
 * programs (the load-balanced tier has two fleets), and every app then needs
 * the release pointer of each color.
 */
function colorsProblems(spec: BoxSpec): string[] {
  const problems: string[] = [];
  const colors = spec.colors;
  // Without colors, colorReleaseParameters is unused (the app runs releaseParameter).
  if (colors === undefined) return problems;
  if (spec.role !== "single-box") {
    problems.push(`role ${spec.role}: colors (blue-green on one box) is for the single-box role; app servers are blue or green through color`);
  }
  if (colors.live !== "blue" && colors.live !== "green") problems.push(`colors.live must be blue or green, got ${JSON.stringify(colors.live)}`);
  if (typeof colors.idleRunning !== "boolean") problems.push(`colors.idleRunning must be true or false, got ${JSON.stringify(colors.idleRunning)}`);
  spec.apps.forEach((app, i) => {
    const where = `apps[${i}] (${JSON.stringify(app.name)})`;
    const parameters = app.colorReleaseParameters;
    if (parameters === undefined) {
      problems.push(`${where}: colorReleaseParameters must name the blue and green release parameters (the box has colors)`);
      return;
    }
    for (const color of ["blue", "green"] as const) {
      const parameter = parameters[color];
      if (parameter === undefined) problems.push(`${where}: colorReleaseParameters.${color} is missing (both colors need a release parameter)`);
      else if (!SSM_PARAMETER.test(parameter)) problems.push(`${where}: colorReleaseParameters.${color} ${JSON.stringify(parameter)} is not an SSM parameter name`);
    }
    const extra = Object.keys(parameters).filter((k) => k !== "blue" && k !== "green");
    if (extra.length > 0) problems.push(`${where}: colorReleaseParameters has ${extra.join(", ")}; only blue and green are allowed`);
  });
  return problems;
}

/**
 * Why `cidr` is not a network nginx's set_real_ip_from should take: an IPv4
 * or IPv6 block in network form (no host bits set), narrower than the whole
 * internet (which would believe a forged client address from anyone).
 */
function cidrProblem(cidr: unknown): string | undefined {
  const m = typeof cidr === "string" ? /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(cidr) : null;
  if (!m || !(isIPv4(m[1]) || isIPv6(m[1]))) return "is not an IPv4 or IPv6 CIDR block (address/prefix)";
  const v4 = isIPv4(m[1]);
  const width = v4 ? 32 : 128;
  const bits = Number(m[2]);
  if (bits < 1 || bits > width) return `has prefix /${bits}; it must be 1..${width} (/0 would believe CF-Connecting-IP from anyone)`;
  const address = v4 ? ipv4Value(m[1]) : ipv6Value(m[1]);
  const hostBits = (1n << BigInt(width - bits)) - 1n;
  if ((address & hostBits) !== 0n) return `has host bits set below /${bits}; write the network address`;
  return undefined;
}

function ipv4Value(address: string): bigint {
  return address.split(".").reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** An IPv6 address (already checked by isIPv6; an embedded IPv4 tail is allowed) as a 128-bit number. */
function ipv6Value(address: string): bigint {
  let text = address.toLowerCase();
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const v4 = ipv4Value(v4Tail[1]);
    text = `${text.slice(0, -v4Tail[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** An IPv4 CIDR block within the private ranges a VPC uses. */
function isPrivateCidr(cidr: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return false;
  const [a, b, c, d, bits] = m.slice(1).map(Number);
  if ([a, b, c, d].some((n) => n > 255) || bits < 8 || bits > 32) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31 && bits >= 12) || (a === 192 && b === 168 && bits >= 16);
}

function appProblems(app: AppSpec): string[] {
  const problems: string[] = [];
  for (const domain of app.domains) {
    if (!DOMAIN.test(domain)) problems.push(`domain ${JSON.stringify(domain)} is not a lowercase host name (no wildcards, no IPs)`);
  }
  if (new Set(app.domains).size !== app.domains.length) problems.push("domains repeat");
  if (!PY_DOTTED.test(app.settingsModule)) problems.push(`settingsModule ${JSON.stringify(app.settingsModule)} is not a dotted Python module path`);
  if (!WSGI.test(app.wsgiApplication)) problems.push(`wsgiApplication ${JSON.stringify(app.wsgiApplication)} must look like package.module:callable`);
  if (!PY_DOTTED.test(app.celeryApp)) problems.push(`celeryApp ${JSON.stringify(app.celeryApp)} is not a dotted Python name`);
  if (!SSM_PARAMETER.test(app.releaseParameter)) problems.push(`releaseParameter ${JSON.stringify(app.releaseParameter)} is not an SSM parameter name`);
  if (!SECRET_ID.test(app.secretId)) problems.push(`secretId ${JSON.stringify(app.secretId)} is not a Secrets Manager id or ARN`);
  if (app.taskWorker !== undefined && !["celery", "rq", "none"].includes(app.taskWorker)) problems.push(`taskWorker must be celery, rq or none, got ${JSON.stringify(app.taskWorker)}`);
  for (const [name, value] of Object.entries(app.env ?? {})) {
    const problem = appEnvNameProblem(name) ?? (typeof value === "string" ? appEnvValueProblem(value) : "must be a string");
    if (problem) problems.push(`env ${name}: ${problem}`);
  }
  return problems;
}
