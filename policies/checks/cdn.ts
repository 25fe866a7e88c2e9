/**
 * The `cdn` add-on: CloudFront in front of the ALB (or box) and the media
 * bucket, or Cloudflare's proxy. Cloudflare checks apply when some DNS
 * record is proxied (orange cloud); DNS-only records leave TLS to the origin.
 */
import { eachResource, finding, notApplicable, ofType, refersTo, resolve, roleOf } from "../plan-queries";
import { T } from "../resource-types";
import { coversPort, ingressRules, ruleFinding } from "../security-group-rules";
import type { Check, Finding, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings, field, plain, show } from "../values";

const NO_DISTRIBUTION = "no CloudFront distribution in this plan";

function distributionCheck(
  plan: PlanUnderTest,
  each: (d: PlannedResource) => (string | false | undefined)[],
): ReturnType<Check["run"]> {
  const ds = ofType(plan, T.distribution);
  return ds.length ? eachResource(ds, each) : notApplicable(NO_DISTRIBUTION);
}

/** The default behavior and every ordered behavior, labelled for messages. */
function behaviors(d: PlannedResource): { label: string; b: Record<string, unknown> }[] {
  return [
    { label: "defaultCacheBehavior", b: asRecord(d.inputs.defaultCacheBehavior) ?? {} },
    ...asArray(d.inputs.orderedCacheBehaviors).map((b, i) => ({
      label: `orderedCacheBehaviors[${i}] ${show(asRecord(b)?.pathPattern)}`,
      b: asRecord(b) ?? {},
    })),
  ];
}

/** Viewers are redirected to HTTPS (or refused) on every behavior. Refs: CKV_AWS_34, AVD-AWS-0012. */
export const cloudfrontViewerHttps: Check = {
  id: "cloudfront-viewer-https",
  title: "Every CloudFront behavior requires HTTPS",
  refs: ["CKV_AWS_34", "AVD-AWS-0012"],
  description: "An allow-all behavior serves cookies and pages over plain HTTP.",
  run: (plan) =>
    distributionCheck(plan, (d) =>
      behaviors(d).map(({ label, b }) => {
        const policy = asString(b.viewerProtocolPolicy);
        return !["redirect-to-https", "https-only"].includes(policy ?? "") && `${label} viewerProtocolPolicy is ${show(policy)}`;
      }),
    ),
};

/** CloudFront viewer TLS policies at TLS 1.2 or newer. */
const CLOUDFRONT_TLS = ["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"];

/** The region a resource is created in: its `region` input, else its provider's. */
export function regionOf(plan: PlanUnderTest, r: PlannedResource): string | undefined {
  const own = asString(r.inputs.region);
  if (own) return own;
  const ref = r.options.provider;
  const providerUrn = ref ? ref.split("::").slice(0, -1).join("::") : "";
  const provider = plan.resources.find(
    (p) => p.isProvider && (providerUrn ? p.urn === providerUrn : p.type === "pulumi:providers:aws" && p.name.startsWith("default")),
  );
  return asString(provider?.inputs.region);
}

/**
 * Viewer certificate: an ACM certificate in us-east-1 (CloudFront only reads
 * certificates there) and minimum protocol TLSv1.2_2021 or newer; never the
 * default `*.cloudfront.net` certificate.
 * Refs: CKV_AWS_174, CKV2_AWS_42, AVD-AWS-0013, KICS 00e5e55e-c2ff-46b3-a757-a7a1cd802456.
 */
