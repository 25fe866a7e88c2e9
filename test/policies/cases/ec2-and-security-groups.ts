import { gzipSync } from "node:zlib";
import { T } from "../../../policies/resource-types";
import { SecretValue } from "../../../policies/types";
import { add, BOX_USER_DATA, DB_PASSWORD_VALUE, find, id, loadBalancedPlan, remove, res, SECRET_KEY_VALUE, set, singleBoxPlan, urnOf } from "../fixtures";
import { adding, type CaseTable, mutating, setOn, variant } from "./harness";

const lb = loadBalancedPlan;
const sb = singleBoxPlan;
const [INGRESS] = T.ingressRule;
const [LEGACY] = T.legacyRule;

export const EC2_CASES: CaseTable = {
  "ec2-imdsv2": {
    fails: [
      { name: "box allows IMDSv1", base: sb, breakIt: setOn("box", "metadataOptions.httpTokens", "optional"), message: /"optional", not "required"/ },
      { name: "launch template has no metadata options", base: lb, breakIt: setOn("fleet-lt", "metadataOptions", undefined) },
    ],
    passes: [{ name: "IMDS disabled altogether", plan: variant(sb, (p) => set(p, "box", "metadataOptions", { httpEndpoint: "disabled" })) }],
  },
  "ec2-imds-hop-limit": {
    fails: [
      { name: "hop limit 2", base: sb, breakIt: setOn("box", "metadataOptions.httpPutResponseHopLimit", 2), message: /2, above 1/ },
      { name: "hop limit unset", base: lb, breakIt: setOn("fleet-lt", "metadataOptions.httpPutResponseHopLimit", undefined), message: /unset/ },
    ],
  },
  "ec2-volumes-encrypted": {
    fails: [
      { name: "root volume unencrypted", base: sb, breakIt: setOn("box", "rootBlockDevice.encrypted", false) },
      { name: "no root block device declared", base: sb, breakIt: setOn("box", "rootBlockDevice", undefined) },
      { name: "extra EBS device unencrypted", base: sb, breakIt: setOn("box", "ebsBlockDevices", [{ deviceName: "/dev/sdf", encrypted: false }]), message: /\/dev\/sdf/ },
      { name: "launch template mapping not encrypted", base: lb, breakIt: setOn("fleet-lt", "blockDeviceMappings.0.ebs.encrypted", "false") },
      { name: "launch template without mappings", base: lb, breakIt: setOn("fleet-lt", "blockDeviceMappings", []), message: /AMI/ },
      { name: "standalone EBS volume", base: sb, breakIt: adding(res(T.ebsVolume[0], "data-volume", { availabilityZone: "us-east-1a", size: 10 })) },
    ],
  },
  "ec2-no-public-ip": {
    fails: [
      { name: "launch template asks for a public IP", base: lb, breakIt: setOn("fleet-lt", "networkInterfaces", [{ deviceIndex: 0, associatePublicIpAddress: "true" }]) },
      {
        name: "fleet in public subnets",
        base: lb,
        breakIt: setOn("fleet-blue", "vpcZoneIdentifiers", [id("net-public-a"), id("net-public-b")]),
        message: /map public IPs/,
      },
      { name: "public instance that is not the edge", base: sb, breakIt: setOn("box", "vpcSecurityGroupIds", [id("box-app-sg")]), message: /edge/ },
      {
        name: "an Elastic IP on an instance that is not the edge",
        base: sb,
        breakIt: (p) => (
          set(p, "box", "associatePublicIpAddress", false),
          set(p, "box", "vpcSecurityGroupIds", [id("box-app-sg")]),
          add(p, res("aws:ec2/eip:Eip", "box-eip", { domain: "vpc", instance: id("box") })),
          urnOf(p, "box")
        ),
      },
    ],
    passes: [
      {
        name: "fleet in public subnets with public IPs turned off",
        plan: variant(lb, (p) => {
          set(p, "fleet-blue", "vpcZoneIdentifiers", [id("net-public-a"), id("net-public-b")]);
          set(p, "fleet-lt", "networkInterfaces", [{ deviceIndex: 0, associatePublicIpAddress: "false" }]);
        }),
      },
    ],
  },
  "ec2-detailed-monitoring": {
    fails: [
      { name: "instance monitoring off", base: sb, breakIt: setOn("box", "monitoring", false) },
      { name: "launch template monitoring off", base: lb, breakIt: setOn("fleet-lt", "monitoring.enabled", false) },
    ],
  },
  "ec2-no-secrets-in-user-data": {
    fails: [
      { name: "a Pulumi secret's value in plain user data", base: sb, breakIt: setOn("box", "userData", `${BOX_USER_DATA}export DJANGO_SECRET_KEY='${SECRET_KEY_VALUE}'\n`), message: /plain value of a Pulumi secret/ },
      { name: "user data marked secret", base: sb, breakIt: setOn("box", "userData", new SecretValue(BOX_USER_DATA)), message: /is a Pulumi secret/ },
      { name: "an AWS access key id", base: sb, breakIt: setOn("box", "userData", `${BOX_USER_DATA}export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n`), message: /access key/ },
      {
        name: "a secret inside gzip+base64 launch template user data",
        base: lb,
        breakIt: setOn("fleet-lt", "userData", gzipSync(`${BOX_USER_DATA}DATABASE_PASSWORD=${DB_PASSWORD_VALUE}\n`).toString("base64")),
        message: /Pulumi secret/,
      },
      {
        name: "a private key inside a cloud-init b64 file",
        base: sb,
        breakIt: setOn(
          "box",
          "userData",
          `#cloud-config\nwrite_files:\n  - path: /root/key.pem\n    encoding: b64\n    content: ${Buffer.from("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n").toString("base64")}\n`,
        ),
        message: /private key/,
      },
    ],
  },
  "ec2-instance-profile": {
    fails: [
      { name: "instance without a profile", base: sb, breakIt: setOn("box", "iamInstanceProfile", undefined) },
      { name: "launch template without a profile", base: lb, breakIt: setOn("fleet-lt", "iamInstanceProfile", {}) },
    ],
  },
};

