/**
 * What a server needs to know to provision itself: the contract between the
 * Pulumi components (which resolve names, ARNs and settings) and the pure
 * renderers in this folder (which turn it into files that run ON the VM).
 *
 * Nothing here, or anywhere in server/, imports Pulumi: every value is plain
 * and already resolved, so a test can render and run the files without an
 * engine. Secrets are never part of a spec: the spec names where they live
 * (a Secrets Manager secret id) and phase 1 (`fetch`) reads them at boot.
 */

/** The environment a stack represents; prod turns on the strictest defaults. */
export type Environment = "dev" | "staging" | "prod";

/** Which task runner runs beside the web processes. */
export type TaskWorker = "celery" | "rq" | "none";

/**
 * The roles a VM can play: `single-box` runs everything; on the
 * load-balanced tier, `app` servers (nginx → gunicorn only, behind the ALB)
 * form the blue and green fleets and `worker` servers run the task queue.
 */
export type BoxRole = "single-box" | "app" | "worker";

/** The two app fleets of blue-green promotion. */
export type Color = "blue" | "green";

/** The provisioning phases, in the order they run (see DESIGN.md). */
export const PHASES = ["fetch", "install", "configure", "release", "verify"] as const;
export type Phase = (typeof PHASES)[number];

/** One Django project served by the box. */
export interface AppSpec {
  /**
   * Short name: `[a-z][a-z0-9]{0,20}`. It is the unix user, the PostgreSQL
   * role and database, the supervisor program prefix and the directory name.
   */
  name: string;
  /**
   * Host names nginx answers for this app (`server_name`). Empty means the
   * app is the default server and answers any Host on plain HTTP (a stack
   * with no domain yet).
   */
  domains: string[];
  /** `DJANGO_SETTINGS_MODULE`, e.g. `mysite.settings`. */
  settingsModule: string;
  /** The WSGI callable for gunicorn, e.g. `mysite.wsgi:application`. */
  wsgiApplication: string;
  /** The Celery application for `celery -A` (usually the project package). */
  celeryApp: string;
  /**
   * SSM parameter whose value is the S3 key of the release bundle to run
   * (`releases/<app>/<version>.zip`). Phase `fetch` reads it; a release
   * changes the parameter, never the user data, so the box is not replaced.
   */
  releaseParameter: string;
  /**
   * Secrets Manager secret id (ARN) holding a JSON object of this app's
   * secret environment: `DJANGO_SECRET_KEY`, `DATABASE_PASSWORD`.
   */
  secretId: string;
  /**
   * Box tiers with blue-green releases (`BoxSpec.colors`): each color's SSM
   * release pointer (`/…/<app>/<color>/release`, same value format as
   * `releaseParameter`). Phase `fetch` reads both; `releaseParameter` stays
   * the app's built release (what a new box without colors would run).
   * @default undefined
   */
  colorReleaseParameters?: Record<Color, string>;
  /**
   * The app's own environment variables (the `appEnv` setting), appended to
   * app.env after the stack's. Not secrets (those are keys of the app's
   * secret, `secretId`). A name the stack sets (`STACK_ENV_NAMES`, the
   * prefixes DJANGO_TIERS_, AWS_, LD_) or a value with a control character
   * is refused.
   * @default {}
   * @example { SENTRY_ENVIRONMENT: "production" }
   */
  env?: Record<string, string>;
  /**
   * This app's task runner, when it differs from the box's (`BoxSpec.taskWorker`):
   * only `"none"` (an app with no tasks: no worker or beat program, no broker
   * URL). Apps with a runner share the box's kind.
   * @default the box's taskWorker
   */
  taskWorker?: TaskWorker;
}

export interface GunicornSettings {
  /** Fixed worker count; when absent the config computes 2 × cores + 1 at start. */
  workers?: number;
  /** Worker timeout in seconds; must stay below nginx `proxy_read_timeout`. */
  timeoutSeconds: number;
  /** Seconds workers get to finish requests on reload/stop. */
  gracefulTimeoutSeconds: number;
  /** Recycle a worker after this many requests (leaks bounded). */
  maxRequests: number;
  /** Random jitter added to `maxRequests` so workers do not recycle together. */
  maxRequestsJitter: number;
}