export const cloudfrontTls: Check = {
  id: "cloudfront-tls",
  title: "CloudFront uses an ACM certificate from us-east-1 with TLS 1.2+",
  refs: ["CKV_AWS_174", "CKV2_AWS_42", "AVD-AWS-0013", "KICS 00e5e55e-c2ff-46b3-a757-a7a1cd802456"],
  description: "Old TLS versions and the shared default certificate weaken or break HTTPS on the site's own domain.",
  run: (plan) =>
    distributionCheck(plan, (d) => {
      const vc = asRecord(d.inputs.viewerCertificate) ?? {};
      const arn = asString(vc.acmCertificateArn);
      const cert = resolve(plan, arn, T.acmCertificate);
      const region = cert ? regionOf(plan, cert) : arn?.startsWith("arn:") ? arn.split(":")[3] : undefined;
      return [
        asBool(vc.cloudfrontDefaultCertificate) === true && "uses the default *.cloudfront.net certificate",
        !arn && "viewerCertificate.acmCertificateArn is not set",
        arn && region !== "us-east-1" && `the viewer certificate is in ${region ?? "an unknown region"}, not us-east-1`,
        !CLOUDFRONT_TLS.includes(asString(vc.minimumProtocolVersion) ?? "") &&
          `viewerCertificate.minimumProtocolVersion is ${show(vc.minimumProtocolVersion)}, not TLSv1.2_2021 or newer`,
      ];
    }),
};

const isS3Origin = (o: Record<string, unknown>) => {
  const domain = asString(o.domainName) ?? "";
  return o.s3OriginConfig !== undefined || o.originAccessControlId !== undefined || /\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$/.test(domain);
};

/**
 * S3 origins are read through an Origin Access Control (SigV4, always
 * signing), not the legacy origin access identity or a public bucket.
 * Refs: CKV2_AWS_46.
 */
export const cloudfrontS3OriginOac: Check = {
  id: "cloudfront-s3-origin-oac",
  title: "CloudFront reads S3 origins through an Origin Access Control",
  refs: ["CKV2_AWS_46"],
  description: "Without OAC the bucket must be public or use the deprecated OAI.",
  run(plan) {
    const ds = ofType(plan, T.distribution);
    if (!ds.length) return notApplicable(NO_DISTRIBUTION);
    const withS3 = ds.filter((d) => asArray(d.inputs.origins).some((o) => isS3Origin(asRecord(o) ?? {})));
    if (!withS3.length) return notApplicable("no CloudFront distribution has an S3 origin");
    return eachResource(withS3, (d) =>
      asArray(d.inputs.origins)
        .map((o) => asRecord(o) ?? {})
        .filter(isS3Origin)
        .flatMap((o) => {
          const label = `origin ${show(o.originId)}`;
          const oac = resolve(plan, o.originAccessControlId, T.originAccessControl);
          const oai = asString(field(o, "s3OriginConfig.originAccessIdentity"));
          if (!o.originAccessControlId) return [`${label} has no originAccessControlId`];
          return [
            oai && `${label} also uses a legacy origin access identity`,
            !oac && `${label} names an origin access control that is not in this plan`,
            oac && asString(oac.inputs.originAccessControlOriginType) !== "s3" && `${label}'s OAC is not of type s3`,
            oac && asString(oac.inputs.signingBehavior) !== "always" && `${label}'s OAC signingBehavior is not "always"`,
            oac && asString(oac.inputs.signingProtocol) !== "sigv4" && `${label}'s OAC signingProtocol is not "sigv4"`,
          ];
        }),
    );
  },
};

/**
 * Custom origins (the ALB, or the box) are fetched over HTTPS only with TLS
 * 1.2. Refs: CKV2_AWS_72, CKV2_AWS_54.
 */
export const cloudfrontOriginHttps: Check = {
  id: "cloudfront-origin-https",
  title: "CloudFront reaches custom origins over HTTPS with TLS 1.2",
  refs: ["CKV2_AWS_72", "CKV2_AWS_54"],
  description: "An HTTP origin leg sends every request and cookie in clear text between CloudFront and the origin.",
  run(plan) {
    const ds = ofType(plan, T.distribution);
    if (!ds.length) return notApplicable(NO_DISTRIBUTION);
    const custom = (d: PlannedResource) =>
      asArray(d.inputs.origins)
        .map((o) => asRecord(o) ?? {})
        .filter((o) => !isS3Origin(o));
    const withCustom = ds.filter((d) => custom(d).length > 0);
    if (!withCustom.length) return notApplicable("no CloudFront distribution has a custom origin");
    return eachResource(withCustom, (d) =>
      custom(d).flatMap((o) => {
        const label = `origin ${show(o.originId)}`;
        const cfg = asRecord(o.customOriginConfig) ?? {};
        const protocols = asStrings(cfg.originSslProtocols);
        const old = protocols.filter((p) => p !== "TLSv1.2");
        return [
          asString(cfg.originProtocolPolicy) !== "https-only" &&
            `${label} originProtocolPolicy is ${show(cfg.originProtocolPolicy)}, not "https-only"`,
          !protocols.includes("TLSv1.2") && `${label} originSslProtocols lacks TLSv1.2`,
          old.length > 0 && `${label} originSslProtocols allows ${old.join(", ")}`,
        ];
      }),
    );
  },
};

