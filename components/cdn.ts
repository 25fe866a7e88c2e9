import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { CLOUDFLARE_RANGES } from "../policies/checks/cdn";
import type { Relaxation } from "../policies/types";
import { Component, Transform, stackTags } from "./component";
import { COLOR_HEADER } from "./load-balancer";

/** AWS's managed cache and origin request policies (the same ids in every account). */
export const MANAGED_POLICY = {
  /** Nothing cached: every request reaches Django. */
  cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
  /** Long TTLs, no cookies, headers or query strings in the key, gzip and brotli. */
  cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
} as const;

export const PRICE_CLASSES = ["PriceClass_100", "PriceClass_200", "PriceClass_All"] as const;
export type PriceClass = (typeof PRICE_CLASSES)[number];
export const CDN_MODES = ["cloudfront", "cloudflare"] as const;

/**
 * Cloudflare's published edge ranges. Behind the Cloudflare proxy, the
 * origin must admit 80/443 from these only, or anyone who finds its address
 * bypasses Cloudflare's TLS and WAF. The Cdn component does not create
 * security groups: the load-balanced tier gets this from the LoadBalancer's
 * `restrictTo: "cloudflare"`, the box tiers from the SingleBox's
 * `restrictTo: "cloudflare"` (the `cloudflare-origin-locked` check reads
 * the edge group's rules).
 */
export const CLOUDFLARE_ORIGIN_RANGES: readonly string[] = CLOUDFLARE_RANGES;

/** A bucket CloudFront reads through the origin access control. */
export interface CdnBucket {
  /** `bucketRegionalDomainName` of the bucket (e.g. `files-static-….s3.eu-west-1.amazonaws.com`). */
  regionalDomainName: pulumi.Input<string>;
  /**
   * The paths this bucket serves, each read from the key of the same name
   * (one cached behavior each). Several apps sharing the bucket add their
   * own prefixes (`appFileLocations` in server/paths.ts).
   * @default [`/<role>/*`] (`/static/*` for `static`, `/media/*` for `media`)
   * @example ["/static/*", "/apps/blog/static/*"]
   */
  pathPatterns?: string[];
}

export interface CdnArgs {
  /**
   * `cloudfront`: a CloudFront distribution in front of the site (dynamic
   * pages uncached, `/static/*` and `/media/*` from S3 at the edge).
   * `cloudflare`: Cloudflare's proxy (orange-cloud records) with Full
   * (strict) TLS. Changing it moves the domains' traffic to another edge.
   * @example "cloudfront"
   */
  mode: "cloudfront" | "cloudflare";
  /**
   * The site's domains: the distribution's aliases (covered by
   * `certificateArn`), or the proxied Cloudflare records.
   * @example ["shop.example.com", "www.shop.example.com"]
   */
  domains: string[];
  /**
   * The site's origin, reached over HTTPS only; its certificate must cover
   * the domains.
   * - `{ domainName }`: a DNS name, e.g. the ALB's (its ACM certificate).
   *   cloudflare: proxied CNAME records to it.
   * - `{ ipv4Address }`: cloudflare mode only, an address such as a single
   *   box's Elastic IP (with a Cloudflare Origin CA certificate, see
   *   OriginCertificate): proxied A records to it. CloudFront takes no IP
   *   origins.
   * Switching between the two replaces the records (their type changes).
   * @example { domainName: alb.dnsName }
   * @example { ipv4Address: box.publicIp }
   */
  origin: { domainName: pulumi.Input<string> } | { ipv4Address: pulumi.Input<string> };

