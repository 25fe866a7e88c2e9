/**
 * In-memory stand-ins for the promotion's ports, for tests and for trying
 * the flow without a cloud: a stack whose `up()` computes the outputs from
 * its settings as the load-balanced tier (or a blue-green box tier) does,
 * scripted target health and smoke answers, a box whose nginx answers as the
 * color it routes to, a clock that does not sleep, and a log that keeps lines.
 */
import {
  Clock,
  Color,
  Front,
  Log,
  PromotionOutputs,
  PromotionSetting,
  PromotionWorkspace,
  ReadSetting,
  SmokeResult,
  SmokeTest,
  TargetCounts,
  TargetHealth,
  otherColor,
} from "./workspace";

export type StackEvent =
  | { kind: "set"; values: Partial<Record<PromotionSetting, string>> }
  | { kind: "up"; message: string; outputs: PromotionOutputs };

export const fakeTargetGroupArn = (stack: string, color: Color) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${stack}-tg-${color}/0123456789abcdef`;

/** The load-balanced fake stack's preview key (its secret output previewKey). */
export const FAKE_PREVIEW_KEY = "fakepreviewkey0123456789";

/** The release the fake stack's app folders build (what an unpinned color runs). */
export const FAKE_BUILT_RELEASE = "built-7c1e";

/**
 * The outputs of the load-balanced tier for these settings, or of a box tier
 * with boxReleases: blue-green (`front: "box"`: no target groups, no canary).
 */
export function outputsFor(stack: string, config: ReadonlyMap<string, string>, front: Front = "load-balancer", fleetMinSize = 2): PromotionOutputs {
  const built = config.get("releaseVersion") || FAKE_BUILT_RELEASE;
  const live = (config.get("liveColor") ?? "blue") as Color;
  const idle = otherColor(live);
  const idleRunning = (config.get("idleFleet") ?? "stopped") === "running";
  const canary = idleRunning && front === "load-balancer" ? Number(config.get("canaryWeight") ?? "0") : 0;
  const color = (c: Color, running: boolean, weight: number) => ({
    // As the stack does: an unpinned color runs the release built from the app folders now.
    release: config.get(`${c}Release`) || built,
    running,
    weight,
    ...(front === "load-balancer" ? { targetGroupArn: fakeTargetGroupArn(stack, c), minSize: running ? fleetMinSize : 0 } : {}),
  });
  return {
    front,
    liveColor: live,
    colors: { [live]: color(live, true, 100 - canary), [idle]: color(idle, idleRunning, canary) } as PromotionOutputs["colors"],
    siteUrls: front === "box" ? ["http://ec2-203-0-113-10.compute-1.amazonaws.com/"] : ["https://example.com/", "https://www.example.com/"],
    builtRelease: built,
    ...(front === "load-balancer" ? { previewKey: FAKE_PREVIEW_KEY } : {}),
  };
}

export class FakeStack implements PromotionWorkspace {
  readonly config: Map<string, string>;
  readonly events: StackEvent[] = [];
  /** Called before each update applies; throw from it to make that `up()` fail (the outputs stay as they were). */
  beforeUp?: (message: string) => void;
  /** Called after each update with its outputs (e.g. to check where traffic went). */
  afterUp?: (outputs: PromotionOutputs) => void;
  private applied: PromotionOutputs;

  /**
   * `releaseVersion` among the settings is the label the stack's next
   * updates build (else FAKE_BUILT_RELEASE), set, as an operator does, after
   * the last update: the outputs to begin with show FAKE_BUILT_RELEASE.
   * `fleetMinSize` is the live fleet's minimum.
   */
  constructor(
    readonly stackName: string,
    settings: Partial<Record<ReadSetting, string>> = {},
    readonly front: Front = "load-balancer",
    readonly fleetMinSize = 2,
  ) {
    this.config = new Map(Object.entries(settings) as Array<[string, string]>);
    const before = new Map(this.config);
    before.delete("releaseVersion");
    this.applied = outputsFor(stackName, before, front, fleetMinSize);
  }

  async getConfig(key: ReadSetting): Promise<string | undefined> {
    return this.config.get(key);
  }

  async setConfig(values: Partial<Record<PromotionSetting, string>>): Promise<void> {
    for (const [k, v] of Object.entries(values)) this.config.set(k, v as string);
    this.events.push({ kind: "set", values });
  }

  async up(message: string): Promise<PromotionOutputs> {
    this.beforeUp?.(message);
    this.applied = outputsFor(this.stackName, this.config, this.front, this.fleetMinSize);
    this.events.push({ kind: "up", message, outputs: this.applied });
    this.afterUp?.(this.applied);
    return this.applied;
  }

  async outputs(): Promise<PromotionOutputs> {
    return this.applied;
  }

  /** The updates run, by message. */
  get ups(): string[] {
    return this.events.flatMap((e) => (e.kind === "up" ? [e.message] : []));
  }
}

export const counts = (healthy: number, other: Partial<TargetCounts> = {}): TargetCounts => ({ healthy, unhealthy: 0, initial: 0, draining: 0, unused: 0, ...other });

/** Each target group answers its script in order, then repeats the last answer; unscripted groups are healthy. */
export class FakeTargetHealth implements TargetHealth {
  readonly calls: string[] = [];
  private readonly last = new Map<string, TargetCounts>();

  constructor(private readonly scripts: Record<string, Array<TargetCounts | Error>> = {}, private readonly fallback = counts(2)) {}

  async describe(arn: string): Promise<TargetCounts> {
    this.calls.push(arn);
    const script = this.scripts[arn] ?? [];
    const answer = script.length > 1 ? script.shift()! : script[0] ?? this.fallback;
    if (answer instanceof Error) throw answer;
    this.last.set(arn, answer);
    return answer;
  }

  /** The last answer for a group (the fallback before any). */
  current(arn: string): TargetCounts {
    return this.last.get(arn) ?? this.fallback;
  }
}

/** Answers each request from `answer(url, color, attempt)` (a status, or a whole result); records the requests. */
export class FakeSmokeTest implements SmokeTest {
  readonly requests: Array<{ url: string; color: Color | undefined; previewKey?: string }> = [];

  constructor(private readonly answer: (url: string, color: Color | undefined, attempt: number) => number | SmokeResult = () => 200) {}

  async get(url: string, color: Color | undefined, _timeoutMs?: number, previewKey?: string): Promise<SmokeResult> {
    this.requests.push({ url, color, ...(previewKey ? { previewKey } : {}) });
    const answer = this.answer(url, color, this.requests.length);
    if (typeof answer !== "number") return answer;
    return answer === 0 ? { status: answer, error: "connect ECONNREFUSED" } : { status: answer };
  }
}

/**
 * nginx on a blue-green box, as the box's last completed rollout left it:
 * a request with the color header goes to that color, one without to the
 * live color; a running color answers 200 naming itself, a stopped one 502
 * (nginx finds no socket). `rollouts` = the updates the box has applied so
 * far (all of them by default; fewer: its rollout has not run yet).
 */
export class FakeBox {
  /** How many of the stack's updates the box has applied; undefined: every one. */
  rollouts?: number;
  /** What the box ran before any update of this test. */
  private readonly initial: PromotionOutputs;

  constructor(private readonly stack: FakeStack) {
    this.initial = outputsFor(stack.stackName, new Map(stack.config), "box");
  }

  state(): PromotionOutputs {
    const ups = this.stack.events.flatMap((e) => (e.kind === "up" ? [e.outputs] : []));
    const applied = this.rollouts === undefined ? ups.length : Math.min(this.rollouts, ups.length);
    return applied === 0 ? this.initial : ups[applied - 1];
  }

  answer(_url: string, color: Color | undefined): SmokeResult {
    const s = this.state();
    const routed = color ?? s.liveColor;
    return s.colors[routed].running ? { status: 200, color: routed } : { status: 502, color: routed };
  }
}

export class FakeClock implements Clock {
  t = 0;
  readonly sleeps: number[] = [];

  now(): number {
    return this.t;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
  }
}

export class MemoryLog implements Log {
  readonly lines: string[] = [];

  line(text: string): void {
    this.lines.push(text);
  }

  get text(): string {
    return this.lines.join("\n");
  }
}

/** The settings a FakeStack was given and the updates it ran, compactly: "set k=v k=v" and "up <message>". */
export function history(stack: FakeStack): string[] {
  return stack.events.map((e) =>
    e.kind === "set" ? `set ${Object.entries(e.values).map(([k, v]) => `${k}=${v}`).join(" ")}` : `up ${e.message}`,
  );
}

/** After each update of a FakeStack, each color's weight and whether it ran: "blue 100/on green 0/off". */
export function traffic(stack: FakeStack): string[] {
  return stack.events.flatMap((e) => (e.kind === "up"
    ? [`blue ${e.outputs.colors.blue.weight}/${e.outputs.colors.blue.running ? "on" : "off"} green ${e.outputs.colors.green.weight}/${e.outputs.colors.green.running ? "on" : "off"}`]
    : []));
}
