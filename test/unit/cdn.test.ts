/**
 * The CDN add-on in both modes, and the bucket-policy statements it needs
 * from ObjectStorage: children's inputs captured under the mock engine and
 * asserted after `engine.finish()`, then the CDN and S3 policy checks run
 * over what was captured.
 */
import { installMockEngine } from "../../cli/mock-engine";
import { named, ofType, json, childrenOf } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  CLOUDFLARE_ORIGIN_RANGES,
  Cdn,
  MANAGED_POLICY,
  cloudFrontKmsStatement,
  cloudFrontReadStatement,
} from "../../components/cdn";
import { ObjectStorage } from "../../components/object-storage";
import { PrivateBucket } from "../../components/private-bucket";
import { runChecks } from "../../policies";
import { CDN_CHECKS, CLOUDFLARE_RANGES } from "../../policies/checks/cdn";
import { S3_CHECKS } from "../../policies/checks/s3";
import type { CheckResult, PlannedResource, PlanUnderTest, Relaxation } from "../../policies/types";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";
const ALB = "dt-alb-123456.eu-west-1.elb.amazonaws.com";
const BOX = "ec2-203-0-113-10.eu-west-1.compute.amazonaws.com";
const CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d";
const LOGS = "cdn-logs.s3.amazonaws.com";

let site: Cdn;
let box: Cdn;
let shared: Cdn;
let proxy: Cdn;

