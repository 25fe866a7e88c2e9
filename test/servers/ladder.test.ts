/**
 * The ladder move single-box → external-db, for real. A single box
 * (topology 1: PostgreSQL and Redis on the box) gets data: the sample's
 * rows, a task's row, an upload (row and media file). Then its spec is
 * rendered again with `database` pointing at the db host (the RDS stand-in
 * of test/servers/db-host.ts), as the tier change does, and the rollout runs
 * as the SSM association runs it: `fetch configure release verify`, where
 * fetch is the harness's (the new configuration document applied with the
 * rendered apply_config.py, as fetch_box_config does; the same bundle and
 * secret). The rendered `move_database_to_external` then copies the box's
 * database to the db host.
 *
 * Asserted: every row arrived (count and md5 per table, the box's old
 * PostgreSQL against the db host's copy); the app serves the same rows from
 * the db host with the box's PostgreSQL stopped; the app's programs were
 * stopped while pg_dump ran (a stand-in `pg_dump` records the app user's
 * processes at that moment); a second rollout copies nothing again.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { APPLY_CONFIG, renderBox, renderBoxConfig } from "../../server";
import { STATE_DIR } from "../../server/paths";
import { APP, Box, imagePackages, sampleSpec } from "./box";
import { DbHost, MASTER_USER } from "./db-host";
import { cleanupStale, Host, hostImage, Lan, missingPrerequisites, progress } from "./harness";

jest.setTimeout(600_000); // per test: real boots, releases and load runs on a possibly loaded 2-core machine

const missing = missingPrerequisites();
const ci = process.env.CI === "true";
if (missing) progress(`SKIPPED: the real-host server suite cannot run here: ${missing}${ci ? "" : " (CI=true makes this a failure)"}`);
if (missing && ci) {
  describe("the real-host server suite (ladder)", () => {
    it("has its prerequisites (CI=true)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
}
const suite = missing ? describe.skip : describe;

/** Where the stand-in pg_dump writes what it saw (see below). */
const DUMP_PROBE = "/var/tmp/pg_dump-probe.log";
/**
 * TEST STAND-IN, written by test/servers/ladder.test.ts and removed after the
 * move: records the app user's processes at the moment pg_dump starts, then
 * runs the real pg_dump. It sits before /usr/bin on the provisioning
 * script's PATH.
 */
const PG_DUMP_PROBE = `#!/bin/bash
{ echo "pg_dump $*"; echo "app processes:"; pgrep -u ${APP} -a || true; echo "end"; } >>${DUMP_PROBE}
exec /usr/bin/pg_dump "$@"
`;

function sumOfSquares(n: number): number {
  return (n * (n + 1) * (2 * n + 1)) / 6;
}

let lan: Lan | undefined;
const hosts: Host[] = [];
let db: DbHost;
let box: Box;
let moved: Box;

beforeAll(() => {
  if (missing) return;
  cleanupStale();
  const image = hostImage(imagePackages());
  lan = new Lan(String(process.pid), "10.213.9");
  const dbHost = new Host("rds", image, lan);
  hosts.push(dbHost);
  const boxHost = new Host("box", image, lan);
  hosts.push(boxHost);
  box = new Box(boxHost, sampleSpec({ taskWorker: "celery", workers: 3 }));
  db = new DbHost(dbHost, box.secrets.DATABASE_PASSWORD!, crypto.randomBytes(16).toString("hex"));
  db.start();
  progress(`[box] single box at ${boxHost.address}; RDS stand-in at ${dbHost.address}`);
  box.writeRenderedFiles();
  box.fetch("v1");
  box.mustProvision(["install", "configure", "release", "verify"]);
}, 900_000);

afterAll(() => {
  for (const host of hosts) host.destroy();
  box?.dispose();
  db?.dispose();
  lan?.destroy();
}, 120_000);

/**
 * What phase fetch's fetch_box_config does on a rollout: the stack's new
 * configuration document (every rendered file of the new spec) applied with
 * the rendered apply_config.py. User data is not run again.
 */
function applyConfiguration(target: Box): string {
  const document = `${STATE_DIR}/box-config.json`;
  target.host.write(document, renderBoxConfig(renderBox(target.spec)), "0644", "root:root");
  return target.host.mustExec(["/usr/bin/python3", APPLY_CONFIG, document]);
}

