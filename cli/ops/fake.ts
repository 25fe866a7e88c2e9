/**
 * In-memory stand-ins for the operating commands' ports, for the tests: a
 * stack with the outputs the box tiers or the load-balanced tier export, an
 * AWS whose answers are scripted per operation and which records every
 * call, a terminal that records what it was asked to run, a clock that does
 * not sleep, and an output that keeps what was written.
 */
import { type AwsApi, AwsError, type AwsService, type Clock, type Color, type OpsPorts, type OpsStack, type Output, type Terminal } from "./ports";

export const FAKE_REGION = "eu-west-1";
export const FAKE_BOX = "i-0b0c0d0e0f0a1b2c3";

export interface StackShape {
  kind: "box" | "load-balanced";
  apps?: string[];
  /** A box with boxReleases: blue-green, or load-balanced: the live color. */
  liveColor?: Color;
}

/** The outputs the stack program exports (index.ts) for a stack of this shape. */
export function fakeOutputs(stack: string, shape: StackShape): Record<string, unknown> {
  const apps = shape.apps ?? ["mysite"];
  const common = {
    tier: shape.kind === "box" ? "single-box" : "load-balanced",
    environment: stack === "prod" || stack === "staging" ? stack : "dev",
    siteUrls: ["https://example.com/"],
    artifactsBucket: `django-tiers-${stack}-artifacts`,
    logsBucket: `django-tiers-${stack}-logs`,
    alertTopicArn: `arn:aws:sns:${FAKE_REGION}:123456789012:django-tiers-${stack}-alerts`,
    releases: Object.fromEntries(apps.map((a) => [a, "v41"])),
  };
  const live = shape.liveColor;
  const colors = (groups: boolean) => Object.fromEntries((["blue", "green"] as Color[]).map((c) => [c, {
    release: c === live ? "v41" : "v40",
    running: c === live,
    weight: c === live ? 100 : 0,
    ...(groups ? { targetGroupArn: `arn:aws:elasticloadbalancing:${FAKE_REGION}:123456789012:targetgroup/${stack}-tg-${c}/0123456789abcdef`, autoScalingGroup: fakeGroup(stack, c), minSize: c === live ? 2 : 0 } : {}),
  }]));
  if (shape.kind === "box") {
    return {
      ...common,
      publicIp: "203.0.113.10",
      instanceId: FAKE_BOX,
      sessionCommand: `aws ssm start-session --target ${FAKE_BOX}`,
      ...(live ? { liveColor: live, colors: colors(false), builtRelease: "v41" } : {}),
    };
  }
  return { ...common, liveColor: live ?? "blue", colors: colors(true), builtRelease: "v41", loadBalancerDnsName: "lb-123.eu-west-1.elb.amazonaws.com" };
}

export const fakeGroup = (stack: string, color: Color) => `${stack}-app-${color}-asg-1a2b3c`;

export class FakeStack implements OpsStack {
  readonly project = "django-tiers";
  constructor(readonly stackName: string, private readonly raw: Record<string, unknown>) {}
  async outputs() {
    return structuredClone(this.raw);
  }
}

export interface AwsCall {
  service: AwsService;
  operation: string;
  input: Record<string, unknown>;
  region: string;
}

/** Answers one call: a result, or an AwsError to throw. */
export type AwsHandler = (input: Record<string, any>, call: AwsCall) => Record<string, any> | AwsError;

export class FakeAws implements AwsApi {
  readonly calls: AwsCall[] = [];
  constructor(private readonly handlers: Partial<Record<string, AwsHandler>> = {}) {}

  /** Adds or replaces the handler of `service:Operation`. */
  on(key: `${AwsService}:${string}`, handler: AwsHandler): this {
    this.handlers[key] = handler;
    return this;
  }

  async call(service: AwsService, operation: string, input: Record<string, unknown>, region: string) {
    const call = { service, operation, input: structuredClone(input), region };
    this.calls.push(call);
    const handler = this.handlers[`${service}:${operation}`];
    if (!handler) throw new Error(`FakeAws: no answer scripted for ${service}:${operation}`);
    const result = handler(call.input, call);
    if (result instanceof AwsError) throw result;
    return structuredClone(result);
  }

  /** The calls of one operation, in order. */
  of(operation: string): AwsCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }
}

/** An Auto Scaling group's instances as DescribeAutoScalingGroups returns them. */
export function groupAnswer(group: string, instances: Array<{ id: string; state?: string; health?: string }>): AwsHandler {
  return (input) => ({
    AutoScalingGroups: (input.AutoScalingGroupNames as string[]).includes(group)
      ? [{ AutoScalingGroupName: group, Instances: instances.map((i) => ({ InstanceId: i.id, LifecycleState: i.state ?? "InService", HealthStatus: i.health ?? "Healthy" })) }]
      : [],
  });
}

export class FakeTerminal implements Terminal {
  readonly runs: string[][] = [];
  constructor(private readonly exitCode = 0) {}
  async run(argv: readonly string[]) {
    this.runs.push([...argv]);
    return this.exitCode;
  }
}

/** Time moves only when something sleeps. */
export class FakeClock implements Clock {
  constructor(public time = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now() {
    return this.time;
  }
  async sleep(ms: number) {
    this.time += ms;
  }
}

export class MemoryOutput implements Output {
  stdout = "";
  stderr = "";
  out(text: string) {
    this.stdout += text;
  }
  err(text: string) {
    this.stderr += text;
  }
}

export function fakePorts(stack: FakeStack, aws: FakeAws, terminal = new FakeTerminal(), clock = new FakeClock()): OpsPorts & { output: MemoryOutput; terminal: FakeTerminal; clock: FakeClock } {
  return { stack, aws, terminal, clock, output: new MemoryOutput() };
}
