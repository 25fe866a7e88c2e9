/**
 * `cli/promote` on a box stack (a box tier with boxReleases: blue-green):
 * no target group, nginx on the one box switches the colors. The fake box
 * answers as its last completed rollout left it (a color header picks the
 * color, no header goes to the live one, a stopped color is a 502), and its
 * rollout can lag behind `pulumi up` as the SSM association does. Every
 * test asserts the settings written, the updates run and the requests made.
 */
import { FakeBox, FakeClock, FakeSmokeTest, FakeStack, FakeTargetHealth, history, MemoryLog, traffic } from "../../cli/promote/fake";
import { runPromote } from "../../cli/promote/machine";
import { parseArgs } from "../../cli/promote/options";
import { Color, PromotionPorts, PromotionSetting, SmokeResult, parseOutputs } from "../../cli/promote/workspace";

const SITE = "http://ec2-203-0-113-10.compute-1.amazonaws.com/";
/** Blue live on v41, green's gunicorn stopped (it ran v40 before). */
const STEADY: Partial<Record<PromotionSetting, string>> = { liveColor: "blue", blueRelease: "v41", greenRelease: "v40" };
/** After a switch to green (v42): blue (v41) still runs. */
const SWITCHED: Partial<Record<PromotionSetting, string>> = { liveColor: "green", blueRelease: "v41", greenRelease: "v42", idleFleet: "running" };

interface BoxWorld {
  stack: FakeStack;
  box: FakeBox;
  health: FakeTargetHealth;
  smoke: FakeSmokeTest;
  clock: FakeClock;
  log: MemoryLog;
  ports: PromotionPorts;
}

/**
 * A box stack. `lag`: how many requests after each `pulumi up` still see the
 * box as it was (its rollout has not run yet). `override` replaces an answer.
 */
function boxWorld(
  settings: Partial<Record<PromotionSetting, string>>,
  { lag = 0, override }: { lag?: number; override?: (url: string, color: Color | undefined, answer: SmokeResult) => SmokeResult | undefined } = {},
): BoxWorld {
  // The box's next update builds v42 (releaseVersion), the release these tests promote.
  const stack = new FakeStack("dev", { releaseVersion: "v42", ...settings }, "box");
  const box = new FakeBox(stack);
  return connect(stack, box, lag, override);
}

function connect(stack: FakeStack, box: FakeBox, lag: number, override?: (url: string, color: Color | undefined, answer: SmokeResult) => SmokeResult | undefined): BoxWorld {
  let behind = 0;
  stack.afterUp = () => {
    behind = lag;
  };
  const ups = () => stack.events.filter((e) => e.kind === "up").length;
  const smoke = new FakeSmokeTest((url, color) => {
    box.rollouts = behind > 0 ? ups() - 1 : undefined;
    if (behind > 0) behind--;
    const answer = box.answer(url, color);
    return override?.(url, color, answer) ?? answer;
  });
  // A box stack has no target group: any call is a bug, and the tests assert there is none.
  const health = new FakeTargetHealth({}, undefined);
  const clock = new FakeClock();
  const log = new MemoryLog();
  return { stack, box, health, smoke, clock, log, ports: { workspace: stack, targetHealth: health, smoke, clock, log } };
}

const rerun = (w: BoxWorld, lag = 0) => connect(w.stack, w.box, lag);

function promote(w: BoxWorld, ...argv: string[]): Promise<number> {
  const options = parseArgs(["--stack", "dev", ...argv]);
  if (options.mode === "help") throw new Error("unexpected --help");
  return runPromote(options, w.ports);
}

const requests = (w: BoxWorld) => w.smoke.requests.map((r) => `${r.url.replace(SITE, "/")} ${r.color ?? "live"}`);

