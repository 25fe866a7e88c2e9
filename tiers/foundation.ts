/**
 * What every tier stands on: the network, the stack key, the alert topic,
 * the artifacts bucket; the managed services the preset asks for (RDS, S3,
 * ElastiCache) with the client group they admit; and each app's secrets and
 * release. The box tiers and the load-balanced tier differ only in what
 * runs on top of it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "../components/alerts";
import { Artifacts } from "../components/artifacts";
import { bundleContents } from "../components/bundle";
import { Cache } from "../components/cache";
import { ClientSecurityGroup } from "../components/client-group";
import { Database, ENGINES } from "../components/database";
import { StackKey } from "../components/encryption";
import { Network } from "../components/network";
import { ObjectStorage } from "../components/object-storage";
import type { PolicyStatements } from "../components/private-bucket";
import { Release } from "../components/release";
import { AppSecrets } from "../components/secrets";
import { PRESETS } from "../config/presets";
import { type AppSettings, developmentModuleNote, type Settings, taskWorkerNote } from "../config/validate";
import { deployCheckWarnings } from "../server/django-env";
import { appFileLocations } from "../server/paths";
import type { BoxSpec } from "../server/types";

/** Key prefix of the box's database dumps in the artifacts bucket. */
export const BACKUP_PREFIX = "backups/";

export interface AppParts {
  app: AppSettings;
  secrets: AppSecrets;
  /** The release built from the app's folder now (bundle and its default pointer). */
  release: Release;
}

export interface Foundation {
  notes: string[];
  network: Network;
  key: StackKey;
  alerts: Alerts;
  artifacts: Artifacts;
  /** The group the servers wear to reach the managed services (absent when there are none). */
  clients?: ClientSecurityGroup;
  database?: Database;
  cache?: Cache;
  files?: ObjectStorage;
  /** Two private subnets in two zones, for the managed services. */
  privateSubnets: pulumi.Output<string>[];
  apps: AppParts[];
  region: pulumi.Output<string>;
}

/** What the tier on top asks of the foundation. */
export interface FoundationOptions {
  /** More statements for the logs bucket's policy (the load balancer's log delivery). */
  logsPolicyStatements?: PolicyStatements;
  /** More statements for the static and media buckets' policies (the CDN's reads). */
  filesPolicyStatements?: PolicyStatements;
  /** Let CloudFront decrypt with the stack key (it reads the encrypted file buckets). */
  allowCloudFront?: boolean;
  /** Let EC2 Auto Scaling's service-linked role use the stack key (its groups launch encrypted volumes). */
  allowAutoScaling?: boolean;
  /** The version label of every app's release (instead of releaseVersion or each folder's hash). */
  releaseVersion?: string;
  /** Release pointers per channel (the blue and green fleets) and the version each runs. */
  releaseChannels?: Record<string, string>;
}

export function deployFoundation(s: Settings, opts: pulumi.ComponentResourceOptions = {}, extra: FoundationOptions = {}): Foundation {
  const notes: string[] = [];
  const network = new Network("network", {
    existing: s.network.mode === "existing" ? s.network : undefined,
    cidr: s.network.mode === "create" ? s.network.cidr : undefined,
    azCount: s.network.mode === "create" ? s.network.azCount : undefined,
    natGateway: s.network.mode === "create" ? s.network.natGateway : false,
  }, opts);
  if (!network.hasNat && PRESETS[s.tier].front === "box") {
    notes.push("No NAT gateway: private subnets have no route to the internet. Nothing runs in them on this tier (the box is in a public subnet behind its security group); turn on natGateway (about $33/month) before putting servers there.");
  }

  const key = new StackKey("key", {
    ...(extra.allowCloudFront ? { allowCloudFront: true } : {}),
    ...(extra.allowAutoScaling ? { allowAutoScaling: true } : {}),
  }, opts);
  const alerts = new Alerts("alerts", { kmsKeyArn: key.arn, email: s.alertEmail }, opts);
  if (!s.alertEmail) notes.push("No alertEmail: alarms go to the stack's SNS topic (output alertTopicArn) with no subscriber yet.");
  const artifacts = new Artifacts("artifacts", {
    kmsKeyArn: key.arn,
    backups: { prefix: BACKUP_PREFIX, retentionDays: s.backup.retentionDays },
    ...(extra.logsPolicyStatements ? { logsPolicyStatements: extra.logsPolicyStatements } : {}),
  }, opts);

  // Managed services admit one client group, which the servers wear. It exists before them so their rules can name it.
  const servicePorts: Record<string, number> = {};
  if (s.database) servicePorts.database = ENGINES[s.database.engine].port;
  if (s.cache.mode === "elasticache") servicePorts.cache = 6379;
  const clients = Object.keys(servicePorts).length
    ? new ClientSecurityGroup("clients", { vpcId: network.vpcId, vpcCidr: network.cidrBlock, role: "app", ports: servicePorts }, opts)
    : undefined;
  const privateSubnets = [0, 1].map((i) => network.privateSubnetIds.apply((ids) => ids[i]));

  const database = s.database && clients
    ? new Database("database", {
        vpcId: network.vpcId,
        subnetIds: privateSubnets,
        clients: { app: clients.id },
        engine: s.database.engine,
        engineVersion: s.database.version,
        instanceClass: s.database.instanceClass,
        storageGb: s.database.storageGb,
        maxStorageGb: s.database.maxStorageGb,
        kmsKeyArn: key.arn,
        multiAz: s.highAvailability,
        backupRetentionDays: s.backup.retentionDays,
        deletionProtection: s.deletionProtection,
        rotation: s.secretsRotation,
      }, opts)
    : undefined;
  const cache = s.cache.mode === "elasticache" && clients
    ? new Cache("cache", {
        vpcId: network.vpcId,
        subnetIds: privateSubnets,
        clients: { app: clients.id },
        kmsKeyArn: key.arn,
        nodeType: s.cache.nodeType,
        highAvailability: s.highAvailability,
        rotation: s.secretsRotation,
      }, opts)
    : undefined;
  const siteOrigins = s.apps.flatMap((a) => a.domains).map((host) => `https://${host}`);
  const files = s.objectStorage
    ? new ObjectStorage("files", {
        kmsKeyArn: key.arn,
        accessLogsBucket: artifacts.logsBucketName,
        ...(extra.filesPolicyStatements ? { extraPolicyStatements: extra.filesPolicyStatements } : {}),
        // Without CloudFront, pages load files from the buckets themselves (signed URLs): fonts need CORS there.
        ...(s.cdn !== "cloudfront" && siteOrigins.length ? { corsOrigins: siteOrigins } : {}),
      }, opts)
    : undefined;
  if (files && s.apps.length > 1) {
    const names = s.apps.map((a) => a.name);
    const cdn = s.cdn === "cloudfront";
    const others = names.slice(1).map((n) => `${n} under ${appFileLocations(names, n, cdn).static}/ and ${appFileLocations(names, n, cdn).media}/`);
    notes.push(`Files of several apps share the buckets: ${names[0]}, the first app, keeps ${cdn ? "the static/ and media/ prefixes" : "the buckets' root"} (where a single-app stack keeps its files); ${others.join(", ")}. The order of apps decides it: append new apps, never move one to the front.`);
  }
  if (database && !database.performanceInsights) {
    notes.push(`Performance Insights is off: RDS does not support it for ${database.engine} on ${s.database!.instanceClass} (a class from db.t4g.medium or db.t3.medium up has it).`);
  }
  if (database && !s.highAvailability) {
    notes.push("The RDS database has no standby (highAvailability off): an AZ outage or instance failure stops it until AWS replaces it; backups keep the data.");
  }

  const apps = s.apps.map((app) => {
    const secrets = new AppSecrets(`secrets-${app.name}`, {
      app: app.name,
      kmsKeyArn: key.arn,
      rotation: s.secretsRotation,
      databasePassword: database?.password,
      extra: secretEnvironment(app, cache?.authToken),
    }, opts);
    if (app.secrets.length) {
      notes.push(`App ${app.name}'s own secrets: ${app.secrets.map((x) => `${x.name} (from ${s.project}:${x.configKey})`).join(", ")}, in its Secrets Manager secret and its processes' environment (secrets.env).`);
    }
    const release = new Release(`release-${app.name}`, {
      app: app.name,
      dir: app.dir,
      version: extra.releaseVersion ?? s.releaseVersion,
      bucket: artifacts.bucketName,
      ...(extra.releaseChannels ? { channels: extra.releaseChannels } : {}),
    }, opts);
    const development = developmentModuleNote(app);
    if (development) notes.push(development);
    const worker = taskWorkerNote(app);
    if (worker) notes.push(worker);
    const { leftOut } = bundleContents(app.dir);
    if (leftOut.length) {
      notes.push(`App ${app.name}'s bundle leaves out: ${leftOut.map((l) => `${l.path} (${l.reason})`).join("; ")}.`);
    }
    return { app, secrets, release };
  });

  return {
    notes, network, key, alerts, artifacts, clients, database, cache, files, privateSubnets, apps,
    region: aws.getRegionOutput({}, opts).region,
  };
}

/**
 * What an app's secret holds besides the generated SECRET_KEY and database
 * password: the cache's AUTH token, and the app's own secrets (appSecrets),
 * each handed to Pulumi as a secret. Undefined when there is nothing, so a
 * stack without either keeps its secret's value as it was.
 */
