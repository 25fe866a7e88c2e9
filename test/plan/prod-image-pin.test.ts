/**
 * The prod stack with `fleetImage` set and its secrets rotated, planned in
 * this process: every fleet boots that image (a change of imageId the plan
 * shows), the plan says which image it is, and the rotation replaces every
 * fleet's servers (they read secrets only at boot).
 */
import * as path from "path";
import { planStack, type PlanReport } from "../../cli/plan-stack";
import { ofType } from "../helpers";

const repo = path.resolve(__dirname, "../..");

let report: PlanReport;
beforeAll(async () => {
  report = await planStack({
    projectDir: repo,
    stack: "prod",
    overrides: { "django-tiers:fleetImage": "debian-12-arm64-20250610-2137", "django-tiers:secretsRotation": "2026-11" },
  });
});

it("boots every fleet on the pinned image and follows a change of it", () => {
  const templates = ofType(report.resources, "aws:ec2/launchTemplate:LaunchTemplate");
  expect(templates.map((lt) => lt.name).sort()).toEqual(["app-blue-lt", "app-green-lt", "tasks-scheduler-lt", "tasks-worker-lt"]);
  for (const lt of templates) {
    // The mock cloud finds an image looked up by its exact name as ami-mock-<name>.
    expect([lt.name, lt.inputs.imageId, lt.options.ignoreChanges]).toEqual([lt.name, "ami-mock-debian-12-arm64-20250610-2137", []]);
  }
  expect(report.notes).toContain("Fleet image: debian-12-arm64-20250610-2137 (Debian's image of that name), pinned by fleetImage; changing it rolls every fleet onto the new image.");
  expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
});

it("replaces every fleet's servers on a rotation: the label is in every launch template's instance tags", () => {
  for (const lt of ofType(report.resources, "aws:ec2/launchTemplate:LaunchTemplate")) {
    const tags = (lt.inputs.tagSpecifications as Array<{ resourceType: string; tags: Record<string, string> }>).map((t) => [t.resourceType, t.tags["django-tiers:secrets"]]);
    expect([lt.name, tags]).toEqual([lt.name, [["instance", "2026-11"], ["volume", "2026-11"]]]);
  }
  const relaxation = report.relaxations.find((r) => r.check === "secrets-rotation")!;
  expect(relaxation.reason).toMatch(/starts a rolling instance refresh of every fleet with servers \(it does not wait for it\)/);
  // What the rotation does to the site, said as it is: one password, applied by RDS before the servers are replaced.
  expect(relaxation.reason).toMatch(/not seamless: RDS applies the new master password within minutes, .* fail, .*Rotate in a maintenance window/);
});
