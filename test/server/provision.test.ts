/**
 * The provisioning script's command line, run for real. Only paths that stop
 * before any phase starts are exercised here (help, bad phases, the silent
 * cron `tls`); the phases themselves run in a test host of their own.
 */
import * as path from "node:path";
import { renderBox } from "../../server";
import { fixtureSpec } from "./fixtures";
import { fileAt, removeDir, run, tempDir, writeUnder } from "./helpers";

let dir: string;
beforeAll(() => {
  dir = tempDir("provision");
});
afterAll(() => removeDir(dir));

function provision(label: string, tls: "none" | "letsencrypt", args: string[]): ReturnType<typeof run> {
  const script = fileAt(renderBox(fixtureSpec({ tls })), "/usr/local/sbin/django-tiers-provision").content;
  const file = writeUnder(path.join(dir, label), "/django-tiers-provision", script, "0755");
  return run(file, args, { env: { PATH: "/usr/bin:/bin" } });
}

describe("django-tiers-provision's command line", () => {
  it("prints its usage for --help", () => {
    const result = provision("help", "none", ["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Usage: django-tiers-provision [PHASE...]");
    expect(result.stdout).toContain("fetch install configure release verify");
  });

  it("refuses an unknown phase before running any", () => {
    const result = provision("bad", "none", ["fetch", "relase"]);
    expect(result.status).toBe(64);
    expect(result.stderr).toContain("django-tiers-provision: unknown phase 'relase'");
    expect(result.stdout).toBe("");
  });

  it("does nothing, silently, for the cron `tls` without letsencrypt", () => {
    const result = provision("tls", "none", ["tls"]);
    expect(result).toEqual({ status: 0, stdout: "", stderr: "" });
  });
});
