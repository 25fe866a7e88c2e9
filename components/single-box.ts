import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderBox, renderUserDataBase64 } from "../server";
import type { BoxSpec, Color, RenderedFile } from "../server/types";
import { BoxConfig, boxConfigParameterName } from "./box-config";
import { CLOUDFLARE_ORIGIN_RANGES } from "./cdn";
import { Component, Transform, stackTags } from "./component";
import { debianAmi, serverInstanceRole } from "./instance-role";
import { cidrLabel } from "./load-balancer";

export { DEBIAN_AMI_OWNER } from "./instance-role";

export interface SingleBoxArgs {
  /** VPC and the public subnet the box runs in. */
  vpcId: pulumi.Input<string>;
  subnetId: pulumi.Input<string>;
  /**
   * EC2 instance type; must match `architecture`. Changing it stops and
   * starts the box (a minute of downtime), it does not replace it.
   * @default "t4g.small"
   */
  instanceType?: string;
  /**
   * CPU architecture of the Debian 12 AMI.
   * @default "arm64"
   */
  architecture?: "arm64" | "x86_64";
  /**
   * Root volume size in GiB (gp3, encrypted). It holds PostgreSQL's data.
   * Growing is in place; shrinking is refused by AWS.
   * @default 20
   */
  rootVolumeGb?: number;
  /**
   * What runs on the box, rendered by server/ into its configuration
   * document (the box's `config` child) and its user data. Holds no secret.
   */
  spec: pulumi.Input<Omit<BoxSpec, "configParameter">>;
  /**
   * Release versions by app. A change re-runs the rollout (`fetch release
   * verify`) on the box through an SSM association: no stop, no replacement.
   * @example { mysite: "3f2a9c1b7d0e" }
   */
  releases: Record<string, string>;
  /**
   * Blue-green releases on the box (the `boxReleases: blue-green` setting):
   * each app runs two gunicorn programs, one per color, each from its own
   * release, and nginx sends traffic to `live` (a request with the header
   * `X-Django-Tiers-Color: <color>` previews that color). This sets the
   * spec's `colors`; every app of `spec` then needs `colorReleaseParameters`,
   * and `access.parameterArns` must include those parameters. Like
   * `releases`, a change (a promotion step: a color's release, the live
   * color, the idle color started or stopped) re-runs the rollout through
   * the SSM association, which switches the app's live socket link (nginx is not reloaded); nothing
   * is stopped or replaced. Memory: while the idle color runs, the box holds
   * two gunicorn pools per app.
   * @default undefined (one gunicorn per app, released in place)
   * @example { live: "blue", idleRunning: false, releases: { blue: "3f2a9c1b7d0e", green: "9d8e7f6a5b4c" } }
   */
  colors?: {
    /** The color nginx sends traffic to. */
    live: Color;
    /** Whether the idle color's gunicorn runs (during a promotion and its rollback window). */
    idleRunning: boolean;
    /** The release label each color runs (what its pointer names). */
    releases: Record<Color, string>;
  };
  /**
   * The generation of the apps' secrets (the `secretsRotation` setting). A
   * change re-runs the rollout too, which rewrites secrets.env, resets the
   * database password and restarts the programs.
   * @default "initial"
   */
  secretsGeneration?: string;
  /**
   * What identifies the current values of the apps' own secrets (appSecrets):
   * the ids of their secrets' versions. A change (a new value) re-runs the
   * rollout, which rewrites secrets.env and restarts the app's programs.
   * @default undefined (no app has secrets of its own)
   */
  appSecretsGeneration?: pulumi.Input<string>;
  /**
   * What identifies the certificate the box serves when it is delivered as a
   * secret (the Cloudflare origin certificate's id). A change (a new
   * certificate or key under the same secret) re-runs the rollout, whose
   * configure phase installs it and reloads nginx.
   * @default undefined (Let's Encrypt on the box, or no TLS)
   */
  certificateGeneration?: pulumi.Input<string>;
  /** Where the box reads and writes. Its role is scoped to exactly these. */
  access: {
    artifactsBucketArn: pulumi.Input<string>;
    /** Key prefix the box writes database dumps under, ending in "/". */
    backupPrefix: string;
    secretArns: pulumi.Input<string>[];
    parameterArns: pulumi.Input<string>[];
    kmsKeyArn: pulumi.Input<string>;
    /** Name of the artifacts bucket (where the configuration document goes). */
    artifactsBucket: pulumi.Input<string>;
    /** Static and media buckets (object storage): read, write and delete objects, list the bucket. */
    fileBucketArns?: pulumi.Input<string>[];
  };
  /**
   * Who reaches the web ports (the edge security group):
   * - unset: the world, on 80 (ACME challenges and the redirect to HTTPS)
   *   and 443;
   * - `"cloudflare"`: HTTPS from each of Cloudflare's published ranges
   *   only (`CLOUDFLARE_ORIGIN_RANGES`, one rule per range), for a box behind
   *   Cloudflare's proxy with SSL Full (strict), which reaches the origin on
   *   443 only and redirects http:// at its edge. Anyone who finds the box's
   *   address cannot bypass Cloudflare. The box then needs a certificate
   *   that needs no ACME challenge: `spec.tls` mode `origin-certificate`.
   * Changing it replaces the ingress rules only (seconds); the group and
   * the box stay.
   * @default undefined (world-facing)
   */
  restrictTo?: "cloudflare";
  /**
   * More security groups the box wears, e.g. the client group that the
   * database and cache admit. Adding one is in place.
   */
  extraSecurityGroupIds?: pulumi.Input<string>[];
  /**
   * Refuse API termination of the box (it holds the database) and keep its
   * root volume if it is terminated anyway.
   * @default false (the stack turns it on in prod)
   */
  deletionProtection?: boolean;
  /** SNS topic every alarm of the box notifies (besides recovering or rebooting it). */
  alertTopicArn: pulumi.Input<string>;
  /**
   * Days the box's CloudWatch log group keeps logs.
   * @default 30
   */
  logRetentionDays?: number;
  transform?: {
    instance?: Transform<aws.ec2.InstanceArgs>;
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    role?: Transform<aws.iam.RoleArgs>;
  };
}

