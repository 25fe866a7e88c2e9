/**
 * `npm run manage` and `npm run shell`: a Django management command on the
 * stack's server, as the app's user with its full environment.
 * Non-interactive commands go through Run Command (AWS-RunShellScript): the
 * output and exit code come back. Interactive ones (shell, dbshell,
 * createsuperuser without --noinput) open a Session Manager session
 * (AWS-StartInteractiveCommand), or with --print only print its command line.
 * The runbook: docs/runbooks/manage.md.
 */
import { type OpsPorts, type StackTarget, AwsError, OutputsError, parseStackTarget } from "./ports";
import { interactiveCommand, isInteractive, manageCommand, shellLine } from "./remote";
import { chooseApp, chooseServer, TargetError } from "./target";

export const MANAGE_USAGE = `usage:
  npm run manage -- --stack <name> [--app <app>] [--instance <id>] [--timeout <seconds>]
                    [--interactive | --no-interactive] [--print] [--] <manage.py arguments>
  npm run shell -- --stack <name> [--app <app>] [--instance <id>] [--print]

Runs \`python manage.py <arguments>\` on the stack's server (the box, or an
in-service app server of the live color), in the live release, as the app's
user, with the app's environment and secrets (django-tiers-exec).

  --stack <name>      the Pulumi stack (required)
  --app <app>         the app, when the stack serves several
  --instance <id>     load-balanced: this app server of the live color (default: the first by id)
  --timeout <s>       Run Command's execution timeout, 30 to 172800 seconds (default 3600)
  --interactive       open a Session Manager session even for a command that asks nothing
  --no-interactive    use Run Command even for shell/dbshell/createsuperuser (no terminal: they read EOF)
  --print             interactive: print the aws ssm start-session command line instead of running it
  --project-dir <dir> the Pulumi project (default: this repository)

shell, shell_plus (without -c), dbshell, createsuperuser and changepassword
(without --noinput) are interactive; everything else runs through Run Command:
its output is printed as it ends (stdout up to 24,000 characters, stderr up
to 8,000: Run Command's limits) and its exit code is this command's.
Arguments reach manage.py as they are, each one word (no shell on the server
reads them); they are kept in the account's Run Command history, so pass no
secret as an argument.

exit codes: the management command's own; 1 when it did not run to an exit
code (not delivered, timed out, cancelled); 2 bad usage or a stack/server that
cannot be used, with nothing run. docs/runbooks/manage.md`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ManageOptions {
  stack: string;
  app?: string;
  instance?: string;
  timeoutSeconds: number;
  /** undefined: decided by the command (isInteractive). */
  interactive?: boolean;
  print: boolean;
  projectDir?: string;
  args: string[];
}

export const EXIT = { failed: 1, usage: 2 } as const;
/** AWS-RunShellScript's executionTimeout range (seconds). */
const TIMEOUT = { min: 30, max: 172800, default: 3600 };
/** How long Run Command may wait to deliver the command before giving up (SendCommand TimeoutSeconds). */
export const DELIVERY_TIMEOUT_SECONDS = 120;
/** How often the invocation is read while it runs. */
export const POLL_MS = 2000;
/** GetCommandInvocation's limits on the output it returns. */
const OUTPUT_LIMITS = { stdout: 24000, stderr: 8000 };

const VALUE_FLAGS = ["--stack", "--app", "--instance", "--timeout", "--project-dir"];
const SWITCHES = ["--interactive", "--no-interactive", "--print", "--help", "-h"];

/**
 * Our flags first; the first word that is not one of them (or everything
 * after `--`) is manage.py's. `shell: true` is `npm run shell`: the command
 * is `shell`, followed by any words left.
 */