beforeAll(async () => {
  // What the stack does: the certificate in us-east-1, the buckets first, their policies granted to the distribution once it exists.
  const cert = new aws.acm.Certificate("site-cert", { domainName: "shop.example.com", subjectAlternativeNames: ["www.shop.example.com"], validationMethod: "DNS", region: "us-east-1" });
  let settle!: (arn: pulumi.Output<string>) => void;
  const distributionArn = pulumi.output(new Promise<pulumi.Output<string>>((resolve) => (settle = resolve)));
  const files = new ObjectStorage("files", {
    kmsKeyArn: KEY,
    accessLogsBucket: "logs-bucket",
    extraPolicyStatements: (bucketArn) => distributionArn.apply((arn) => [cloudFrontReadStatement(bucketArn, arn)]),
  });
  site = new Cdn("site", {
    mode: "cloudfront",
    domains: ["shop.example.com", "www.shop.example.com"],
    origin: { domainName: ALB },
    certificateArn: cert.arn,
    buckets: {
      static: { regionalDomainName: files.nodes.static.bucket.bucketRegionalDomainName },
      media: { regionalDomainName: files.nodes.media.bucket.bucketRegionalDomainName },
    },
    logsBucketDomainName: LOGS,
  });
  settle(site.distributionArn!);

  box = new Cdn("box", {
    mode: "cloudfront",
    domains: ["blog.example.org"],
    origin: { domainName: BOX },
    certificateArn: CERT,
    logsBucketDomainName: LOGS,
    logsPrefix: "blog/",
    priceClass: "PriceClass_All",
    waf: "none",
    originReadTimeoutSeconds: 45,
  });
  shared = new Cdn("shared", {
    mode: "cloudfront",
    domains: ["api.example.org"],
    origin: { domainName: ALB },
    certificateArn: CERT,
    logsBucketDomainName: LOGS,
    waf: { webAclArn: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/abc" },
    transform: { distribution: (a) => ({ ...a, comment: "shared edge" }) },
  });
  new Cdn("multi", {
    mode: "cloudfront",
    domains: ["shop.example.com", "blog.example.com"],
    origin: { domainName: ALB },
    certificateArn: CERT,
    buckets: {
      static: { regionalDomainName: "s.s3.us-east-1.amazonaws.com", pathPatterns: ["/static/*", "/apps/blog/static/*"] },
      media: { regionalDomainName: "m.s3.us-east-1.amazonaws.com", pathPatterns: ["/media/*", "/apps/blog/media/*"] },
    },
    logsBucketDomainName: LOGS,
  });
  proxy = new Cdn("proxy", { mode: "cloudflare", domains: ["shop.example.net", "www.shop.example.net"], origin: { domainName: ALB }, zoneId: "zone-1" });
  await engine.finish();
});

/** The captured resources of the components named (their children and grandchildren), as a plan for the checks. */
function planOf(prefixes: string[], relaxations: Relaxation[] = []): PlanUnderTest {
  const resources: PlannedResource[] = engine.resources.filter((r) => prefixes.some((p) => r.name === p || r.name.startsWith(`${p}-`)));
  return { tier: "load-balanced", environment: "prod", resources, serverFiles: {}, relaxations };
}

const statusById = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.id, r.status]));
const failures = (results: CheckResult[]) => results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => f.message).join("; ")}`);
const distribution = (name: string) => named(engine.resources, `${name}-distribution`).inputs as Record<string, any>;

describe("Cdn (cloudfront) in front of the ALB and the file buckets", () => {
  it("serves the domains with the us-east-1 certificate, TLS 1.2+, SNI, HTTP/3, IPv6 and the cheapest price class", () => {
    const d = distribution("site");
    expect(d.aliases).toEqual(["shop.example.com", "www.shop.example.com"]);
    expect(d.viewerCertificate).toEqual({ acmCertificateArn: "arn:aws:acm:us-east-1:123456789012:site-cert", sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" });
    expect(d).toMatchObject({ enabled: true, httpVersion: "http2and3", isIpv6Enabled: true, priceClass: "PriceClass_100" });
    expect(d.restrictions).toEqual({ geoRestriction: { restrictionType: "none" } });
  });

  it("reaches the ALB over HTTPS only (TLS 1.2) and the buckets through one always-signing SigV4 OAC", () => {
    const d = distribution("site");
    expect(d.origins).toEqual([
      {
        originId: "app",
        domainName: ALB,
        customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"], originReadTimeout: 60 },
      },
      { originId: "static", domainName: "files-static-bucket-bucket.s3.us-east-1.amazonaws.com", originAccessControlId: "site-oac-id" },
      { originId: "media", domainName: "files-media-bucket-bucket.s3.us-east-1.amazonaws.com", originAccessControlId: "site-oac-id" },
    ]);
    expect(named(engine.resources, "site-oac").inputs).toMatchObject({ originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" });
  });

  it("sends pages to Django uncached with the viewer's Host, and caches /static/* and /media/* from S3", () => {
    const d = distribution("site");
    expect(d.defaultCacheBehavior).toEqual({
      targetOriginId: "app",
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      cachePolicyId: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
      originRequestPolicyId: "site-origin-request-id",
      responseHeadersPolicyId: "site-headers-id",
    });
    // Every viewer header (Host included) but the bare color header, which no visitor may bring to the servers.
    expect(named(engine.resources, "site-origin-request").inputs).toMatchObject({
      headersConfig: { headerBehavior: "allExcept", headers: { items: ["X-Django-Tiers-Color"] } },
      cookiesConfig: { cookieBehavior: "all" },
      queryStringsConfig: { queryStringBehavior: "all" },
    });
    const files = (role: string) => ({
      pathPattern: `/${role}/*`,
      targetOriginId: role,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD", "OPTIONS"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      cachePolicyId: MANAGED_POLICY.cachingOptimized,
      responseHeadersPolicyId: "site-files-headers-id",
    });
    expect(d.orderedCacheBehaviors).toEqual([files("static"), files("media")]);
    expect(MANAGED_POLICY.cachingOptimized).toBe("658327ea-f89d-4fab-a63d-7e88639e58f6");
  });

  it("adds HSTS for a year with subdomains to every response, and logs to the log bucket", () => {
    expect(named(engine.resources, "site-headers").inputs.securityHeadersConfig).toMatchObject({
      strictTransportSecurity: { accessControlMaxAgeSec: 31536000, includeSubdomains: true, override: true },
      contentTypeOptions: { override: true },
    });
    expect(distribution("site").loggingConfig).toEqual({ bucket: LOGS, prefix: "cloudfront/", includeCookies: false });
  });

  it("answers CORS on files (not pages) for its own domains only, with the same security headers", () => {
    const files = named(engine.resources, "site-files-headers").inputs as Record<string, any>;
    expect(files.securityHeadersConfig).toEqual(named(engine.resources, "site-headers").inputs.securityHeadersConfig);
    expect(files.corsConfig).toEqual({
      accessControlAllowOrigins: { items: ["https://shop.example.com", "https://www.shop.example.com"] },
      accessControlAllowMethods: { items: ["GET", "HEAD"] },
      accessControlAllowHeaders: { items: ["*"] },
      accessControlAllowCredentials: false,
      accessControlMaxAgeSec: 86400,
      originOverride: true,
    });
    expect(named(engine.resources, "site-headers").inputs).not.toHaveProperty("corsConfig");
    // No buckets, no file behaviors: no files policy.
    expect(engine.resources.filter((r) => r.name === "box-files-headers")).toEqual([]);
  });

  it("serves each bucket at the paths it is given (several apps' prefixes)", () => {
    const d = distribution("multi");
    expect(d.orderedCacheBehaviors.map((b: any) => [b.pathPattern, b.targetOriginId, b.responseHeadersPolicyId])).toEqual([
      ["/static/*", "static", "multi-files-headers-id"],
      ["/apps/blog/static/*", "static", "multi-files-headers-id"],
      ["/media/*", "media", "multi-files-headers-id"],
      ["/apps/blog/media/*", "media", "multi-files-headers-id"],
    ]);
  });

  it("attaches a us-east-1 CLOUDFRONT web ACL with AWS's managed rules and a per-IP rate limit", () => {
    const acl = named(engine.resources, "site-waf").inputs as Record<string, any>;
    expect(acl).toMatchObject({ scope: "CLOUDFRONT", region: "us-east-1", defaultAction: { allow: {} } });
    expect(acl.rules.map((r: any) => [r.priority, r.name])).toEqual([
      [0, "AWSManagedRulesAmazonIpReputationList"],
      [1, "AWSManagedRulesCommonRuleSet"],
      [2, "AWSManagedRulesKnownBadInputsRuleSet"],
      [3, "rate-limit-per-ip"],
    ]);
    expect(acl.rules[1].statement.managedRuleGroupStatement.ruleActionOverrides).toEqual([{ name: "SizeRestrictions_BODY", actionToUse: { count: {} } }]);
    expect(acl.rules[3]).toMatchObject({ action: { block: {} }, statement: { rateBasedStatement: { limit: 2000, aggregateKeyType: "IP" } } });
    expect(distribution("site").webAclId).toBe("arn:aws:wafv2:us-east-1:123456789012:site-waf");
    expect(site.relaxations).toEqual([]);
  });

  it("exports the distribution's name, zone, id and ARN", async () => {
    const outputs = await new Promise<string[]>((resolve) =>
      pulumi.all([site.domainName!, site.hostedZoneId!, site.distributionId!, site.distributionArn!]).apply((v) => resolve(v)),
    );
    // The mock cloud's values for a distribution (cli/mock-engine.ts).
    expect(outputs).toEqual(["d111111abcdef8.cloudfront.net", "Z2FDTNDATAQYW2", "site-distribution-id", "arn:aws:cloudfront::123456789012:distribution/site-distribution"]);
  });

  it("grants the distribution (and only it) reads on both buckets, after the TLS-only deny", () => {
    for (const b of ["files-static", "files-media"]) {
      const policy = json(named(engine.resources, `${b}-policy`).inputs.policy);
      expect(policy.Statement).toEqual([
        expect.objectContaining({ Sid: "DenyInsecureTransport", Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        {
          Sid: "CloudFrontReadsThroughOac",
          Effect: "Allow",
          Principal: { Service: "cloudfront.amazonaws.com" },
          Action: "s3:GetObject",
          Resource: `arn:aws:s3:us-east-1:123456789012:${b}-bucket/*`,
          Condition: { StringEquals: { "AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/site-distribution" } },
        },
      ]);
    }
  });

  it("passes every CDN and S3 check with nothing relaxed", () => {
    const results = runChecks(planOf(["site", "files"]), [...CDN_CHECKS, ...S3_CHECKS]);
    expect(failures(results)).toEqual([]);
    expect(statusById(results)).toEqual({
      "cloudfront-viewer-https": "pass",
      "cloudfront-tls": "pass",
      "cloudfront-s3-origin-oac": "pass",
      "cloudfront-origin-https": "pass",
      "cloudfront-logging": "pass",
      "cloudfront-hsts": "pass",
      "cloudfront-waf": "pass",
      "cloudflare-ssl-strict": "not-applicable",
      "cloudflare-always-use-https": "not-applicable",
      "cloudflare-min-tls": "not-applicable",
      "cloudflare-origin-locked": "not-applicable",
      "s3-public-access-block": "pass",
      "s3-acls-disabled": "pass",
      "s3-encryption": "pass",
      "s3-versioning": "pass",
      "s3-deny-insecure-transport": "pass",
      "s3-read-only-through-cloudfront": "pass",
      "s3-access-logs": "pass",
      "s3-lifecycle-abort-uploads": "pass",
    });
  });

  it("exports the KMS key-policy statement CloudFront needs to read KMS-encrypted files", () => {
    expect(cloudFrontKmsStatement("arn:aws:cloudfront::123456789012:distribution/E1")).toEqual({
      Sid: "CloudFrontDecryptsBucketObjects",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: { StringEquals: { "AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1" } },
    });
  });
});

describe("Cdn (cloudfront) in front of a single box", () => {
  it("has one origin (the box) and no buckets, OAC or file behaviors", () => {
    const d = distribution("box");
    expect(d.origins.map((o: any) => [o.originId, o.domainName, o.customOriginConfig?.originProtocolPolicy])).toEqual([["app", BOX, "https-only"]]);
    expect(d.orderedCacheBehaviors).toEqual([]);
    expect(engine.resources.some((r) => r.name === "box-oac")).toBe(false);
    expect(d).toMatchObject({ priceClass: "PriceClass_All", loggingConfig: { bucket: LOGS, prefix: "blog/" } });
    // The origin response timeout it was given (the site above keeps the default, 60).
    expect(d.origins[0].customOriginConfig.originReadTimeout).toBe(45);
  });

  it("without WAF, attaches none and names the relaxation the stack's plan must list", () => {
    expect(distribution("box").webAclId).toBeUndefined();
    expect(engine.resources.some((r) => r.name === "box-waf")).toBe(false);
    expect(box.relaxations).toEqual([{ check: "cloudfront-waf", setting: "cdn waf=none", reason: expect.stringMatching(/no WAF web ACL/) }]);
    const results = runChecks(planOf(["box"], box.relaxations), CDN_CHECKS);
    expect(failures(results)).toEqual([]);
    expect(statusById(results)).toMatchObject({ "cloudfront-waf": "relaxed", "cloudfront-s3-origin-oac": "not-applicable", "cloudfront-tls": "pass" });
    // Without the relaxation, the same plan fails the WAF check: the relaxation is what lets it through.
    expect(statusById(runChecks(planOf(["box"]), CDN_CHECKS))["cloudfront-waf"]).toBe("fail");
  });

  it("attaches a web ACL it is given, creating none, and applies the distribution transform", () => {
    expect(distribution("shared")).toMatchObject({ webAclId: "arn:aws:wafv2:us-east-1:123456789012:global/webacl/shared/abc", comment: "shared edge" });
    expect(engine.resources.some((r) => r.name === "shared-waf")).toBe(false);
    expect(shared.relaxations).toEqual([]);
    expect(failures(runChecks(planOf(["shared"]), CDN_CHECKS))).toEqual([]);
  });
});

describe("Cdn (cloudflare)", () => {
  it("proxies a CNAME per domain to the origin, TTL automatic", () => {
    const records = ofType(engine.resources, "cloudflare:index/dnsRecord:DnsRecord").filter((r) => r.name.startsWith("proxy-"));
    expect(records.map((r) => [r.name, r.inputs.name, r.inputs.type, r.inputs.content, r.inputs.proxied, r.inputs.ttl, r.inputs.zoneId])).toEqual([
      ["proxy-shop.example.net", "shop.example.net", "CNAME", ALB, true, 1, "zone-1"],
      ["proxy-www.shop.example.net", "www.shop.example.net", "CNAME", ALB, true, 1, "zone-1"],
    ]);
    expect(Object.keys(proxy.nodes.records)).toEqual(["shop.example.net", "www.shop.example.net"]);
  });

  it("sets the zone to Full (strict) TLS, Always Use HTTPS and TLS 1.2 minimum, and creates nothing on AWS", () => {
    const settings = ofType(engine.resources, "cloudflare:index/zoneSetting:ZoneSetting").filter((r) => r.name.startsWith("proxy-"));
    expect(settings.map((s) => [s.name, s.inputs.zoneId, s.inputs.settingId, s.inputs.value])).toEqual([
      ["proxy-ssl", "zone-1", "ssl", "strict"],
      ["proxy-always-use-https", "zone-1", "always_use_https", "on"],
      ["proxy-min-tls", "zone-1", "min_tls_version", "1.2"],
    ]);
    expect(engine.resources.filter((r) => r.name.startsWith("proxy-") && r.type.startsWith("aws:"))).toEqual([]);
    expect(proxy.distributionArn).toBeUndefined();
  });

  it("passes the Cloudflare checks", () => {
    const results = runChecks(planOf(["proxy"]), CDN_CHECKS);
    expect(failures(results)).toEqual([]);
    expect(statusById(results)).toMatchObject({
      "cloudflare-ssl-strict": "pass",
      "cloudflare-always-use-https": "pass",
      "cloudflare-min-tls": "pass",
      "cloudfront-waf": "not-applicable",
    });
  });

  it("exports Cloudflare's ranges for the origin's security group (the check's own list)", () => {
    expect(CLOUDFLARE_ORIGIN_RANGES).toBe(CLOUDFLARE_RANGES);
    expect(CLOUDFLARE_ORIGIN_RANGES).toContain("173.245.48.0/20");
  });
});

describe("Cdn input validation", () => {
  const base = { domains: ["shop.example.com"], origin: { domainName: ALB }, certificateArn: CERT, logsBucketDomainName: LOGS };
  it.each([
    ["mode", { ...base, mode: "fastly" }, /Cdn bad-mode: mode must be one of cloudfront, cloudflare \(got "fastly"\)/],
    ["domains (empty)", { ...base, mode: "cloudfront", domains: [] }, /Cdn bad-domains-empty: domains must list at least one domain/],
    ["domains (not a host)", { ...base, mode: "cloudfront", domains: ["https://shop.example.com"] }, /domains: "https:\/\/shop.example.com" is not a lower-case host name/],
    ["domains (twice)", { ...base, mode: "cloudflare", zoneId: "z", domains: ["a.example.com", "a.example.com"] }, /domains lists "a.example.com" twice/],
    ["priceClass", { ...base, mode: "cloudfront", priceClass: "PriceClass_300" }, /priceClass must be one of PriceClass_100, PriceClass_200, PriceClass_All \(got "PriceClass_300"\)/],
    ["certificateArn", { ...base, mode: "cloudfront", certificateArn: undefined }, /certificateArn is required in cloudfront mode/],
    ["logsBucketDomainName", { ...base, mode: "cloudfront", logsBucketDomainName: undefined }, /logsBucketDomainName is required in cloudfront mode .*BucketOwnerPreferred/],
    ["waf", { ...base, mode: "cloudfront", waf: "basic" }, /waf must be "managed", "none" or \{ webAclArn \}/],
    ["wafRateLimit", { ...base, mode: "cloudfront", wafRateLimit: 5 }, /wafRateLimit must be a whole number .* \(got 5\)/],
    ["zoneId", { ...base, mode: "cloudflare" }, /zoneId is required in cloudflare mode/],
    ["originReadTimeoutSeconds", { ...base, mode: "cloudfront", originReadTimeoutSeconds: 181 }, /originReadTimeoutSeconds must be a whole number from 1 to 180 .* \(got 181\)/],
    ["originReadTimeoutSeconds (fraction)", { ...base, mode: "cloudfront", originReadTimeoutSeconds: 30.5 }, /originReadTimeoutSeconds must be a whole number/],
    ["pathPatterns (no slash)", { ...base, mode: "cloudfront", buckets: { static: { regionalDomainName: "s", pathPatterns: ["static/*"] } } }, /buckets.static.pathPatterns: "static\/\*" is not a CloudFront path pattern like "\/static\/\*"/],
    ["pathPatterns (empty)", { ...base, mode: "cloudfront", buckets: { static: { regionalDomainName: "s", pathPatterns: [] } } }, /buckets.static.pathPatterns must list at least one path \(got \[\]\)/],
    ["pathPatterns (twice)", { ...base, mode: "cloudfront", buckets: { static: { regionalDomainName: "s", pathPatterns: ["/files/*"] }, media: { regionalDomainName: "m", pathPatterns: ["/files/*"] } } }, /the path pattern "\/files\/\*" is given twice/],
  ])("refuses a bad %s before declaring any child", async (label, args, message) => {
    const name = `bad-${label.replace(/[^a-zA-Z]+/g, "-").replace(/-$/, "")}`;
    expect(() => new Cdn(name, args as any)).toThrow(message);
    await engine.finish();
    expect(engine.resources.filter((r) => r.name.startsWith(`${name}-`))).toEqual([]);
  });

  it("a transform that weakens TLS is caught by the cloudfront-tls check", async () => {
    new Cdn("weak", { ...base, mode: "cloudfront", waf: "none", transform: { distribution: (a) => ({ ...a, viewerCertificate: { acmCertificateArn: CERT, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1" } }) } });
    await engine.finish();
    const tls = runChecks(planOf(["weak"]), CDN_CHECKS).find((r) => r.id === "cloudfront-tls")!;
    expect(tls.status).toBe("fail");
    expect(tls.findings.map((f) => f.message)).toEqual(['weak-distribution: viewerCertificate.minimumProtocolVersion is "TLSv1", not TLSv1.2_2021 or newer']);
  });
});

describe("PrivateBucket extraPolicyStatements", () => {
  beforeAll(async () => {
    new PrivateBucket("extra", { extraPolicyStatements: [{ Sid: "Extra", Effect: "Deny", Principal: "*", Action: "s3:DeleteBucket", Resource: "arn:aws:s3:::x" }] });
    await engine.finish();
  });

  it("appends a plain list after the TLS-only deny", () => {
    const policy = json(named(engine.resources, "extra-policy").inputs.policy);
    expect(policy.Statement.map((s: any) => s.Sid)).toEqual(["DenyInsecureTransport", "Extra"]);
    expect(policy.Statement[0]).toMatchObject({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const results = runChecks(planOf(["extra"]), S3_CHECKS);
    expect(statusById(results)["s3-deny-insecure-transport"]).toBe("pass");
  });
});

describe("Cdn children", () => {

  it("gives every Cdn child its component as parent", () => {
    const cdns = engine.resources.filter((r) => r.type === "django-tiers:index:Cdn");
    expect(cdns.filter((c) => !c.name.startsWith("bad-")).map((c) => c.name).sort()).toEqual(["box", "multi", "proxy", "shared", "site", "weak"]);
    for (const c of cdns) for (const child of childrenOf(engine.resources, c)) expect(child.name.startsWith(`${c.name}-`)).toBe(true);
    const cdnChildren = engine.resources.filter((r) => /^(site|box|shared|proxy|weak|multi)-/.test(r.name) && r.name !== "site-cert");
    expect(cdnChildren.length).toBe(26);
    const componentUrns = new Set(cdns.map((c) => c.urn));
    for (const r of cdnChildren) expect(componentUrns.has(r.parent)).toBe(true);
  });
});
