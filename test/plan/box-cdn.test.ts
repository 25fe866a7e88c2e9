/**
 * A box behind Cloudflare (`cdn: cloudflare` on the box tiers): the stack
 * planned offline as `npm run plan` plans it — the staging stack
 * (external-db) in this process, to read the box's spec, and the dev
 * (single-box) and files (object-storage) stacks through the CLI — and the
 * settings it refuses (exit 2). Without the CDN the box still faces the world.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { unwrap } from "../../cli/mock-engine";
import { planStack, printable, type PlanReport } from "../../cli/plan-stack";
import { CLOUDFLARE_ORIGIN_RANGES } from "../../components/cdn";
import { CLOUDFLARE_RANGES } from "../../policies/checks/cdn";
import type { PlannedResource } from "../../policies/types";
import type { BoxSpec } from "../../server/types";
import { deploymentsInProcess } from "../../tiers";
import type { BoxDeployment } from "../../tiers/box";
import { json, named, ofType, reveal } from "../helpers";

const repo = path.resolve(__dirname, "../..");
const ZONE = "0123456789abcdef0123456789abcdef";
/** The box's Elastic IP in the mock cloud (cli/mock-engine.ts). */
const EIP = "203.0.113.20";

function cli(...args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function planJson(...args: string[]): PlanReport {
  const r = cli(...args, "--json");
  if (r.code !== 0) throw new Error(`plan ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The ingress rules of the box's edge security group: port and source. */
function boxIngress(resources: PlannedResource[]) {
  return ofType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.inputs.securityGroupId === "box-sg-id")
    .map((r) => ({ name: r.name, from: r.inputs.fromPort, to: r.inputs.toPort, cidr: (r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6) as string }));
}

const failing = (report: PlanReport) => report.checks.filter((c) => c.status === "fail");
const statusOf = (report: PlanReport, id: string) => report.checks.find((c) => c.id === id)?.status;

describe("plan --stack staging --set cdn=cloudflare (external-db behind Cloudflare)", () => {
  let report: PlanReport;
  let spec: BoxSpec;
  beforeAll(async () => {
    report = await planStack({ projectDir: repo, stack: "staging", overrides: { "django-tiers:cdn": "cloudflare" } });
    const deployment = deploymentsInProcess()[0] as BoxDeployment;
    spec = await unwrap(deployment.box.spec);
  });
  const find = (name: string) => named(report.resources, name);

  it("passes every policy check that applies, Cloudflare's included", () => {
    expect(failing(report)).toEqual([]);
    for (const id of ["cloudflare-ssl-strict", "cloudflare-always-use-https", "cloudflare-min-tls", "cloudflare-origin-locked"]) {
      expect([id, statusOf(report, id)]).toEqual([id, "pass"]);
    }
  });

  it("points the domain at the box's Elastic IP with a proxied A record, and makes no DNS-only record", () => {
    const records = ofType(report.resources, "cloudflare:index/dnsRecord:DnsRecord");
    expect(records.map((r) => [r.name, r.inputs.type, r.inputs.content, r.inputs.proxied, r.inputs.zoneId])).toEqual([
      ["cdn-staging.example.com", "A", EIP, true, ZONE],
    ]);
    expect(find("box-eip").type).toBe("aws:ec2/eip:Eip");
  });

  it("sets the zone to SSL Full (strict), Always Use HTTPS and TLS 1.2+", () => {
    const settings = ofType(report.resources, "cloudflare:index/zoneSetting:ZoneSetting");
    expect(settings.map((s) => [s.inputs.zoneId, s.inputs.settingId, s.inputs.value])).toEqual([
      [ZONE, "ssl", "strict"],
      [ZONE, "always_use_https", "on"],
      [ZONE, "min_tls_version", "1.2"],
    ]);
  });

  it("admits only HTTPS, only from Cloudflare's ranges, at the box", () => {
    const rules = boxIngress(report.resources);
    expect(rules.map((r) => r.cidr).sort()).toEqual([...CLOUDFLARE_RANGES].sort());
    expect(CLOUDFLARE_ORIGIN_RANGES).toEqual(CLOUDFLARE_RANGES);
    for (const rule of rules) expect(rule).toMatchObject({ from: 443, to: 443, name: expect.stringMatching(/^box-in-https-cloudflare-/) });
    expect(find("box-sg").inputs.tags).toMatchObject({ "django-tiers:role": "edge" });
  });

  it("gives the box the Origin CA certificate's secret in its spec, and no ACME", () => {
    const secretArn = "arn:aws:secretsmanager:us-east-1:123456789012:origin-certificate-secret";
    expect(spec.tls).toEqual({ mode: "origin-certificate", secretId: secretArn, realIpFrom: [...CLOUDFLARE_RANGES] });
    expect(find("origin-certificate-certificate").inputs).toMatchObject({ hostnames: ["staging.example.com"], requestType: "origin-ecc", requestedValidity: 5475 });
    // The stack key, as for the app's secrets (the box's role may decrypt with it).
    expect(find("origin-certificate-secret").inputs.kmsKeyId).toBe(find("secrets-mysite-secret").inputs.kmsKeyId);
  });

  it("re-runs the rollout when a new certificate is issued under the same secret: the certificate's id is in its comment", () => {
    const commands = String((find("box-rollout").inputs.parameters as { commands: unknown }).commands);
    expect(commands).toMatch(/; secrets: [^;]+; certificate: origin-certificate-certificate-id; config: /);
  });

  it("lets the box's role read that secret, as it reads the app's", () => {
    const policy = json(find("box-access").inputs.policy);
    const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadOwnSecrets");
    expect(read.Resource).toEqual([
      "arn:aws:secretsmanager:us-east-1:123456789012:secrets-mysite-secret",
      "arn:aws:secretsmanager:us-east-1:123456789012:origin-certificate-secret",
    ]);
  });

  it("keeps the certificate's key out of the plan's plain inputs and outputs", () => {
    const request = find("origin-certificate-request");
    // The mock key carries the leak marker of every generated secret (cli/mock-engine.ts).
    const key = "mock-secret-origin-certificate-key-private-key";
    expect(String(reveal(request.inputs.privateKeyPem))).toContain(key);
    expect(String(reveal(find("origin-certificate-value").inputs.secretString))).toContain(key);
    // What the plan prints: secrets as "[secret]".
    expect(JSON.stringify(report.resources.map((r) => printable(r.inputs)))).not.toMatch(/mock-secret-/);
    expect(JSON.stringify(report.outputs)).not.toMatch(/mock-secret-/);
  });

  it("says the site is behind Cloudflare, prices the certificate as free and lists the key and request as local", () => {
    expect(report.notes.join("\n")).toMatch(/The site is behind Cloudflare's proxy \(cdn: cloudflare\).*admits HTTPS from Cloudflare's ranges only/);
    const cost = (name: string) => report.cost.resources.find((c) => c.name === name)!;
    expect(cost("origin-certificate-certificate")).toMatchObject({ status: "free", note: expect.stringMatching(/free on every Cloudflare plan.*developers\.cloudflare\.com/) });
    expect(cost("origin-certificate-key")).toMatchObject({ status: "free", note: expect.stringMatching(/tls provider/) });
    expect(cost("origin-certificate-secret")).toMatchObject({ status: "priced", monthly: 0.4 });
    expect(report.cost.unknownCount).toBe(0);
  });
});

describe("plan --stack dev with a domain behind Cloudflare (single-box, no acmeEmail)", () => {
  const settings = ["domains=[\"shop.example.com\",\"www.shop.example.com\"]", `cloudflareZoneId=${ZONE}`, "cdn=cloudflare"];
  let report: PlanReport;
  let world: PlanReport;
  beforeAll(() => {
    report = planJson("--stack", "dev", ...settings.flatMap((s) => ["--set", s]));
    world = planJson("--stack", "dev");
  });

  it("plans proxied A records to the box, Cloudflare-only ingress, and passes every check", () => {
    expect(failing(report)).toEqual([]);
    expect(statusOf(report, "cloudflare-origin-locked")).toBe("pass");
    expect(ofType(report.resources, "cloudflare:index/dnsRecord:DnsRecord").map((r) => [r.inputs.name, r.inputs.type, r.inputs.content, r.inputs.proxied])).toEqual([
      ["shop.example.com", "A", EIP, true],
      ["www.shop.example.com", "A", EIP, true],
    ]);
    expect(boxIngress(report.resources).map((r) => r.cidr).sort()).toEqual([...CLOUDFLARE_RANGES].sort());
    expect(report.outputs.siteUrls).toEqual(["https://shop.example.com/", "https://www.shop.example.com/"]);
  });

  it("without the CDN, the same box admits the world on 80 and 443, with the rules it always had", () => {
    expect(boxIngress(world.resources)).toEqual([
      { name: "box-in-http", from: 80, to: 80, cidr: "0.0.0.0/0" },
      { name: "box-in-https", from: 443, to: 443, cidr: "0.0.0.0/0" },
    ]);
    expect(world.resources.filter((r) => /^(cdn|origin-certificate)/.test(r.name))).toEqual([]);
    expect(statusOf(world, "cloudflare-origin-locked")).toBe("not-applicable");
    const rollout = named(world.resources, "box-rollout").inputs.parameters as { commands: string };
    expect(rollout.commands).toMatch(/; secrets: [^;]+; config: /);
  });
});

describe("plan --stack files --set cdn=cloudflare (object-storage behind Cloudflare)", () => {
  it("passes every policy check, with the box locked to Cloudflare", () => {
    const report = planJson("--stack", "files", "--set", "cdn=cloudflare");
    expect(failing(report)).toEqual([]);
    expect(statusOf(report, "cloudflare-origin-locked")).toBe("pass");
    expect(named(report.resources, "cdn-files.example.com").inputs).toMatchObject({ type: "A", content: EIP, proxied: true });
  });
});

describe("cdn on a box: what the plan refuses (exit 2, naming the setting and what is allowed)", () => {
  it.each([
    ["cloudfront on a box", ["cdn=cloudfront"], /django-tiers:cdn \(got "cloudfront"\): cloudfront cannot front a box \(this stack's tier is single-box\).*Allowed: none or cloudflare on the box tiers.*or tier: load-balanced for cloudfront/],
    ["cloudflare without a domain", ["cdn=cloudflare", `cloudflareZoneId=${ZONE}`], /django-tiers:domains \(got \[\]\): cdn: cloudflare proxies the site's own domains and needs at least one/],
    ["cloudflare without a zone", ["cdn=cloudflare", "domains=[\"shop.example.com\"]"], /django-tiers:cloudflareZoneId \(got ""\): is required when domains are set/],
  ])("%s", (_, sets, message) => {
    const r = cli("--stack", "dev", ...sets.flatMap((s) => ["--set", s]));
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(message);
  });
});