describe("promote on a box: success", () => {
  it("deploys the idle color, waits until it answers through the header, smoke-tests it, switches nginx, waits for live traffic to reach it and stops the old gunicorn", async () => {
    // The box's rollout runs after pulumi up returns: two requests after each update still see the old state.
    const w = boxWorld(STEADY, { lag: 2 });
    expect(await promote(w, "--release", "v42", "--rollback-window", "1")).toBe(0);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on", "blue 0/on green 100/on", "blue 0/off green 100/on"]);
    expect(Object.fromEntries(w.stack.config)).toEqual({ releaseVersion: "v42", liveColor: "green", blueRelease: "v41", greenRelease: "v42", idleFleet: "stopped", canaryWeight: "0" });
    expect(requests(w)).toEqual([
      // step 3: green is still stopped (502) until the rollout starts it
      "/healthz green", "/healthz green", "/healthz green",
      // step 4, and the check just before the switch
      "/healthz green", "/healthz green",
      // after the switch: live traffic still reaches blue until the rollout reloads nginx
      "/healthz live", "/healthz live", "/healthz live",
    ]);
    expect(w.health.calls).toEqual([]);
    expect(w.clock.sleeps).toEqual([15_000, 15_000, 15_000, 15_000, 60_000]);
    expect(w.log.lines).toEqual(expect.arrayContaining([
      "  plan: deploy v42 to green → wait for green to answer → smoke test http://ec2-203-0-113-10.compute-1.amazonaws.com/healthz → switch traffic to green → rollback window 1m00s → stop blue",
      "step 3/8 (wait for the color to answer): green",
      "  waiting for green to answer with X-Django-Tiers-Color: green: got 502 from green (waited 0s of 10m00s)",
      "  green answers with X-Django-Tiers-Color: green after 30s",
      "  waiting for green to answer as live traffic (no header): got 200 from blue (waited 0s of 10m00s)",
      "  green answers as live traffic (no header) after 30s",
      "step 8/8 (stop the previous color): blue's gunicorn stops",
      "done in 2m00s: release v42 is live on green; blue is stopped",
    ]));
  });

  it("pins an unpinned live color first, so the deploy leaves the live gunicorn alone", async () => {
    const w = boxWorld({});
    expect(await promote(w, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(history(w.stack)[0]).toBe("set blueRelease=built-7c1e greenRelease=v42 idleFleet=running canaryWeight=0");
    for (const e of w.stack.events) if (e.kind === "up") expect(e.outputs.colors.blue.release).toBe("built-7c1e");
  });
});

describe("promote on a box: a failed check puts traffic back and stops the new color", () => {
  it("a smoke path that answers 500 from the new color", async () => {
    const w = boxWorld(STEADY, {
      override: (url, color, answer) => (url.endsWith("/status/") && color === "green" ? { status: 500, color: "green" } : answer),
    });
    expect(await promote(w, "--release", "v42", "--smoke-path", "healthz", "--smoke-path", "status/", "--timeout", "1", "--poll", "30")).toBe(1);
    expect(history(w.stack)).toEqual([
      "set greenRelease=v42 idleFleet=running canaryWeight=0",
      "up promote v42: deploy green (no traffic)",
      "set liveColor=blue canaryWeight=0 idleFleet=stopped",
      "up promote v42 failed: traffic stays on blue, stop green",
    ]);
    expect(traffic(w.stack).at(-1)).toBe("blue 100/on green 0/off");
    expect(w.log.text).toMatch(/step 4\/8 \(smoke test\) failed: smoke test of green failed: http:\/\/ec2-203-0-113-10\.compute-1\.amazonaws\.com\/status\/ answered 500 from green, not 200 from green, for 1m00s/);
    // After the restore the box is checked to send live traffic to blue.
    expect(requests(w).at(-1)).toBe("/healthz live");
    expect(w.log.lines.at(-1)).toBe("promotion of release v42 failed; traffic is on blue (release v41) as before");
    expect(w.health.calls).toEqual([]);
  });

  it("a box whose responses do not name their color never counts as answered (nginx must add the header)", async () => {
    const w = boxWorld(STEADY, { override: (_url, _color, answer) => ({ status: answer.status }) });
    expect(await promote(w, "--release", "v42", "--timeout", "0.5", "--poll", "15")).toBe(1);
    expect(w.log.lines).toContain("  waiting for green to answer with X-Django-Tiers-Color: green: got 200 naming no color (no X-Django-Tiers-Color response header) (waited 0s of 30s)");
    expect(w.log.text).toMatch(/step 3\/8 \(wait for the color to answer\) failed: green did not answer .* within 30s/);
    expect(w.stack.ups).toEqual(["promote v42: deploy green (no traffic)", "promote v42 failed: traffic stays on blue, stop green"]);
    expect(w.log.text).toContain("WARNING: blue did not answer");
  });

  it("a switch that never reaches nginx is put back", async () => {
    // The box never applies the switch: live traffic keeps reaching blue.
    const w = boxWorld(STEADY, { override: (_url, color, answer) => (color === undefined ? { status: 200, color: "blue" } : answer) });
    expect(await promote(w, "--release", "v42", "--timeout", "1", "--poll", "30")).toBe(1);
    expect(w.stack.ups).toEqual([
      "promote v42: deploy green (no traffic)",
      "promote v42: switch traffic to green",
      "promote v42 failed: traffic stays on blue, stop green",
    ]);
    expect(w.log.text).toMatch(/step 6\/8 \(switch traffic\) failed: green did not answer .* as live traffic \(no header\) within 1m00s \(last: 200 from blue\)/);
    expect(Object.fromEntries(w.stack.config)).toMatchObject({ liveColor: "blue", idleFleet: "stopped" });
  });
});

describe("promote on a box: refused flags (exit 2, nothing changed)", () => {
  it.each([
    [["--canary", "10"], /^refused: --canary 10: stack dev is a box stack \(boxReleases: blue-green\): nginx on the one box sends all traffic to the live color and switches it at once, so there is no canary/],
    [["--min-healthy", "1"], /^refused: --min-healthy 1: stack dev is a box stack \(boxReleases: blue-green\), which has no load balancer targets to count/],
  ])("%j", async (flags, message) => {
    const w = boxWorld(STEADY);
    expect(await promote(w, "--release", "v42", ...flags)).toBe(2);
    expect(w.stack.events).toEqual([]);
    expect(w.smoke.requests).toEqual([]);
    expect(w.log.lines.at(-1)).toMatch(message);
  });
});

describe("promote --rollback on a box", () => {
  it("with the old color running: checks it answers, switches in one update, waits for live traffic to reach it", async () => {
    const w = boxWorld(SWITCHED, { lag: 1 });
    expect(await promote(w, "--rollback")).toBe(0);
    expect(history(w.stack)).toEqual(["set liveColor=blue canaryWeight=0", "up rollback: traffic to blue (release v41)"]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/on"]);
    expect(requests(w)).toEqual(["/healthz blue", "/healthz live", "/healthz live"]);
    expect(w.health.calls).toEqual([]);
    expect(w.log.lines.at(-1)).toBe("rolled back in 15s: blue (release v41) is live; green still runs: `--finish` stops it");
  });

  it("refuses when the old color does not answer, and changes nothing", async () => {
    const w = boxWorld(SWITCHED, { override: (_url, color, answer) => (color === "blue" ? { status: 502, color: "blue" } : answer) });
    expect(await promote(w, "--rollback")).toBe(1);
    expect(w.stack.events).toEqual([]);
    expect(w.log.lines.at(-1)).toBe(`rollback refused: blue does not answer ${SITE}healthz with X-Django-Tiers-Color: blue (got 502 from blue); traffic stays on green`);
  });

  it("with the old color stopped: one update; the box starts it, switches, and stops the bad one (no --scale-up needed)", async () => {
    const w = boxWorld({ ...SWITCHED, idleFleet: "stopped" }, { lag: 2 });
    expect(await promote(w, "--rollback")).toBe(0);
    expect(history(w.stack)).toEqual(["set liveColor=blue canaryWeight=0", "up rollback: start blue and send traffic to it (release v41)"]);
    expect(traffic(w.stack)).toEqual(["blue 100/on green 0/off"]);
    expect(requests(w)).toEqual(["/healthz live", "/healthz live", "/healthz live"]);
    expect(w.log.lines).toContain("  waiting for blue to answer as live traffic (no header): got 200 from green (waited 0s of 10m00s)");
    expect(w.log.lines.at(-1)).toBe("rolled back in 30s: blue (release v41) is live; green is stopped");

    const up = boxWorld({ ...SWITCHED, idleFleet: "stopped" });
    expect(await promote(up, "--rollback", "--scale-up")).toBe(0);
    expect(up.log.lines).toContain("  (--scale-up is not needed on a box: its rollout starts the stopped color itself)");
    expect(up.stack.ups).toEqual(["rollback: start blue and send traffic to it (release v41)"]);
  });

  it("says so when the box never switches back (exit 1)", async () => {
    const w = boxWorld({ ...SWITCHED, idleFleet: "stopped" }, { override: (_url, color, answer) => (color === undefined ? { status: 200, color: "green" } : answer) });
    expect(await promote(w, "--rollback", "--timeout", "0.5")).toBe(1);
    expect(w.stack.ups).toEqual(["rollback: start blue and send traffic to it (release v41)"]);
    expect(w.log.lines.at(-1)).toMatch(/^rollback not confirmed: blue did not answer .* within 30s \(last: 200 from green\)\. The stack says blue is live; look at the box/);
  });

  it("--finish stops the idle gunicorn", async () => {
    const w = boxWorld(SWITCHED);
    expect(await promote(w, "--finish")).toBe(0);
    expect(history(w.stack)).toEqual(["set idleFleet=stopped canaryWeight=0", "up finish: stop blue"]);
    expect(w.log.lines).toContain("finish: blue (release v41) stops its gunicorn; green (release v42) keeps all traffic");
  });
});

describe("promote on a box: an interrupted run resumes", () => {
  it("after a failed switch update: the rerun re-checks the new color, then switches", async () => {
    const w = boxWorld(STEADY);
    w.stack.beforeUp = (m) => {
      if (m.includes("switch")) throw new Error("error: update canceled: connection reset");
    };
    expect(await promote(w, "--release", "v42", "--rollback-window", "0")).toBe(1);
    expect(w.log.text).toMatch(/update failed at step 6\/8 \(switch traffic\): error: update canceled/);
    expect(w.stack.ups).toEqual(["promote v42: deploy green (no traffic)"]);
    w.stack.beforeUp = undefined;
    const before = w.stack.events.length;

    const again = rerun(w, 1);
    expect(await promote(again, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(again.log.lines).toContain("  resuming at step 3/8 (wait for the color to answer): the switch to green is set but its update did not complete: re-checking green before applying it");
    expect(history(again.stack).slice(before)).toEqual([
      "set liveColor=green canaryWeight=0",
      "up promote v42: switch traffic to green",
      "set idleFleet=stopped canaryWeight=0",
      "up promote v42: stop blue",
    ]);
    expect(again.health.calls).toEqual([]);
  });

  it("after the process died in the rollback window: the rerun only stops the old color", async () => {
    const w = boxWorld(STEADY);
    w.clock.sleep = async () => {
      throw new Error("killed");
    };
    expect(await promote(w, "--release", "v42")).toBe(1);
    expect(w.stack.ups).toEqual(["promote v42: deploy green (no traffic)", "promote v42: switch traffic to green"]);
    const again = rerun(w);
    expect(await promote(again, "--release", "v42", "--rollback-window", "0")).toBe(0);
    expect(again.stack.ups.slice(2)).toEqual(["promote v42: stop blue"]);
    expect(again.log.lines).toContain("done in 0s: release v42 is live on green; blue is stopped");
  });
});

describe("parseOutputs: which front switches the traffic", () => {
  const color = (release: string, running: boolean, weight: number, targetGroupArn?: string) => ({ release, running, weight, ...(targetGroupArn ? { targetGroupArn } : {}) });

  it("reads a box stack's colors (no target groups) as front box, and a load-balanced one as front load-balancer", () => {
    const box = parseOutputs({ liveColor: "blue", colors: { blue: color("v1", true, 100), green: color("v2", false, 0) }, siteUrls: [SITE] }, "dev");
    expect(box).toEqual({ front: "box", liveColor: "blue", colors: { blue: { release: "v1", running: true, weight: 100 }, green: { release: "v2", running: false, weight: 0 } }, siteUrls: [SITE] });
    const lb = parseOutputs({ liveColor: "green", colors: { blue: color("v1", true, 0, "arn:tg-blue"), green: color("v2", true, 100, "arn:tg-green") }, siteUrls: ["https://example.com/"] }, "prod");
    expect(lb.front).toBe("load-balancer");
    expect(lb.colors.green.targetGroupArn).toBe("arn:tg-green");
  });

  it("refuses one color with a target group and one without, and an in-place box stack", () => {
    expect(() => parseOutputs({ liveColor: "blue", colors: { blue: color("v1", true, 100, "arn:tg-blue"), green: color("v2", false, 0) }, siteUrls: [SITE] }, "dev"))
      .toThrow(/output colors.green.targetGroupArn is missing \(colors.blue has one\)/);
    expect(() => parseOutputs({ tier: "single-box", siteUrls: [SITE], releases: { mysite: "v1" } }, "dev"))
      .toThrow(/output liveColor is undefined.*or of a box tier with boxReleases: blue-green/);
  });
});
