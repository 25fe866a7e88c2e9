/**
 * The load-balanced tier: an application load balancer (`aws:lb/*`, and the
 * `aws:alb/*` aliases), its listeners and target groups, and the autoscaling
 * groups (blue and green fleets) registered in them. The *live* fleet is the
 * one whose target group a listener forwards to; the idle colour may be
 * scaled to zero between promotions.
 */
import { eachResource, finding, notApplicable, ofType, prodOnly, refersTo, resolve } from "../plan-queries";
import { T } from "../resource-types";
import { GUNICORN_DEFAULTS, gracefulTimeouts } from "../server-files";
import type { Check, Finding, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings, field, isSecret, show } from "../values";

const NO_ALB = "no application load balancer in this plan";

export function applicationLoadBalancers(plan: PlanUnderTest): PlannedResource[] {
  return ofType(plan, T.loadBalancer).filter((lb) => (asString(lb.inputs.loadBalancerType) ?? "application") === "application");
}

function albCheck(plan: PlanUnderTest, each: (lb: PlannedResource) => (string | false | undefined)[]): ReturnType<Check["run"]> {
  const albs = applicationLoadBalancers(plan);
  return albs.length ? eachResource(albs, each) : notApplicable(NO_ALB);
}

const listenersOf = (plan: PlanUnderTest, lb: PlannedResource) =>
  ofType(plan, T.listener).filter((l) => refersTo(l.inputs.loadBalancerArn, lb));

/** Target group ARNs a listener or listener rule action forwards traffic to (a weight of 0 forwards none). */
function forwardedTargetGroups(action: unknown): string[] {
  const a = asRecord(action) ?? {};
  return [
    ...asStrings(a.targetGroupArn),
    ...asArray(field(a, "forward.targetGroups"))
      .filter((tg) => asNumber(asRecord(tg)?.weight) !== 0)
      .flatMap((tg) => asStrings(asRecord(tg)?.arn)),
  ];
}

/** A rule that matches only request headers: a route chosen by the caller (blue-green's preview), not the site's traffic. */
const headerOnlyRule = (rule: PlannedResource) => {
  const conditions = asArray(rule.inputs.conditions).map((c) => asRecord(c) ?? {});
  return conditions.length > 0 && conditions.every((c) => c.httpHeader !== undefined && Object.keys(c).length === 1);
};

/**
 * Target groups that receive the site's traffic: forwarded to, with a
 * weight above 0, by a listener's default action or by a listener rule
 * that does not match on request headers alone.
 */
export function liveTargetGroups(plan: PlanUnderTest): PlannedResource[] {
  const arns = [
    ...ofType(plan, T.listener).flatMap((l) => asArray(l.inputs.defaultActions).flatMap(forwardedTargetGroups)),
    ...ofType(plan, T.listenerRule).filter((r) => !headerOnlyRule(r)).flatMap((r) => asArray(r.inputs.actions).flatMap(forwardedTargetGroups)),
  ];
  return ofType(plan, T.targetGroup).filter((tg) => arns.some((arn) => refersTo(arn, tg)));
}

/** ASGs registered in a target group (the web fleets), as opposed to worker fleets. */
const webFleets = (plan: PlanUnderTest) =>
  ofType(plan, T.autoscalingGroup).filter(
    (asg) =>
      asStrings(asg.inputs.targetGroupArns).length > 0 ||
      asArray(asg.inputs.trafficSources).some((s) => asString(asRecord(s)?.identifier)),
  );

const targetGroupsOfAsg = (plan: PlanUnderTest, asg: PlannedResource) =>
  [
    ...asStrings(asg.inputs.targetGroupArns),
    ...asArray(asg.inputs.trafficSources).flatMap((s) => asStrings(asRecord(s)?.identifier)),
  ]
    .map((arn) => resolve(plan, arn, T.targetGroup))
    .filter((tg): tg is PlannedResource => !!tg);