const worldRule = (name: string, group: string, port: number, extra: Record<string, unknown> = {}) =>
  res(INGRESS, name, { securityGroupId: id(group), ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0", description: "test", ...extra });

export const SECURITY_GROUP_CASES: CaseTable = {
  "sg-no-world-admin-ports": {
    fails: [
      {
        name: "inline SSH from the world on the edge SG",
        base: sb,
        breakIt: mutating("box-edge-sg", (p) =>
          (find(p, "box-edge-sg").inputs.ingress as unknown[]).push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], description: "ssh" }),
        ),
        message: /port 22/,
      },
      { name: "standalone RDP rule from ::/0", base: lb, breakIt: adding(worldRule("rdp", "app-sg", 3389, { cidrIpv4: undefined, cidrIpv6: "::/0" })) },
      {
        name: "legacy all-traffic rule from the world",
        base: lb,
        breakIt: adding(res(LEGACY, "all-in", { type: "ingress", securityGroupId: id("app-sg"), protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "oops" })),
      },
    ],
  },
  "sg-world-only-web-on-edge": {
    fails: [
      { name: "443 from the world on the app SG", base: lb, breakIt: adding(worldRule("app-https", "app-sg", 443)), message: /not the edge/ },
      { name: "8000 from the world on the edge SG", base: lb, breakIt: adding(worldRule("alb-8000", "alb-sg", 8000)), message: /only tcp\/80 and tcp\/443/ },
    ],
  },
  "sg-app-from-edge-only": {
    fails: [
      { name: "app SG admits a CIDR", base: lb, breakIt: adding(res(INGRESS, "app-from-vpc", { securityGroupId: id("app-sg"), ipProtocol: "tcp", fromPort: 80, toPort: 80, cidrIpv4: "10.0.0.0/16", description: "vpc" })) },
      { name: "app SG admits a non-edge SG", base: lb, breakIt: setOn("app-sg", "ingress.0.securityGroups", [id("db-sg")]), message: /db-sg/ },
    ],
  },
  "sg-data-ports-from-app-only": {
    fails: [
      { name: "PostgreSQL from the edge SG", base: lb, breakIt: setOn("db-from-app", "referencedSecurityGroupId", id("alb-sg")), message: /alb-sg/ },
      {
        name: "Redis from a CIDR (legacy rule)",
        base: lb,
        breakIt: adding(res(LEGACY, "redis-from-vpc", { type: "ingress", securityGroupId: id("cache-sg"), protocol: "tcp", fromPort: 6379, toPort: 6379, cidrBlocks: ["10.0.0.0/8"], description: "vpc" })),
        message: /10\.0\.0\.0\/8/,
      },
    ],
  },
  "sg-no-all-ports-from-cidr": {
    fails: [
      { name: "all traffic from the VPC range", base: lb, breakIt: adding(res(INGRESS, "app-all", { securityGroupId: id("app-sg"), ipProtocol: "-1", cidrIpv4: "10.0.0.0/16", description: "all" })) },
      {
        name: "inline tcp 0-65535 from a CIDR",
        base: lb,
        breakIt: mutating("db-sg", (p) => set(p, "db-sg", "ingress", [{ protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["10.0.0.0/16"], description: "all tcp" }])),
      },
    ],
  },
  "sg-descriptions": {
    fails: [
      { name: "security group without a description", base: lb, breakIt: setOn("app-sg", "description", undefined) },
      { name: "Pulumi's default description", base: lb, breakIt: setOn("db-sg", "description", "Managed by Pulumi") },
      { name: "standalone rule without a description", base: lb, breakIt: setOn("db-from-app", "description", "") },
      { name: "inline egress rule without a description", base: lb, breakIt: setOn("alb-sg", "egress.0.description", undefined), message: /egress\[0\]/ },
    ],
  },
  "sg-default-closed": {
    fails: [
      { name: "VPC without a DefaultSecurityGroup", base: lb, breakIt: (p) => (remove(p, "net-default-sg"), urnOf(p, "net-vpc")) },
      { name: "default SG with an ingress rule", base: lb, breakIt: setOn("net-default-sg", "ingress", [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }]) },
      {
        name: "standalone rule added to the default SG",
        base: lb,
        breakIt: adding(res(INGRESS, "default-in", { securityGroupId: id("net-default-sg"), ipProtocol: "tcp", fromPort: 80, toPort: 80, referencedSecurityGroupId: id("alb-sg"), description: "x" })),
      },
    ],
  },
};
