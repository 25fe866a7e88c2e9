/**
 * The tiers whose front is one box — single-box, external-db,
 * object-storage: network, key, alerts, artifacts; the managed services the
 * preset asks for (RDS, S3, ElastiCache) with the client group they admit;
 * per-app secrets and releases; the box, its backups and its DNS.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../components/backup";
import { DnsRecords } from "../components/dns";
import { Monitoring } from "../components/monitoring";
import { SingleBox } from "../components/single-box";
import type { Settings } from "../config/validate";
import type { BoxSpec, RenderedFile } from "../server/types";
import { BACKUP_PREFIX, commonSpec, deployFoundation } from "./foundation";
import type { Deployment } from "./types";

export { NGINX_KEEPALIVE_TIMEOUT, NGINX_PROXY_READ_TIMEOUT } from "./foundation";

export function deployBoxTier(s: Settings, opts: pulumi.ComponentResourceOptions = {}): Deployment {
  const f = deployFoundation(s, opts);
  const { notes, network, key, alerts, artifacts, clients, database, cache, files, apps } = f;
  if (files) {
    notes.push("Static and media files are on S3 and private: browsers get signed URLs until a CDN fronts the buckets (the cdn add-on).");
  }

  const spec: pulumi.Output<Omit<BoxSpec, "configParameter">> = pulumi
    .all([commonSpec(s, f), pulumi.all(apps.map((a) => a.release.parameterName))])
    .apply(([common, parameterNames]): Omit<BoxSpec, "configParameter"> => ({
      ...common,
      role: "single-box" as const,
      apps: common.apps.map((app, i) => ({ ...app, releaseParameter: parameterNames[i] })),
      tls: s.dns ? { mode: "letsencrypt" as const, email: s.dns.acmeEmail } : { mode: "none" as const },
    }));
  const backupPrefix = BACKUP_PREFIX;

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

  // Alarms and a dashboard: the box's disk and memory (published by its CloudWatch agent), the managed services.
  new Monitoring("monitoring", {
    alertTopicArn: alerts.topicArn,
    box: { instanceId: box.instanceId },
    database: database ? { instanceIdentifier: database.instanceId } : undefined,
    cache: cache ? { replicationGroupId: cache.replicationGroupId, nodeCount: s.highAvailability ? 2 : 1 } : undefined,
  }, opts);

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
