/** BoxSpec fixtures for the server/ tests: one app or three, each TLS mode and task worker. */
import { requestTimeouts } from "../../config/timeouts";
import type { AppSpec, BoxSpec, Color, TaskWorker } from "../../server/types";
import { BoxSpecError, validateBoxSpec } from "../../server/validate";

export interface FixtureOptions {
  apps?: 1 | 3;
  tls?: "none" | "letsencrypt";
  taskWorker?: TaskWorker;
  /** Give the first app no domain (only with tls none): it becomes nginx's default server. */
  defaultApp?: boolean;
  workers?: number;
  /** RDS, ElastiCache and S3 instead of PostgreSQL, Redis and files on the box. */
  external?: boolean;
  /** The stack's requestTimeoutSeconds, rendered into gunicorn and nginx as the stack does (default 30). */
  requestTimeoutSeconds?: number;
}

const APP_NAMES = ["shop", "blog", "wiki"];

export function fixtureApp(name: string, domains: string[]): AppSpec {
  return {
    name,
    domains,
    settingsModule: `${name}site.settings`,
    wsgiApplication: `${name}site.wsgi:application`,
    celeryApp: `${name}site`,
    releaseParameter: `/django-tiers/demo/dev/${name}/release`,
    secretId: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:django-tiers/demo/dev/${name}-AbCdEf`,
  };
}

export function fixtureSpec(options: FixtureOptions = {}): BoxSpec {
  const { apps = 1, tls = "none", taskWorker = "celery", defaultApp = false } = options;
  const timeouts = requestTimeouts(options.requestTimeoutSeconds ?? 30);
  if (defaultApp && tls !== "none") throw new Error("fixture: an app without a domain needs tls none");
  return {
    role: "single-box",
    project: "demo",
    stack: "dev",
    environment: "dev",
    region: "eu-west-1",
    apps: APP_NAMES.slice(0, apps).map((name, i) =>
      fixtureApp(name, defaultApp && i === 0 ? [] : [`${name}.example.com`, `www.${name}.example.com`]),
    ),
    artifactsBucket: "demo-dev-artifacts",
    taskWorker,
    tls: tls === "letsencrypt" ? { mode: "letsencrypt", email: "ops@example.com" } : { mode: "none" },
    gunicorn: {
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      timeoutSeconds: timeouts.gunicornSeconds,
      gracefulTimeoutSeconds: 30,
      maxRequests: 1000,
      maxRequestsJitter: 100,
    },
    nginx: { proxyReadTimeoutSeconds: timeouts.proxySeconds, keepaliveTimeoutSeconds: timeouts.keepaliveSeconds, maxUploadMb: 25 },
    backup: { hourUtc: 3, prefix: "backups/dev/", localRetentionDays: 7 },
    longestTaskSeconds: 600,
    configParameter: "/django-tiers/demo/dev/single-box/config",
    ...(options.external
      ? {
          database: { engine: "postgres" as const, host: "demo-db.abc123.eu-west-1.rds.amazonaws.com", port: 5432, user: "django" },
          cache: { host: "master.demo-cache.abc123.euw1.cache.amazonaws.com", port: 6379 },
          objectStorage: { staticBucket: "demo-dev-static", mediaBucket: "demo-dev-media" },
        }
      : {}),
  };
}

/** Every combination the real-tool tests cover. */
export const VARIANTS: Array<{ label: string; options: FixtureOptions }> = [
  { label: "1 app, tls none, celery", options: { apps: 1, tls: "none", taskWorker: "celery" } },
  { label: "1 default app, tls none, no worker", options: { apps: 1, tls: "none", taskWorker: "none", defaultApp: true } },
  { label: "1 app, letsencrypt, rq", options: { apps: 1, tls: "letsencrypt", taskWorker: "rq", workers: 4 } },
  { label: "3 apps, letsencrypt, celery, 300 s requests", options: { apps: 3, tls: "letsencrypt", taskWorker: "celery", requestTimeoutSeconds: 300 } },
  { label: "3 apps (first without domain), tls none, rq", options: { apps: 3, tls: "none", taskWorker: "rq", defaultApp: true } },
  { label: "1 app, letsencrypt, celery, RDS + ElastiCache + S3", options: { apps: 1, tls: "letsencrypt", taskWorker: "celery", external: true } },
];

/** The VPC an app server's load balancer connects from. */
export const FIXTURE_VPC_CIDR = "10.0.0.0/16";
export const FIXTURE_SQS_QUEUES: Record<string, string> = {
  celery: "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-prod-celery",
  emails: "https://sqs.eu-west-1.amazonaws.com/123456789012/demo-prod-emails",
};

export interface RoleFixtureOptions {
  apps?: 1 | 3;
  taskWorker?: TaskWorker;
  /** SQS as the Celery broker (else the ElastiCache cache is the broker). */
  sqs?: boolean;
  /** ElastiCache; without it an app server uses Django's local-memory cache. */
  cache?: boolean;
  color?: "blue" | "green";
  /** worker role: the one server that runs only celery beat. */
  beat?: boolean;
  queues?: string[];
  /** worker role: a termination lifecycle hook, hence the drain watcher. */
  lifecycleHook?: boolean;
  customDomain?: boolean;
}

/** A server of the load-balanced tier: RDS and S3 always, ElastiCache and SQS by option. */
export function roleSpec(role: "app" | "worker", options: RoleFixtureOptions = {}): BoxSpec {
  const { apps = 1, taskWorker = "celery", sqs = taskWorker === "celery", cache = !sqs || taskWorker === "rq" } = options;
  const base = fixtureSpec({ apps, taskWorker, external: true });
  const spec: BoxSpec = {
    ...base,
    role,
    stack: "prod",
    environment: "prod",
    tls: role === "app" ? { mode: "load-balancer", trustedCidrs: [FIXTURE_VPC_CIDR] } : { mode: "none" },
    configParameter: `/django-tiers/demo/prod/${role}/config`,
    objectStorage: {
      staticBucket: "demo-prod-static",
      mediaBucket: "demo-prod-media",
      // Behind CloudFront: each app's files at its own first domain.
      ...(options.customDomain ? { customDomains: Object.fromEntries(base.apps.map((a) => [a.name, a.domains[0]])) } : {}),
    },
  };
  if (!cache) delete spec.cache;
  if (sqs) spec.broker = { kind: "sqs", queues: FIXTURE_SQS_QUEUES, visibilityTimeoutSeconds: 960 };
  if (role === "app" && options.color) spec.color = options.color;
  if (role === "worker") {
    if (options.beat) spec.beat = true;
    if (options.queues) spec.queues = options.queues;
    if (options.lifecycleHook !== false) {
      spec.lifecycleHook = { name: "demo-prod-worker-drain", autoScalingGroupName: "demo-prod-worker-asg" };
    }
  }
  return spec;
}

/** Every app- and worker-role combination the real-tool tests cover. */
export const ROLE_VARIANTS: Array<{ label: string; spec: () => BoxSpec }> = [
  { label: "app, 1 app, blue, SQS, no cache", spec: () => roleSpec("app", { color: "blue" }) },
  { label: "app, 3 apps, green, ElastiCache broker, CDN domain", spec: () => roleSpec("app", { apps: 3, color: "green", sqs: false, customDomain: true }) },
  { label: "app, 1 app, rq on ElastiCache", spec: () => roleSpec("app", { taskWorker: "rq" }) },
  { label: "worker, 1 app, celery on SQS, two queues, drain", spec: () => roleSpec("worker", { queues: ["celery", "emails"] }) },
  { label: "worker, 3 apps, celery beat only", spec: () => roleSpec("worker", { apps: 3, beat: true, queues: [] }) },
  { label: "worker, 1 app, rq on ElastiCache, no hook", spec: () => roleSpec("worker", { taskWorker: "rq", lifecycleHook: false }) },
];

/** A single box with blue-green releases (`colors`): every app gets both colors' release parameters. */
export function coloredSpec(options: FixtureOptions = {}, live: Color = "blue", idleRunning = true): BoxSpec {
  const spec = fixtureSpec(options);
  spec.colors = { live, idleRunning };
  for (const app of spec.apps) {
    app.colorReleaseParameters = { blue: `/django-tiers/demo/dev/${app.name}/blue/release`, green: `/django-tiers/demo/dev/${app.name}/green/release` };
  }
  return spec;
}

/** What validateBoxSpec finds wrong with `spec` ([] when it is valid). */
export function problemsOf(spec: BoxSpec): string[] {
  try {
    validateBoxSpec(spec);
  } catch (error) {
    if (error instanceof BoxSpecError) return error.problems;
    throw error;
  }
  return [];
}
