/**
 * One Django app on its own box, using a shared platform (examples/platform):
 * the platform's VPC, its stack key, its client security group and its RDS
 * server, on which this app gets its own database. Several stacks of this
 * project (one per app) share one platform. docs/shared-stacks.md has the
 * pattern, the outputs contract and what each app does and does not get
 * for itself.
 *
 * Either from a platform stack:
 *   pulumi stack init shop-prod
 *   pulumi config set platformStack acme/platform/platform-prod
 *   pulumi config set appName shop
 * or bring your own (no platformStack): plain ids in config, the database
 * password as a secret:
 *   pulumi config set vpcId vpc-0abc…  (and publicSubnetIds, clientSecurityGroupId, databaseAddress, databaseUsername)
 *   pulumi config set --secret databasePassword …
 */
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts, AppSecrets, Artifacts, Backup, Release, SingleBox, StackKey, type BoxSpec } from "../../library";

const config = new pulumi.Config();

// ---- this app's settings, checked before anything is declared -------------------------------------------
/** The app's name: its unix user, and its database on the shared server. Unique among the platform's apps. */
const appName = config.require("appName");
if (!/^[a-z][a-z0-9]{0,20}$/.test(appName)) {
  throw new Error(`app-on-platform: config appName must be a lowercase letter then up to 20 lowercase letters or digits (got "${appName}"); it names the app's database on the shared server`);
}
const environment = config.get("environment") ?? "dev";
if (environment !== "dev" && environment !== "staging" && environment !== "prod") {
  throw new Error(`app-on-platform: config environment must be dev, staging or prod (got "${environment}")`);
}
const djangoProject = config.get("djangoProject") ?? "mysite";
const appDir = path.resolve(__dirname, config.get("appDir") ?? "../apps/mysite");
const domains = config.getObject<string[]>("domains") ?? [];
const acmeEmail = config.get("acmeEmail");
if (domains.length > 0 && !acmeEmail) throw new Error("app-on-platform: config acmeEmail is required with domains (Let's Encrypt account)");
/**
 * Use the platform's cache (ElastiCache) instead of Redis on the box. Apps
 * then share one Redis: the cache is separated by key prefix, but task queues
 * would not be, so taskWorker must be none.
 */
const useSharedCache = config.getBoolean("useSharedCache") ?? false;
const taskWorker = config.get("taskWorker") ?? (useSharedCache ? "none" : "rq");
if (taskWorker !== "celery" && taskWorker !== "rq" && taskWorker !== "none") {
  throw new Error(`app-on-platform: config taskWorker must be celery, rq or none (got "${taskWorker}")`);
}
if (useSharedCache && taskWorker !== "none") {
  throw new Error(`app-on-platform: config taskWorker must be none with useSharedCache (got "${taskWorker}"): every app on the shared cache uses the same Redis databases, so their workers would take each other's tasks; keep the queue on the box's own Redis (useSharedCache false)`);
}
const deletionProtection = config.getBoolean("deletionProtection") ?? environment === "prod";

// ---- what the platform gives: a platform stack's outputs, or plain ids (bring your own) --------------------
interface Platform {
  vpcId: pulumi.Input<string>;
  publicSubnetIds: pulumi.Input<string[]>;
  clientSecurityGroupId: pulumi.Input<string>;
  /** Absent (bring your own without one): this stack makes its own key. */
  kmsKeyArn?: pulumi.Input<string>;
  database: { engine: pulumi.Input<string>; address: pulumi.Input<string>; port: pulumi.Input<number>; username: pulumi.Input<string> };
  /** A Pulumi secret in both cases. */
  databasePassword: pulumi.Output<string>;
  cache?: { address: pulumi.Input<string>; port: pulumi.Input<number>; authToken: pulumi.Output<string> };
}

/**
 * The app's own database role instead of the platform's master user (see
 * docs/shared-stacks.md, "Moving to a role per app"): databaseUsername and
 * the secret databasePassword in this stack's config. The role must own the
 * app's database already (the box then finds it and creates nothing).
 */
const ownUser = config.get("databaseUsername");

function fromStack(stackName: string): Platform {
  const ref = new pulumi.StackReference("platform", { name: stackName });
  const out = <T>(name: string) => ref.requireOutput(name) as pulumi.Output<T>;
  return {
    vpcId: out<string>("vpcId"),
    publicSubnetIds: out<string[]>("publicSubnetIds"),
    clientSecurityGroupId: out<string>("clientSecurityGroupId"),
    kmsKeyArn: out<string>("kmsKeyArn"),
    database: {
      engine: out<string>("databaseEngine"),
      address: out<string>("databaseAddress"),
      port: out<number>("databasePort"),
      username: ownUser ?? out<string>("databaseUsername"),
    },
    // requireOutput keeps the platform's secret a secret; pulumi.secret makes sure even if the platform forgot.
    databasePassword: ownUser ? config.requireSecret("databasePassword") : pulumi.secret(out<string>("databasePassword")),
    cache: useSharedCache
      ? { address: out<string>("cacheAddress"), port: out<number>("cachePort"), authToken: pulumi.secret(out<string>("cacheAuthToken")) }
      : undefined,
  };
}

