/**
 * Turns a stack's raw config into validated, resolved `Settings`, or throws
 * a `SettingsError` listing every problem: the setting, the value given and
 * what is allowed. Runs before any resource is declared.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { ALL_CHECKS } from "../policies";
import { AwsModels, findModelDir } from "../policies/conformance/models";
import { PRESETS } from "./presets";
import { appEnvNameProblem, appEnvValueProblem } from "../server/validate";
import { ENVIRONMENTS, SETTINGS, SettingKey, SettingSpec, TIERS, Tier } from "./settings";
import { type RequestTimeouts, longestRequestBehind, requestTimeouts } from "./timeouts";

export type Environment = (typeof ENVIRONMENTS)[number];

export interface AppSettings {
  name: string;
  /** Host names routed to this app; empty for the default server. */
  domains: string[];
  /** Absolute path of the Django project folder (manage.py at its top). */
  dir: string;
  /** The app's own settings module, which the servers load under the production values. */
  settingsModule: string;
  /** Where settingsModule came from: manage.py's default, or the settingsModules setting. */
  settingsModuleFrom: "manage.py" | "settingsModules";
  wsgiApplication: string;
  /** The project package, used for `celery -A`. */
  projectPackage: string;
  /** The app's task runner: none means no worker or beat program. */
  taskWorker: "celery" | "rq" | "none";
  /** Where taskWorker came from: appTaskWorkers, the stack's taskWorker, or the project (taskWorker auto). */
  taskWorkerFrom: "appTaskWorkers" | "taskWorker" | "detected";
  /** The app's own environment variables (appEnv), in the order given. */
  env: Record<string, string>;
  /** The app's own secrets (appSecrets), their values from secret config. */
  secrets: AppSecretSetting[];
}

/** One of an app's own secrets: its name in the environment, and its value. */
export interface AppSecretSetting {
  name: string;
  /** The config key that holds the value, without the namespace: appSecret_<app>_<NAME>. */
  configKey: string;
  value: SecretText;
}

/**
 * A secret's value, kept out of every printed or serialised form of the
 * settings (JSON, console.log, error messages): only `reveal()` returns it,
 * for the one place that hands it to Pulumi as a secret.
 */
export class SecretText {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return "[secret]";
  }
  toString(): string {
    return "[secret]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "[secret]";
  }
}

/** The config key (without namespace) holding the value of app `app`'s secret `name`. */
export function appSecretConfigKey(app: string, name: string): string {
  return `${APP_SECRET_PREFIX}${app}_${name}`;
}
const APP_SECRET_PREFIX = "appSecret_";

export type NetworkSettings =
  | { mode: "create"; cidr: string; azCount: number; natGateway: boolean }
  | { mode: "existing"; vpcId: string; publicSubnetIds: string[]; privateSubnetIds: string[] };

export interface Settings {
  project: string;
  stack: string;
  tier: Tier;
  environment: Environment;
  apps: AppSettings[];
  releaseVersion?: string;
  box: { instanceType: string; architecture: "arm64" | "x86_64"; rootVolumeGb: number };
  taskWorker: "celery" | "rq" | "none";
  longestTaskSeconds: number;
  maxUploadMb: number;
  gunicorn: { workers?: number; timeoutSeconds: number; gracefulTimeoutSeconds: number };
  /** requestTimeoutSeconds rendered into every layer (config/timeouts.ts). */
  timeouts: RequestTimeouts;
  network: NetworkSettings;
  /**
   * Present when the stack has domains: DNS in Cloudflare. `acmeEmail` is
   * for Let's Encrypt on a box; "" where no ACME runs (load-balanced, or a
   * box behind cdn: cloudflare).
   */
  dns?: { cloudflareZoneId: string; acmeEmail: string };
  /** Receives the stack's alarms, when set. */
  alertEmail?: string;
  deletionProtection: boolean;
  /** Standbys for RDS and ElastiCache (multi-AZ). */
  highAvailability: boolean;
  /** Set when the tier puts PostgreSQL (or MySQL/MariaDB) on RDS. */
  database?: {
    engine: "postgres" | "mysql" | "mariadb";
    version?: string;
    instanceClass: string;
    storageGb: number;
    maxStorageGb: number;
  };
  /** Where the cache and broker run. */
  cache: { mode: "on-box" } | { mode: "elasticache"; nodeType: string };
  /** Static and media files on S3 (object-storage tier and up). */
  objectStorage: boolean;
  backup: { hourUtc: number; retentionDays: number };
  logRetentionDays: number;
  secretsRotation: string;
  relaxedChecks: string[];
  /** load-balanced: the blue and green app fleets. */
  fleet?: {
    minSize: number;
    maxSize: number;
    targetCpuPercent: number;
    liveColor: "blue" | "green";
    /** Pinned release per color; absent: the release built from the app folders now. */
    releases: { blue?: string; green?: string };
    /** The idle color has servers (during a promotion and its rollback window). */
    idleRunning: boolean;
    /** Percent of traffic the idle color gets (a canary). */
    canaryWeight: number;
    /** The image every fleet boots; absent: each keeps the one it was created with. */
    image?: { id: string } | { name: string };
  };
  /**
   * A box tier with boxReleases: blue-green: two gunicorn programs per app
   * on the one box, nginx sending traffic to the live one.
   */
  boxColors?: {
    liveColor: "blue" | "green";
    /** Pinned release per color; absent: the release built from the app folders now. */
    releases: { blue?: string; green?: string };
    /** The idle color's gunicorn runs (during a promotion and its rollback window). */
    idleRunning: boolean;
  };
  /**
   * The CDN in front of the site: on load-balanced, in front of the load
   * balancer; on the box tiers, cloudflare or none (the box then serves a
   * Cloudflare Origin CA certificate and admits only Cloudflare).
   */
  cdn: "none" | "cloudfront" | "cloudflare";
  /** load-balanced with a task worker: the worker fleet and its broker. */
  taskQueue?: {
    broker: "redis" | "sqs";
    queues: string[];
    instanceType: string;
    minSize: number;
    maxSize: number;
  };
}