  /**
   * cloudfront: ACM certificate for the domains. CloudFront reads
   * certificates only in us-east-1, so the stack creates it through a
   * us-east-1 provider. Required in cloudfront mode.
   */
  certificateArn?: pulumi.Input<string>;
  /**
   * cloudfront: the object-storage buckets. `static` serves `/static/*`,
   * `media` serves `/media/*`, both cached at the edge and read through one
   * origin access control; the stack must then grant the distribution reads
   * (`cloudFrontReadStatement`, and `cloudFrontKmsStatement` for a KMS key).
   * Without buckets every path goes to the origin, uncached. Files answer
   * CORS requests (GET, HEAD) from the distribution's own domains, so a page
   * on one of them can load fonts from another; no other origin is allowed.
   * @default none
   */
  buckets?: { static?: CdnBucket; media?: CdnBucket };
  /**
   * cloudfront: domain name of the bucket that receives CloudFront's
   * standard access logs (`bucketDomainName`, e.g. `logs-….s3.amazonaws.com`).
   * CloudFront writes them with an ACL grant to its log-delivery account, so
   * the bucket must have ACLs enabled (object ownership
   * `BucketOwnerPreferred`, not `BucketOwnerEnforced`) and SSE-S3 encryption
   * (not SSE-KMS). Required in cloudfront mode: logging is never silently off.
   */
  logsBucketDomainName?: pulumi.Input<string>;
  /**
   * cloudfront: what the distribution must wait for besides its inputs: the
   * logs bucket's ownership controls (CloudFront checks, when it is created
   * with logging, that the bucket has ACLs enabled, and refuses it if not).
   * @default []
   */
  waitFor?: pulumi.Input<pulumi.Resource>[];
  /**
   * cloudfront: seconds CloudFront waits for the origin's response (the
   * origin response timeout). At least the load balancer's idle timeout and
   * nginx's proxy_read_timeout, so the origin's own answer reaches the
   * viewer rather than CloudFront's 504. Above 60 only after AWS raises the
   * account's quota (180 at most).
   * @default 60
   * @example 45
   */
  originReadTimeoutSeconds?: number;
  /**
   * cloudfront: key prefix of the access logs in that bucket.
   * @default "cloudfront/"
   */
  logsPrefix?: string;
  /**
   * cloudfront: which edge locations serve the site. Cost-sensitive:
   * PriceClass_100 (North America, Europe, Israel) has the cheapest
   * per-GB rates; PriceClass_All adds every region at higher rates.
   * @default "PriceClass_100"
   */
  priceClass?: PriceClass;
  /**
   * cloudfront: the WAF web ACL.
   * - `"managed"` creates one in us-east-1 (where CloudFront's ACLs live):
   *   AWS's IP reputation list, the common rule set (with the 8 KB body
   *   limit counted, not blocked, so uploads and long forms work), known
   *   bad inputs, and a per-IP rate limit. Cost: about $5/month for the ACL
   *   plus $1/month per rule (4 rules, ~$9/month) and $0.60 per million requests.
   * - `{ webAclArn }` attaches an existing CLOUDFRONT-scope ACL (e.g. one
   *   shared by several stacks).
   * - `"none"` attaches nothing; the component then lists a relaxation of
   *   the `cloudfront-waf` check (`relaxations`) for the stack's plan.
   * @default "managed"
   */
  waf?: "managed" | "none" | { webAclArn: pulumi.Input<string> };
  /**
   * cloudfront, with `waf: "managed"`: requests one IP may make in any
   * 5 minutes before it is blocked (WAF's minimum is 10). Static and media
   * requests count too.
   * @default 2000
   */
  wafRateLimit?: number;

  /**
   * cloudflare: the zone of the domains. Required in cloudflare mode.
   * Caution: the zone settings this component sets (SSL Full (strict),
   * Always Use HTTPS, minimum TLS 1.2) apply to the whole zone, so every
   * other site in it must serve a valid certificate at its origin, and only
   * one Cdn per zone may manage them.
   */
  zoneId?: pulumi.Input<string>;

  transform?: {
    distribution?: Transform<aws.cloudfront.DistributionArgs>;
    originAccessControl?: Transform<aws.cloudfront.OriginAccessControlArgs>;
    responseHeadersPolicy?: Transform<aws.cloudfront.ResponseHeadersPolicyArgs>;
    /** The file behaviors' headers: the same security headers, and CORS for the domains. */
    filesResponseHeadersPolicy?: Transform<aws.cloudfront.ResponseHeadersPolicyArgs>;
    originRequestPolicy?: Transform<aws.cloudfront.OriginRequestPolicyArgs>;
    webAcl?: Transform<aws.wafv2.WebAclArgs>;
    record?: Transform<cloudflare.DnsRecordArgs>;
    zoneSetting?: Transform<cloudflare.ZoneSettingArgs>;
  };
}

