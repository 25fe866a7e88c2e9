/**
 * The load-balanced tier's front door (LoadBalancer) and its certificate
 * (Certificate): children and inputs captured under the mock engine and
 * asserted after `engine.finish()`, then the policy checks that apply run
 * over each instance's captured resources.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { SecretValue } from "../../policies/types";
import { named, ofType, reveal } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

/**
 * What the mock engine does not answer yet for these resources (see the
 * report on cli/mock-engine.ts): ALB and target group ARN suffixes and DNS
 * name, ACM's DNS validation options, and the managed prefix list lookup.
 * Added here, on top of the engine's own answers, so the wiring is tested.
 */
const PREFIX_LIST_ID = "pl-3b927c52";
const invokes: { token: string; inputs: Record<string, unknown> }[] = [];
const mocks = (pulumi.runtime.getMonitor() as any).mocks;
const baseNewResource = mocks.newResource.bind(mocks);
const baseCall = mocks.call.bind(mocks);
mocks.newResource = async (args: pulumi.runtime.MockResourceArgs) => {
  const result = await baseNewResource(args);
  const state = { ...result.state };
  if (args.type === "aws:lb/loadBalancer:LoadBalancer") {
    state.arnSuffix = `app/${args.name}/50dc6c495c0c9188`;
    state.dnsName = `${args.name}-1234567890.us-east-1.elb.amazonaws.com`;
    state.zoneId = "Z35SXDOTRQ7X7K";
  }
  if (args.type === "aws:lb/targetGroup:TargetGroup") state.arnSuffix = `targetgroup/${args.name}/943f017f100becff`;
  if (args.type === "aws:acm/certificate:Certificate") {
    const domains: string[] = [args.inputs.domainName, ...(args.inputs.subjectAlternativeNames ?? [])];
    state.domainValidationOptions = domains.map((d) => {
      const base = d.replace(/^\*\./, "");
      return { domainName: d, resourceRecordName: `_a1b2.${base}.`, resourceRecordType: "CNAME", resourceRecordValue: `_c3d4.${base}.acm-validations.aws.` };
    });
  }
  return { ...result, state };
};
mocks.call = async (args: pulumi.runtime.MockCallArgs) => {
  invokes.push({ token: args.token, inputs: args.inputs });
  if (args.token === "aws:ec2/getManagedPrefixList:getManagedPrefixList") return { id: PREFIX_LIST_ID, name: args.inputs.name };
  return baseCall(args);
};

import * as aws from "@pulumi/aws";
import { Certificate, validationKey } from "../../components/certificate";
import { DnsRecords } from "../../components/dns";
import { ALB_TLS_POLICY, COLOR_HEADER, LoadBalancer, PREVIEW_HEADER, LoadBalancerArgs, albLogDeliveryStatement, cidrLabel } from "../../components/load-balancer";
import { runChecks } from "../../policies";
import { ALB_CHECKS } from "../../policies/checks/alb";
import { CLOUDFLARE_RANGES, cloudflareOriginLocked } from "../../policies/checks/cdn";
import { acmCreateBeforeDestroy, acmDnsValidation } from "../../policies/checks/iam-kms-acm-backup";
import { SECURITY_GROUP_CHECKS } from "../../policies/checks/security-groups";
import type { CheckStatus, PlanUnderTest } from "../../policies/types";

const LB_TYPE = "aws:lb/loadBalancer:LoadBalancer";
const RULE_TYPE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const arnOf = (service: string, name: string) => `arn:aws:${service}:us-east-1:123456789012:${name}`;

const base = (over: Partial<LoadBalancerArgs> = {}): LoadBalancerArgs => ({
  vpcId: "vpc-1",
  vpcCidr: "10.0.0.0/16",
  subnetIds: ["subnet-public-a", "subnet-public-b"],
  certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/given",
  accessLogs: { bucket: "logs-bucket", prefix: "alb" },
  deletionProtection: true,
  targets: { deregistrationDelaySeconds: 35 },
  weights: { blue: 100, green: 0 },
  ...over,
});

