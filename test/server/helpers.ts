/** Shared plumbing of the server/ tests: temp trees, delivered files, real tools. */
import { type ChildProcess, spawnSync, type SpawnSyncOptions } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { renderBox, renderBoxConfig, renderUserData } from "../../server";
import type { BoxSpec, RenderedFile } from "../../server";

export const INSTALL_HINT = "run test/setup/install-server-tools.sh as root (CI does)";
/** Debian's interpreter: `python3` on PATH may be a pyenv shim without Debian's packages. */
export const PYTHON = "/usr/bin/python3";

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * How long one tool run may take before it counts as hung. A guard, not an
 * assertion: shellcheck over a provisioning script took over a minute on a
 * loaded CI machine. jest's testTimeout (jest.config.js) is above it.
 */
export const HANG_GUARD_MS = 5 * 60_000;

export function run(command: string, args: string[], options: SpawnSyncOptions = {}): RunResult {
  // stdin is a socket pair by default, which makes `bash -c` source ~/.bashrc
  // (its rshd/sshd heuristic): give no stdin unless there is input.
  const stdio = options.input === undefined ? (["ignore", "pipe", "pipe"] as const) : undefined;
  const result = spawnSync(command, args, { encoding: "utf8", timeout: HANG_GUARD_MS, ...(stdio ? { stdio: [...stdio] } : {}), ...options });
  if (result.error) throw result.error;
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The absolute path of a command; throws (so the test fails) when it is not installed. */
export function tool(name: string): string {
  const found = run("bash", ["-c", `command -v ${name}`], { env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
  const where = found.stdout.trim();
  if (found.status !== 0 || where === "") throw new Error(`${name} is not installed: ${INSTALL_HINT}`);
  return where;
}

/** Throws (so the test fails) unless Debian's python3 can import every module. */
export function pythonModules(...modules: string[]): void {
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: ${INSTALL_HINT}`);
  const probe = run(PYTHON, ["-c", modules.map((m) => `import ${m}`).join("; ")]);
  if (probe.status !== 0) throw new Error(`python modules ${modules.join(", ")} not importable (${probe.stderr.trim()}): ${INSTALL_HINT}`);
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `django-tiers-${label}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * The files as they land on the box, in renderBox's order: the bootstrap files
 * decoded from the user data's write_files, every other one from the
 * configuration document phase fetch applies.
 */
export function deliveredFiles(spec: BoxSpec): RenderedFile[] {
  const doc = parse(renderUserData(spec)) as { write_files: Array<{ path: string; permissions: string; owner: string; content: string }> };
  const fromUserData = new Map(doc.write_files.map((f) => [f.path, { path: f.path, mode: f.permissions, owner: f.owner, content: f.content }]));
  const fromDocument = (JSON.parse(renderBoxConfig(renderBox(spec))) as { files: RenderedFile[] }).files;
  return fromDocument.map((f) => fromUserData.get(f.path) ?? f);
}

export function fileAt(files: RenderedFile[], filePath: string): RenderedFile {
  const file = files.find((f) => f.path === filePath);
  if (!file) throw new Error(`no rendered file at ${filePath}`);
  return file;
}

/** Writes `content` at `root` + `filePath` (parents created) with the file's mode. */
export function writeUnder(root: string, filePath: string, content: string, mode = "0644"): string {
  const target = path.join(root, filePath);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content, { mode: parseInt(mode, 8) });
  return target;
}

/**
 * Points the box's absolute paths under `dirs` into `root`, so a
 * tool can check a file without touching the machine's own directories.
 * Only paths that start a word move; `unix:/run/...` sockets stay.
 */
export function rebase(content: string, root: string, dirs: string[] = ["etc", "var", "run", "srv"]): string {
  return content.replace(new RegExp(`(^|[\\s"'=])/(${dirs.join("|")})/`, "gm"), `$1${root}/$2/`);
}

/** The Django fixture project (package shopsite) whose settings import django_tiers_settings. */
export const FIXTURE_PROJECT = path.join(__dirname, "fixtures", "project");

export interface Box {
  root: string;
  project: string;
}

/**
 * The box's /etc/django-tiers and /usr/local files (delivered copies), a
 * secrets.env per app and optionally instance.env, under `root`; plus a copy
 * of a Django project (the fixture project unless another is given).
 */
export function layBoxUnder(root: string, spec: BoxSpec, secretsEnv: string, instanceHosts?: string, projectDir = FIXTURE_PROJECT): Box {
  for (const file of deliveredFiles(spec).filter((f) => f.path.startsWith("/etc/django-tiers/") || f.path.startsWith("/usr/local/"))) {
    writeUnder(root, file.path, file.content, file.mode);
  }
  for (const app of spec.apps) writeUnder(root, `/etc/django-tiers/${app.name}/secrets.env`, secretsEnv, "0640");
  if (instanceHosts !== undefined) writeUnder(root, "/etc/django-tiers/instance.env", `DJANGO_TIERS_INSTANCE_HOSTS=${instanceHosts}\n`);
  const project = path.join(root, "project");
  fs.cpSync(projectDir, project, { recursive: true });
  return { root, project };
}

/**
 * `bash -c` arguments that run a command in the fixture project with the
 * app's environment loaded as django-tiers-exec loads it (`overrides` last).
 */
export function appShell(box: Box, app: string, overrides: Record<string, string> = {}): string[] {
  const etc = path.join(box.root, "etc/django-tiers");
  const extra = Object.entries(overrides).map(([k, v]) => `export ${k}='${v}';`).join(" ");
  const script = `set -a; . "${etc}/${app}/app.env"; if [ -r "${etc}/instance.env" ]; then . "${etc}/instance.env"; fi; ` +
    `. "${etc}/${app}/secrets.env"; set +a; export PYTHONPATH="${etc}/python" PYTHONDONTWRITEBYTECODE=1; ${extra} exec "$@"`;
  return ["-c", script, "bash"];
}

export function inApp(box: Box, app: string, args: string[], overrides: Record<string, string> = {}): RunResult {
  return run("bash", [...appShell(box, app, overrides), ...args], { cwd: box.project, env: { PATH: "/usr/bin:/bin" } });
}

/** How long waitFor waits by default: a bound for a hung process, far above what a loaded machine needs. */
export const WAIT_SECONDS = 120;

/**
 * Polls `ok` every 100 ms until it holds. The bound is a guard against a
 * hang, not an assertion: when it runs out, the error names `what` and what
 * `seen` (if given) reports at that moment.
 */
export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, seen?: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_SECONDS * 1000;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (await ok()) return;
  throw new Error(`${what}: not after ${WAIT_SECONDS}s${seen ? `; seen: ${seen()}` : ""}`);
}

/** The child processes of `pid` and their arguments, from /proc (no procps needed). */
export function childProcesses(pid: number): Array<{ pid: number; argv: string[] }> {
  const children: Array<{ pid: number; argv: string[] }> = [];
  for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== pid) continue;
      children.push({ pid: Number(entry), argv: fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean) });
    } catch {
      // It exited while we read.
    }
  }
  return children;
}

/** SIGTERM to a child process that still runs; resolves when it has exited. */
export function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A loopback TCP port free a moment ago. */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
