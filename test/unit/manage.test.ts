/**
 * `npm run manage` / `npm run shell` (cli/ops/manage.ts) against a fake
 * stack and a fake AWS: the server chosen, the exact requests sent (each
 * also checked against AWS's API model), the output and exit code handed
 * back, the Session Manager command line of an interactive command, and
 * the quoting, run through a real `sh` with hostile arguments.
 * The on-box side (django-tiers-exec) is rendered by server/django-env.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FAKE_BOX, FAKE_REGION, FakeAws, FakeStack, type StackShape, fakeGroup, fakeOutputs, fakePorts, groupAnswer, FakeTerminal } from "../../cli/ops/fake";
import { MANAGE_USAGE, manageMain, parseManageArgs, runManage, startSessionRequest } from "../../cli/ops/manage";
import { AwsError } from "../../cli/ops/ports";
import { interactiveCommand, isInteractive, manageCommand, shellLine, shellQuote } from "../../cli/ops/remote";
import { AwsModels, INSTALL_COMMAND, findModelDir } from "../../policies/conformance/models";
import { requestProblems } from "../../policies/conformance/requests";
import { EXEC_WRAPPER } from "../../server/paths";

const dir = findModelDir();
if (!dir) throw new Error(`AWS's API models are not installed: run \`${INSTALL_COMMAND}\` (npm run setup:server-tools does)`);
const models = new AwsModels(dir);

const COMMAND_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
const APP_SERVERS = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"];

/** A world: the stack's outputs, AWS answering SendCommand and then the invocation's states in turn. */
function world(shape: StackShape, invocations: Array<Record<string, unknown> | AwsError> = [{ Status: "Success", ResponseCode: 0, StandardOutputContent: "ok\n" }]) {
  const aws = new FakeAws()
    .on("ssm:SendCommand", () => ({ Command: { CommandId: COMMAND_ID, Status: "Pending" } }))
    .on("ssm:GetCommandInvocation", () => {
      const next = invocations.length > 1 ? invocations.shift()! : invocations[0];
      return next;
    });
  const stack = new FakeStack("prod", fakeOutputs("prod", shape));
  return { aws, ports: fakePorts(stack, aws) };
}

const manage = (argv: string[], w: ReturnType<typeof world>) => {
  const options = parseManageArgs(argv);
  if (options === "help") throw new Error("help");
  return runManage(options, w.ports);
};

/** Every call a test made conforms to AWS's API model. */
function expectModelConformant(aws: FakeAws) {
  expect(aws.calls.length).toBeGreaterThan(0);
  for (const call of aws.calls) expect([call.operation, requestProblems(models, call.service, call.operation, call.input)]).toEqual([call.operation, []]);
}

