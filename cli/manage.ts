/**
 * `npm run manage -- --stack <name> [--app <app>] <manage.py arguments>`: a
 * Django management command on the stack's server (cli/ops/manage.ts; the
 * runbook: docs/runbooks/manage.md). `npm run shell` is cli/shell.ts.
 */
import * as path from "path";
import { type ManageOptions, manageMain } from "./ops/manage";
import type { OpsPorts } from "./ops/ports";
import { isInteractive } from "./ops/remote";

/** The real ports: `pulumi` for the outputs, `aws` for the calls, and the Session Manager plugin for a session. */
export async function connect(options: ManageOptions, interactive: boolean): Promise<OpsPorts> {
  const real = await import("./ops/real");
  await real.checkTools("manage", ["pulumi", "aws", ...(interactive && !options.print ? ["session-manager-plugin" as const] : [])]);
  const workDir = path.resolve(options.projectDir ?? path.resolve(__dirname, ".."));
  return {
    stack: await real.openOutputs(options.stack, workDir),
    aws: real.awsCli,
    terminal: real.inheritTerminal,
    clock: real.realClock,
    output: real.processOutput,
  };
}

export function run(argv: string[], shell: boolean): void {
  const output = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
  manageMain(argv, shell, (o) => connect(o, o.interactive ?? isInteractive(o.args)), output).then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (err) => {
      console.error(`manage: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}

if (require.main === module) run(process.argv.slice(2), false);