/** The rules of the box's security group: the web from anywhere, nothing else in. */
export const SINGLE_BOX_INGRESS = [
  { role: "in-http", port: 80, description: "HTTP from anywhere (ACME challenges and the redirect to HTTPS)" },
  { role: "in-https", port: 443, description: "HTTPS from anywhere" },
] as const;

/**
 * The ingress rules of the box's security group, by role (the child's name
 * suffix): `SINGLE_BOX_INGRESS` from the world, or behind Cloudflare HTTPS
 * from each of its ranges (named by range, like the load balancer's).
 */
export function boxIngress(restrictTo: SingleBoxArgs["restrictTo"]): {
  role: string;
  port: number;
  source: { cidrIpv4: string } | { cidrIpv6: string };
  description: string;
}[] {
  if (restrictTo === "cloudflare") {
    return CLOUDFLARE_ORIGIN_RANGES.map((cidr) => ({
      role: `in-https-cloudflare-${cidrLabel(cidr)}`,
      port: 443,
      source: cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr },
      description: `HTTPS from Cloudflare (${cidr})`,
    }));
  }
  return SINGLE_BOX_INGRESS.map((rule) => ({ ...rule, source: { cidrIpv4: "0.0.0.0/0" } }));
}

/**
 * Out: only HTTP(S) — Debian mirrors, AWS APIs, Let's Encrypt. DNS and time
 * go to the VPC's link-local resolver and time service, which security
 * groups do not filter.
 */
// Descriptions use EC2's character set: no apostrophes (policies/conformance/rules.ts).
export const SINGLE_BOX_EGRESS = [
  { role: "out-http", port: 80, description: "HTTP to Debian mirrors" },
  { role: "out-https", port: 443, description: "HTTPS to AWS APIs, Debian security and Lets Encrypt ACME" },
] as const;

/** The box's status-check alarms and what EC2 does when they fire. */
const SELF_HEALING = [
  { role: "recover", metric: "StatusCheckFailed_System", action: "recover", minutes: 2, description: "Recover the single box when its host fails the system status check" },
  { role: "reboot", metric: "StatusCheckFailed_Instance", action: "reboot", minutes: 3, description: "Reboot the single box when its operating system fails the instance status check" },
] as const;

