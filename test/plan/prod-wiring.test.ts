/**
 * The prod stack (load-balanced, CloudFront, SQS workers) planned in this
 * process as `npm run plan` plans it, for what only the whole stack shows:
 * the order AWS needs (servers after the NAT route, CloudFront after its log
 * bucket's ACL setting), the private preview, and which image the fleets boot.
 */
import * as path from "path";
import { unwrap } from "../../cli/mock-engine";
import { planStack, type PlanReport } from "../../cli/plan-stack";
import { SecretValue } from "../../policies/types";
import type { RenderedFile } from "../../server/types";
import { deploymentsInProcess } from "../../tiers";
import { named, ofType } from "../helpers";

const repo = path.resolve(__dirname, "../..");

let report: PlanReport;
let serverFiles: Record<string, RenderedFile[]>;
beforeAll(async () => {
  report = await planStack({ projectDir: repo, stack: "prod" });
  serverFiles = await unwrap(deploymentsInProcess()[0].serverFiles);
});
const find = (name: string) => named(report.resources, name);

describe("plan --stack prod: ordering", () => {
  it("launches no server before the private subnets' route to the NAT gateway exists (first boot downloads packages)", () => {
    const route = [find("network-private-rt").urn, find("network-private-1-rta").urn, find("network-private-2-rta").urn];
    expect(find("network-private-rt").inputs.routes).toEqual([expect.objectContaining({ cidrBlock: "0.0.0.0/0" })]);
    const groups = ofType(report.resources, "aws:autoscaling/group:Group").map((g) => g.name).sort();
    expect(groups).toEqual(["app-blue-asg", "app-green-asg", "tasks-scheduler-asg", "tasks-worker-asg"]);
    for (const name of groups) expect([name, find(name).options.dependsOn]).toEqual([name, expect.arrayContaining(route)]);
  });

  it("creates CloudFront after its log bucket accepts ACL-written logs", () => {
    expect(find("cdn-logs-ownership").inputs.rule).toEqual({ objectOwnership: "BucketOwnerPreferred" });
    expect(find("cdn-distribution").options.dependsOn).toContain(find("cdn-logs-ownership").urn);
  });
});

describe("plan --stack prod: previews are private", () => {
  it("needs the stack's secret key to reach a color, and exports that key only as a secret", () => {
    for (const color of ["blue", "green"]) {
      const rule = find(`lb-preview-${color}`);
      expect(rule.inputs.conditions).toBeInstanceOf(SecretValue);
      const conditions = (rule.inputs.conditions as SecretValue).value as Array<{ httpHeader: { httpHeaderName: string; values: string[] } }>;
      expect(conditions.map((c) => c.httpHeader.httpHeaderName)).toEqual(["X-Django-Tiers-Preview"]);
      expect(conditions[0].httpHeader.values[0]).toMatch(new RegExp(`^${color}\\.mock-secret-lb-preview-key-`));
    }
    expect(report.outputs.previewKey).toBe("[secret]");
    expect(report.checks.find((c) => c.id === "previews-private")?.status).toBe("pass");
  });

  it("keeps CloudFront from passing the color header to the load balancer", () => {
    const policy = find("cdn-origin-request");
    expect(find("cdn-distribution").inputs.defaultCacheBehavior).toMatchObject({ originRequestPolicyId: policy.id });
    expect(policy.inputs.headersConfig).toEqual({ headerBehavior: "allExcept", headers: { items: ["X-Django-Tiers-Color"] } });
  });
});

describe("plan --stack prod: secret rotation", () => {
  it("tags no rotation while the label is the first one, so upgrading keeps the launch templates", () => {
    for (const lt of ofType(report.resources, "aws:ec2/launchTemplate:LaunchTemplate")) {
      for (const spec of lt.inputs.tagSpecifications as Array<{ tags: Record<string, string> }>) expect(spec.tags).not.toHaveProperty("django-tiers:secrets");
    }
  });
});

describe("plan --stack prod: the fleets' image", () => {
  it("keeps each launch template's image when fleetImage is unset, and says so", () => {
    const templates = ofType(report.resources, "aws:ec2/launchTemplate:LaunchTemplate");
    expect(templates).toHaveLength(4);
    for (const lt of templates) expect([lt.name, lt.options.ignoreChanges]).toEqual([lt.name, ["imageId"]]);
    expect(report.notes).toContain(
      "Fleet image: not pinned. A new fleet boots the newest official Debian 12 arm64 image and keeps it (each launch template's imageId is not updated); set fleetImage to an AMI id or image name to move the fleets to a newer image, as a planned change.",
    );
  });
});

describe("plan --stack prod: its one app's files stay where they were (several apps: shared-files.test.ts)", () => {
  it("renders static/ and media/ at the app's first domain, with no location of its own, and the CDN's paths unchanged", () => {
    for (const role of ["app-blue", "app-green", "worker"]) {
      const env = serverFiles[role].find((f) => f.path === "/etc/django-tiers/mysite/app.env")!.content;
      expect([role, env.split("\n").filter((l) => l.startsWith("DJANGO_STORAGE"))]).toEqual([role, ["DJANGO_STORAGE=s3", "DJANGO_STORAGE_CUSTOM_DOMAIN=example.com"]]);
    }
    const behaviors = find("cdn-distribution").inputs.orderedCacheBehaviors as Array<{ pathPattern: string }>;
    expect(behaviors.map((b) => b.pathPattern)).toEqual(["/static/*", "/media/*"]);
    expect(report.notes.join("\n")).not.toMatch(/several apps share the buckets/);
  });
});