export interface NginxSettings {
  /** `proxy_read_timeout` in seconds (> gunicorn timeout). */
  proxyReadTimeoutSeconds: number;
  /** `keepalive_timeout` in seconds (> any load balancer idle timeout). */
  keepaliveTimeoutSeconds: number;
  /** `client_max_body_size` in MiB: the largest media upload accepted. */
  maxUploadMb: number;
}

export type TlsSpec =
  /** Let's Encrypt through certbot's webroot (HTTP-01) challenge, renewed on the box. */
  | { mode: "letsencrypt"; email: string }
  /** No domain yet: plain HTTP on the instance's public name. */
  | { mode: "none" }
  /**
   * TLS ends at the load balancer in front (app role): nginx listens on
   * port 80 for the balancer only and trusts its X-Forwarded-Proto and
   * X-Forwarded-For from `trustedCidrs` (the VPC), nothing else.
   */
  | { mode: "load-balancer"; trustedCidrs: string[] }
  /**
   * Behind Cloudflare's proxy (cdn: cloudflare on a box): nginx serves a
   * certificate from Cloudflare's Origin CA for the app domains, which
   * phase configure reads from the Secrets Manager secret `secretId`
   * (SecretString: JSON {"certificate": "<PEM chain>", "privateKey": "<PEM>"});
   * no ACME. The client's address comes from CF-Connecting-IP, trusted only
   * from `realIpFrom` (Cloudflare's edge ranges).
   */
  | { mode: "origin-certificate"; secretId: string; realIpFrom: string[] };

export interface BackupSpec {
  /** Hour (UTC, 0–23) of the nightly `pg_dump`. */
  hourUtc: number;
  /** Key prefix in the artifacts bucket, e.g. `backups/dev/`. */
  prefix: string;
  /** Days of local dumps kept on the box (the bucket's lifecycle keeps its own). */
  localRetentionDays: number;
}

/**
 * PostgreSQL (or MySQL/MariaDB) as an external service (RDS). Each app uses
 * its own database on it, named after the app, as the master user; the
 * password is DATABASE_PASSWORD in the app's secret. Absent: PostgreSQL runs
 * on the box.
 */
export interface ExternalDatabaseSpec {
  engine: "postgres" | "mysql" | "mariadb";
  host: string;
  port: number;
  user: string;
}

/** Redis/Valkey as an external service (ElastiCache): TLS, AUTH token as REDIS_PASSWORD in each app's secret. */
export interface ExternalCacheSpec {
  host: string;
  port: number;
}

/** Static and media files on S3 (django-storages through the instance role). Absent: on the box, served by nginx. */
export interface ObjectStorageSpec {
  staticBucket: string;
  mediaBucket: string;
  /**
   * A CDN in front of both buckets (CloudFront with an origin access
   * control), per app: the domain django-storages' `custom_domain` names in
   * that app's file URLs (the app's own, so its pages load their files from
   * their own origin). Every app needs one. Files then live where the CDN's
   * behaviors find them at the same path (`appFileLocations`: `static/` and
   * `media/` for the first app, `apps/<name>/static/` and
   * `apps/<name>/media/` for the others), and their URLs carry no signature
   * (the CDN, not the browser, holds the bucket access). Absent: private
   * buckets, the first app's files at the bucket root, signed URLs.
   * @default undefined
   * @example { shop: "shop.example.com", blog: "blog.example.com" }
   */
  customDomains?: Record<string, string>;
}

/**
 * SQS as the Celery broker (worker and app roles): encrypted queues with a
 * dead-letter queue, reached through the instance role (no keys). Absent:
 * the broker is Redis (on the box, or the ElastiCache cache).
 */
export interface SqsBrokerSpec {
  kind: "sqs";
  /** Celery queue name → SQS queue URL (kombu's predefined_queues). */
  queues: Record<string, string>;
  /** The queues' visibility timeout, longer than the longest task. */
  visibilityTimeoutSeconds: number;
}

