/**
 * `cli/promote`: the blue-green state machine against an in-memory stack
 * whose `up()` computes the outputs from the settings as the load-balanced
 * tier does, scripted target health and smoke answers, and a clock that
 * does not sleep. Every test asserts the settings written and the updates
 * run, in order, and where traffic went.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/promote";
import { counts, FAKE_BUILT_RELEASE, FAKE_PREVIEW_KEY, FakeClock, FakeSmokeTest, FakeStack, fakeTargetGroupArn, FakeTargetHealth, history, MemoryLog, traffic } from "../../cli/promote/fake";
import { runPromote, whereToStart } from "../../cli/promote/machine";
import { parseArgs } from "../../cli/promote/options";
import { Color, OutputsError, PromotionPorts, PromotionSetting, ReadSetting, TargetCounts, parseOutputs } from "../../cli/promote/workspace";

const root = path.resolve(__dirname, "../..");
const arn = (c: Color) => fakeTargetGroupArn("prod", c);

/** Blue live on v41, green stopped (it ran v40 before). */
const STEADY: Partial<Record<PromotionSetting, string>> = { liveColor: "blue", blueRelease: "v41", greenRelease: "v40" };
/** After a switch to green (v42): blue (v41) still runs. */
const SWITCHED: Partial<Record<PromotionSetting, string>> = { liveColor: "green", blueRelease: "v41", greenRelease: "v42", idleFleet: "running" };

interface World {
  stack: FakeStack;
  health: FakeTargetHealth;
  smoke: FakeSmokeTest;
  clock: FakeClock;
  log: MemoryLog;
  ports: PromotionPorts;
  /** Updates after which a color with weight > 0 had not-ready targets. */
  violations: string[];
}

/**
 * A stack whose next update builds release v42 (releaseVersion: v42, as the
 * runbook has the operator set it before promoting), unless `settings` says otherwise.
 */
function world(
  settings: Partial<Record<ReadSetting, string>>,
  scripts: Partial<Record<Color, Array<TargetCounts | Error>>> = {},
  smokeAnswer?: (url: string, color: Color | undefined, attempt: number) => number,
  fleetMinSize = 2,
): World {
  const health = new FakeTargetHealth(Object.fromEntries(Object.entries(scripts).map(([c, s]) => [arn(c as Color), s])));
  return connect(new FakeStack("prod", { releaseVersion: "v42", ...settings }, "load-balancer", fleetMinSize), health, new FakeSmokeTest(smokeAnswer), []);
}

/** A run (a new process: new clock and log) against a stack and its cloud. */
function connect(stack: FakeStack, health: FakeTargetHealth, smoke: FakeSmokeTest, violations: string[]): World {
  const clock = new FakeClock();
  const log = new MemoryLog();
  stack.afterUp = (outputs) => {
    for (const c of ["blue", "green"] as Color[]) {
      const now = health.current(arn(c));
      if (outputs.colors[c].weight > 0 && (now.healthy < 1 || now.unhealthy > 0 || now.initial > 0)) violations.push(`${c} got ${outputs.colors[c].weight}% with ${JSON.stringify(now)}`);
    }
  };
  return { stack, health, smoke, clock, log, violations, ports: { workspace: stack, targetHealth: health, smoke, clock, log } };
}

const rerun = (w: World) => connect(w.stack, w.health, w.smoke, w.violations);

function promote(w: World, ...argv: string[]): Promise<number> {
  const options = parseArgs(["--stack", "prod", ...argv]);
  if (options.mode === "help") throw new Error("unexpected --help");
  return runPromote(options, w.ports);
}

const config = (stack: FakeStack) => Object.fromEntries(stack.config);

