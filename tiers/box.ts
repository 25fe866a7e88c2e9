/**
 * The tiers whose front is one box — single-box, external-db,
 * object-storage: network, key, alerts, artifacts; the managed services the
 * preset asks for (RDS, S3, ElastiCache) with the client group they admit;
 * per-app secrets and releases; the box, its backups and its DNS.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "../components/alerts";
import { Artifacts } from "../components/artifacts";
import { Backup } from "../components/backup";
import { Cache } from "../components/cache";
import { ClientSecurityGroup } from "../components/client-group";
import { Database, ENGINES } from "../components/database";
import { DnsRecords } from "../components/dns";
import { StackKey } from "../components/encryption";
import { Monitoring } from "../components/monitoring";
import { Network } from "../components/network";
import { ObjectStorage } from "../components/object-storage";
import { Release } from "../components/release";
import { AppSecrets } from "../components/secrets";
import { SingleBox } from "../components/single-box";
import type { Settings } from "../config/validate";
import type { BoxSpec, RenderedFile } from "../server/types";
import type { Deployment } from "./types";

/** nginx waits this long for gunicorn; gunicorn's own timeout stays below it (settings allow at most 59). */
export const NGINX_PROXY_READ_TIMEOUT = 60;
/** Longer than any load balancer idle timeout (60 s), so nginx never closes a connection first. */
export const NGINX_KEEPALIVE_TIMEOUT = 75;

