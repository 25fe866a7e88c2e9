/**
 * Every setting a stack can give, in one table: its Pulumi config type, its
 * description, its default, and the schema that validates it. Pulumi.yaml's
 * `config:` block is generated from this table (`npm run gen:pulumi-yaml`),
 * and a test fails when the two differ, so the documented schema and the
 * enforced one cannot drift.
 *
 * Pulumi project config can only type strings, integers, booleans and
 * arrays, so settings are flat; several apps are described by `apps` (names)
 * and `domains` (entries `host` for the first app or `app:host`).
 */
import { z } from "zod";

export const TIERS = ["single-box", "external-db", "object-storage", "load-balanced"] as const;
export type Tier = (typeof TIERS)[number];
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export const TASK_WORKERS = ["celery", "rq", "none"] as const;
export const ARCHITECTURES = ["arm64", "x86_64"] as const;
export const COLORS = ["blue", "green"] as const;
/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** Names an app may not take: they collide with system users or services on the box. */
const RESERVED_APP_NAMES = ["root", "admin", "nginx", "postgres", "redis", "www", "daemon", "bin", "sys", "nobody", "backup", "supervisor", "celery", "current", "shared"];

const APP_NAME = /^[a-z][a-z0-9]{0,20}$/;

type PulumiConfigType = "string" | "integer" | "boolean" | "array";

export interface SettingSpec {
  /** The type Pulumi.yaml declares. */
  type: PulumiConfigType;
  /** For arrays: the item type. */
  items?: "string";
  description: string;
  /** What is allowed, in words, for error messages. */
  allowed: string;
  /**
   * The default, written to Pulumi.yaml. Pulumi requires every declared key
   * that has no default, so optional settings default to an "unset" value
   * ("" or [] or 0) and say `unset: true`.
   */
  default?: unknown;
  /** The default means "not set": the setting is optional and has no value. */
  unset?: true;
  schema: z.ZodType;
}

const int = (min: number, max: number) =>
  z.number({ error: "must be a whole number" }).int({ error: "must be a whole number" })
    .min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` });

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.map((v) => `"${v}"`).join(", ")}` });

