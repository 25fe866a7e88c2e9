import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderBox, renderUserDataBase64 } from "../server";
import type { BoxSpec, RenderedFile } from "../server/types";
import { BoxConfig, boxConfigParameterName } from "./box-config";
import { Component, Transform, stackTags } from "./component";
import { ServerAccess, debianAmi, serverInstanceRole } from "./instance-role";

/** The name of a draining fleet's termination hook: the server completes it by this name. */
export const DRAIN_HOOK_NAME = "django-tiers-drain";

/** The root device of Debian's AMIs, whose mapping the launch template overrides (encrypted gp3). */
export const DEBIAN_ROOT_DEVICE = "/dev/xvda";

/** AWS's ceiling on a lifecycle hook's heartbeat timeout; a longer drain heartbeats (see `drainSeconds`). */
export const MAX_HOOK_HEARTBEAT_SECONDS = 7200;

/** AWS's ceiling on how long an instance may wait in a lifecycle hook, heartbeats included (48 h). */
const MAX_HOOK_WAIT_SECONDS = 172800;

const LABEL = /^[a-z][a-z0-9-]{0,30}$/;

/** An EC2 image id: `ami-` and 8 or 17 hexadecimal digits. */
export const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** The name of one of Debian's official Debian 12 images, e.g. debian-12-arm64-20250610-2137 (Debian names amd64 what EC2 calls x86_64). */
export function debianImageName(architecture: "arm64" | "x86_64"): RegExp {
  return new RegExp(`^debian-12-${architecture === "arm64" ? "arm64" : "amd64"}-\\d{8}-\\d+$`);
}

