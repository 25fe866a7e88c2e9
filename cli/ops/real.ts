/**
 * The real ports of the operating commands, kept thin: the stack's outputs
 * through the Pulumi Automation API (needs the `pulumi` binary), AWS's APIs
 * through the AWS CLI v2 (`aws <service> <operation> --cli-input-json`, the
 * request exactly as the API model spells it), and interactive sessions as
 * a child process on the user's terminal. Only the cli/*.ts entries load
 * this module, and only when they run for real.
 */
import { execFile, spawn } from "child_process";
import { constants } from "os";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { type AwsApi, AwsError, type Clock, type OpsStack, type Output, type Terminal } from "./ports";

/** A binary a command needs is missing or broken (exit 2). */
export class EnvironmentError extends Error {
  override name = "EnvironmentError";
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });
}

const TOOLS = {
  pulumi: [["version"], "the Pulumi CLI (https://www.pulumi.com/docs/iac/download-install/), logged in to the stack's backend"],
  aws: [["--version"], "the AWS CLI v2 (https://docs.aws.amazon.com/cli/) with credentials for the stack's account"],
  "session-manager-plugin": [["--version"], "the Session Manager plugin of the AWS CLI (https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html) for an interactive session; or add --print to get the command line"],
} as const satisfies Record<string, readonly [readonly string[], string]>;

export type Tool = keyof typeof TOOLS;

/** Fails with an EnvironmentError naming what to install when one of `tools` cannot be run. */
export async function checkTools(command: string, tools: readonly Tool[]): Promise<void> {
  for (const file of tools) {
    const [args, what] = TOOLS[file];
    try {
      await run(file, args, 30_000);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      const why = e.code === "ENOENT" ? `\`${file}\` is not on PATH` : `\`${file} ${args.join(" ")}\` failed: ${(e.stderr || e.message).trim()}`;
      throw new EnvironmentError(`${why}. ${command} needs ${what}.`);
    }
  }
}

/** The stack `stackName` of the Pulumi project in `workDir`: its outputs, secret ones left out. */
export async function openOutputs(stackName: string, workDir: string): Promise<OpsStack> {
  const stack = await LocalWorkspace.selectStack({ stackName, workDir });
  const project = (await stack.workspace.projectSettings()).name;
  return {
    stackName,
    project,
    async outputs() {
      const outputs = await stack.outputs();
      return Object.fromEntries(Object.entries(outputs).filter(([, v]) => !v.secret).map(([k, v]) => [k, v.value]));
    },
  };
}

/** `SendCommand` → `send-command`. */
export const cliOperation = (operation: string) => operation.replace(/(?<=[a-z0-9])([A-Z])/g, "-$1").toLowerCase();

/**
 * One call through the AWS CLI: the input as --cli-input-json (no shell, so
 * nothing in it is interpreted), one page (--no-paginate: the caller pages
 * with the API's own tokens), JSON out. AWS's error code is read from the
 * CLI's message "An error occurred (<Code>) when calling …".
 */
export const awsCli: AwsApi = {
  async call(service, operation, input, region) {
    const args = [service, cliOperation(operation), "--cli-input-json", JSON.stringify(input), "--region", region, "--output", "json", "--no-paginate", "--no-cli-pager"];
    let text: string;
    try {
      text = await run("aws", args, 120_000);
    } catch (err) {
      const e = err as Error & { stderr?: string };
      const message = (e.stderr || e.message).trim();
      throw new AwsError(`aws ${service} ${cliOperation(operation)} failed: ${message}`, /An error occurred \(([A-Za-z0-9.]+)\)/.exec(message)?.[1]);
    }
    return text.trim() ? JSON.parse(text) : {};
  },
};

/** A child process on this terminal (stdin, stdout and stderr inherited). */
export const inheritTerminal: Terminal = {
  run(argv) {
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
      child.on("error", reject);
      child.on("exit", (code, signal) => resolve(code ?? 128 + ((signal && constants.signals[signal]) || 0)));
    });
  },
};

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export const processOutput: Output = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };
