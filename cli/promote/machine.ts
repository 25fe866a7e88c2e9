/**
 * Blue-green promotion as an explicit state machine over the stack's own
 * settings. The steps:
 *
 *   1 preflight        read the settings and outputs; find where to start
 *   2 deploy           <idle>Release=R, idleFleet=running, canaryWeight=0, up
 *   3 wait-healthy     the new color's target group: ≥ min healthy, none unhealthy or initial
 *   4 smoke            GET each smoke URL with the preview header of <new> until 200
 *   5 canary           canaryWeight=N, up; watch health and smoke for M minutes
 *   6 switch           liveColor=<new>, canaryWeight=0, up (the old color keeps running)
 *   7 rollback-window  wait W minutes (`--rollback` sends traffic back in seconds)
 *   8 finish           idleFleet=stopped, up (the old color scales to zero)
 *
 * On a box stack (a box tier with boxReleases: blue-green) nginx on the one
 * box switches the colors and there is no target group: `pulumi up` changes
 * the box's release pointers and configuration, and the box's rollout (an
 * SSM association, which `pulumi up` does not wait for) starts, switches or
 * stops the colors. So step 3 waits until a request with the color header
 * is answered by that color (the response's own X-Django-Tiers-Color names
 * it: the rollout has started it, and its release phase had already waited
 * for its /healthz), the switch waits until live traffic is answered by the
 * new color, and step 8 stops the old color's gunicorn. A box has no canary
 * and no targets: `--canary` and `--min-healthy` are refused (exit 2).
 *
 * There is no progress file: the stack config IS the state. A rerun with the
 * same release reads liveColor, the colors' releases, canaryWeight and
 * idleFleet (and whether the last update applied them, from the outputs) and
 * starts at the first step not yet done (see `whereToStart`).
 *
 * A failed check (steps 3–5, and the re-check before 6) restores traffic to
 * where it was (canaryWeight=0, liveColor=previous) and stops the new color,
 * in one update: exit 1. A failed `pulumi up` stops the run without touching
 * anything (the engine is what failed): exit 1, and a rerun resumes. Refusals
 * and bad usage: exit 2, nothing changed.
 *
 * This module never imports the Automation API (automation.ts does).
 */
import { DEFAULTS, PromoteOptions, Waits } from "./options";
import {
  COLOR_HEADER,
  COLORS,
  PREVIEW_HEADER,
  Color,
  Front,
  PromotionOutputs,
  PromotionPorts,
  PromotionSetting,
  SmokeResult,
  TargetCounts,
  otherColor,
  releaseSetting,
} from "./workspace";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** The promotion settings of a stack, defaults applied. */
export interface StackConfig {
  liveColor: Color;
  releases: Record<Color, string>;
  canaryWeight: number;
  idleFleet: "stopped" | "running";
}

export type Step = "deploy" | "wait-healthy" | "smoke" | "canary" | "switch" | "rollback-window" | "finish";
const STEPS: Step[] = ["deploy", "wait-healthy", "smoke", "canary", "switch", "rollback-window", "finish"];
const STEP_TITLE: Record<Step, string> = {
  deploy: "deploy",
  "wait-healthy": "wait for healthy targets",
  smoke: "smoke test",
  canary: "canary",
  switch: "switch traffic",
  "rollback-window": "rollback window",
  finish: "stop the previous color",
};
/** On a box, step 3 waits for the color to answer (there are no targets) and step 8 stops its gunicorn. */
const BOX_STEP_TITLE: Partial<Record<Step, string>> = { "wait-healthy": "wait for the color to answer" };
const stepLabel = (s: Step, front: Front = "load-balancer") => `step ${STEPS.indexOf(s) + 2}/8 (${(front === "box" && BOX_STEP_TITLE[s]) || STEP_TITLE[s]})`;

/** Refused before anything changed (bad stack settings, a promotion of another release in progress): exit 2. */
export class Refused extends Error {
  override name = "Refused";
}
/** A health check, smoke test or canary failed: traffic is restored, exit 1. */
class CheckFailed extends Error {
  override name = "CheckFailed";
}
/** Reading or changing the stack failed: the run stops where it is, exit 1; a rerun resumes. */
class UpdateFailed extends Error {
  override name = "UpdateFailed";
}

async function readConfig(ports: PromotionPorts): Promise<StackConfig> {
  const ws = ports.workspace;
  const keys: PromotionSetting[] = ["liveColor", "blueRelease", "greenRelease", "canaryWeight", "idleFleet"];
  const got = Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await ws.getConfig(k)] as const))) as Record<PromotionSetting, string | undefined>;
  const bad = (key: PromotionSetting, allowed: string) =>
    new Refused(`stack ${ws.stackName}: setting django-tiers:${key} is ${JSON.stringify(got[key])}; allowed: ${allowed}`);
  const liveColor = got.liveColor ?? "blue";
  if (liveColor !== "blue" && liveColor !== "green") throw bad("liveColor", "blue, green");
  const idleFleet = got.idleFleet ?? "stopped";
  if (idleFleet !== "stopped" && idleFleet !== "running") throw bad("idleFleet", "stopped, running");
  const canaryWeight = Number(got.canaryWeight ?? "0");
  if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 50) throw bad("canaryWeight", "an integer from 0 to 50");
  for (const key of ["blueRelease", "greenRelease"] as const) {
    const v = got[key];
    if (v !== undefined && v !== "" && !/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw bad(key, "\"\" or 1–64 characters of [A-Za-z0-9._-]");
  }
  return { liveColor, idleFleet, canaryWeight, releases: { blue: got.blueRelease ?? "", green: got.greenRelease ?? "" } };
}

