/**
 * The real-host harness: Debian bookworm roots (debootstrap, cached outside
 * git) each in its own network namespace, joined by a bridge that lives in a
 * namespace of its own (the "lan"). Every address the harness creates exists
 * only inside these namespaces: nothing is added to the machine's own network,
 * and the hosts have no route anywhere but the lan. The test's requests are
 * made from the lan namespace (curl and load.py run there).
 *
 * A host is an overlayfs over the cached image (the image stays read-only),
 * with /proc, /dev (a private bind of the machine's), a fresh /dev/shm and a
 * tmpfs /run, as a booted VM has them. Commands run as
 * `ip netns exec <ns> chroot <root> ...`. There is no systemd in a host: the
 * rendered provisioning script detects that and starts daemons itself; the
 * only thing the harness does in systemd's place is `boot()` (see there).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Where host images are cached (outside git), one directory per content hash. */
export const IMAGE_CACHE = process.env.DJANGO_TIERS_HOST_CACHE ?? "/var/cache/django-tiers/hosts";
/** Per-run scratch: overlay upper/work dirs and command logs. */
export const RUN_ROOT = "/var/tmp/django-tiers-servers";
/** Prefix of every namespace the harness creates (cleanup finds stale ones by it). */
const NS_PREFIX = "djt";
const BUILD_SCRIPT = path.join(__dirname, "build-image.sh");
const HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function progress(message: string): void {
  // Straight to stderr: jest buffers console.* until a test file ends.
  process.stderr.write(`[servers ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export interface Result {
  status: number | null;
  output: string;
}

/**
 * Runs a command with its output in a file, not a pipe: daemons a command
 * starts may keep inherited descriptors open, and a pipe would then never
 * reach EOF. Never throws on a non-zero status; throws on a timeout.
 */
export function runLogged(argv: string[], options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  fs.mkdirSync(RUN_ROOT, { recursive: true });
  const logFile = path.join(RUN_ROOT, `cmd-${process.pid}-${crypto.randomBytes(4).toString("hex")}.log`);
  const fd = fs.openSync(logFile, "w");
  try {
    const result = spawnSync(argv[0], argv.slice(1), {
      stdio: [options.input === undefined ? "ignore" : "pipe", fd, fd],
      input: options.input,
      timeout: options.timeoutMs ?? 120_000,
      killSignal: "SIGKILL",
      env: options.env ?? { PATH: HOST_PATH, LC_ALL: "C.UTF-8" },
    });
    const output = fs.readFileSync(logFile, "utf8");
    if (result.error) throw new Error(`${argv.join(" ")}: ${result.error.message}\n${output.slice(-4000)}`);
    return { status: result.status, output };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(logFile, { force: true });
  }
}

/**
 * runLogged without blocking the event loop, so several hosts can be
 * provisioned at once: the same output-in-a-file rule, the same timeout
 * (SIGKILL), the same Result. Never rejects on a non-zero status.
 */
export function runLoggedAsync(argv: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  fs.mkdirSync(RUN_ROOT, { recursive: true });
  const logFile = path.join(RUN_ROOT, `cmd-${process.pid}-${crypto.randomBytes(4).toString("hex")}.log`);
  const fd = fs.openSync(logFile, "w");
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", fd, fd], env: options.env ?? { PATH: HOST_PATH, LC_ALL: "C.UTF-8" } });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const finish = (status: number | null, error?: Error) => {
      clearTimeout(timer);
      fs.closeSync(fd);
      const output = fs.readFileSync(logFile, "utf8");
      fs.rmSync(logFile, { force: true });
      if (error) reject(new Error(`${argv.join(" ")}: ${error.message}\n${output.slice(-4000)}`));
      else if (timedOut) reject(new Error(`${argv.join(" ")}: timed out after ${timeoutMs} ms\n${output.slice(-4000)}`));
      else resolve({ status, output });
    };
    child.on("error", (error) => finish(null, error));
    child.on("close", (code) => finish(code));
  });
}

/** runLogged that throws (with the output) unless the command succeeds. */
export function mustRun(argv: string[], options: Parameters<typeof runLogged>[1] = {}): string {
  const result = runLogged(argv, options);
  if (result.status !== 0) {
    throw new Error(`${argv.join(" ")} exited ${result.status}:\n${result.output.slice(-6000)}`);
  }
  return result.output;
}

function commandExists(name: string): boolean {
  return runLogged(["bash", "-c", `command -v ${name}`]).status === 0;
}

/**
 * Why the real-host suite cannot run here, or undefined when it can: it needs
 * Linux, root, `ip netns`, debootstrap, overlayfs and curl.
 */
export function missingPrerequisites(): string | undefined {
  if (process.platform !== "linux") return `the real-host suite needs Linux (this is ${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return "the real-host suite needs root (network namespaces, chroot, mounts); run `npm test` as root";
  }
  for (const tool of ["ip", "debootstrap", "curl", "chroot", "mount", "flock"]) {
    if (!commandExists(tool)) return `${tool} is not installed: run test/setup/install-servers-harness.sh as root (CI does)`;
  }
  const probe = `${NS_PREFIX}probe${process.pid}`;
  const created = runLogged(["ip", "netns", "add", probe]);
  runLogged(["ip", "netns", "del", probe]);
  if (created.status !== 0) return `\`ip netns add\` fails here (${created.output.trim()}): network namespaces are unavailable`;
  if (!fs.readFileSync("/proc/filesystems", "utf8").includes("overlay")) {
    runLogged(["modprobe", "overlay"]);
    if (!fs.readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "the kernel has no overlayfs";
  }
  return undefined;
}

/**
 * The cached image holding `packages`: built on first use (debootstrap plus
 * the packages, a few minutes), reused afterwards. Its directory is named by
 * a hash of the build script and the package list, so changing either
 * builds a new one. Concurrent runs wait on one lock.
 */
export function hostImage(packages: string[]): string {
  const wanted = [...new Set(packages)].sort();
  const hash = crypto.createHash("sha256")
    .update(fs.readFileSync(BUILD_SCRIPT))
    .update("\0bookworm\0")
    .update(wanted.join(" "))
    .digest("hex")
    .slice(0, 16);
  const dir = path.join(IMAGE_CACHE, `bookworm-${hash}`);
  const complete = () => fs.existsSync(path.join(dir, ".django-tiers-image-complete"));
  if (complete()) return dir;
  fs.mkdirSync(IMAGE_CACHE, { recursive: true });
  progress(`building host image ${dir} (debootstrap + ${wanted.length} packages; cached afterwards)`);
  const script = `[ -e ${dir}/.django-tiers-image-complete ] || bash ${BUILD_SCRIPT} ${dir} ${wanted.join(" ")}`;
  mustRun(["flock", path.join(IMAGE_CACHE, ".build.lock"), "bash", "-c", script], { timeoutMs: 900_000 });
  if (!complete()) throw new Error(`host image ${dir} was not built`);
  progress(`host image ready: ${dir}`);
  return dir;
}

/** Kills every process in a namespace (SIGKILL, until none is left). */
function killNamespace(ns: string): void {
  for (let round = 0; round < 20; round++) {
    const pids = runLogged(["ip", "netns", "pids", ns]).output.split(/\s+/).filter((p) => /^\d+$/.test(p));
    if (pids.length === 0) return;
    runLogged(["kill", "-9", ...pids]);
    spawnSync("sleep", ["0.2"]);
  }
}

/** Unmounts everything at or below `dir` (deepest first). */
function unmountBelow(dir: string): void {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8").split("\n")
    .map((line) => line.split(" ")[1])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .map((m) => m.replace(/\\040/g, " "))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    if (runLogged(["umount", mount]).status !== 0) runLogged(["umount", "-l", mount]);
  }
}

/** Deletes a scratch directory, but never while anything is still mounted below it. */
function removeScratch(dir: string): void {
  unmountBelow(dir);
  const left = fs.readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  if (left.length > 0) {
    progress(`not removing ${dir}: still mounted: ${left.join(", ")}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes what an earlier, killed run left behind: namespaces with the
 * harness's prefix whose run (pid in the name) is gone, their mounts and
 * scratch directories.
 */
export function cleanupStale(): void {
  const names = runLogged(["ip", "netns", "list"]).output.split("\n").map((l) => l.split(" ")[0]).filter(Boolean);
  for (const ns of names) {
    const match = new RegExp(`^${NS_PREFIX}(\\d+)-`).exec(ns);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && fs.existsSync(`/proc/${pid}`)) continue;
    killNamespace(ns);
    runLogged(["ip", "netns", "del", ns]);
  }
  if (!fs.existsSync(RUN_ROOT)) return;
  for (const entry of fs.readdirSync(RUN_ROOT)) {
    // run-<pid>: a run's hosts; client-<pid>-<host>: its client-side files.
    const match = /^(?:run|client)-(\d+)(?:-[a-z0-9]+)?$/.exec(entry);
    if (!match || (Number(match[1]) !== process.pid && fs.existsSync(`/proc/${match[1]}`))) continue;
    removeScratch(path.join(RUN_ROOT, entry));
  }
}

/** The lan: a namespace holding the bridge the hosts plug into; the test's client side. */
export class Lan {
  readonly ns: string;
  readonly prefix: string;
  readonly gateway: string;
  private nextHost = 10;

  constructor(readonly runId: string, subnet = "10.213.7") {
    this.ns = `${NS_PREFIX}${runId}-lan`;
    this.prefix = subnet;
    this.gateway = `${subnet}.1`;
    mustRun(["ip", "netns", "add", this.ns]);
    this.ip("link", "set", "lo", "up");
    this.ip("link", "add", "br0", "type", "bridge");
    this.ip("addr", "add", `${this.gateway}/24`, "dev", "br0");
    this.ip("link", "set", "br0", "up");
  }

  ip(...args: string[]): string {
    return mustRun(["ip", "-n", this.ns, ...args]);
  }

  allocate(): string {
    return `${this.prefix}.${this.nextHost++}`;
  }

  /** A command on the lan side (the test's client). */
  exec(argv: string[], timeoutMs = 60_000): Result {
    return runLogged(["ip", "netns", "exec", this.ns, ...argv], { timeoutMs });
  }

  /** A long-running client command (the load loop); its stdout is returned by the promise. */
  spawn(argv: string[]): { child: ChildProcess; done: Promise<string> } {
    const child = spawn("ip", ["netns", "exec", this.ns, ...argv], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: HOST_PATH } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const done = new Promise<string>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(" ")} exited ${code}: ${err}`))));
    });
    return { child, done };
  }

  destroy(): void {
    killNamespace(this.ns);
    runLogged(["ip", "netns", "del", this.ns]);
  }
}

