/**
 * Security-group rules in one shape, whichever way the program declared
 * them: inline `ingress`/`egress` on a SecurityGroup or DefaultSecurityGroup,
 * the current standalone `aws:vpc/securityGroup{Ingress,Egress}Rule`
 * (one CIDR or source per rule), or the legacy `aws:ec2/securityGroupRule`.
 */
import { finding, ofType, resolve, roleOf } from "./plan-queries";
import { T } from "./resource-types";
import type { Finding, PlannedResource, PlanUnderTest } from "./types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings } from "./values";

export interface SgRule {
  /** The resource that declares the rule (an SG for inline rules). */
  declaredBy: PlannedResource;
  /** Where, for messages: `ingress[0]`, or the rule resource's name. */
  where: string;
  direction: "ingress" | "egress";
  /** The security group the rule belongs to, when it is in the plan. */
  group?: PlannedResource;
  /** `-1` (all), `tcp`, `udp`, `icmp` … lower-cased; numbers as given. */
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
  /** Source (ingress) or destination (egress) security groups, resolved when in the plan. */
  peerGroups: { ref: string; group?: PlannedResource }[];
  prefixLists: string[];
  self: boolean;
  description?: string;
}

export const WORLD = ["0.0.0.0/0", "::/0"];

function inline(plan: PlanUnderTest, sg: PlannedResource): SgRule[] {
  return (["ingress", "egress"] as const).flatMap((direction) =>
    asArray(sg.inputs[direction]).map((raw, i): SgRule => {
      const r = asRecord(raw) ?? {};
      return {
        declaredBy: sg,
        where: `${direction}[${i}]`,
        direction,
        group: sg,
        protocol: String(asString(r.protocol) ?? asNumber(r.protocol) ?? "").toLowerCase(),
        fromPort: asNumber(r.fromPort),
        toPort: asNumber(r.toPort),
        cidrs: [...asStrings(r.cidrBlocks), ...asStrings(r.ipv6CidrBlocks)],
        peerGroups: asStrings(r.securityGroups).map((ref) => ({ ref, group: resolve(plan, ref, T.securityGroup) })),
        prefixLists: asStrings(r.prefixListIds),
        self: asBool(r.self) === true,
        description: asString(r.description),
      };
    }),
  );
}

function standalone(plan: PlanUnderTest, r: PlannedResource, direction: "ingress" | "egress"): SgRule {
  const i = r.inputs;
  const peer = asString(i.referencedSecurityGroupId);
  return {
    declaredBy: r,
    where: r.name,
    direction,
    group: resolve(plan, i.securityGroupId, [...T.securityGroup, ...T.defaultSecurityGroup]),
    protocol: String(asString(i.ipProtocol) ?? asNumber(i.ipProtocol) ?? "").toLowerCase(),
    fromPort: asNumber(i.fromPort),
    toPort: asNumber(i.toPort),
    cidrs: [asString(i.cidrIpv4), asString(i.cidrIpv6)].filter((c): c is string => !!c),
    peerGroups: peer ? [{ ref: peer, group: resolve(plan, peer, T.securityGroup) }] : [],
    prefixLists: asStrings(i.prefixListId),
    self: false,
    description: asString(i.description),
  };
}

function legacy(plan: PlanUnderTest, r: PlannedResource): SgRule {
  const i = r.inputs;
  const peer = asString(i.sourceSecurityGroupId);
  return {
    declaredBy: r,
    where: r.name,
    direction: asString(i.type) === "egress" ? "egress" : "ingress",
    group: resolve(plan, i.securityGroupId, [...T.securityGroup, ...T.defaultSecurityGroup]),
    protocol: String(asString(i.protocol) ?? asNumber(i.protocol) ?? "").toLowerCase(),
    fromPort: asNumber(i.fromPort),
    toPort: asNumber(i.toPort),
    cidrs: [...asStrings(i.cidrBlocks), ...asStrings(i.ipv6CidrBlocks)],
    peerGroups: peer ? [{ ref: peer, group: resolve(plan, peer, T.securityGroup) }] : [],
    prefixLists: asStrings(i.prefixListIds),
    self: asBool(i.self) === true,
    description: asString(i.description),
  };
}

/** Every rule in the plan, inline and standalone. */
export function allRules(plan: PlanUnderTest): SgRule[] {
  return [
    ...ofType(plan, [...T.securityGroup, ...T.defaultSecurityGroup]).flatMap((sg) => inline(plan, sg)),
    ...ofType(plan, T.ingressRule).map((r) => standalone(plan, r, "ingress")),
    ...ofType(plan, T.egressRule).map((r) => standalone(plan, r, "egress")),
    ...ofType(plan, T.legacyRule).map((r) => legacy(plan, r)),
  ];
}

export function ingressRules(plan: PlanUnderTest): SgRule[] {
  return allRules(plan).filter((r) => r.direction === "ingress");
}

/** Whether the plan declares any security group or rule at all. */
export function hasSecurityGroups(plan: PlanUnderTest): boolean {
  return (
    ofType(plan, [...T.securityGroup, ...T.defaultSecurityGroup, ...T.ingressRule, ...T.egressRule, ...T.legacyRule])
      .length > 0
  );
}

export function isAllProtocols(rule: SgRule): boolean {
  return rule.protocol === "-1" || rule.protocol === "all";
}

/** True when the rule admits TCP `port` (all-protocol rules admit every port). */
export function coversPort(rule: SgRule, port: number): boolean {
  if (isAllProtocols(rule)) return true;
  if (!["tcp", "6"].includes(rule.protocol)) return false;
  const from = rule.fromPort ?? 0;
  const to = rule.toPort ?? 65535;
  return from <= port && port <= to;
}

/** All protocols, or the whole TCP/UDP port range. */
export function isAllPorts(rule: SgRule): boolean {
  if (isAllProtocols(rule)) return true;
  return (rule.fromPort ?? 0) <= 1 && (rule.toPort ?? 65535) >= 65535;
}

export function worldCidrs(rule: SgRule): string[] {
  return rule.cidrs.filter((c) => WORLD.includes(c));
}

/** The ports of a rule for messages: `22`, `0-65535`, `all`. */
export function portsOf(rule: SgRule): string {
  if (isAllProtocols(rule)) return "all traffic";
  return rule.fromPort === rule.toPort ? `${rule.protocol}/${rule.fromPort}` : `${rule.protocol}/${rule.fromPort}-${rule.toPort}`;
}

/** The SG's name and role for messages. */
export function groupLabel(rule: SgRule): string {
  const g = rule.group;
  return g ? `${g.name} (role ${roleOf(g) ?? "untagged"})` : "a security group outside the plan";
}

/** A finding about a rule, naming the resource that declares it (and the inline position). */
export function ruleFinding(rule: SgRule, message: string): Finding {
  return finding(rule.declaredBy, rule.where === rule.declaredBy.name ? message : `${rule.where} ${message}`);
}