const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;
const ONE_YEAR = 31536000;
/** CloudFront's path-pattern characters (DistributionConfig CacheBehavior PathPattern), led by a "/". */
const PATH_PATTERN = /^\/[A-Za-z0-9_\-.*$/~"'@:+]{0,254}$/;
const ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];
const FILE_METHODS = ["GET", "HEAD", "OPTIONS"];
const CACHED_METHODS = ["GET", "HEAD"];

/**
 * The bucket-policy statement that lets exactly this distribution (through
 * its origin access control) read the bucket's objects. Give it to
 * ObjectStorage's `extraPolicyStatements`.
 *
 * The distribution needs the buckets' domain names and the bucket policies
 * need the distribution's ARN: no cycle for the engine (buckets, then the
 * distribution, then the policies), but the stack declares ObjectStorage
 * first, so it hands over the ARN through a promise settled once the Cdn exists:
 * @example
 * let settle!: (arn: pulumi.Output<string>) => void;
 * const distributionArn = pulumi.output(new Promise<pulumi.Output<string>>((r) => (settle = r)));
 * const files = new ObjectStorage("files", { ...,
 *   extraPolicyStatements: (bucketArn) => distributionArn.apply((arn) => [cloudFrontReadStatement(bucketArn, arn)]) });
 * const cdn = new Cdn("cdn", { mode: "cloudfront", buckets: { static: ..., media: ... }, ... });
 * settle(cdn.distributionArn!);
 */
export function cloudFrontReadStatement(bucketArn: string, distributionArn: string): object {
  return {
    Sid: "CloudFrontReadsThroughOac",
    Effect: "Allow",
    Principal: { Service: "cloudfront.amazonaws.com" },
    Action: "s3:GetObject",
    Resource: `${bucketArn}/*`,
    Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
  };
}

/**
 * The key-policy statement that lets this distribution decrypt objects
 * encrypted with a customer-managed KMS key (the static and media buckets
 * use the stack key): without it CloudFront gets 403 from S3 for every file.
 */
export function cloudFrontKmsStatement(distributionArn: string): object {
  return {
    Sid: "CloudFrontDecryptsBucketObjects",
    Effect: "Allow",
    Principal: { Service: "cloudfront.amazonaws.com" },
    Action: "kms:Decrypt",
    Resource: "*",
    Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
  };
}