suite("ladder: single-box → external-db, move_database_to_external for real", () => {
  let before: Record<string, string>;
  let rowsBefore: string;
  let upload: { url: string; content: Buffer };
  let taskId = 0;
  let firstRollout = "";

  beforeAll(async () => {
    if (missing) return;
    // Data on the single box: a task's row and an upload, besides the sample's rows.
    taskId = box.enqueueTask(4321);
    const task = await box.taskResult(taskId);
    if (task.state !== "done") throw new Error(`the task did not run on the single box: ${JSON.stringify(task)}`);
    const content = crypto.randomBytes(50_000);
    const response = box.post("/upload", [`file=@${box.clientFile("before-move.bin", content)}`]);
    if (response.status !== 200) throw new Error(`upload answered ${response.status}`);
    upload = { url: (JSON.parse(response.text) as { url: string }).url, content };
    rowsBefore = box.request("/db?format=json").text;
    before = box.tableChecksums();
    progress(`[box] data before the move: ${Object.entries(before).filter(([, v]) => !v.startsWith("0 ")).length} non-empty tables`);

    // The tier change: the same box, its spec rendered with the external database.
    moved = new Box(box.host, { ...box.spec, database: { engine: "postgres", host: db.address, port: 5432, user: MASTER_USER } });
    Object.assign(moved.secrets, box.secrets);
    box.host.write("/usr/local/bin/pg_dump", PG_DUMP_PROBE, "0755");
    const changed = applyConfiguration(moved);
    expect(changed).toContain("/usr/local/sbin/django-tiers-provision");
    moved.fetch("v1");
    firstRollout = moved.mustProvision(["configure", "release", "verify"], 300_000);
    box.host.mustExec(["rm", "-f", "/usr/local/bin/pg_dump"]);
  }, 600_000);

  it("moves the database once, with the app's programs stopped while pg_dump runs", () => {
    expect(firstRollout).toContain(`mysite: moving the database to ${db.address}: stopping mysite-web mysite-worker mysite-beat`);
    expect(firstRollout).toMatch(/mysite: database moved to [\d.]+ \(\d+ tables\)/);
    const probe = box.host.read(DUMP_PROBE);
    expect(probe).toMatch(/^pg_dump --format=custom/);
    // Exactly one dump, and at that moment the app user ran nothing (no gunicorn, worker or beat).
    expect(probe.match(/^pg_dump /gm)).toHaveLength(1);
    expect(probe).toContain("app processes:\nend\n");
    expect(fs.existsSync(box.host.file(`${STATE_DIR}/${APP}.database-moved`))).toBe(true);
    // The programs run again afterwards.
    for (const program of ["mysite-web", "mysite-worker", "mysite-beat"]) expect([program, moved.program(program).state]).toEqual([program, "RUNNING"]);
  });

  it("copied every row: per-table count and md5 on the db host equal the box's old PostgreSQL", () => {
    const after = db.tableChecksums(APP);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    expect(after).toEqual(before);
    // The box's own copy is kept untouched (a rollback target).
    expect(box.tableChecksums()).toEqual(before);
    // Owned by the master user on the db host (--no-owner).
    expect(db.sql(APP, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).toBe(MASTER_USER);
  });

  it("serves the same rows from the db host, with the box's own PostgreSQL stopped", async () => {
    box.host.mustSh("pg_ctlcluster 15 main stop");
    expect(box.host.processes().filter((p) => /postgres/.test(p.cmd))).toEqual([]);
    expect(box.request("/db?format=json").text).toBe(rowsBefore);
    expect(await box.taskResult(taskId, 5)).toMatchObject({ state: "done", result: sumOfSquares(4321) });
    expect(box.request("/upload").text).toContain(upload.url);
    const served = box.request(upload.url);
    expect(served.status).toBe(200);
    expect(served.body.equals(upload.content)).toBe(true);
    // New writes land on the db host.
    const id = box.enqueueTask(12);
    expect(await box.taskResult(id)).toMatchObject({ state: "done", result: sumOfSquares(12) });
    expect(db.sql(APP, `SELECT state FROM notes_taskrun WHERE id = ${id}`)).toBe("done");
  });

  it("a second rollout copies nothing again (and keeps the rows written since)", () => {
    const rowsOnDb = db.tableChecksums(APP);
    moved.fetch("v1");
    const second = moved.mustProvision(["configure", "release", "verify"], 300_000);
    expect(second).not.toContain("moving the database");
    expect(second).toContain("mysite: release v1 is live");
    expect(box.host.processes().filter((p) => /postgres/.test(p.cmd))).toEqual([]);
    expect(db.tableChecksums(APP)).toEqual(rowsOnDb);
  });
});
