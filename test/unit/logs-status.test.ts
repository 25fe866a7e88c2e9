/**
 * `npm run logs` and `npm run status` (cli/ops/logs.ts, status.ts) against a
 * fake stack and a fake AWS holding log groups, streams and events, Auto
 * Scaling groups, the box's association runs and alarms: the requests sent
 * (each checked against AWS's API model) and what is printed.
 */
import { FAKE_BOX, FAKE_REGION, FakeAws, FakeStack, type StackShape, fakeGroup, fakeOutputs, fakePorts } from "../../cli/ops/fake";
import { opsMain } from "../../cli/ops/entry";
import { FOLLOW_POLL_MS, LOGS_USAGE, parseLogsArgs, runLogs, streamPattern } from "../../cli/ops/logs";
import { AwsError } from "../../cli/ops/ports";
import { parseStatusArgs, runStatus, STATUS_USAGE } from "../../cli/ops/status";
import { AwsModels, INSTALL_COMMAND, findModelDir } from "../../policies/conformance/models";
import { requestProblems } from "../../policies/conformance/requests";

const dir = findModelDir();
if (!dir) throw new Error(`AWS's API models are not installed: run \`${INSTALL_COMMAND}\` (npm run setup:server-tools does)`);
const models = new AwsModels(dir);

function expectModelConformant(aws: FakeAws) {
  expect(aws.calls.length).toBeGreaterThan(0);
  for (const call of aws.calls) expect([call.operation, requestProblems(models, call.service, call.operation, call.input)]).toEqual([call.operation, []]);
}

const PREFIX = "/django-tiers/django-tiers/prod/";
const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0aaaaaaaaaaaaaaa2";

interface StoredEvent { group: string; stream: string; timestamp: number; message: string }

/** CloudWatch Logs in memory: groups, their streams and events; pages of two items, as AWS pages (by nextToken). */
function logsWorld(shape: StackShape, events: StoredEvent[], extraStreams: Record<string, string[]> = {}) {
  const groups = [...new Set([...events.map((e) => e.group), ...Object.keys(extraStreams)])];
  const page = <T>(items: T[], token: unknown) => {
    const start = token ? Number(token) : 0;
    return { items: items.slice(start, start + 2), next: start + 2 < items.length ? String(start + 2) : undefined };
  };
  const aws = new FakeAws()
    .on("logs:DescribeLogGroups", (input) => {
      const p = page(groups.filter((g) => g.startsWith(input.logGroupNamePrefix)).sort(), input.nextToken);
      return { logGroups: p.items.map((logGroupName) => ({ logGroupName })), ...(p.next ? { nextToken: p.next } : {}) };
    })
    .on("logs:DescribeLogStreams", (input) => {
      const names = [...new Set([...events.filter((e) => e.group === input.logGroupName).map((e) => e.stream), ...(extraStreams[input.logGroupName] ?? [])])].sort();
      const p = page(names, input.nextToken);
      return { logStreams: p.items.map((logStreamName) => ({ logStreamName })), ...(p.next ? { nextToken: p.next } : {}) };
    })
    .on("logs:FilterLogEvents", (input) => {
      const found = events
        .filter((e) => e.group === input.logGroupName && (input.logStreamNames as string[]).includes(e.stream) && e.timestamp >= input.startTime)
        .filter((e) => !input.filterPattern || e.message.includes(input.filterPattern))
        .sort((x, y) => x.timestamp - y.timestamp);
      const p = page(found, input.nextToken);
      return {
        events: p.items.map((e) => ({ logStreamName: e.stream, timestamp: e.timestamp, message: e.message, eventId: `${e.group}|${e.stream}|${e.timestamp}|${e.message}` })),
        ...(p.next ? { nextToken: p.next } : {}),
      };
    });
  const ports = fakePorts(new FakeStack("prod", fakeOutputs("prod", shape)), aws);
  return { aws, ports, events };
}

const logs = async (argv: string[], w: ReturnType<typeof logsWorld>, maxPolls?: number) => {
  const options = parseLogsArgs(argv);
  if (options === "help") throw new Error("help");
  return runLogs(options, w.ports, { maxPolls });
};

