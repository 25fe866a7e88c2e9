/**
 * `npm run logs`: the stack's CloudWatch logs. Each server ships its files
 * to its group's log group, `/django-tiers/<project>/<stack>/<group>` (the
 * box, or app-blue, app-green, tasks-worker, tasks-scheduler), one stream
 * per file named `<instance id>/<file>` (server/cloudwatch-agent.ts:
 * `<app>/web`, `<app>/worker`, `<app>/nginx-access`, `provision`, …).
 * The runbook: docs/runbooks/logs-and-status.md.
 */
import { type OpsPorts, type StackTarget, OutputsError, parseStackTarget } from "./ports";
import { TargetError, chooseApp } from "./target";

export const PROGRAMS = ["web", "worker", "beat", "nginx", "provision"] as const;
export type Program = (typeof PROGRAMS)[number];

export const LOGS_USAGE = `usage:
  npm run logs -- --stack <name> [--app <app>] [--program web|worker|beat|nginx|provision]...
                  [--since <10m|2h|1d|ISO time>] [--filter <pattern>] [--follow] [--project-dir <dir>]

Prints the stack's CloudWatch log events, oldest first, one per line:
<time> <server group> <instance>/<stream> <message>.

  --app <app>        only this app's streams (with several apps)
  --program <p>      only these programs' streams (repeatable): web (gunicorn), worker
                     (Celery or RQ), beat, nginx, provision (the provisioning runs)
  --since <when>     from this long ago (s, m, h, d) or this time (default 10m)
  --filter <pattern> a CloudWatch Logs filter pattern, e.g. ERROR or '"GET /admin"'
  --follow           keep printing new events (every 5 s) until interrupted

exit codes: 0; 1 an AWS call failed (its message says why); 2 bad usage or a stack that
cannot be read. docs/runbooks/logs-and-status.md`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface LogsOptions {
  stack: string;
  app?: string;
  programs: Program[];
  /** Milliseconds before now, or an absolute time (ms since the epoch). */
  since: { ago: number } | { at: number };
  filter?: string;
  follow: boolean;
  projectDir?: string;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const FOLLOW_POLL_MS = 5000;

export function parseLogsArgs(argv: readonly string[]): LogsOptions | "help" {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    if (["--stack", "--app", "--program", "--since", "--filter", "--project-dir"].includes(flag)) {
      const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      values.set(flag, [...(values.get(flag) ?? []), value]);
    } else if (["--follow", "-f", "--help", "-h"].includes(flag) && eq < 0) {
      switches.add(flag);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(raw)}`);
    }
  }
  if (switches.has("--help") || switches.has("-h")) return "help";
  for (const [flag, list] of values) if (flag !== "--program" && list.length > 1) throw new UsageError(`${flag} is given ${list.length} times; give it once`);
  const one = (flag: string) => values.get(flag)?.[0];
  const stack = one("--stack");
  if (!stack) throw new UsageError("--stack is required (the stack whose logs to read, e.g. --stack prod)");
  const app = one("--app");
  if (app !== undefined && !/^[a-z][a-z0-9]{0,20}$/.test(app)) throw new UsageError(`--app ${JSON.stringify(app)}: app names are lowercase letters and digits, starting with a letter`);
  const programs = (values.get("--program") ?? []).map((p) => {
    if (!(PROGRAMS as readonly string[]).includes(p)) throw new UsageError(`--program ${JSON.stringify(p)}: must be one of ${PROGRAMS.join(", ")}`);
    return p as Program;
  });
  const sinceText = one("--since") ?? "10m";
  let since: LogsOptions["since"];
  const relative = /^(\d+)([smhd])$/.exec(sinceText);
  if (relative && Number(relative[1]) > 0) since = { ago: Number(relative[1]) * UNITS[relative[2]] };
  else if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(sinceText) && !Number.isNaN(Date.parse(sinceText))) since = { at: Date.parse(sinceText) };
  else throw new UsageError(`--since ${JSON.stringify(sinceText)}: must be a duration such as 30s, 10m, 2h or 1d, or a time such as 2026-01-15T12:00:00Z`);
  const filter = one("--filter");
  if (filter !== undefined && (filter.length === 0 || filter.length > 1024)) throw new UsageError("--filter: a CloudWatch Logs filter pattern of 1 to 1024 characters");
  return {
    stack,
    ...(app !== undefined ? { app } : {}),
    programs: [...new Set(programs)],
    since,
    ...(filter !== undefined ? { filter } : {}),
    follow: switches.has("--follow") || switches.has("-f"),
    ...(values.has("--project-dir") ? { projectDir: one("--project-dir") } : {}),
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The streams (after `<instance id>/`) an app and programs select. */
export function streamPattern(app: string | undefined, programs: readonly Program[]): RegExp {
  const a = app ? escape(app) : "[a-z][a-z0-9]{0,20}";
  const parts: Record<Program, string[]> = {
    web: [`${a}/web(-(blue|green))?`],
    worker: [`${a}/worker`, `${a}/watchdog`],
    beat: [`${a}/beat`],
    // The default server's own log (nginx/access) belongs to no app.
    nginx: [`${a}/nginx-(access|error)`, ...(app ? [] : ["nginx/(access|error)"])],
    provision: ["provision"],
  };
  const chosen = programs.length ? programs.flatMap((p) => parts[p]) : [app ? `${a}/.+` : ".+"];
  return new RegExp(`^i-[0-9a-f]+/(${chosen.join("|")})$`);
}

interface LogEvent {
  group: string;
  stream: string;
  timestamp: number;
  message: string;
  eventId: string;
}

/** Every page of a paginated call, through its `nextToken`. */
async function pages<T>(fetch: (token?: string) => Promise<Record<string, any>>, items: (page: Record<string, any>) => T[], tokenKey = "nextToken"): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    all.push(...items(page));
    token = page[tokenKey] || undefined;
  } while (token);
  return all;
}

export interface LogsRun {
  /** Stop following after this many polls (tests; the command itself runs until interrupted). */
  maxPolls?: number;
}

export async function runLogs(options: LogsOptions, ports: OpsPorts, run: LogsRun = {}): Promise<number> {
  const { aws, output } = ports;
  let target: StackTarget;
  try {
    target = parseStackTarget(await ports.stack.outputs(), options.stack);
    if (options.app !== undefined) chooseApp(target, options.app);
  } catch (err) {
    if (err instanceof OutputsError || err instanceof TargetError) {
      output.err(`logs: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const prefix = `/django-tiers/${ports.stack.project}/${options.stack}/`;
  const region = target.region;
  const groups = (await pages<string>(
    (nextToken) => aws.call("logs", "DescribeLogGroups", { logGroupNamePrefix: prefix, ...(nextToken ? { nextToken } : {}) }, region),
    (p) => (p.logGroups ?? []).map((g: { logGroupName: string }) => g.logGroupName),
  )).sort();
  if (!groups.length) {
    output.err(`logs: no log group under ${prefix} in ${region} (has the stack been deployed?)\n`);
    return 2;
  }
  const pattern = streamPattern(options.app, options.programs);

  let from = "ago" in options.since ? ports.clock.now() - options.since.ago : options.since.at;
  /** Events already printed at `from` (a poll starts at the newest timestamp printed, inclusive). */
  let printedAtFrom = new Set<string>();
  for (let poll = 0; ; poll++) {
    const events: LogEvent[] = [];
    for (const group of groups) {
      const streams = await pages<string>(
        (nextToken) => aws.call("logs", "DescribeLogStreams", { logGroupName: group, ...(nextToken ? { nextToken } : {}) }, region),
        (p) => (p.logStreams ?? []).map((s: { logStreamName: string }) => s.logStreamName),
      );
      const chosen = streams.filter((s) => pattern.test(s)).sort();
      // FilterLogEvents takes at most 100 stream names.
      for (let i = 0; i < chosen.length; i += 100) {
        const names = chosen.slice(i, i + 100);
        events.push(...await pages<LogEvent>(
          (nextToken) => aws.call("logs", "FilterLogEvents", {
            logGroupName: group,
            logStreamNames: names,
            startTime: from,
            ...(options.filter ? { filterPattern: options.filter } : {}),
            ...(nextToken ? { nextToken } : {}),
          }, region),
          (p) => (p.events ?? []).map((e: { logStreamName: string; timestamp: number; message: string; eventId: string }) => ({
            group, stream: e.logStreamName, timestamp: e.timestamp, message: e.message, eventId: e.eventId,
          })),
        ));
      }
    }
    events.sort((x, y) => x.timestamp - y.timestamp || x.group.localeCompare(y.group) || x.stream.localeCompare(y.stream));
    for (const e of events) {
      if (e.timestamp === from && printedAtFrom.has(e.eventId)) continue;
      output.out(`${new Date(e.timestamp).toISOString()} ${e.group.slice(prefix.length)} ${e.stream} ${e.message.replace(/\n+$/, "")}\n`);
    }
    if (events.length) {
      const newest = events[events.length - 1].timestamp;
      printedAtFrom = new Set([...(newest === from ? printedAtFrom : []), ...events.filter((e) => e.timestamp === newest).map((e) => e.eventId)]);
      from = newest;
    }
    if (!options.follow || (run.maxPolls !== undefined && poll + 1 >= run.maxPolls)) return 0;
    await ports.clock.sleep(FOLLOW_POLL_MS);
  }
}
