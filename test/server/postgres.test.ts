/**
 * The database steps against a real, throwaway PostgreSQL cluster (on
 * loopback, owned by this test): the role/database SQL of phase install as
 * rendered in the provisioning script, and migrate_locked.py waiting for the
 * advisory lock another "host" holds.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { renderBox } from "../../server";
import { fixtureSpec } from "./fixtures";
import { appShell, fileAt, freePort, INSTALL_HINT, layBoxUnder, PYTHON, pythonModules, removeDir, run, tempDir, tool, waitFor } from "./helpers";

const spec = fixtureSpec();
const files = renderBox(spec);
let dir: string;
let socketDir: string;
let dataDir: string;
let pgBin: string;
let port: number;

function postgresBin(): string {
  const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(`${d}/initdb`));
  if (!found) throw new Error(`PostgreSQL server binaries are not installed: ${INSTALL_HINT}`);
  return found;
}

/** A command as the postgres unix user (initdb and the server refuse root). */
function asPostgres(args: string[], options: Parameters<typeof run>[2] = {}): ReturnType<typeof run> {
  return run(tool("runuser"), ["-u", "postgres", "--", ...args], { cwd: "/", ...options });
}

/** The SQL heredoc of ensure_database, exactly as the provisioning script renders it. */
function ensureDatabaseSql(): string {
  const script = fileAt(files, "/usr/local/sbin/django-tiers-provision").content;
  const match = /<<'SQL'\n([\s\S]*?)\nSQL\n/.exec(script);
  if (!match) throw new Error("no SQL heredoc in the provisioning script");
  return `${match[1]}\n`;
}

function ensureDatabase(password: string): ReturnType<typeof run> {
  return asPostgres(["psql", "-h", socketDir, "-p", String(port), "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1", "-v", "app=shop"],
    { input: ensureDatabaseSql(), env: { PATH: "/usr/bin:/bin", DJANGO_TIERS_DB_PASSWORD: password } });
}

function psqlAs(user: string, password: string, sql: string, database = "shop"): ReturnType<typeof run> {
  return run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", database, "--no-psqlrc", "-tAc", sql],
    { env: { PATH: "/usr/bin:/bin", PGPASSWORD: password, PGCONNECT_TIMEOUT: "60" } });
}