describe("npm run logs: arguments", () => {
  it("defaults to the last 10 minutes of every stream, and reads programs, times and follow", () => {
    expect(parseLogsArgs(["--stack", "prod"])).toEqual({ stack: "prod", programs: [], since: { ago: 600_000 }, follow: false });
    expect(parseLogsArgs(["--stack", "prod", "--app", "shop", "--program", "web", "--program=nginx", "--program", "web", "--since", "2h", "-f", "--filter", "ERROR"]))
      .toEqual({ stack: "prod", app: "shop", programs: ["web", "nginx"], since: { ago: 7_200_000 }, filter: "ERROR", follow: true });
    expect(parseLogsArgs(["--stack", "prod", "--since", "2026-01-15T11:00:00Z"])).toMatchObject({ since: { at: Date.UTC(2026, 0, 15, 11) } });
  });

  it.each([
    [["--program", "web"], "--stack is required"],
    [["--stack", "prod", "--program", "gunicorn"], '--program "gunicorn": must be one of web, worker, beat, nginx, provision'],
    [["--stack", "prod", "--since", "yesterday"], '--since "yesterday": must be a duration'],
    [["--stack", "prod", "--since", "0m"], '--since "0m"'],
    [["--stack", "prod", "--tail"], 'unknown argument "--tail"'],
    [["--stack", "prod", "--since", "1h", "--since", "2h"], "--since is given 2 times"],
  ])("refuses %j with exit 2 and the usage", async (argv, message) => {
    const out = { stdout: "", stderr: "", out(t: string) { this.stdout += t; }, err(t: string) { this.stderr += t; } };
    const connect = jest.fn();
    expect(await opsMain({ name: "logs", usage: LOGS_USAGE, parse: parseLogsArgs, run: runLogs }, argv, connect, out)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(out.stderr).toContain(LOGS_USAGE);
    expect(connect).not.toHaveBeenCalled();
  });

  it("selects streams by app and program, as the CloudWatch agent names them", () => {
    const streams = [
      `${A}/shop/web`, `${A}/shop/web-green`, `${A}/shop/worker`, `${A}/shop/watchdog`, `${A}/shop/beat`, `${A}/shop/nginx-access`, `${A}/shop/nginx-error`,
      `${A}/blog/web`, `${A}/nginx/access`, `${A}/provision`, `${A}/supervisord`, `${A}/postgresql`,
    ];
    const pick = (app: string | undefined, programs: Parameters<typeof streamPattern>[1]) => streams.filter((s) => streamPattern(app, programs).test(s)).map((s) => s.slice(A.length + 1));
    expect(pick("shop", ["web"])).toEqual(["shop/web", "shop/web-green"]);
    expect(pick("shop", ["nginx"])).toEqual(["shop/nginx-access", "shop/nginx-error"]);
    expect(pick(undefined, ["nginx"])).toEqual(["shop/nginx-access", "shop/nginx-error", "nginx/access"]);
    expect(pick(undefined, ["worker", "beat"])).toEqual(["shop/worker", "shop/watchdog", "shop/beat"]);
    expect(pick("shop", ["provision"])).toEqual(["provision"]);
    expect(pick("shop", [])).toEqual(["shop/web", "shop/web-green", "shop/worker", "shop/watchdog", "shop/beat", "shop/nginx-access", "shop/nginx-error"]);
    expect(pick(undefined, [])).toEqual(streams.map((s) => s.slice(A.length + 1)));
    // A stream name from elsewhere is not an instance's.
    expect(streamPattern(undefined, []).test("shop/web")).toBe(false);
  });
});

describe("npm run logs: the stack's log groups", () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);
  const ev = (group: string, stream: string, secondsAgo: number, message: string): StoredEvent => ({ group: `${PREFIX}${group}`, stream, timestamp: now - secondsAgo * 1000, message });

  it("prints the chosen streams' events of every group, oldest first, and only since --since", async () => {
    const w = logsWorld({ kind: "load-balanced", apps: ["shop", "blog"] }, [
      ev("app-blue", `${A}/shop/web`, 30, "GET / 200"),
      ev("app-blue", `${A}/shop/web`, 900, "too old"),
      ev("app-blue", `${A}/blog/web`, 20, "not this app"),
      ev("app-blue", `${A}/shop/nginx-access`, 25, "not this program"),
      ev("app-green", `${B}/shop/web-green`, 40, "GET /healthz 200\n"),
      ev("app-green", `${B}/shop/web-green`, 10, "GET /admin/ 302"),
      ev("tasks-worker", "i-0ccccccccccccccc1/shop/worker", 5, "task done"),
      { group: "/django-tiers/django-tiers/staging/box", stream: `${A}/shop/web`, timestamp: now - 1000, message: "another stack" },
    ]);
    expect(await logs(["--stack", "prod", "--app", "shop", "--program", "web"], w)).toBe(0);
    expect(w.ports.output.stdout).toBe([
      `2026-01-15T11:59:20.000Z app-green ${B}/shop/web-green GET /healthz 200`,
      `2026-01-15T11:59:30.000Z app-blue ${A}/shop/web GET / 200`,
      `2026-01-15T11:59:50.000Z app-green ${B}/shop/web-green GET /admin/ 302`,
      "",
    ].join("\n"));
    expect(w.aws.of("DescribeLogGroups").map((c) => c.input)).toEqual([{ logGroupNamePrefix: PREFIX }, { logGroupNamePrefix: PREFIX, nextToken: "2" }]);
    expect(w.aws.of("FilterLogEvents").map((c) => [c.input.logGroupName, c.input.logStreamNames, c.input.startTime])).toEqual([
      [`${PREFIX}app-blue`, [`${A}/shop/web`], now - 600_000],
      [`${PREFIX}app-green`, [`${B}/shop/web-green`], now - 600_000],
    ]);
    expect(w.aws.calls.every((c) => c.region === FAKE_REGION)).toBe(true);
    expectModelConformant(w.aws);
  });

  it("pages through events and passes the filter pattern", async () => {
    const w = logsWorld({ kind: "box" }, [1, 2, 3, 4, 5].map((n) => ev("box", `${A}/provision`, 60 - n, n % 2 ? `ERROR ${n}` : `ok ${n}`)));
    expect(await logs(["--stack", "prod", "--program", "provision", "--filter", "ERROR"], w)).toBe(0);
    expect(w.ports.output.stdout.trim().split("\n").map((l) => l.split(" ").slice(3).join(" "))).toEqual(["ERROR 1", "ERROR 3", "ERROR 5"]);
    expect(w.aws.of("FilterLogEvents").map((c) => [c.input.filterPattern, c.input.nextToken])).toEqual([["ERROR", undefined], ["ERROR", "2"]]);
    expectModelConformant(w.aws);
  });

  it("asks for at most 100 streams at a time", async () => {
    const many = Array.from({ length: 150 }, (_, i) => `i-0${(i + 1).toString(16).padStart(16, "0")}/shop/web`);
    const w = logsWorld({ kind: "load-balanced", apps: ["shop"] }, [ev("app-blue", many[149], 5, "last")], { [`${PREFIX}app-blue`]: many });
    expect(await logs(["--stack", "prod", "--program", "web"], w)).toBe(0);
    expect(w.aws.of("FilterLogEvents").map((c) => (c.input.logStreamNames as string[]).length)).toEqual([100, 50]);
    expect(w.ports.output.stdout).toContain("last");
  });

  it("--follow: each poll starts at the newest event printed, printing nothing twice", async () => {
    const w = logsWorld({ kind: "box" }, [ev("box", `${A}/shop/web`, 30, "first"), ev("box", `${A}/shop/web`, 20, "second")]);
    const polls: number[] = [];
    w.aws.on("logs:DescribeLogStreams", (input) => {
      polls.push(w.ports.clock.now());
      // Between the polls, an event arrives with the same time as the last one printed, and a later one.
      if (polls.length === 2) w.events.push(ev("box", `${A}/shop/web`, 20, "same second"), ev("box", `${A}/shop/web`, -3, "third"));
      return { logStreams: [...new Set(w.events.filter((e) => e.group === input.logGroupName).map((e) => e.stream))].map((logStreamName) => ({ logStreamName })) };
    });
    expect(await logs(["--stack", "prod", "--follow"], w, 3)).toBe(0);
    expect(w.ports.output.stdout.trim().split("\n").map((l) => l.split(" ").slice(3).join(" "))).toEqual(["first", "second", "same second", "third"]);
    // The second poll finds three events: two pages from the same start.
    expect(w.aws.of("FilterLogEvents").map((c) => c.input.startTime)).toEqual([now - 600_000, now - 20_000, now - 20_000, now + 3_000]);
    expect(polls).toEqual([now, now + FOLLOW_POLL_MS, now + 2 * FOLLOW_POLL_MS]);
  });

  it("refuses a stack with no log group, and hands an AWS error back as exit 1", async () => {
    const none = logsWorld({ kind: "box" }, []);
    expect(await logs(["--stack", "prod"], none)).toBe(2);
    expect(none.ports.output.stderr).toContain(`no log group under ${PREFIX} in ${FAKE_REGION}`);

    const denied = logsWorld({ kind: "box" }, []);
    denied.aws.on("logs:DescribeLogGroups", () => new AwsError("aws logs describe-log-groups failed: An error occurred (AccessDeniedException)", "AccessDeniedException"));
    const out = { stdout: "", stderr: "", out(t: string) { this.stdout += t; }, err(t: string) { this.stderr += t; } };
    expect(await opsMain({ name: "logs", usage: LOGS_USAGE, parse: parseLogsArgs, run: runLogs }, ["--stack", "prod"], async () => denied.ports, out)).toBe(1);
    expect(out.stderr).toBe("logs: aws logs describe-log-groups failed: An error occurred (AccessDeniedException)\n");
  });
});

