/** The box configuration document and the helper that applies it, run for real with /usr/bin/python3. */
import * as fs from "fs";
import * as path from "path";
import { APPLY_CONFIG, boxConfigKey, boxConfigVersion, renderBox, renderBoxConfig } from "../../server";
import { APPLY_CONFIG_PY } from "../../server/box-config";
import { fixtureSpec } from "./fixtures";
import { PYTHON, removeDir, run, tempDir } from "./helpers";

const dir = tempDir("box-config");
afterAll(() => removeDir(dir));

function apply(document: object): { changed: string[]; status: number | null; stderr: string } {
  const file = path.join(dir, `doc-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(document));
  const script = path.join(dir, "apply_config.py");
  fs.writeFileSync(script, APPLY_CONFIG_PY);
  const r = run(PYTHON, [script, file]);
  return { changed: r.stdout.split("\n").filter(Boolean), status: r.status, stderr: r.stderr };
}

describe("box configuration document", () => {
  it("holds every rendered file, the helper among them, and is versioned by content", () => {
    const files = renderBox(fixtureSpec());
    const doc = renderBoxConfig(files);
    expect(JSON.parse(doc).files.map((f: { path: string }) => f.path)).toEqual(files.map((f) => f.path));
    expect(files.some((f) => f.path === APPLY_CONFIG)).toBe(true);
    expect(boxConfigVersion(doc)).toMatch(/^[0-9a-f]{12}$/);
    expect(boxConfigVersion(renderBoxConfig(renderBox(fixtureSpec({ tls: "letsencrypt" }))))).not.toBe(boxConfigVersion(doc));
    expect(boxConfigKey("single-box", "abc")).toBe("config/single-box/abc.json");
  });

  it("is applied with modes and owners, and a second run changes nothing", () => {
    const a = path.join(dir, "etc/a.conf");
    const b = path.join(dir, "bin/b.sh");
    const document = {
      format: 1,
      files: [
        { path: a, mode: "0640", owner: "root:root", content: "a=1\n" },
        { path: b, mode: "0755", owner: "root:root", content: "#!/bin/sh\n" },
      ],
    };
    expect(apply(document)).toMatchObject({ changed: [a, b], status: 0 });
    expect(fs.readFileSync(a, "utf8")).toBe("a=1\n");
    expect(fs.statSync(a).mode & 0o7777).toBe(0o640);
    expect(fs.statSync(b).mode & 0o7777).toBe(0o755);
    expect(apply(document).changed).toEqual([]);
    fs.chmodSync(a, 0o644);
    document.files[1].content = "#!/bin/sh\nexit 0\n";
    expect(apply(document).changed).toEqual([a, b]);
  });

  it("refuses relative paths, traversal and unknown formats", () => {
    expect(apply({ format: 1, files: [{ path: "etc/x", mode: "0644", owner: "root:root", content: "" }] }).status).not.toBe(0);
    expect(apply({ format: 1, files: [{ path: `${dir}/../x`, mode: "0644", owner: "root:root", content: "" }] }).stderr).toMatch(/refusing path/);
    expect(apply({ format: 2, files: [] }).stderr).toMatch(/unknown document format/);
  });
});

describe("user data", () => {
  it("carries only the bootstrap files and stays small, whatever the number of apps", () => {
    const { BOOTSTRAP_FILES, renderUserData, renderUserDataBase64 } = require("../../server") as typeof import("../../server");
    const { parse } = require("yaml") as typeof import("yaml");
    const spec = fixtureSpec({ apps: 3, tls: "letsencrypt" });
    const doc = parse(renderUserData(spec)) as { write_files: Array<{ path: string }>; runcmd: string[][] };
    expect(doc.write_files.map((f) => f.path).sort()).toEqual([...BOOTSTRAP_FILES].sort());
    expect(doc.runcmd).toEqual([["/usr/local/sbin/django-tiers-provision"]]);
    // The provisioning script is most of it (about 10 KB gzipped); the rest of the box comes with the
    // document. EC2 refuses user data over 16 KB; this keeps 2 KB of headroom for the script to grow.
    expect(Buffer.from(renderUserDataBase64(spec), "base64").length).toBeLessThan(14 * 1024);
    const script = renderBox(spec).find((f) => f.path === "/usr/local/sbin/django-tiers-provision")!.content;
    expect(script).toContain("readonly CONFIG_PARAMETER=/django-tiers/demo/dev/single-box/config");
  });
});
