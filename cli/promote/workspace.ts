/**
 * The ports of a blue-green promotion: the stack (its settings and outputs,
 * and `pulumi up`), the load balancer's view of a target group's health
 * (load-balanced stacks only: a box stack has no target group), an HTTP
 * smoke test, a clock and a log. The state machine (machine.ts) sees
 * only these interfaces; automation.ts adapts them to the Pulumi Automation
 * API, the AWS CLI and fetch, and fake.ts to memory for the tests.
 *
 * Nothing here imports Pulumi: the machine and its tests never load the
 * Automation API (which needs the `pulumi` binary).
 */

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

export function otherColor(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

/**
 * The stack settings a promotion drives, as named in config/settings.ts;
 * in Pulumi config they are `django-tiers:<name>`. The stack config is the
 * promotion's state: a rerun reads it to know where an earlier run stopped.
 */
export type PromotionSetting = "liveColor" | "blueRelease" | "greenRelease" | "canaryWeight" | "idleFleet";

/** The settings a promotion reads: the five it writes, and the label of the release the next update builds. */
export type ReadSetting = PromotionSetting | "releaseVersion";

export const CONFIG_NAMESPACE = "django-tiers";

export function releaseSetting(color: Color): "blueRelease" | "greenRelease" {
  return color === "blue" ? "blueRelease" : "greenRelease";
}

/** What the stack exports per color (output `colors`). */
export interface ColorOutput {
  /** The release label the color's fleet runs (the default release hash when its setting is ""). */
  release: string;
  /** Whether the color's fleet has instances. */
  running: boolean;
  /** Percent of the HTTPS listener's traffic forwarded to the color (on a box: 100 for the live color, 0 for the other). */
  weight: number;
  /** load-balanced: the color's target group. Absent on a box stack (nginx on the box switches the colors). */
  targetGroupArn?: string;
  /** load-balanced: the fewest servers the color's fleet runs (0 while stopped). */
  minSize?: number;
}

/**
 * What switches the traffic: the load balancer's listener (load-balanced
 * tier), or nginx on the one box (a box tier with boxReleases: blue-green).
 */
export type Front = "load-balancer" | "box";

/** The stack outputs a promotion reads (exported by the load-balanced tier, and by a blue-green box tier). */
export interface PromotionOutputs {
  /** load-balancer when every color has a target group, box when none has. */
  front: Front;
  liveColor: Color;
  colors: Record<Color, ColorOutput>;
  /** The site's URLs; the smoke test requests paths under the first. */
  siteUrls: string[];
  /** The release the last update built from the app folders (releaseVersion, or their hash). */
  builtRelease?: string;
  /** load-balanced: the stack's preview key (a secret output), which the preview header carries. */
  previewKey?: string;
}

/** A stack as the promotion sees it. Config keys are the settings' names, without the namespace. */
export interface PromotionWorkspace {
  readonly stackName: string;
  /** The setting's value, or undefined when the stack does not set it (its default applies). */
  getConfig(key: ReadSetting): Promise<string | undefined>;
  /** Sets several settings at once (one `pulumi config set-all`). */
  setConfig(values: Partial<Record<PromotionSetting, string>>): Promise<void>;
  /** `pulumi up` with this message; resolves to the stack's outputs after the update. */
  up(message: string): Promise<PromotionOutputs>;
  /** The outputs of the last completed update. */
  outputs(): Promise<PromotionOutputs>;
}

/** Targets of a target group by state, as `describe-target-health` reports them. */
export interface TargetCounts {
  healthy: number;
  unhealthy: number;
  initial: number;
  draining: number;
  /** `unused` and `unavailable`: not registered in an enabled AZ, or health checks off. */
  unused: number;
}

export interface TargetHealth {
  describe(targetGroupArn: string): Promise<TargetCounts>;
}

/** The result of one smoke request: the HTTP status, or 0 with the error when there was no response. */
export interface SmokeResult {
  status: number;
  error?: string;
  /**
   * The response's own `X-Django-Tiers-Color` header: the color that
   * answered. Each color's gunicorn on a blue-green box names it; a box promotion waits for
   * it (it is how the run knows the box's rollout has switched or started a
   * color). Absent when the response does not name one.
   */
  color?: string;
}

export const COLOR_HEADER = "X-Django-Tiers-Color";

/**
 * load-balanced: the header whose value `<color>.<previewKey>` reaches a
 * color through the load balancer (components/load-balancer.ts); the bare
 * color header picks nothing there.
 */
export const PREVIEW_HEADER = "X-Django-Tiers-Preview";

export interface SmokeTest {
  /**
   * GET `url`, no redirects followed. With `color`, the request carries
   * `X-Django-Tiers-Color: <color>` (nginx on a box routes it to that
   * color) and, with `previewKey`, `X-Django-Tiers-Preview:
   * <color>.<previewKey>` (the load balancer's preview rule routes it);
   * without, it goes wherever live traffic goes.
   */
  get(url: string, color: Color | undefined, timeoutMs: number, previewKey?: string): Promise<SmokeResult>;
}

export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface Log {
  line(text: string): void;
}

export interface PromotionPorts {
  workspace: PromotionWorkspace;
  /** Read only for load-balanced stacks. */
  targetHealth: TargetHealth;
  smoke: SmokeTest;
  clock: Clock;
  log: Log;
}

/** The stack has not the outputs a promotion needs: not the load-balanced tier nor a blue-green box, or never deployed. */
export class OutputsError extends Error {
  override name = "OutputsError";
}

/**
 * Reads the outputs a promotion needs from a stack's outputs (plain values),
 * refusing anything else with a message that says which output is wrong.
 */
export function parseOutputs(raw: Record<string, unknown>, stackName: string): PromotionOutputs {
  const missing = (what: string) =>
    new OutputsError(`stack ${stackName}: output ${what}; a promotion needs the outputs of the load-balanced tier, or of a box tier with boxReleases: blue-green (liveColor, colors, siteUrls): is the stack on tier load-balanced or set to boxReleases: blue-green, and has it been deployed with pulumi up?`);
  const live = raw.liveColor;
  if (live !== "blue" && live !== "green") throw missing(`liveColor is ${JSON.stringify(live)}, expected "blue" or "green"`);
  const colorsRaw = raw.colors;
  if (!colorsRaw || typeof colorsRaw !== "object") throw missing("colors is missing");
  const colors = {} as Record<Color, ColorOutput>;
  for (const c of COLORS) {
    const o = (colorsRaw as Record<string, unknown>)[c] as Record<string, unknown> | undefined;
    if (!o || typeof o !== "object") throw missing(`colors.${c} is missing`);
    if (typeof o.release !== "string") throw missing(`colors.${c}.release is not a string`);
    if (typeof o.running !== "boolean") throw missing(`colors.${c}.running is not a boolean`);
    if (typeof o.weight !== "number") throw missing(`colors.${c}.weight is not a number`);
    // A box stack has no target group; a load-balanced one has one per color.
    if (o.targetGroupArn !== undefined && (typeof o.targetGroupArn !== "string" || !o.targetGroupArn)) throw missing(`colors.${c}.targetGroupArn is not a string`);
    if (o.minSize !== undefined && (typeof o.minSize !== "number" || !Number.isInteger(o.minSize) || o.minSize < 0)) throw missing(`colors.${c}.minSize is not a whole number`);
    colors[c] = {
      release: o.release,
      running: o.running,
      weight: o.weight,
      ...(o.targetGroupArn ? { targetGroupArn: o.targetGroupArn as string } : {}),
      ...(typeof o.minSize === "number" ? { minSize: o.minSize } : {}),
    };
  }
  const withTargetGroups = COLORS.filter((c) => colors[c].targetGroupArn !== undefined);
  if (withTargetGroups.length === 1) throw missing(`colors.${COLORS.find((c) => !colors[c].targetGroupArn)}.targetGroupArn is missing (colors.${withTargetGroups[0]} has one)`);
  const urls = raw.siteUrls;
  if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === "string")) throw missing("siteUrls is not a non-empty list of URLs");
  const built = typeof raw.builtRelease === "string" && raw.builtRelease ? { builtRelease: raw.builtRelease } : {};
  const key = typeof raw.previewKey === "string" && raw.previewKey ? { previewKey: raw.previewKey } : {};
  return { front: withTargetGroups.length ? "load-balancer" : "box", liveColor: live, colors, siteUrls: urls as string[], ...built, ...key };
}