beforeAll(async () => {
  pythonModules("django", "psycopg2");
  // A port free now, not a random one another process may hold.
  port = await freePort();
  pgBin = postgresBin();
  dir = tempDir("postgres");
  fs.chmodSync(dir, 0o755);
  const uid = Number(run("id", ["-u", "postgres"]).stdout.trim());
  if (!uid) throw new Error(`no postgres user: ${INSTALL_HINT}`);
  dataDir = path.join(dir, "data");
  socketDir = path.join(dir, "socket");
  for (const d of [dataDir, socketDir]) {
    fs.mkdirSync(d);
    fs.chownSync(d, uid, uid);
  }
  const init = asPostgres([`${pgBin}/initdb`, "-D", dataDir, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256", "--no-sync"]);
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const options = `-k ${socketDir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const started = asPostgres([`${pgBin}/pg_ctl`, "-D", dataDir, "-o", options, "-l", path.join(dataDir, "server.log"), "-w", "-t", "300", "start"]);
  if (started.status !== 0) throw new Error(`pg_ctl start failed: ${started.stderr}${started.stdout}`);
});

afterAll(() => {
  if (dataDir && fs.existsSync(path.join(dataDir, "postmaster.pid"))) {
    asPostgres([`${pgBin}/pg_ctl`, "-D", dataDir, "-m", "immediate", "-w", "stop"]);
  }
  if (dir) removeDir(dir);
});

describe("the role and database SQL of phase install", () => {
  it("creates them once, follows a rotated password and keeps other roles out", () => {
    const first = ensureDatabase("first-password");
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(psqlAs("shop", "first-password", "SELECT current_user").stdout.trim()).toBe("shop");

    const again = ensureDatabase("rotated-password");
    expect(again.stderr).toBe("");
    expect(again.status).toBe(0);
    expect(psqlAs("shop", "rotated-password", "SELECT current_user").stdout.trim()).toBe("shop");
    expect(psqlAs("shop", "first-password", "SELECT 1").status).not.toBe(0);

    expect(asPostgres(["psql", "-h", socketDir, "-p", String(port), "-c", "CREATE ROLE other LOGIN PASSWORD 'other-password'"]).status).toBe(0);
    const other = psqlAs("other", "other-password", "SELECT 1");
    expect(other.status).not.toBe(0);
    expect(other.stderr).toContain("permission denied for database");
  });
});

interface Exited {
  code: number | null;
  output: string;
}

function exited(child: ReturnType<typeof spawn>, output: string[]): Promise<Exited> {
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output: output.join("") }));
  });
}

describe("migrate_locked.py", () => {
  it("waits while another host holds the lock, then migrates", async () => {
    const ready = ensureDatabase("migrate-password");
    expect(ready.status).toBe(0);
    const box = layBoxUnder(path.join(dir, "box"), spec, "DJANGO_SECRET_KEY='x'\nDATABASE_PASSWORD='migrate-password'\n");
    const helper = fileAt(files, "/usr/local/lib/django-tiers/migrate_locked.py").content;
    const key = /^LOCK_KEY = ([\d_]+)$/m.exec(helper)?.[1]?.replace(/_/g, "");
    expect(key).toMatch(/^\d+$/);
    const advisoryLocks = (granted: boolean) =>
      psqlAs("shop", "migrate-password", `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = ${granted}`).stdout.trim();

    // Another "host": a session that takes the lock and holds it until the test closes its input
    // (not for a fixed time the migration's start could outlast on a loaded machine).
    const holder = spawn("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", "shop", "-d", "shop", "--no-psqlrc", "-tA", "-v", "ON_ERROR_STOP=1"],
      { env: { PATH: "/usr/bin:/bin", PGPASSWORD: "migrate-password" }, stdio: ["pipe", "pipe", "pipe"] });
    const holderOutput: string[] = [];
    holder.stdout!.on("data", (chunk: Buffer) => holderOutput.push(chunk.toString()));
    holder.stderr!.on("data", (chunk: Buffer) => holderOutput.push(chunk.toString()));
    const held = exited(holder, holderOutput);
    holder.stdin!.write(`SELECT pg_advisory_lock(${key});\n`);
    await waitFor("the other host's lock granted", () => advisoryLocks(true) === "1", () => holderOutput.join(""));

    const migrateOutput: string[] = [];
    const migrate = spawn("bash", [...appShell(box, "shop", { DATABASE_PORT: String(port) }), PYTHON,
      path.join(box.root, "usr/local/lib/django-tiers/migrate_locked.py")], {
      cwd: box.project, env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"],
    });
    migrate.stdout!.on("data", (chunk: Buffer) => migrateOutput.push(chunk.toString()));
    migrate.stderr!.on("data", (chunk: Buffer) => migrateOutput.push(chunk.toString()));
    const migrated = exited(migrate, migrateOutput);
    // It found the lock taken (it says so after a failed try) and has not migrated.
    await waitFor("migrate_locked waiting for the lock", () => migrateOutput.join("").includes("migrate_locked: another host is migrating; waiting for the lock"),
      () => migrateOutput.join(""));
    expect(migrateOutput.join("")).not.toContain("lock taken");
    expect(psqlAs("shop", "migrate-password", "SELECT to_regclass('django_migrations') IS NULL").stdout.trim()).toBe("t");

    holder.stdin!.end();
    expect((await held).code).toBe(0);
    const { code, output } = await migrated;
    expect(output).toContain("migrate_locked: lock taken");
    expect(output.indexOf("migrate_locked: lock taken")).toBeGreaterThan(output.indexOf("waiting for the lock"));
    expect(output).toContain("Applying auth.0001_initial... OK");
    expect(output).toContain("migrate_locked: lock released");
    expect(code).toBe(0);
    expect(Number(psqlAs("shop", "migrate-password", "SELECT count(*) FROM django_migrations").stdout.trim())).toBeGreaterThan(10);
  });
});