/** The units boot() starts, in this order. */
export const BOOT_UNITS = ["postgresql", "redis", "nginx", "supervisor", "cron"] as const;
export type BootUnit = (typeof BOOT_UNITS)[number];

/** One simulated VM. */
export class Host {
  readonly ns: string;
  readonly dir: string;
  readonly root: string;
  readonly address: string;
  private destroyed = false;

  constructor(readonly name: string, readonly image: string, readonly lan: Lan) {
    this.ns = `${NS_PREFIX}${lan.runId}-${name}`;
    this.dir = path.join(RUN_ROOT, `run-${lan.runId}`, name);
    this.root = path.join(this.dir, "root");
    this.address = lan.allocate();
    for (const d of ["upper", "work", "root"]) fs.mkdirSync(path.join(this.dir, d), { recursive: true });
    mustRun(["mount", "-t", "overlay", "overlay", "-o",
      `lowerdir=${image},upperdir=${this.dir}/upper,workdir=${this.dir}/work`, this.root]);
    this.mountRuntime();
    // The network: one veth pair, the host's end is its eth0; loopback up.
    mustRun(["ip", "netns", "add", this.ns]);
    const peer = `v${name}`.slice(0, 15);
    lan.ip("link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", this.ns);
    lan.ip("link", "set", peer, "master", "br0");
    lan.ip("link", "set", peer, "up");
    this.ip("link", "set", "lo", "up");
    this.ip("addr", "add", `${this.address}/24`, "dev", "eth0");
    this.ip("link", "set", "eth0", "up");
    // The hostname a VM would have (cloud-init sets it from the instance's name).
    fs.writeFileSync(path.join(this.root, "etc/hostname"), `${name}\n`);
    fs.writeFileSync(path.join(this.root, "etc/hosts"), `127.0.0.1 localhost\n127.0.1.1 ${name}\n${this.address} ${name}\n`);
  }