/** Everything a server needs to render its provisioning. */
export interface BoxSpec {
  role: BoxRole;
  /** Pulumi project and stack, for names and tags only. */
  project: string;
  stack: string;
  environment: Environment;
  /** AWS region, for the AWS CLI in phase `fetch`. */
  region: string;
  apps: AppSpec[];
  /** Bucket that holds release bundles and backups. */
  artifactsBucket: string;
  taskWorker: TaskWorker;
  tls: TlsSpec;
  gunicorn: GunicornSettings;
  nginx: NginxSettings;
  backup: BackupSpec;
  /** The longest task a worker may run, in seconds (worker `stopwaitsecs`). */
  longestTaskSeconds: number;
  /** The database as an external service; absent: PostgreSQL on the box. */
  database?: ExternalDatabaseSpec;
  /** The cache and broker as an external service; absent: Redis on the box. */
  cache?: ExternalCacheSpec;
  /** Static and media files on S3; absent: on the box. */
  objectStorage?: ObjectStorageSpec;
  /**
   * SSM parameter naming the box's current configuration document in the
   * artifacts bucket (server/box-config.ts): every rendered file. Phase fetch
   * applies it, on the first boot and on every rollout, so changed settings
   * reach a running box; user data carries only what that first fetch needs.
   */
  configParameter: string;
  /** app role: the fleet this server belongs to (its release is that color's). */
  color?: Color;
  /** worker role: the queues this server's workers consume. @default ["celery"] */
  queues?: string[];
  /** worker role: run Celery beat here. Exactly one server of a stack does. */
  beat?: boolean;
  /** The task broker when it is SQS (Celery only); absent: Redis. */
  broker?: SqsBrokerSpec;
  /**
   * The CloudWatch agent (server/cloudwatch-agent.ts): the log group the
   * server ships its logs to (created by the component, with its retention)
   * and whether it is in an autoscaling group (metrics aggregated by group).
   * Absent: no agent configuration is rendered.
   */
  cloudWatch?: { logGroupName: string; metricsIntervalSeconds?: number; autoScalingGroup?: boolean };
  /**
   * worker role: the autoscaling group's termination lifecycle hook. The
   * server's drain watcher (django-tiers-drain) sees the instance go to
   * `Terminated` in IMDSv2, stops the task programs (each waits up to its
   * stopwaitsecs for running tasks) and completes this hook with CONTINUE.
   * Absent: no drain watcher; a scale-in gives running tasks only the
   * shutdown's grace (SQS re-delivers them after the visibility timeout).
   * @default undefined
   */
  lifecycleHook?: LifecycleHookSpec;
  /**
   * single-box role: blue-green releases on one box (issue #5). Each app runs
   * two gunicorn programs, `<app>-web-blue` and `<app>-web-green`, each from
   * its own color's release (`AppSpec.colorReleaseParameters`); nginx sends
   * traffic to the live one and is switched by a graceful reload; a request
   * with the header `X-Django-Tiers-Color: <color>` goes to that color (the
   * smoke test of the idle one, as on the load balancer). The task worker and
   * beat run the live color's release. Absent: one gunicorn per app, a
   * release replaces it in place (HUP).
   * @default undefined
   */
  colors?: BoxColorsSpec;
}

/** Blue-green on one box: which color is live, and whether the idle one runs. */
export interface BoxColorsSpec {
  /** The color nginx sends traffic to. */
  live: Color;
  /**
   * Whether the idle color's gunicorn runs (during a promotion and its
   * rollback window) or is stopped (frees its memory; a rollback then starts
   * it first).
   */
  idleRunning: boolean;
}

/** The ASG termination lifecycle hook a worker completes after draining. */
export interface LifecycleHookSpec {
  /** The hook's name (`aws autoscaling complete-lifecycle-action --lifecycle-hook-name`). */
  name: string;
  /** The group's name (`--auto-scaling-group-name`). */
  autoScalingGroupName: string;
}

/** One rendered file: where it goes on the VM, its mode and owner, its text. */
export interface RenderedFile {
  path: string;
  /** Octal mode as a string, e.g. "0644". */
  mode: string;
  owner: string;
  content: string;
}