describe("promote: success", () => {
  it("pins an unpinned live color to the release it runs, so the deploy of the idle color leaves it alone", async () => {
    const w = world({ liveColor: "blue" });
    expect(await promote(w, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(history(w.stack)[0]).toBe(`set blueRelease=${FAKE_BUILT_RELEASE} greenRelease=v42 idleFleet=running canaryWeight=0`);
    // Blue kept its release through every update.
    for (const e of w.stack.events) if (e.kind === "up") expect(e.outputs.colors.blue.release).toBe(FAKE_BUILT_RELEASE);
    expect(config(w.stack)).toMatchObject({ liveColor: "green", blueRelease: FAKE_BUILT_RELEASE, greenRelease: "v42" });
  });

  it("deploys the idle color, waits for it, smoke-tests it, switches in one update, waits the rollback window and stops the old color", async () => {
    const w = world(STEADY, { green: [counts(0, { initial: 2 }), counts(1, { initial: 1 }), counts(2)] });
    const code = await promote(w, "--release", "v42", "--rollback-window", "2");
    expect(code).toBe(0);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on", "blue 0/on green 100/on", "blue 0/off green 100/on"]);
    expect(config(w.stack)).toEqual({ releaseVersion: "v42", liveColor: "green", blueRelease: "v41", greenRelease: "v42", idleFleet: "stopped", canaryWeight: "0" });
    expect(w.violations).toEqual([]);
    // Three polls 15 s apart, then the smoke test, the check before the switch, and two minutes of window.
    expect(w.health.calls).toEqual([arn("green"), arn("green"), arn("green"), arn("green")]);
    // Through the load balancer a color is reached only with the stack's preview key, which the log never shows.
    const preview = { url: "https://example.com/healthz", color: "green", previewKey: FAKE_PREVIEW_KEY };
    expect(w.smoke.requests).toEqual([preview, preview]);
    expect(w.log.lines).toContain("  smoke test: GET https://example.com/healthz with X-Django-Tiers-Preview: green.<previewKey>, until it answers 200 (up to 10m00s)");
    expect(w.log.text).not.toContain(FAKE_PREVIEW_KEY);
    expect(w.clock.sleeps).toEqual([15_000, 15_000, 60_000, 60_000]);
    expect(w.log.lines).toEqual(expect.arrayContaining([
      "  waiting for green's targets: 0 healthy, 0 unhealthy, 2 initial, 0 draining (waited 0s of 10m00s)",
      "  waiting for green's targets: 1 healthy, 0 unhealthy, 1 initial, 0 draining (waited 15s of 10m00s)",
      "  green is healthy after 30s: 2 healthy, 0 unhealthy, 0 initial, 0 draining",
      "  rollback window: 2m00s left (waited 0s of 2m00s)",
      "  rollback window: 1m00s left (waited 1m00s of 2m00s)",
      "done in 2m30s: release v42 is live on green; blue is stopped",
    ]));
  });

  it("with --canary sends N% to the new color, watches it, then switches", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    const code = await promote(w, "--release", "v42", "--canary", "10", "--canary-minutes", "1", "--poll", "20", "--rollback-window", "0", "--smoke-path", "healthz", "--smoke-path", "/status/");
    expect(code).toBe(0);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set canaryWeight=10",
      "up promote v42: canary 10% to green",
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on", "blue 90/on green 10/on", "blue 0/on green 100/on", "blue 0/off green 100/on"]);
    expect(w.violations).toEqual([]);
    // Canary watch: three polls of 20 s, each checking health and both smoke paths.
    expect(w.clock.sleeps).toEqual([20_000, 20_000, 20_000]);
    expect(new Set(w.smoke.requests.map((r) => r.url))).toEqual(new Set(["https://example.com/healthz", "https://example.com/status/"]));
    expect(w.smoke.requests.every((r) => r.color === "green")).toBe(true);
    expect(w.log.lines).toContain("  canary: green gets 10%: 2 healthy, 0 unhealthy, 0 initial, 0 draining; smoke 200 (watched 40s of 1m00s)");
    expect(w.log.lines).toContain("step 7/8 (rollback window): none (--rollback-window 0)");
  });

  it("waits out targets still in their initial health checks even when --min-healthy are healthy", async () => {
    const w = world(STEADY, { green: [counts(1, { initial: 1 }), counts(1, { initial: 1 }), counts(2)] });
    expect(await promote(w, "--release", "v42", "--min-healthy", "1", "--rollback-window", "0")).toBe(0);
    expect(w.clock.sleeps).toEqual([15_000, 15_000]);
    expect(w.log.lines).toContain("  green is healthy after 30s: 2 healthy, 0 unhealthy, 0 initial, 0 draining");
    expect(w.violations).toEqual([]);
  });

  it("does nothing when the release is already live and the other color stopped", async () => {
    const w = world({ liveColor: "green", greenRelease: "v42" });
    expect(await promote(w, "--release", "v42")).toBe(0);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines).toContain("release v42 is already live on green and blue is stopped: nothing to do");
  });
});

