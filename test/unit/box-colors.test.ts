/**
 * Blue-green on one box (boxReleases: blue-green): the box tier's wiring,
 * captured under the mock engine and asserted after `engine.finish()`: each
 * color's release pointer, the spec's `colors` and each app's
 * `colorReleaseParameters`, the rollout that a promotion step re-runs, the
 * box role that reads the colors' pointers, the outputs `npm run promote`
 * reads; then the policy checks that apply, over the captured resources.
 */
import * as path from "path";
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { json, named, ofType, reveal } from "../helpers";

const engine = installMockEngine({ project: "django-tiers", stack: "dev" });

import { validateSettings } from "../../config";
import { CHECK_GROUPS, runChecks } from "../../policies";
import { bundleVersion } from "../../components/bundle";
import { SingleBox } from "../../components/single-box";
import { releaseBundleKey } from "../../server";
import type { BoxSpec } from "../../server/types";
import { BoxDeployment, boxColorPlan, deployBoxTier } from "../../tiers/box";

const projectDir = path.resolve(__dirname, "../..");
const ctx = { project: "django-tiers", stack: "dev", projectDir };
const base = { tier: "single-box", apps: ["mysite"], appsDir: "examples/apps", deletionProtection: false };
const built = bundleVersion(path.join(projectDir, "examples/apps/mysite"));
const pointerPrefix = "/django-tiers/django-tiers/dev/mysite";

let deployment: BoxDeployment;
let spec: BoxSpec;
let outputs: Record<string, unknown>;

beforeAll(async () => {
  // Green (pinned to v1) is live; blue runs the build from the app folder, its gunicorn stopped.
  const settings = validateSettings({ ...base, boxReleases: "blue-green", liveColor: "green", greenRelease: "v1" }, ctx);
  deployment = deployBoxTier(settings);
  await engine.finish();
  const o = deployment.outputs;
  outputs = {
    liveColor: await unwrap(o.liveColor!),
    colors: await unwrap(o.colors!),
    builtRelease: await unwrap(o.builtRelease!),
    releases: await unwrap(o.releases),
  };
  spec = await unwrap(deployment.box.spec);
});

describe("the box tier with boxReleases: blue-green", () => {
  it("gives each color its release pointer: the pinned one's version, or the build", () => {
    expect(named(engine.resources, "release-mysite-pointer-green").inputs).toMatchObject({
      name: `${pointerPrefix}/green/release`,
      type: "String",
    });
    expect(reveal(named(engine.resources, "release-mysite-pointer-green").inputs.value)).toBe(releaseBundleKey("mysite", "v1"));
    expect(named(engine.resources, "release-mysite-pointer-blue").inputs).toMatchObject({
      name: `${pointerPrefix}/blue/release`,
    });
    expect(reveal(named(engine.resources, "release-mysite-pointer-blue").inputs.value)).toBe(releaseBundleKey("mysite", built));
    // The app's own pointer stays the build (what a box without colors would run).
    expect(reveal(named(engine.resources, "release-mysite-pointer").inputs.value)).toBe(releaseBundleKey("mysite", built));
  });

  it("puts the live color and the idle one's state in the spec, and each color's pointer in each app", () => {
    expect(spec.colors).toEqual({ live: "green", idleRunning: false });
    expect(spec.apps.map((a) => [a.name, a.releaseParameter, a.colorReleaseParameters])).toEqual([
      ["mysite", `${pointerPrefix}/release`, { blue: `${pointerPrefix}/blue/release`, green: `${pointerPrefix}/green/release` }],
    ]);
  });

  it("re-runs the rollout when a color's release, the live color or the idle one's state changes", () => {
    const commands = String((named(engine.resources, "box-rollout").inputs.parameters as Record<string, unknown>).commands);
    expect(commands).toContain(`# releases: mysite=${built}; colors: live=green blue=${built} green=v1 idle=stopped; secrets: initial; config: `);
  });

  it("lets the box read both colors' pointers, and no other parameter", () => {
    const policy = json(named(engine.resources, "box-access").inputs.policy);
    const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadReleasePointers");
    // The mock cloud names a parameter's ARN after its resource.
    expect([...(read.Resource as string[])].sort()).toEqual([
      "arn:aws:ssm:us-east-1:123456789012:box-config-pointer",
      "arn:aws:ssm:us-east-1:123456789012:release-mysite-pointer",
      "arn:aws:ssm:us-east-1:123456789012:release-mysite-pointer-blue",
      "arn:aws:ssm:us-east-1:123456789012:release-mysite-pointer-green",
    ]);
  });

  it("exports what npm run promote reads: the live color, each color's release, state and weight, the build", () => {
    expect(outputs).toEqual({
      liveColor: "green",
      colors: { blue: { release: built, running: false, weight: 0 }, green: { release: "v1", running: true, weight: 100 } },
      builtRelease: built,
      releases: { mysite: "v1" },
    });
    expect(deployment.notes.join("\n")).toContain("Blue-green on one box: green is live with release v1; blue's gunicorn is stopped.");
  });

  it("passes every resource policy check that applies", () => {
    const plan = { tier: "single-box", environment: "dev" as const, resources: engine.resources, serverFiles: {}, relaxations: deployment.relaxations };
    const results = runChecks(plan, CHECK_GROUPS.filter((g) => g.group !== "Server files").flatMap((g) => g.checks));
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`)).toEqual([]);
    expect(results.filter((r) => r.status === "pass").map((r) => r.id)).toEqual(expect.arrayContaining([
      "ec2-imdsv2", "ec2-volumes-encrypted", "ec2-no-secrets-in-user-data", "ec2-instance-profile", "sg-world-only-web-on-edge", "iam-no-admin",
    ]));
  });

  it("declares one box instance: the second color is a second gunicorn on it, not a second server", () => {
    expect(ofType(engine.resources, "aws:ec2/instance:Instance").map((r) => r.name)).toEqual(["box-instance"]);
  });
});

describe("boxColorPlan", () => {
  it("gives the live color all traffic and the idle one none, running or not", () => {
    const s = validateSettings({ ...base, boxReleases: "blue-green", blueRelease: "v2", idleFleet: "running" }, ctx);
    expect(boxColorPlan(s)).toEqual({ blue: { release: "v2", running: true, weight: 100 }, green: { release: built, running: true, weight: 0 } });
    expect(() => boxColorPlan(validateSettings(base, ctx))).toThrow(/boxReleases is in-place/);
  });
});

describe("SingleBox colors: bad arguments are refused before any child", () => {
  const args = (colors: unknown) => ({
    vpcId: "vpc-1",
    subnetId: "subnet-1",
    spec: {} as never,
    releases: { mysite: "v1" },
    colors: colors as never,
    access: { artifactsBucket: "a", artifactsBucketArn: "arn:aws:s3:::a", backupPrefix: "backups/", secretArns: [], parameterArns: [], kmsKeyArn: "k" },
    alertTopicArn: "t",
  });
  it.each([
    [{ live: "red", idleRunning: false, releases: { blue: "v1", green: "v2" } }, /SingleBox bad1: colors.live must be "blue" or "green" \(got "red"\)/],
    [{ live: "blue", idleRunning: false, releases: { blue: "v1" } }, /SingleBox bad2: colors.releases.green must be a release label of 1–64 characters/],
  ])("%j", (colors, message) => {
    const before = engine.resources.length;
    const name = String(message).includes("bad1") ? "bad1" : "bad2";
    expect(() => new SingleBox(name, args(colors))).toThrow(message);
    expect(engine.resources.slice(before).filter((r) => r.name.startsWith(`${name}-`))).toEqual([]);
  });
});