/**
 * Plain HTTP is only a permanent redirect to HTTPS: every HTTP listener's
 * default action is `redirect` with protocol HTTPS and `HTTP_301`.
 * Refs: CKV2_AWS_20, CKV_AWS_2, AVD-AWS-0054, KICS de7f5e83-da88-4046-871f-ea18504b1d43.
 */
export const albHttpRedirectsToHttps: Check = {
  id: "alb-http-redirects-to-https",
  title: "HTTP listeners only redirect (301) to HTTPS",
  refs: ["CKV2_AWS_20", "CKV_AWS_2", "AVD-AWS-0054", "KICS de7f5e83-da88-4046-871f-ea18504b1d43"],
  description: "An HTTP listener that forwards serves sessions and forms in clear text.",
  run(plan) {
    const albs = applicationLoadBalancers(plan);
    if (!albs.length) return notApplicable(NO_ALB);
    const http = albs.flatMap((lb) => listenersOf(plan, lb)).filter((l) => (asString(l.inputs.protocol) ?? "HTTP") === "HTTP");
    return eachResource(http, (l) => {
      const actions = asArray(l.inputs.defaultActions).map((a) => asRecord(a) ?? {});
      const ok =
        actions.length === 1 &&
        asString(actions[0].type) === "redirect" &&
        asString(field(actions[0], "redirect.protocol")) === "HTTPS" &&
        asString(field(actions[0], "redirect.statusCode")) === "HTTP_301";
      return [!ok && "HTTP listener's default action is not a single 301 redirect to HTTPS"];
    });
  },
};

/** ALB TLS policies that negotiate TLS 1.2 or newer only. */
export const TLS12_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-/;

/**
 * Each ALB has an HTTPS listener with a certificate and a TLS 1.2+ policy
 * (e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`); the default policy still
 * accepts TLS 1.0. Refs: CKV_AWS_103, CKV2_AWS_74, AVD-AWS-0047.
 */
export const albTlsPolicy: Check = {
  id: "alb-tls-policy",
  title: "HTTPS listeners use a TLS 1.2+ security policy",
  refs: ["CKV_AWS_103", "CKV2_AWS_74", "AVD-AWS-0047"],
  description: "TLS 1.0/1.1 have known weaknesses and are rejected by modern compliance baselines.",
  run(plan) {
    const albs = applicationLoadBalancers(plan);
    if (!albs.length) return notApplicable(NO_ALB);
    return albs.flatMap((lb) => {
      const https = listenersOf(plan, lb).filter((l) => asString(l.inputs.protocol) === "HTTPS");
      if (!https.length) return [finding(lb, "has no HTTPS listener")];
      return eachResource(https, (l) => [
        !TLS12_POLICY.test(asString(l.inputs.sslPolicy) ?? "") && `sslPolicy is ${show(l.inputs.sslPolicy)}, not a TLS 1.2+ policy`,
        !l.inputs.certificateArn && "has no certificateArn",
      ]);
    });
  },
};

/** Invalid HTTP header fields are dropped at the ALB. Refs: CKV_AWS_131, AVD-AWS-0052, KICS 6e3fd2ed-5c83-4c68-9679-7700d224d379. */
export const albDropInvalidHeaders: Check = {
  id: "alb-drop-invalid-headers",
  title: "ALB drops invalid header fields",
  refs: ["CKV_AWS_131", "AVD-AWS-0052", "KICS 6e3fd2ed-5c83-4c68-9679-7700d224d379"],
  description: "Malformed headers are a request-smuggling vector between the ALB and nginx.",
  run: (plan) => albCheck(plan, (lb) => [asBool(lb.inputs.dropInvalidHeaderFields) !== true && "dropInvalidHeaderFields is not true"]),
};

/** Access logs to S3. Refs: CKV_AWS_91, AG elb-logging-enabled. */
export const albAccessLogs: Check = {
  id: "alb-access-logs",
  title: "ALB writes access logs",
  refs: ["CKV_AWS_91", "AG elb-logging-enabled"],
  description: "Without access logs, incidents and 5xx bursts cannot be traced to requests.",
  run: (plan) =>
    albCheck(plan, (lb) => [
      (asBool(field(lb.inputs, "accessLogs.enabled")) !== true || !field(lb.inputs, "accessLogs.bucket")) &&
        "accessLogs.enabled is not true with a bucket",
    ]),
};