/** Where SSM writes the output of each rollout run, in the artifacts bucket (the box's role may write there). */
export const ROLLOUT_OUTPUT_PREFIX = "rollout/single-box/";
/** The rollout command's own limit (AWS-RunShellScript's executionTimeout). */
export const ROLLOUT_EXECUTION_SECONDS = 1800;
/**
 * How long `pulumi up` waits for a rollout to report Success. The first one waits for the first boot
 * (the SSM Agent registers during it, and the run waits on the provisioning lock until it is done), then runs.
 */
export const ROLLOUT_WAIT_SECONDS = 2 * ROLLOUT_EXECUTION_SECONDS;
/** The namespace of the metric counting failed provisioning runs. */
export const ROLLOUT_METRIC_NAMESPACE = "DjangoTiers/Rollout";
/** A CloudWatch Logs filter pattern matching the script's last line of a failed run (server/provision.ts on_exit). */
export const PROVISION_FAILED_PATTERN = '"django-tiers-provision" "FAILED (exit"';

/**
 * The first rung: one Debian VM running nginx, gunicorn under supervisor,
 * PostgreSQL, Redis and the task worker. IMDSv2 only, encrypted gp3 root,
 * no SSH (Session Manager instead), an Elastic IP, an instance role scoped
 * to its own secrets, parameters and bucket prefixes, and self-recovery on
 * a failed system status check.
 */
export class SingleBox extends Component {
  public readonly instanceId: pulumi.Output<string>;
  public readonly publicIp: pulumi.Output<string>;
  public readonly publicDns: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly roleArn: pulumi.Output<string>;
  public readonly logGroupName: pulumi.Output<string>;
  /** What the box runs, as rendered: the spec given, with its configuration pointer, log group and `colors`. */
  public readonly spec: pulumi.Output<BoxSpec>;
  /** Every file rendered for the box (the content of its configuration document). */
  public readonly files: pulumi.Output<RenderedFile[]>;
  public readonly nodes: {
    instance: aws.ec2.Instance;
    eip: aws.ec2.Eip;
    securityGroup: aws.ec2.SecurityGroup;
    role: aws.iam.Role;
    logGroup: aws.cloudwatch.LogGroup;
    rollout: aws.ssm.Association;
    config: BoxConfig;
  };