export interface FleetArgs {
  /**
   * What the servers run: `app` (nginx → gunicorn behind the ALB) or
   * `worker` (the task runner). The spec's role must be the same.
   */
  role: "app" | "worker";
  /**
   * The fleet's name among the stack's server roles: it names its
   * configuration document and parameter, and tags its instances. Caution:
   * changing it moves the configuration parameter.
   * @example "app-blue", "worker", "scheduler"
   */
  label: string;
  vpcId: pulumi.Input<string>;
  /**
   * Private subnets (reaching the internet through the NAT gateway), in at
   * least two availability zones.
   */
  subnetIds: pulumi.Input<string>[];
  /**
   * EC2 instance type; must match `architecture`. A change makes a new
   * launch template version, which rolls the fleet (no capacity loss).
   * @default "t4g.small"
   */
  instanceType?: string;
  /**
   * CPU architecture of the Debian 12 AMI.
   * @default "arm64"
   */
  architecture?: "arm64" | "x86_64";
  /**
   * Root volume size in GiB (gp3, encrypted, deleted with the instance:
   * fleets hold no data).
   * @default 20
   */
  rootVolumeGb?: number;
  /**
   * The image the servers boot: an AMI id, or the name of one of Debian's
   * official images (looked up under Debian's account, for the fleet's
   * architecture). Setting or changing it makes a new launch template
   * version, which rolls the fleet onto the image (no capacity loss).
   * @default the newest official Debian 12 AMI when the launch template is
   * created, kept after: a newer Debian image never rolls the fleet by itself
   * @example { id: "ami-0123456789abcdef0" }, { name: "debian-12-arm64-20250610-2137" }
   */
  image?: { id: string } | { name: string };
  /**
   * Resources the servers' first boot needs that the fleet does not name
   * otherwise: the private subnets' route to the NAT gateway (first boot
   * downloads packages and the release). The group waits for them.
   * @default []
   */
  waitFor?: pulumi.Input<pulumi.Resource>[];
  /**
   * What runs on the servers, rendered by server/ into the fleet's
   * configuration document (the `config` child) and its user data. Holds no
   * secret. A change makes a new configuration version and with it a new
   * launch template version: the fleet is replaced, rolling.
   */
  spec: pulumi.Input<Omit<BoxSpec, "configParameter">>;
  /**
   * Release versions by app. The spec names only each release's SSM
   * parameter, so the versions are tagged on the instances
   * (`django-tiers:release:<app>`): a new release is a new launch template
   * version, and the group rolls onto it.
   * @default {} (a release then reaches only servers launched after it)
   * @example { mysite: "3f2a9c1b7d0e" }
   */
  releases?: Record<string, string>;
  /**
   * The label of the secrets' last rotation (the stack's `secretsRotation`).
   * The servers read their secrets only at boot, so the label is tagged on
   * the instances (`django-tiers:secrets`): a new label is a new launch
   * template version, and the group replaces every server (rolling) with
   * ones that read the new values.
   * @default none (a rotation reaches only servers launched after it)
   */
  secretsRotation?: string;
  /**
   * What identifies the current values of the apps' own secrets (appSecrets).
   * Tagged on the servers, hashed: a change (a new value) is a new launch
   * template version, and the rolling refresh replaces every server with one
   * that reads the new values at boot.
   * @default undefined (no app has secrets of its own; no tag)
   */
  appSecretsGeneration?: pulumi.Input<string>;
  /**
   * Fewest instances. An idle blue/green colour may be 0; the live app
   * fleet keeps at least 2 in prod (two zones).
   */
  minSize: number;
  /** Most instances (at least 1). Cost: each instance is billed by the second while it runs. */
  maxSize: number;
  /**
   * Instances to start with, from `minSize` to `maxSize`. With `scaling`
   * the policy owns it afterwards (Pulumi ignores its drift).
   * @default minSize
   */
  desiredCapacity?: number;
  /**
   * Target groups the instances register in (the app role's colour). The
   * group then replaces instances the load balancer finds unhealthy.
   * Required for `app`, refused for `worker`.
   */
  targetGroupArns?: pulumi.Input<string>[];
  /**
   * Seconds after launch before health checks count: the first boot
   * provisions (packages, venv, collectstatic). Also the instance warm-up
   * of scaling and instance refresh.
   * @default 300
   */
  healthCheckGracePeriod?: number;
  /**
   * The one source the servers take traffic from (app: port 80 from the
   * ALB's security group). Required for `app`, refused for `worker`
   * (workers pull their tasks; nothing connects to them).
   */
  ingressFrom?: { securityGroupId: pulumi.Input<string>; port: number; description: string };
  /** Where the servers read and write. Their role is scoped to exactly these. */
  access: ServerAccess;
  /**
   * More security groups the servers wear, e.g. the client group that the
   * database and cache admit.
   */
  extraSecurityGroupIds?: pulumi.Input<string>[];
  /** SNS topic the fleet's alarms notify (CPU high, fewer instances in service than `minSize`). */
  alertTopicArn: pulumi.Input<string>;
  /**
   * Days the fleet's CloudWatch log group keeps logs.
   * @default 30
   */
  logRetentionDays?: number;
  /**
   * Scale between `minSize` and `maxSize` to keep the group's average CPU
   * at this percentage (a target-tracking policy).
   * @default no scaling policy (the group stays at `desiredCapacity`)
   */
  scaling?: { targetCpuPercent: number };
  /**
   * Seconds a terminating worker may take to drain (finish its running
   * tasks). Adds a termination lifecycle hook that holds the instance until
   * the server's drain watcher completes it (the spec gets the hook's and
   * the group's names), or for `drainSeconds + 60` seconds, then continues.
   * Workers only: app servers drain through the target group. Above 7140 s the hook's timeout stays at
   * AWS's 7200 s and the server must record heartbeats while it drains.
   * @default no hook (instances terminate at once)
   */
  drainSeconds?: number;
  /**
   * How an instance refresh (a new launch template version) replaces
   * servers. `launch-before-terminate` keeps full capacity (up to twice the
   * instances for a while). `terminate-before-launch` never runs more than
   * `maxSize`: for a fleet whose servers must be unique, such as the one
   * Celery beat (two beats would run every periodic task twice).
   * @default "launch-before-terminate"
   */
  replacement?: "launch-before-terminate" | "terminate-before-launch";
  transform?: {
    launchTemplate?: Transform<aws.ec2.LaunchTemplateArgs>;
    autoScalingGroup?: Transform<aws.autoscaling.GroupArgs>;
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    role?: Transform<aws.iam.RoleArgs>;
  };
}