export function deployBoxTier(s: Settings, opts: pulumi.ComponentResourceOptions = {}): Deployment {
  const notes: string[] = [];
  const network = new Network("network", {
    existing: s.network.mode === "existing" ? s.network : undefined,
    cidr: s.network.mode === "create" ? s.network.cidr : undefined,
    azCount: s.network.mode === "create" ? s.network.azCount : undefined,
    natGateway: s.network.mode === "create" ? s.network.natGateway : false,
  }, opts);
  if (!network.hasNat) {
    notes.push("No NAT gateway: private subnets have no route to the internet. Nothing runs in them on this tier (the box is in a public subnet behind its security group); turn on natGateway (about $33/month) before putting servers there.");
  }

  const key = new StackKey("key", {}, opts);
  const alerts = new Alerts("alerts", { kmsKeyArn: key.arn, email: s.alertEmail }, opts);
  if (!s.alertEmail) notes.push("No alertEmail: alarms go to the stack's SNS topic (output alertTopicArn) with no subscriber yet.");
  const backupPrefix = "backups/";
  const artifacts = new Artifacts("artifacts", {
    kmsKeyArn: key.arn,
    backups: { prefix: backupPrefix, retentionDays: s.backup.retentionDays },
  }, opts);

  // Managed services admit one client group, which the box wears. It exists before them so their rules can name it.
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
  const files = s.objectStorage
    ? new ObjectStorage("files", { kmsKeyArn: key.arn, accessLogsBucket: artifacts.logsBucketName }, opts)
    : undefined;
  if (database && !s.highAvailability) {
    notes.push("The RDS database has no standby (highAvailability off): an AZ outage or instance failure stops it until AWS replaces it; backups keep the data.");
  }
  if (files) {
    notes.push("Static and media files are on S3 and private: browsers get signed URLs until a CDN fronts the buckets (the cdn add-on).");
  }

  const apps = s.apps.map((app) => {
    const secrets = new AppSecrets(`secrets-${app.name}`, {
      app: app.name,
      kmsKeyArn: key.arn,
      rotation: s.secretsRotation,
      databasePassword: database?.password,
      extra: cache ? { REDIS_PASSWORD: cache.authToken } : undefined,
    }, opts);
    const release = new Release(`release-${app.name}`, { app: app.name, dir: app.dir, version: s.releaseVersion, bucket: artifacts.bucketName }, opts);
    return { app, secrets, release };
  });

  const spec: pulumi.Output<Omit<BoxSpec, "configParameter">> = pulumi
    .all([
      artifacts.bucketName,
      pulumi.all(apps.map((a) => a.secrets.secretArn)),
      pulumi.all(apps.map((a) => a.release.parameterName)),
      aws.getRegionOutput({}, opts).region,
      database ? database.address : undefined,
      cache ? cache.address : undefined,
      files ? pulumi.all([files.staticBucket, files.mediaBucket]) : undefined,
    ])
    .apply(([bucket, secretArns, parameterNames, region, databaseHost, cacheHost, buckets]): Omit<BoxSpec, "configParameter"> => ({
      role: "single-box" as const,
      project: s.project,
      stack: s.stack,
      environment: s.environment,
      region,
      apps: apps.map(({ app }, i) => ({
        name: app.name,
        domains: app.domains,
        settingsModule: app.settingsModule,
        wsgiApplication: app.wsgiApplication,
        celeryApp: app.projectPackage,
        releaseParameter: parameterNames[i],
        secretId: secretArns[i],
      })),
      artifactsBucket: bucket,
      taskWorker: s.taskWorker,
      tls: s.dns ? { mode: "letsencrypt" as const, email: s.dns.acmeEmail } : { mode: "none" as const },
      gunicorn: {
        workers: s.gunicorn.workers,
        timeoutSeconds: s.gunicorn.timeoutSeconds,
        gracefulTimeoutSeconds: s.gunicorn.gracefulTimeoutSeconds,
        maxRequests: 1000,
        maxRequestsJitter: 100,
      },
      nginx: { proxyReadTimeoutSeconds: NGINX_PROXY_READ_TIMEOUT, keepaliveTimeoutSeconds: NGINX_KEEPALIVE_TIMEOUT, maxUploadMb: s.maxUploadMb },
      backup: { hourUtc: s.backup.hourUtc, prefix: backupPrefix, localRetentionDays: 3 },
      longestTaskSeconds: s.longestTaskSeconds,
      ...(database && databaseHost ? { database: { engine: database.engine, host: databaseHost, port: database.port, user: database.username } } : {}),
      ...(cache && cacheHost ? { cache: { host: cacheHost, port: cache.port } } : {}),
      ...(buckets ? { objectStorage: { staticBucket: buckets[0], mediaBucket: buckets[1] } } : {}),
    }));

  const box = new SingleBox("box", {
    vpcId: network.vpcId,
    subnetId: network.firstPublicSubnetId,
    instanceType: s.box.instanceType,
    architecture: s.box.architecture,
    rootVolumeGb: s.box.rootVolumeGb,
    spec,
    releases: Object.fromEntries(apps.map(({ app, release }) => [app.name, release.version])),
    secretsGeneration: s.secretsRotation,
    access: {
      artifactsBucket: artifacts.bucketName,
      artifactsBucketArn: artifacts.bucketArn,
      backupPrefix,
      secretArns: apps.map((a) => a.secrets.secretArn),
      parameterArns: apps.map((a) => a.release.parameterArn),
      kmsKeyArn: key.arn,
      fileBucketArns: files?.bucketArns,
    },
    extraSecurityGroupIds: clients ? [clients.id] : undefined,
    deletionProtection: s.deletionProtection,
    alertTopicArn: alerts.topicArn,
    logRetentionDays: s.logRetentionDays,
  }, opts);
  notes.push(database
    ? "One app box in one availability zone: EC2 recovers it on a failed host check and AWS Backup snapshots its disk daily; the data is on RDS (automated backups and a daily AWS Backup recovery point)."
    : "One box in one availability zone: EC2 recovers it on a failed host check, AWS Backup snapshots its disk daily and the box dumps each database nightly to the artifacts bucket; there is no standby.");

  new Backup("backup", {
    resourceArns: [box.nodes.instance.arn, ...(database ? [database.instanceArn] : [])],
    kmsKeyArn: key.arn,
    hourUtc: s.backup.hourUtc,
    retentionDays: s.backup.retentionDays,
  }, opts);

  // Alarms and a dashboard for the managed services. The box's disk and memory alarms wait for the
  // CloudWatch agent's installation on the box (its configuration is rendered in server/cloudwatch-agent.ts).
  if (database || cache) {
    new Monitoring("monitoring", {
      alertTopicArn: alerts.topicArn,
      database: database ? { instanceIdentifier: database.instanceId } : undefined,
      cache: cache ? { replicationGroupId: cache.replicationGroupId, nodeCount: s.highAvailability ? 2 : 1 } : undefined,
    }, opts);
  }

  const hosts = s.apps.flatMap((a) => a.domains);
  if (s.dns) {
    new DnsRecords("dns", { zoneId: s.dns.cloudflareZoneId, hosts, target: box.publicIp, type: "A" }, opts);
  } else {
    notes.push("No domain: the site is served over plain HTTP on the box's public name, without TLS. Set domains, cloudflareZoneId and acmeEmail to get DNS records and Let's Encrypt certificates.");
  }
  if (!s.deletionProtection) {
    notes.push(`deletionProtection is off (${s.environment}): the box can be terminated and its root volume is deleted with it; backups remain.`);
  }

  const siteUrls = hosts.length > 0
    ? pulumi.output(hosts.map((h) => `https://${h}/`))
    : box.publicDns.apply((dns) => [`http://${dns}/`]);

  return {
    tier: s.tier,
    environment: s.environment,
    outputs: {
      tier: pulumi.output(s.tier),
      environment: pulumi.output(s.environment),
      siteUrls,
      publicIp: box.publicIp,
      instanceId: box.instanceId,
      sessionCommand: pulumi.interpolate`aws ssm start-session --target ${box.instanceId}`,
      artifactsBucket: artifacts.bucketName,
      logsBucket: artifacts.logsBucketName,
      alertTopicArn: alerts.topicArn,
      releases: pulumi.output(Object.fromEntries(apps.map(({ app, release }) => [app.name, release.version]))),
      secretArns: pulumi.all(Object.fromEntries(apps.map(({ app, secrets }) => [app.name, secrets.secretArn]))),
    },
    serverFiles: box.files.apply((files): Record<string, RenderedFile[]> => ({ "single-box": files })),
    notes,
    relaxations: [
      ...(!s.deletionProtection && database
        ? [{ check: "rds-deletion-protection", setting: "deletionProtection", reason: `turned off for this ${s.environment} stack; a final snapshot is still taken on delete` }]
        : []),
      {
        check: "secrets-rotation",
        setting: "secretsRotation",
        reason: "generated secrets (SECRET_KEY, database password, cache token) rotate when the secretsRotation label changes and pulumi up rolls them out to the servers, not on a Secrets Manager schedule the servers would not notice",
      },
    ],
  };
}