export const SETTINGS = {
  tier: {
    type: "string",
    description: "The rung of the ladder: single-box (one VM runs everything), external-db (PostgreSQL on RDS), object-storage (static and media on S3), load-balanced (ALB in front of blue/green fleets).",
    allowed: TIERS.join(", "),
    schema: oneOf(TIERS),
  },
  environment: {
    type: "string",
    description: "dev, staging or prod. prod turns on deletion protection and the strictest defaults. Defaults to the stack name when that is one of the three.",
    allowed: ENVIRONMENTS.join(", "),
    default: "",
    unset: true,
    schema: oneOf(ENVIRONMENTS).optional(),
  },
  apps: {
    type: "array",
    items: "string",
    description: "Names of the Django apps this stack serves (each a folder <appsDir>/<name> with manage.py at its top). Lowercase letters and digits, starting with a letter, at most 21 characters.",
    allowed: "a non-empty list of distinct names matching [a-z][a-z0-9]{0,20}",
    schema: z.array(z.string().regex(APP_NAME, { error: "app names are lowercase letters and digits, starting with a letter, at most 21 characters" })
      .refine((n) => !RESERVED_APP_NAMES.includes(n), { error: `app name is reserved (${RESERVED_APP_NAMES.join(", ")})` }))
      .min(1, { error: "list at least one app" })
      .refine((a) => new Set(a).size === a.length, { error: "app names must be distinct" }),
  },
  appsDir: {
    type: "string",
    description: "Folder (relative to the project) that holds one Django project folder per app. Each is packaged as the app's release bundle.",
    allowed: "a relative path to an existing folder",
    default: "apps",
    schema: z.string().min(1, { error: "must not be empty" }),
  },
  domains: {
    type: "array",
    items: "string",
    description: "Domains served, each 'host' (for the first app) or 'app:host'. Empty: the site is served over plain HTTP on the instance's public name until you add one. Needs cloudflareZoneId, and on the box tiers acmeEmail (unless cdn is cloudflare).",
    allowed: "entries 'example.com' or 'app:example.com' (lowercase host names)",
    default: [],
    schema: z.array(z.string().regex(/^([a-z][a-z0-9]{0,20}:)?[^:]+$/, { error: "entries are 'host' or 'app:host'" })),
  },
  settingsModules: {
    type: "array",
    items: "string",
    description: "The Django settings module each app's servers load, as 'module' (for the first app) or 'app:module', e.g. 'config.settings.production'. Default: the module manage.py names. The servers load it and then set the production values over it (docs/django-settings.md).",
    allowed: "entries 'module' or 'app:module': a dotted Python module path to a file in the app's folder, at most one entry per app",
    default: [],
    schema: z.array(z.string().regex(/^([a-z][a-z0-9]{0,20}:)?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, {
      error: "entries are 'module' or 'app:module', the module a dotted Python path such as config.settings.production",
    })),
  },
  appEnv: {
    type: "array",
    items: "string",
    description: "The apps' own environment variables, as 'NAME=value' (for the first app) or 'app:NAME=value', e.g. 'SENTRY_ENVIRONMENT=production'. Every process of the app sees them (web, workers, release commands); they are written to the app's app.env on its servers, so they are not for secrets (use appSecrets). Names the stack sets itself (DATABASE_URL, DJANGO_SETTINGS_MODULE, SECRET_KEY, REDIS_URL, ..., anything starting DJANGO_TIERS_, AWS_ or LD_) are refused. A change reaches the servers with the next pulumi up.",
    allowed: "entries 'NAME=value' or 'app:NAME=value': NAME of letters, digits and _ (not a name the stack sets, not secret-looking), the value one line of at most 4096 characters (quotes, $ and spaces are fine; newlines and other control characters are not), each name once per app",
    default: [],
    schema: z.array(z.string().regex(/^([a-z][a-z0-9]{0,20}:)?[^=:]+=/, { error: "entries are 'NAME=value' or 'app:NAME=value'" })),
  },
  appSecrets: {
    type: "array",
    items: "string",
    description: "Names of the apps' own secret environment variables, as 'NAME' (for the first app) or 'app:NAME', e.g. 'SENTRY_DSN' or 'shop:STRIPE_API_KEY'. Each value is Pulumi secret config under the key appSecret_<app>_<NAME> (`pulumi config set --secret django-tiers:appSecret_shop_STRIPE_API_KEY <value>`); it goes into the app's Secrets Manager secret beside SECRET_KEY and reaches its processes' environment the same way (secrets.env, written at boot), never a file the stack renders, an output or a log. Changing a value and running pulumi up rotates it on the servers without a new release. The same names as appEnv are refused.",
    allowed: "entries 'NAME' or 'app:NAME': NAME of letters, digits and _ (not a name the stack sets, not in appEnv for the same app), each once per app, each with its value set as a secret in appSecret_<app>_<NAME>",
    default: [],
    schema: z.array(z.string().regex(/^([a-z][a-z0-9]{0,20}:)?[^:=]+$/, { error: "entries are 'NAME' or 'app:NAME' (the value goes in secret config, not here)" })),
  },
  releaseVersion: {
    type: "string",
    description: "Version label of the release to deploy. Default: a hash of each app's folder, so a changed app is a new release.",
    allowed: "1–64 characters of [A-Za-z0-9._-]",
    default: "",
    unset: true,
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1–64 characters of letters, digits, '.', '_' or '-'" }).optional(),
  },
  instanceType: {
    type: "string",
    description: "EC2 instance type of the box. Cost-sensitive: t4g.small is about $12/month. Must match `architecture` (Graviton types such as t4g/m7g are arm64).",
    allowed: "an EC2 instance type such as t4g.small or t3.small",
    default: "t4g.small",
    schema: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: "must look like an EC2 instance type, e.g. t4g.small" }),
  },
  architecture: {
    type: "string",
    description: "CPU architecture of the Debian AMI: arm64 (Graviton, cheaper) or x86_64.",
    allowed: ARCHITECTURES.join(", "),
    default: "arm64",
    schema: oneOf(ARCHITECTURES),
  },
  rootVolumeGb: {
    type: "integer",
    description: "Size of the box's encrypted gp3 root volume in GiB (it holds PostgreSQL's data on the single box). Growing it is in place; shrinking replaces the box.",
    allowed: "a whole number from 8 to 16384",
    default: 20,
    schema: int(8, 16384),
  },
  taskWorker: {
    type: "string",
    description: "Task runner beside the web processes of every app: celery (worker plus one beat), rq, none, or auto (the default): celery for an app whose project has a Celery app module (<project package>/celery.py, or a Celery app in its __init__.py), none for one without; the plan says what it found. appTaskWorkers sets it per app. Apps with a runner share one kind (celery or rq).",
    allowed: [...TASK_WORKERS, "auto"].join(", "),
    default: "auto",
    schema: oneOf([...TASK_WORKERS, "auto"] as const),
  },
  appTaskWorkers: {
    type: "array",
    items: "string",
    description: "The task runner of one app, over taskWorker: 'value' (for the first app) or 'app:value', e.g. 'blog:none' for an app with no tasks (it gets no worker or beat program). Apps with a runner share one kind.",
    allowed: "entries 'celery', 'rq', 'none' or 'app:<one of them>', at most one per app",
    default: [],
    schema: z.array(z.string().regex(/^([a-z][a-z0-9]{0,20}:)?(celery|rq|none)$/, { error: "entries are 'celery', 'rq', 'none' or 'app:<one of them>'" })),
  },
  longestTaskSeconds: {
    type: "integer",
    description: "The longest a task may run. Workers get this long to finish on stop (supervisor stopwaitsecs).",
    allowed: "a whole number from 1 to 43200",
    default: 300,
    schema: int(1, 43200),
  },
  maxUploadMb: {
    type: "integer",
    description: "Largest request body (media upload) accepted, in MiB; nginx client_max_body_size and Django's upload limits follow it.",
    allowed: "a whole number from 1 to 1024",
    default: 10,
    schema: int(1, 1024),
  },
  gunicornWorkers: {
    type: "integer",
    description: "Fixed number of gunicorn workers per app. 0 (the default): 2 × cores + 1, computed on the box.",
    allowed: "a whole number from 1 to 64",
    default: 0,
    unset: true,
    schema: int(1, 64).optional(),
  },
  requestTimeoutSeconds: {
    type: "integer",
    description: "The longest a request may run before it is cut off: gunicorn's worker timeout. Every layer in front waits a little longer, so gunicorn ends a slow request and the visitor gets nginx's answer: nginx's proxy_read_timeout and proxy_send_timeout are 60 s or this plus 5 s, whichever is longer; on load-balanced the ALB's idle timeout (and CloudFront's origin response timeout) equal nginx's, and nginx's keepalive_timeout is 15 s more. With cdn: cloudfront at most 55 (CloudFront waits at most 60 s for the origin unless AWS raises the quota), with cdn: cloudflare at most 95 (Cloudflare answers 524 after 100 s). A promotion or reload gives running requests gracefulTimeoutSeconds to finish: raise that too for long requests. Was gunicornTimeoutSeconds.",
    allowed: "a whole number from 5 to 3600 (at most 55 with cdn: cloudfront, 95 with cdn: cloudflare)",
    default: 30,
    schema: int(5, 3600),
  },
  gracefulTimeoutSeconds: {
    type: "integer",
    description: "Seconds gunicorn workers get to finish their requests on reload or stop; supervisor waits at least this long.",
    allowed: "a whole number from 5 to 300",
    default: 30,
    schema: int(5, 300),
  },
  highAvailability: {
    type: "string",
    description: "Standbys for the managed services: a multi-AZ RDS standby and a second ElastiCache node with automatic failover. Doubles their cost. auto: on in prod, off elsewhere.",
    allowed: "auto, on, off",
    default: "auto",
    schema: oneOf(["auto", "on", "off"] as const),
  },
  databaseEngine: {
    type: "string",
    description: "Engine of the RDS database (tiers external-db and up). Changing it replaces the database: it starts empty.",
    allowed: "postgres, mysql, mariadb",
    default: "postgres",
    schema: oneOf(["postgres", "mysql", "mariadb"] as const),
  },
  databaseVersion: {
    type: "string",
    description: "Engine major version of the RDS database. Default: 16 for postgres, 8.0 for mysql, 10.11 for mariadb. Minor versions upgrade automatically.",
    allowed: "a version such as 16, 15, 8.0 or 10.11",
    default: "",
    unset: true,
    schema: z.string().regex(/^\d+(\.\d+)?$/, { error: "must be a major version such as 16 or 8.0" }).optional(),
  },
  databaseInstanceClass: {
    type: "string",
    description: "RDS instance class. Cost-sensitive: db.t4g.micro is about $12/month single-AZ, double with highAvailability.",
    allowed: "an RDS instance class such as db.t4g.micro or db.m7g.large",
    default: "db.t4g.micro",
    schema: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, { error: "must be an RDS instance class such as db.t4g.micro" }),
  },
  databaseStorageGb: {
    type: "integer",
    description: "Initial RDS storage in GiB (gp3); it grows by itself up to databaseMaxStorageGb.",
    allowed: "a whole number from 20 to 16384",
    default: 20,
    schema: int(20, 16384),
  },
  databaseMaxStorageGb: {
    type: "integer",
    description: "The cap of RDS storage autoscaling, in GiB.",
    allowed: "a whole number from 20 to 65536, at least databaseStorageGb",
    default: 100,
    schema: int(20, 65536),
  },
  cache: {
    type: "string",
    description: "Where the cache and the task broker run: on-box (Redis on the app server) or elasticache (a managed Valkey replication group, TLS and AUTH). auto: elasticache on load-balanced, on-box below.",
    allowed: "auto, on-box, elasticache",
    default: "auto",
    schema: oneOf(["auto", "on-box", "elasticache"] as const),
  },
  cacheNodeType: {
    type: "string",
    description: "ElastiCache node type. Cost-sensitive: cache.t4g.micro is about $12/month per node.",
    allowed: "an ElastiCache node type such as cache.t4g.micro",
    default: "cache.t4g.micro",
    schema: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, { error: "must be an ElastiCache node type such as cache.t4g.micro" }),
  },
  vpcCidr: {
    type: "string",
    description: "CIDR block of the VPC the stack creates (ignored when vpcId is given).",
    allowed: "an IPv4 CIDR from /16 to /24, e.g. 10.0.0.0/16",
    default: "10.0.0.0/16",
    schema: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/, { error: "must be an IPv4 CIDR from /16 to /24, e.g. 10.0.0.0/16" })
      .refine((c) => c.split("/")[0].split(".").every((o) => Number(o) <= 255), { error: "each octet must be 0–255" }),
  },
  availabilityZones: {
    type: "integer",
    description: "How many availability zones the VPC spans (public and private subnet in each).",
    allowed: "a whole number from 2 to 6",
    default: 2,
    schema: int(2, 6),
  },
  natGateway: {
    type: "boolean",
    description: "Create a NAT gateway so private subnets reach the internet (about $33/month plus traffic). Off in cheap presets: nothing runs in private subnets on the single box.",
    allowed: "true or false",
    default: false,
    schema: z.boolean({ error: "must be true or false" }),
  },
  vpcId: {
    type: "string",
    description: "Bring your own VPC: its id. Give publicSubnetIds and privateSubnetIds with it.",
    allowed: "a VPC id such as vpc-0abc1234",
    default: "",
    unset: true,
    schema: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, { error: "must be a VPC id such as vpc-0abc1234" }).optional(),
  },
  publicSubnetIds: {
    type: "array",
    items: "string",
    description: "With vpcId: public subnet ids, in at least two availability zones.",
    allowed: "two or more subnet ids such as subnet-0abc1234",
    default: [],
    unset: true,
    schema: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: "must be a subnet id such as subnet-0abc1234" })).optional(),
  },
  privateSubnetIds: {
    type: "array",
    items: "string",
    description: "With vpcId: private subnet ids, in at least two availability zones.",
    allowed: "two or more subnet ids such as subnet-0abc1234",
    default: [],
    unset: true,
    schema: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { error: "must be a subnet id such as subnet-0abc1234" })).optional(),
  },
  cloudflareZoneId: {
    type: "string",
    description: "Cloudflare zone holding the domains (32 hex characters, on the zone's overview page). Needed when domains are set; the API token goes in cloudflare:apiToken (secret).",
    allowed: "32 lowercase hex characters",
    default: "",
    unset: true,
    schema: z.string().regex(/^[0-9a-f]{32}$/, { error: "must be 32 lowercase hex characters" }).optional(),
  },
  acmeEmail: {
    type: "string",
    description: "Email Let's Encrypt writes to about certificate expiry. Needed when domains are set on a box tier, except with cdn: cloudflare (the box then serves a Cloudflare Origin CA certificate, no ACME).",
    allowed: "an email address",
    default: "",
    unset: true,
    schema: z.email({ error: "must be an email address" }).optional(),
  },
  alertEmail: {
    type: "string",
    description: "Email address that receives the stack's alarms (AWS asks it to confirm first). Without it alarms still go to the stack's SNS topic; subscribe to it however you like.",
    allowed: "an email address",
    default: "",
    unset: true,
    schema: z.email({ error: "must be an email address" }).optional(),
  },
  deletionProtection: {
    type: "boolean",
    description: "Refuse to terminate the box (and later the database and load balancer) and keep its disk if it is terminated anyway. On unless a stack turns it off; the plan lists a stack that does.",
    allowed: "true or false",
    default: true,
    schema: z.boolean({ error: "must be true or false" }),
  },
  backupHourUtc: {
    type: "integer",
    description: "Hour (UTC) of the nightly pg_dump to the artifacts bucket and of the EBS snapshot.",
    allowed: "a whole number from 0 to 23",
    default: 3,
    schema: int(0, 23),
  },
  backupRetentionDays: {
    type: "integer",
    description: "Days EBS snapshots and database dumps are kept.",
    allowed: "a whole number from 7 to 3650",
    default: 14,
    schema: int(7, 3650),
  },
  logRetentionDays: {
    type: "integer",
    description: "Days CloudWatch keeps the stack's logs.",
    allowed: LOG_RETENTION_DAYS.join(", "),
    default: 30,
    schema: z.number({ error: "must be a whole number" }).refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      error: `must be one of the values CloudWatch accepts: ${LOG_RETENTION_DAYS.join(", ")}`,
    }),
  },
  secretsRotation: {
    type: "string",
    description: "Label of the current generation of generated secrets (Django SECRET_KEY, database passwords). Change it and run pulumi up to rotate them (docs/runbooks/rotate-secrets.md).",
    allowed: "1–64 characters of [A-Za-z0-9._-]",
    default: "initial",
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1–64 characters of letters, digits, '.', '_' or '-'" }),
  },
  boxReleases: {
    type: "string",
    description: "Box tiers: how a release reaches the box. in-place: one gunicorn per app, replaced by a graceful reload on each pulumi up. blue-green: two gunicorn programs per app (blue and green, each its own release), switched by renaming a socket link nginx follows (no nginx reload, so no keep-alive request is dropped); `npm run promote` deploys the idle color, smoke-tests it through the header X-Django-Tiers-Color and switches (liveColor, blueRelease, greenRelease and idleFleet then apply). The idle color's gunicorn uses memory while it runs (size the box for two pools). The load-balanced tier is always blue-green.",
    allowed: "in-place, blue-green",
    default: "in-place",
    schema: oneOf(["in-place", "blue-green"] as const),
  },
  liveColor: {
    type: "string",
    description: "load-balanced, or a box tier with boxReleases: blue-green: the color (blue or green) that takes the traffic. `npm run promote` changes it; setting it by hand switches all traffic in one update.",
    allowed: "blue, green",
    default: "blue",
    schema: oneOf(COLORS),
  },
  blueRelease: {
    type: "string",
    description: "load-balanced, or a box tier with boxReleases: blue-green: the release the blue fleet (or the box's blue gunicorn) runs. Empty: the release built from the app folders now (releaseVersion or the folders' hash). Pin it (promote does) so a code change goes out through the idle color, not the live one.",
    allowed: "1–64 characters of [A-Za-z0-9._-]",
    default: "",
    unset: true,
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1–64 characters of letters, digits, '.', '_' or '-'" }).optional(),
  },
  greenRelease: {
    type: "string",
    description: "load-balanced, or a box tier with boxReleases: blue-green: the release the green fleet (or the box's green gunicorn) runs (see blueRelease).",
    allowed: "1–64 characters of [A-Za-z0-9._-]",
    default: "",
    unset: true,
    schema: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1–64 characters of letters, digits, '.', '_' or '-'" }).optional(),
  },
  idleFleet: {
    type: "string",
    description: "load-balanced, or a box tier with boxReleases: blue-green: whether the color that is not live runs (running: during a promotion and its rollback window) or not (stopped: the idle fleet has no servers and costs nothing; on a box, the idle gunicorn is stopped and frees its memory).",
    allowed: "stopped, running",
    default: "stopped",
    schema: oneOf(["stopped", "running"] as const),
  },
  canaryWeight: {
    type: "integer",
    description: "load-balanced: percent of requests the idle fleet gets while it is promoted (a canary). Needs idleFleet: running. Not on a box: nginx switches all traffic at once.",
    allowed: "a whole number from 0 to 50",
    default: 0,
    schema: int(0, 50),
  },
  fleetMinSize: {
    type: "integer",
    description: "load-balanced: fewest app servers in the live fleet. 0 (the default): 2 in prod (one per zone), 1 elsewhere.",
    allowed: "a whole number from 1 to 100",
    default: 0,
    unset: true,
    schema: int(1, 100).optional(),
  },
  fleetMaxSize: {
    type: "integer",
    description: "load-balanced: most app servers the live fleet scales out to.",
    allowed: "a whole number from 1 to 100, at least fleetMinSize",
    default: 4,
    schema: int(1, 100),
  },
  fleetTargetCpu: {
    type: "integer",
    description: "load-balanced: average CPU percent the fleet's target-tracking scaling keeps.",
    allowed: "a whole number from 10 to 90",
    default: 60,
    schema: int(10, 90),
  },
  fleetImage: {
    type: "string",
    description: "load-balanced: the Debian 12 image every fleet boots (app, workers, scheduler), as an AMI id (ami-…) or the name of one of Debian's official images (debian-12-arm64-20250610-2137; amd64 for x86_64). Unset: each fleet keeps the image it was created with (the newest Debian 12 at that time) and never moves by itself. Setting or changing it rolls every fleet onto that image in the next pulumi up (a planned change: the launch templates' imageId shows in the plan).",
    allowed: "an AMI id such as ami-0123456789abcdef0, or a Debian 12 image name such as debian-12-arm64-20250610-2137",
    default: "",
    unset: true,
    schema: z.string().regex(/^(ami-([0-9a-f]{8}|[0-9a-f]{17})|debian-12-(arm64|amd64)-\d{8}-\d+)$/, { error: "must be an AMI id (ami- and 8 or 17 hex digits) or a Debian 12 image name (debian-12-<arm64|amd64>-<yyyymmdd>-<build>)" }).optional(),
  },
  cdn: {
    type: "string",
    description: "A CDN in front of the site: cloudfront (load-balanced only: static and media from S3 at the edge), cloudflare (proxied records, SSL strict; the load balancer or the box admits only Cloudflare, and a box serves a Cloudflare Origin CA certificate; needs domains and cloudflareZoneId), or none.",
    allowed: "none, cloudfront, cloudflare",
    default: "none",
    schema: oneOf(["none", "cloudfront", "cloudflare"] as const),
  },
  taskQueueBroker: {
    type: "string",
    description: "load-balanced: the task broker of the worker fleet: redis (the ElastiCache cache) or sqs (encrypted queues with a dead-letter queue; Celery only).",
    allowed: "redis, sqs",
    default: "redis",
    schema: oneOf(["redis", "sqs"] as const),
  },
  taskQueues: {
    type: "array",
    items: "string",
    description: "load-balanced: the Celery queues the workers consume (each an SQS queue with the sqs broker).",
    allowed: "one to ten distinct names of [a-z0-9_-], at most 40 characters",
    default: ["celery"],
    schema: z.array(z.string().regex(/^[a-z0-9_-]{1,40}$/, { error: "queue names are 1–40 characters of a-z, 0-9, '_' or '-'" }))
      .min(1, { error: "list at least one queue" }).max(10, { error: "at most ten queues" })
      .refine((q) => new Set(q).size === q.length, { error: "queue names must be distinct" }),
  },
  workerInstanceType: {
    type: "string",
    description: "load-balanced: EC2 instance type of the task workers (and of the one scheduler that runs Celery beat). Same architecture as instanceType.",
    allowed: "an EC2 instance type such as t4g.small",
    default: "t4g.small",
    schema: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: "must look like an EC2 instance type, e.g. t4g.small" }),
  },
  workerMinSize: {
    type: "integer",
    description: "load-balanced: fewest task workers.",
    allowed: "a whole number from 1 to 100",
    default: 1,
    schema: int(1, 100),
  },
  workerMaxSize: {
    type: "integer",
    description: "load-balanced: most task workers (they scale on CPU).",
    allowed: "a whole number from 1 to 100, at least workerMinSize",
    default: 2,
    schema: int(1, 100),
  },
  relaxedChecks: {
    type: "array",
    items: "string",
    description: "Ids of policy checks this stack deliberately waives (see docs/policies.md). The plan lists every relaxation with this setting as its reason.",
    allowed: "ids of known policy checks",
    default: [],
    schema: z.array(z.string()),
  },
} satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;