/**
 * Access logging: standard logging to S3 (`loggingConfig.bucket`) or
 * logging v2 (a CloudWatch LogDeliverySource for the distribution).
 * Refs: CKV_AWS_86.
 */
export const cloudfrontLogging: Check = {
  id: "cloudfront-logging",
  title: "CloudFront writes access logs",
  refs: ["CKV_AWS_86"],
  description: "Without logs, abuse and cache problems at the edge cannot be investigated.",
  run: (plan) =>
    distributionCheck(plan, (d) => {
      const v2 = ofType(plan, T.logDeliverySource).some((s) => refersTo(s.inputs.resourceArn, d));
      return [!field(d.inputs, "loggingConfig.bucket") && !v2 && "has no loggingConfig.bucket nor a log delivery source"];
    }),
};

/** AWS's managed "SecurityHeadersPolicy" response headers policy (sends HSTS). */
export const MANAGED_SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03";
const ONE_YEAR = 31536000;

/**
 * Every behavior attaches a response headers policy that sends HSTS for at
 * least a year (ours, or AWS's managed SecurityHeadersPolicy).
 * Refs: CKV2_AWS_32, CKV_AWS_259.
 */
export const cloudfrontHsts: Check = {
  id: "cloudfront-hsts",
  title: "CloudFront sends HSTS through a response headers policy",
  refs: ["CKV2_AWS_32", "CKV_AWS_259"],
  description: "Without HSTS a first visit over http:// can be downgraded and intercepted.",
  run: (plan) =>
    distributionCheck(plan, (d) =>
      behaviors(d).map(({ label, b }) => {
        const id = asString(b.responseHeadersPolicyId);
        if (!id) return `${label} has no responseHeadersPolicyId`;
        if (id === MANAGED_SECURITY_HEADERS_POLICY) return undefined;
        const policy = resolve(plan, id, T.responseHeadersPolicy);
        if (!policy) return `${label} uses response headers policy ${id}, which is not in this plan`;
        const hsts = asRecord(field(policy.inputs, "securityHeadersConfig.strictTransportSecurity"));
        const age = asNumber(hsts?.accessControlMaxAgeSec) ?? 0;
        return (!hsts || age < ONE_YEAR) && `${label}'s policy ${policy.name} does not send HSTS for at least a year`;
      }),
    ),
};

/** A WAF web ACL is attached. Refs: CKV_AWS_68. */
export const cloudfrontWaf: Check = {
  id: "cloudfront-waf",
  title: "CloudFront has a WAF web ACL",
  refs: ["CKV_AWS_68"],
  description: "Without WAF, common exploit payloads and floods reach the origin unfiltered.",
  run: (plan) => distributionCheck(plan, (d) => [!d.inputs.webAclId && "webAclId is not set"]),
};

// ---------------------------------------------------------------- Cloudflare

const proxiedRecords = (plan: PlanUnderTest) =>
  ofType(plan, T.cloudflareDnsRecord).filter((r) => asBool(r.inputs.proxied) === true);
const NO_PROXY = "no proxied Cloudflare DNS record in this plan (DNS only, or no Cloudflare)";