function secretEnvironment(app: AppSettings, redisPassword: pulumi.Output<string> | undefined): Record<string, pulumi.Input<string>> | undefined {
  const extra: Record<string, pulumi.Input<string>> = {
    ...(redisPassword ? { REDIS_PASSWORD: redisPassword } : {}),
    ...Object.fromEntries(app.secrets.map((x) => [x.name, pulumi.secret(x.value.reveal())])),
  };
  return Object.keys(extra).length ? extra : undefined;
}

/**
 * What changes when any app's own secrets (appSecrets) change: the ids of
 * those apps' secret values, joined. Servers read secrets at boot and on each
 * rollout, so a change must make the box re-run its rollout and the fleets
 * replace their servers. Undefined when no app declares a secret, so stacks
 * without appSecrets keep their rollout and launch templates as they were.
 */
export function appSecretsGeneration(f: Foundation): pulumi.Output<string> | undefined {
  const withSecrets = f.apps.filter((a) => a.app.secrets.length > 0);
  if (!withSecrets.length) return undefined;
  return pulumi.all(withSecrets.map((a) => a.secrets.versionId)).apply((ids) => ids.join(","));
}

/** What every release's `check --deploy` does, and the warnings this stack's shape alone gives (none with TLS). */
export function deployCheckNote(tlsMode: BoxSpec["tls"]["mode"]): string {
  const warnings = deployCheckWarnings(tlsMode);
  return "Each release runs `manage.py check --deploy` on the settings the servers load (the app's own, the production values over them): an error refuses the release, warnings are logged. " +
    (warnings.length
      ? `Without a domain (no TLS) it warns ${warnings.join(", ")} (no HSTS, no SSL redirect, cookies not marked secure) until one is set.`
      : "With TLS on, this stack's shape gives none of its transport warnings.");
}

/** The parts of a server's spec every role shares, resolved from the foundation. */
export type CommonSpec = Omit<BoxSpec, "configParameter" | "role" | "apps" | "tls"> & { apps: Omit<BoxSpec["apps"][number], "releaseParameter">[] };

/**
 * The spec fields every server role shares: names, region, gunicorn and
 * nginx settings, the external services' endpoints. Each tier adds its role,
 * TLS and the release pointers its servers read.
 */
export function commonSpec(s: Settings, f: Foundation, extra: { customDomains?: Record<string, string> } = {}): pulumi.Output<CommonSpec> {
  const { database, cache, files } = f;
  return pulumi
    .all([
      f.artifacts.bucketName,
      pulumi.all(f.apps.map((a) => a.secrets.secretArn)),
      f.region,
      database ? database.address : undefined,
      cache ? cache.address : undefined,
      files ? pulumi.all([files.staticBucket, files.mediaBucket]) : undefined,
    ])
    .apply(([bucket, secretArns, region, databaseHost, cacheHost, buckets]): CommonSpec => ({
      project: s.project,
      stack: s.stack,
      environment: s.environment,
      region,
      apps: f.apps.map(({ app }, i) => ({
        name: app.name,
        domains: app.domains,
        settingsModule: app.settingsModule,
        wsgiApplication: app.wsgiApplication,
        celeryApp: app.projectPackage,
        secretId: secretArns[i],
        ...(Object.keys(app.env).length ? { env: app.env } : {}),
        // Only an app without tasks differs from the stack's runner; the others keep the spec they had.
        ...(app.taskWorker !== s.taskWorker ? { taskWorker: app.taskWorker } : {}),
      })),
      artifactsBucket: bucket,
      taskWorker: s.taskWorker,
      gunicorn: {
        workers: s.gunicorn.workers,
        timeoutSeconds: s.gunicorn.timeoutSeconds,
        gracefulTimeoutSeconds: s.gunicorn.gracefulTimeoutSeconds,
        maxRequests: 1000,
        maxRequestsJitter: 100,
      },
      // requestTimeoutSeconds, each layer longer than the one behind it (config/timeouts.ts).
      nginx: { proxyReadTimeoutSeconds: s.timeouts.proxySeconds, keepaliveTimeoutSeconds: s.timeouts.keepaliveSeconds, maxUploadMb: s.maxUploadMb },
      backup: { hourUtc: s.backup.hourUtc, prefix: BACKUP_PREFIX, localRetentionDays: 3 },
      longestTaskSeconds: s.longestTaskSeconds,
      ...(database && databaseHost ? { database: { engine: database.engine, host: databaseHost, port: database.port, user: database.username } } : {}),
      ...(cache && cacheHost ? { cache: { host: cacheHost, port: cache.port } } : {}),
      ...(buckets ? { objectStorage: { staticBucket: buckets[0], mediaBucket: buckets[1], ...(extra.customDomains ? { customDomains: extra.customDomains } : {}) } } : {}),
    }));
}
