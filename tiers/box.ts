/**
 * The tiers whose front is one box — single-box, external-db,
 * object-storage: network, key, alerts, artifacts; the managed services the
 * preset asks for (RDS, S3, ElastiCache) with the client group they admit;
 * per-app secrets and releases; the box, its backups and its DNS — or, with
 * cdn: cloudflare, Cloudflare's proxy in front of the box, which then serves
 * a Cloudflare Origin CA certificate and admits only Cloudflare.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backup } from "../components/backup";
import { CLOUDFLARE_ORIGIN_RANGES, Cdn } from "../components/cdn";
import { DnsRecords } from "../components/dns";
import { Monitoring } from "../components/monitoring";
import { OriginCertificate } from "../components/origin-certificate";
import { SingleBox } from "../components/single-box";
import type { Settings } from "../config/validate";
import type { BoxSpec, Color, RenderedFile } from "../server/types";
import { COLORS, builtRelease } from "./fleet";
import { appSecretsGeneration, BACKUP_PREFIX, commonSpec, deployCheckNote, deployFoundation } from "./foundation";
import type { Deployment } from "./types";

/** What each color of a blue-green box runs: nginx sends all traffic to the live one (no canary on one box). */
export function boxColorPlan(s: Settings): Record<Color, { release: string; running: boolean; weight: number }> {
  const colors = s.boxColors;
  if (!colors) throw new Error("boxColorPlan: the stack does not release blue-green (boxReleases is in-place)");
  const built = builtRelease(s);
  const plan = {} as Record<Color, { release: string; running: boolean; weight: number }>;
  for (const color of COLORS) {
    const live = color === colors.liveColor;
    plan[color] = { release: colors.releases[color] ?? built, running: live || colors.idleRunning, weight: live ? 100 : 0 };
  }
  return plan;
}

/** A box tier's deployment, with its box (its spec and children, for tests and for stacks that build on it). */
export type BoxDeployment = Deployment & { box: SingleBox };

