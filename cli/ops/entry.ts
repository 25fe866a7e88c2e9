/**
 * The shared shell of `npm run logs` and `npm run status`: parse, open the
 * ports, run; bad usage and a missing tool exit 2, an AWS error exits 1
 * with AWS's message.
 */
import { AwsError, type OpsPorts } from "./ports";

export interface OpsCommand<O> {
  name: string;
  usage: string;
  parse(argv: readonly string[]): O | "help";
  run(options: O, ports: OpsPorts): Promise<number>;
}

export async function opsMain<O extends { stack: string }>(
  command: OpsCommand<O>,
  argv: readonly string[],
  connect: (options: O) => Promise<OpsPorts>,
  output: { out(text: string): void; err(text: string): void },
): Promise<number> {
  let options: O;
  try {
    const parsed = command.parse(argv);
    if (parsed === "help") {
      output.out(`${command.usage}\n`);
      return 0;
    }
    options = parsed;
  } catch (err) {
    if ((err as Error).name !== "UsageError") throw err;
    output.err(`${command.name}: ${(err as Error).message}\n${command.usage}\n`);
    return 2;
  }
  let ports: OpsPorts;
  try {
    ports = await connect(options);
  } catch (err) {
    const e = err as Error;
    output.err(`${command.name}: ${e.name === "EnvironmentError" ? e.message : `cannot open stack ${options.stack}: ${e.message}`}\n`);
    return 2;
  }
  try {
    return await command.run(options, ports);
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    output.err(`${command.name}: ${err.message}\n`);
    return 1;
  }
}

/** The real ports for a command that reads the stack and calls AWS. */
export async function connectReal(name: string, options: { stack: string; projectDir?: string }, projectRoot: string): Promise<OpsPorts> {
  const real = await import("./real");
  const path = await import("path");
  await real.checkTools(name, ["pulumi", "aws"]);
  return {
    stack: await real.openOutputs(options.stack, path.resolve(options.projectDir ?? projectRoot)),
    aws: real.awsCli,
    terminal: real.inheritTerminal,
    clock: real.realClock,
    output: real.processOutput,
  };
}

/** Runs an entry as a process: exit with its code. */
export function runProcess(name: string, code: Promise<number>): void {
  code.then(
    (c) => process.stdout.write("", () => process.exit(c)),
    (err) => {
      console.error(`${name}: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