/** Deletion protection (prod only). Refs: CKV_AWS_150. */
export const albDeletionProtection: Check = {
  id: "alb-deletion-protection",
  title: "ALB has deletion protection (prod)",
  refs: ["CKV_AWS_150"],
  description: "Deleting the ALB takes the site down and changes its DNS name.",
  run: (plan) =>
    prodOnly(plan, "ALB deletion protection") ??
    albCheck(plan, (lb) => [asBool(lb.inputs.enableDeletionProtection) !== true && "enableDeletionProtection is not true"]),
};

/**
 * HTTP desync mitigation `defensive` (the service default when unset) or
 * `strictest`; never `monitor`. Refs: CKV_AWS_328.
 */
export const albDesyncMitigation: Check = {
  id: "alb-desync-mitigation",
  title: "ALB desync mitigation is defensive or strictest",
  refs: ["CKV_AWS_328"],
  description: "In monitor mode ambiguous requests reach the app, enabling request smuggling.",
  run: (plan) =>
    albCheck(plan, (lb) => {
      const mode = asString(lb.inputs.desyncMitigationMode) ?? "defensive";
      return [!["defensive", "strictest"].includes(mode) && `desyncMitigationMode is "${mode}"`];
    }),
};

/**
 * Target groups health-check `/healthz` expecting 200 (the app answers it
 * before ALLOWED_HOSTS applies). Refs: CKV_AWS_261.
 */
export const albTargetGroupHealthCheck: Check = {
  id: "alb-target-group-health-check",
  title: "Target groups health-check /healthz expecting 200",
  refs: ["CKV_AWS_261"],
  description: "A health check on `/` passes while the database is down, or fails on DisallowedHost.",
  run(plan) {
    const tgs = ofType(plan, T.targetGroup);
    if (!tgs.length) return notApplicable("no target group in this plan");
    return eachResource(tgs, (tg) => {
      const hc = asRecord(tg.inputs.healthCheck) ?? {};
      return [
        asBool(hc.enabled) === false && "healthCheck.enabled is false",
        asString(hc.path) !== "/healthz" && `healthCheck.path is ${show(hc.path)}, not "/healthz"`,
        asString(hc.matcher) !== "200" && `healthCheck.matcher is ${show(hc.matcher)}, not "200"`,
      ];
    });
  },
};

/**
 * Web fleets replace instances the ALB finds unhealthy (`healthCheckType:
 * "ELB"`) after a grace period long enough to provision.
 * Refs: CKV2_AWS_15, WA REL11-BP03.
 */
export const asgElbHealthCheck: Check = {
  id: "asg-elb-health-check",
  title: "Web fleets use ELB health checks with a grace period",
  refs: ["CKV2_AWS_15", "WA REL11-BP03"],
  description: "With EC2 checks only, a VM whose app is dead keeps its place in the fleet.",
  run(plan) {
    const fleets = webFleets(plan);
    if (!fleets.length) return notApplicable("no autoscaling group registered in a target group in this plan");
    return eachResource(fleets, (asg) => [
      asString(asg.inputs.healthCheckType) !== "ELB" && `healthCheckType is ${show(asg.inputs.healthCheckType)}, not "ELB"`,
      !((asNumber(asg.inputs.healthCheckGracePeriod) ?? 0) > 0) && "healthCheckGracePeriod is not set",
    ]);
  },
};

/** AZ of each subnet id that the plan declares (the id itself when the subnet comes from elsewhere). */
function zonesOf(plan: PlanUnderTest, subnetRefs: string[]): Set<string> {
  return new Set(
    subnetRefs.map((ref) => {
      const subnet = resolve(plan, ref, T.subnet);
      return asString(subnet?.inputs.availabilityZone) ?? asString(subnet?.inputs.availabilityZoneId) ?? ref;
    }),
  );
}