export function deployBoxTier(s: Settings, opts: pulumi.ComponentResourceOptions = {}): BoxDeployment {
  // Blue-green (boxReleases: blue-green): each color's release pointer, as on the load-balanced tier.
  const boxColors = s.boxColors;
  const plan = boxColors ? boxColorPlan(s) : undefined;
  const built = boxColors ? builtRelease(s) : undefined;
  const f = deployFoundation(s, opts, plan
    ? { releaseVersion: built, releaseChannels: { blue: plan.blue.release, green: plan.green.release } }
    : {});
  const { notes, network, key, alerts, artifacts, clients, database, cache, files, apps } = f;
  if (files) {
    notes.push("Static and media files are on S3 and private: browsers get signed URLs until a CDN fronts the buckets (the cdn add-on).");
  }

  // Behind Cloudflare's proxy the box cannot pass an ACME challenge: Cloudflare's Origin CA signs its certificate.
  const hosts = s.apps.flatMap((a) => a.domains);
  const behindCloudflare = s.cdn === "cloudflare" && s.dns !== undefined;
  const originCertificate = behindCloudflare
    ? new OriginCertificate("origin-certificate", { hostnames: hosts, kmsKeyArn: key.arn }, opts)
    : undefined;
  const tls: pulumi.Output<BoxSpec["tls"]> = originCertificate
    ? originCertificate.secretArn.apply((secretId): BoxSpec["tls"] => ({ mode: "origin-certificate", secretId, realIpFrom: [...CLOUDFLARE_ORIGIN_RANGES] }))
    : pulumi.output(s.dns ? { mode: "letsencrypt" as const, email: s.dns.acmeEmail } : { mode: "none" as const });

  const channelNames = (color: Color) => pulumi.all(apps.map((a) => (plan ? a.release.channels[color].parameterName : undefined)));
  const spec: pulumi.Output<Omit<BoxSpec, "configParameter">> = pulumi
    .all([commonSpec(s, f), pulumi.all(apps.map((a) => a.release.parameterName)), channelNames("blue"), channelNames("green"), tls])
    .apply(([common, parameterNames, blueNames, greenNames, tlsSpec]): Omit<BoxSpec, "configParameter"> => ({
      ...common,
      role: "single-box" as const,
      apps: common.apps.map((app, i) => ({
        ...app,
        releaseParameter: parameterNames[i],
        ...(plan ? { colorReleaseParameters: { blue: blueNames[i]!, green: greenNames[i]! } } : {}),
      })),
      tls: tlsSpec,
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
    ...(boxColors && plan
      ? { colors: { live: boxColors.liveColor, idleRunning: boxColors.idleRunning, releases: { blue: plan.blue.release, green: plan.green.release } } }
      : {}),
    secretsGeneration: s.secretsRotation,
    appSecretsGeneration: appSecretsGeneration(f),
    ...(originCertificate ? { certificateGeneration: originCertificate.nodes.certificate.id } : {}),
    access: {
      artifactsBucket: artifacts.bucketName,
      artifactsBucketArn: artifacts.bucketArn,
      backupPrefix,
      // Behind Cloudflare, the box also reads its Origin CA certificate and key.
      secretArns: [...apps.map((a) => a.secrets.secretArn), ...(originCertificate ? [originCertificate.secretArn] : [])],
      // With blue-green, the box also reads each color's pointer.
      parameterArns: [
        ...apps.map((a) => a.release.parameterArn),
        ...(plan ? apps.flatMap((a) => COLORS.map((c) => a.release.channels[c].parameterArn)) : []),
      ],
      kmsKeyArn: key.arn,
      fileBucketArns: files?.bucketArns,
    },
    extraSecurityGroupIds: clients ? [clients.id] : undefined,
    ...(behindCloudflare ? { restrictTo: "cloudflare" as const } : {}),
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

  if (behindCloudflare && s.dns) {
    // Proxied A records to the box's Elastic IP, and the zone set to Full (strict) TLS, Always Use HTTPS, TLS 1.2+.
    new Cdn("cdn", { mode: "cloudflare", domains: hosts, origin: { ipv4Address: box.publicIp }, zoneId: s.dns.cloudflareZoneId }, opts);
    notes.push(
      "The site is behind Cloudflare's proxy (cdn: cloudflare): the domains' records are proxied to the box's Elastic IP, the zone is set to SSL Full (strict), " +
        "Always Use HTTPS and TLS 1.2+ (zone-wide settings), and the box serves a Cloudflare Origin CA certificate (trusted by Cloudflare only, no Let's Encrypt) " +
        "and admits HTTPS from Cloudflare's ranges only: the site is not reachable at the box's address directly.",
    );
  } else if (s.dns) {
    new DnsRecords("dns", { zoneId: s.dns.cloudflareZoneId, hosts, target: box.publicIp, type: "A" }, opts);
  } else {
    notes.push("No domain: the site is served over plain HTTP on the box's public name, without TLS. Set domains, cloudflareZoneId and acmeEmail to get DNS records and Let's Encrypt certificates.");
  }
  notes.push(deployCheckNote(behindCloudflare ? "origin-certificate" : s.dns ? "letsencrypt" : "none"));
  if (!s.deletionProtection) {
    notes.push(`deletionProtection is off (${s.environment}): the box can be terminated and its root volume is deleted with it; backups remain.`);
  }

  if (boxColors && plan) {
    const live = boxColors.liveColor;
    const idle: Color = live === "blue" ? "green" : "blue";
    notes.push(
      `Blue-green on one box: ${live} is live with release ${plan[live].release}` +
        (boxColors.idleRunning
          ? `; ${idle} runs release ${plan[idle].release} beside it (two gunicorn pools per app: size the box's memory for both), previewed with the header X-Django-Tiers-Color: ${idle}.`
          : `; ${idle}'s gunicorn is stopped. \`npm run promote\` deploys a new release there, checks it and switches nginx to it.`),
    );
    if (!boxColors.releases[live]) {
      notes.push(`The live color's release is not pinned (${live}Release unset): a change to the app folders rolls the live color in place. Promote (which pins it) to release through the idle color.`);
    }
  }

  const siteUrls = hosts.length > 0
    ? pulumi.output(hosts.map((h) => `https://${h}/`))
    : box.publicDns.apply((dns) => [`http://${dns}/`]);

  return {
    box,
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
      releases: pulumi.output(Object.fromEntries(apps.map(({ app, release }) => [app.name, boxColors && plan ? plan[boxColors.liveColor].release : release.version]))),
      secretArns: pulumi.all(Object.fromEntries(apps.map(({ app, secrets }) => [app.name, secrets.secretArn]))),
      ...(boxColors && plan && built
        ? {
            liveColor: pulumi.output(boxColors.liveColor),
            // What `npm run promote` reads; a box has no target group (nginx on the box switches the colors).
            colors: pulumi.output(plan),
            builtRelease: pulumi.output(built),
          }
        : {}),
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
        reason: "generated secrets (SECRET_KEY, database password, cache token) rotate when the secretsRotation label changes and pulumi up rolls them out to the servers, not on a Secrets Manager schedule the servers would not notice" +
          (originCertificate ? "; the origin certificate's secret changes when pulumi up issues a new certificate (valid 15 years; a new key: pulumi up --replace on origin-certificate-key), and the rollout that follows installs it on the box" : ""),
      },
    ],
  };
}
