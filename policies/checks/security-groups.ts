/**
 * Security groups. Rules are read in every form (inline, the current
 * `aws:vpc/securityGroup*Rule`, the legacy `aws:ec2/securityGroupRule`) and
 * judged by the role tag of the group they belong to (`django-tiers:role`:
 * edge, app, worker, database, cache — see resource-types.ts).
 */
import { eachResource, notApplicable, ofType, refersTo, roleOf } from "../plan-queries";
import { T } from "../resource-types";
import {
  coversPort,
  groupLabel,
  hasSecurityGroups,
  ingressRules,
  allRules,
  isAllPorts,
  portsOf,
  ruleFinding,
  type SgRule,
  worldCidrs,
} from "../security-group-rules";
import type { Check, Finding, PlanUnderTest } from "../types";
import { asArray, asString } from "../values";

const NO_SGS = "no security group or rule in this plan";


function ruleCheck(plan: PlanUnderTest, judge: (rule: SgRule) => string | undefined | false): Finding[] | { notApplicable: string } {
  if (!hasSecurityGroups(plan)) return notApplicable(NO_SGS);
  return ingressRules(plan).flatMap((rule) => {
    const message = judge(rule);
    return message ? [ruleFinding(rule, message)] : [];
  });
}

/**
 * No SSH (22) or RDP (3389) from 0.0.0.0/0 or ::/0: servers are reached with
 * SSM Session Manager, which needs no inbound port. Refs: CKV_AWS_24,
 * CKV_AWS_25, AVD-AWS-0107.
 */
export const sgNoWorldAdminPorts: Check = {
  id: "sg-no-world-admin-ports",
  title: "No SSH or RDP open to the internet (use SSM)",
  refs: ["CKV_AWS_24", "CKV_AWS_25", "AVD-AWS-0107"],
  description: "Internet-facing SSH/RDP is brute-forced within minutes of launch.",
  run: (plan) =>
    ruleCheck(plan, (rule) => {
      const world = worldCidrs(rule);
      const admin = [22, 3389].filter((p) => coversPort(rule, p));
      return world.length > 0 && admin.length > 0 && `opens ${portsOf(rule)} (port ${admin.join(", ")}) to ${world.join(", ")}`;
    }),
};

/**
 * Only 80 and 443 may be open to the world, and only on an edge SG (the
 * ALB's, or the single box's). Refs: CKV_AWS_260.
 */
export const sgWorldOnlyWebOnEdge: Check = {
  id: "sg-world-only-web-on-edge",
  title: "Only 80/443 are open to the internet, and only on the edge security group",
  refs: ["CKV_AWS_260"],
  description: "Anything else open to the world (gunicorn, Redis, PostgreSQL) is an attack surface with no TLS or auth.",
  run: (plan) =>
    ruleCheck(plan, (rule) => {
      const world = worldCidrs(rule);
      if (!world.length) return undefined;
      const web = ["tcp", "6"].includes(rule.protocol) && rule.fromPort === rule.toPort && [80, 443].includes(rule.fromPort!);
      if (!web) return `opens ${portsOf(rule)} to ${world.join(", ")}; only tcp/80 and tcp/443 may be world-open`;
      return roleOf(rule.group) !== "edge" && `opens ${portsOf(rule)} to the world on ${groupLabel(rule)}, which is not the edge`;
    }),
};

/**
 * The app SG admits traffic only from edge SGs (the ALB, or the single
 * box's edge SG) — never from CIDRs, prefix lists or itself. Refs: CKV_AWS_260.
 */
export const sgAppFromEdgeOnly: Check = {
  id: "sg-app-from-edge-only",
  title: "App servers take traffic only from the edge security group",
  refs: ["CKV_AWS_260"],
  description: "App servers reachable other than through the ALB skip TLS, WAF and access logs.",
  run(plan) {
    if (!ofType(plan, T.securityGroup).some((sg) => roleOf(sg) === "app"))
      return notApplicable("no security group tagged django-tiers:role=app in this plan");
    return ruleCheck(plan, (rule) => {
      if (roleOf(rule.group) !== "app") return undefined;
      if (rule.cidrs.length || rule.prefixLists.length) return `admits ${[...rule.cidrs, ...rule.prefixLists].join(", ")}; only edge SGs may reach the app`;
      if (rule.self) return "admits its own group (self); only edge SGs may reach the app";
      const bad = rule.peerGroups.filter((p) => roleOf(p.group) !== "edge");
      if (!rule.peerGroups.length) return "has no source; only edge SGs may reach the app";
      return bad.length > 0 && `admits ${bad.map((p) => p.group?.name ?? p.ref).join(", ")}, which is not an edge SG`;
    });
  },
};

const DATA_PORTS = [5432, 6379];

/**
 * PostgreSQL (5432) and Redis (6379) only from app or worker SGs: never from
 * a CIDR, the edge, or an all-ports rule from elsewhere. Refs: CKV_AWS_260.
 */