let cert: Certificate;
let edgeCert: Certificate;
let web: LoadBalancer;
const usEast1 = new aws.Provider("use1", { region: "us-east-1" });

beforeAll(async () => {
  cert = new Certificate("cert", { domains: ["shop.example.com", "www.shop.example.com", "*.shop.example.com"], zoneId: "zone-1" });
  edgeCert = new Certificate("edge-cert", { domains: ["shop.example.com"], zoneId: "zone-1", provider: usEast1, keyAlgorithm: "EC_prime256v1" });
  web = new LoadBalancer("web", base({ certificateArn: cert.arn }));
  new LoadBalancer("cf", base({ restrictTo: "cloudfront", weights: { blue: 90, green: 10 }, deletionProtection: false, idleTimeoutSeconds: 30 }));
  new LoadBalancer("flare", base({
    restrictTo: "cloudflare",
    weights: { blue: 10, green: 90 },
    deletionProtection: false,
    targets: { port: 8080, deregistrationDelaySeconds: 65 },
  }));
  // Cloudflare's proxy in front of "flare": makes the cloudflare-origin-locked check apply.
  new DnsRecords("site", { zoneId: "zone-1", hosts: ["shop.example.com"], target: "flare-lb.example", type: "CNAME", proxied: true });
  await engine.finish();
});

/** The resources of the named components (the component and every child), as a plan for the checks. */
function planOf(prefixes: string[], environment: PlanUnderTest["environment"] = "prod"): PlanUnderTest {
  const resources = engine.resources.filter((r) => prefixes.some((p) => r.name === p || r.name.startsWith(`${p}-`)));
  return { tier: "load-balanced", environment, resources, serverFiles: {}, relaxations: [] };
}

const LB_CHECKS = [...ALB_CHECKS, ...SECURITY_GROUP_CHECKS, acmDnsValidation, acmCreateBeforeDestroy, cloudflareOriginLocked];

function statuses(plan: PlanUnderTest): Record<string, CheckStatus> {
  return Object.fromEntries(runChecks(plan, LB_CHECKS).map((r) => [r.id, r.status]));
}

const ingressOf = (prefix: string) =>
  ofType(engine.resources, RULE_TYPE)
    .filter((r) => r.name.startsWith(`${prefix}-`))
    .map((r) => [r.name, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6 ?? r.inputs.prefixListId]);

