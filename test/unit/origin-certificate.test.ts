/**
 * The Cloudflare Origin CA certificate of a box behind Cloudflare's proxy
 * (OriginCertificate), and the Cdn's proxied A records to an IPv4 origin:
 * children's inputs captured under the mock engine and asserted after
 * `engine.finish()`, then the secrets and CDN policy checks run over them.
 */
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { childrenOf, named, ofType, reveal } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

import * as pulumi from "@pulumi/pulumi";
import { Cdn } from "../../components/cdn";
import { ORIGIN_CERTIFICATE_VALIDITY_DAYS, OriginCertificate, OriginCertificateArgs } from "../../components/origin-certificate";
import { runChecks } from "../../policies";
import { CDN_CHECKS } from "../../policies/checks/cdn";
import { SECRETS_CHECKS } from "../../policies/checks/secrets";
import { SecretValue } from "../../policies/types";
import type { PlannedResource } from "../../policies/types";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";
const HOSTS = ["shop.example.com", "www.shop.example.com"];
/** What the mock tls provider returns as the key of `site-key` (cli/mock-engine.ts). */
const KEY_MARKER = "mock-secret-site-key-private-key";

let site: OriginCertificate;
let outputs: Record<string, unknown>;

/** Every (resource, input) whose value holds `needle`, and whether it sits inside a Pulumi secret there. */
function holders(resources: PlannedResource[], needle: string): { name: string; input: string; secret: boolean }[] {
  const found: { name: string; input: string; secret: boolean }[] = [];
  const walk = (value: unknown, inSecret: boolean, hit: (secret: boolean) => void) => {
    if (value instanceof SecretValue) return walk(value.value, true, hit);
    if (typeof value === "string") return value.includes(needle) ? hit(inSecret) : undefined;
    if (Array.isArray(value)) return value.forEach((v) => walk(v, inSecret, hit));
    if (value && typeof value === "object") Object.values(value).forEach((v) => walk(v, inSecret, hit));
  };
  for (const r of resources) {
    for (const [input, value] of Object.entries(r.inputs)) walk(value, false, (secret) => found.push({ name: r.name, input, secret }));
  }
  return found;
}

beforeAll(async () => {
  site = new OriginCertificate("site", { hostnames: HOSTS, kmsKeyArn: KEY });
  // The same stack after a hostname change (another name only because one engine cannot hold two "site"s).
  new OriginCertificate("renamed", { hostnames: [...HOSTS, "shop.example.org"], kmsKeyArn: KEY });
  new OriginCertificate("custom", {
    hostnames: ["*.example.net"],
    kmsKeyArn: KEY,
    recoveryWindowInDays: 7,
    transform: { secret: { description: "edge cert" }, key: (a) => ({ ...a, ecdsaCurve: "P384" }) },
  });
  new Cdn("boxcdn", { mode: "cloudflare", domains: ["blog.example.org", "www.blog.example.org"], origin: { ipv4Address: "203.0.113.20" }, zoneId: "zone-2" });
  new Cdn("eipcdn", { mode: "cloudflare", domains: ["eip.example.org"], origin: { ipv4Address: pulumi.output("198.51.100.7") }, zoneId: "zone-3" });
  outputs = {
    secretArn: await unwrap(site.secretArn),
    expiresOn: await unwrap(site.expiresOn),
  };
  await engine.finish();
});