describe("npm run manage: arguments", () => {
  it("takes its own flags first; the first other word, or everything after --, is manage.py's", () => {
    expect(parseManageArgs(["--stack", "prod", "migrate", "--plan", "--app", "x"])).toEqual({ stack: "prod", timeoutSeconds: 3600, print: false, args: ["migrate", "--plan", "--app", "x"] });
    expect(parseManageArgs(["--stack=dev", "--app", "blog", "--timeout", "600", "--", "--version"])).toEqual({ stack: "dev", app: "blog", timeoutSeconds: 600, print: false, args: ["--version"] });
    expect(parseManageArgs(["--stack", "prod", "--instance", "i-0aaaaaaaaaaaaaaa2", "--interactive", "check"])).toMatchObject({ instance: "i-0aaaaaaaaaaaaaaa2", interactive: true, args: ["check"] });
    // npm run shell: the command is shell, with what follows.
    expect(parseManageArgs(["--stack", "prod", "--print"], true)).toMatchObject({ print: true, args: ["shell"] });
    expect(parseManageArgs(["--stack", "prod", "-c", "print(1)"], true)).toMatchObject({ args: ["shell", "-c", "print(1)"] });
    expect(parseManageArgs(["--help"])).toBe("help");
  });

  it.each([
    [[], "--stack is required"],
    [["--stack", "prod"], "no management command given"],
    [["--stack"], "--stack needs a value"],
    [["--stack", "prod", "--stack", "dev", "check"], "--stack is given twice"],
    [["--stack", "prod", "--noinput"], 'unknown option "--noinput" (put manage.py\'s own options after its command, or after --)'],
    [["--stack", "prod", "--app", "My App", "check"], '--app "My App": app names are lowercase'],
    [["--stack", "prod", "--instance", "web-1", "check"], '--instance "web-1": must be an EC2 instance id'],
    [["--stack", "prod", "--timeout", "10", "check"], '--timeout "10": must be a whole number of seconds from 30 to 172800'],
    [["--stack", "prod", "--timeout", "1h", "check"], '--timeout "1h"'],
    [["--stack", "prod", "--interactive", "--no-interactive", "check"], "cannot be combined"],
    [["--stack", "prod", "--print", "--no-interactive", "shell"], "--print prints a Session Manager command line"],
    [["--stack", "prod", "--interactive", "--timeout", "60", "shell"], "--timeout is Run Command's"],
  ])("refuses %j with exit 2 and the usage", async (argv, message) => {
    const out = { stdout: "", stderr: "", out(t: string) { this.stdout += t; }, err(t: string) { this.stderr += t; } };
    const connect = jest.fn();
    expect(await manageMain(argv, false, connect, out)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain(MANAGE_USAGE);
    expect(connect).not.toHaveBeenCalled();
  });

  it("decides which commands need a terminal", () => {
    for (const args of [["shell"], ["shell_plus"], ["dbshell"], ["createsuperuser"], ["createsuperuser", "--username", "a"], ["changepassword", "admin"]]) expect([args, isInteractive(args)]).toEqual([args, true]);
    for (const args of [["shell", "-c", "print(1)"], ["shell", "--command=print(1)"], ["createsuperuser", "--noinput"], ["createsuperuser", "--no-input"], ["migrate"], ["check", "--deploy"], ["clearsessions"]]) {
      expect([args, isInteractive(args)]).toEqual([args, false]);
    }
  });
});

describe("npm run manage: a non-interactive command through Run Command", () => {
  it("on a box: runs manage.py in the current release as the app's user, and hands back its output and exit code", async () => {
    const w = world({ kind: "box" }, [
      new AwsError("An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation", "InvocationDoesNotExist"),
      { Status: "InProgress" },
      { Status: "Success", ResponseCode: 0, StandardOutputContent: "Planned operations:\n  No planned migration operations.\n", StandardErrorContent: "" },
    ]);
    expect(await manage(["--stack", "prod", "migrate", "--plan"], w)).toBe(0);
    expect(w.aws.of("SendCommand").map((c) => [c.region, c.input])).toEqual([[FAKE_REGION, {
      InstanceIds: [FAKE_BOX],
      DocumentName: "AWS-RunShellScript",
      Comment: "django-tiers prod mysite manage.py migrate",
      TimeoutSeconds: 120,
      Parameters: {
        commands: [`cd /srv/apps/mysite/current && exec runuser -u mysite -- ${EXEC_WRAPPER} mysite /srv/apps/mysite/current/venv/bin/python manage.py migrate --plan`],
        executionTimeout: ["3600"],
      },
    }]]);
    expect(w.aws.of("GetCommandInvocation").map((c) => c.input)).toEqual(Array(3).fill({ CommandId: COMMAND_ID, InstanceId: FAKE_BOX }));
    expect(w.ports.output.stdout).toBe("Planned operations:\n  No planned migration operations.\n");
    expect(w.ports.output.stderr).toBe(`manage: running on the box ${FAKE_BOX} for app mysite: manage.py migrate --plan\n`);
    expectModelConformant(w.aws);
  });

  it("returns the command's own exit code and its stderr when it fails", async () => {
    const w = world({ kind: "box" }, [{ Status: "Failed", ResponseCode: 3, StandardOutputContent: "", StandardErrorContent: "CommandError: App 'nope' could not be found." }]);
    expect(await manage(["--stack", "prod", "--timeout", "900", "migrate", "nope"], w)).toBe(3);
    expect(w.aws.of("SendCommand")[0].input.Parameters).toMatchObject({ executionTimeout: ["900"] });
    expect(w.ports.output.stderr).toContain("CommandError: App 'nope' could not be found.\n");
    expect(w.ports.output.stderr).toContain(`manage.py migrate exited 3 (command ${COMMAND_ID})`);
  });

  it("exits 1 when the command never ran to an exit code (not delivered), with SSM's details", async () => {
    const w = world({ kind: "box" }, [{ Status: "TimedOut", StatusDetails: "DeliveryTimedOut", ResponseCode: -1 }]);
    expect(await manage(["--stack", "prod", "check"], w)).toBe(1);
    expect(w.ports.output.stderr).toContain(`command ${COMMAND_ID} ended TimedOut (DeliveryTimedOut)`);
  });

  it("stops waiting after delivery, execution and a margin, and says how to look the command up", async () => {
    const w = world({ kind: "box" }, [{ Status: "InProgress" }]);
    const started = w.ports.clock.now();
    expect(await manage(["--stack", "prod", "--timeout", "60", "check"], w)).toBe(1);
    expect(w.ports.clock.now() - started).toBeGreaterThanOrEqual((120 + 60 + 60) * 1000);
    expect(w.ports.output.stderr).toContain(`aws ssm get-command-invocation --region ${FAKE_REGION} --command-id ${COMMAND_ID} --instance-id ${FAKE_BOX}`);
  });

  it("says when Run Command's output limit may have cut the output", async () => {
    const w = world({ kind: "box" }, [{ Status: "Success", ResponseCode: 0, StandardOutputContent: "x".repeat(24000) }]);
    expect(await manage(["--stack", "prod", "dumpdata"], w)).toBe(0);
    expect(w.ports.output.stderr).toContain("the output may be cut: Run Command returns the first 24000 characters of stdout");
  });

  it("on a blue-green box: runs in the live color's release", async () => {
    const w = world({ kind: "box", liveColor: "green" });
    expect(await manage(["--stack", "prod", "clearsessions"], w)).toBe(0);
    expect(w.aws.of("SendCommand")[0].input.Parameters).toMatchObject({
      commands: [`cd /srv/apps/mysite/green && exec runuser -u mysite -- ${EXEC_WRAPPER} mysite /srv/apps/mysite/green/venv/bin/python manage.py clearsessions`],
    });
    expect(w.ports.output.stderr).toContain(`on the box ${FAKE_BOX} (live color green)`);
  });

  it("on load-balanced: the first in-service, healthy app server of the live color", async () => {
    const w = world({ kind: "load-balanced", liveColor: "green" });
    w.aws.on("autoscaling:DescribeAutoScalingGroups", groupAnswer(fakeGroup("prod", "green"), [
      { id: APP_SERVERS[2] },
      { id: "i-0aaaaaaaaaaaaaaa0", state: "Pending" },
      { id: APP_SERVERS[1] },
      { id: "i-0aaaaaaaaaaaaaab0", health: "Unhealthy" },
    ]));
    expect(await manage(["--stack", "prod", "check", "--deploy"], w)).toBe(0);
    expect(w.aws.of("DescribeAutoScalingGroups").map((c) => c.input)).toEqual([{ AutoScalingGroupNames: [fakeGroup("prod", "green")] }]);
    expect(w.aws.of("SendCommand")[0].input).toMatchObject({
      InstanceIds: [APP_SERVERS[1]],
      Parameters: { commands: [`cd /srv/apps/mysite/current && exec runuser -u mysite -- ${EXEC_WRAPPER} mysite /srv/apps/mysite/current/venv/bin/python manage.py check --deploy`] },
    });
    expectModelConformant(w.aws);
  });

  it("on load-balanced: the server given with --instance, only if it is one of the live color's", async () => {
    const w = world({ kind: "load-balanced", liveColor: "blue" });
    w.aws.on("autoscaling:DescribeAutoScalingGroups", groupAnswer(fakeGroup("prod", "blue"), APP_SERVERS.map((id) => ({ id }))));
    expect(await manage(["--stack", "prod", "--instance", APP_SERVERS[2], "check"], w)).toBe(0);
    expect(w.aws.of("SendCommand")[0].input.InstanceIds).toEqual([APP_SERVERS[2]]);

    const other = world({ kind: "load-balanced", liveColor: "blue" });
    other.aws.on("autoscaling:DescribeAutoScalingGroups", groupAnswer(fakeGroup("prod", "blue"), APP_SERVERS.map((id) => ({ id }))));
    expect(await manage(["--stack", "prod", "--instance", "i-0bbbbbbbbbbbbbbb1", "check"], other)).toBe(2);
    expect(other.ports.output.stderr).toContain(`--instance i-0bbbbbbbbbbbbbbb1 is not an in-service, healthy server of the live color blue (group ${fakeGroup("prod", "blue")}: ${APP_SERVERS.join(", ")})`);
    expect(other.aws.of("SendCommand")).toEqual([]);
  });

  it("refuses, running nothing, when the live fleet has no server to run on", async () => {
    const w = world({ kind: "load-balanced", liveColor: "blue" });
    w.aws.on("autoscaling:DescribeAutoScalingGroups", groupAnswer(fakeGroup("prod", "blue"), [{ id: APP_SERVERS[0], state: "Terminating" }]));
    expect(await manage(["--stack", "prod", "check"], w)).toBe(2);
    expect(w.ports.output.stderr).toContain("the live color blue has no in-service, healthy server");
    expect(w.aws.of("SendCommand")).toEqual([]);
  });

  it("needs --app when the stack serves several apps, and refuses one it does not serve", async () => {
    const several = world({ kind: "box", apps: ["shop", "blog"] });
    expect(await manage(["--stack", "prod", "check"], several)).toBe(2);
    expect(several.ports.output.stderr).toContain("stack prod serves 2 apps (blog, shop): name one with --app");
    expect(await manage(["--stack", "prod", "--app", "wiki", "check"], several)).toBe(2);
    expect(several.ports.output.stderr).toContain('--app "wiki": stack prod has no such app (its apps: blog, shop)');
    expect(several.aws.calls).toEqual([]);
    expect(await manage(["--stack", "prod", "--app", "blog", "check"], several)).toBe(0);
    expect(String((several.aws.of("SendCommand")[0].input.Parameters as { commands: string[] }).commands[0])).toMatch(/^cd \/srv\/apps\/blog\/current && exec runuser -u blog -- /);
  });

  it("refuses a stack without the outputs it needs (never deployed)", async () => {
    const w = world({ kind: "box" });
    w.ports.stack = new FakeStack("dev", {});
    expect(await manage(["--stack", "dev", "check"], w)).toBe(2);
    expect(w.ports.output.stderr).toContain("stack dev: output alertTopicArn is undefined, not an SNS topic ARN");
  });
});

describe("npm run manage / shell: an interactive command through Session Manager", () => {
  it("runs aws ssm start-session with AWS-StartInteractiveCommand and the command under sudo, on the terminal", async () => {
    const w = world({ kind: "box" });
    const options = parseManageArgs(["--stack", "prod"], true);
    if (options === "help") throw new Error("help");
    expect(await runManage(options, w.ports)).toBe(0);
    const command = `sudo -- sh -c 'cd /srv/apps/mysite/current && exec runuser -u mysite -- ${EXEC_WRAPPER} mysite /srv/apps/mysite/current/venv/bin/python manage.py shell'`;
    expect(w.ports.terminal.runs).toEqual([[
      "aws", "ssm", "start-session", "--region", FAKE_REGION, "--target", FAKE_BOX, "--document-name", "AWS-StartInteractiveCommand",
      "--parameters", JSON.stringify({ command: [command] }), "--reason", "django-tiers manage",
    ]]);
    expect(w.aws.calls).toEqual([]);
    // The request that command line makes conforms to StartSession's model.
    expect(requestProblems(models, "ssm", "StartSession", startSessionRequest(FAKE_REGION, FAKE_BOX, command).input)).toEqual([]);
  });

  it("hands back the session's exit code", async () => {
    const w = world({ kind: "box" });
    w.ports.terminal = new FakeTerminal(130);
    expect(await manage(["--stack", "prod", "dbshell"], w)).toBe(130);
  });

  it("with --print, prints the command line for a shell and runs nothing", async () => {
    const w = world({ kind: "load-balanced", liveColor: "blue" });
    w.aws.on("autoscaling:DescribeAutoScalingGroups", groupAnswer(fakeGroup("prod", "blue"), [{ id: APP_SERVERS[0] }]));
    expect(await manage(["--stack", "prod", "--print", "createsuperuser", "--username", "ops"], w)).toBe(0);
    expect(w.ports.terminal.runs).toEqual([]);
    const expected = startSessionRequest(FAKE_REGION, APP_SERVERS[0], interactiveCommand({ app: "mysite" }, ["createsuperuser", "--username", "ops"])).argv;
    expect(w.ports.output.stdout).toBe(`${shellLine(expected)}\n`);
    expect(wordsOf(w.ports.output.stdout)).toEqual(expected);
  });
});

// ------------------------------------------------------------------ quoting, through a real sh

const HOSTILE = [
  "it's", "$(touch PWNED)", "`touch PWNED`", "; touch PWNED", "a b", "", "\\", "'\"'", "line\nbreak", "*", "$HOME", "--settings=x", "ünïcode ✓", "-", "!", "#not a comment",
];

/** The words a shell reads from `line`, as an `aws` function sees them. */
function wordsOf(line: string): string[] {
  const r = spawnSync("sh", ["-c", `aws() { for a in "$@"; do printf '%s\\0' "$a"; done; }; ${line}`], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  return ["aws", ...r.stdout.split("\0").slice(0, -1)];
}

describe("quoting: arguments reach manage.py as they are, whatever they hold", () => {
  let scratch: string;
  let bin: string;
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "manage-quote-"));
    bin = path.join(scratch, "bin");
    fs.mkdirSync(bin);
    // Stand-ins that record their argv (NUL-separated): runuser, and sudo that runs what it is given.
    fs.writeFileSync(path.join(bin, "runuser"), `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > "${scratch}/argv"\nprintf '%s' "$PWD" > "${scratch}/cwd"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "sudo"), `#!/bin/sh\n[ "$1" = -- ] && shift\nexec "$@"\n`, { mode: 0o755 });
    fs.mkdirSync(path.join(scratch, "apps", "shop", "current"), { recursive: true });
    fs.mkdirSync(path.join(scratch, "apps", "shop", "green"), { recursive: true });
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const runThroughSh = (command: string) => {
    fs.rmSync(path.join(scratch, "argv"), { force: true });
    const r = spawnSync("sh", ["-c", command], { cwd: scratch, encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin`, HOME: "/nonexistent" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(scratch, "PWNED"))).toBe(false);
    return {
      argv: fs.readFileSync(path.join(scratch, "argv"), "utf8").split("\0").slice(0, -1),
      cwd: fs.readFileSync(path.join(scratch, "cwd"), "utf8"),
    };
  };

  it("Run Command's line: runuser gets the app, the wrapper, the release's Python and every argument unchanged", () => {
    const where = { app: "shop", appsDir: path.join(scratch, "apps") };
    const { argv, cwd } = runThroughSh(manageCommand(where, ["shell", "-c", ...HOSTILE]));
    const release = path.join(scratch, "apps", "shop", "current");
    expect(argv).toEqual(["-u", "shop", "--", EXEC_WRAPPER, "shop", `${release}/venv/bin/python`, "manage.py", "shell", "-c", ...HOSTILE]);
    expect(cwd).toBe(release);
  });

  it("Session Manager's: the printed line's --parameters, run by sh as the agent does, under sudo, the same", () => {
    const where = { app: "shop", color: "green" as const, appsDir: path.join(scratch, "apps") };
    const { argv: aws } = startSessionRequest(FAKE_REGION, FAKE_BOX, interactiveCommand(where, ["createsuperuser", ...HOSTILE]));
    const words = wordsOf(shellLine(aws));
    expect(words).toEqual(aws);
    const command = (JSON.parse(words[words.indexOf("--parameters") + 1]) as { command: string[] }).command[0];
    const { argv, cwd } = runThroughSh(command);
    const release = path.join(scratch, "apps", "shop", "green");
    expect(argv).toEqual(["-u", "shop", "--", EXEC_WRAPPER, "shop", `${release}/venv/bin/python`, "manage.py", "createsuperuser", ...HOSTILE]);
    expect(cwd).toBe(release);
  });

  it("shellQuote leaves plain words bare and refuses a NUL", () => {
    expect(shellQuote("migrate")).toBe("migrate");
    expect(shellQuote("--settings=a.b")).toBe("--settings=a.b");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(() => shellQuote("a\0b")).toThrow("NUL");
  });
});