/**
 * Out: only HTTP(S) — Debian mirrors, PyPI, AWS APIs — through the NAT
 * gateway. The database and cache are reached through the client group
 * (`extraSecurityGroupIds`); DNS and time go to the VPC's link-local
 * services, which security groups do not filter.
 */
export const FLEET_EGRESS = [
  { role: "out-http", port: 80, description: "HTTP to Debian mirrors (through the NAT gateway)" },
  { role: "out-https", port: 443, description: "HTTPS to AWS APIs, PyPI and Debian security (through the NAT gateway)" },
] as const;

/** Throws a clear error for arguments AWS (or the fleet's role) would refuse, before any child is declared. */
export function validateFleetArgs(name: string, args: Omit<FleetArgs, "spec">): void {
  const fail = (message: string): never => {
    throw new Error(`Fleet ${name}: ${message}`);
  };
  const whole = (v: number | undefined) => v === undefined || Number.isInteger(v);
  if (args.role !== "app" && args.role !== "worker") fail(`role must be "app" or "worker" (got ${JSON.stringify(args.role)})`);
  if (!LABEL.test(args.label)) fail(`label must match ${LABEL.source} (got ${JSON.stringify(args.label)})`);
  if (args.subnetIds.length < 2) fail(`subnetIds must name private subnets in at least two availability zones (got ${args.subnetIds.length})`);
  if (!whole(args.minSize) || args.minSize < 0) fail(`minSize must be a whole number ≥ 0 (got ${args.minSize})`);
  if (!whole(args.maxSize) || args.maxSize < 1) fail(`maxSize must be a whole number ≥ 1 (got ${args.maxSize})`);
  if (args.minSize > args.maxSize) fail(`minSize (${args.minSize}) must not exceed maxSize (${args.maxSize})`);
  const desired = args.desiredCapacity;
  if (desired !== undefined && (!whole(desired) || desired < args.minSize || desired > args.maxSize))
    fail(`desiredCapacity must be a whole number from minSize (${args.minSize}) to maxSize (${args.maxSize}) (got ${desired})`);
  const grace = args.healthCheckGracePeriod;
  if (grace !== undefined && (!whole(grace) || grace < 0 || grace > 7200)) fail(`healthCheckGracePeriod must be 0–7200 seconds (got ${grace})`);
  if (args.rootVolumeGb !== undefined && (!whole(args.rootVolumeGb) || args.rootVolumeGb < 8 || args.rootVolumeGb > 16384))
    fail(`rootVolumeGb must be a whole number from 8 to 16384 (got ${args.rootVolumeGb})`);
  if (args.logRetentionDays !== undefined && (!whole(args.logRetentionDays) || args.logRetentionDays < 1))
    fail(`logRetentionDays must be a whole number ≥ 1 (got ${args.logRetentionDays})`);
  const tgs = args.targetGroupArns ?? [];
  if (args.role === "app") {
    if (!tgs.length) fail(`targetGroupArns must name the colour's target group for role "app" (an app fleet outside a target group gets no traffic)`);
    if (!args.ingressFrom) fail(`ingressFrom must name the load balancer's security group for role "app" (nothing else may reach the app servers)`);
  } else {
    if (tgs.length) fail(`targetGroupArns is only for role "app"; workers take no traffic`);
    if (args.ingressFrom) fail(`ingressFrom is only for role "app"; nothing connects to workers`);
  }
  const port = args.ingressFrom?.port;
  if (port !== undefined && (!whole(port) || port < 1 || port > 65535)) fail(`ingressFrom.port must be a port number 1–65535 (got ${port})`);
  for (const [app, v] of Object.entries(args.releases ?? {}))
    if (!/^[a-z][a-z0-9]{0,20}$/.test(app) || !/^[A-Za-z0-9._-]{1,64}$/.test(v)) fail(`releases: ${JSON.stringify(app)} → ${JSON.stringify(v)} is not an app name and a release version`);
  if (args.ingressFrom && !args.ingressFrom.description.trim()) fail("ingressFrom.description must say why the rule exists");
  const cpu = args.scaling?.targetCpuPercent;
  if (cpu !== undefined && !(cpu > 0 && cpu <= 100)) fail(`scaling.targetCpuPercent must be above 0 and at most 100 (got ${cpu})`);
  const drain = args.drainSeconds;
  if (drain !== undefined && args.role !== "worker") fail("drainSeconds is only for role \"worker\" (app servers drain through the target group's deregistration delay)");
  if (drain !== undefined && (!whole(drain) || drain < 1 || drain + 60 > MAX_HOOK_WAIT_SECONDS))
    fail(`drainSeconds must be a whole number from 1 to ${MAX_HOOK_WAIT_SECONDS - 60} (got ${drain})`);
  const image = args.image;
  if (image && "id" in image && !AMI_ID.test(image.id)) fail(`image.id must be an AMI id, ami- and 8 or 17 hexadecimal digits (got ${JSON.stringify(image.id)})`);
  const arch = args.architecture ?? "arm64";
  if (image && "name" in image && !debianImageName(arch).test(image.name))
    fail(`image.name must name an official Debian 12 ${arch} image, like ${arch === "arm64" ? "debian-12-arm64" : "debian-12-amd64"}-20250610-2137 (got ${JSON.stringify(image.name)})`);
  if (args.secretsRotation !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(args.secretsRotation))
    fail(`secretsRotation must be 1–64 characters of [A-Za-z0-9._-] (got ${JSON.stringify(args.secretsRotation)})`);
  if (args.replacement !== undefined && !["launch-before-terminate", "terminate-before-launch"].includes(args.replacement))
    fail(`replacement must be "launch-before-terminate" or "terminate-before-launch" (got ${JSON.stringify(args.replacement)})`);
}