// ------------------------------------------------------------------ status

const ALARM = { AlarmName: "monitoring-alb-5xx-1a2b3c", StateValue: "ALARM", StateReason: "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).", StateUpdatedTimestamp: "2026-01-15T11:50:00Z" };

function statusWorld(shape: StackShape) {
  const aws = new FakeAws().on("cloudwatch:DescribeAlarms", () => ({ MetricAlarms: [], CompositeAlarms: [] }));
  return { aws, ports: fakePorts(new FakeStack("prod", fakeOutputs("prod", shape)), aws) };
}

describe("npm run status", () => {
  it("refuses bad usage", () => {
    expect(() => parseStatusArgs([])).toThrow("--stack is required");
    expect(() => parseStatusArgs(["--stack", "prod", "--verbose"])).toThrow('unknown argument "--verbose"');
    expect(parseStatusArgs(["--help"])).toBe("help");
    expect(STATUS_USAGE).toContain("exit codes");
  });

  it("a box: its releases, the last rollout run, no alarm: exit 0", async () => {
    const w = statusWorld({ kind: "box", apps: ["shop", "blog"] });
    w.aws.on("ssm:DescribeInstanceAssociationsStatus", () => ({ InstanceAssociationStatusInfos: [
      { Name: "AWS-RunShellScript", Status: "Success", DetailedStatus: "Success", ExecutionDate: "2026-01-15T10:00:00Z", ExecutionSummary: "1 out of 1 plugin processed, 1 success" },
      { Name: "AWS-RunShellScript", Status: "Failed", ExecutionDate: "2026-01-14T10:00:00Z" },
      { Name: "AWS-GatherSoftwareInventory", Status: "Success", ExecutionDate: "2026-01-15T11:00:00Z" },
    ] }));
    expect(await runStatus({ stack: "prod" }, w.ports)).toBe(0);
    expect(w.ports.output.stdout).toBe([
      `stack prod: tier single-box, region ${FAKE_REGION}`,
      "site: https://example.com/",
      `box: ${FAKE_BOX}`,
      "  releases: shop v41, blog v41",
      "last rollout: Success at 2026-01-15T10:00:00.000Z: 1 out of 1 plugin processed, 1 success",
      "alarms in ALARM: none",
      "",
    ].join("\n"));
    expect(w.aws.of("DescribeInstanceAssociationsStatus").map((c) => c.input)).toEqual([{ InstanceId: FAKE_BOX }]);
    const topic = (fakeOutputs("prod", { kind: "box" }) as { alertTopicArn: string }).alertTopicArn;
    expect(w.aws.of("DescribeAlarms").map((c) => c.input)).toEqual([{ StateValue: "ALARM", ActionPrefix: topic, AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }]);
    expectModelConformant(w.aws);
  });

  it("a blue-green box whose last rollout failed: each color, and exit 1", async () => {
    const w = statusWorld({ kind: "box", liveColor: "green" });
    w.aws.on("ssm:DescribeInstanceAssociationsStatus", () => ({ InstanceAssociationStatusInfos: [
      { Name: "AWS-RunShellScript", Status: "Failed", DetailedStatus: "Failed", ExecutionDate: "2026-01-15T10:00:00Z", OutputUrl: { S3OutputUrl: { OutputUrl: "https://s3.eu-west-1.amazonaws.com/bucket/rollout/single-box/x" } } },
    ] }));
    expect(await runStatus({ stack: "prod" }, w.ports)).toBe(1);
    expect(w.ports.output.stdout).toContain("  blue: release v40, stopped\n  green (live): release v41, running\n");
    expect(w.ports.output.stdout).toContain("last rollout: Failed at 2026-01-15T10:00:00.000Z\n  its output: https://s3.eu-west-1.amazonaws.com/bucket/rollout/single-box/x\n");
  });

  it("load-balanced: each color's release, share, servers and last instance refresh, and the alarms in ALARM: exit 1", async () => {
    const w = statusWorld({ kind: "load-balanced", liveColor: "blue" });
    w.aws
      .on("autoscaling:DescribeAutoScalingGroups", () => ({ AutoScalingGroups: [
        { AutoScalingGroupName: fakeGroup("prod", "blue"), DesiredCapacity: 2, MinSize: 2, MaxSize: 4, Instances: [
          { InstanceId: B, LifecycleState: "InService", HealthStatus: "Healthy", AvailabilityZone: "eu-west-1b" },
          { InstanceId: A, LifecycleState: "InService", HealthStatus: "Healthy", AvailabilityZone: "eu-west-1a" },
        ] },
        { AutoScalingGroupName: fakeGroup("prod", "green"), DesiredCapacity: 0, MinSize: 0, MaxSize: 4, Instances: [] },
      ] }))
      .on("autoscaling:DescribeInstanceRefreshes", (input) => ({ InstanceRefreshes: input.AutoScalingGroupName === fakeGroup("prod", "blue")
        ? [{ Status: "Successful", PercentageComplete: 100, StartTime: "2026-01-15T09:00:00Z", EndTime: "2026-01-15T09:12:00Z" }]
        : [] }))
      .on("cloudwatch:DescribeAlarms", (input) => input.NextToken
        ? { MetricAlarms: [], CompositeAlarms: [{ ...ALARM, AlarmName: "composite-site-down-9f8e7d" }] }
        : { MetricAlarms: [ALARM], CompositeAlarms: [], NextToken: "page2" });
    expect(await runStatus({ stack: "prod" }, w.ports)).toBe(1);
    expect(w.ports.output.stdout).toBe([
      `stack prod: tier load-balanced, region ${FAKE_REGION}`,
      "site: https://example.com/",
      "live color: blue",
      `blue (live): release v41, 100% of traffic, running; group ${fakeGroup("prod", "blue")} (desired 2, min 2, max 4)`,
      `  ${A} InService Healthy eu-west-1a`,
      `  ${B} InService Healthy eu-west-1b`,
      "  last rollout: instance refresh Successful, ended 2026-01-15T09:12:00.000Z",
      `green: release v40, 0% of traffic, stopped; group ${fakeGroup("prod", "green")} (desired 0, min 0, max 4)`,
      "  last rollout: no instance refresh yet (the servers run the template they were launched with)",
      "alarms in ALARM: 2",
      `  composite-site-down-9f8e7d since 2026-01-15T11:50:00.000Z: ${ALARM.StateReason}`,
      `  monitoring-alb-5xx-1a2b3c since 2026-01-15T11:50:00.000Z: ${ALARM.StateReason}`,
      "",
    ].join("\n"));
    expect(w.aws.of("DescribeAutoScalingGroups").map((c) => c.input)).toEqual([{ AutoScalingGroupNames: [fakeGroup("prod", "blue"), fakeGroup("prod", "green")] }]);
    expect(w.aws.of("DescribeInstanceRefreshes").map((c) => c.input)).toEqual([
      { AutoScalingGroupName: fakeGroup("prod", "blue"), MaxRecords: 1 },
      { AutoScalingGroupName: fakeGroup("prod", "green"), MaxRecords: 1 },
    ]);
    expect(w.aws.of("DescribeAlarms").map((c) => c.input.NextToken)).toEqual([undefined, "page2"]);
    expectModelConformant(w.aws);
  });

  it("a failed instance refresh is a failed rollout (exit 1), with AWS's reason", async () => {
    const w = statusWorld({ kind: "load-balanced", liveColor: "green" });
    w.aws
      .on("autoscaling:DescribeAutoScalingGroups", () => ({ AutoScalingGroups: ["blue", "green"].map((c) => ({ AutoScalingGroupName: fakeGroup("prod", c as "blue"), DesiredCapacity: 1, MinSize: 1, MaxSize: 4, Instances: [] })) }))
      .on("autoscaling:DescribeInstanceRefreshes", (input) => ({ InstanceRefreshes: input.AutoScalingGroupName === fakeGroup("prod", "green")
        ? [{ Status: "Failed", PercentageComplete: 50, StartTime: "2026-01-15T09:00:00Z", EndTime: "2026-01-15T09:30:00Z", StatusReason: "Instance failed to reach healthy state" }]
        : [{ Status: "Successful", StartTime: "2026-01-10T09:00:00Z", EndTime: "2026-01-10T09:10:00Z" }] }));
    expect(await runStatus({ stack: "prod" }, w.ports)).toBe(1);
    expect(w.ports.output.stdout).toContain("  last rollout: instance refresh Failed (50%), ended 2026-01-15T09:30:00.000Z: Instance failed to reach healthy state\n");
  });
});