describe("LoadBalancer, world-facing", () => {
  it("opens only 80 and 443, to IPv4 and IPv6, and sends only to the targets' port inside the VPC", () => {
    const sg = named(engine.resources, "web-sg");
    expect(sg.inputs).toMatchObject({ vpcId: "vpc-1", tags: { "django-tiers:role": "edge", Name: "web-sg" } });
    expect(sg.inputs.ingress).toBeUndefined();
    expect(sg.inputs.egress).toBeUndefined();
    expect(ingressOf("web")).toEqual([
      ["web-in-http", 80, 80, "0.0.0.0/0"],
      ["web-in-http-v6", 80, 80, "::/0"],
      ["web-in-https", 443, 443, "0.0.0.0/0"],
      ["web-in-https-v6", 443, 443, "::/0"],
    ]);
    for (const r of ofType(engine.resources, RULE_TYPE).filter((x) => x.name.startsWith("web-"))) {
      expect(r.inputs).toMatchObject({ securityGroupId: "web-sg-id", ipProtocol: "tcp" });
    }
    expect(named(engine.resources, "web-out-targets").inputs).toMatchObject({
      securityGroupId: "web-sg-id",
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "10.0.0.0/16",
    });
  });

  it("is an internet-facing ALB that drops invalid headers, mitigates desync, logs and refuses deletion", () => {
    const lb = named(engine.resources, "web-lb");
    expect(lb.type).toBe(LB_TYPE);
    expect(lb.inputs).toMatchObject({
      loadBalancerType: "application",
      internal: false,
      subnets: ["subnet-public-a", "subnet-public-b"],
      securityGroups: ["web-sg-id"],
      dropInvalidHeaderFields: true,
      desyncMitigationMode: "defensive",
      enableDeletionProtection: true,
      accessLogs: { enabled: true, bucket: "logs-bucket", prefix: "alb" },
      idleTimeout: 60,
    });
  });

  it("has one target group per color, health-checking /healthz and draining for the graceful timeout", () => {
    for (const color of ["blue", "green"]) {
      const tg = named(engine.resources, `web-tg-${color}`);
      expect(tg.inputs).toMatchObject({
        vpcId: "vpc-1",
        targetType: "instance",
        protocol: "HTTP",
        port: 80,
        deregistrationDelay: 35,
        healthCheck: { enabled: true, path: "/healthz", matcher: "200", interval: 10, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
        tags: { "django-tiers:color": color },
      });
    }
  });

  it("redirects HTTP to HTTPS with a 301", () => {
    const http = named(engine.resources, "web-http");
    expect(http.inputs).toMatchObject({ loadBalancerArn: arnOf("lb", "web-lb"), port: 80, protocol: "HTTP" });
    expect(http.inputs.defaultActions).toEqual([{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
  });

  it("serves HTTPS with TLS 1.2+ and the validated certificate, forwarding by weight without stickiness", () => {
    const https = named(engine.resources, "web-https");
    expect(https.inputs).toMatchObject({
      loadBalancerArn: arnOf("lb", "web-lb"),
      port: 443,
      protocol: "HTTPS",
      sslPolicy: ALB_TLS_POLICY,
      // The validation's ARN, not the certificate's own: the listener waits for ACM to issue it.
      certificateArn: arnOf("acm", "cert-certificate"),
    });
    expect(https.inputs.defaultActions).toEqual([{
      type: "forward",
      forward: {
        targetGroups: [{ arn: arnOf("lb", "web-tg-blue"), weight: 100 }, { arn: arnOf("lb", "web-tg-green"), weight: 0 }],
        stickiness: { enabled: false, duration: 1 },
      },
    }]);
  });

  it("sends a request to a color's fleet only with the preview header carrying the stack's secret key, at fixed priorities", async () => {
    expect(PREVIEW_HEADER).toBe("X-Django-Tiers-Preview");
    const key = await unwrap(web.previewKey);
    expect(await pulumi.isSecret(web.previewKey)).toBe(true);
    expect(named(engine.resources, "web-preview-key").inputs).toMatchObject({ length: 40, special: false, upper: false });
    for (const [color, priority] of [["blue", 10], ["green", 20]] as const) {
      const rule = named(engine.resources, `web-preview-${color}`);
      expect(rule.inputs).toMatchObject({
        listenerArn: arnOf("lb", "web-https"),
        priority,
        actions: [{ type: "forward", targetGroupArn: arnOf("lb", `web-tg-${color}`) }],
      });
      // The value a visitor would need is a Pulumi secret, and the bare color header picks nothing.
      expect(rule.inputs.conditions).toBeInstanceOf(SecretValue);
      expect(reveal(rule.inputs.conditions)).toEqual([{ httpHeader: { httpHeaderName: "X-Django-Tiers-Preview", values: [`${color}.${key}`] } }]);
      expect(JSON.stringify(reveal(rule.inputs.conditions))).not.toContain(COLOR_HEADER);
    }
  });

  it("exposes the ALB's and target groups' identifiers", async () => {
    expect(await unwrap(web.arn)).toBe(arnOf("lb", "web-lb"));
    expect(await unwrap(web.arnSuffix)).toBe("app/web-lb/50dc6c495c0c9188");
    expect(await unwrap(web.dnsName)).toBe("web-lb-1234567890.us-east-1.elb.amazonaws.com");
    expect(await unwrap(web.zoneId)).toBe("Z35SXDOTRQ7X7K");
    expect(await unwrap(web.securityGroupId)).toBe("web-sg-id");
    expect(await unwrap(web.httpsListenerArn)).toBe(arnOf("lb", "web-https"));
    expect(await unwrap(web.targetGroups.green.arn)).toBe(arnOf("lb", "web-tg-green"));
    expect(await unwrap(web.targetGroups.green.arnSuffix)).toBe("targetgroup/web-tg-green/943f017f100becff");
    expect(await unwrap(web.targetGroups.blue.name)).toBe("web-tg-blue");
    expect(Object.keys(web.nodes.ingressRules)).toEqual(["in-http", "in-http-v6", "in-https", "in-https-v6"]);
  });

  it("parents every child to the component", () => {
    const component = named(engine.resources, "web");
    expect(component.type).toBe("django-tiers:index:LoadBalancer");
    const children = engine.resources.filter((r) => r.name.startsWith("web-"));
    expect(children.length).toBe(14);
    for (const child of children) expect(child.parent).toBe(component.urn);
  });

  it("passes the ALB, security-group and ACM checks in prod", () => {
    const result = statuses(planOf(["web", "cert"]));
    for (const id of [
      "alb-http-redirects-to-https", "alb-tls-policy", "alb-drop-invalid-headers", "alb-access-logs", "alb-deletion-protection",
      "alb-desync-mitigation", "alb-target-group-health-check", "alb-multi-az", "alb-deregistration-delay",
      "sg-no-world-admin-ports", "sg-world-only-web-on-edge", "sg-no-all-ports-from-cidr", "sg-descriptions",
      "acm-dns-validation", "acm-create-before-destroy",
    ]) expect([id, result[id]]).toEqual([id, "pass"]);
    // Fleets are another component's; nothing here is silently skipped either.
    expect(result["asg-elb-health-check"]).toBe("not-applicable");
    expect(result["cloudflare-origin-locked"]).toBe("not-applicable");
  });

  it("would fail cloudflare-origin-locked behind Cloudflare's proxy (the world reaches it directly)", () => {
    expect(statuses(planOf(["web", "site"]))["cloudflare-origin-locked"]).toBe("fail");
  });
});

describe("LoadBalancer behind CloudFront", () => {
  it("admits HTTPS only from CloudFront's origin-facing prefix list", () => {
    expect(ingressOf("cf")).toEqual([["cf-in-https-cloudfront", 443, 443, PREFIX_LIST_ID]]);
    expect(invokes.filter((i) => i.token === "aws:ec2/getManagedPrefixList:getManagedPrefixList").map((i) => i.inputs.name)).toEqual([
      "com.amazonaws.global.cloudfront.origin-facing",
    ]);
  });

  it("forwards 90/10, keeps the given idle timeout and has no deletion protection", () => {
    const forward = (named(engine.resources, "cf-https").inputs.defaultActions as any[])[0].forward;
    expect(forward.targetGroups).toEqual([{ arn: arnOf("lb", "cf-tg-blue"), weight: 90 }, { arn: arnOf("lb", "cf-tg-green"), weight: 10 }]);
    expect(named(engine.resources, "cf-lb").inputs).toMatchObject({ enableDeletionProtection: false, idleTimeout: 30 });
  });

  it("fails deletion protection in prod and passes everything else that applies", () => {
    const prod = statuses(planOf(["cf"]));
    expect(prod["alb-deletion-protection"]).toBe("fail");
    for (const id of ["alb-http-redirects-to-https", "alb-tls-policy", "alb-access-logs", "sg-world-only-web-on-edge", "sg-descriptions"])
      expect([id, prod[id]]).toEqual([id, "pass"]);
    expect(statuses(planOf(["cf"], "staging"))["alb-deletion-protection"]).toBe("not-applicable");
  });
});

describe("LoadBalancer behind Cloudflare", () => {
  it("admits HTTPS only from Cloudflare's ranges, one rule per range named by the range", () => {
    const rules = ingressOf("flare");
    expect(rules).toEqual(CLOUDFLARE_RANGES.map((cidr) => [`flare-in-https-cloudflare-${cidrLabel(cidr)}`, 443, 443, cidr]));
    expect(named(engine.resources, "flare-in-https-cloudflare-2400-cb00---32").inputs).toMatchObject({ cidrIpv6: "2400:cb00::/32" });
    expect(named(engine.resources, "flare-in-https-cloudflare-173-245-48-0-20").inputs).toMatchObject({ cidrIpv4: "173.245.48.0/20" });
  });

  it("targets the given port, in the target groups and the egress rule", () => {
    expect(named(engine.resources, "flare-tg-green").inputs).toMatchObject({ port: 8080, deregistrationDelay: 65 });
    expect(named(engine.resources, "flare-out-targets").inputs).toMatchObject({ fromPort: 8080, toPort: 8080, cidrIpv4: "10.0.0.0/16" });
    const forward = (named(engine.resources, "flare-https").inputs.defaultActions as any[])[0].forward;
    expect(forward.targetGroups.map((t: any) => t.weight)).toEqual([10, 90]);
  });

  it("passes cloudflare-origin-locked and the security-group checks", () => {
    const result = statuses(planOf(["flare", "site"], "staging"));
    for (const id of ["cloudflare-origin-locked", "sg-world-only-web-on-edge", "sg-descriptions", "alb-tls-policy", "alb-deregistration-delay"])
      expect([id, result[id]]).toEqual([id, "pass"]);
  });
});

describe("LoadBalancer refuses bad input before declaring anything", () => {
  const attempts: [string, Partial<LoadBalancerArgs>, RegExp][] = [
    ["bad-sum", { weights: { blue: 60, green: 30 } }, /weights must be whole numbers from 0 to 100 that sum to 100 \(got blue 60, green 30\)/],
    ["bad-fraction", { weights: { blue: 50.5, green: 49.5 } }, /weights must be whole numbers/],
    ["bad-range", { weights: { blue: 110, green: -10 } }, /weights must be whole numbers/],
    ["bad-subnets", { subnetIds: ["subnet-public-a"] }, /subnetIds must name at least two public subnets .*\(got 1\)/],
    ["bad-prefix", { accessLogs: { bucket: "logs", prefix: "alb/" } }, /accessLogs.prefix must be/],
    ["bad-delay", { targets: { deregistrationDelaySeconds: 5000 } }, /targets.deregistrationDelaySeconds must be/],
    ["bad-restrict", { restrictTo: "akamai" as never }, /restrictTo must be "cloudfront", "cloudflare" or unset/],
  ];
  it.each(attempts)("%s", (name, over, message) => {
    expect(() => new LoadBalancer(name, base(over))).toThrow(message);
  });

  it("declared no child for a refused input", async () => {
    await engine.finish();
    expect(engine.resources.filter((r) => r.name.startsWith("bad-") && !r.isComponent)).toEqual([]);
  });
});

describe("albLogDeliveryStatement", () => {
  it("grants the ELB log-delivery service everywhere, and the regional ELB account in older regions, under the prefix only", () => {
    const bucket = "arn:aws:s3:::logs-bucket";
    expect(albLogDeliveryStatement(bucket, "alb", "123456789012", "eu-west-1")).toEqual([
      {
        Sid: "AlbLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: "arn:aws:s3:::logs-bucket/alb/AWSLogs/123456789012/*",
      },
      {
        Sid: "AlbLogDeliveryRegionalAccount",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::156460612806:root" },
        Action: "s3:PutObject",
        Resource: "arn:aws:s3:::logs-bucket/alb/AWSLogs/123456789012/*",
      },
    ]);
    // A region opened after August 2022 (Zurich) only knows the service principal.
    expect(albLogDeliveryStatement(bucket, "alb", "123456789012", "eu-central-2").map((s) => s.Principal)).toEqual([
      { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
    ]);
    expect(albLogDeliveryStatement("arn:aws-us-gov:s3:::logs", "x", "1", "us-gov-west-1")[1].Principal).toEqual({ AWS: "arn:aws-us-gov:iam::048591011584:root" });
  });
});

describe("Certificate", () => {
  it("asks ACM for a DNS-validated RSA certificate, primary name first, created before the old one is destroyed", () => {
    const c = named(engine.resources, "cert-certificate");
    expect(c.inputs).toMatchObject({
      domainName: "shop.example.com",
      subjectAlternativeNames: ["www.shop.example.com", "*.shop.example.com"],
      validationMethod: "DNS",
      keyAlgorithm: "RSA_2048",
    });
    expect(c.options.deleteBeforeReplace).toBe(false);
    expect(c.options.provider).toBe("");
  });

  it("writes one Cloudflare record per name to prove, named by the name, unproxied, 60 s", () => {
    const records = engine.resources.filter((r) => r.name.startsWith("cert-validation-") && r.type === "cloudflare:index/dnsRecord:DnsRecord");
    // The wildcard shares its base name's record (ACM asks for the same one).
    expect(records.map((r) => r.name)).toEqual(["cert-validation-shop.example.com", "cert-validation-www.shop.example.com"]);
    expect(named(engine.resources, "cert-validation-www.shop.example.com").inputs).toMatchObject({
      zoneId: "zone-1",
      name: "_a1b2.www.shop.example.com",
      type: "CNAME",
      content: "_c3d4.www.shop.example.com.acm-validations.aws",
      proxied: false,
      ttl: 60,
    });
    expect(validationKey("*.shop.example.com")).toBe("shop.example.com");
  });

  it("waits for validation through those records and exposes the validated ARN", async () => {
    expect(named(engine.resources, "cert-validation").inputs).toMatchObject({
      certificateArn: arnOf("acm", "cert-certificate"),
      validationRecordFqdns: ["_a1b2.shop.example.com", "_a1b2.www.shop.example.com"],
    });
    expect(await unwrap(cert.arn)).toBe(arnOf("acm", "cert-certificate"));
    expect(cert.domains).toEqual(["shop.example.com", "www.shop.example.com", "*.shop.example.com"]);
  });

  it("uses the given AWS provider for the certificate and its validation only", () => {
    const provider = named(engine.resources, "use1");
    expect(provider.isProvider).toBe(true);
    for (const n of ["edge-cert-certificate", "edge-cert-validation"]) {
      expect(named(engine.resources, n).options.provider).toMatch(/::use1::use1-id$/);
    }
    expect(named(engine.resources, "edge-cert-certificate").inputs.keyAlgorithm).toBe("EC_prime256v1");
    expect(named(engine.resources, "edge-cert-validation-shop.example.com").options.provider).not.toMatch(/use1/);
    expect(edgeCert.nodes.records["shop.example.com"]).toBeDefined();
  });

  it("refuses an empty, malformed or repeated domain list before declaring anything", async () => {
    expect(() => new Certificate("bad-empty", { domains: [], zoneId: "z" })).toThrow(/domains must list at least one host name/);
    expect(() => new Certificate("bad-upper", { domains: ["Shop.Example.com"], zoneId: "z" })).toThrow(/domains must be lowercase host names .*"Shop.Example.com"/);
    expect(() => new Certificate("bad-url", { domains: ["https://shop.example.com"], zoneId: "z" })).toThrow(/domains must be lowercase host names/);
    expect(() => new Certificate("bad-repeat", { domains: ["a.example.com", "a.example.com"], zoneId: "z" })).toThrow(/must not repeat a name \(repeated: a.example.com\)/);
    expect(() => new Certificate("bad-long", { domains: [`${"a".repeat(60)}.example.com`], zoneId: "z" })).toThrow(/domains\[0\] \(the primary name\) must be at most 64 characters/);
    await engine.finish();
    expect(engine.resources.filter((r) => r.name.startsWith("bad-") && !r.isComponent)).toEqual([]);
  });

  it("passes the ACM checks", () => {
    const result = statuses(planOf(["cert", "edge-cert"]));
    expect(result["acm-dns-validation"]).toBe("pass");
    expect(result["acm-create-before-destroy"]).toBe("pass");
  });
});
