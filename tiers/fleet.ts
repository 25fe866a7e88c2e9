/**
 * The load-balanced tier: an ALB (TLS from ACM, validated in Cloudflare) in
 * front of two app fleets, blue and green, each running its own release; the
 * HTTPS listener splits traffic between them by weight, which is what
 * promotion changes. PostgreSQL on RDS, files on S3, the cache and broker on
 * ElastiCache, task workers (and one Celery beat) in their own groups,
 * optionally a CDN in front.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { Backup } from "../components/backup";
import { bundleVersion } from "../components/bundle";
import { Cdn, cloudFrontReadStatement } from "../components/cdn";
import { Certificate } from "../components/certificate";
import { DnsRecords } from "../components/dns";
import { Fleet } from "../components/fleet";
import { LoadBalancer, albLogDeliveryStatement } from "../components/load-balancer";
import { Monitoring } from "../components/monitoring";
import { PrivateBucket } from "../components/private-bucket";
import { TaskQueue, visibilityTimeoutSeconds } from "../components/task-queue";
import { SETTINGS } from "../config/settings";
import type { Settings } from "../config/validate";
import { appFileLocations } from "../server/paths";
import type { BoxSpec, Color, RenderedFile } from "../server/types";
import { appSecretsGeneration, commonSpec, deployCheckNote, deployFoundation } from "./foundation";
import type { Deployment } from "./types";

export const COLORS: readonly Color[] = ["blue", "green"];
/** Key prefix of the load balancer's access logs in the logs bucket (no slashes: ELB adds its own). */
export const ALB_LOG_PREFIX = "alb";
/** Seconds past gunicorn's graceful timeout that the target group waits before it drops a draining server. */
const DEREGISTRATION_MARGIN_SECONDS = 5;

/**
 * The release built from the app folders now: releaseVersion, else the one
 * app's folder hash, else a hash of every app's folder hash (one label names
 * a release of all apps, which the blue and green settings pin).
 */
export function builtRelease(s: Settings): string {
  if (s.releaseVersion) return s.releaseVersion;
  const versions = s.apps.map((a) => bundleVersion(a.dir));
  if (versions.length === 1) return versions[0];
  return createHash("sha256").update(s.apps.map((a, i) => `${a.name}=${versions[i]}`).join("\n")).digest("hex").slice(0, 12);
}

/** What each color runs and how much traffic it takes, from the settings. */
export function colorPlan(s: Settings): Record<Color, { release: string; running: boolean; weight: number }> {
  const fleet = s.fleet!;
  const built = builtRelease(s);
  const plan = {} as Record<Color, { release: string; running: boolean; weight: number }>;
  for (const color of COLORS) {
    const live = color === fleet.liveColor;
    plan[color] = {
      release: fleet.releases[color] ?? built,
      running: live || fleet.idleRunning,
      weight: live ? 100 - (fleet.idleRunning ? fleet.canaryWeight : 0) : fleet.idleRunning ? fleet.canaryWeight : 0,
    };
  }
  return plan;
}