function withValues(config: StackConfig, values: Partial<Record<PromotionSetting, string>>): StackConfig {
  return {
    liveColor: (values.liveColor as Color | undefined) ?? config.liveColor,
    idleFleet: (values.idleFleet as StackConfig["idleFleet"] | undefined) ?? config.idleFleet,
    canaryWeight: values.canaryWeight !== undefined ? Number(values.canaryWeight) : config.canaryWeight,
    releases: { blue: values.blueRelease ?? config.releases.blue, green: values.greenRelease ?? config.releases.green },
  };
}

/** What the load-balanced stack exports for these settings: the live color takes 100 - canaryWeight, the idle one canaryWeight. */
export function expectedColors(config: StackConfig): Record<Color, { running: boolean; weight: number }> {
  const live = config.liveColor;
  const idle = otherColor(live);
  const idleRunning = config.idleFleet === "running";
  return {
    [live]: { running: true, weight: 100 - (idleRunning ? config.canaryWeight : 0) },
    [idle]: { running: idleRunning, weight: idleRunning ? config.canaryWeight : 0 },
  } as Record<Color, { running: boolean; weight: number }>;
}

/** Whether the last completed update applied these settings (false after an interrupted or failed `pulumi up`). */
export function isApplied(config: StackConfig, outputs: PromotionOutputs): boolean {
  if (outputs.liveColor !== config.liveColor) return false;
  const expected = expectedColors(config);
  return (["blue", "green"] as Color[]).every((c) => {
    const o = outputs.colors[c];
    const releaseOk = config.releases[c] === "" || !o.running || o.release === config.releases[c];
    return o.running === expected[c].running && o.weight === expected[c].weight && releaseOk;
  });
}

export type StartPoint =
  | { kind: "run"; target: Color; from: Step; why: string }
  | { kind: "done"; message: string }
  | { kind: "refuse"; message: string };

/**
 * Where a promotion of `release` starts, from the stack's settings and
 * whether its last update applied them. `target` is the color that runs (or
 * will run) the release. The states a promotion leaves behind:
 *
 * - idle runs R, idleFleet=running, liveColor=old  → steps 2–5 happened: resume at 3
 *   (at 2 when the deploy's update did not complete);
 * - live runs R, idleFleet=running                 → switched (6): resume at 7, or at 3
 *   when the switch's update did not complete (re-check before re-applying it);
 * - live runs R, idleFleet=stopped                 → done (or resume at 8's update).
 *
 * The idle color running another release means a promotion of that release
 * waiting for its switch, or the rollback window of the last one; the two
 * look the same in the settings, so both are refused until finished.
 */
