/**
 * Blue-green on one box (the dev stack with boxReleases: blue-green), from
 * two offline plans (`npm run plan -- --compare`): a new build, a new
 * release for the idle color, the switch, a rollback and stopping the old
 * color change only release pointers, the configuration document and the
 * rollout association (a new one per rollout: the provider waits for a
 * rollout's success only when it creates the association) — never the instance, its volume, the buckets or
 * anything else that holds data. And the stack exports what promote reads.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type { comparePlans } from "../../cli/plan-compare";
import { parseOutputs } from "../../cli/promote/workspace";

const repo = path.resolve(__dirname, "../..");
const BLUE_GREEN = ["boxReleases=blue-green", "blueRelease=v1"];

function run(args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), "--stack", "dev", "--json", ...args], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`plan ${args.join(" ")} exited ${r.status}: ${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Plans dev with `settings` (on top of blue-green, blue pinned to v1), then with `change`, and compares. */
function compareFrom(settings: string[], change: string): ReturnType<typeof comparePlans> {
  return run([...[...BLUE_GREEN, ...settings].flatMap((s) => ["--set", s]), "--compare", change]);
}

const changed = (c: ReturnType<typeof comparePlans>) => ({
  creates: c.creates.map((r) => r.name).sort(),
  deletes: c.deletes.map((r) => r.name).sort(),
  replaces: c.replaces.map((r) => [r.name, r.inputs]).sort(),
  updates: c.updates.map((r) => [r.name, r.inputs]).sort(),
});

/** What may change in any step: the release pointers and bundle, the configuration document and its pointer, the rollout. */
const RELEASE_ONLY = /^(release-mysite-(bundle|pointer|pointer-blue|pointer-green)|box-config-(document|pointer)|box-rollout)$/;
/** What holds the site: never touched by a release step. */
const STATEFUL = /^(box-(instance|eip|sg|role|access|profile|logs)|artifacts-|key-|backup-|network-)/;

describe("blue-green on the dev box: each step of a promotion changes only what it must", () => {
  const steps: Array<[string, string[], string]> = [
    ["a new build while both colors are pinned", ["greenRelease=v1"], "releaseVersion=v2"],
    ["a new release for the idle color", ["greenRelease=v1"], "greenRelease=v2"],
    ["starting the idle color", ["greenRelease=v2"], "idleFleet=running"],
    ["the switch to the new color", ["greenRelease=v2", "idleFleet=running"], "liveColor=green"],
    ["a rollback after the switch", ["greenRelease=v2", "idleFleet=running", "liveColor=green"], "liveColor=blue"],
    ["stopping the old color", ["greenRelease=v2", "idleFleet=running", "liveColor=green"], "idleFleet=stopped"],
  ];
  const results = new Map<string, ReturnType<typeof comparePlans>>();
  beforeAll(() => {
    for (const [name, settings, change] of steps) results.set(name, compareFrom(settings, change));
  }, 600_000);

  it("a new build uploads the bundle and re-runs the rollout; neither color's pointer moves", () => {
    expect(changed(results.get("a new build while both colors are pinned")!)).toEqual({
      creates: [],
      deletes: [],
      replaces: [["box-rollout", ["parameters"]], ["release-mysite-bundle", ["key", "tags"]]],
      updates: [["release-mysite-pointer", ["value"]]],
    });
  });

  it("a new release for the idle color moves its pointer and re-runs the rollout", () => {
    expect(changed(results.get("a new release for the idle color")!)).toEqual({
      creates: [],
      deletes: [],
      replaces: [["box-rollout", ["parameters"]]],
      updates: [["release-mysite-pointer-green", ["tags", "value"]]],
    });
  });

  it.each(["starting the idle color", "the switch to the new color", "a rollback after the switch", "stopping the old color"])(
    "%s is a new configuration document and a rollout, nothing else",
    (step) => {
      expect(changed(results.get(step)!)).toEqual({
        creates: [],
        deletes: [],
        replaces: [["box-config-document", ["content", "key"]], ["box-rollout", ["parameters"]]],
        updates: [["box-config-pointer", ["value"]]],
      });
    },
  );

  it("no step touches the box, its disk, its role, the buckets, the key, the backups or the network", () => {
    for (const [name] of steps) {
      const c = results.get(name)!;
      const touched = [...c.creates, ...c.deletes, ...c.replaces, ...c.updates].map((r) => r.name);
      expect({ step: name, stateful: touched.filter((n) => STATEFUL.test(n)), other: touched.filter((n) => !RELEASE_ONLY.test(n)) }).toEqual({ step: name, stateful: [], other: [] });
      expect([...c.replaces, ...c.deletes].filter((r) => r.holdsData)).toEqual([]);
    }
  });
});

describe("turning blue-green on for a running box", () => {
  it("adds the two color pointers and lets the box read them; the box itself is not replaced", () => {
    const c: ReturnType<typeof comparePlans> = run(["--compare", "boxReleases=blue-green"]);
    expect(changed(c)).toEqual({
      creates: ["release-mysite-pointer-blue", "release-mysite-pointer-green"],
      deletes: [],
      replaces: [["box-config-document", ["content", "key"]], ["box-rollout", ["parameters"]]],
      updates: [["box-access", ["policy"]], ["box-config-pointer", ["value"]]],
    });
  });
});

describe("the blue-green dev plan", () => {
  it("exports what npm run promote reads (front: box, no target group), and passes every policy check", () => {
    const report = run([...BLUE_GREEN, "greenRelease=v2", "liveColor=green"].flatMap((s) => ["--set", s]));
    const parsed = parseOutputs(report.outputs, "dev");
    expect(parsed).toEqual({
      front: "box",
      liveColor: "green",
      colors: { blue: { release: "v1", running: false, weight: 0 }, green: { release: "v2", running: true, weight: 100 } },
      siteUrls: [expect.stringMatching(/^http:\/\//)],
      // What promote accepts as --release besides a color's own (the release the next update builds).
      builtRelease: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(report.outputs.builtRelease).toMatch(/^[0-9a-f]{12}$/);
    expect(report.checks.filter((c: { status: string }) => c.status === "fail")).toEqual([]);
    expect(report.notes.join("\n")).toContain("Blue-green on one box: green is live with release v2; blue's gunicorn is stopped.");
  });

  it("refuses a canary on a box, naming the setting and what is allowed (exit 2)", () => {
    const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), "--stack", "dev", "--set", "boxReleases=blue-green", "--set", "idleFleet=running", "--set", "canaryWeight=10"], { cwd: repo, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr + r.stdout).toMatch(/django-tiers:canaryWeight \(got 10\): has no canary on one box/);
  });
});
