import { T } from "../../../policies/resource-types";
import { add, arn, cloudflarePlan, editFile, find, id, loadBalancedPlan, remove, res, set, urnOf } from "../fixtures";
import { adding, type CaseTable, mutating, setOn, variant } from "./harness";

const lb = loadBalancedPlan;
const cf = cloudflarePlan;

export const ALB_CASES: CaseTable = {
  "alb-http-redirects-to-https": {
    fails: [
      { name: "HTTP forwards to the app", base: lb, breakIt: setOn("alb-http", "defaultActions", [{ type: "forward", targetGroupArn: arn("elasticloadbalancing", "tg-blue") }]) },
      { name: "302 instead of 301", base: lb, breakIt: setOn("alb-http", "defaultActions.0.redirect.statusCode", "HTTP_302") },
    ],
  },
  "alb-tls-policy": {
    fails: [
      { name: "default TLS 1.0 policy", base: lb, breakIt: setOn("alb-https", "sslPolicy", "ELBSecurityPolicy-2016-08"), message: /ELBSecurityPolicy-2016-08/ },
      { name: "no sslPolicy", base: lb, breakIt: setOn("alb-https", "sslPolicy", undefined) },
      { name: "no HTTPS listener at all", base: lb, breakIt: (p) => (remove(p, "alb-https"), urnOf(p, "alb")), message: /no HTTPS listener/ },
    ],
    passes: [{ name: "a TLS 1.3 policy", plan: variant(lb, (p) => set(p, "alb-https", "sslPolicy", "ELBSecurityPolicy-TLS13-1-3-2021-06")) }],
  },
  "alb-drop-invalid-headers": { fails: [{ name: "kept", base: lb, breakIt: setOn("alb", "dropInvalidHeaderFields", false) }] },
  "alb-access-logs": { fails: [{ name: "disabled", base: lb, breakIt: setOn("alb", "accessLogs.enabled", false) }] },
  "alb-deletion-protection": {
    fails: [{ name: "off in prod", base: lb, breakIt: setOn("alb", "enableDeletionProtection", false) }],
    notApplicable: [{ name: "dev", plan: variant(lb, (p) => (p.environment = "dev")), reason: /prod only; this is a dev stack/ }],
  },
  "alb-desync-mitigation": {
    fails: [{ name: "monitor", base: lb, breakIt: setOn("alb", "desyncMitigationMode", "monitor") }],
    passes: [{ name: "unset (service default defensive)", plan: variant(lb, (p) => set(p, "alb", "desyncMitigationMode", undefined)) }],
  },
  "alb-target-group-health-check": {
    fails: [
      { name: "health check on /", base: lb, breakIt: setOn("tg-blue", "healthCheck.path", "/"), message: /"\/"/ },
      { name: "matcher 200-399", base: lb, breakIt: setOn("tg-green", "healthCheck.matcher", "200-399") },
    ],
  },
  "asg-elb-health-check": {
    fails: [
      { name: "EC2 health checks", base: lb, breakIt: setOn("fleet-blue", "healthCheckType", "EC2") },
      { name: "no grace period", base: lb, breakIt: setOn("fleet-green", "healthCheckGracePeriod", undefined) },
    ],
  },
  "alb-multi-az": {
    fails: [
      { name: "ALB in one subnet", base: lb, breakIt: setOn("alb", "subnets", [id("net-public-a")]) },
      { name: "fleet in one AZ", base: lb, breakIt: setOn("fleet-blue", "vpcZoneIdentifiers", [id("net-private-a")]), message: /1 availability zone/ },
    ],
  },
  "asg-min-size": {
    fails: [
      { name: "live fleet of one", base: lb, breakIt: setOn("fleet-blue", "minSize", 1) },
      {
        name: "green promoted while scaled to zero",
        base: lb,
        breakIt: mutating("fleet-green", (p) => set(p, "alb-https", "defaultActions", [{ type: "forward", targetGroupArn: arn("elasticloadbalancing", "tg-green") }])),
      },
    ],
    notApplicable: [{ name: "staging", plan: variant(lb, (p) => (p.environment = "staging")), reason: /prod only/ }],
  },
  "alb-deregistration-delay": {
    fails: [
      { name: "10 s delay", base: lb, breakIt: setOn("tg-blue", "deregistrationDelay", 10), message: /below gunicorn graceful_timeout 30s/ },
      {
        name: "gunicorn graceful timeout raised above the delay",
        base: lb,
        breakIt: (p) => (editFile(p, "gunicorn.conf.py", (c) => c.replace("graceful_timeout = 30", "graceful_timeout = 120")), urnOf(p, "tg-green")),
        message: /120s/,
      },
    ],
  },
  "previews-private": {
    fails: [
      {
        name: "the color header alone picks the idle fleet",
        base: lb,
        breakIt: setOn("alb-preview-green", "conditions", [{ httpHeader: { httpHeaderName: "X-Django-Tiers-Color", values: ["green"] } }]),
        message: /routes by X-Django-Tiers-Color with a value anyone can send/,
      },
      {
        name: "CloudFront passes every viewer header (Managed-AllViewer)",
        base: lb,
        breakIt: setOn("cdn", "defaultCacheBehavior.originRequestPolicyId", "216adef6-5c7f-47e4-b989-5492eafa07d3"),
        message: /the default behavior passes X-Django-Tiers-Color to the origin/,
      },
      {
        name: "CloudFront's own policy leaves the color header in",
        base: lb,
        breakIt: mutating("cdn", (p) => {
          add(p, res(T.originRequestPolicy[0], "cdn-origin-request", { headersConfig: { headerBehavior: "allExcept", headers: { items: ["X-Other"] } } }));
          set(p, "cdn", "defaultCacheBehavior.originRequestPolicyId", id("cdn-origin-request"));
        }),
        message: /passes every viewer header but x-other/,
      },
    ],
    passes: [
      {
        name: "CloudFront drops the color header and passes the rest",
        plan: variant(lb, (p) => {
          add(p, res(T.originRequestPolicy[0], "cdn-origin-request", { headersConfig: { headerBehavior: "allExcept", headers: { items: ["X-Django-Tiers-Color"] } } }));
          set(p, "cdn", "defaultCacheBehavior.originRequestPolicyId", id("cdn-origin-request"));
        }),
      },
    ],
  },
};

