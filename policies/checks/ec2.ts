/**
 * EC2: the single box (`aws:ec2/instance`) and the fleets' launch templates
 * (`aws:ec2/launchTemplate`, launched by `aws:autoscaling/group`).
 */
import { gunzipSync } from "node:zlib";
import { eachResource, leaksIn, notApplicable, ofType, refersTo, resolve, roleOf, secretStrings } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings, field, isSecret, isUnknown, plain, show } from "../values";

const vms = (plan: PlanUnderTest) => ofType(plan, [...T.ec2Instance, ...T.launchTemplate]);
const NO_VMS = "no EC2 instance or launch template in this plan";
const isLaunchTemplate = (r: PlannedResource) => (T.launchTemplate as readonly string[]).includes(r.type);

/** IMDS disabled altogether makes the token and hop settings moot. */
const imdsDisabled = (r: PlannedResource) => asString(field(r.inputs, "metadataOptions.httpEndpoint")) === "disabled";

/**
 * IMDSv2 only (`metadataOptions.httpTokens: "required"`). Guards against an
 * SSRF in the app (or nginx misrouting) reading the instance role's
 * credentials with a plain GET, as in the 2019 Capital One breach.
 * Refs: CKV_AWS_79, AVD-AWS-0028, AVD-AWS-0130.
 */
export const ec2Imdsv2: Check = {
  id: "ec2-imdsv2",
  title: "Instance metadata requires IMDSv2 session tokens",
  refs: ["CKV_AWS_79", "AVD-AWS-0028", "AVD-AWS-0130"],
  description: "An SSRF can read the instance role's credentials from IMDSv1 with a plain GET.",
  run(plan) {
    const targets = vms(plan);
    if (!targets.length) return notApplicable(NO_VMS);
    return eachResource(targets, (r) => {
      const tokens = field(r.inputs, "metadataOptions.httpTokens");
      return [
        !imdsDisabled(r) &&
          asString(tokens) !== "required" &&
          `metadataOptions.httpTokens is ${show(plain(tokens))}, not "required"`,
      ];
    });
  },
};

/**
 * IMDS hop limit 1: a token cannot be fetched through a container or a
 * forwarding proxy on the box. Set explicitly, because AMIs can default to 2.
 * Refs: CKV_AWS_341.
 */
export const ec2ImdsHopLimit: Check = {
  id: "ec2-imds-hop-limit",
  title: "Instance metadata hop limit is 1",
  refs: ["CKV_AWS_341"],
  description: "With a hop limit above 1, anything one network hop away (a container, a proxy) can fetch IMDS tokens.",
  run(plan) {
    const targets = vms(plan);
    if (!targets.length) return notApplicable(NO_VMS);
    return eachResource(targets, (r) => {
      if (imdsDisabled(r)) return [];
      const hops = asNumber(field(r.inputs, "metadataOptions.httpPutResponseHopLimit"));
      if (hops === undefined) return ["metadataOptions.httpPutResponseHopLimit is unset (AMIs may default to 2); set it to 1"];
      return [hops > 1 && `metadataOptions.httpPutResponseHopLimit is ${hops}, above 1`];
    });
  },
};

/**
 * Root and data volumes encrypted: instance root/EBS block devices, launch
 * template block-device mappings, standalone EBS volumes. A launch template
 * without mappings takes the AMI's root volume settings, so it fails too.
 * Refs: CKV_AWS_8, CKV_AWS_3, AVD-AWS-0131, AG encrypted-volumes.
 */
export const ec2VolumesEncrypted: Check = {
  id: "ec2-volumes-encrypted",
  title: "Root and EBS volumes are encrypted",
  refs: ["CKV_AWS_8", "CKV_AWS_3", "AVD-AWS-0131", "AG encrypted-volumes"],
  description: "Unencrypted volumes and their snapshots expose the database and app data at rest.",
  run(plan) {
    const targets = ofType(plan, [...T.ec2Instance, ...T.launchTemplate, ...T.ebsVolume]);
    if (!targets.length) return notApplicable("no EC2 instance, launch template or EBS volume in this plan");
    return eachResource(targets, (r) => {
      if ((T.ebsVolume as readonly string[]).includes(r.type))
        return [asBool(r.inputs.encrypted) !== true && "encrypted is not true"];
      if (isLaunchTemplate(r)) {
        const mappings = asArray(r.inputs.blockDeviceMappings).map((m) => asRecord(m) ?? {});
        const ebs = mappings.filter((m) => m.ebs !== undefined);
        if (!ebs.length) return ["no blockDeviceMappings with ebs: the root volume takes the AMI's (unencrypted) default"];
        return ebs.map(
          (m) =>
            asBool(field(m, "ebs.encrypted")) !== true &&
            `blockDeviceMappings ${show(asString(m.deviceName) ?? "?")} ebs.encrypted is not true`,
        );
      }
      const root = asRecord(r.inputs.rootBlockDevice);
      return [
        asBool(root?.encrypted) !== true && "rootBlockDevice.encrypted is not true",
        ...asArray(r.inputs.ebsBlockDevices).map(
          (d) =>
            asBool(asRecord(d)?.encrypted) !== true &&
            `ebsBlockDevices ${show(asString(asRecord(d)?.deviceName) ?? "?")} is not encrypted`,
        ),
      ];
    });
  },
};