export interface SettingsProblem {
  setting: string;
  given: unknown;
  message: string;
  allowed?: string;
}

export class SettingsError extends Error {
  constructor(public readonly namespace: string, public readonly problems: SettingsProblem[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems
          .map((p) => {
            const given = p.given === undefined ? "not set" : `got ${JSON.stringify(p.given)}`;
            const allowed = p.allowed ? ` Allowed: ${p.allowed}.` : "";
            // Settings of other namespaces (aws:region) are named whole.
            const key = p.setting.includes(":") ? p.setting : `${namespace}:${p.setting}`;
            return `  - ${key} (${given}): ${p.message}.${allowed}`;
          })
          .join("\n"),
    );
    this.name = "SettingsError";
  }
}

export interface ValidationContext {
  project: string;
  stack: string;
  /** Folder the stack's relative paths are resolved from (the project folder). */
  projectDir: string;
  /** Ids of the policy checks that exist, for `relaxedChecks`. Default: every check in policies/. */
  knownChecks?: readonly string[];
  /** Config namespace used in messages (default: the project name). */
  namespace?: string;
  /**
   * Keys (without the namespace) whose values Pulumi holds as secrets. Their
   * values are never printed in an error; an appSecret_ key outside it is
   * refused (it would sit in plain text in the stack file). Undefined: not
   * known (no plain-text check).
   */
  secretKeys?: readonly string[];
}

/** Settings that were renamed: a stack that still sets the old name is told the new one. */
const RENAMED_SETTINGS: Record<string, { to: SettingKey; why: string }> = {
  gunicornTimeoutSeconds: { to: "requestTimeoutSeconds", why: "it sets nginx's and the load balancer's timeouts too, not only gunicorn's" },
};

/** Pulumi hands config values over as strings; read numbers, booleans and JSON back. */
export function coerceConfigValue(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const t = value.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  if (t.startsWith("[") || t.startsWith("{")) {
    try {
      return JSON.parse(t);
    } catch {
      return value;
    }
  }
  return value;
}