export function parseManageArgs(argv: readonly string[], shell = false): ManageOptions | "help" {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  let i = 0;
  let separated = false;
  for (; i < argv.length; i++) {
    const raw = argv[i];
    if (raw === "--") {
      i++;
      separated = true;
      break;
    }
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    if (VALUE_FLAGS.includes(flag)) {
      const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      if (values.has(flag)) throw new UsageError(`${flag} is given twice; give it once`);
      values.set(flag, value);
    } else if (SWITCHES.includes(flag) && eq < 0) {
      switches.add(flag);
    } else {
      break;
    }
  }
  if (switches.has("--help") || switches.has("-h")) return "help";
  const args = [...(shell ? ["shell"] : []), ...argv.slice(i)];
  const stack = values.get("--stack");
  if (!stack) throw new UsageError("--stack is required (the stack whose server runs the command, e.g. --stack prod)");
  if (!args.length) throw new UsageError("no management command given (e.g. npm run manage -- --stack prod migrate --plan)");
  if (args[0].startsWith("-") && !separated && !shell) throw new UsageError(`unknown option ${JSON.stringify(args[0])} (put manage.py's own options after its command, or after --)`);
  const app = values.get("--app");
  if (app !== undefined && !/^[a-z][a-z0-9]{0,20}$/.test(app)) throw new UsageError(`--app ${JSON.stringify(app)}: app names are lowercase letters and digits, starting with a letter`);
  const instance = values.get("--instance");
  if (instance !== undefined && !/^i-[0-9a-f]{8,17}$/.test(instance)) throw new UsageError(`--instance ${JSON.stringify(instance)}: must be an EC2 instance id such as i-0123456789abcdef0`);
  const timeoutText = values.get("--timeout") ?? String(TIMEOUT.default);
  const timeoutSeconds = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutSeconds < TIMEOUT.min || timeoutSeconds > TIMEOUT.max) {
    throw new UsageError(`--timeout ${JSON.stringify(timeoutText)}: must be a whole number of seconds from ${TIMEOUT.min} to ${TIMEOUT.max}`);
  }
  if (switches.has("--interactive") && switches.has("--no-interactive")) throw new UsageError("--interactive and --no-interactive cannot be combined");
  const interactive = switches.has("--interactive") ? true : switches.has("--no-interactive") ? false : undefined;
  if (switches.has("--print") && interactive === false) throw new UsageError("--print prints a Session Manager command line; --no-interactive uses Run Command");
  if (values.has("--timeout") && interactive === true) throw new UsageError("--timeout is Run Command's; an interactive session lasts until you leave it");
  for (const a of args) if (a.includes("\0")) throw new UsageError("an argument contains a NUL byte");
  return {
    stack,
    ...(app !== undefined ? { app } : {}),
    ...(instance !== undefined ? { instance } : {}),
    timeoutSeconds,
    ...(interactive !== undefined ? { interactive } : {}),
    print: switches.has("--print"),
    ...(values.has("--project-dir") ? { projectDir: values.get("--project-dir") } : {}),
    args,
  };
}

/** The Session Manager request for an interactive command, and the aws CLI line that makes it. */
export function startSessionRequest(region: string, instanceId: string, command: string) {
  const input = { Target: instanceId, DocumentName: "AWS-StartInteractiveCommand", Parameters: { command: [command] }, Reason: "django-tiers manage" };
  const argv = [
    "aws", "ssm", "start-session", "--region", region, "--target", instanceId,
    "--document-name", input.DocumentName, "--parameters", JSON.stringify(input.Parameters), "--reason", input.Reason,
  ];
  return { input, argv };
}

/** GetCommandInvocation's final statuses (CommandInvocationStatus; not delivered is Failed or TimedOut, with StatusDetails). */
const FINAL = new Set(["Success", "Cancelled", "TimedOut", "Failed"]);