/** The launch templates an ASG launches (directly or through a mixed-instances policy). */
function launchTemplatesOf(plan: PlanUnderTest, asg: PlannedResource): PlannedResource[] {
  const specs = [
    asRecord(asg.inputs.launchTemplate),
    asRecord(field(asg.inputs, "mixedInstancesPolicy.launchTemplate.launchTemplateSpecification")),
  ].filter((s): s is Record<string, unknown> => !!s);
  return ofType(plan, T.launchTemplate).filter((lt) =>
    specs.some((s) => refersTo(s.id ?? s.launchTemplateId, lt) || refersTo(s.name ?? s.launchTemplateName, lt)),
  );
}

/** Subnets (in the plan) that give every instance a public IP. */
const publicSubnets = (plan: PlanUnderTest, refs: string[]) =>
  refs
    .map((ref) => resolve(plan, ref, T.subnet))
    .filter((s): s is PlannedResource => !!s && asBool(s.inputs.mapPublicIpOnLaunch) === true);

/**
 * No public IP on fleet VMs: launch templates must not ask for one, and an
 * ASG in subnets that map public IPs must have its template turn them off.
 * An instance may have a public IP (its own, its subnet's, or an Elastic IP)
 * only when it is the edge (the single box, its SG tagged
 * `django-tiers:role=edge`).
 * Refs: CKV_AWS_88, AG ec2-instance-no-public-ip.
 */
export const ec2NoPublicIp: Check = {
  id: "ec2-no-public-ip",
  title: "Fleet VMs have no public IP (only the single box is on the edge)",
  refs: ["CKV_AWS_88", "AG ec2-instance-no-public-ip"],
  description: "A public IP bypasses the load balancer and puts the app server directly on the internet.",
  run(plan) {
    const lts = ofType(plan, T.launchTemplate);
    const instances = ofType(plan, T.ec2Instance);
    if (!lts.length && !instances.length) return notApplicable(NO_VMS);
    const asgs = ofType(plan, T.autoscalingGroup);
    const ltAsksForPublicIp = (lt: PlannedResource) =>
      asArray(lt.inputs.networkInterfaces).some((n) => asBool(asRecord(n)?.associatePublicIpAddress) === true);
    const ltRefusesPublicIp = (lt: PlannedResource) =>
      asArray(lt.inputs.networkInterfaces).some((n) => asBool(asRecord(n)?.associatePublicIpAddress) === false);
    return [
      ...eachResource(lts, (lt) => [ltAsksForPublicIp(lt) && "a network interface sets associatePublicIpAddress"]),
      ...eachResource(asgs, (asg) => {
        const pub = publicSubnets(plan, asStrings(asg.inputs.vpcZoneIdentifiers));
        if (!pub.length) return [];
        return launchTemplatesOf(plan, asg).map(
          (lt) =>
            !ltRefusesPublicIp(lt) &&
            `runs in subnets that map public IPs (${pub.map((s) => s.name).join(", ")}) and launch template ${lt.name} does not set associatePublicIpAddress=false`,
        );
      }),
      ...eachResource(instances, (i) => {
        const sgs = [...asStrings(i.inputs.vpcSecurityGroupIds), ...asStrings(i.inputs.securityGroups)];
        const isEdge = sgs.some((ref) => roleOf(resolve(plan, ref, T.securityGroup)) === "edge");
        const subnet = resolve(plan, i.inputs.subnetId, T.subnet);
        const elasticIp =
          ofType(plan, T.eip).some((e) => refersTo(e.inputs.instance, i)) ||
          ofType(plan, T.eipAssociation).some((a) => refersTo(a.inputs.instanceId, i));
        const publicIp =
          elasticIp ||
          asBool(i.inputs.associatePublicIpAddress) === true ||
          (asBool(i.inputs.associatePublicIpAddress) === undefined && asBool(subnet?.inputs.mapPublicIpOnLaunch) === true);
        return [publicIp && !isEdge && "has a public IP but none of its security groups is tagged django-tiers:role=edge"];
      }),
    ];
  },
};