function fromConfig(): Platform {
  const publicSubnetIds = config.requireObject<string[]>("publicSubnetIds");
  if (!Array.isArray(publicSubnetIds) || publicSubnetIds.length === 0) {
    throw new Error("app-on-platform: config publicSubnetIds must be a JSON list of at least one subnet id (the box runs in the first)");
  }
  const engine = config.get("databaseEngine") ?? "postgres";
  if (engine !== "postgres" && engine !== "mysql" && engine !== "mariadb") {
    throw new Error(`app-on-platform: config databaseEngine must be postgres, mysql or mariadb (got "${engine}")`);
  }
  return {
    vpcId: config.require("vpcId"),
    publicSubnetIds,
    clientSecurityGroupId: config.require("clientSecurityGroupId"),
    kmsKeyArn: config.get("kmsKeyArn"),
    database: {
      engine,
      address: config.require("databaseAddress"),
      port: config.getNumber("databasePort") ?? (engine === "postgres" ? 5432 : 3306),
      username: config.require("databaseUsername"),
    },
    databasePassword: config.requireSecret("databasePassword"),
    cache: useSharedCache
      ? { address: config.require("cacheAddress"), port: config.getNumber("cachePort") ?? 6379, authToken: config.requireSecret("cacheAuthToken") }
      : undefined,
  };
}

const platformStack = config.get("platformStack");
if (!platformStack && !config.get("vpcId")) {
  throw new Error("app-on-platform: set config platformStack (org/project/stack of a platform stack) or, to bring your own, vpcId, publicSubnetIds, clientSecurityGroupId, databaseAddress, databaseUsername and the secret databasePassword");
}
const platform = platformStack ? fromStack(platformStack) : fromConfig();

// ---- this app's own resources ---------------------------------------------------------------------------
const kmsKeyArn = platform.kmsKeyArn ?? new StackKey("key").arn;
const alerts = new Alerts("alerts", { kmsKeyArn, email: config.get("alertEmail") });
const BACKUP_PREFIX = "backups/";
const artifacts = new Artifacts("artifacts", { kmsKeyArn, backups: { prefix: BACKUP_PREFIX, retentionDays: 14 } });
// The database password is the shared server's: the box creates this app's database with it (docs/shared-stacks.md).
const secrets = new AppSecrets(`secrets-${appName}`, {
  app: appName,
  kmsKeyArn,
  rotation: config.get("secretsRotation"),
  databasePassword: platform.databasePassword,
  extra: platform.cache ? { REDIS_PASSWORD: platform.cache.authToken } : undefined,
});
const release = new Release(`release-${appName}`, { app: appName, dir: appDir, version: config.get("releaseVersion"), bucket: artifacts.bucketName });

const spec = pulumi
  .all([
    aws.getRegionOutput().region,
    artifacts.bucketName,
    secrets.secretArn,
    release.parameterName,
    pulumi.all([platform.database.engine, platform.database.address, platform.database.port, platform.database.username]),
    platform.cache ? pulumi.all([platform.cache.address, platform.cache.port]) : undefined,
  ])
  .apply(([region, bucket, secretId, releaseParameter, [engine, host, port, user], cache]): Omit<BoxSpec, "configParameter"> => {
    if (engine !== "postgres" && engine !== "mysql" && engine !== "mariadb") {
      throw new Error(`app-on-platform: the platform's databaseEngine must be postgres, mysql or mariadb (got "${engine}")`);
    }
    return {
      role: "single-box",
      project: pulumi.getProject(),
      stack: pulumi.getStack(),
      environment,
      region,
      apps: [{
        name: appName,
        domains,
        settingsModule: `${djangoProject}.settings`,
        wsgiApplication: `${djangoProject}.wsgi:application`,
        celeryApp: djangoProject,
        releaseParameter,
        secretId,
      }],
      artifactsBucket: bucket,
      taskWorker,
      tls: domains.length > 0 && acmeEmail ? { mode: "letsencrypt", email: acmeEmail } : { mode: "none" },
      gunicorn: { timeoutSeconds: 30, gracefulTimeoutSeconds: 30, maxRequests: 1000, maxRequestsJitter: 100 },
      nginx: { proxyReadTimeoutSeconds: 60, keepaliveTimeoutSeconds: 75, maxUploadMb: 10 },
      backup: { hourUtc: 3, prefix: BACKUP_PREFIX, localRetentionDays: 3 },
      longestTaskSeconds: 300,
      // This app's database (named after the app) on the shared server, created by the box as the master user.
      database: { engine, host, port: Number(port), user },
      ...(cache ? { cache: { host: cache[0], port: Number(cache[1]) } } : {}),
    };
  });

const box = new SingleBox("box", {
  vpcId: platform.vpcId,
  subnetId: pulumi.output(platform.publicSubnetIds).apply((ids) => ids[0]),
  instanceType: config.get("instanceType") ?? "t4g.small",
  spec,
  releases: { [appName]: release.version },
  secretsGeneration: config.get("secretsRotation"),
  access: {
    artifactsBucket: artifacts.bucketName,
    artifactsBucketArn: artifacts.bucketArn,
    backupPrefix: BACKUP_PREFIX,
    secretArns: [secrets.secretArn],
    parameterArns: [release.parameterArn],
    kmsKeyArn,
  },
  // The platform's client group: the shared database (and cache) admit the boxes that wear it.
  extraSecurityGroupIds: [platform.clientSecurityGroupId],
  deletionProtection,
  alertTopicArn: alerts.topicArn,
});
// The box's disk (the data is on the platform's RDS, which the platform backs up).
new Backup("backup", { resourceArns: [box.nodes.instance.arn], kmsKeyArn });

export const siteUrls = domains.length > 0
  ? pulumi.output(domains.map((d) => `https://${d}/`))
  : box.publicDns.apply((dns) => [`http://${dns}/`]);
export const publicIp = box.publicIp;
export const instanceId = box.instanceId;
export const sessionCommand = pulumi.interpolate`aws ssm start-session --target ${box.instanceId}`;
/** The app's database on the shared server (its name; the server is the platform's). */
export const databaseName = pulumi.output(appName);
export const secretArn = secrets.secretArn;
export const artifactsBucket = artifacts.bucketName;
export const releaseVersion = pulumi.output(release.version);
export const alertTopicArn = alerts.topicArn;
