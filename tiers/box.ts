/**
 * The single-box tier: network, key, artifacts, per-app secrets and
 * releases, the box, its backups and its DNS, wired in that order.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts } from "../components/alerts";
import { Artifacts } from "../components/artifacts";
import { Backup } from "../components/backup";
import { DnsRecords } from "../components/dns";
import { StackKey } from "../components/encryption";
import { Network } from "../components/network";
import { Release } from "../components/release";
import { AppSecrets } from "../components/secrets";
import { SingleBox } from "../components/single-box";
import type { Settings } from "../config/validate";
import { renderBox } from "../server";
import type { BoxSpec, RenderedFile } from "../server/types";
import type { Deployment } from "./types";

/** nginx waits this long for gunicorn; gunicorn's own timeout stays below it (settings allow at most 59). */
export const NGINX_PROXY_READ_TIMEOUT = 60;
/** Longer than any load balancer idle timeout (60 s), so nginx never closes a connection first. */
export const NGINX_KEEPALIVE_TIMEOUT = 75;

export function deploySingleBox(s: Settings, opts: pulumi.ComponentResourceOptions = {}): Deployment {
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

  const apps = s.apps.map((app) => {
    const secrets = new AppSecrets(`secrets-${app.name}`, { app: app.name, kmsKeyArn: key.arn, rotation: s.secretsRotation }, opts);
    const release = new Release(`release-${app.name}`, { app: app.name, dir: app.dir, version: s.releaseVersion, bucket: artifacts.bucketName }, opts);
    return { app, secrets, release };
  });

  const spec: pulumi.Output<BoxSpec> = pulumi
    .all([
      artifacts.bucketName,
      pulumi.all(apps.map((a) => a.secrets.secretArn)),
      pulumi.all(apps.map((a) => a.release.parameterName)),
      aws.getRegionOutput({}, opts).region,
    ])
    .apply(([bucket, secretArns, parameterNames, region]) => ({
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
    }));

  const box = new SingleBox("box", {
    vpcId: network.vpcId,
    subnetId: network.publicSubnetIds.apply((ids) => ids[0]),
    instanceType: s.box.instanceType,
    architecture: s.box.architecture,
    rootVolumeGb: s.box.rootVolumeGb,
    spec,
    releases: Object.fromEntries(apps.map(({ app, release }) => [app.name, release.version])),
    secretsGeneration: s.secretsRotation,
    access: {
      artifactsBucketArn: artifacts.bucketArn,
      backupPrefix,
      secretArns: apps.map((a) => a.secrets.secretArn),
      parameterArns: apps.map((a) => a.release.parameterArn),
      kmsKeyArn: key.arn,
    },
    deletionProtection: s.deletionProtection,
    alertTopicArn: alerts.topicArn,
    logRetentionDays: s.logRetentionDays,
  }, opts);
  notes.push("One box in one availability zone: EC2 recovers it on a failed host check, AWS Backup snapshots its disk daily and the box dumps each database nightly to the artifacts bucket; there is no standby.");

  new Backup("backup", {
    resourceArns: [box.nodes.instance.arn],
    kmsKeyArn: key.arn,
    hourUtc: s.backup.hourUtc,
    retentionDays: s.backup.retentionDays,
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
    serverFiles: spec.apply((sp): Record<string, RenderedFile[]> => ({ "single-box": renderBox(sp) })),
    notes,
    relaxations: [
      {
        check: "secrets-rotation",
        setting: "secretsRotation",
        reason: "generated secrets rotate when the secretsRotation label changes (pulumi up), not on a Secrets Manager schedule; a rotation Lambda lands with the managed database",
      },
    ],
  };
}
