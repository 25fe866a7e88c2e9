/**
 * `npm run promote -- --stack prod --release v42 [--canary 10]`: blue-green
 * promotion of a load-balanced stack, or of a box stack with
 * `boxReleases: blue-green`, on the Pulumi Automation API. Also
 * `--rollback [--scale-up]` and `--finish`. What it does, step by step:
 * docs/runbooks/promote-and-rollback.md; the state machine: promote/machine.ts.
 *
 * Exit codes: 0 done (or nothing to do); 1 the promotion failed (after a
 * failed check traffic is back where it was; after a failed update the run
 * stops and a rerun resumes); 2 bad usage, a refused state, or a missing
 * tool (`pulumi`, `aws`), with nothing changed.
 */
import * as path from "path";
import { EXIT, runPromote } from "./promote/machine";
import { PromoteOptions, USAGE, UsageError, parseArgs } from "./promote/options";
import type { Log, PromotionPorts } from "./promote/workspace";

export interface CliDeps {
  /** The ports for this stack; throws an Error named EnvironmentError when a tool is missing. */
  connect(options: PromoteOptions, log: Log): Promise<PromotionPorts>;
  out: Log;
  err: Log;
}

export async function main(argv: string[], deps: CliDeps): Promise<number> {
  let options: PromoteOptions;
  try {
    const parsed = parseArgs(argv);
    if (parsed.mode === "help") {
      deps.out.line(USAGE);
      return EXIT.ok;
    }
    options = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    deps.err.line(`promote: ${err.message}\n${USAGE}`);
    return EXIT.usage;
  }
  let ports: PromotionPorts;
  try {
    ports = await deps.connect(options, deps.out);
  } catch (err) {
    const e = err as Error;
    deps.err.line(e.name === "EnvironmentError" ? `promote: ${e.message}` : `promote: cannot open stack ${options.stack}: ${e.message}`);
    return EXIT.usage;
  }
  return runPromote(options, ports);
}

const stamp = () => new Date().toISOString().slice(11, 19);

/** The real ports; the Automation API is loaded only here, after `pulumi` is found (and `aws`, unless the stack is a box). */
const realDeps: CliDeps = {
  out: { line: (text) => console.log(`${stamp()} ${text}`) },
  err: { line: (text) => console.error(text) },
  async connect(options, log) {
    const real = await import("./promote/automation");
    await real.checkTools(["pulumi"]);
    const workDir = path.resolve(options.projectDir ?? path.resolve(__dirname, ".."));
    const workspace = await real.openStack(options.stack, workDir, (text) => process.stdout.write(text));
    // The AWS CLI reads a load balancer's target health; a box stack has none. Outputs that cannot be read
    // here are the promotion's own first error, with its message.
    const front = await workspace.outputs().then((o) => o.front, () => undefined);
    if (front === "load-balancer") await real.checkTools(["aws"]);
    return {
      workspace,
      targetHealth: real.awsTargetHealth,
      smoke: real.fetchSmokeTest,
      clock: { now: () => performance.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
      log,
    };
  },
};

if (require.main === module) {
  main(process.argv.slice(2), realDeps).then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (err) => {
      console.error(`promote: ${(err as Error).stack ?? err}`);
      process.exit(EXIT.failed);
    },
  );
}