describe("promote: the release must exist", () => {
  it("refuses a label the stack does not build and no color runs, before anything changes", async () => {
    // releaseVersion unset: the next update builds the folders' hash, and nothing builds a bundle v42.
    const w = world({ ...STEADY, releaseVersion: "" });
    expect(await promote(w, "--release", "v42")).toBe(2);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines.at(-1)).toBe(
      `refused: release v42 is not built by stack prod: its next update builds ${FAKE_BUILT_RELEASE} (releaseVersion is unset: the hash of the app folders)` +
        " and the colors run blue v41, green v40, so green would boot a bundle v42 that is not in the artifacts bucket." +
        ` Label the app folders first: \`pulumi config set django-tiers:releaseVersion v42 --stack prod\` (the deploy's update then builds bundle v42), or promote ${FAKE_BUILT_RELEASE}`,
    );
  });

  it("refuses a label other than releaseVersion's", async () => {
    const w = world({ ...STEADY, releaseVersion: "v43" });
    expect(await promote(w, "--release", "v42")).toBe(2);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines.at(-1)).toMatch(/^refused: release v42 is not built by stack prod: its next update builds v43 \(releaseVersion\)/);
  });

  it("promotes the folders' hash, or a release a color already runs (its bundle is in the bucket)", async () => {
    const hash = world({ ...STEADY, releaseVersion: "" });
    expect(await promote(hash, "--release", FAKE_BUILT_RELEASE, "--rollback-window", "0")).toBe(0);
    const back = world({ ...STEADY, releaseVersion: "v43" });
    expect(await promote(back, "--release", "v40", "--rollback-window", "0")).toBe(0);
    expect(config(back.stack)).toMatchObject({ liveColor: "green", greenRelease: "v40" });
  });
});

describe("promote: previews need the stack's key", () => {
  it("fails the smoke test, and puts traffic back, when the stack exports no preview key (the request would reach the live fleet)", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    const up = w.stack.up.bind(w.stack);
    w.stack.up = async (message) => {
      const outputs = await up(message);
      delete outputs.previewKey;
      return outputs;
    };
    expect(await promote(w, "--release", "v42")).toBe(1);
    expect(w.smoke.requests).toEqual([]);
    expect(w.log.text).toContain("stack prod exports no previewKey, so no request can reach green alone");
    expect(config(w.stack)).toMatchObject({ liveColor: "blue", idleFleet: "stopped" });
  });
});