  /** /proc, /dev (private bind, own /dev/shm) and an empty tmpfs /run, as at boot. */
  private mountRuntime(): void {
    const r = this.root;
    mustRun(["mount", "-t", "proc", "proc", `${r}/proc`]);
    mustRun(["mount", "--rbind", "/dev", `${r}/dev`]);
    mustRun(["mount", "--make-rslave", `${r}/dev`]);
    mustRun(["mount", "-t", "tmpfs", "-o", "mode=1777,size=256m", "shm", `${r}/dev/shm`]);
    mustRun(["mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "run", `${r}/run`]);
  }

  ip(...args: string[]): string {
    return mustRun(["ip", "-n", this.ns, ...args]);
  }

  /** A command inside the host: its namespace, chrooted, with a clean environment. */
  exec(argv: string[], options: { timeoutMs?: number; input?: string; env?: Record<string, string> } = {}): Result {
    const env = Object.entries({ PATH: HOST_PATH, LC_ALL: "C.UTF-8", HOME: "/root", ...options.env }).map(([k, v]) => `${k}=${v}`);
    // options.env is the command's environment inside the host (above), not the one `ip` runs with.
    return runLogged(["ip", "netns", "exec", this.ns, "chroot", this.root, "/usr/bin/env", "-i", ...env, ...argv],
      { timeoutMs: options.timeoutMs, input: options.input });
  }

  /** exec without blocking the event loop (see runLoggedAsync): for work several hosts do at once. */
  execAsync(argv: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
    const env = Object.entries({ PATH: HOST_PATH, LC_ALL: "C.UTF-8", HOME: "/root", ...options.env }).map(([k, v]) => `${k}=${v}`);
    return runLoggedAsync(["ip", "netns", "exec", this.ns, "chroot", this.root, "/usr/bin/env", "-i", ...env, ...argv],
      { timeoutMs: options.timeoutMs });
  }

  mustExec(argv: string[], options: Parameters<Host["exec"]>[1] = {}): string {
    const result = this.exec(argv, options);
    if (result.status !== 0) throw new Error(`[${this.name}] ${argv.join(" ")} exited ${result.status}:\n${result.output.slice(-6000)}`);
    return result.output;
  }

  sh(script: string, options: Parameters<Host["exec"]>[1] = {}): Result {
    return this.exec(["/bin/bash", "-c", script], options);
  }

  mustSh(script: string, options: Parameters<Host["exec"]>[1] = {}): string {
    return this.mustExec(["/bin/bash", "-c", script], options);
  }

  /** The path of a host file as seen from the test (through the overlay). */
  file(p: string): string {
    return path.join(this.root, p);
  }

  read(p: string): string {
    return fs.readFileSync(this.file(p), "utf8");
  }

  /** Writes a file into the host (parents created), then sets mode and owner inside it. */
  write(p: string, content: string | Buffer, mode = "0644", owner = "root:root"): void {
    const target = this.file(p);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
    this.mustExec(["chmod", mode, p]);
    this.mustExec(["chown", owner, p]);
  }

  /** Processes of the host: pid and command line. */
  processes(): Array<{ pid: number; cmd: string }> {
    const pids = runLogged(["ip", "netns", "pids", this.ns]).output.split(/\s+/).filter((p) => /^\d+$/.test(p));
    const out: Array<{ pid: number; cmd: string }> = [];
    for (const pid of pids) {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
        out.push({ pid: Number(pid), cmd });
      } catch {
        // exited meanwhile
      }
    }
    return out;
  }

  /**
   * A power cut: every process of the host killed at once, and what does not
   * survive a reboot reset: /run and /dev/shm are tmpfs on a VM, so they
   * come back empty. Disks (the overlay) keep everything else.
   */
  powerOff(): void {
    killNamespace(this.ns);
    for (const m of ["run", "dev/shm"]) {
      unmountBelow(this.file(m));
    }
    mustRun(["mount", "-t", "tmpfs", "-o", "mode=1777,size=256m", "shm", `${this.root}/dev/shm`]);
    mustRun(["mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "run", `${this.root}/run`]);
  }

  /**
   * What systemd does when the VM boots, and nothing more (cloud-init's
   * runcmd, the provisioning script, runs once per instance, not at reboot):
   *  1. systemd-tmpfiles --create: the `d` lines of tmpfiles.d (this is what
   *     recreates /run/django-tiers, rendered as /etc/tmpfiles.d/django-tiers.conf,
   *     and the packages' /run/postgresql);
   *  2. the units the packages enabled, with their units' own commands:
   *     postgresql@15-main (pg_ctlcluster start), redis-server (as redis,
   *     RuntimeDirectory=redis), nginx, supervisor (which starts every
   *     autostart program: gunicorn, the worker, beat) and cron.
   * `units` leaves out what a kind of VM does not have: the image holds every
   * role's packages, but a fleet's app server installs no PostgreSQL or Redis
   * (server/provision.ts provisionPackages), so nothing of theirs is enabled there.
   */
  boot(units: readonly BootUnit[] = BOOT_UNITS): void {
    const start: Record<BootUnit, string> = {
      postgresql: `pg_lsclusters --no-header | while read -r version cluster _; do pg_ctlcluster "$version" "$cluster" start; done`,
      redis: `install -d -o redis -g redis -m 0755 /run/redis
(cd / && runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize yes)`,
      nginx: "nginx",
      supervisor: "supervisord -c /etc/supervisor/supervisord.conf",
      cron: "cron",
    };
    this.mustSh(`set -e
for f in /usr/lib/tmpfiles.d/*.conf /etc/tmpfiles.d/*.conf; do
  [ -e "$f" ] || continue
  while read -r type p mode user group _ arg; do
    case $p in /run/*) ;; *) continue ;; esac
    # L: a symlink (the blue-green box's live socket), created unless something is there.
    if [ "$type" = L ]; then
      [ -e "$p" ] || [ -L "$p" ] || ln -s "$arg" "$p"
      continue
    fi
    [ "$type" = d ] || continue
    [ "$mode" = - ] && mode=0755
    [ "$user" = - ] && user=root
    [ "$group" = - ] && group=root
    install -d -m "$mode" -o "$user" -g "$group" "$p"
  done < <(grep -v '^#' "$f")
done`);
    this.mustSh(`set -e\n${BOOT_UNITS.filter((u) => units.includes(u)).map((u) => start[u]).join("\n")}`, { timeoutMs: 60_000 });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    killNamespace(this.ns);
    runLogged(["ip", "netns", "del", this.ns]);
    removeScratch(this.dir);
  }
}