describe("OriginCertificate", () => {
  it("makes an ECDSA P-256 key and a request for the hostnames, signed with that key", () => {
    expect(named(engine.resources, "site-key").inputs).toEqual({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const request = named(engine.resources, "site-request");
    expect(request.type).toBe("tls:index/certRequest:CertRequest");
    expect(request.inputs.dnsNames).toEqual(HOSTS);
    expect(request.inputs.subject).toEqual({ commonName: "shop.example.com" });
    expect(request.inputs.privateKeyPem).toBeInstanceOf(SecretValue);
    expect(reveal(request.inputs.privateKeyPem)).toContain(KEY_MARKER);
  });

  it("asks Cloudflare's Origin CA for an ECC certificate, valid 15 years, for exactly those hostnames", () => {
    const cert = named(engine.resources, "site-certificate");
    expect(cert.type).toBe("cloudflare:index/originCaCertificate:OriginCaCertificate");
    expect(cert.inputs).toMatchObject({ requestType: "origin-ecc", requestedValidity: 5475, hostnames: HOSTS });
    expect(ORIGIN_CERTIFICATE_VALIDITY_DAYS).toBe(5475);
    expect(cert.inputs.csr).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\nFAKE-mock-site-request-for-shop\.example\.com,www\.shop\.example\.com\n/);
  });

  it("keeps certificate and key in one secret, encrypted with the stack key, as the server reads it", () => {
    const secret = named(engine.resources, "site-secret");
    expect(secret.inputs).toMatchObject({ kmsKeyId: KEY, recoveryWindowInDays: 30 });
    expect(secret.inputs.tags).toMatchObject({ "django-tiers:stack": "prod", "django-tiers:purpose": "origin-certificate" });
    const version = named(engine.resources, "site-value");
    expect(version.inputs.secretId).toBe("site-secret-id");
    expect(version.inputs.secretString).toBeInstanceOf(SecretValue);
    const value = JSON.parse(String(reveal(version.inputs.secretString)));
    expect(Object.keys(value).sort()).toEqual(["certificate", "privateKey"]);
    expect(value.certificate).toMatch(/^-----BEGIN CERTIFICATE-----\nFAKE-mock-origin-ca-site-certificate-for-shop\.example\.com,www\.shop\.example\.com\n-----END CERTIFICATE-----\n$/);
    expect(value.privateKey).toMatch(new RegExp(`^-----BEGIN EC PRIVATE KEY-----\\nFAKE-${KEY_MARKER}\\n`));
  });

  it("puts the key only where it must go, always as a Pulumi secret: the request it signs and the secret's value", () => {
    expect(holders(engine.resources, KEY_MARKER)).toEqual([
      { name: "site-request", input: "privateKeyPem", secret: true },
      { name: "site-value", input: "secretString", secret: true },
    ]);
    // The component's outputs are the secret's ARN and the expiry date, nothing with the key in it.
    expect(outputs.secretArn).toBe("arn:aws:secretsmanager:us-east-1:123456789012:site-secret");
    expect(outputs.expiresOn).toBe("2041-01-01T00:00:00Z");
    expect(JSON.stringify(outputs)).not.toMatch(/PRIVATE KEY|mock-secret-/);
  });

  it("a hostname change makes a new request and certificate, never a new key or secret", () => {
    const differing = (role: string) => {
      const [a, b] = [named(engine.resources, `site-${role}`), named(engine.resources, `renamed-${role}`)];
      return JSON.stringify(a.inputs) !== JSON.stringify(b.inputs);
    };
    expect(["key", "request", "certificate", "secret"].map((role) => [role, differing(role)])).toEqual([
      ["key", false],
      ["request", true],
      ["certificate", true],
      ["secret", false],
    ]);
  });

  it("gives every child the component as parent and applies the typed transforms", () => {
    const component = ofType(engine.resources, "django-tiers:index:OriginCertificate").find((r) => r.name === "site")!;
    expect(childrenOf(engine.resources, component).map((r) => r.name).sort()).toEqual(["site-certificate", "site-key", "site-request", "site-secret", "site-value"]);
    expect(named(engine.resources, "custom-key").inputs.ecdsaCurve).toBe("P384");
    expect(named(engine.resources, "custom-secret").inputs).toMatchObject({ description: "edge cert", recoveryWindowInDays: 7, kmsKeyId: KEY });
    expect(named(engine.resources, "custom-certificate").inputs.hostnames).toEqual(["*.example.net"]);
  });

  it("passes the secrets checks that apply to it (rotation is the stack's documented relaxation)", () => {
    const results = runChecks({ tier: "single-box", environment: "prod", resources: engine.resources, serverFiles: {}, relaxations: [] }, SECRETS_CHECKS);
    expect(Object.fromEntries(results.map((r) => [r.id, r.status]))).toMatchObject({
      "secrets-stay-encrypted": "pass",
      "secrets-cmk": "pass",
      "secrets-rotation": "fail",
    });
  });

  it.each<[string, Partial<OriginCertificateArgs>, RegExp]>([
    ["no hostname", { hostnames: [] }, /OriginCertificate bad: hostnames must list at least one host name/],
    ["an upper-case hostname", { hostnames: ["Shop.example.com"] }, /hostnames: "Shop\.example\.com" is not a lower-case host name/],
    ["a hostname twice", { hostnames: ["a.example.com", "a.example.com"] }, /hostnames lists "a\.example\.com" twice/],
    ["a recovery window AWS refuses", { recoveryWindowInDays: 3 }, /recoveryWindowInDays must be 0 \(delete at once\) or a whole number of days from 7 to 30 \(got 3\)/],
  ])("refuses %s before declaring any child", (_, change, message) => {
    const before = engine.resources.length;
    expect(() => new OriginCertificate("bad", { hostnames: HOSTS, kmsKeyArn: KEY, ...change })).toThrow(message);
    expect(engine.resources.slice(before).filter((r) => r.name.startsWith("bad-"))).toEqual([]);
  });
});

describe("Cdn (cloudflare) in front of an IPv4 origin", () => {
  it("points each domain at the address with a proxied A record", () => {
    const records = ofType(engine.resources, "cloudflare:index/dnsRecord:DnsRecord").filter((r) => /^(boxcdn|eipcdn)-/.test(r.name));
    expect(records.map((r) => [r.name, r.inputs.type, r.inputs.content, r.inputs.proxied, r.inputs.ttl, r.inputs.zoneId])).toEqual([
      ["boxcdn-blog.example.org", "A", "203.0.113.20", true, 1, "zone-2"],
      ["boxcdn-www.blog.example.org", "A", "203.0.113.20", true, 1, "zone-2"],
      ["eipcdn-eip.example.org", "A", "198.51.100.7", true, 1, "zone-3"],
    ]);
  });

  it("sets the zone like for a DNS-name origin, and the Cloudflare checks pass on it", () => {
    const settings = ofType(engine.resources, "cloudflare:index/zoneSetting:ZoneSetting").filter((r) => r.name.startsWith("boxcdn-"));
    expect(settings.map((s) => [s.inputs.settingId, s.inputs.value])).toEqual([["ssl", "strict"], ["always_use_https", "on"], ["min_tls_version", "1.2"]]);
    const mine = engine.resources.filter((r) => r.name.startsWith("boxcdn"));
    const results = runChecks({ tier: "single-box", environment: "prod", resources: mine, serverFiles: {}, relaxations: [] }, CDN_CHECKS);
    expect(Object.fromEntries(results.filter((r) => r.id.startsWith("cloudflare-")).map((r) => [r.id, r.status]))).toEqual({
      "cloudflare-ssl-strict": "pass",
      "cloudflare-always-use-https": "pass",
      "cloudflare-min-tls": "pass",
      // No edge security group among these resources: nothing admits the web yet (the plan test covers the box's).
      "cloudflare-origin-locked": "pass",
    });
  });

  const base = { mode: "cloudflare" as const, domains: ["a.example.com"], zoneId: "z" };
  it.each<[string, object, RegExp]>([
    ["an address in cloudfront mode", { mode: "cloudfront", certificateArn: "arn", logsBucketDomainName: "l", origin: { ipv4Address: "203.0.113.1" } }, /origin\.ipv4Address is for cloudflare mode only: CloudFront reaches origins by DNS name/],
    ["both kinds of origin", { origin: { domainName: "x.example.com", ipv4Address: "203.0.113.1" } }, /origin must have exactly one of domainName \(a DNS name\) or ipv4Address \(cloudflare only\) \(got domainName and ipv4Address\)/],
    ["no origin", { origin: {} }, /origin must have exactly one of domainName .* \(got neither\)/],
    ["a bad address", { origin: { ipv4Address: "203.0.113.300" } }, /origin\.ipv4Address "203\.0\.113\.300" is not an IPv4 address/],
  ])("refuses %s", (_, change, message) => {
    expect(() => new Cdn("badcdn", { ...base, ...change } as never)).toThrow(message);
  });
});