export function deployFleetTier(s: Settings, opts: pulumi.ComponentResourceOptions = {}): Deployment {
  const fleetSettings = s.fleet!;
  const dns = s.dns!;
  const hosts = s.apps.flatMap((a) => a.domains);
  const plan = colorPlan(s);
  const built = builtRelease(s);
  const cloudfront = s.cdn === "cloudfront";
  const region = new pulumi.Config("aws").get("region");

  // The CDN's distribution is declared after the buckets whose policies name it: settled below.
  let settleDistribution!: (arn: pulumi.Output<string>) => void;
  const distributionArn = pulumi.output(new Promise<pulumi.Output<string>>((resolve) => (settleDistribution = resolve)));
  const account = aws.getCallerIdentityOutput({}, opts);
  const f = deployFoundation(s, opts, {
    releaseVersion: built,
    releaseChannels: { blue: plan.blue.release, green: plan.green.release },
    // The fleets' launch templates encrypt their volumes with the stack key.
    allowAutoScaling: true,
    logsPolicyStatements: (bucketArn) =>
      pulumi.all([account.accountId, aws.getRegionOutput({}, opts).region]).apply(([accountId, regionName]) => [
        albLogDeliveryStatement(bucketArn, ALB_LOG_PREFIX, accountId, regionName),
      ].flat()),
    ...(cloudfront
      ? {
          allowCloudFront: true,
          filesPolicyStatements: (bucketArn: string) => distributionArn.apply((arn) => [cloudFrontReadStatement(bucketArn, arn)]),
        }
      : {}),
  });
  const { notes, network, key, alerts, artifacts, clients, database, cache, files, apps } = f;
  if (!cloudfront) settleDistribution(pulumi.output(""));
  if (s.network.mode === "existing") {
    notes.push("Your own VPC: the fleets run in its private subnets, which must reach the internet (a NAT gateway or equivalent) for Debian packages and AWS APIs.");
  }

  // CloudFront reads its certificate from us-east-1: in that region the load balancer's serves both.
  const sharedCertificate = cloudfront && region === "us-east-1";
  const certificate = new Certificate("certificate", {
    domains: hosts,
    zoneId: dns.cloudflareZoneId,
    ...(sharedCertificate ? { region: "us-east-1" } : {}),
  }, opts);
  const loadBalancer = new LoadBalancer("lb", {
    vpcId: network.vpcId,
    vpcCidr: network.cidrBlock,
    subnetIds: [0, 1].map((i) => network.publicSubnetIds.apply((ids) => ids[i])),
    certificateArn: certificate.arn,
    // AWS writes a test object when the load balancer is created: the bucket's policy must be in place first.
    accessLogs: { bucket: artifacts.logsBucketWithPolicy, prefix: ALB_LOG_PREFIX },
    deletionProtection: s.deletionProtection,
    restrictTo: s.cdn === "none" ? undefined : s.cdn,
    targets: { deregistrationDelaySeconds: s.gunicorn.gracefulTimeoutSeconds + DEREGISTRATION_MARGIN_SECONDS },
    // At least nginx's proxy_read_timeout and below its keepalive_timeout (config/timeouts.ts).
    idleTimeoutSeconds: s.timeouts.balancerIdleSeconds,
    weights: { blue: plan.blue.weight, green: plan.green.weight },
    previewKeyRotation: s.secretsRotation,
  }, opts);

  // Servers read secrets at boot: a rotation replaces them all. The first label is not tagged, so a stack
  // that never rotated keeps its launch templates when it upgrades to a version that tags rotations.
  const rotationTag = s.secretsRotation === SETTINGS.secretsRotation.default ? undefined : s.secretsRotation;

  // Task workers: their own fleet (and one scheduler for Celery beat); with SQS, the queues the app fleets send to.
  // Behind CloudFront each app's file URLs name its own first domain (all are the distribution's aliases).
  const appSpecBase = commonSpec(s, f, cloudfront ? { customDomains: Object.fromEntries(s.apps.map((a) => [a.name, a.domains[0]])) } : {});
  const taskQueue = s.taskQueue && s.taskWorker !== "none"
    ? new TaskQueue("tasks", {
        runner: s.taskWorker,
        broker: s.taskQueue.broker,
        queues: s.taskQueue.queues,
        longestTaskSeconds: s.longestTaskSeconds,
        kmsKeyArn: key.arn,
        vpcId: network.vpcId,
        subnetIds: f.privateSubnets,
        instanceType: s.taskQueue.instanceType,
        architecture: s.box.architecture,
        rootVolumeGb: s.box.rootVolumeGb,
        minSize: s.taskQueue.minSize,
        maxSize: s.taskQueue.maxSize,
        scaling: { targetCpuPercent: fleetSettings.targetCpuPercent },
        spec: pulumi.all([appSpecBase, pulumi.all(apps.map((a) => a.release.parameterName))]).apply(([common, parameterNames]) => ({
          ...common,
          apps: common.apps.map((app, i) => ({ ...app, releaseParameter: parameterNames[i] })),
          tls: { mode: "none" as const },
        })),
        access: serverAccess(f, apps.map((a) => a.release.parameterArn)),
        // Workers run the release built now (the default pointers) and are replaced, draining, when it changes.
        releases: Object.fromEntries(apps.map((a) => [a.app.name, a.release.version])),
        extraSecurityGroupIds: clients ? [clients.id] : undefined,
        alertTopicArn: alerts.topicArn,
        logRetentionDays: s.logRetentionDays,
        image: fleetSettings.image,
        waitFor: network.privateInternetRoute,
        secretsRotation: rotationTag,
        appSecretsGeneration: appSecretsGeneration(f),
      }, opts)
    : undefined;

  const sqsBroker = taskQueue && s.taskQueue?.broker === "sqs";
  const fleets = {} as Record<Color, Fleet>;
  for (const color of COLORS) {
    const { running } = plan[color];
    const channel = apps.map((a) => a.release.channels[color]);
    const spec: pulumi.Output<Omit<BoxSpec, "configParameter">> = pulumi
      .all([appSpecBase, pulumi.all(channel.map((c) => c.parameterName)), network.cidrBlock, taskQueue ? taskQueue.queueUrls : undefined])
      .apply(([common, parameterNames, vpcCidr, queueUrls]): Omit<BoxSpec, "configParameter"> => ({
        ...common,
        role: "app",
        color,
        apps: common.apps.map((app, i) => ({ ...app, releaseParameter: parameterNames[i] })),
        tls: { mode: "load-balancer", trustedCidrs: [vpcCidr] },
        ...(sqsBroker && queueUrls
          ? { broker: { kind: "sqs" as const, queues: queueUrls, visibilityTimeoutSeconds: visibilityTimeoutSeconds(s.longestTaskSeconds) } }
          : {}),
      }));
    fleets[color] = new Fleet(`app-${color}`, {
      role: "app",
      label: `app-${color}`,
      vpcId: network.vpcId,
      subnetIds: f.privateSubnets,
      instanceType: s.box.instanceType,
      architecture: s.box.architecture,
      rootVolumeGb: s.box.rootVolumeGb,
      spec,
      releases: Object.fromEntries(apps.map((a) => [a.app.name, plan[color].release])),
      // A stopped color keeps its launch template and group, with no servers: promotion scales it up.
      minSize: running ? fleetSettings.minSize : 0,
      maxSize: fleetSettings.maxSize,
      targetGroupArns: [loadBalancer.targetGroups[color].arn],
      ingressFrom: { securityGroupId: loadBalancer.securityGroupId, port: 80, description: "HTTP from the load balancer" },
      access: {
        ...serverAccess(f, channel.map((c) => c.parameterArn)),
        ...(sqsBroker ? { queueArns: taskQueue.queueArns } : {}),
      },
      extraSecurityGroupIds: clients ? [clients.id] : undefined,
      alertTopicArn: alerts.topicArn,
      logRetentionDays: s.logRetentionDays,
      scaling: running ? { targetCpuPercent: fleetSettings.targetCpuPercent } : undefined,
      image: fleetSettings.image,
      waitFor: network.privateInternetRoute,
      secretsRotation: rotationTag,
      appSecretsGeneration: appSecretsGeneration(f),
    }, opts);
  }

  // CDN, and the records that point the domains at the front.
  let cdn: Cdn | undefined;
  if (cloudfront) {
    const cdnCertificate = sharedCertificate
      ? certificate
      : new Certificate("cdn-certificate", {
          domains: hosts,
          zoneId: dns.cloudflareZoneId,
          region: "us-east-1",
          // ACM asks for the same records in every region: the load balancer's certificate made them.
          validationRecords: false,
          waitFor: certificate.validationFqdns,
        }, opts);
    const cdnLogs = new PrivateBucket("cdn-logs", {
      // CloudFront's standard logs are written through an ACL grant: the one bucket with ACLs on.
      objectOwnership: "BucketOwnerPreferred",
      accessLogs: { bucket: artifacts.logsBucketName, prefix: "cdn-logs/" },
      noncurrentVersionDays: 7,
      lifecycleRules: [{ id: "expire-cdn-logs", status: "Enabled", filter: {}, expiration: { days: 90 } }],
    }, opts);
    cdn = new Cdn("cdn", {
      mode: "cloudfront",
      domains: hosts,
      origin: { domainName: loadBalancer.dnsName },
      certificateArn: cdnCertificate.arn,
      // Each bucket serves every app's prefix, at the path of the same name (appFileLocations).
      buckets: files
        ? {
            static: { regionalDomainName: files.nodes.static.bucket.bucketRegionalDomainName, pathPatterns: appFilePaths(s, "static") },
            media: { regionalDomainName: files.nodes.media.bucket.bucketRegionalDomainName, pathPatterns: appFilePaths(s, "media") },
          }
        : undefined,
      logsBucketDomainName: cdnLogs.bucket.bucketDomainName,
      originReadTimeoutSeconds: s.timeouts.balancerIdleSeconds,
      waitFor: [cdnLogs.ownership],
    }, opts);
    settleDistribution(cdn.distributionArn!);
    new DnsRecords("dns", { zoneId: dns.cloudflareZoneId, hosts, target: cdn.domainName!, type: "CNAME" }, opts);
  } else if (s.cdn === "cloudflare") {
    // Cloudflare's proxied records point the domains at the load balancer; it admits only Cloudflare's ranges.
    cdn = new Cdn("cdn", { mode: "cloudflare", domains: hosts, origin: { domainName: loadBalancer.dnsName }, zoneId: dns.cloudflareZoneId }, opts);
  } else {
    new DnsRecords("dns", { zoneId: dns.cloudflareZoneId, hosts, target: loadBalancer.dnsName, type: "CNAME" }, opts);
  }

  if (database) {
    new Backup("backup", {
      resourceArns: [database.instanceArn],
      kmsKeyArn: key.arn,
      hourUtc: s.backup.hourUtc,
      retentionDays: s.backup.retentionDays,
    }, opts);
  }

  new Monitoring("monitoring", {
    alertTopicArn: alerts.topicArn,
    database: database ? { instanceIdentifier: database.instanceId } : undefined,
    cache: cache ? { replicationGroupId: cache.replicationGroupId, nodeCount: s.highAvailability ? 2 : 1 } : undefined,
    loadBalancer: {
      arnSuffix: loadBalancer.arnSuffix,
      targetGroups: Object.fromEntries(COLORS.map((c) => [c, loadBalancer.targetGroups[c].arnSuffix])),
    },
    fleets: {
      ...Object.fromEntries(COLORS.map((c) => [`app-${c}`, { autoScalingGroupName: fleets[c].autoScalingGroupName }])),
      ...(taskQueue ? { worker: { autoScalingGroupName: taskQueue.workers.autoScalingGroupName } } : {}),
    },
  }, opts);

  notes.push(
    `Blue-green: ${fleetSettings.liveColor} is live with release ${plan[fleetSettings.liveColor].release}` +
      (fleetSettings.idleRunning
        ? `; ${fleetSettings.liveColor === "blue" ? "green" : "blue"} runs release ${plan[fleetSettings.liveColor === "blue" ? "green" : "blue"].release} with ${fleetSettings.canaryWeight}% of the traffic.`
        : "; the other fleet has no servers. `npm run promote` deploys a new release there, checks it and switches the traffic."),
  );
  // TLS ends at the load balancer: the app servers' settings are those of an HTTPS site.
  notes.push(deployCheckNote("load-balancer"));
  if (!fleetSettings.releases[fleetSettings.liveColor]) {
    notes.push(`The live fleet's release is not pinned (${fleetSettings.liveColor}Release unset): a change to the app folders rolls the live fleet in place. Promote (which pins it) to release through the idle fleet.`);
  }
  const image = fleetSettings.image;
  notes.push(image
    ? `Fleet image: ${"id" in image ? image.id : `${image.name} (Debian's image of that name)`}, pinned by fleetImage; changing it rolls every fleet onto the new image.`
    : `Fleet image: not pinned. A new fleet boots the newest official Debian 12 ${s.box.architecture} image and keeps it (each launch template's imageId is not updated); set fleetImage to an AMI id or image name to move the fleets to a newer image, as a planned change.`);
  if (!s.deletionProtection) {
    notes.push(`deletionProtection is off (${s.environment}): the load balancer and the database can be deleted; the database still takes a final snapshot.`);
  }

  const colors = pulumi
    .all(COLORS.map((c) => pulumi.all([loadBalancer.targetGroups[c].arn, fleets[c].autoScalingGroupName])))
    .apply((pairs) => Object.fromEntries(COLORS.map((c, i) => [c, {
      release: plan[c].release,
      running: plan[c].running,
      weight: plan[c].weight,
      targetGroupArn: pairs[i][0],
      autoScalingGroup: pairs[i][1],
      minSize: plan[c].running ? fleetSettings.minSize : 0,
    }])) as Record<Color, { release: string; running: boolean; weight: number; targetGroupArn: string; autoScalingGroup: string; minSize: number }>);

  const serverFiles: pulumi.Output<Record<string, RenderedFile[]>> = pulumi
    .all([
      fleets.blue.files,
      fleets.green.files,
      taskQueue ? taskQueue.workers.files : undefined,
      taskQueue?.scheduler ? taskQueue.scheduler.files : undefined,
    ])
    .apply(([blue, green, worker, scheduler]): Record<string, RenderedFile[]> => {
      const byRole: Record<string, RenderedFile[]> = { "app-blue": blue, "app-green": green };
      if (worker) byRole.worker = worker;
      if (scheduler) byRole.scheduler = scheduler;
      return byRole;
    });

  return {
    tier: s.tier,
    environment: s.environment,
    outputs: {
      tier: pulumi.output(s.tier),
      environment: pulumi.output(s.environment),
      siteUrls: pulumi.output(hosts.map((h) => `https://${h}/`)),
      artifactsBucket: artifacts.bucketName,
      logsBucket: artifacts.logsBucketName,
      alertTopicArn: alerts.topicArn,
      releases: pulumi.output(Object.fromEntries(apps.map(({ app }) => [app.name, plan[fleetSettings.liveColor].release]))),
      secretArns: pulumi.all(Object.fromEntries(apps.map(({ app, secrets }) => [app.name, secrets.secretArn]))),
      liveColor: pulumi.output(fleetSettings.liveColor),
      colors,
      builtRelease: pulumi.output(built),
      previewKey: loadBalancer.previewKey,
      loadBalancerDnsName: loadBalancer.dnsName,
      ...(cdn?.domainName ? { cdnDomainName: cdn.domainName } : {}),
    },
    serverFiles,
    notes,
    relaxations: [
      ...(!s.deletionProtection && database
        ? [{ check: "rds-deletion-protection", setting: "deletionProtection", reason: `turned off for this ${s.environment} stack; a final snapshot is still taken on delete` }]
        : []),
      ...(!s.deletionProtection
        ? [{ check: "alb-deletion-protection", setting: "deletionProtection", reason: `turned off for this ${s.environment} stack; the load balancer holds no data` }]
        : []),
      ...(cdn?.relaxations ?? []),
      {
        check: "secrets-rotation",
        setting: "secretsRotation",
        reason: "generated secrets (SECRET_KEY, database password, cache token, preview key) rotate when the secretsRotation label changes, not on a Secrets Manager schedule the servers would not notice: pulumi up then starts a rolling instance refresh of every fleet with servers (it does not wait for it), and the replacements read the new values at boot. The rotation is not seamless: RDS applies the new master password within minutes, so until the refresh has replaced a server (typically 10 to 20 minutes) that server's requests and tasks that open a database connection fail, and sessions signed by old and new servers do not carry over. Rotate in a maintenance window (docs/runbooks/rotate-secrets.md)",
      },
    ],
  };
}

/** The CloudFront paths of every app's files in one bucket: `/static/*` (the first app), `/apps/<name>/static/*`, ... */
function appFilePaths(s: Settings, kind: "static" | "media"): string[] {
  const names = s.apps.map((a) => a.name);
  return names.map((n) => `/${appFileLocations(names, n, true)[kind]}/*`);
}

/** What every server of the tier reads and writes: secrets, release pointers, bundles, files. */
function serverAccess(f: ReturnType<typeof deployFoundation>, parameterArns: pulumi.Input<string>[]) {
  return {
    artifactsBucket: f.artifacts.bucketName,
    artifactsBucketArn: f.artifacts.bucketArn,
    secretArns: f.apps.map((a) => a.secrets.secretArn),
    parameterArns,
    kmsKeyArn: f.key.arn,
    fileBucketArns: f.files?.bucketArns,
  };
}