/** Runs `npm run manage` with its options against the ports; resolves to the exit code. */
export async function runManage(options: ManageOptions, ports: OpsPorts): Promise<number> {
  const { output } = ports;
  const note = (text: string) => output.err(`manage: ${text}\n`);
  let target: StackTarget;
  let app: string;
  let server: Awaited<ReturnType<typeof chooseServer>>;
  try {
    target = parseStackTarget(await ports.stack.outputs(), options.stack);
    app = chooseApp(target, options.app);
    server = await chooseServer(ports.aws, target, app, options.instance);
  } catch (err) {
    if (err instanceof OutputsError || err instanceof TargetError || err instanceof AwsError) {
      note((err as Error).message);
      return EXIT.usage;
    }
    throw err;
  }
  const interactive = options.interactive ?? isInteractive(options.args);

  if (interactive) {
    const { argv } = startSessionRequest(target.region, server.instanceId, interactiveCommand(server.location, options.args));
    if (options.print) {
      output.out(`${shellLine(argv)}\n`);
      return 0;
    }
    note(`opening a Session Manager session on ${server.description} for app ${app}: ${shellLine(["manage.py", ...options.args])}`);
    return ports.terminal.run(argv);
  }

  const command = manageCommand(server.location, options.args);
  note(`running on ${server.description} for app ${app}: ${shellLine(["manage.py", ...options.args])}`);
  const sent = await ports.aws.call("ssm", "SendCommand", {
    InstanceIds: [server.instanceId],
    DocumentName: "AWS-RunShellScript",
    // The command's name only: its arguments could be anything.
    Comment: `django-tiers ${options.stack} ${app} manage.py ${options.args[0].replace(/[^A-Za-z0-9_.-]/g, "")}`.slice(0, 100),
    TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
    Parameters: { commands: [command], executionTimeout: [String(options.timeoutSeconds)] },
  }, target.region);
  const commandId: string | undefined = sent.Command?.CommandId;
  if (!commandId) throw new AwsError("SendCommand returned no CommandId");

  // Until delivery gives up, then until the execution timeout, with a margin for SSM to report.
  const deadline = ports.clock.now() + (DELIVERY_TIMEOUT_SECONDS + options.timeoutSeconds + 60) * 1000;
  for (;;) {
    await ports.clock.sleep(POLL_MS);
    let invocation: Record<string, any>;
    try {
      invocation = await ports.aws.call("ssm", "GetCommandInvocation", { CommandId: commandId, InstanceId: server.instanceId }, target.region);
    } catch (err) {
      // Run Command takes a moment to register the invocation after SendCommand.
      if (err instanceof AwsError && err.code === "InvocationDoesNotExist" && ports.clock.now() < deadline) continue;
      throw err;
    }
    const status: string = invocation.Status ?? "";
    if (!FINAL.has(status)) {
      if (ports.clock.now() >= deadline) {
        note(`gave up waiting for command ${commandId} (status ${status || "unknown"}); it may still be running: aws ssm get-command-invocation --region ${target.region} --command-id ${commandId} --instance-id ${server.instanceId}`);
        return EXIT.failed;
      }
      continue;
    }
    const stdout: string = invocation.StandardOutputContent ?? "";
    const stderr: string = invocation.StandardErrorContent ?? "";
    if (stdout) output.out(stdout.endsWith("\n") ? stdout : `${stdout}\n`);
    if (stderr) output.err(stderr.endsWith("\n") ? stderr : `${stderr}\n`);
    if (stdout.length >= OUTPUT_LIMITS.stdout || stderr.length >= OUTPUT_LIMITS.stderr) {
      note(`the output may be cut: Run Command returns the first ${OUTPUT_LIMITS.stdout} characters of stdout and ${OUTPUT_LIMITS.stderr} of stderr; for more, use an interactive session (--interactive) or write to a file on the server`);
    }
    const code: number = typeof invocation.ResponseCode === "number" ? invocation.ResponseCode : -1;
    if ((status === "Success" || status === "Failed") && code >= 0 && code <= 255) {
      if (code !== 0) note(`manage.py ${options.args[0]} exited ${code} (command ${commandId})`);
      return code;
    }
    note(`command ${commandId} ended ${status}${invocation.StatusDetails && invocation.StatusDetails !== status ? ` (${invocation.StatusDetails})` : ""}${code >= 0 ? `, exit ${code}` : ""}`);
    return EXIT.failed;
  }
}

/** The entry of `npm run manage` / `npm run shell` for an argv, with ports made once the options are known. */
export async function manageMain(
  argv: readonly string[],
  shell: boolean,
  connect: (options: ManageOptions) => Promise<OpsPorts>,
  output: { out(text: string): void; err(text: string): void },
): Promise<number> {
  let options: ManageOptions;
  try {
    const parsed = parseManageArgs(argv, shell);
    if (parsed === "help") {
      output.out(`${MANAGE_USAGE}\n`);
      return 0;
    }
    options = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    output.err(`manage: ${err.message}\n${MANAGE_USAGE}\n`);
    return EXIT.usage;
  }
  let ports: OpsPorts;
  try {
    ports = await connect(options);
  } catch (err) {
    const e = err as Error;
    output.err(`manage: ${e.name === "EnvironmentError" ? e.message : `cannot open stack ${options.stack}: ${e.message}`}\n`);
    return EXIT.usage;
  }
  return runManage(options, ports);
}