/** Refuses bad input before any child is declared, naming the arg and what it allows. */
function validate(name: string, args: CdnArgs): void {
  const bad = (msg: string) => new Error(`Cdn ${name}: ${msg}`);
  if (!(CDN_MODES as readonly string[]).includes(args.mode)) {
    throw bad(`mode must be one of ${CDN_MODES.join(", ")} (got ${JSON.stringify(args.mode)})`);
  }
  if (!Array.isArray(args.domains) || args.domains.length === 0) {
    throw bad("domains must list at least one domain (a CDN serves the site's own names)");
  }
  for (const d of args.domains) {
    if (typeof d !== "string" || !HOST.test(d)) throw bad(`domains: ${JSON.stringify(d)} is not a lower-case host name like "shop.example.com"`);
  }
  const dup = args.domains.find((d, i) => args.domains.indexOf(d) !== i);
  if (dup) throw bad(`domains lists "${dup}" twice`);
  const origin = (args.origin ?? {}) as Record<string, unknown>;
  const kinds = ["domainName", "ipv4Address"].filter((k) => origin[k] !== undefined);
  if (kinds.length !== 1) {
    throw bad(`origin must have exactly one of domainName (a DNS name) or ipv4Address (cloudflare only) (got ${kinds.length ? kinds.join(" and ") : "neither"})`);
  }
  if (typeof origin.ipv4Address === "string" && !IPV4.test(origin.ipv4Address)) {
    throw bad(`origin.ipv4Address ${JSON.stringify(origin.ipv4Address)} is not an IPv4 address like "203.0.113.10"`);
  }
  if (args.mode === "cloudfront") {
    if (kinds[0] === "ipv4Address") throw bad("origin.ipv4Address is for cloudflare mode only: CloudFront reaches origins by DNS name (give origin.domainName)");
    if (!args.certificateArn) throw bad("certificateArn is required in cloudfront mode (an ACM certificate in us-east-1 covering the domains)");
    if (!args.logsBucketDomainName) {
      throw bad("logsBucketDomainName is required in cloudfront mode (a bucket with ACLs enabled, BucketOwnerPreferred, for CloudFront's access logs)");
    }
    const readTimeout = args.originReadTimeoutSeconds ?? 60;
    if (!Number.isInteger(readTimeout) || readTimeout < 1 || readTimeout > 180) {
      throw bad(`originReadTimeoutSeconds must be a whole number from 1 to 180 (above 60 after a quota increase) (got ${readTimeout})`);
    }
    const priceClass = args.priceClass ?? "PriceClass_100";
    if (!(PRICE_CLASSES as readonly string[]).includes(priceClass)) {
      throw bad(`priceClass must be one of ${PRICE_CLASSES.join(", ")} (got ${JSON.stringify(priceClass)})`);
    }
    const waf = args.waf ?? "managed";
    if (typeof waf === "string" && waf !== "managed" && waf !== "none") {
      throw bad(`waf must be "managed", "none" or { webAclArn } (got ${JSON.stringify(waf)})`);
    }
    const limit = args.wafRateLimit ?? 2000;
    if (!Number.isInteger(limit) || limit < 10 || limit > 2_000_000_000) {
      throw bad(`wafRateLimit must be a whole number of requests per 5 minutes from 10 to 2000000000 (got ${limit})`);
    }
    for (const [role, bucket] of Object.entries(args.buckets ?? {})) {
      const patterns = bucket?.pathPatterns;
      if (patterns === undefined) continue;
      if (!Array.isArray(patterns) || patterns.length === 0) throw bad(`buckets.${role}.pathPatterns must list at least one path (got ${JSON.stringify(patterns)})`);
      for (const p of patterns) {
        if (typeof p !== "string" || !PATH_PATTERN.test(p)) {
          throw bad(`buckets.${role}.pathPatterns: ${JSON.stringify(p)} is not a CloudFront path pattern like "/static/*" (a leading "/", at most 255 of A-Z a-z 0-9 _-.*$/~"'@:+)`);
        }
      }
    }
    const allPatterns = Object.entries(args.buckets ?? {}).flatMap(([role, b]) => (b ? b.pathPatterns ?? [`/${role}/*`] : []));
    const twice = allPatterns.find((p, i) => allPatterns.indexOf(p) !== i);
    if (twice) throw bad(`buckets: the path pattern ${JSON.stringify(twice)} is given twice (each path goes to one bucket)`);
    if (args.logsPrefix !== undefined && !/^[A-Za-z0-9!_.*'()/-]*\/$/.test(args.logsPrefix)) {
      throw bad(`logsPrefix must be a key prefix ending in "/" (got ${JSON.stringify(args.logsPrefix)})`);
    }
  } else if (!args.zoneId) {
    throw bad("zoneId is required in cloudflare mode (the Cloudflare zone of the domains)");
  }
}

/**
 * The `cdn` add-on.
 *
 * cloudfront: a distribution whose default behavior sends everything to
 * the origin (ALB or box) over HTTPS, uncached, with the viewer's Host
 * header; `/static/*` and `/media/*` come from the buckets through an origin
 * access control and are cached. Viewers are redirected to HTTPS (TLS 1.2+,
 * HTTP/2 and 3, IPv6), every response carries HSTS, requests are logged and
 * filtered by WAF.
 *
 * cloudflare: proxied records for the domains (CNAME to an origin's DNS
 * name, A to its IPv4 address) and the zone set to Full (strict) TLS,
 * Always Use HTTPS and minimum TLS 1.2. The origin must admit only
 * Cloudflare (`CLOUDFLARE_ORIGIN_RANGES`): the load balancer's
 * `restrictTo: "cloudflare"`, the single box's `restrictTo: "cloudflare"`.
 */
export class Cdn extends Component {
  public readonly mode: "cloudfront" | "cloudflare";
  /** cloudfront: the distribution's `*.cloudfront.net` name (the domains' CNAME or alias target). */
  public readonly domainName?: pulumi.Output<string>;
  /** cloudfront: Route 53 zone id for alias records to the distribution. */
  public readonly hostedZoneId?: pulumi.Output<string>;
  /** cloudfront: the distribution's id (for invalidations). */
  public readonly distributionId?: pulumi.Output<string>;
  /** cloudfront: the distribution's ARN, for `cloudFrontReadStatement` and `cloudFrontKmsStatement`. */
  public readonly distributionArn?: pulumi.Output<string>;
  /** Checks this configuration deliberately does not satisfy, for the stack's plan (see `waf`). */
  public readonly relaxations: Relaxation[];
  public readonly nodes: {
    distribution?: aws.cloudfront.Distribution;
    originAccessControl?: aws.cloudfront.OriginAccessControl;
    responseHeadersPolicy?: aws.cloudfront.ResponseHeadersPolicy;
    /** With buckets: the file behaviors' headers (CORS for the domains). */
    filesResponseHeadersPolicy?: aws.cloudfront.ResponseHeadersPolicy;
    originRequestPolicy?: aws.cloudfront.OriginRequestPolicy;
    webAcl?: aws.wafv2.WebAcl;
    /** cloudflare: one record per domain, keyed by domain. */
    records: Record<string, cloudflare.DnsRecord>;
    /** cloudflare: the zone settings, keyed by setting id. */
    zoneSettings: Record<string, cloudflare.ZoneSetting>;
  };

  constructor(name: string, args: CdnArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Cdn", name, opts);
    validate(name, args);
    this.mode = args.mode;
    this.relaxations = [];
    this.nodes = { records: {}, zoneSettings: {} };

    if (args.mode === "cloudflare") {
      this.cloudflare(args);
      this.registerOutputs({});
      return;
    }

    const distribution = this.cloudfront(args);
    this.domainName = distribution.domainName;
    this.hostedZoneId = distribution.hostedZoneId;
    this.distributionId = distribution.id;
    this.distributionArn = distribution.arn;
    this.registerOutputs({
      domainName: this.domainName,
      hostedZoneId: this.hostedZoneId,
      distributionId: this.distributionId,
      distributionArn: this.distributionArn,
    });
  }

  private cloudfront(args: CdnArgs): aws.cloudfront.Distribution {
    const t = args.transform ?? {};
    const buckets = Object.entries(args.buckets ?? {}).filter((e): e is [string, CdnBucket] => e[1] !== undefined);

    const originAccessControl = buckets.length
      ? this.child(aws.cloudfront.OriginAccessControl, "oac", {
          description: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}: CloudFront reads the file buckets`,
          originAccessControlOriginType: "s3",
          // Always sign, so a bucket policy pinned to this distribution is the only way in.
          signingBehavior: "always",
          signingProtocol: "sigv4",
        }, t.originAccessControl)
      : undefined;

    const securityHeadersConfig: aws.types.input.cloudfront.ResponseHeadersPolicySecurityHeadersConfig = {
      // Overrides the origin's header so S3 files and Django pages say the same thing.
      strictTransportSecurity: { accessControlMaxAgeSec: ONE_YEAR, includeSubdomains: true, preload: false, override: true },
      contentTypeOptions: { override: true },
      // Django's own X-Frame-Options and Referrer-Policy win where it sets them.
      frameOptions: { frameOption: "DENY", override: false },
      referrerPolicy: { referrerPolicy: "same-origin", override: false },
    };
    const responseHeadersPolicy = this.child(aws.cloudfront.ResponseHeadersPolicy, "headers", {
      comment: "django-tiers: HSTS on every response, files included",
      securityHeadersConfig,
    }, t.responseHeadersPolicy);
    // Files only (Django's pages keep their own CORS, if any): a font is loaded in CORS mode, so a page on one
    // of the site's domains needs Access-Control-Allow-Origin to use a font served on another. CloudFront adds
    // it at the edge for the listed origins only, whatever was cached (S3's CORS would need the Origin header
    // in the cache key).
    const filesResponseHeadersPolicy = buckets.length
      ? this.child(aws.cloudfront.ResponseHeadersPolicy, "files-headers", {
          comment: "django-tiers: HSTS, and CORS reads from the site's own domains",
          securityHeadersConfig,
          corsConfig: {
            accessControlAllowOrigins: { items: args.domains.map((d) => `https://${d}`) },
            accessControlAllowMethods: { items: ["GET", "HEAD"] },
            accessControlAllowHeaders: { items: ["*"] },
            accessControlAllowCredentials: false,
            accessControlMaxAgeSec: 86400,
            originOverride: true,
          },
        }, t.filesResponseHeadersPolicy)
      : undefined;

    // Every viewer header but the bare color header (and every cookie and query string). The viewer's Host
    // goes on: CloudFront then validates the origin's certificate against that Host, which the ALB's
    // certificate covers, rather than against the origin's *.elb.amazonaws.com name; and Django sees the
    // real host for ALLOWED_HOSTS, redirects and absolute URLs. The color header picks nothing at the
    // ALB (a preview needs the stack's key), and a visitor's claim of a color never reaches the servers.
    const originRequest = this.child(aws.cloudfront.OriginRequestPolicy, "origin-request", {
      comment: `django-tiers: all viewer headers but ${COLOR_HEADER}, cookies and query strings`,
      headersConfig: { headerBehavior: "allExcept", headers: { items: [COLOR_HEADER] } },
      cookiesConfig: { cookieBehavior: "all" },
      queryStringsConfig: { queryStringBehavior: "all" },
    }, t.originRequestPolicy);

    const waf = args.waf ?? "managed";
    let webAclId: pulumi.Input<string> | undefined;
    let webAcl: aws.wafv2.WebAcl | undefined;
    if (waf === "managed") {
      webAcl = this.webAcl(args.wafRateLimit ?? 2000, t.webAcl);
      webAclId = webAcl.arn;
    } else if (waf === "none") {
      this.relaxations.push({
        check: "cloudfront-waf",
        setting: "cdn waf=none",
        reason: "no WAF web ACL in front of the site (saves about $9/month); exploit payloads and floods reach the origin unfiltered",
      });
    } else {
      webAclId = waf.webAclArn;
    }

    const fileBehavior = (pathPattern: string, targetOriginId: string): aws.types.input.cloudfront.DistributionOrderedCacheBehavior => ({
      pathPattern,
      targetOriginId,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: FILE_METHODS,
      cachedMethods: CACHED_METHODS,
      compress: true,
      cachePolicyId: MANAGED_POLICY.cachingOptimized,
      responseHeadersPolicyId: filesResponseHeadersPolicy!.id,
    });

    const distribution = this.child(aws.cloudfront.Distribution, "distribution", {
      enabled: true,
      comment: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}`,
      aliases: args.domains,
      priceClass: args.priceClass ?? "PriceClass_100",
      httpVersion: "http2and3",
      isIpv6Enabled: true,
      origins: [
        {
          originId: "app",
          // validate() refused an IPv4 origin in cloudfront mode.
          domainName: (args.origin as { domainName: pulumi.Input<string> }).domainName,
          customOriginConfig: {
            httpPort: 80,
            httpsPort: 443,
            originProtocolPolicy: "https-only",
            originSslProtocols: ["TLSv1.2"],
            // At least the origin's own timeouts, so its answer reaches the viewer, not a CloudFront 504.
            originReadTimeout: args.originReadTimeoutSeconds ?? 60,
          },
        },
        ...buckets.map(([role, bucket]) => ({
          originId: role,
          domainName: bucket.regionalDomainName,
          originAccessControlId: originAccessControl!.id,
        })),
      ],
      defaultCacheBehavior: {
        targetOriginId: "app",
        viewerProtocolPolicy: "redirect-to-https",
        allowedMethods: ALL_METHODS,
        cachedMethods: CACHED_METHODS,
        compress: true,
        // Pages are per user (sessions, CSRF): never cached at the edge.
        cachePolicyId: MANAGED_POLICY.cachingDisabled,
        originRequestPolicyId: originRequest.id,
        responseHeadersPolicyId: responseHeadersPolicy.id,
      },
      orderedCacheBehaviors: buckets.flatMap(([role, bucket]) => (bucket.pathPatterns ?? [`/${role}/*`]).map((p) => fileBehavior(p, role))),
      viewerCertificate: {
        acmCertificateArn: args.certificateArn,
        sslSupportMethod: "sni-only",
        minimumProtocolVersion: "TLSv1.2_2021",
      },
      loggingConfig: {
        bucket: args.logsBucketDomainName,
        prefix: args.logsPrefix ?? "cloudfront/",
        includeCookies: false,
      },
      webAclId,
      restrictions: { geoRestriction: { restrictionType: "none" } },
      tags: stackTags(),
    }, t.distribution, { dependsOn: args.waitFor ?? [] });

    Object.assign(this.nodes, { distribution, originAccessControl, responseHeadersPolicy, filesResponseHeadersPolicy, originRequestPolicy: originRequest, webAcl });
    return distribution;
  }

  /** A CLOUDFRONT-scope web ACL with AWS's baseline managed rules and a per-IP rate limit. */
  private webAcl(rateLimit: number, transform?: Transform<aws.wafv2.WebAclArgs>): aws.wafv2.WebAcl {
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });
    const managed = (
      ruleGroup: string,
      priority: number,
      ruleActionOverrides?: aws.types.input.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverride[],
    ): aws.types.input.wafv2.WebAclRule => ({
      name: ruleGroup,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: "AWS", name: ruleGroup, ruleActionOverrides } },
      visibilityConfig: visibility(ruleGroup),
    });
    return this.child(aws.wafv2.WebAcl, "waf", {
      description: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}: CloudFront`,
      scope: "CLOUDFRONT",
      // CloudFront's web ACLs live in us-east-1, whatever the stack's region.
      region: "us-east-1",
      defaultAction: { allow: {} },
      rules: [
        managed("AWSManagedRulesAmazonIpReputationList", 0),
        // Its SizeRestrictions_BODY blocks bodies over 8 KB, which breaks uploads and long admin forms: count only.
        managed("AWSManagedRulesCommonRuleSet", 1, [{ name: "SizeRestrictions_BODY", actionToUse: { count: {} } }]),
        managed("AWSManagedRulesKnownBadInputsRuleSet", 2),
        {
          name: "rate-limit-per-ip",
          priority: 3,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: rateLimit, aggregateKeyType: "IP" } },
          visibilityConfig: visibility("rate-limit-per-ip"),
        },
      ],
      visibilityConfig: visibility(`${this.name}-waf`),
      tags: stackTags(),
    }, transform);
  }

  private cloudflare(args: CdnArgs): void {
    const t = args.transform ?? {};
    const origin = args.origin;
    const { type, content } = "ipv4Address" in origin
      ? { type: "A", content: origin.ipv4Address }
      : { type: "CNAME", content: origin.domainName };
    for (const domain of args.domains) {
      this.nodes.records[domain] = this.child(cloudflare.DnsRecord, domain, {
        zoneId: args.zoneId!,
        name: domain,
        type,
        content,
        proxied: true,
        // 1 = automatic, the only TTL a proxied record takes.
        ttl: 1,
        comment: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}: proxied`,
      }, t.record);
    }
    // Zone-wide: Cloudflare validates the origin's certificate, redirects http:// and refuses TLS below 1.2.
    const settings: [string, string, string][] = [
      ["ssl", "ssl", "strict"],
      ["always-use-https", "always_use_https", "on"],
      ["min-tls", "min_tls_version", "1.2"],
    ];
    for (const [role, settingId, value] of settings) {
      this.nodes.zoneSettings[settingId] = this.child(cloudflare.ZoneSetting, role, { zoneId: args.zoneId!, settingId, value }, t.zoneSetting);
    }
  }
}