function zoneSettingCheck(settingId: string, accepted: string[]): (plan: PlanUnderTest) => ReturnType<Check["run"]> {
  return (plan) => {
    const records = proxiedRecords(plan);
    if (!records.length) return notApplicable(NO_PROXY);
    const zones = [...new Set(records.map((r) => asString(r.inputs.zoneId) ?? "?"))];
    const settings = ofType(plan, T.cloudflareZoneSetting).filter((s) => asString(s.inputs.settingId) === settingId);
    return zones.flatMap((zone): Finding[] => {
      const mine = settings.filter((s) => asString(s.inputs.zoneId) === zone);
      const record = records.find((r) => asString(r.inputs.zoneId) === zone)!;
      if (!mine.length) return [finding(record, `zone ${zone} has no ZoneSetting "${settingId}"`)];
      return mine.flatMap((s) => {
        const raw = plain(s.inputs.value);
        const value = asString(raw) ?? asString(asRecord(raw)?.value);
        return accepted.includes(value ?? "") ? [] : [finding(s, `${settingId} is ${show(raw)}, not ${accepted.join(" or ")}`)];
      });
    });
  };
}

/** Cloudflare validates the origin certificate (`ssl: strict`). No scanner id. */
export const cloudflareSslStrict: Check = {
  id: "cloudflare-ssl-strict",
  title: "Cloudflare SSL mode is Full (strict)",
  refs: [],
  description: "Flexible or Full mode lets anyone between Cloudflare and the origin read or forge traffic.",
  run: zoneSettingCheck("ssl", ["strict"]),
};

/** Cloudflare redirects HTTP to HTTPS. No scanner id. */
export const cloudflareAlwaysHttps: Check = {
  id: "cloudflare-always-use-https",
  title: "Cloudflare always uses HTTPS",
  refs: [],
  description: "Without it visitors on http:// get the site unencrypted from the edge.",
  run: zoneSettingCheck("always_use_https", ["on"]),
};

/** Cloudflare refuses TLS below 1.2. No scanner id. */
export const cloudflareMinTls: Check = {
  id: "cloudflare-min-tls",
  title: "Cloudflare minimum TLS version is 1.2",
  refs: [],
  description: "TLS 1.0/1.1 have known weaknesses.",
  run: zoneSettingCheck("min_tls_version", ["1.2", "1.3"]),
};

/** Cloudflare's published edge ranges (https://www.cloudflare.com/ips/). */
export const CLOUDFLARE_RANGES = [
  "173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22", "141.101.64.0/18",
  "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17",
  "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
  "2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32", "2405:8100::/32",
  "2a06:98c0::/29", "2c0f:f248::/32",
];

/**
 * Behind Cloudflare's proxy, the edge SG admits 80/443 only from
 * Cloudflare's ranges, so the WAF and TLS settings cannot be bypassed by
 * hitting the origin's IP. No scanner id.
 */
export const cloudflareOriginLocked: Check = {
  id: "cloudflare-origin-locked",
  title: "Behind Cloudflare, the origin admits only Cloudflare's ranges",
  refs: [],
  description: "An origin open to the world can be reached directly, bypassing Cloudflare's TLS, WAF and rate limits.",
  run(plan) {
    if (!proxiedRecords(plan).length) return notApplicable(NO_PROXY);
    return ingressRules(plan)
      .filter((rule) => roleOf(rule.group) === "edge" && (coversPort(rule, 80) || coversPort(rule, 443)))
      .flatMap((rule) => {
        const outside = rule.cidrs.filter((c) => !CLOUDFLARE_RANGES.includes(c));
        return outside.length ? [ruleFinding(rule, `admits ${outside.join(", ")} to the origin; only Cloudflare's ranges may`)] : [];
      });
  },
};

export const CDN_CHECKS: Check[] = [
  cloudfrontViewerHttps,
  cloudfrontTls,
  cloudfrontS3OriginOac,
  cloudfrontOriginHttps,
  cloudfrontLogging,
  cloudfrontHsts,
  cloudfrontWaf,
  cloudflareSslStrict,
  cloudflareAlwaysHttps,
  cloudflareMinTls,
  cloudflareOriginLocked,
];