const GRAVITON_FAMILY = /^[a-z]+\d+g[a-z]*\./;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Reads the settings module from manage.py, as Django's own template writes it. */
export function discoverDjangoProject(dir: string): { settingsModule: string; projectPackage: string } | string {
  const manage = path.join(dir, "manage.py");
  if (!fs.existsSync(dir)) return `folder ${dir} does not exist`;
  if (!fs.existsSync(manage)) return `${manage} is missing (each app folder is a Django project with manage.py at its top)`;
  const m = /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([A-Za-z_][\w.]*)["']/.exec(fs.readFileSync(manage, "utf8"));
  if (!m) return `${manage} does not set DJANGO_SETTINGS_MODULE`;
  const projectPackage = m[1].split(".")[0];
  if (!fs.existsSync(path.join(dir, projectPackage, "wsgi.py"))) return `${path.join(dir, projectPackage, "wsgi.py")} is missing`;
  return { settingsModule: m[1], projectPackage };
}

function pythonModuleExists(dir: string, module: string): boolean {
  const rel = module.split(".").join(path.sep);
  return fs.existsSync(path.join(dir, `${rel}.py`)) || fs.existsSync(path.join(dir, rel, "__init__.py"));
}

/** Names of settings modules meant for a laptop or CI (config.settings.local, mysite.settings_dev, …). */
const DEVELOPMENT_MODULE = /(^|[._])(local|dev|develop|development|test|tests|testing)$/;

/**
 * A note when manage.py's module looks like a development one: the servers
 * would load it (under the production values). Names the project's
 * production-looking sibling when there is one.
 */
export function developmentModuleNote(app: AppSettings): string | undefined {
  if (app.settingsModuleFrom !== "manage.py" || !DEVELOPMENT_MODULE.test(app.settingsModule)) return undefined;
  const parent = app.settingsModule.split(".").slice(0, -1);
  const sibling = ["production", "prod"].map((n) => [...parent, n].join(".")).find((m) => pythonModuleExists(app.dir, m));
  return `App ${app.name}: manage.py names ${app.settingsModule}, which looks like a development settings module; the servers load it (with the production values over it). ` +
    (sibling
      ? `The project has ${sibling}: set settingsModules to ["${app.name}:${sibling}"] to load it instead.`
      : `Set settingsModules to ["${app.name}:<module>"] to load another.`);
}

export function validateSettings(raw: Record<string, unknown>, ctx: ValidationContext): Settings {
  const ns = ctx.namespace ?? ctx.project;
  const problems: SettingsProblem[] = [];
  const known = Object.keys(SETTINGS) as SettingKey[];

  for (const key of Object.keys(raw)) {
    const renamed = RENAMED_SETTINGS[key];
    // A value set as a secret stays unprinted, whatever key it was set under.
    const given = ctx.secretKeys?.includes(key) ? "[secret]" : raw[key];
    if (renamed) {
      problems.push({ setting: key, given, message: `was renamed ${renamed.to}: ${renamed.why}; move the value there`, allowed: SETTINGS[renamed.to].allowed });
    } else if (!(known as string[]).includes(key) && !key.startsWith(APP_SECRET_PREFIX)) {
      // appSecret_<app>_<NAME> keys hold appSecrets' values: checked against it below.
      const near = closest(key, known);
      problems.push({ setting: key, given, message: `is not a setting of this project${near ? ` (did you mean ${near}?)` : ""}`, allowed: known.join(", ") });
    }
  }

  const values: Record<string, unknown> = {};
  for (const key of known) {
    const spec = SETTINGS[key];
    const given = raw[key] === undefined ? undefined : coerceConfigValue(raw[key]);
    let input = given === undefined ? ("default" in spec ? spec.default : undefined) : given;
    // An optional setting at its "unset" default has no value.
    if ("unset" in spec && JSON.stringify(input) === JSON.stringify(spec.default)) input = undefined;
    if (input === undefined && !(spec.schema as z.ZodType).safeParse(undefined).success) {
      problems.push({ setting: key, given: undefined, message: "is required", allowed: spec.allowed });
      continue;
    }
    const parsed = (spec.schema as z.ZodType).safeParse(input);
    if (parsed.success) {
      values[key] = parsed.data;
    } else {
      // A value written into appSecrets by mistake ('NAME=value') is not echoed.
      const shown = key === "appSecrets" && Array.isArray(given) ? given.map((e) => (typeof e === "string" ? e.replace(/=[\s\S]*/, "=[hidden]") : e)) : given;
      for (const issue of parsed.error.issues) {
        const where = issue.path.length ? ` (item ${issue.path.join(".")})` : "";
        problems.push({ setting: key, given: shown, message: `${issue.message}${where}`, allowed: spec.allowed });
      }
    }
  }
  if (problems.length) throw new SettingsError(ns, problems);

  const v = values as any;
  const problem = (setting: string, message: string, allowed?: string) =>
    problems.push({ setting, given: raw[setting] === undefined ? undefined : coerceConfigValue(raw[setting]), message, allowed });

  const pending = PRESETS[v.tier as Tier].pending;
  if (pending) {
    const built = TIERS.filter((t) => !PRESETS[t].pending);
    problem("tier", `"${v.tier}" is on the ladder but not built yet; it lands with ${pending}`, built.join(", "));
  }

  // environment: explicit, or the stack's name.
  let environment: Environment;
  if (v.environment) environment = v.environment;
  else if ((ENVIRONMENTS as readonly string[]).includes(ctx.stack)) environment = ctx.stack as Environment;
  else {
    problem("environment", `is required because the stack name "${ctx.stack}" is not one of dev, staging, prod`, ENVIRONMENTS.join(", "));
    environment = "dev";
  }

  // architecture and instance type must agree, or the AMI will not boot.
  const graviton = GRAVITON_FAMILY.test(v.instanceType);
  if (graviton && v.architecture !== "arm64") {
    problem("instanceType", `${v.instanceType} is a Graviton (arm64) type but architecture is ${v.architecture}`, "an x86_64 type such as t3.small, or set architecture: arm64");
  } else if (!graviton && v.architecture === "arm64") {
    problem("instanceType", `${v.instanceType} is an x86_64 type but architecture is arm64`, "an arm64 type such as t4g.small, or set architecture: x86_64");
  }

  // Network: create one, or bring all three ids.
  let network: NetworkSettings;
  const byo = [v.vpcId, v.publicSubnetIds, v.privateSubnetIds].filter((x) => x !== undefined).length;
  if (byo === 0) {
    network = { mode: "create", cidr: v.vpcCidr, azCount: v.availabilityZones, natGateway: v.natGateway };
  } else {
    if (byo !== 3) {
      for (const k of ["vpcId", "publicSubnetIds", "privateSubnetIds"]) {
        if (v[k] === undefined) problem(k, "is required when bringing your own VPC (vpcId, publicSubnetIds and privateSubnetIds go together)");
      }
    }
    for (const k of ["publicSubnetIds", "privateSubnetIds"]) {
      if (v[k] && v[k].length < 2) problem(k, "needs subnets in at least two availability zones", "two or more subnet ids");
    }
    if (v.natGateway) problem("natGateway", "cannot be true with vpcId: the stack does not manage routing in a VPC it did not create", "false when vpcId is set");
    network = { mode: "existing", vpcId: v.vpcId, publicSubnetIds: v.publicSubnetIds ?? [], privateSubnetIds: v.privateSubnetIds ?? [] };
  }

  // Apps and their domains.
  const appNames: string[] = v.apps;
  const domainsByApp = new Map<string, string[]>(appNames.map((n) => [n, []]));
  const seen = new Set<string>();
  for (const entry of v.domains as string[]) {
    const [app, host] = entry.includes(":") ? entry.split(":") : [appNames[0], entry];
    if (!domainsByApp.has(app)) {
      problem("domains", `entry "${entry}" names app "${app}", which is not in apps`, `one of ${appNames.join(", ")}`);
      continue;
    }
    if (!HOSTNAME.test(host)) {
      problem("domains", `"${host}" is not a valid lowercase host name`, "host names such as example.com or www.example.com");
      continue;
    }
    if (seen.has(host)) problem("domains", `"${host}" is listed twice`, "each host once");
    seen.add(host);
    domainsByApp.get(app)!.push(host);
  }
  if (appNames.length > 1) {
    for (const [app, hosts] of domainsByApp) {
      if (hosts.length === 0) problem("domains", `app "${app}" has no domain; with several apps nginx routes by domain, so each needs one`, "an entry 'app:host' for every app");
    }
  }
  let dns: Settings["dns"];
  const boxFront = PRESETS[v.tier as Tier].front === "box";
  if (seen.size > 0) {
    if (!v.cloudflareZoneId) problem("cloudflareZoneId", "is required when domains are set (DNS records are created in Cloudflare)", SETTINGS.cloudflareZoneId.allowed);
    // Behind Cloudflare a box serves a Cloudflare Origin CA certificate: no ACME, no email.
    const boxAcme = boxFront && v.cdn !== "cloudflare";
    if (!v.acmeEmail && boxAcme) problem("acmeEmail", "is required when domains are set (the box gets its TLS certificates from Let's Encrypt)", `${SETTINGS.acmeEmail.allowed}; or cdn: cloudflare, whose Origin CA certificate needs none`);
    if (v.cloudflareZoneId && (v.acmeEmail || !boxAcme)) dns = { cloudflareZoneId: v.cloudflareZoneId, acmeEmail: v.acmeEmail ?? "" };
  }
  // cdn on a box: Cloudflare's proxy only. Behind CloudFront the box could not get its Let's Encrypt
  // certificate: HTTP-01 goes through the CDN, which (HTTPS to the origin) finds no valid certificate there yet.
  if (boxFront && v.cdn === "cloudfront") {
    problem("cdn", `cloudfront cannot front a box (this stack's tier is ${v.tier}): the box gets its certificate from Let's Encrypt, whose HTTP-01 challenge would go through CloudFront, and CloudFront's HTTPS connection to the origin fails until the box has a valid certificate`, "none or cloudflare on the box tiers (Cloudflare's Origin CA certificate needs no ACME), or tier: load-balanced for cloudfront");
  }
  if (boxFront && v.cdn === "cloudflare") {
    if (seen.size === 0) problem("domains", "cdn: cloudflare proxies the site's own domains and needs at least one (in the Cloudflare zone cloudflareZoneId)", "one or more host names, with cloudflareZoneId; or cdn: none");
    if (seen.size === 0 && !v.cloudflareZoneId) problem("cloudflareZoneId", "is required with cdn: cloudflare (the zone of the proxied records)", SETTINGS.cloudflareZoneId.allowed);
  }

  // A CDN waits only so long for the origin: the request timeout stays inside it (config/timeouts.ts).
  if (v.cdn === "cloudfront" || v.cdn === "cloudflare") {
    const longest = longestRequestBehind(v.cdn);
    if (v.requestTimeoutSeconds > longest) {
      const why = v.cdn === "cloudfront"
        ? "CloudFront waits at most 60 s for the origin's response (its default quota; the stack plans within it), and nginx waits 5 s longer than gunicorn"
        : "Cloudflare answers 524 when the origin has not responded after 100 s (all plans but Enterprise), and nginx waits 5 s longer than gunicorn";
      problem("requestTimeoutSeconds", `is above ${longest} with cdn: ${v.cdn}: ${why}`, `a whole number from 5 to ${longest} with cdn: ${v.cdn}; move longer work to the task queue`);
    }
  }

  // settingsModules: one entry per app at most, naming a module file in the app's folder (checked below).
  const chosenModules = new Map<string, string>();
  for (const entry of v.settingsModules as string[]) {
    const [app, module] = entry.includes(":") ? entry.split(":") : [appNames[0], entry];
    if (!appNames.includes(app)) problem("settingsModules", `entry "${entry}" names app "${app}", which is not in apps`, `one of ${appNames.join(", ")}`);
    else if (chosenModules.has(app)) problem("settingsModules", `app "${app}" has two entries`, "at most one entry per app");
    else chosenModules.set(app, module);
  }

  const envByApp = appEnvironments(v.appEnv as string[], appNames, problem);
  const chosenWorkers = new Map<string, "celery" | "rq" | "none">();
  for (const entry of v.appTaskWorkers as string[]) {
    const [app, worker] = entry.includes(":") ? entry.split(":") : [appNames[0], entry];
    if (!appNames.includes(app)) problem("appTaskWorkers", `entry "${entry}" names app "${app}", which is not in apps`, `one of ${appNames.join(", ")}`);
    else if (chosenWorkers.has(app)) problem("appTaskWorkers", `app "${app}" has two entries`, "at most one entry per app");
    else chosenWorkers.set(app, worker as "celery" | "rq" | "none");
  }
  const secretsByApp = appSecretSettings(v.appSecrets as string[], appNames, envByApp, raw, ctx, problems);

  const apps: AppSettings[] = [];
  for (const name of appNames) {
    const dir = path.resolve(ctx.projectDir, v.appsDir, name);
    const found = discoverDjangoProject(dir);
    if (typeof found === "string") {
      problem("apps", `app "${name}": ${found}`, `a Django project in ${path.join(v.appsDir, name)}`);
      continue;
    }
    const chosen = chosenModules.get(name);
    if (chosen && !pythonModuleExists(dir, chosen)) {
      problem("settingsModules", `app "${name}": module ${chosen} is not in ${dir} (neither ${chosen.replace(/\./g, "/")}.py nor ${chosen.replace(/\./g, "/")}/__init__.py)`, SETTINGS.settingsModules.allowed);
    }
    apps.push({
      name,
      domains: domainsByApp.get(name) ?? [],
      dir,
      settingsModule: chosen ?? found.settingsModule,
      settingsModuleFrom: chosen ? "settingsModules" : "manage.py",
      wsgiApplication: `${found.projectPackage}.wsgi:application`,
      projectPackage: found.projectPackage,
      ...appTaskWorker(dir, found.projectPackage, chosenWorkers.get(name), v.taskWorker),
      env: envByApp.get(name) ?? {},
      secrets: secretsByApp.get(name) ?? [],
    });
  }

  // One kind of runner per stack: a box installs one, the worker fleet runs one.
  const runners: Array<"celery" | "rq" | "none"> = [...new Set(apps.map((a) => a.taskWorker).filter((w) => w !== "none"))];
  if (runners.length > 1) {
    problem(chosenWorkers.size ? "appTaskWorkers" : "taskWorker", `apps use different task runners (${apps.filter((a) => a.taskWorker !== "none").map((a) => `${a.name}: ${a.taskWorker}`).join(", ")}); a stack runs one kind`, "the same runner (celery or rq) for every app that has one, none for the others");
  }
  const runner: "celery" | "rq" | "none" = runners[0] ?? "none";

  const knownChecks = ctx.knownChecks ?? ALL_CHECKS.map((c) => c.id);
  for (const id of v.relaxedChecks as string[]) {
    if (!knownChecks.includes(id)) problem("relaxedChecks", `"${id}" is not a policy check`, "ids listed in docs/policies.md");
  }

  const preset = PRESETS[v.tier as Tier];
  let database: Settings["database"];
  if (preset.database === "rds") {
    if (v.databaseMaxStorageGb < v.databaseStorageGb) {
      problem("databaseMaxStorageGb", `is below databaseStorageGb (${v.databaseStorageGb}); storage cannot grow to less than it starts with`, SETTINGS.databaseMaxStorageGb.allowed);
    }
    if (v.backupRetentionDays > 35) {
      problem("backupRetentionDays", "is above 35, the most RDS keeps automated backups on this tier", "7 to 35 on tiers with RDS");
    }
    database = {
      engine: v.databaseEngine,
      version: v.databaseVersion,
      instanceClass: v.databaseInstanceClass,
      storageGb: v.databaseStorageGb,
      maxStorageGb: v.databaseMaxStorageGb,
    };
  }
  const cacheMode = v.cache === "auto" ? (preset.front === "alb" ? "elasticache" : "on-box") : v.cache;

  // Settings this tier would ignore are errors: the stack would not do what they say.
  const defaults0 = (key: SettingKey) => raw[key] === undefined || JSON.stringify(coerceConfigValue(raw[key])) === JSON.stringify((SETTINGS[key] as SettingSpec).default);
  if (preset.database !== "rds") {
    for (const key of ["databaseEngine", "databaseVersion", "databaseInstanceClass", "databaseStorageGb", "databaseMaxStorageGb"] as SettingKey[]) {
      if (!defaults0(key)) problem(key, `applies to tiers with RDS only (external-db and up); this stack's tier is ${v.tier}, whose database runs on the box`, "leave it unset, or tier: external-db or higher");
    }
  }
  if (cacheMode !== "elasticache" && !defaults0("cacheNodeType")) {
    problem("cacheNodeType", "applies only with the cache on ElastiCache (cache: elasticache, or the load-balanced tier); this stack's cache is on the box", "leave it unset, or cache: elasticache");
  }
  if (preset.database !== "rds" && cacheMode !== "elasticache" && !defaults0("highAvailability")) {
    problem("highAvailability", `adds standbys to RDS and ElastiCache, and this stack has neither (tier ${v.tier}, cache on the box)`, "leave it unset, or a tier with RDS, or cache: elasticache");
  }

  // Types and classes that do not exist, against AWS's EC2 model where it is installed (policies/conformance/).
  const ec2Types = ec2InstanceTypes();
  if (ec2Types) {
    const exists = (t: string) => ec2Types.includes(t);
    const unknownType = (setting: string, given: string, what: string, strip = "") =>
      problem(setting, `${given} is not ${what}${strip ? ` (${given.slice(strip.length)} is not an EC2 instance type, which ${what}s follow)` : ""}${closestHint(given.slice(strip.length), ec2Types, strip)}`, SETTINGS[setting as SettingKey].allowed);
    if (!exists(v.instanceType)) unknownType("instanceType", v.instanceType, "an EC2 instance type");
    if (preset.front === "alb" && runner !== "none" && !exists(v.workerInstanceType)) unknownType("workerInstanceType", v.workerInstanceType, "an EC2 instance type");
    // RDS and ElastiCache classes are EC2 types behind a prefix; their models carry no list of their own.
    if (preset.database === "rds" && !exists(v.databaseInstanceClass.replace(/^db\./, ""))) unknownType("databaseInstanceClass", v.databaseInstanceClass, "an RDS instance class", "db.");
    if (cacheMode === "elasticache" && !exists(v.cacheNodeType.replace(/^cache\./, ""))) unknownType("cacheNodeType", v.cacheNodeType, "an ElastiCache node type", "cache.");
  }

  // The load-balanced tier: fleets, promotion, CDN and the task queue.
  const defaults = (key: SettingKey) => raw[key] === undefined || JSON.stringify(coerceConfigValue(raw[key])) === JSON.stringify((SETTINGS[key] as SettingSpec).default);
  const fleetOnly: SettingKey[] = [
    "liveColor", "blueRelease", "greenRelease", "idleFleet", "canaryWeight", "fleetMinSize", "fleetMaxSize", "fleetTargetCpu", "fleetImage",
    "taskQueueBroker", "taskQueues", "workerInstanceType", "workerMinSize", "workerMaxSize",
  ];
  // Blue-green on one box (boxReleases: blue-green): the color settings apply, a canary does not.
  const boxColorKeys: SettingKey[] = ["liveColor", "blueRelease", "greenRelease", "idleFleet"];
  let fleet: Settings["fleet"];
  let taskQueue: Settings["taskQueue"];
  let boxColors: Settings["boxColors"];
  if (preset.front !== "alb") {
    const blueGreen = v.boxReleases === "blue-green";
    for (const key of fleetOnly) {
      if (defaults(key) || (blueGreen && boxColorKeys.includes(key))) continue;
      if (key === "canaryWeight" && blueGreen) {
        problem(key, `has no canary on one box: nginx sends all traffic to the live color and a promotion switches it at once (a canary needs the load balancer's weights; this stack's tier is ${v.tier})`, "leave it unset (0), or tier: load-balanced");
      } else if (boxColorKeys.includes(key)) {
        problem(key, `applies to the load-balanced tier, or to a box tier with boxReleases: blue-green (this stack's tier is ${v.tier} and boxReleases is in-place)`, "leave it unset, or set boxReleases: blue-green");
      } else {
        problem(key, `applies to the load-balanced tier only (this stack's tier is ${v.tier})`, `leave it unset, or tier: load-balanced`);
      }
    }
    if (blueGreen) {
      boxColors = { liveColor: v.liveColor, releases: { blue: v.blueRelease, green: v.greenRelease }, idleRunning: v.idleFleet === "running" };
    }
  } else {
    if (!defaults("boxReleases")) {
      problem("boxReleases", "applies to the box tiers only: the load-balanced tier always releases blue-green, through its two fleets", "leave it unset on tier load-balanced");
    }
    if (seen.size === 0 || !v.cloudflareZoneId) {
      problem("domains", "the load-balanced tier needs at least one domain in a Cloudflare zone (cloudflareZoneId): the load balancer's certificate is validated through DNS records there", "one or more host names, with cloudflareZoneId");
    }
    if (network.mode === "create" && !v.natGateway) {
      problem("natGateway", "must be true on the load-balanced tier: its servers run in private subnets and reach Debian mirrors and AWS APIs through the NAT gateway (about $33/month)", "true");
    }
    if (cacheMode !== "elasticache") {
      problem("cache", "cannot be on-box on the load-balanced tier: the app servers are interchangeable and keep nothing, so the cache and broker must be shared", "auto or elasticache");
    }
    if (v.databaseEngine !== "postgres") {
      problem("databaseEngine", "must be postgres on the load-balanced tier: several servers release at once, and only PostgreSQL's advisory lock keeps all but one from running migrations", "postgres");
    }
    const minSize = v.fleetMinSize ?? (environment === "prod" ? 2 : 1);
    if (environment === "prod" && minSize < 2) {
      problem("fleetMinSize", "is below 2 in prod: one server is one zone, and a zone outage or a bad instance takes the site down", "2 or more in prod");
    }
    if (v.fleetMaxSize < minSize) problem("fleetMaxSize", `is below the fleet's minimum (${minSize})`, SETTINGS.fleetMaxSize.allowed);
    if (v.canaryWeight > 0 && v.idleFleet !== "running") {
      problem("canaryWeight", "sends traffic to the idle fleet, which has no servers (idleFleet is stopped)", "0, or set idleFleet: running");
    }
    const debianArch = v.architecture === "arm64" ? "arm64" : "amd64";
    if (v.fleetImage?.startsWith("debian-") && !v.fleetImage.startsWith(`debian-12-${debianArch}-`)) {
      problem("fleetImage", `names a ${v.fleetImage.split("-")[2]} image but architecture is ${v.architecture}`, `a debian-12-${debianArch}-… image name, an AMI id, or another architecture`);
    }
    fleet = {
      ...(v.fleetImage ? { image: v.fleetImage.startsWith("ami-") ? { id: v.fleetImage } : { name: v.fleetImage } } : {}),
      minSize,
      maxSize: v.fleetMaxSize,
      targetCpuPercent: v.fleetTargetCpu,
      liveColor: v.liveColor,
      releases: { blue: v.blueRelease, green: v.greenRelease },
      idleRunning: v.idleFleet === "running",
      canaryWeight: v.canaryWeight,
    };
    if (runner !== "none") {
      if (v.taskQueueBroker === "sqs" && runner !== "celery") {
        problem("taskQueueBroker", `sqs needs taskWorker celery (RQ works only with Redis; taskWorker is ${runner})`, "redis with rq");
      }
      if (v.workerMaxSize < v.workerMinSize) problem("workerMaxSize", `is below workerMinSize (${v.workerMinSize})`, SETTINGS.workerMaxSize.allowed);
      if (GRAVITON_FAMILY.test(v.workerInstanceType) !== (v.architecture === "arm64")) {
        problem("workerInstanceType", `${v.workerInstanceType} does not match architecture ${v.architecture}`, v.architecture === "arm64" ? "an arm64 type such as t4g.small" : "an x86_64 type such as t3.small");
      }
      taskQueue = { broker: v.taskQueueBroker, queues: v.taskQueues, instanceType: v.workerInstanceType, minSize: v.workerMinSize, maxSize: v.workerMaxSize };
    }
  }
  if (problems.length) throw new SettingsError(ns, problems);

  return {
    project: ctx.project,
    stack: ctx.stack,
    tier: v.tier,
    environment,
    apps,
    releaseVersion: v.releaseVersion,
    box: { instanceType: v.instanceType, architecture: v.architecture, rootVolumeGb: v.rootVolumeGb },
    taskWorker: runner,
    longestTaskSeconds: v.longestTaskSeconds,
    maxUploadMb: v.maxUploadMb,
    gunicorn: { workers: v.gunicornWorkers, timeoutSeconds: v.requestTimeoutSeconds, gracefulTimeoutSeconds: v.gracefulTimeoutSeconds },
    timeouts: requestTimeouts(v.requestTimeoutSeconds),
    network,
    dns,
    alertEmail: v.alertEmail,
    deletionProtection: v.deletionProtection,
    highAvailability: v.highAvailability === "auto" ? environment === "prod" : v.highAvailability === "on",
    database,
    cache: cacheMode === "elasticache" ? { mode: "elasticache", nodeType: v.cacheNodeType } : { mode: "on-box" },
    objectStorage: preset.files === "s3",
    backup: { hourUtc: v.backupHourUtc, retentionDays: v.backupRetentionDays },
    logRetentionDays: v.logRetentionDays,
    secretsRotation: v.secretsRotation,
    relaxedChecks: v.relaxedChecks,
    fleet,
    boxColors,
    cdn: v.cdn,
    taskQueue,
  };
}

/** Whether a project has a Celery app `celery -A <package>` finds: <package>/celery.py, or one made in its __init__.py. */
export function hasCeleryApp(dir: string, projectPackage: string): boolean {
  if (fs.existsSync(path.join(dir, projectPackage, "celery.py"))) return true;
  const init = path.join(dir, projectPackage, "__init__.py");
  return fs.existsSync(init) && /\bCelery\s*\(|from\s+\.celery\s+import/.test(fs.readFileSync(init, "utf8"));
}

/** An app's task runner: its appTaskWorkers entry, else the stack's taskWorker, else (auto) what its project has. */
function appTaskWorker(dir: string, projectPackage: string, chosen: "celery" | "rq" | "none" | undefined, stack: string):
  Pick<AppSettings, "taskWorker" | "taskWorkerFrom"> {
  if (chosen) return { taskWorker: chosen, taskWorkerFrom: "appTaskWorkers" };
  if (stack !== "auto") return { taskWorker: stack as "celery" | "rq" | "none", taskWorkerFrom: "taskWorker" };
  return { taskWorker: hasCeleryApp(dir, projectPackage) ? "celery" : "none", taskWorkerFrom: "detected" };
}

/**
 * What the plan says about an app's task runner: what was detected and why,
 * or that a chosen celery finds no Celery app in the project (its worker
 * would fail at release with "has no attribute 'celery'").
 */
export function taskWorkerNote(app: AppSettings): string | undefined {
  const module = `${app.projectPackage}/celery.py`;
  if (app.taskWorkerFrom === "detected") {
    const where = fs.existsSync(path.join(app.dir, module)) ? module : `in ${app.projectPackage}/__init__.py`;
    return app.taskWorker === "celery"
      ? `App ${app.name}: task worker celery (detected: its project has a Celery app, ${where}); a worker and one beat run it.`
      : `App ${app.name}: no task worker (detected: its project has no Celery app, no ${module}); it gets no worker or beat program. Set appTaskWorkers to ["${app.name}:celery"] or ["${app.name}:rq"] to run one.`;
  }
  if (app.taskWorker === "celery" && !hasCeleryApp(app.dir, app.projectPackage)) {
    return `App ${app.name}: task worker celery (from ${app.taskWorkerFrom}), but its project has no Celery app (no ${module}): its worker would fail at release. Set appTaskWorkers to ["${app.name}:none"] if it has no tasks.`;
  }
  return undefined;
}

/** Names that look like secrets (as the server-files-no-secrets check reads app.env): they belong in appSecrets. */
const SECRET_LOOKING_NAME = /SECRET_KEY|PASSWORD|PASSWD|TOKEN|SECRET_ACCESS_KEY/i;

/** appEnv's entries per app: 'NAME=value' for the first app or 'app:NAME=value'. */
function appEnvironments(entries: string[], appNames: string[], problem: (setting: string, message: string, allowed?: string) => void): Map<string, Record<string, string>> {
  const byApp = new Map<string, Record<string, string>>(appNames.map((n) => [n, {}]));
  const allowed = SETTINGS.appEnv.allowed;
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const head = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const colon = head.indexOf(":");
    const [app, name] = colon < 0 ? [appNames[0], head] : [head.slice(0, colon), head.slice(colon + 1)];
    const quoted = JSON.stringify(entry);
    if (!byApp.has(app)) {
      problem("appEnv", `entry ${quoted} names app "${app}", which is not in apps`, `one of ${appNames.join(", ")}`);
      continue;
    }
    const nameProblem = appEnvNameProblem(name);
    if (nameProblem) {
      problem("appEnv", `entry ${quoted}: ${nameProblem}${nameProblem.includes("set by the stack") ? " (docs/django-settings.md lists what it sets)" : ""}`, allowed);
      continue;
    }
    if (SECRET_LOOKING_NAME.test(name)) {
      problem("appEnv", `entry ${quoted}: ${name} looks like a secret, and appEnv's values are written to files on the servers`, `declare it in appSecrets and set its value with pulumi config set --secret`);
      continue;
    }
    const valueProblem = appEnvValueProblem(value);
    if (valueProblem) {
      problem("appEnv", `entry ${quoted}: the value of ${name} ${valueProblem}`, allowed);
      continue;
    }
    const env = byApp.get(app)!;
    if (name in env) problem("appEnv", `app "${app}" sets ${name} twice`, "each name once per app");
    else env[name] = value;
  }
  return byApp;
}

/**
 * appSecrets' names per app ('NAME' for the first app or 'app:NAME'), each
 * with its value from the secret config key appSecret_<app>_<NAME>. Every
 * appSecret_ key must belong to a declared name, so a misspelt key is an
 * error, not a secret that silently never arrives. No value is ever put in a
 * problem.
 */
function appSecretSettings(
  entries: string[],
  appNames: string[],
  envByApp: Map<string, Record<string, string>>,
  raw: Record<string, unknown>,
  ctx: ValidationContext,
  problems: SettingsProblem[],
): Map<string, AppSecretSetting[]> {
  const byApp = new Map<string, AppSecretSetting[]>(appNames.map((n) => [n, []]));
  const ns = ctx.namespace ?? ctx.project;
  const allowed = SETTINGS.appSecrets.allowed;
  const entryProblem = (message: string, allowedHere = allowed) => problems.push({ setting: "appSecrets", given: entries, message, allowed: allowedHere });
  // The value's key, given as "[secret]" whatever it holds.
  const keyProblem = (key: string, message: string, allowedHere: string) =>
    problems.push({ setting: key, given: raw[key] === undefined ? undefined : "[secret]", message, allowed: allowedHere });
  const setCommand = (key: string) => `pulumi config set --secret ${ns}:${key} <value>`;
  const declared = new Set<string>();
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const [app, name] = colon < 0 ? [appNames[0], entry] : [entry.slice(0, colon), entry.slice(colon + 1)];
    if (!byApp.has(app)) {
      entryProblem(`entry "${entry}" names app "${app}", which is not in apps`, `one of ${appNames.join(", ")}`);
      continue;
    }
    const nameProblem = appEnvNameProblem(name);
    if (nameProblem) {
      entryProblem(`entry "${entry}": ${nameProblem}`);
      continue;
    }
    if (name in (envByApp.get(app) ?? {})) {
      entryProblem(`entry "${entry}": app "${app}" also sets ${name} in appEnv`, "each name in appEnv or in appSecrets, not both");
      continue;
    }
    const key = appSecretConfigKey(app, name);
    if (declared.has(key)) {
      entryProblem(`app "${app}" declares ${name} twice`, "each name once per app");
      continue;
    }
    declared.add(key);
    const given = raw[key];
    if (given === undefined || given === "") {
      keyProblem(key, `is not set, and app "${app}" declares the secret ${name} in appSecrets`, `its value, set with \`${setCommand(key)}\``);
      continue;
    }
    if (ctx.secretKeys && !ctx.secretKeys.includes(key)) {
      keyProblem(key, "is stored in plain text in the stack's config file", `the value set as a secret: \`${setCommand(key)}\` (and the plain entry removed from the file)`);
      continue;
    }
    const value = typeof given === "string" ? given : JSON.stringify(given);
    if (value.includes("\0")) {
      keyProblem(key, "holds a NUL byte, which no environment variable can carry", "any text without NUL");
      continue;
    }
    byApp.get(app)!.push({ name, configKey: key, value: new SecretText(value) });
  }
  for (const key of Object.keys(raw).filter((k) => k.startsWith(APP_SECRET_PREFIX) && !declared.has(k))) {
    const expected = [...declared];
    const near = closest(key, expected);
    const m = /^appSecret_([a-z][a-z0-9]{0,20})_(.+)$/.exec(key);
    const hint = near ? ` (did you mean ${near}?)` : m ? `; to use it, add "${m[1]}:${m[2]}" to appSecrets` : "";
    keyProblem(key, `holds a secret that no entry of appSecrets declares${hint}`, `keys appSecret_<app>_<NAME> for the names in appSecrets${expected.length ? ` (${expected.join(", ")})` : ""}`);
  }
  return byApp;
}

