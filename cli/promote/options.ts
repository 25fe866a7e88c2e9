/**
 * The command line of `npm run promote`, parsed into what the state machine
 * runs. Bad usage is a UsageError naming the flag, the value given and what
 * is allowed (exit 2).
 */

export const USAGE = `usage:
  npm run promote -- --stack <name> --release <version> [--canary <percent> [--canary-minutes <m>]]
                     [--rollback-window <m>] [--timeout <m>] [--poll <s>] [--min-healthy <n>]
                     [--smoke-path <path>]... [--breaking-migrations --yes] [--project-dir <dir>]
  npm run promote -- --stack <name> --rollback [--scale-up]
  npm run promote -- --stack <name> --finish
a box stack (boxReleases: blue-green) has no canary and no load balancer targets: --canary and --min-healthy are refused there.`;

export const RELEASE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** How long and how often the checks wait. */
export interface Waits {
  /** Longest wait for the target color's targets to be healthy, and for its smoke test to pass. */
  timeoutMs: number;
  pollMs: number;
  /**
   * load-balanced: targets that must be healthy (with none unhealthy or
   * initial) before the color gets traffic. Absent: the fleet's minimum size
   * (the stack's output colors.<color>.minSize), else DEFAULTS.minHealthy. A
   * box stack has no targets and refuses the flag.
   */
  minHealthy?: number;
  /** Paths requested under the stack's first site URL with the color header; each must answer 200. */
  smokePaths: string[];
}

export type PromoteOptions =
  | ({
      mode: "promote";
      stack: string;
      projectDir?: string;
      release: string;
      /** Percent of traffic to the new color, and for how long, before the switch. */
      canary?: { weight: number; minutes: number };
      rollbackWindowMinutes: number;
      /** The release has contract (non-backward-compatible) migrations; see docs/runbooks/promote-and-rollback.md. */
      breakingMigrations: boolean;
      yes: boolean;
    } & Waits)
  | ({ mode: "rollback"; stack: string; projectDir?: string; scaleUp: boolean } & Waits)
  | { mode: "finish"; stack: string; projectDir?: string };

export type ParsedArgs = PromoteOptions | { mode: "help" };

export class UsageError extends Error {
  override name = "UsageError";
}

export const DEFAULTS = {
  canaryMinutes: 10,
  rollbackWindowMinutes: 15,
  timeoutMinutes: 10,
  pollSeconds: 15,
  /** Only for a stack whose outputs lack colors.<color>.minSize (deployed by an older version). */
  minHealthy: 2,
  smokePath: "healthz",
};

const VALUE_FLAGS = ["--stack", "--release", "--canary", "--canary-minutes", "--rollback-window", "--timeout", "--poll", "--min-healthy", "--smoke-path", "--project-dir"];
const SWITCH_FLAGS = ["--rollback", "--scale-up", "--finish", "--breaking-migrations", "--yes", "--help", "-h"];