describe("promote: healthy targets, by default the fleet's own minimum", () => {
  it("promotes a fleet of one without --min-healthy", async () => {
    const w = world(STEADY, { green: [counts(1)] }, undefined, 1);
    expect(await promote(w, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(w.log.text).toContain("waiting for green's targets (" + arn("green") + "): at least 1 healthy");
    expect(config(w.stack)).toMatchObject({ liveColor: "green", greenRelease: "v42" });
  });

  it("waits for the fleet's minimum of 3 when the stack says so", async () => {
    const w = world(STEADY, { green: [counts(2)] }, undefined, 3);
    expect(await promote(w, "--release", "v42", "--timeout", "1")).toBe(1);
    expect(w.log.text).toContain("at least 3 healthy");
    expect(config(w.stack)).toMatchObject({ liveColor: "blue" });
  });
});

describe("promote: a failed check puts traffic back where it was and stops the new color", () => {
  const restored = {
    liveColor: "blue",
    greenRelease: "v42",
    idleFleet: "stopped",
    canaryWeight: "0",
  };

  it("unhealthy targets until the timeout", async () => {
    const w = world(STEADY, { green: [counts(1, { unhealthy: 1 })] });
    const code = await promote(w, "--release", "v42", "--timeout", "1");
    expect(code).toBe(1);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set liveColor=blue canaryWeight=0 idleFleet=stopped",
      "up promote v42 failed: traffic stays on blue, stop green",
    ]);
    expect(config(w.stack)).toMatchObject(restored);
    expect(traffic(w.stack).at(-1)).toBe("blue 100/on green 0/off");
    expect(w.clock.t).toBe(60_000);
    expect(w.smoke.requests).toEqual([]);
    expect(w.log.lines).toContain("  waiting for green's targets: 1 healthy, 1 unhealthy, 0 initial, 0 draining (waited 1m00s of 1m00s)");
    expect(w.log.text).toMatch(/step 3\/8 \(wait for healthy targets\) failed: green's targets were not healthy within 1m00s/);
    expect(w.log.lines.at(-1)).toBe("promotion of release v42 failed; traffic is on blue (release v41) as before");
    expect(w.violations).toEqual([]);
  });

  it("keeps polling through errors reading target health, and times out on them", async () => {
    const w = world(STEADY, { green: [new Error("Throttling: Rate exceeded")] });
    expect(await promote(w, "--release", "v42", "--timeout", "0.5", "--poll", "10")).toBe(1);
    expect(w.log.lines).toContain("  could not read green's target health: Throttling: Rate exceeded");
    expect(w.health.calls).toHaveLength(4);
    expect(config(w.stack)).toMatchObject(restored);
  });

  it("a smoke test that never answers 200", async () => {
    const w = world(STEADY, { green: [counts(2)] }, () => 502);
    const code = await promote(w, "--release", "v42", "--timeout", "1", "--poll", "30");
    expect(code).toBe(1);
    expect(history(w.stack).slice(2)).toEqual(["set liveColor=blue canaryWeight=0 idleFleet=stopped", "up promote v42 failed: traffic stays on blue, stop green"]);
    expect(w.smoke.requests).toHaveLength(3);
    expect(w.log.lines).toContain("  waiting for https://example.com/healthz (green) to answer 200: got 502 (waited 30s of 1m00s)");
    expect(config(w.stack)).toMatchObject(restored);
  });

  it("a canary that goes unhealthy goes back to weight 0", async () => {
    const w = world(STEADY, { green: [counts(2), counts(2), counts(1, { unhealthy: 1 })] });
    const code = await promote(w, "--release", "v42", "--canary", "20", "--canary-minutes", "5");
    expect(code).toBe(1);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set canaryWeight=20",
      "up promote v42: canary 20% to green",
      "set liveColor=blue canaryWeight=0 idleFleet=stopped",
      "up promote v42 failed: traffic stays on blue, stop green",
    ]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on", "blue 80/on green 20/on", "blue 100/on green 0/off"]);
    expect(w.log.text).toMatch(/step 5\/8 \(canary\) failed: green's targets are not healthy: 1 healthy, 1 unhealthy/);
  });

  it("a canary whose smoke test starts failing goes back to weight 0", async () => {
    const w = world(STEADY, { green: [counts(2)] }, (_url, _color, attempt) => (attempt >= 3 ? 500 : 200));
    expect(await promote(w, "--release", "v42", "--canary", "5")).toBe(1);
    expect(config(w.stack)).toMatchObject(restored);
    expect(w.log.text).toMatch(/step 5\/8 \(canary\) failed: smoke test of green failed: https:\/\/example.com\/healthz answered 500/);
  });

  it("re-checks the new color just before the switch", async () => {
    const w = world(STEADY, { green: [counts(2), counts(0, { unhealthy: 2 })] });
    expect(await promote(w, "--release", "v42")).toBe(1);
    expect(history(w.stack).filter((l) => l.startsWith("up"))).toEqual(["up promote v42: deploy green (no traffic)", "up promote v42 failed: traffic stays on blue, stop green"]);
    expect(w.violations).toEqual([]);
  });
});

describe("promote: an interrupted run resumes where it stopped", () => {
  it("after a failed update during the canary: the rerun does not redeploy", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    let fail = true;
    w.stack.beforeUp = (message) => {
      if (fail && message.includes("canary")) {
        fail = false;
        throw new Error("error: update canceled: connection reset");
      }
    };
    expect(await promote(w, "--release", "v42", "--canary", "10", "--rollback-window", "0")).toBe(1);
    expect(w.log.text).toMatch(/update failed at step 5\/8 \(canary\): error: update canceled: connection reset/);
    expect(w.log.text).toContain("the stack's settings now: liveColor=blue blueRelease=v41 greenRelease=v42 canaryWeight=10 idleFleet=running");
    const before = w.stack.events.length;

    const again = rerun(w);
    expect(await promote(again, "--release", "v42", "--canary", "10", "--rollback-window", "0")).toBe(0);
    expect(again.log.lines).toContain("  resuming at step 3/8 (wait for healthy targets): green already runs release v42 (deployed by an earlier run): not redeploying");
    expect(history(again.stack).slice(before)).toEqual([
      "set canaryWeight=10",
      "up promote v42: canary 10% to green",
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
    expect(w.violations).toEqual([]);
  });

  it("after the process died in the rollback window (step 7): the rerun only finishes", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    w.clock.sleep = async () => {
      throw new Error("killed");
    };
    expect(await promote(w, "--release", "v42")).toBe(1);
    expect(config(w.stack)).toMatchObject({ liveColor: "green", idleFleet: "running" });
    const before = w.stack.events.length;

    const again = rerun(w);
    expect(await promote(again, "--release", "v42", "--rollback-window", "1")).toBe(0);
    expect(again.log.text).toContain("resuming at step 7/8 (rollback window): traffic is already on green (release v42) and blue still runs");
    expect(history(again.stack).slice(before)).toEqual(["set idleFleet=stopped canaryWeight=0", "up promote v42: stop blue"]);
    expect(again.clock.sleeps).toEqual([60_000]);
  });

  it("after a failed switch update: the rerun re-checks the new color before applying the switch", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    w.stack.beforeUp = (message) => {
      if (message.includes("switch")) throw new Error("error: the ALB listener update failed");
    };
    expect(await promote(w, "--release", "v42", "--rollback-window", "0")).toBe(1);
    expect(config(w.stack)).toMatchObject({ liveColor: "green" });
    expect(traffic(w.stack).at(-1)).toBe("blue 100/on green 0/on");
    w.stack.beforeUp = undefined;
    const before = w.stack.events.length;
    const healthCalls = w.health.calls.length;

    const again = rerun(w);
    expect(await promote(again, "--release", "v42", "--canary", "10", "--rollback-window", "0")).toBe(0);
    expect(again.log.text).toContain("resuming at step 3/8 (wait for healthy targets): the switch to green is set but its update did not complete");
    expect(again.log.text).toContain("step 5/8 (canary): skipped");
    expect(w.health.calls.length).toBeGreaterThan(healthCalls);
    expect(history(again.stack).slice(before)).toEqual([
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
  });

  it("after a failed deploy update: the rerun runs the deploy again", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    w.stack.beforeUp = () => {
      throw new Error("error: creating Auto Scaling Group: ValidationError");
    };
    expect(await promote(w, "--release", "v42")).toBe(1);
    w.stack.beforeUp = undefined;
    const again = rerun(w);
    expect(await promote(again, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(again.log.text).toContain("resuming at step 2/8 (deploy): the deploy of v42 to green is set but its update did not complete");
    expect(again.stack.ups).toEqual(["promote v42: deploy green (no traffic)", "promote v42: switch traffic to green", "promote v42: stop blue"]);
  });

  it("refuses another release while one is in progress, naming the ways out", async () => {
    const canary = world({ ...STEADY, greenRelease: "v42", idleFleet: "running", canaryWeight: "10" });
    expect(await promote(canary, "--release", "v43")).toBe(2);
    expect(canary.stack.events).toEqual([]);
    expect(canary.log.lines.at(-1)).toMatch(/^refused: a promotion of release v42 to green is in progress \(canary: 10% of traffic\)\. Finish it first: `--finish` keeps blue live and stops green; `--release v42` continues its promotion/);

    const window = world(SWITCHED);
    expect(await promote(window, "--release", "v43")).toBe(2);
    expect(window.stack.events).toEqual([]);
    expect(window.log.lines.at(-1)).toMatch(/blue is running release v41: either a promotion of it waiting for its switch, or the rollback window of the last promotion/);
  });
});

describe("promote --rollback and --finish", () => {
  it("rolls back in one update when the previous color still runs", async () => {
    const w = world(SWITCHED);
    expect(await promote(w, "--rollback")).toBe(0);
    expect(history(w.stack)).toEqual(["set liveColor=blue canaryWeight=0", "up rollback: traffic to blue (release v41)"]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on"]);
    expect(w.clock.sleeps).toEqual([]);
    expect(w.log.lines.at(-1)).toBe("rolled back in 0s: blue (release v41) is live; green still runs: `--finish` stops it");
  });

  it("refuses to roll back to a color without healthy targets", async () => {
    const w = world(SWITCHED, { blue: [counts(0, { unhealthy: 2 })] });
    expect(await promote(w, "--rollback")).toBe(1);
    expect(w.stack.events).toEqual([]);
  });

  it("stops a running canary: all traffic back to the live color", async () => {
    const w = world({ ...STEADY, greenRelease: "v42", idleFleet: "running", canaryWeight: "10" });
    expect(await promote(w, "--rollback")).toBe(0);
    expect(history(w.stack)).toEqual(["set canaryWeight=0", "up rollback: stop the canary to green"]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on"]);
  });

  it("refuses when the previous color is stopped, unless --scale-up", async () => {
    const stopped = { ...SWITCHED, idleFleet: "stopped" };
    const w = world(stopped);
    expect(await promote(w, "--rollback")).toBe(2);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines.at(-1)).toBe("refused: blue (release v41) is stopped: a rollback to it has to start its fleet first, which takes minutes. Run `npm run promote -- --stack prod --rollback --scale-up` to start it, wait for healthy targets, and switch");

    const up = world(stopped, { blue: [counts(0, { initial: 2 }), counts(2)] });
    expect(await promote(up, "--rollback", "--scale-up")).toBe(0);
    expect(history(up.stack)).toEqual([
      "set idleFleet=running canaryWeight=0",
      "up rollback: start blue",
      "set liveColor=blue",
      "up rollback: traffic to blue (release v41)",
    ]);
    expect(traffic(up.stack)).toEqual(["blue 0/on green 100/on", "blue 100/on green 0/on"]);
    expect(up.violations).toEqual([]);
    expect(up.log.lines).toContain("  waiting for blue's targets: 0 healthy, 0 unhealthy, 2 initial, 0 draining (waited 0s of 10m00s)");
  });

  it("--rollback --scale-up that never gets healthy stops the color again", async () => {
    const w = world({ ...SWITCHED, idleFleet: "stopped" }, { blue: [counts(0, { unhealthy: 2 })] });
    expect(await promote(w, "--rollback", "--scale-up", "--timeout", "1")).toBe(1);
    expect(history(w.stack).slice(2)).toEqual(["set idleFleet=stopped", "up rollback failed: stop blue"]);
    expect(config(w.stack)).toMatchObject({ liveColor: "green", idleFleet: "stopped" });
  });

  it("--finish stops the idle color now, and then has nothing to do", async () => {
    const w = world(SWITCHED);
    expect(await promote(w, "--finish")).toBe(0);
    expect(history(w.stack)).toEqual(["set idleFleet=stopped canaryWeight=0", "up finish: stop blue"]);
    expect(traffic(w.stack)).toEqual(["blue 0/off green 100/on"]);
    const again = rerun(w);
    expect(await promote(again, "--finish")).toBe(0);
    expect(again.stack.events).toHaveLength(2);
    expect(again.log.lines.at(-1)).toBe("nothing to do: blue is already stopped");
  });

  it("--finish refuses a switch that did not complete (it would apply it unchecked)", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    w.stack.beforeUp = (m) => {
      if (m.includes("switch")) throw new Error("boom");
    };
    await promote(w, "--release", "v42");
    const before = w.stack.events.length;
    const again = rerun(w);
    expect(await promote(again, "--finish")).toBe(2);
    expect(again.stack.events).toHaveLength(before);
    expect(again.log.lines.at(-1)).toMatch(/liveColor is set to green but traffic is on blue: a switch did not complete/);
  });
});

describe("promote --breaking-migrations", () => {
  it("is refused without --yes, after printing why", async () => {
    const w = world(STEADY);
    expect(await promote(w, "--release", "v42", "--breaking-migrations")).toBe(2);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines[0]).toMatch(/^WARNING: release v42 has contract \(non-backward-compatible\) migrations/);
    expect(w.log.lines.at(-1)).toBe("refused: rerun with --yes to promote a release with contract migrations (nothing was changed)");
  });

  it("with --yes switches right after the smoke test and stops the previous color without a window", async () => {
    const w = world(STEADY, { green: [counts(2)] });
    expect(await promote(w, "--release", "v42", "--breaking-migrations", "--yes")).toBe(0);
    expect(w.stack.ups).toEqual(["promote v42: deploy green (no traffic)", "promote v42: switch traffic to green", "promote v42: stop blue"]);
    expect(w.clock.sleeps).toEqual([]);
    expect(w.log.text).toContain("step 7/8 (rollback window): none, release v42 has contract migrations and blue's release cannot read the new schema");
  });
});

describe("whereToStart (the stack config is the state)", () => {
  const outputsOf = (settings: Partial<Record<PromotionSetting, string>>) => new FakeStack("prod", settings).outputs();
  const cfg = (liveColor: Color, blue: string, green: string, idleFleet: "running" | "stopped", canaryWeight = 0) => ({ liveColor, releases: { blue, green }, idleFleet, canaryWeight });

  it("maps each state a promotion leaves behind to its next step", async () => {
    const steady = await outputsOf(STEADY);
    expect(whereToStart(cfg("blue", "v41", "v40", "stopped"), steady, "v42")).toMatchObject({ kind: "run", target: "green", from: "deploy", why: "" });
    const deployed = await outputsOf({ ...STEADY, greenRelease: "v42", idleFleet: "running" });
    expect(whereToStart(cfg("blue", "v41", "v42", "running"), deployed, "v42")).toMatchObject({ target: "green", from: "wait-healthy" });
    expect(whereToStart(cfg("blue", "v41", "v42", "running", 10), deployed, "v42")).toMatchObject({ target: "green", from: "wait-healthy" });
    expect(whereToStart(cfg("blue", "v41", "v42", "running"), steady, "v42")).toMatchObject({ target: "green", from: "deploy" });
    const switched = await outputsOf(SWITCHED);
    expect(whereToStart(cfg("green", "v41", "v42", "running"), switched, "v42")).toMatchObject({ target: "green", from: "rollback-window" });
    expect(whereToStart(cfg("green", "v41", "v42", "running"), deployed, "v42")).toMatchObject({ target: "green", from: "wait-healthy" });
    expect(whereToStart(cfg("green", "v41", "v42", "stopped"), switched, "v42")).toMatchObject({ target: "green", from: "finish" });
    const done = await outputsOf({ ...SWITCHED, idleFleet: "stopped" });
    expect(whereToStart(cfg("green", "v41", "v42", "stopped"), done, "v42")).toMatchObject({ kind: "done" });
    expect(whereToStart(cfg("green", "v41", "v42", "running"), switched, "v43")).toMatchObject({ kind: "refuse" });
  });
});

describe("promote: bad settings and outputs", () => {
  it("names a bad stack setting and what is allowed", async () => {
    const w = world({ liveColor: "red" });
    expect(await promote(w, "--release", "v42")).toBe(2);
    expect(w.log.lines.at(-1)).toBe('refused: stack prod: setting django-tiers:liveColor is "red"; allowed: blue, green');
    const c = world({ canaryWeight: "75" });
    expect(await promote(c, "--release", "v42")).toBe(2);
    expect(c.log.lines.at(-1)).toMatch(/django-tiers:canaryWeight is "75"; allowed: an integer from 0 to 50/);
  });

  it("refuses a stack without the load-balanced tier's outputs", async () => {
    expect(() => parseOutputs({ siteUrls: ["https://example.com/"] }, "dev")).toThrow(OutputsError);
    expect(() => parseOutputs({ liveColor: "blue", colors: { blue: {}, green: {} }, siteUrls: [] }, "dev")).toThrow(/output colors.blue.release is not a string/);
    const w = world(STEADY);
    w.stack.outputs = async () => parseOutputs({ publicUrl: "http://ec2-1-2-3-4/" }, "dev");
    expect(await promote(w, "--release", "v42")).toBe(2);
    expect(w.log.lines.at(-1)).toMatch(/^refused: stack dev: output liveColor is undefined, expected "blue" or "green"; a promotion needs the outputs of the load-balanced tier/);
  });
});

describe("the promote CLI", () => {
  function cli(argv: string[], w = world(STEADY, { green: [counts(1, { initial: 1 }), counts(2)] })) {
    const out = new MemoryLog();
    const err = new MemoryLog();
    let connected = 0;
    const run = main(argv, {
      out,
      err,
      connect: async (_options, log) => {
        connected++;
        return { ...w.ports, log };
      },
    });
    return { run, out, err, connected: () => connected, w };
  }

  it.each([
    [[], "--stack is required"],
    [["--stack", "prod"], "--release is required: the version label to promote (or use --rollback or --finish)"],
    [["--stack", "prod", "--release", "v 42"], '--release "v 42": must be 1–64 characters of letters, digits'],
    [["--stack", "prod", "--release", "v42", "--canary", "60"], '--canary "60": must be an integer from 1 to 50'],
    [["--stack", "prod", "--release", "v42", "--canary", "ten"], '--canary "ten": must be an integer from 1 to 50'],
    [["--stack", "prod", "--release", "v42", "--canary-minutes", "5"], "--canary-minutes goes with --canary <percent>"],
    [["--stack", "prod", "--release", "v42", "--canary", "10", "--breaking-migrations"], "--canary 10 with --breaking-migrations: a canary runs both releases against one schema"],
    [["--stack", "prod", "--release", "v42", "--breaking-migrations", "--rollback-window", "5"], "--rollback-window with --breaking-migrations: there is no rollback window"],
    [["--stack", "prod", "--release", "v42", "--rollback-window", "-1"], '--rollback-window "-1": must be a number from 0 to 1440'],
    [["--stack", "prod", "--release", "v42", "--timeout", "0"], '--timeout "0": must be a number from 0.1 to 120'],
    [["--stack", "prod", "--release", "v42", "--smoke-path", "http://evil/"], '--smoke-path "http://evil/": must be a URL path'],
    [["--stack", "prod", "--rollback", "--finish"], "--rollback and --finish cannot be combined"],
    [["--stack", "prod", "--rollback", "--release", "v42"], "--release is not used with --rollback"],
    [["--stack", "prod", "--finish", "--canary", "5", "--timeout", "3"], "--canary, --timeout are not used with --finish"],
    [["--stack", "prod", "--release", "v42", "--scale-up"], "--scale-up goes with --rollback"],
    [["--stack", "prod", "--release", "v42", "--release", "v43"], "--release is given 2 times; give it once"],
    [["--stack", "prod", "--release"], "--release needs a value"],
    [["--stack", "prod", "--relase", "v42"], 'unknown argument "--relase"'],
  ])("%j → exit 2: %s", async (argv, message) => {
    const c = cli(argv);
    expect(await c.run).toBe(2);
    expect(c.err.lines[0]).toContain(`promote: ${message}`);
    expect(c.err.lines[0]).toContain("usage:");
    expect(c.connected()).toBe(0);
    expect(c.w.stack.events).toEqual([]);
  });

  it("prints what each wait waits for and how long it has waited", async () => {
    const c = cli(["--stack=prod", "--release=v42", "--rollback-window=1", "--poll=10"]);
    expect(await c.run).toBe(0);
    const waits = c.out.lines.filter((l) => /waited|waiting/.test(l));
    expect(waits).toEqual([
      `  waiting for green's targets (${arn("green")}): at least 2 healthy, none unhealthy or initial; polling every 10s, up to 10m00s`,
      "  waiting for green's targets: 1 healthy, 0 unhealthy, 1 initial, 0 draining (waited 0s of 10m00s)",
      "  rollback window: 1m00s left (waited 0s of 1m00s)",
    ]);
    expect(c.out.lines).toContain("  green is healthy after 10s: 2 healthy, 0 unhealthy, 0 initial, 0 draining");
    expect(c.out.lines).toContain("  plan: deploy v42 to green → wait for green's targets → smoke test https://example.com/healthz → switch traffic to green → rollback window 1m00s → stop blue");
  });

  it("prints usage for --help without touching a stack", async () => {
    const c = cli(["--help"]);
    expect(await c.run).toBe(0);
    expect(c.out.lines[0]).toMatch(/^usage:\n {2}npm run promote -- --stack <name> --release <version>/);
    expect(c.connected()).toBe(0);
  });

  it("keeps the state machine, options and fakes free of Pulumi (only automation.ts loads the Automation API)", () => {
    for (const file of ["machine.ts", "options.ts", "workspace.ts", "fake.ts"]) {
      const text = fs.readFileSync(path.join(root, "cli/promote", file), "utf8");
      expect(text).not.toMatch(/from "@pulumi|require\("@pulumi|\.\/automation"/);
    }
    expect(fs.readFileSync(path.join(root, "cli/promote.ts"), "utf8")).not.toMatch(/^import .*automation/m);
  });

  it("exits 2 with a clear message when the pulumi CLI is not installed", () => {
    const r = spawnSync(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), "cli/promote.ts", "--stack", "prod", "--release", "v42"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: path.dirname(process.execPath) },
    });
    expect(r.stderr).toContain("promote: `pulumi` is not on PATH. promote needs the Pulumi CLI");
    expect(r.status).toBe(2);
  });

  it("asks for the AWS CLI only when told to (a stack with a load balancer), and names what it is for", () => {
    // In a child process: jest's process.env is the sandbox's copy, which child_process does not read.
    const script = `import { checkTools } from "./cli/promote/automation";
      const report = (p: Promise<void>) => p.then(() => "ok", (e: Error) => \`\${e.name}: \${e.message}\`);
      (async () => console.log(JSON.stringify([await report(checkTools([])), await report(checkTools(["aws"])), await report(checkTools(["pulumi", "aws"]))])))();`;
    const r = spawnSync(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), "--eval", script], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: path.dirname(process.execPath) },
    });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([
      "ok",
      "EnvironmentError: `aws` is not on PATH. promote needs the AWS CLI v2 (https://docs.aws.amazon.com/cli/), with credentials that may call " +
        "elasticloadbalancing:DescribeTargetHealth, to promote a stack with a load balancer (a box stack does without it).",
      "EnvironmentError: `pulumi` is not on PATH. promote needs the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), logged in to the stack's backend.",
    ]);
  });
});
