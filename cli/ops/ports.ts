/**
 * The ports of the operating commands (`npm run manage`, `shell`, `logs`,
 * `status`): the stack's outputs, AWS's APIs, a terminal for interactive
 * sessions, a clock, and where output goes. The commands see only these
 * interfaces; real.ts adapts them to the Pulumi Automation API and the AWS
 * CLI, fake.ts to memory for the tests.
 *
 * Nothing here imports Pulumi or runs a process.
 */

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

/** The AWS services the commands call, by botocore's (and the AWS CLI's) service name. */
export type AwsService = "ssm" | "autoscaling" | "logs" | "cloudwatch";

/**
 * One AWS API call. `operation` and the members of `input` and of the
 * result are spelled as in AWS's API model (`SendCommand`, `InstanceIds`;
 * CloudWatch Logs' members are camelCase, `logGroupName`).
 */
export interface AwsApi {
  call(service: AwsService, operation: string, input: Record<string, unknown>, region: string): Promise<Record<string, any>>;
}

/** An AWS API error, with AWS's error code (e.g. `InvocationDoesNotExist`) when it names one. */
export class AwsError extends Error {
  override name = "AwsError";
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** Runs a command with the user's terminal attached (an interactive Session Manager session). */
export interface Terminal {
  /** Resolves to the command's exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** The stack's outputs as `pulumi stack output --json` has them (secret outputs left out). */
export interface OpsStack {
  readonly stackName: string;
  /** The Pulumi project's name (its log groups are /django-tiers/<project>/<stack>/…). */
  readonly project: string;
  outputs(): Promise<Record<string, unknown>>;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Where a command's results go: its standard output and error, as they are (no stamps). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export interface OpsPorts {
  stack: OpsStack;
  aws: AwsApi;
  terminal: Terminal;
  clock: Clock;
  output: Output;
}

/** The stack has not the outputs a command needs (never deployed, or deployed by another program). */
export class OutputsError extends Error {
  override name = "OutputsError";
}

/** What the operating commands need to know about a deployed stack, read from its outputs. */
export interface StackTarget {
  stack: string;
  /** From the alert topic's ARN: every resource of the stack is in this region. */
  region: string;
  tier: string;
  /** The stack's apps (the keys of the output `releases`), sorted. */
  apps: string[];
  /** The box tiers: the box; load-balanced: the app fleets, one per color. */
  servers: { kind: "box"; instanceId: string } | { kind: "fleets"; autoScalingGroups: Record<Color, string> };
  /** load-balanced, or a box with boxReleases: blue-green. */
  liveColor?: Color;
  /** Per color (when the stack has colors): the release it runs and whether it runs. */
  colors?: Record<Color, { release: string; running: boolean; weight: number }>;
  /** The release per app the live servers run (output `releases`). */
  releases: Record<string, string>;
  siteUrls: string[];
}

const ARN_REGION = /^arn:aws[a-z-]*:sns:([a-z]{2}(-[a-z]+)+-\d):\d{12}:/;

/** Reads a StackTarget from the stack's outputs, refusing anything else with a message naming the output. */
export function parseStackTarget(raw: Record<string, unknown>, stackName: string): StackTarget {
  const bad = (what: string) =>
    new OutputsError(`stack ${stackName}: output ${what}; has the stack been deployed (pulumi up) with this version of django-tiers?`);
  const topic = raw.alertTopicArn;
  const region = typeof topic === "string" ? ARN_REGION.exec(topic)?.[1] : undefined;
  if (!region) throw bad(`alertTopicArn is ${JSON.stringify(topic)}, not an SNS topic ARN (its region is the stack's)`);
  const tier = raw.tier;
  if (typeof tier !== "string" || !tier) throw bad("tier is missing");
  const releases = raw.releases;
  if (!releases || typeof releases !== "object" || Array.isArray(releases) || !Object.keys(releases).length ||
      !Object.values(releases).every((v) => typeof v === "string")) throw bad("releases is not a map of app to release");
  const siteUrls = Array.isArray(raw.siteUrls) ? raw.siteUrls.filter((u): u is string => typeof u === "string") : [];

  const live = raw.liveColor;
  if (live !== undefined && live !== "blue" && live !== "green") throw bad(`liveColor is ${JSON.stringify(live)}, expected "blue" or "green"`);
  let colors: StackTarget["colors"];
  const groups: Partial<Record<Color, string>> = {};
  if (raw.colors !== undefined) {
    colors = {} as NonNullable<StackTarget["colors"]>;
    for (const c of COLORS) {
      const o = (raw.colors as Record<string, any>)?.[c];
      if (!o || typeof o.release !== "string" || typeof o.running !== "boolean" || typeof o.weight !== "number") throw bad(`colors.${c} is not { release, running, weight }`);
      colors[c] = { release: o.release, running: o.running, weight: o.weight };
      if (typeof o.autoScalingGroup === "string" && o.autoScalingGroup) groups[c] = o.autoScalingGroup;
    }
  }
  if ((live === undefined) !== (colors === undefined)) throw bad(`liveColor and colors go together (${live === undefined ? "colors without liveColor" : "liveColor without colors"})`);

  let servers: StackTarget["servers"];
  if (typeof raw.instanceId === "string" && /^i-[0-9a-f]{8,17}$/.test(raw.instanceId)) {
    servers = { kind: "box", instanceId: raw.instanceId };
  } else if (groups.blue && groups.green) {
    servers = { kind: "fleets", autoScalingGroups: groups as Record<Color, string> };
  } else {
    throw bad(`instanceId (a box) or colors.<color>.autoScalingGroup (the load-balanced fleets) is missing`);
  }
  return {
    stack: stackName,
    region,
    tier,
    apps: Object.keys(releases).sort(),
    servers,
    ...(live ? { liveColor: live } : {}),
    ...(colors ? { colors } : {}),
    releases: releases as Record<string, string>,
    siteUrls,
  };
}