function number(flag: string, text: string, { min, max, integer }: { min: number; max: number; integer: boolean }): number {
  const n = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(n) && (!integer || Number.isInteger(n)) && n >= min && n <= max;
  if (!ok) throw new UsageError(`${flag} ${JSON.stringify(text)}: must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
  return n;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    if (VALUE_FLAGS.includes(flag)) {
      const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      values.set(flag, [...(values.get(flag) ?? []), value]);
    } else if (SWITCH_FLAGS.includes(flag) && eq < 0) {
      switches.add(flag);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(raw)}`);
    }
  }
  if (switches.has("--help") || switches.has("-h")) return { mode: "help" };
  for (const [flag, list] of values) if (flag !== "--smoke-path" && list.length > 1) throw new UsageError(`${flag} is given ${list.length} times; give it once`);
  const one = (flag: string) => values.get(flag)?.[0];

  const stack = one("--stack");
  if (!stack) throw new UsageError("--stack is required (the stack to promote, e.g. --stack prod)");
  const projectDir = one("--project-dir");

  const rollback = switches.has("--rollback");
  const finish = switches.has("--finish");
  if (rollback && finish) throw new UsageError("--rollback and --finish cannot be combined: --rollback sends traffic back to the other color, --finish scales the idle color down");
  if (switches.has("--scale-up") && !rollback) throw new UsageError("--scale-up goes with --rollback (it starts the stopped previous color before switching back to it)");
  const mode = rollback ? "rollback" : finish ? "finish" : "promote";
  if (mode !== "promote") {
    const promoteOnly = ["--release", "--canary", "--canary-minutes", "--rollback-window", "--breaking-migrations", "--yes"].filter((f) => values.has(f) || switches.has(f));
    if (mode === "finish") promoteOnly.push(...["--timeout", "--poll", "--min-healthy", "--smoke-path"].filter((f) => values.has(f)));
    if (promoteOnly.length) throw new UsageError(`${promoteOnly.join(", ")} ${promoteOnly.length > 1 ? "are" : "is"} not used with --${mode}`);
  }

  if (mode === "finish") return { mode, stack, projectDir };

  const timeout = one("--timeout");
  const poll = one("--poll");
  const minHealthy = one("--min-healthy");
  const smokePaths = (values.get("--smoke-path") ?? [DEFAULTS.smokePath]).map((p) => {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:|^\/\//.test(p) || !/^\/?[A-Za-z0-9._~!$&'()*+,;=:@%/-]*(\?[^\s#]*)?$/.test(p)) throw new UsageError(`--smoke-path ${JSON.stringify(p)}: must be a URL path such as healthz or /status/?deep=1`);
    return p.replace(/^\//, "");
  });
  const waits: Waits = {
    timeoutMs: number("--timeout", timeout ?? String(DEFAULTS.timeoutMinutes), { min: 0.1, max: 120, integer: false }) * 60_000,
    pollMs: number("--poll", poll ?? String(DEFAULTS.pollSeconds), { min: 1, max: 300, integer: false }) * 1000,
    ...(minHealthy !== undefined ? { minHealthy: number("--min-healthy", minHealthy, { min: 1, max: 1000, integer: true }) } : {}),
    smokePaths,
  };
  if (mode === "rollback") return { mode, stack, projectDir, scaleUp: switches.has("--scale-up"), ...waits };

  const release = one("--release");
  if (release === undefined) throw new UsageError("--release is required: the version label to promote (or use --rollback or --finish)");
  if (!RELEASE_PATTERN.test(release)) throw new UsageError(`--release ${JSON.stringify(release)}: must be 1–64 characters of letters, digits, '.', '_' or '-'`);
  const canaryText = one("--canary");
  const canaryMinutesText = one("--canary-minutes");
  if (canaryMinutesText !== undefined && canaryText === undefined) throw new UsageError("--canary-minutes goes with --canary <percent>");
  const breakingMigrations = switches.has("--breaking-migrations");
  let canary: { weight: number; minutes: number } | undefined;
  if (canaryText !== undefined) {
    const weight = number("--canary", canaryText, { min: 1, max: 50, integer: true });
    if (breakingMigrations) {
      throw new UsageError(`--canary ${weight} with --breaking-migrations: a canary runs both releases against one schema, which a release with contract migrations breaks. Drop --canary, or split the release into expand and contract releases (docs/runbooks/promote-and-rollback.md)`);
    }
    canary = { weight, minutes: number("--canary-minutes", canaryMinutesText ?? String(DEFAULTS.canaryMinutes), { min: 1, max: 1440, integer: false }) };
  }
  if (breakingMigrations && values.has("--rollback-window")) {
    throw new UsageError("--rollback-window with --breaking-migrations: there is no rollback window, the previous release cannot read the new schema (the previous color is stopped right after the switch; to go back, restore the database)");
  }
  const rollbackWindowMinutes = number("--rollback-window", one("--rollback-window") ?? String(DEFAULTS.rollbackWindowMinutes), { min: 0, max: 1440, integer: false });
  return { mode, stack, projectDir, release, canary, rollbackWindowMinutes, breakingMigrations, yes: switches.has("--yes"), ...waits };
}