/**
 * One autoscaling group of identical Debian servers of a role, in private
 * subnets: the blue and green app fleets behind the ALB, the task workers,
 * the one Celery beat. IMDSv2 only, no public IP, no SSH (Session Manager),
 * an encrypted gp3 root, an instance role scoped to its own secrets,
 * parameters, prefixes and queues. Every release or setting change makes a
 * new configuration version, tagged on a new launch template version, and
 * the group replaces its servers with an instance refresh: launch first,
 * then terminate, so capacity never drops.
 */
export class Fleet extends Component {
  public readonly autoScalingGroupName: pulumi.Output<string>;
  public readonly autoScalingGroupArn: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly launchTemplateId: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;
  /** Content hash of the configuration document the servers run. */
  public readonly configVersion: pulumi.Output<string>;
  /** Every file rendered for the fleet's servers (the content of its configuration document). */
  public readonly files: pulumi.Output<RenderedFile[]>;
  /** The termination hook the servers complete when drained (with `drainSeconds`). */
  public readonly drainHookName?: string;
  public readonly nodes: {
    securityGroup: aws.ec2.SecurityGroup;
    logGroup: aws.cloudwatch.LogGroup;
    role: aws.iam.Role;
    profile: aws.iam.InstanceProfile;
    config: BoxConfig;
    launchTemplate: aws.ec2.LaunchTemplate;
    autoScalingGroup: aws.autoscaling.Group;
    scalingPolicy?: aws.autoscaling.Policy;
    drainHook?: aws.autoscaling.LifecycleHook;
    alarms: aws.cloudwatch.MetricAlarm[];
  };

