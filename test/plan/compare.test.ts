/**
 * What a change of settings does to a stack, from two offline plans
 * (`npm run plan -- --compare`): a release replaces nothing that holds data;
 * a move up the ladder adds services and changes the box in place.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { comparePlans } from "../../cli/plan-compare";
import type { PlannedResource } from "../../policies/types";

const repo = path.resolve(__dirname, "../..");

function compare(stack: string, ...changes: string[]) {
  return compareFrom(stack, [], ...changes);
}

/** Plans `stack` with `settings` set, then again with `changes` on top, and compares. */
function compareFrom(stack: string, settings: string[], ...changes: string[]) {
  const args = [path.join(repo, "cli/plan.ts"), "--stack", stack, "--json"];
  for (const s of settings) args.push("--set", s);
  for (const c of changes) args.push("--compare", c);
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), args, { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`plan --compare exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof comparePlans>;
}

const names = (list: Array<{ name: string }>) => list.map((r) => r.name).sort();

describe("a release (a new app version)", () => {
  it.each(["dev", "staging"])("on %s changes only the bundle, its pointer and the rollout", (stack) => {
    const c = compare(stack, "releaseVersion=v2026.11.22");
    expect(names(c.creates)).toEqual([]);
    expect(names(c.deletes)).toEqual([]);
    // A new rollout association per rollout: the provider waits for its success only when it creates one.
    expect(names(c.replaces)).toEqual(["box-rollout", "release-mysite-bundle"]);
    expect(names(c.updates)).toEqual(["release-mysite-pointer"]);
    expect([...c.replaces, ...c.deletes].filter((r) => r.holdsData)).toEqual([]);
  });
});

describe("blue-green on prod (load-balanced): each step of a promotion changes only what it must", () => {
  // The state in the middle of a promotion: blue live on v1, green running v2.
  const promoting = ["blueRelease=v1", "greenRelease=v2", "idleFleet=running"];
  const STATEFUL = /^(database|cache|files|artifacts|lb|certificate|cdn|key|tasks-queue|tasks-dlq)-/;

  it("a new release for the idle color changes its release pointer, launch template and group, nothing else", () => {
    const c = compareFrom("prod", ["blueRelease=v1", "greenRelease=v1", "idleFleet=running"], "greenRelease=v2");
    expect(names(c.creates)).toEqual([]);
    expect(names(c.deletes)).toEqual([]);
    expect(names(c.replaces)).toEqual([]);
    expect(c.updates.map((r) => [r.name, r.inputs])).toEqual([
      ["release-mysite-pointer-green", ["tags", "value"]],
      ["app-green-lt", ["tagSpecifications"]],
      ["app-green-asg", ["launchTemplate"]],
    ]);
  });

  it("a new build with both colors pinned uploads the bundle and rolls only the task workers, never a web fleet", () => {
    const c = compareFrom("prod", ["blueRelease=v1", "greenRelease=v1"], "releaseVersion=v2");
    expect([...names(c.creates), ...names(c.deletes)]).toEqual([]);
    expect(names(c.replaces)).toEqual(["release-mysite-bundle"]);
    expect(names(c.updates)).toEqual(["release-mysite-pointer", "tasks-scheduler-asg", "tasks-scheduler-lt", "tasks-worker-asg", "tasks-worker-lt"]);
  });

  it.each([
    ["a canary", "canaryWeight=10"],
    ["the switch to the new color", "liveColor=green"],
    ["a rollback after the switch", "liveColor=blue"],
  ])("%s is one update of the HTTPS listener's weights", (_step, change) => {
    const settings = change === "liveColor=blue" ? [...promoting, "liveColor=green"] : promoting;
    const c = compareFrom("prod", settings, change);
    expect([...names(c.creates), ...names(c.deletes), ...names(c.replaces)]).toEqual([]);
    expect(c.updates.map((r) => [r.name, r.inputs])).toEqual([["lb-https", ["defaultActions"]]]);
  });

  it("stopping the old color scales its group to zero and drops its scaling policy and alarm, nothing else", () => {
    const c = compareFrom("prod", promoting, "idleFleet=stopped");
    expect(names(c.creates)).toEqual([]);
    expect(names(c.replaces)).toEqual([]);
    expect(names(c.deletes)).toEqual(["app-green-below-min", "app-green-cpu-target"]);
    expect(c.updates.map((r) => [r.name, r.inputs])).toEqual([["app-green-asg", ["desiredCapacity", "minSize"]]]);
  });

  it("no step touches the database, buckets, cache, queues, load balancer, certificate or CDN", () => {
    for (const [settings, change] of [
      [["blueRelease=v1", "greenRelease=v1", "idleFleet=running"], "greenRelease=v2"],
      [promoting, "liveColor=green"],
      [promoting, "idleFleet=stopped"],
    ] as const) {
      const c = compareFrom("prod", [...settings], change);
      const touched = [...c.creates, ...c.deletes, ...c.replaces, ...c.updates].map((r) => r.name).filter((n) => STATEFUL.test(n) && n !== "lb-https");
      expect(touched).toEqual([]);
    }
  });
});

describe("moving up the ladder", () => {
  it("single-box → external-db adds RDS and changes the box in place", () => {
    const c = compare("dev", "tier=external-db");
    expect(names(c.creates)).toEqual(expect.arrayContaining(["database-instance", "database-params", "database-sg", "clients-sg", "database-from-app"]));
    // The box's new settings travel in a new configuration document, applied by the rollout.
    expect(names(c.updates)).toEqual(expect.arrayContaining(["box-instance", "box-config-pointer", "secrets-mysite-value"]));
    expect(names(c.replaces)).toEqual(["box-config-document", "box-rollout"]);
    expect(c.updates.find((r) => r.name === "box-instance")!.inputs).toEqual(["vpcSecurityGroupIds"]);
    expect([...c.replaces, ...c.deletes].filter((r) => r.holdsData)).toEqual([]);
  });

  it("external-db → object-storage adds the file buckets and replaces nothing that holds data", () => {
    const c = compare("staging", "tier=object-storage");
    expect(names(c.creates)).toEqual(expect.arrayContaining(["files-static-bucket", "files-media-bucket"]));
    expect([...c.replaces, ...c.deletes].filter((r) => r.holdsData)).toEqual([]);
  });
});

describe("comparePlans", () => {
  const res = (name: string, type: string, inputs: Record<string, unknown>, ignoreChanges: string[] = []): PlannedResource => ({
    type, name, urn: `urn:${name}`, parent: "", isProvider: false, isComponent: false, inputs,
    options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges, aliases: 0, provider: "", dependsOn: [] },
  });

  it("names a replacement of something that holds data, and ignores ignored inputs", () => {
    const before = [res("db", "aws:rds/instance:Instance", { engine: "postgres" }), res("box", "aws:ec2/instance:Instance", { ami: "a", instanceType: "t4g.small" }, ["ami"])];
    const after = [res("db", "aws:rds/instance:Instance", { engine: "mysql" }), res("box", "aws:ec2/instance:Instance", { ami: "b", instanceType: "t4g.small" }, ["ami"])];
    const c = comparePlans(before, after);
    expect(c.replaces).toEqual([expect.objectContaining({ name: "db", inputs: ["engine"], holdsData: "the database" })]);
    expect(c.updates).toEqual([]);
  });
});