export const sgDataPortsFromAppOnly: Check = {
  id: "sg-data-ports-from-app-only",
  title: "PostgreSQL and Redis ports admit only the app and worker security groups",
  refs: ["CKV_AWS_260"],
  description: "Databases and caches reachable from anywhere else are one leaked password away from a breach.",
  run(plan) {
    if (!hasSecurityGroups(plan)) return notApplicable(NO_SGS);
    const reaching = ingressRules(plan).filter((r) => DATA_PORTS.some((p) => coversPort(r, p)));
    if (!reaching.length) return notApplicable("no rule admits 5432 or 6379 in this plan");
    const ok = (role: string | undefined) => role === "app" || role === "worker";
    return reaching.flatMap((rule) => {
      const ports = DATA_PORTS.filter((p) => coversPort(rule, p)).join(", ");
      const problems: string[] = [];
      if (rule.cidrs.length || rule.prefixLists.length)
        problems.push(`admits ${[...rule.cidrs, ...rule.prefixLists].join(", ")} to port ${ports}`);
      if (rule.self && !ok(roleOf(rule.group))) problems.push(`admits its own group (self) to port ${ports}`);
      for (const p of rule.peerGroups)
        if (!ok(roleOf(p.group)))
          problems.push(`admits ${p.group?.name ?? p.ref} (role ${roleOf(p.group) ?? "untagged"}) to port ${ports}`);
      return problems.map((m) => ruleFinding(rule, `${m}; only app/worker SGs may`));
    });
  },
};

/**
 * No all-protocols or all-ports ingress from any CIDR or prefix list.
 * Refs: CKV_AWS_277.
 */
export const sgNoAllPortsFromCidr: Check = {
  id: "sg-no-all-ports-from-cidr",
  title: "No all-ports ingress from an address range",
  refs: ["CKV_AWS_277"],
  description: "An all-ports rule opens every service on the host, including ones added later.",
  run: (plan) =>
    ruleCheck(
      plan,
      (rule) =>
        isAllPorts(rule) &&
        (rule.cidrs.length > 0 || rule.prefixLists.length > 0) &&
        `admits ${portsOf(rule)} from ${[...rule.cidrs, ...rule.prefixLists].join(", ")}`,
    ),
};

/**
 * Every security group and every rule says why it exists. The provider's
 * default SG description ("Managed by Pulumi") does not count.
 * Refs: CKV_AWS_23.
 */
export const sgDescriptions: Check = {
  id: "sg-descriptions",
  title: "Every security group and rule has a description",
  refs: ["CKV_AWS_23"],
  description: "Undescribed rules are never cleaned up, because no one knows whether they are still needed.",
  run(plan) {
    if (!hasSecurityGroups(plan)) return notApplicable(NO_SGS);
    const described = (d: string | undefined) => !!d && d.trim() !== "" && d !== "Managed by Pulumi";
    return [
      ...eachResource(ofType(plan, T.securityGroup), (sg) => [!described(asString(sg.inputs.description)) && "has no description"]),
      ...allRules(plan)
        .filter((rule) => !described(rule.description))
        .map((rule) => ruleFinding(rule, `${rule.direction} rule ${portsOf(rule)} has no description`)),
    ];
  },
};

/**
 * The VPC's default security group is adopted and left with no rules, so
 * nothing launched without an explicit SG can talk to anything. A VPC the
 * plan creates without a DefaultSecurityGroup fails. Refs: CKV2_AWS_12.
 */
export const sgDefaultClosed: Check = {
  id: "sg-default-closed",
  title: "The VPC's default security group has no rules",
  refs: ["CKV2_AWS_12"],
  description: "The default SG allows all traffic between its members; anything launched without an SG lands in it.",
  run(plan) {
    const vpcs = ofType(plan, T.vpc);
    const defaults = ofType(plan, T.defaultSecurityGroup);
    if (!vpcs.length && !defaults.length) return notApplicable("no VPC or default security group in this plan");
    return [
      ...eachResource(vpcs, (vpc) => [
        !defaults.some((d) => refersTo(d.inputs.vpcId, vpc)) && "has no DefaultSecurityGroup resource to close its default SG",
      ]),
      ...eachResource(defaults, (d) => [
        asArray(d.inputs.ingress).length > 0 && "has ingress rules",
        asArray(d.inputs.egress).length > 0 && "has egress rules",
      ]),
      ...allRules(plan)
        .filter((rule) => rule.group && defaults.includes(rule.group) && rule.declaredBy !== rule.group)
        .map((rule) => ruleFinding(rule, `adds a ${rule.direction} rule to the default security group ${rule.group!.name}`)),
    ];
  },
};

export const SECURITY_GROUP_CHECKS: Check[] = [
  sgNoWorldAdminPorts,
  sgWorldOnlyWebOnEdge,
  sgAppFromEdgeOnly,
  sgDataPortsFromAppOnly,
  sgNoAllPortsFromCidr,
  sgDescriptions,
  sgDefaultClosed,
];