export const CDN_CASES: CaseTable = {
  "cloudfront-viewer-https": {
    fails: [{ name: "allow-all on /media/*", base: lb, breakIt: setOn("cdn", "orderedCacheBehaviors.0.viewerProtocolPolicy", "allow-all"), message: /media/ }],
  },
  "cloudfront-tls": {
    fails: [
      { name: "TLSv1 minimum", base: lb, breakIt: setOn("cdn", "viewerCertificate.minimumProtocolVersion", "TLSv1") },
      { name: "certificate outside us-east-1", base: lb, breakIt: (p) => (set(p, "cdn-cert", "region", "eu-west-1"), urnOf(p, "cdn")), message: /eu-west-1/ },
      { name: "default CloudFront certificate", base: lb, breakIt: setOn("cdn", "viewerCertificate", { cloudfrontDefaultCertificate: true }) },
    ],
    passes: [
      {
        name: "certificate in us-east-1 through its provider",
        plan: variant(lb, (p) => {
          const provider = res("pulumi:providers:aws", "us-east-1", { region: "us-east-1" });
          provider.isProvider = true;
          p.resources.push(provider);
          set(p, "cdn-cert", "region", undefined);
          find(p, "cdn-cert").options.provider = `${provider.urn}::us-east-1-provider-id`;
        }),
      },
    ],
  },
  "cloudfront-s3-origin-oac": {
    fails: [
      { name: "S3 origin without OAC", base: lb, breakIt: setOn("cdn", "origins.0.originAccessControlId", undefined) },
      { name: "OAC that does not sign", base: lb, breakIt: (p) => (set(p, "media-oac", "signingBehavior", "never"), urnOf(p, "cdn")), message: /signingBehavior/ },
    ],
  },
  "cloudfront-origin-https": {
    fails: [
      { name: "http-only origin", base: lb, breakIt: setOn("cdn", "origins.1.customOriginConfig.originProtocolPolicy", "http-only") },
      { name: "TLSv1 allowed to the origin", base: lb, breakIt: setOn("cdn", "origins.1.customOriginConfig.originSslProtocols", ["TLSv1", "TLSv1.2"]), message: /TLSv1\b/ },
    ],
  },
  "cloudfront-logging": {
    fails: [{ name: "no logging", base: lb, breakIt: setOn("cdn", "loggingConfig", undefined) }],
    passes: [
      {
        name: "logging v2 through a log delivery source",
        plan: variant(lb, (p) => {
          set(p, "cdn", "loggingConfig", undefined);
          p.resources.push(res(T.logDeliverySource[0], "cdn-log-source", { logType: "ACCESS_LOGS", resourceArn: arn("cloudfront", "cdn") }));
        }),
      },
    ],
  },
  "cloudfront-hsts": {
    fails: [
      { name: "policy without HSTS", base: lb, breakIt: (p) => (set(p, "security-headers", "securityHeadersConfig", {}), urnOf(p, "cdn")) },
      { name: "behavior without a policy", base: lb, breakIt: setOn("cdn", "orderedCacheBehaviors.0.responseHeadersPolicyId", undefined) },
    ],
  },
  "cloudfront-waf": { fails: [{ name: "no web ACL", base: lb, breakIt: setOn("cdn", "webAclId", undefined) }] },
  "cloudflare-ssl-strict": {
    fails: [
      { name: "Full (not strict)", base: cf, breakIt: setOn("zone-ssl", "value", "full"), message: /"full"/ },
      { name: "no ssl setting", base: cf, breakIt: (p) => (remove(p, "zone-ssl"), urnOf(p, "www")) },
    ],
  },
  "cloudflare-always-use-https": { fails: [{ name: "off", base: cf, breakIt: setOn("zone-always_use_https", "value", "off") }] },
  "cloudflare-min-tls": { fails: [{ name: "1.0", base: cf, breakIt: setOn("zone-min_tls_version", "value", "1.0") }] },
  "cloudflare-origin-locked": {
    fails: [
      {
        name: "origin open to the world",
        base: cf,
        breakIt: adding(res(T.ingressRule[0], "origin-world", { securityGroupId: id("origin-sg"), ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", description: "x" })),
      },
    ],
    notApplicable: [{ name: "DNS-only record", plan: variant(cf, (p) => set(p, "www", "proxied", false)), reason: /no proxied Cloudflare DNS record/ }],
  },
};
