/**
 * django-tiers-restore's handling of the app's programs, run for real with
 * stand-ins for supervisorctl, runuser, psql, createdb and pg_restore: it
 * stops what runs, restores, and starts again only what ran before, so the
 * idle color of a blue-green box (or a program stopped by hand) stays
 * stopped. test/servers/single-box.test.ts runs the whole restore on a real
 * host against a dropped database.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderBox } from "../../server";
import { RESTORE_SCRIPT } from "../../server/paths";
import type { BoxSpec } from "../../server";
import { coloredSpec, fixtureSpec } from "./fixtures";
import { fileAt, removeDir, run, tempDir, tool, writeUnder } from "./helpers";

const RENDERED_PATH = "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";

describe("django-tiers-restore, run for real (stand-in supervisorctl, runuser, psql, pg_restore)", () => {
  let root: string;
  const calls = () => fs.readFileSync(path.join(root, "calls"), "utf8").trim().split("\n");

  /** The rendered restore script, its PATH pointed at the stand-ins first; `states` is supervisorctl's state of each program. */
  function restore(spec: BoxSpec, app: string, states: Record<string, string>, options: { pgRestoreExit?: number } = {}) {
    const rendered = fileAt(renderBox(spec), RESTORE_SCRIPT).content;
    expect(rendered).toContain(RENDERED_PATH);
    const script = writeUnder(root, "/django-tiers-restore", rendered.replace(RENDERED_PATH, `export PATH=${root}/bin:/usr/bin:/bin\n`), "0755");
    fs.writeFileSync(path.join(root, "states"), Object.entries(states).map(([p, s]) => `${p} ${s}\n`).join(""));
    fs.writeFileSync(path.join(root, "pg-restore-exit"), String(options.pgRestoreExit ?? 0));
    const dump = writeUnder(root, "/20250101T031500Z.dump", "PGDMP stand-in");
    const result = run("bash", [script, app, dump], { env: { PATH: "/usr/bin:/bin", HOME: root } });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  beforeEach(() => {
    root = tempDir("restore");
    fs.writeFileSync(path.join(root, "calls"), "");
    // status PROGRAM: "<name> <STATE> ..." and supervisor's exit 3 when not running; stop/start are recorded.
    writeUnder(root, "/bin/supervisorctl", `#!/bin/bash
echo "supervisorctl $*" >>${root}/calls
case $1 in
  status)
    state=$(awk -v p="$2" '$1 == p { print $2 }' ${root}/states)
    [[ -n $state ]] || { echo "$2: ERROR (no such process)"; exit 4; }
    echo "$2                     $state    pid 4242, uptime 1:02:03"
    [[ $state == RUNNING ]] || exit 3 ;;
  stop | start) shift; for p in "$@"; do echo "$p: done"; done ;;
  *) exit 2 ;;
esac
`, "0755");
    writeUnder(root, "/bin/runuser", `#!/bin/bash\n[[ $1 == -u && $3 == -- ]] || exit 64\nshift 3\nexec "$@"\n`, "0755");
    writeUnder(root, "/bin/psql", `#!/bin/bash\necho 1\n`, "0755");
    writeUnder(root, "/bin/createdb", `#!/bin/bash\necho "createdb $*" >>${root}/calls\n`, "0755");
    writeUnder(root, "/bin/pg_restore", `#!/bin/bash\necho "pg_restore $* <$(cat | wc -c) bytes" >>${root}/calls\nexit "$(cat ${root}/pg-restore-exit)"\n`, "0755");
  });

  afterEach(() => removeDir(root));

  const stopsAndStarts = () => calls().filter((c) => /^supervisorctl (stop|start) /.test(c) || c.startsWith("pg_restore "));

  it("a blue-green box whose idle color is stopped: stops and starts again the live color, worker and beat; green stays stopped", () => {
    const result = restore(coloredSpec({ apps: 3 }, "blue", false), "shop", {
      "shop-web-blue": "RUNNING", "shop-web-green": "STOPPED", "shop-worker": "RUNNING", "shop-beat": "RUNNING",
    });
    expect(result.status).toBe(0);
    expect(stopsAndStarts()).toEqual([
      "supervisorctl stop shop-web-blue shop-worker shop-beat",
      "pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --dbname=shop <14 bytes",
      "supervisorctl start shop-web-blue shop-worker shop-beat",
    ]);
    expect(result.output).toContain("shop: shop-web-green is STOPPED: left as it is");
    expect(result.output).toContain("shop: restore complete");
  });

  it("a box whose programs all run (both colors running): every program is stopped and started again", () => {
    const result = restore(coloredSpec({ apps: 3 }, "blue", true), "blog", {
      "blog-web-blue": "RUNNING", "blog-web-green": "RUNNING", "blog-worker": "RUNNING", "blog-beat": "STARTING",
    });
    expect(result.status).toBe(0);
    expect(stopsAndStarts()).toEqual([
      "supervisorctl stop blog-web-blue blog-web-green blog-worker blog-beat",
      "pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --dbname=blog <14 bytes",
      "supervisorctl start blog-web-blue blog-web-green blog-worker blog-beat",
    ]);
  });

  it("a box without colors: a worker stopped by hand (and a FATAL beat) stay as they were", () => {
    const spec = fixtureSpec({ apps: 1 });
    const result = restore(spec, "shop", { "shop-web": "RUNNING", "shop-worker": "STOPPED", "shop-beat": "FATAL" });
    expect(result.status).toBe(0);
    expect(stopsAndStarts()).toEqual([
      "supervisorctl stop shop-web",
      "pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --dbname=shop <14 bytes",
      "supervisorctl start shop-web",
    ]);
    expect(result.output).toContain("shop: shop-worker is STOPPED: left as it is");
    expect(result.output).toContain("shop: shop-beat is FATAL: left as it is");
  });

  it("a failed pg_restore still starts again what ran, and the script fails", () => {
    const result = restore(coloredSpec({ apps: 3 }, "blue", false), "shop", {
      "shop-web-blue": "RUNNING", "shop-web-green": "STOPPED", "shop-worker": "RUNNING", "shop-beat": "RUNNING",
    }, { pgRestoreExit: 1 });
    expect(result.status).toBe(1);
    expect(stopsAndStarts()[2]).toBe("supervisorctl start shop-web-blue shop-worker shop-beat");
    expect(result.output).not.toContain("restore complete");
  });

  it("nothing running: nothing stopped or started, the restore still runs", () => {
    const result = restore(fixtureSpec({ apps: 1 }), "shop", { "shop-web": "STOPPED", "shop-worker": "STOPPED", "shop-beat": "STOPPED" });
    expect(result.status).toBe(0);
    expect(stopsAndStarts()).toEqual([
      "pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password --dbname=shop <14 bytes",
    ]);
  });

  it("passes shellcheck", () => {
    const dir = tempDir("restore-shellcheck");
    try {
      const file = writeUnder(dir, "restore", fileAt(renderBox(coloredSpec({ apps: 3 }, "blue", false)), RESTORE_SCRIPT).content, "0755");
      const result = run(tool("shellcheck"), ["--severity=style", "--format=gcc", file]);
      expect(result.stdout).toBe("");
      expect(result.status).toBe(0);
    } finally {
      removeDir(dir);
    }
  });
});