/**
 * The ALB and every fleet span at least two availability zones.
 * Refs: WA REL10-BP01.
 */
export const albMultiAz: Check = {
  id: "alb-multi-az",
  title: "ALB and fleets span at least two availability zones",
  refs: ["WA REL10-BP01"],
  description: "One AZ is a single point of failure for the whole site.",
  run(plan) {
    const albs = applicationLoadBalancers(plan);
    const asgs = ofType(plan, T.autoscalingGroup);
    if (!albs.length && !asgs.length) return notApplicable("no load balancer or autoscaling group in this plan");
    return [
      ...eachResource(albs, (lb) => {
        const subnets = [
          ...asStrings(lb.inputs.subnets),
          ...asArray(lb.inputs.subnetMappings).flatMap((m) => asStrings(asRecord(m)?.subnetId)),
        ];
        const zones = zonesOf(plan, subnets).size;
        return [zones < 2 && `subnets span ${zones} availability zone(s)`];
      }),
      ...eachResource(asgs, (asg) => {
        const zones = new Set([...zonesOf(plan, asStrings(asg.inputs.vpcZoneIdentifiers)), ...asStrings(asg.inputs.availabilityZones)]).size;
        return [zones < 2 && `vpcZoneIdentifiers span ${zones} availability zone(s)`];
      }),
    ];
  },
};

/**
 * The live web fleet keeps at least two instances (prod only); the idle
 * blue/green colour, whose target group no listener forwards to, may scale
 * to zero. Refs: WA REL10-BP01.
 */
export const asgMinSize: Check = {
  id: "asg-min-size",
  title: "The live web fleet keeps at least two instances (prod)",
  refs: ["WA REL10-BP01"],
  description: "With one instance, every deploy, failure or AZ outage is downtime.",
  run(plan) {
    const na = prodOnly(plan, "A minimum of two web instances");
    if (na) return na;
    const live = liveTargetGroups(plan);
    const fleets = webFleets(plan).filter((asg) => targetGroupsOfAsg(plan, asg).some((tg) => live.includes(tg)));
    if (!fleets.length) return notApplicable("no autoscaling group serves a live target group in this plan");
    return eachResource(fleets, (asg) => {
      const min = asNumber(asg.inputs.minSize);
      return [!(min !== undefined && min >= 2) && `minSize is ${min ?? "unset"}, below 2`];
    });
  },
};

/**
 * Deregistration delay is at least gunicorn's `graceful_timeout` (from the
 * rendered gunicorn configs; gunicorn's default 30 s when none is rendered),
 * so in-flight requests finish before the ALB drops the target. The target
 * group default is 300 s.
 */
export const albDeregistrationDelay: Check = {
  id: "alb-deregistration-delay",
  title: "Target group deregistration delay covers gunicorn's graceful timeout",
  refs: [],
  description: "A shorter delay cuts requests off mid-response on every deploy and scale-in.",
  run(plan) {
    const tgs = ofType(plan, T.targetGroup);
    if (!tgs.length) return notApplicable("no target group in this plan");
    const rendered = gracefulTimeouts(plan);
    const graceful = rendered.length ? Math.max(...rendered) : GUNICORN_DEFAULTS.graceful_timeout;
    return eachResource(tgs, (tg) => {
      const delay = asNumber(tg.inputs.deregistrationDelay) ?? 300;
      return [delay < graceful && `deregistrationDelay is ${delay}s, below gunicorn graceful_timeout ${graceful}s`];
    });
  },
};

/** The header that picks a color on a blue-green box (and picked a fleet before previews needed a key). */
const COLOR_HEADER = "x-django-tiers-color";

/** AWS's managed origin request policies that forward every viewer header. */
const MANAGED_ALL_VIEWER_POLICIES = [
  "216adef6-5c7f-47e4-b989-5492eafa07d3", // Managed-AllViewer
  "b689b0a8-53d0-40ab-baf2-68738e2966ac", // Managed-AllViewerExceptHostHeader
  "33f36d7e-f396-46d9-90e0-52428a34d9dc", // Managed-AllViewerAndCloudFrontHeaders-2022-06
];