/** EC2's instance types from AWS's model, when the models are installed (undefined otherwise: the format check stands). */
function ec2InstanceTypes(): string[] | undefined {
  const dir = findModelDir();
  if (!dir) return undefined;
  // EC2's model is large: read it once per process and folder.
  if (instanceTypes?.dir !== dir) instanceTypes = { dir, types: new AwsModels(dir).enumOf("ec2", "InstanceType") };
  return instanceTypes.types;
}
let instanceTypes: { dir: string; types: string[] | undefined } | undefined;

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

/** The known name nearest to a misspelt one (case-insensitive), if it is near enough to be meant. */
export function closest(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(given.toLowerCase(), k.toLowerCase());
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(given.length / 3)) ? best : undefined;
}

function closestHint(given: string, known: readonly string[], prefix: string): string {
  const near = closest(given, known);
  return near ? `; did you mean ${prefix}${near}?` : "";
}

/**
 * The stack's AWS region: `aws:region`, or the AWS_REGION / AWS_DEFAULT_REGION
 * the provider would read. None is an error: the stack never assumes one.
 */
export function regionProblems(config: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SettingsProblem[] {
  const region = config["aws:region"] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region === undefined || region === "") {
    return [{ setting: "aws:region", given: undefined, message: "is required: the stack deploys to the region it names and assumes none", allowed: "an AWS region such as us-east-1 or eu-west-1 (pulumi config set aws:region <region>, or AWS_REGION in the environment)" }];
  }
  if (typeof region !== "string" || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    return [{ setting: "aws:region", given: region, message: "is not an AWS region name", allowed: "an AWS region such as us-east-1 or eu-west-1" }];
  }
  return [];
}