  constructor(name: string, args: SingleBoxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("SingleBox", name, opts);
    if (args.restrictTo !== undefined && args.restrictTo !== "cloudflare") {
      throw new Error(`SingleBox ${name}: restrictTo must be "cloudflare" or unset (got ${JSON.stringify(args.restrictTo)})`);
    }
    const colors = args.colors;
    if (colors) {
      if (colors.live !== "blue" && colors.live !== "green") throw new Error(`SingleBox ${name}: colors.live must be "blue" or "green" (got ${JSON.stringify(colors.live)})`);
      for (const c of ["blue", "green"] as const) {
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(colors.releases?.[c] ?? "")) {
          throw new Error(`SingleBox ${name}: colors.releases.${c} must be a release label of 1–64 characters of [A-Za-z0-9._-] (got ${JSON.stringify(colors.releases?.[c])})`);
        }
      }
    }
    const architecture = args.architecture ?? "arm64";
    const logGroupName = `/django-tiers/${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
    // The CloudWatch agent ships the box's logs to its log group and publishes its memory and disk use.
    const spec = pulumi.output(args.spec).apply((sp): BoxSpec => {
      if (colors) {
        const missing = sp.apps.filter((app) => !app.colorReleaseParameters?.blue || !app.colorReleaseParameters?.green).map((app) => app.name);
        if (missing.length) throw new Error(`SingleBox ${name}: with colors, every app of spec needs colorReleaseParameters for blue and green (missing for ${missing.join(", ")})`);
      }
      if (sp.colors && !colors) throw new Error(`SingleBox ${name}: spec.colors is set from the colors argument (which also re-runs the rollout on a change); give colors instead`);
      return {
        ...sp,
        configParameter: boxConfigParameterName("single-box"),
        cloudWatch: { logGroupName, autoScalingGroup: false },
        ...(colors ? { colors: { live: colors.live, idleRunning: colors.idleRunning } } : {}),
      } as BoxSpec;
    });
    this.spec = spec;
    this.files = spec.apply(renderBox);
    // Every rendered file, in the artifacts bucket: phase fetch applies it at boot and on every rollout.
    const config = new BoxConfig(this.childName("config"), { role: "single-box", files: this.files, bucket: args.access.artifactsBucket }, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;

    const securityGroup = this.child(aws.ec2.SecurityGroup, "sg", {
      vpcId: args.vpcId,
      // The same with restrictTo: a group's description cannot change without replacing it.
      description: "django-tiers single box: HTTP and HTTPS in, HTTP and HTTPS out",
      // The edge role marks the one security group allowed to take 80/443 from the world (policies/).
      tags: stackTags({ Name: this.childName("sg"), "django-tiers:role": "edge" }),
    }, args.transform?.securityGroup);
    for (const rule of boxIngress(args.restrictTo)) {
      this.child(aws.vpc.SecurityGroupIngressRule, rule.role, {
        securityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: rule.port,
        toPort: rule.port,
        ...rule.source,
        description: rule.description,
      });
    }
    for (const rule of SINGLE_BOX_EGRESS) {
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
      name: logGroupName,
      retentionInDays: args.logRetentionDays ?? 30,
      kmsKeyId: args.access.kmsKeyArn,
      tags: stackTags(),
    });

    const { role, profile, accessPolicy, ssmCore } = serverInstanceRole(this, {
      description: "django-tiers single box: reads its own secrets, parameters and releases; writes its backups and logs",
      access: args.access,
      rolloutOutputPrefix: ROLLOUT_OUTPUT_PREFIX,
      configParameterArn: config.parameterArn,
      logGroupArn: logGroup.arn,
      transform: args.transform?.role,
    });
    const a = args.access;

    const ami = debianAmi(this, architecture);

    const deletionProtection = args.deletionProtection ?? false;
    const instance = this.child(aws.ec2.Instance, "instance", {
      ami: ami.id,
      instanceType: args.instanceType ?? "t4g.small",
      subnetId: args.subnetId,
      vpcSecurityGroupIds: [securityGroup.id, ...(args.extraSecurityGroupIds ?? [])],
      iamInstanceProfile: profile.name,
      // The Elastic IP is the public address; no second, implicit one.
      associatePublicIpAddress: false,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      rootBlockDevice: {
        volumeType: "gp3",
        volumeSize: args.rootVolumeGb ?? 20,
        encrypted: true,
        kmsKeyId: a.kmsKeyArn,
        deleteOnTermination: !deletionProtection,
        tags: stackTags({ Name: this.childName("root") }),
      },
      monitoring: true,
      disableApiTermination: deletionProtection,
      // Gzipped cloud-config: the rendered files are ~50 KB as text, EC2 takes 16 KB (renderUserDataBase64 enforces it).
      userDataBase64: spec.apply(renderUserDataBase64),
      userDataReplaceOnChange: false,
      tags: stackTags({ Name: this.childName("instance"), "django-tiers:role": "single-box" }),
    }, args.transform?.instance, {
      // The box holds the database: a newer Debian AMI must not replace it, and user data only runs on
      // first boot (later changes roll out through the association), so neither may stop or replace it.
      ignoreChanges: ["ami", "userDataBase64"],
      // The first boot's fetch needs the role's permissions in place (IAM is eventually consistent).
      dependsOn: [accessPolicy, ssmCore],
    });

    const eip = this.child(aws.ec2.Eip, "eip", { domain: "vpc", instance: instance.id, tags: stackTags({ Name: this.childName("eip") }) });

    // Self-healing: EC2 moves the box to healthy hardware on a failed system check (keeping its volume, IP
    // and id) and reboots it on a failed instance check; both tell the alert topic.
    for (const check of SELF_HEALING) {
      this.child(aws.cloudwatch.MetricAlarm, check.role, {
        alarmDescription: check.description,
        namespace: "AWS/EC2",
        metricName: check.metric,
        dimensions: { InstanceId: instance.id },
        statistic: "Maximum",
        period: 60,
        evaluationPeriods: check.minutes,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        alarmActions: [pulumi.interpolate`arn:${partition}:automate:${region}:ec2:${check.action}`, args.alertTopicArn],
        okActions: [args.alertTopicArn],
        tags: stackTags(),
      });
    }

    // A release changes only this association's parameters: SSM re-runs the rollout on the running box.
    const releaseList = Object.entries(args.releases).sort(([x], [y]) => x.localeCompare(y)).map(([app, v]) => `${app}=${v}`).join(" ");
    // With blue-green, each promotion step (a color's release, the live color, the idle one started or stopped) is a new comment too.
    const colorList = colors ? `; colors: live=${colors.live} blue=${colors.releases.blue} green=${colors.releases.green} idle=${colors.idleRunning ? "running" : "stopped"}` : "";
    // A new certificate under the same secret (cdn: cloudflare) is a new comment: configure installs it.
    const certificateList = args.certificateGeneration === undefined ? "" : pulumi.interpolate`; certificate: ${args.certificateGeneration}`;
    // A new value of an app's own secret is a new version of its secret, hence a new comment: fetch reads it.
    const appSecretsList = args.appSecretsGeneration === undefined ? "" : pulumi.interpolate`; app secrets: ${args.appSecretsGeneration}`;
    const rollout = this.child(aws.ssm.Association, "rollout", {
      name: "AWS-RunShellScript",
      targets: [{ key: "InstanceIds", values: [instance.id] }],
      parameters: {
        // The versions in the comment are what make SSM re-run it: a new release, secret generation or configuration.
        commands: pulumi.interpolate`/usr/local/sbin/django-tiers-provision fetch configure release verify # releases: ${releaseList}${colorList}; secrets: ${args.secretsGeneration ?? "initial"}${appSecretsList}${certificateList}; config: ${config.version}`,
        executionTimeout: String(ROLLOUT_EXECUTION_SECONDS),
      },
      complianceSeverity: "HIGH",
      maxConcurrency: "1",
      maxErrors: "0",
      // The box's own output of each run (stdout and stderr, as the provisioning log has them), under
      // s3://<artifacts bucket>/rollout/single-box/ (per instance and run): the reason of a failed rollout.
      outputLocation: { s3BucketName: a.artifactsBucket, s3KeyPrefix: ROLLOUT_OUTPUT_PREFIX.replace(/\/$/, ""), s3Region: region },
      // `pulumi up` waits for the run to report Success and fails otherwise. The provider waits only when it
      // creates the association, so a change of its parameters (every rollout) creates a new one (replaceOnChanges).
      waitForSuccessTimeoutSeconds: ROLLOUT_WAIT_SECONDS,
    }, undefined, { dependsOn: [eip], replaceOnChanges: ["parameters"] });

    // Every failed run of the provisioning script (first boot, a rollout, the cron `tls`) ends with a
    // "FAILED (exit N)" line in provision.log, which the CloudWatch agent ships to the box's log group.
    const rolloutFailures = this.child(aws.cloudwatch.LogMetricFilter, "rollout-failures", {
      logGroupName: logGroup.name,
      pattern: PROVISION_FAILED_PATTERN,
      metricTransformation: { namespace: ROLLOUT_METRIC_NAMESPACE, name: `${name}-provision-failures`, value: "1", unit: "Count" },
    });
    this.child(aws.cloudwatch.MetricAlarm, "rollout-failed", {
      alarmDescription: `A provisioning run on the single box ${name} failed (a rollout, or the first boot): its lines are in the log group ${logGroupName} (stream provision) and under s3://<artifacts bucket>/${ROLLOUT_OUTPUT_PREFIX}`,
      namespace: ROLLOUT_METRIC_NAMESPACE,
      metricName: rolloutFailures.metricTransformation.name,
      statistic: "Sum",
      period: 60,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [args.alertTopicArn],
      tags: stackTags(),
    });

    this.instanceId = instance.id;
    this.publicIp = eip.publicIp;
    this.publicDns = eip.publicDns;
    this.securityGroupId = securityGroup.id;
    this.roleArn = role.arn;
    this.logGroupName = logGroup.name;
    this.nodes = { instance, eip, securityGroup, role, logGroup, rollout, config };
    this.registerOutputs({ instanceId: this.instanceId, publicIp: this.publicIp, publicDns: this.publicDns });
  }
}
