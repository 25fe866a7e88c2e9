/**
 * The real ports of a promotion, kept thin: the stack through the Pulumi
 * Automation API (needs the `pulumi` binary), target health through the AWS
 * CLI (`aws elbv2 describe-target-health`), the smoke test through fetch.
 * Only cli/promote.ts loads this module, and only when it runs for real.
 */
import { execFile } from "child_process";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import {
  COLOR_HEADER,
  CONFIG_NAMESPACE,
  Color,
  PromotionOutputs,
  PromotionSetting,
  ReadSetting,
  PromotionWorkspace,
  PREVIEW_HEADER,
  SmokeResult,
  SmokeTest,
  TargetCounts,
  TargetHealth,
  parseOutputs,
} from "./workspace";

/** A binary the promotion needs is missing or broken (exit 2). */
export class EnvironmentError extends Error {
  override name = "EnvironmentError";
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });
}

const TOOLS = {
  pulumi: [["version"], "the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), logged in to the stack's backend"],
  aws: [["--version"], "the AWS CLI v2 (https://docs.aws.amazon.com/cli/), with credentials that may call elasticloadbalancing:DescribeTargetHealth, " +
    "to promote a stack with a load balancer (a box stack does without it)"],
} as const satisfies Record<string, readonly [readonly string[], string]>;

/**
 * Fails with an EnvironmentError when one of `tools` cannot be run: `pulumi`
 * always, `aws` only for a stack with a load balancer (its target health).
 */
export async function checkTools(tools: ReadonlyArray<keyof typeof TOOLS>): Promise<void> {
  for (const file of tools) {
    const [args, what] = TOOLS[file];
    try {
      await run(file, args, 30_000);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === "ENOENT" ? `\`${file}\` is not on PATH` : `\`${file} ${args.join(" ")}\` failed: ${(e.stderr || e.message).trim()}`;
      throw new EnvironmentError(`${why}. promote needs ${what}.`);
    }
  }
}

const plainOutputs = (outputs: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));

/** The stack `stackName` of the Pulumi project in `workDir`. `onOutput` receives `pulumi up`'s progress as it runs. */
export async function openStack(stackName: string, workDir: string, onOutput: (text: string) => void): Promise<PromotionWorkspace> {
  const stack = await LocalWorkspace.selectStack({ stackName, workDir });
  const key = (k: ReadSetting) => `${CONFIG_NAMESPACE}:${k}`;
  return {
    stackName,
    async getConfig(k) {
      try {
        return (await stack.getConfig(key(k))).value;
      } catch (err) {
        // `pulumi config get` of an unset key fails; the setting's default applies.
        if (/not found|no value/i.test(String((err as Error).message))) return undefined;
        throw err;
      }
    },
    async setConfig(values) {
      await stack.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [key(k as PromotionSetting), { value: v as string }])));
    },
    async up(message): Promise<PromotionOutputs> {
      const result = await stack.up({ message, onOutput });
      return parseOutputs(plainOutputs(result.outputs), stackName);
    },
    async outputs() {
      return parseOutputs(plainOutputs(await stack.outputs()), stackName);
    },
  };
}

/** `aws elbv2 describe-target-health`, in the target group's own region (from its ARN). */
export const awsTargetHealth: TargetHealth = {
  async describe(targetGroupArn: string): Promise<TargetCounts> {
    const region = targetGroupArn.split(":")[3];
    const args = ["elbv2", "describe-target-health", "--target-group-arn", targetGroupArn, "--output", "json", ...(region ? ["--region", region] : [])];
    let text: string;
    try {
      text = await run("aws", args, 60_000);
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`aws elbv2 describe-target-health failed: ${(e.stderr || e.message).trim()}`);
    }
    const parsed = JSON.parse(text) as { TargetHealthDescriptions?: Array<{ TargetHealth?: { State?: string } }> };
    const counts: TargetCounts = { healthy: 0, unhealthy: 0, initial: 0, draining: 0, unused: 0 };
    for (const d of parsed.TargetHealthDescriptions ?? []) {
      const state = d.TargetHealth?.State;
      if (state === "healthy" || state === "unhealthy" || state === "initial" || state === "draining") counts[state]++;
      else if (state === "unhealthy.draining") counts.draining++;
      else counts.unused++;
    }
    return counts;
  },
};

/** GET with the color header (when given); a redirect is an answer (not followed), a network error or timeout is status 0. */
export const fetchSmokeTest: SmokeTest = {
  async get(url: string, color: Color | undefined, timeoutMs: number, previewKey?: string): Promise<SmokeResult> {
    const headers: Record<string, string> = color ? { [COLOR_HEADER]: color, ...(previewKey ? { [PREVIEW_HEADER]: `${color}.${previewKey}` } : {}) } : {};
    try {
      const res = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      const answered = res.headers.get(COLOR_HEADER);
      return { status: res.status, ...(answered ? { color: answered.trim().toLowerCase() } : {}) };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return { status: 0, error: e.cause?.code ?? e.message };
    }
  },
};
