/**
 * In-memory stand-ins for the promotion's ports, for tests and for trying
 * the flow without a cloud: a stack whose `up()` computes the outputs from
 * its settings as the load-balanced tier does, scripted target health and
 * smoke answers, a clock that does not sleep, and a log that keeps lines.
 */
import {
  Clock,
  Color,
  Log,
  PromotionOutputs,
  PromotionSetting,
  PromotionWorkspace,
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

/** The outputs of the load-balanced tier for these settings (the default release is "default-<color>"). */
/** The release the fake stack's app folders build (what an unpinned color runs). */
export const FAKE_BUILT_RELEASE = "built-7c1e";

export function outputsFor(stack: string, config: ReadonlyMap<string, string>): PromotionOutputs {
  const live = (config.get("liveColor") ?? "blue") as Color;
  const idle = otherColor(live);
  const idleRunning = (config.get("idleFleet") ?? "stopped") === "running";
  const canary = idleRunning ? Number(config.get("canaryWeight") ?? "0") : 0;
  const color = (c: Color, running: boolean, weight: number) => ({
    // As the stack does: an unpinned color runs the release built from the app folders now.
    release: config.get(`${c}Release`) || FAKE_BUILT_RELEASE,
    running,
    weight,
    targetGroupArn: fakeTargetGroupArn(stack, c),
  });
  return {
    liveColor: live,
    colors: { [live]: color(live, true, 100 - canary), [idle]: color(idle, idleRunning, canary) } as PromotionOutputs["colors"],
    siteUrls: ["https://example.com/", "https://www.example.com/"],
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

  constructor(readonly stackName: string, settings: Partial<Record<PromotionSetting, string>> = {}) {
    this.config = new Map(Object.entries(settings) as Array<[string, string]>);
    this.applied = outputsFor(stackName, this.config);
  }

  async getConfig(key: PromotionSetting): Promise<string | undefined> {
    return this.config.get(key);
  }

  async setConfig(values: Partial<Record<PromotionSetting, string>>): Promise<void> {
    for (const [k, v] of Object.entries(values)) this.config.set(k, v as string);
    this.events.push({ kind: "set", values });
  }

  async up(message: string): Promise<PromotionOutputs> {
    this.beforeUp?.(message);
    this.applied = outputsFor(this.stackName, this.config);
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

/** Answers each request from `answer(url, color, attempt)`; records the requests. */
export class FakeSmokeTest implements SmokeTest {
  readonly requests: Array<{ url: string; color: Color }> = [];

  constructor(private readonly answer: (url: string, color: Color, attempt: number) => number = () => 200) {}

  async get(url: string, color: Color): Promise<SmokeResult> {
    this.requests.push({ url, color });
    const status = this.answer(url, color, this.requests.length);
    return status === 0 ? { status, error: "connect ECONNREFUSED" } : { status };
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