/**
 * Detailed (1-minute) CloudWatch monitoring, so alarms and scaling react in
 * minutes rather than five. Refs: CKV_AWS_126, AG ec2-instance-detailed-monitoring-enabled.
 */
export const ec2DetailedMonitoring: Check = {
  id: "ec2-detailed-monitoring",
  title: "Detailed monitoring is enabled",
  refs: ["CKV_AWS_126", "AG ec2-instance-detailed-monitoring-enabled"],
  description: "Five-minute metrics delay alarms and scaling decisions.",
  run(plan) {
    const targets = vms(plan);
    if (!targets.length) return notApplicable(NO_VMS);
    return eachResource(targets, (r) =>
      isLaunchTemplate(r)
        ? [asBool(field(r.inputs, "monitoring.enabled")) !== true && "monitoring.enabled is not true"]
        : [asBool(r.inputs.monitoring) !== true && "monitoring is not true"],
    );
  },
};

/** base64 text (or gzip inside base64) decoded, when it is that. */
function decodeBase64(text: string): string | undefined {
  const compact = text.replace(/\s+/g, "");
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  try {
    return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
  } catch {
    return undefined;
  }
}

/** The user data and what is nested in it as base64 (cloud-init `encoding: b64`, gzip), two levels deep. */
function userDataLayers(text: string, depth = 2): string[] {
  const layers = [text];
  const whole = decodeBase64(text);
  if (whole) layers.push(...userDataLayers(whole, depth - 1));
  if (depth > 0)
    for (const blob of text.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []) {
      const inner = decodeBase64(blob);
      if (inner) layers.push(...userDataLayers(inner, depth - 1));
    }
  return layers;
}

/**
 * No secrets in user data: it is readable by anyone with
 * `ec2:DescribeInstanceAttribute` and by every process on the box through
 * IMDS, and it lands in the console and in state. The value must not be a
 * Pulumi secret (that means a secret went into it), must not contain the
 * plain value of any secret in the plan, nor AWS keys or private keys —
 * also inside base64/gzip layers. Secrets are fetched at boot instead.
 * Refs: CKV_AWS_46.
 */
export const ec2NoSecretsInUserData: Check = {
  id: "ec2-no-secrets-in-user-data",
  title: "User data carries no secrets",
  refs: ["CKV_AWS_46"],
  description: "User data is readable through the EC2 API and IMDS; secrets there leak to anyone with read access.",
  run(plan) {
    const targets = vms(plan);
    if (!targets.length) return notApplicable(NO_VMS);
    const secrets = secretStrings(plan);
    return eachResource(targets, (r) =>
      (["userData", "userDataBase64"] as const).flatMap((key) => {
        const v = r.inputs[key];
        if (v === undefined) return [];
        if (isSecret(v)) return [`${key} is a Pulumi secret, so a secret was built into it`];
        if (isUnknown(v)) return [`${key} is not known until deploy, so it cannot be checked for secrets`];
        const text = asString(v) ?? "";
        const leaks = new Set(userDataLayers(text).flatMap((layer) => leaksIn(layer, secrets)));
        return [...leaks].map((leak) => `${key} contains ${leak}`);
      }),
    );
  },
};

/**
 * Every VM gets an instance profile (credentials from the role through
 * IMDSv2), which is what lets user data and disks stay free of static keys.
 * Refs: CKV2_AWS_41.
 */
export const ec2InstanceProfile: Check = {
  id: "ec2-instance-profile",
  title: "Instances use an instance profile, not static keys",
  refs: ["CKV2_AWS_41"],
  description: "Without a role the box needs long-lived access keys, which leak and never rotate.",
  run(plan) {
    const targets = vms(plan);
    if (!targets.length) return notApplicable(NO_VMS);
    return eachResource(targets, (r) => {
      if (isLaunchTemplate(r)) {
        const p = asRecord(r.inputs.iamInstanceProfile);
        return [!p?.name && !p?.arn && "iamInstanceProfile (name or arn) is not set"];
      }
      return [r.inputs.iamInstanceProfile === undefined && "iamInstanceProfile is not set"];
    });
  },
};

export const EC2_CHECKS: Check[] = [
  ec2Imdsv2,
  ec2ImdsHopLimit,
  ec2VolumesEncrypted,
  ec2NoPublicIp,
  ec2DetailedMonitoring,
  ec2NoSecretsInUserData,
  ec2InstanceProfile,
];