  constructor(name: string, args: FleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Fleet", name, opts);
    validateFleetArgs(name, args);
    const spec0 = args.spec as Partial<BoxSpec>;
    if (!pulumi.Output.isInstance(args.spec) && spec0.role !== undefined && spec0.role !== args.role)
      throw new Error(`Fleet ${name}: spec.role must be the fleet's role "${args.role}" (got ${JSON.stringify(spec0.role)})`);
    const architecture = args.architecture ?? "arm64";
    const grace = args.healthCheckGracePeriod ?? 300;
    const project = pulumi.getProject();
    const stack = pulumi.getStack();
    // A fixed group name lets the role's lifecycle permission name the group before the group exists
    // (its instances need the role first). Unique per account and region: project, stack, fleet.
    const groupName = `django-tiers-${project}-${stack}-${name}`;
    const roleTags = { "django-tiers:role": args.role, "django-tiers:fleet": args.label };

    const spec = pulumi.output(args.spec).apply((sp): BoxSpec => {
      if (sp.role !== args.role) throw new Error(`Fleet ${name}: spec.role must be the fleet's role "${args.role}" (got ${JSON.stringify(sp.role)})`);
      return {
        ...sp,
        configParameter: boxConfigParameterName(args.label),
        // The CloudWatch agent ships the servers' logs and publishes memory and disk use, aggregated by group.
        cloudWatch: { logGroupName: `/django-tiers/${project}/${stack}/${name}`, autoScalingGroup: true },
        // The server's drain watcher completes this hook once its running tasks have finished.
        ...(args.drainSeconds !== undefined ? { lifecycleHook: { name: DRAIN_HOOK_NAME, autoScalingGroupName: groupName } } : {}),
      } as BoxSpec;
    });
    this.files = spec.apply(renderBox);
    // Every rendered file, in the artifacts bucket: phase fetch applies it at boot.
    const config = new BoxConfig(this.childName("config"), { role: args.label, files: this.files, bucket: args.access.artifactsBucket }, { parent: this });

    const securityGroup = this.child(aws.ec2.SecurityGroup, "sg", {
      vpcId: args.vpcId,
      description: args.role === "app"
        ? `django-tiers ${args.label} servers: HTTP from the load balancer only, HTTP and HTTPS out`
        : `django-tiers ${args.label} servers: nothing in, HTTP and HTTPS out`,
      // policies/ admit app servers' traffic only from edge groups, and data ports only from app and worker groups.
      tags: stackTags({ Name: this.childName("sg"), "django-tiers:role": args.role }),
    }, args.transform?.securityGroup);
    if (args.ingressFrom) {
      this.child(aws.vpc.SecurityGroupIngressRule, "in", {
        securityGroupId: securityGroup.id,
        referencedSecurityGroupId: args.ingressFrom.securityGroupId,
        ipProtocol: "tcp",
        fromPort: args.ingressFrom.port,
        toPort: args.ingressFrom.port,
        description: args.ingressFrom.description,
      });
    }
    for (const rule of FLEET_EGRESS) {
      this.child(aws.vpc.SecurityGroupEgressRule, rule.role, {
        securityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: rule.port,
        toPort: rule.port,
        cidrIpv4: "0.0.0.0/0",
        description: rule.description,
      });
    }

    const logGroup = this.child(aws.cloudwatch.LogGroup, "logs", {
      name: `/django-tiers/${project}/${stack}/${name}`,
      retentionInDays: args.logRetentionDays ?? 30,
      kmsKeyId: args.access.kmsKeyArn,
      tags: stackTags(roleTags),
    });

    const { role, profile, accessPolicy, ssmCore } = serverInstanceRole(this, {
      description: `django-tiers ${args.label} servers: read their own secrets, parameters and releases; ship their logs${args.access.queueArns?.length ? "; use the task queues" : ""}`,
      access: args.access,
      configParameterArn: config.parameterArn,
      logGroupArn: logGroup.arn,
      lifecycleHook: args.drainSeconds !== undefined ? { autoScalingGroupName: groupName } : undefined,
      inAutoScalingGroup: true,
      transform: args.transform?.role,
    });

    const releaseTags = Object.fromEntries(
      Object.entries(args.releases ?? {}).sort(([x], [y]) => x.localeCompare(y)).map(([app, v]) => [`django-tiers:release:${app}`, v]),
    );
    const instanceTags = pulumi.all([config.version, args.appSecretsGeneration]).apply(([version, appSecrets]) =>
      stackTags({
        Name: this.childName("server"),
        ...roleTags,
        "django-tiers:config": version,
        ...releaseTags,
        ...(args.secretsRotation !== undefined ? { "django-tiers:secrets": args.secretsRotation } : {}),
        // Version ids are not secret, but a tag holds 256 characters: a short digest of them all.
        ...(appSecrets !== undefined ? { "django-tiers:app-secrets": createHash("sha256").update(appSecrets).digest("hex").slice(0, 16) } : {}),
      }),
    );
    const launchTemplate = this.child(aws.ec2.LaunchTemplate, "lt", {
      description: `django-tiers ${args.label} servers`,
      imageId: args.image && "id" in args.image ? args.image.id : debianAmi(this, architecture, args.image?.name).id,
      instanceType: args.instanceType ?? "t4g.small",
      iamInstanceProfile: { arn: profile.arn },
      // No public address: the servers sit in private subnets behind the NAT gateway (and the ALB).
      networkInterfaces: [{
        associatePublicIpAddress: "false",
        deleteOnTermination: "true",
        securityGroups: [securityGroup.id, ...(args.extraSecurityGroupIds ?? [])],
      }],
      // Hop limit 1: nothing one hop away (a container) can fetch the role's credentials.
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      blockDeviceMappings: [{
        deviceName: DEBIAN_ROOT_DEVICE,
        ebs: {
          volumeType: "gp3",
          volumeSize: args.rootVolumeGb ?? 20,
          encrypted: "true",
          kmsKeyId: args.access.kmsKeyArn,
          // Fleets hold no data: a terminated server's disk goes with it.
          deleteOnTermination: "true",
        },
      }],
      monitoring: { enabled: true },
      // Gzipped cloud-config with only the bootstrap files; the first fetch brings the configuration document.
      userData: spec.apply(renderUserDataBase64),
      // The configuration version in the instances' tags makes every release or setting change a new version.
      tagSpecifications: [
        { resourceType: "instance", tags: instanceTags },
        { resourceType: "volume", tags: instanceTags },
      ],
      updateDefaultVersion: true,
      tags: stackTags({ Name: this.childName("lt"), ...roleTags }),
    }, args.transform?.launchTemplate, {
      // Unpinned, the template keeps the image it was created with: the lookup's newest image changes
      // whenever Debian publishes one, and would roll every fleet at any pulumi up.
      ignoreChanges: args.image ? [] : ["imageId"],
    });

    const terminateFirst = args.replacement === "terminate-before-launch";
    const healthy = terminateFirst ? { minHealthyPercentage: 0, maxHealthyPercentage: 100 } : { minHealthyPercentage: 100, maxHealthyPercentage: 200 };
    const groupTags = stackTags({ Name: this.childName("server"), ...roleTags });
    const autoScalingGroup = this.child(aws.autoscaling.Group, "asg", {
      name: groupName,
      vpcZoneIdentifiers: args.subnetIds,
      // The version, not $Latest: a new version is a change of the group, which starts the instance refresh.
      launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
      minSize: args.minSize,
      maxSize: args.maxSize,
      desiredCapacity: args.desiredCapacity ?? args.minSize,
      healthCheckType: args.targetGroupArns?.length ? "ELB" : "EC2",
      healthCheckGracePeriod: grace,
      targetGroupArns: args.targetGroupArns,
      defaultInstanceWarmup: grace,
      instanceRefresh: {
        strategy: "Rolling",
        preferences: { ...healthy, instanceWarmup: String(grace), skipMatching: true },
      },
      // Health replacements and zone rebalancing follow the same rule as refreshes.
      instanceMaintenancePolicy: healthy,
      terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
      // Provisioning (packages, venv, migrate) takes minutes: wait for minSize healthy servers that long.
      waitForCapacityTimeout: "20m",
      // Group metrics are free at one-minute granularity; the in-service alarm reads them.
      enabledMetrics: ["GroupInServiceInstances", "GroupDesiredCapacity", "GroupMinSize", "GroupMaxSize", "GroupTerminatingInstances"],
      metricsGranularity: "1Minute",
      tags: Object.entries(groupTags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
    }, args.transform?.autoScalingGroup, {
      // A fixed name cannot exist twice: a replaced group is deleted first.
      deleteBeforeReplace: true,
      // The scaling policy owns the instance count once it exists.
      ignoreChanges: args.scaling ? ["desiredCapacity"] : [],
      // The first servers' fetch needs the role's permissions in place (IAM is eventually consistent),
      // and its first boot needs the internet (the NAT route, given as waitFor).
      dependsOn: [accessPolicy, ssmCore, ...(args.waitFor ?? [])],
    });

    const scalingPolicy = args.scaling
      ? this.child(aws.autoscaling.Policy, "cpu-target", {
          autoscalingGroupName: autoScalingGroup.name,
          policyType: "TargetTrackingScaling",
          estimatedInstanceWarmup: grace,
          targetTrackingConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" },
            targetValue: args.scaling.targetCpuPercent,
          },
        })
      : undefined;

    // The server stops its programs (warm shutdown: running tasks finish) and completes the hook;
    // if it never does, the group goes on after the timeout.
    const drainHook = args.drainSeconds !== undefined
      ? this.child(aws.autoscaling.LifecycleHook, "drain", {
          name: DRAIN_HOOK_NAME,
          autoscalingGroupName: autoScalingGroup.name,
          lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
          heartbeatTimeout: Math.min(args.drainSeconds + 60, MAX_HOOK_HEARTBEAT_SECONDS),
          defaultResult: "CONTINUE",
        })
      : undefined;

    const alarms = [
      this.child(aws.cloudwatch.MetricAlarm, "cpu-high", {
        alarmDescription: `The ${args.label} servers' CPU stayed above 90% for 15 minutes: too few servers, or a runaway process`,
        namespace: "AWS/EC2",
        metricName: "CPUUtilization",
        dimensions: { AutoScalingGroupName: autoScalingGroup.name },
        statistic: "Average",
        period: 300,
        evaluationPeriods: 3,
        threshold: 90,
        comparisonOperator: "GreaterThanThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [args.alertTopicArn],
        okActions: [args.alertTopicArn],
        tags: stackTags(),
      }),
      // An idle colour (minSize 0) has nothing to miss.
      ...(args.minSize > 0
        ? [
            this.child(aws.cloudwatch.MetricAlarm, "below-min", {
              alarmDescription: `Fewer ${args.label} servers in service than the minimum (${args.minSize}) for 15 minutes: launches or health checks keep failing`,
              namespace: "AWS/AutoScaling",
              metricName: "GroupInServiceInstances",
              dimensions: { AutoScalingGroupName: autoScalingGroup.name },
              statistic: "Minimum",
              period: 300,
              evaluationPeriods: 3,
              threshold: args.minSize,
              comparisonOperator: "LessThanThreshold",
              treatMissingData: "missing",
              alarmActions: [args.alertTopicArn],
              okActions: [args.alertTopicArn],
              tags: stackTags(),
            }),
          ]
        : []),
    ];

    this.autoScalingGroupName = autoScalingGroup.name;
    this.autoScalingGroupArn = autoScalingGroup.arn;
    this.securityGroupId = securityGroup.id;
    this.launchTemplateId = launchTemplate.id;
    this.roleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.configVersion = config.version;
    this.drainHookName = drainHook ? DRAIN_HOOK_NAME : undefined;
    this.nodes = { securityGroup, logGroup, role, profile, config, launchTemplate, autoScalingGroup, scalingPolicy, drainHook, alarms };
    this.registerOutputs({
      autoScalingGroupName: this.autoScalingGroupName,
      autoScalingGroupArn: this.autoScalingGroupArn,
      securityGroupId: this.securityGroupId,
      launchTemplateId: this.launchTemplateId,
      configVersion: this.configVersion,
    });
  }
}