export function whereToStart(config: StackConfig, outputs: PromotionOutputs, release: string): StartPoint {
  const live = config.liveColor;
  const idle = otherColor(live);
  const applied = isApplied(config, outputs);
  const idleRunning = config.idleFleet === "running";
  const rel = config.releases;
  const finishIt = `Finish it first: \`--finish\` keeps ${live} live and stops ${idle}; \`--release ${rel[idle] || "<its release>"}\` continues its promotion; \`--rollback\` sends traffic to ${idle}.`;
  if (rel[live] === release && !(idleRunning && config.canaryWeight > 0)) {
    if (idleRunning) {
      return applied
        ? { kind: "run", target: live, from: "rollback-window", why: `traffic is already on ${live} (release ${release}) and ${idle} still runs: resuming the rollback window (it restarts now; \`--finish\` skips it)` }
        : { kind: "run", target: live, from: "wait-healthy", why: `the switch to ${live} is set but its update did not complete: re-checking ${live} before applying it` };
    }
    return applied
      ? { kind: "done", message: `release ${release} is already live on ${live} and ${idle} is stopped: nothing to do` }
      : { kind: "run", target: live, from: "finish", why: `${idle} is set to stop but that update did not complete: applying it` };
  }
  if (idleRunning && rel[idle] !== release) {
    const what = config.canaryWeight > 0
      ? `a promotion of release ${rel[idle] || "(default)"} to ${idle} is in progress (canary: ${config.canaryWeight}% of traffic)`
      : `${idle} is running release ${rel[idle] || "(default)"}: either a promotion of it waiting for its switch, or the rollback window of the last promotion`;
    return { kind: "refuse", message: `${what}. ${finishIt}` };
  }
  if (idleRunning) {
    const o = outputs.colors[idle];
    return o.running && o.release === release
      ? { kind: "run", target: idle, from: "wait-healthy", why: `${idle} already runs release ${release} (deployed by an earlier run): not redeploying` }
      : { kind: "run", target: idle, from: "deploy", why: `the deploy of ${release} to ${idle} is set but its update did not complete: running it again` };
  }
  return { kind: "run", target: idle, from: "deploy", why: "" };
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

const formatCounts = (c: TargetCounts) =>
  `${c.healthy} healthy, ${c.unhealthy} unhealthy, ${c.initial} initial, ${c.draining} draining${c.unused ? `, ${c.unused} unused` : ""}`;

function traffic(outputs: PromotionOutputs): string {
  return (["blue", "green"] as Color[])
    .map((c) => {
      const o = outputs.colors[c];
      return `${c} ${o.weight}% (release ${o.release}, ${o.running ? "running" : "stopped"})`;
    })
    .join(", ");
}

function describeConfig(config: StackConfig): string {
  return `liveColor=${config.liveColor} blueRelease=${config.releases.blue || '""'} greenRelease=${config.releases.green || '""'} canaryWeight=${config.canaryWeight} idleFleet=${config.idleFleet}`;
}

export function breakingMigrationsWarning(release: string): string[] {
  return [
    `WARNING: release ${release} has contract (non-backward-compatible) migrations (--breaking-migrations).`,
    "  Blue and green share one database. The new color migrates it when it deploys (step 2), and from then on",
    "  the live color runs code that may not read the new schema: plan a maintenance window, or split the release",
    "  into an expand release and a later contract release (docs/runbooks/promote-and-rollback.md).",
    "  This promotion has no canary and no rollback window: it switches right after the smoke test and stops the",
    "  previous color at once. To go back, restore the database (docs/runbooks/restore.md), not --rollback.",
  ];
}

/** Runs one promotion, rollback or finish; resolves to the exit code. */
export async function runPromote(options: PromoteOptions, ports: PromotionPorts): Promise<number> {
  const log = (text: string) => ports.log.line(text);
  try {
    if (options.mode === "promote") return await new Promotion(options, ports).run();
    if (options.mode === "rollback") return await new Rollback(options, ports).run();
    return await finishNow(ports);
  } catch (err) {
    const e = err as Error;
    if (e instanceof Refused || e.name === "OutputsError") {
      log(`refused: ${e.message}`);
      return EXIT.usage;
    }
    if (e instanceof UpdateFailed) {
      log(e.message);
      return EXIT.failed;
    }
    log(`failed: ${e.stack ?? e.message}`);
    return EXIT.failed;
  }
}

/** What the steps share: the settings as last written, and the waits. */
class Runner {
  protected config!: StackConfig;
  protected outputs!: PromotionOutputs;
  protected step = "preflight";

  constructor(protected readonly waits: Waits | undefined, protected readonly ports: PromotionPorts) {}

  protected log(text: string): void {
    this.ports.log.line(text);
  }

  protected async preflight(): Promise<void> {
    const ws = this.ports.workspace;
    this.config = await readConfig(this.ports);
    this.outputs = await ws.outputs();
    const live = this.config.liveColor;
    const idle = otherColor(live);
    const rel = (c: Color) => this.outputs.colors[c].release;
    this.log(`stack ${ws.stackName}: ${live} is live (release ${rel(live)}); ${idle} is ${this.config.idleFleet} (release ${this.config.releases[idle] || rel(idle)})`);
    this.log(`  traffic: ${traffic(this.outputs)}`);
    if (!isApplied(this.config, this.outputs)) this.log(`  the settings (${describeConfig(this.config)}) are not all applied: the last update did not complete`);
  }

  /** Writes settings and runs `pulumi up`; checks the outputs show them. */
  protected async apply(values: Partial<Record<PromotionSetting, string>>, message: string): Promise<PromotionOutputs> {
    const ws = this.ports.workspace;
    const clock = this.ports.clock;
    const next = withValues(this.config, values);
    this.log(`  set ${Object.entries(values).map(([k, v]) => `${k}=${v === "" ? '""' : v}`).join(" ")}; pulumi up "${message}"`);
    const started = clock.now();
    try {
      await ws.setConfig(values);
      this.config = next;
      this.outputs = await ws.up(message);
    } catch (err) {
      throw this.updateFailed((err as Error).message);
    }
    this.log(`  updated in ${formatDuration(clock.now() - started)}: ${traffic(this.outputs)}`);
    if (!isApplied(this.config, this.outputs)) {
      throw this.updateFailed(`the update completed but the outputs do not show the settings (${describeConfig(this.config)}): ${traffic(this.outputs)}. Does the stack's program export colors (the load-balanced tier, or a box tier with boxReleases: blue-green)?`);
    }
    return this.outputs;
  }

  private updateFailed(reason: string): UpdateFailed {
    const live = this.config.liveColor;
    return new UpdateFailed([
      `update failed at ${this.step}: ${reason.split("\n").slice(0, 20).join("\n  ")}`,
      `  the stack's settings now: ${describeConfig(this.config)}`,
      `  rerun the same command to resume from here; or \`--finish\` to keep ${live} and stop ${otherColor(live)}; or \`--rollback\`.`,
    ].join("\n"));
  }

  /** nginx on one box switches the colors: no target group, no canary. */
  protected get box(): boolean {
    return this.outputs.front === "box";
  }

  /** --min-healthy, else the fleet's own minimum size as the stack exports it (a fleet of 1 never has 2 healthy targets). */
  private get minHealthy(): number {
    const fleetMin = Math.max(0, ...COLORS.map((c) => this.outputs.colors[c].minSize ?? 0));
    return this.waits!.minHealthy ?? (fleetMin > 0 ? fleetMin : DEFAULTS.minHealthy);
  }

  protected ready(c: TargetCounts): boolean {
    return c.healthy >= this.minHealthy && c.unhealthy === 0 && c.initial === 0;
  }

  /** A smoke answer that passes: 200, and on a box from the color asked for (the response names it). */
  protected answered(r: SmokeResult, color: Color): boolean {
    return r.status === 200 && (!this.box || r.color === color);
  }

  protected describeAnswer(r: SmokeResult): string {
    const status = String(r.status || r.error);
    if (!this.box || !r.status) return status;
    return r.color ? `${status} from ${r.color}` : `${status} naming no color (no ${COLOR_HEADER} response header)`;
  }

  private async describe(color: Color): Promise<TargetCounts | undefined> {
    const arn = this.outputs.colors[color].targetGroupArn;
    if (arn === undefined) return undefined;
    try {
      return await this.ports.targetHealth.describe(arn);
    } catch (err) {
      this.log(`  could not read ${color}'s target health: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Polls the color's target group until it is ready, or throws CheckFailed at the timeout. */
  protected async waitHealthy(color: Color): Promise<void> {
    const { clock } = this.ports;
    const { timeoutMs, pollMs } = this.waits!;
    const minHealthy = this.minHealthy;
    const started = clock.now();
    this.log(`  waiting for ${color}'s targets (${this.outputs.colors[color].targetGroupArn}): at least ${minHealthy} healthy, none unhealthy or initial; polling every ${formatDuration(pollMs)}, up to ${formatDuration(timeoutMs)}`);
    for (;;) {
      const counts = await this.describe(color);
      const waited = clock.now() - started;
      if (counts && this.ready(counts)) {
        this.log(`  ${color} is healthy after ${formatDuration(waited)}: ${formatCounts(counts)}`);
        return;
      }
      this.log(`  waiting for ${color}'s targets: ${counts ? formatCounts(counts) : "unknown"} (waited ${formatDuration(waited)} of ${formatDuration(timeoutMs)})`);
      if (waited >= timeoutMs) {
        throw new CheckFailed(`${color}'s targets were not healthy within ${formatDuration(timeoutMs)} (last: ${counts ? formatCounts(counts) : "unknown"})`);
      }
      await clock.sleep(Math.min(pollMs, timeoutMs - waited));
    }
  }

  /**
   * A box: polls the first smoke URL until `color` answers it with 200 —
   * through the preview header (`preview`: the rollout has started that
   * color), or as live traffic (nginx has switched to it). CheckFailed at
   * the timeout.
   */
  protected async waitAnswers(color: Color, preview: boolean): Promise<void> {
    const { clock } = this.ports;
    const { timeoutMs, pollMs } = this.waits!;
    const url = this.smokeUrls()[0];
    const how = preview ? `with ${this.previewHeader(color)}` : "as live traffic (no header)";
    const started = clock.now();
    this.log(`  waiting for ${color} to answer ${url} ${how} (the box's rollout runs after pulumi up); polling every ${formatDuration(pollMs)}, up to ${formatDuration(timeoutMs)}`);
    for (;;) {
      const r = await this.smokeGet(url, preview ? color : undefined, Math.min(10_000, timeoutMs));
      const waited = clock.now() - started;
      if (this.answered(r, color)) {
        this.log(`  ${color} answers ${how} after ${formatDuration(waited)}`);
        return;
      }
      this.log(`  waiting for ${color} to answer ${how}: got ${this.describeAnswer(r)} (waited ${formatDuration(waited)} of ${formatDuration(timeoutMs)})`);
      if (waited >= timeoutMs) throw new CheckFailed(`${color} did not answer ${url} ${how} within ${formatDuration(timeoutMs)} (last: ${this.describeAnswer(r)})`);
      await clock.sleep(Math.min(pollMs, timeoutMs - waited));
    }
  }

  /** The header that previews `color`, as the log shows it (never the key). */
  protected previewHeader(color: Color): string {
    return this.box ? `${COLOR_HEADER}: ${color}` : `${PREVIEW_HEADER}: ${color}.<previewKey>`;
  }

  /**
   * One smoke request; with a color, through the preview header. Behind the
   * load balancer that needs the stack's preview key: without it the request
   * would reach the live fleet and prove nothing about `color`.
   */
  protected smokeGet(url: string, color: Color | undefined, timeoutMs: number): Promise<SmokeResult> {
    if (color && !this.box && !this.outputs.previewKey) {
      throw new CheckFailed(`stack ${this.ports.workspace.stackName} exports no previewKey, so no request can reach ${color} alone: update the stack with this version of django-tiers (pulumi up) first`);
    }
    return this.ports.smoke.get(url, color, timeoutMs, color && !this.box ? this.outputs.previewKey : undefined);
  }

  protected smokeUrls(): string[] {
    return this.waits!.smokePaths.map((p) => new URL(p, this.outputs.siteUrls[0].replace(/\/?$/, "/")).toString());
  }

  /** GETs each smoke URL with the color header until it answers 200, or throws CheckFailed at the timeout. */
  protected async smokeTest(color: Color): Promise<void> {
    const { clock } = this.ports;
    const { timeoutMs, pollMs } = this.waits!;
    const started = clock.now();
    for (const url of this.smokeUrls()) {
      this.log(`  smoke test: GET ${url} with ${this.previewHeader(color)}, until it answers 200 (up to ${formatDuration(timeoutMs)})`);
      for (;;) {
        const r = await this.smokeGet(url, color, Math.min(10_000, timeoutMs));
        const waited = clock.now() - started;
        if (this.answered(r, color)) {
          this.log(`  ${url}: 200 after ${formatDuration(waited)}`);
          break;
        }
        this.log(`  waiting for ${url} (${color}) to answer 200: got ${this.describeAnswer(r)} (waited ${formatDuration(waited)} of ${formatDuration(timeoutMs)})`);
        if (waited >= timeoutMs) throw new CheckFailed(`smoke test of ${color} failed: ${url} answered ${this.describeAnswer(r)}, not 200${this.box ? ` from ${color}` : ""}, for ${formatDuration(timeoutMs)}`);
        await clock.sleep(Math.min(pollMs, timeoutMs - waited));
      }
    }
  }

  /** One look at health and smoke, for the canary watch and the check before a switch. */
  protected async checkOnce(color: Color): Promise<string> {
    const counts = await this.describe(color);
    if (counts && !this.ready(counts)) throw new CheckFailed(`${color}'s targets are not healthy: ${formatCounts(counts)}`);
    for (const url of this.smokeUrls()) {
      const r = await this.smokeGet(url, color, 10_000);
      if (!this.answered(r, color)) throw new CheckFailed(`smoke test of ${color} failed: ${url} answered ${this.describeAnswer(r)}`);
    }
    if (this.box) return `${color} answers`;
    return counts ? formatCounts(counts) : "target health unknown";
  }
}

class Promotion extends Runner {
  private target!: Color;
  private previous!: Color;
  private resumedSwitch = false;

  constructor(private readonly options: Extract<PromoteOptions, { mode: "promote" }>, ports: PromotionPorts) {
    super(options, ports);
  }

  async run(): Promise<number> {
    const o = this.options;
    if (o.breakingMigrations) {
      for (const l of breakingMigrationsWarning(o.release)) this.log(l);
      if (!o.yes) {
        this.log("refused: rerun with --yes to promote a release with contract migrations (nothing was changed)");
        return EXIT.usage;
      }
    }
    this.log(`step 1/8 (preflight): promoting release ${o.release}`);
    await this.preflight();
    const start = whereToStart(this.config, this.outputs, o.release);
    if (start.kind === "refuse") throw new Refused(start.message);
    if (start.kind === "done") {
      this.log(start.message);
      return EXIT.ok;
    }
    if (this.box) this.refuseLoadBalancerFlags();
    await this.refuseUnbuiltRelease(start.target);
    this.target = start.target;
    this.previous = otherColor(start.target);
    this.resumedSwitch = this.config.liveColor === this.target && start.from === "wait-healthy";
    if (start.why) this.log(`  resuming at ${stepLabel(start.from, this.outputs.front)}: ${start.why}`);
    this.log(`  plan: ${this.plan(start.from)}`);
    const started = this.ports.clock.now();
    try {
      for (const step of STEPS.slice(STEPS.indexOf(start.from))) {
        this.step = stepLabel(step, this.outputs.front);
        await this[STEP_METHOD[step]]();
      }
    } catch (err) {
      if (!(err instanceof CheckFailed)) throw err;
      return this.restore(err.message);
    }
    this.log(`done in ${formatDuration(this.ports.clock.now() - started)}: release ${o.release} is live on ${this.target}; ${this.previous} is stopped`);
    return EXIT.ok;
  }

  /**
   * The deploy only pins a label: the bundle it names exists when the next
   * update builds it (releaseVersion, else the app folders' hash) or when a
   * color runs it now. Any other label would start servers on a bundle that
   * is not in the bucket.
   */
  private async refuseUnbuiltRelease(target: Color): Promise<void> {
    const release = this.options.release;
    const stack = this.ports.workspace.stackName;
    const releaseVersion = await this.ports.workspace.getConfig("releaseVersion");
    const built = releaseVersion || this.outputs.builtRelease;
    const running = COLORS.map((c) => this.outputs.colors[c].release);
    if (built === undefined || release === built || running.includes(release)) return;
    throw new Refused([
      `release ${release} is not built by stack ${stack}: its next update builds ${built}`,
      releaseVersion ? " (releaseVersion)" : " (releaseVersion is unset: the hash of the app folders)",
      ` and the colors run ${COLORS.map((c) => `${c} ${this.outputs.colors[c].release}`).join(", ")}, so ${target} would boot a bundle ${release} that is not in the artifacts bucket.`,
      ` Label the app folders first: \`pulumi config set django-tiers:releaseVersion ${release} --stack ${stack}\` (the deploy's update then builds bundle ${release}), or promote ${built}`,
    ].join(""));
  }

  /** Flags that only mean something with a load balancer: refused on a box stack before anything changes. */
  private refuseLoadBalancerFlags(): void {
    const o = this.options;
    const stack = this.ports.workspace.stackName;
    if (o.canary) {
      throw new Refused(`--canary ${o.canary.weight}: stack ${stack} is a box stack (boxReleases: blue-green): nginx on the one box sends all traffic to the live color and switches it at once, so there is no canary. Drop --canary (the smoke test through ${COLOR_HEADER} checks ${otherColor(this.config.liveColor)} before the switch), or move to tier load-balanced`);
    }
    if (o.minHealthy !== undefined) {
      throw new Refused(`--min-healthy ${o.minHealthy}: stack ${stack} is a box stack (boxReleases: blue-green), which has no load balancer targets to count. Drop --min-healthy: the box's rollout waits for the new color's /healthz, and step 3 waits until the color answers`);
    }
  }

  private plan(from: Step): string {
    const o = this.options;
    const parts: Record<Step, string | undefined> = {
      deploy: `deploy ${o.release} to ${this.target}`,
      "wait-healthy": this.box ? `wait for ${this.target} to answer` : `wait for ${this.target}'s targets`,
      smoke: `smoke test ${this.smokeUrls().join(", ")}`,
      canary: o.canary && !this.resumedSwitch ? `canary ${o.canary.weight}% for ${formatDuration(o.canary.minutes * 60_000)}` : undefined,
      switch: `switch traffic to ${this.target}`,
      "rollback-window": o.breakingMigrations || o.rollbackWindowMinutes === 0 ? undefined : `rollback window ${formatDuration(o.rollbackWindowMinutes * 60_000)}`,
      finish: `stop ${this.previous}`,
    };
    return STEPS.slice(STEPS.indexOf(from)).map((s) => parts[s]).filter(Boolean).join(" → ");
  }

  async deploy(): Promise<void> {
    this.log(`${this.step}: ${this.target} gets release ${this.options.release}, no traffic yet`);
    // A live color with no pinned release runs whatever the app folders build: pin it to what it runs now,
    // or this very update would roll the new code onto the live fleet too.
    const pinLive = this.config.releases[this.previous] === "" ? { [releaseSetting(this.previous)]: this.outputs.colors[this.previous].release } : {};
    if (Object.keys(pinLive).length) this.log(`  pinning ${this.previous} to the release it runs, ${this.outputs.colors[this.previous].release}`);
    await this.apply(
      { ...pinLive, [releaseSetting(this.target)]: this.options.release, idleFleet: "running", canaryWeight: "0" },
      `promote ${this.options.release}: deploy ${this.target} (no traffic)`,
    );
  }

  async waitHealthyStep(): Promise<void> {
    this.log(`${this.step}: ${this.target}`);
    if (this.box) await this.waitAnswers(this.target, true);
    else await this.waitHealthy(this.target);
  }

  async smokeStep(): Promise<void> {
    this.log(`${this.step}: ${this.target}`);
    await this.smokeTest(this.target);
  }

  async canary(): Promise<void> {
    const c = this.options.canary;
    if (!c) return;
    if (this.resumedSwitch) {
      this.log(`${this.step}: skipped, the switch to ${this.target} was already decided by the interrupted run`);
      return;
    }
    const { clock } = this.ports;
    const totalMs = c.minutes * 60_000;
    this.log(`${this.step}: ${this.target} gets ${c.weight}% of traffic for ${formatDuration(totalMs)}`);
    await this.apply({ canaryWeight: String(c.weight) }, `promote ${this.options.release}: canary ${c.weight}% to ${this.target}`);
    const started = clock.now();
    this.log(`  watching ${this.target}'s targets and smoke test every ${formatDuration(this.waits!.pollMs)} for ${formatDuration(totalMs)}`);
    for (let waited = 0; waited < totalMs; waited = clock.now() - started) {
      await clock.sleep(Math.min(this.waits!.pollMs, totalMs - waited));
      const seen = await this.checkOnce(this.target);
      this.log(`  canary: ${this.target} gets ${c.weight}%: ${seen}; smoke 200 (watched ${formatDuration(clock.now() - started)} of ${formatDuration(totalMs)})`);
    }
  }

  async switchStep(): Promise<void> {
    this.log(`${this.step}: all traffic to ${this.target}; ${this.previous} keeps running`);
    const seen = await this.checkOnce(this.target);
    this.log(`  ${this.target} checked just before the switch: ${seen}; smoke 200`);
    await this.apply({ liveColor: this.target, canaryWeight: "0" }, `promote ${this.options.release}: switch traffic to ${this.target}`);
    // On a box the rollout switches nginx after pulumi up: wait until live traffic reaches the new color.
    if (this.box) await this.waitAnswers(this.target, false);
  }

  async rollbackWindow(): Promise<void> {
    const o = this.options;
    if (o.breakingMigrations) {
      this.log(`${this.step}: none, release ${o.release} has contract migrations and ${this.previous}'s release cannot read the new schema`);
      return;
    }
    const totalMs = o.rollbackWindowMinutes * 60_000;
    if (totalMs === 0) {
      this.log(`${this.step}: none (--rollback-window 0)`);
      return;
    }
    const { clock } = this.ports;
    const started = clock.now();
    this.log(`${this.step}: ${this.previous} keeps running for ${formatDuration(totalMs)}; \`npm run promote -- --stack ${this.ports.workspace.stackName} --rollback\` sends traffic back to it in seconds, \`--finish\` ends the window now`);
    for (let waited = 0; waited < totalMs; waited = clock.now() - started) {
      this.log(`  rollback window: ${formatDuration(totalMs - waited)} left (waited ${formatDuration(waited)} of ${formatDuration(totalMs)})`);
      await clock.sleep(Math.min(60_000, totalMs - waited));
    }
  }

  async finish(): Promise<void> {
    this.log(`${this.step}: ${this.box ? `${this.previous}'s gunicorn stops` : `${this.previous} scales to zero`}`);
    await this.apply({ idleFleet: "stopped", canaryWeight: "0" }, `promote ${this.options.release}: stop ${this.previous}`);
  }

  private async restore(reason: string): Promise<number> {
    this.log(`${this.step} failed: ${reason}`);
    this.log(`restoring: all traffic to ${this.previous}, ${this.target} stopped`);
    this.step = `restore after ${this.step}`;
    await this.apply(
      { liveColor: this.previous, canaryWeight: "0", idleFleet: "stopped" },
      `promote ${this.options.release} failed: traffic stays on ${this.previous}, stop ${this.target}`,
    );
    if (this.box && this.config.liveColor !== this.target) {
      // A switch may have reached nginx before the failure: confirm the box sends live traffic back.
      try {
        await this.waitAnswers(this.previous, false);
      } catch (err) {
        if (!(err instanceof CheckFailed)) throw err;
        this.log(`  WARNING: ${err.message}; the stack says ${this.previous} is live: look at the box (its rollout's output is in the SSM association's history)`);
      }
    }
    this.log(`promotion of release ${this.options.release} failed; traffic is on ${this.previous} (release ${this.outputs.colors[this.previous].release}) as before`);
    return EXIT.failed;
  }
}

const STEP_METHOD = {
  deploy: "deploy",
  "wait-healthy": "waitHealthyStep",
  smoke: "smokeStep",
  canary: "canary",
  switch: "switchStep",
  "rollback-window": "rollbackWindow",
  finish: "finish",
} as const satisfies Record<Step, keyof Promotion>;

class Rollback extends Runner {
  constructor(private readonly options: Extract<PromoteOptions, { mode: "rollback" }>, ports: PromotionPorts) {
    super(options, ports);
  }

  async run(): Promise<number> {
    const { clock } = this.ports;
    const started = clock.now();
    this.step = "rollback";
    await this.preflight();
    const live = this.config.liveColor;
    const other = otherColor(live);
    const running = this.config.idleFleet === "running" && this.outputs.colors[other].running;
    if (this.config.canaryWeight > 0 && running) {
      this.log(`rollback: stopping the canary; all traffic back to ${live}`);
      await this.apply({ canaryWeight: "0" }, `rollback: stop the canary to ${other}`);
      this.log(`rolled back in ${formatDuration(clock.now() - started)}: ${other} still runs; \`--finish\` stops it`);
      return EXIT.ok;
    }
    const release = this.outputs.colors[other].release;
    if (this.box) return this.rollbackBox(live, other, running);
    if (running) {
      // front is load-balancer here: parseOutputs gave every color its target group.
      const counts = await this.ports.targetHealth.describe(this.outputs.colors[other].targetGroupArn!).catch((e: Error) => {
        this.log(`  could not read ${other}'s target health: ${e.message}`);
        return undefined;
      });
      if (!counts || counts.healthy === 0) {
        this.log(`rollback refused: ${other} has no healthy targets (${counts ? formatCounts(counts) : "unknown"}); traffic stays on ${live}`);
        return EXIT.failed;
      }
      this.log(`rollback: all traffic to ${other} (release ${release}; ${formatCounts(counts)})`);
      await this.apply({ liveColor: other, canaryWeight: "0" }, `rollback: traffic to ${other} (release ${release})`);
      this.log(`rolled back in ${formatDuration(clock.now() - started)}: ${other} (release ${release}) is live; ${live} still runs: \`--finish\` stops it`);
      return EXIT.ok;
    }
    if (!this.options.scaleUp) {
      throw new Refused(`${other} (release ${release}) is stopped: a rollback to it has to start its fleet first, which takes minutes. Run \`npm run promote -- --stack ${this.ports.workspace.stackName} --rollback --scale-up\` to start it, wait for healthy targets, and switch`);
    }
    this.log(`rollback --scale-up: starting ${other} (release ${release}), then switching to it`);
    try {
      await this.apply({ idleFleet: "running", canaryWeight: "0" }, `rollback: start ${other}`);
      await this.waitHealthy(other);
      await this.smokeTest(other);
    } catch (err) {
      if (!(err instanceof CheckFailed)) throw err;
      this.log(`rollback failed: ${err.message}; stopping ${other} again, traffic stays on ${live}`);
      await this.apply({ idleFleet: "stopped" }, `rollback failed: stop ${other}`);
      return EXIT.failed;
    }
    await this.apply({ liveColor: other }, `rollback: traffic to ${other} (release ${release})`);
    this.log(`rolled back in ${formatDuration(clock.now() - started)}: ${other} (release ${release}) is live; ${live} still runs: \`--finish\` stops it`);
    return EXIT.ok;
  }

  /**
   * A box: one update of liveColor. With the previous color running, the
   * rollout only switches nginx (seconds); stopped, it starts its gunicorn,
   * waits for its /healthz, switches, and stops the bad color (idleFleet
   * stays stopped). Either way the run then waits for live traffic to reach it.
   */
  private async rollbackBox(live: Color, other: Color, running: boolean): Promise<number> {
    const { clock } = this.ports;
    const started = clock.now();
    const release = this.outputs.colors[other].release;
    if (running) {
      const url = this.smokeUrls()[0];
      const r = await this.smokeGet(url, other, 10_000);
      if (!this.answered(r, other)) {
        this.log(`rollback refused: ${other} does not answer ${url} with ${COLOR_HEADER}: ${other} (got ${this.describeAnswer(r)}); traffic stays on ${live}`);
        return EXIT.failed;
      }
      this.log(`rollback: all traffic to ${other} (release ${release}; it answers ${url}); nginx on the box switches in seconds`);
      await this.apply({ liveColor: other, canaryWeight: "0" }, `rollback: traffic to ${other} (release ${release})`);
    } else {
      if (this.options.scaleUp) this.log("  (--scale-up is not needed on a box: its rollout starts the stopped color itself)");
      this.log(`rollback: ${other} (release ${release}) is stopped: the box's rollout starts its gunicorn, waits for its /healthz, switches nginx to it and stops ${live}`);
      await this.apply({ liveColor: other, canaryWeight: "0" }, `rollback: start ${other} and send traffic to it (release ${release})`);
    }
    try {
      await this.waitAnswers(other, false);
    } catch (err) {
      if (!(err instanceof CheckFailed)) throw err;
      this.log(`rollback not confirmed: ${err.message}. The stack says ${other} is live; look at the box (its rollout's output is in the SSM association's history)`);
      return EXIT.failed;
    }
    this.log(`rolled back in ${formatDuration(clock.now() - started)}: ${other} (release ${release}) is live; ${running ? `${live} still runs: \`--finish\` stops it` : `${live} is stopped`}`);
    return EXIT.ok;
  }
}

class Finish extends Runner {
  async run(): Promise<number> {
    this.step = "finish";
    await this.preflight();
    const live = this.config.liveColor;
    const idle = otherColor(live);
    if (this.outputs.liveColor !== live) {
      throw new Refused(`liveColor is set to ${live} but traffic is on ${this.outputs.liveColor}: a switch did not complete. Rerun the promotion to resume it (it re-checks ${live} first), or \`--rollback\``);
    }
    if (this.config.idleFleet === "stopped" && this.config.canaryWeight === 0 && isApplied(this.config, this.outputs)) {
      this.log(`nothing to do: ${idle} is already stopped`);
      return EXIT.ok;
    }
    this.log(`finish: ${idle} (release ${this.outputs.colors[idle].release}) ${this.box ? "stops its gunicorn" : "scales to zero"}; ${live} (release ${this.outputs.colors[live].release}) keeps all traffic`);
    await this.apply({ idleFleet: "stopped", canaryWeight: "0" }, `finish: stop ${idle}`);
    return EXIT.ok;
  }
}

function finishNow(ports: PromotionPorts): Promise<number> {
  return new Finish(undefined, ports).run();
}