/** True when a value holds a Pulumi secret anywhere (the engine marks a whole block secret when a part is). */
const holdsSecret = (v: unknown): boolean =>
  isSecret(v) || (Array.isArray(v) ? v.some(holdsSecret) : v !== null && typeof v === "object" ? Object.values(v).some(holdsSecret) : false);

/** Whether a CloudFront behavior passes the color header to its origin, and how. */
function forwardsColorHeader(plan: PlanUnderTest, b: Record<string, unknown>): string | undefined {
  const legacy = asStrings(field(b, "forwardedValues.headers")).map((h) => h.toLowerCase());
  if (legacy.includes("*") || legacy.includes(COLOR_HEADER)) return "forwardedValues.headers passes it";
  const id = asString(b.originRequestPolicyId);
  if (!id) return undefined;
  if (MANAGED_ALL_VIEWER_POLICIES.includes(id)) return `the managed origin request policy ${id} passes every viewer header`;
  const policy = resolve(plan, id, T.originRequestPolicy);
  if (!policy) return `origin request policy ${id} is not in this plan`;
  const behavior = asString(field(policy.inputs, "headersConfig.headerBehavior")) ?? "none";
  const items = asStrings(field(policy.inputs, "headersConfig.headers.items")).map((h) => h.toLowerCase());
  if (behavior === "allViewer" || behavior === "allViewerAndWhitelistCloudFront") return `its origin request policy ${policy.name} passes every viewer header`;
  if (behavior === "allExcept" && !items.includes(COLOR_HEADER)) return `its origin request policy ${policy.name} passes every viewer header but ${items.join(", ") || "none"}`;
  if (behavior === "whitelist" && items.includes(COLOR_HEADER)) return `its origin request policy ${policy.name} lists it`;
  return undefined;
}

/**
 * Previews are private: a listener rule that picks a fleet by request
 * header needs a value a visitor cannot know (a Pulumi secret: the stack's
 * preview key), and CloudFront does not pass the color header on as is.
 * Source: CHECKS.md "Previews are private".
 */
export const previewsPrivate: Check = {
  id: "previews-private",
  title: "Previews are private: picking a fleet by header needs a secret, and the CDN drops the color header",
  refs: [],
  description: "A header anyone can send that selects the idle fleet lets any visitor reach code that has not been promoted (and its admin, debug pages or migrations in progress).",
  run: (plan) => {
    const rules = ofType(plan, T.listenerRule).filter(headerOnlyRule);
    if (!rules.length && !applicationLoadBalancers(plan).length) return notApplicable(NO_ALB);
    const findings: Finding[] = [];
    for (const r of rules) {
      const headers = asArray(r.inputs.conditions).map((c) => asString(field(c, "httpHeader.httpHeaderName"))).filter(Boolean);
      if (!holdsSecret(r.inputs.conditions)) findings.push(finding(r, `routes by ${headers.join(", ")} with a value anyone can send, so any visitor reaches the fleet it forwards to`));
    }
    for (const d of ofType(plan, T.distribution)) {
      const behaviors = [asRecord(d.inputs.defaultCacheBehavior) ?? {}, ...asArray(d.inputs.orderedCacheBehaviors).map((b) => asRecord(b) ?? {})];
      for (const b of behaviors) {
        const how = forwardsColorHeader(plan, b);
        if (how) findings.push(finding(d, `${b.pathPattern ? `behavior ${show(b.pathPattern)}` : "the default behavior"} passes X-Django-Tiers-Color to the origin: ${how}`));
      }
    }
    return findings;
  },
};

export const ALB_CHECKS: Check[] = [
  albHttpRedirectsToHttps,
  albTlsPolicy,
  albDropInvalidHeaders,
  albAccessLogs,
  albDeletionProtection,
  albDesyncMitigation,
  albTargetGroupHealthCheck,
  asgElbHealthCheck,
  albMultiAz,
  asgMinSize,
  albDeregistrationDelay,
  previewsPrivate,
];
