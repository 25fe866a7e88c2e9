/**
 * The SSM Agent's part of the provisioning (server/ssm-agent.ts): the key
 * every server checks the agent's package with is AWS's documented one (read
 * by the real gpg and by the policy check's own parser), it reaches the box
 * in the configuration document, and phase install installs the pinned
 * version. The install itself runs for real in test/servers/first-boot.test.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { armoredKeyFingerprint } from "../../policies/checks/rollout";
import { renderBox } from "../../server";
import { SSM_AGENT_KEY, SSM_AGENT_KEY_FINGERPRINT, SSM_AGENT_PUBLIC_KEY, SSM_AGENT_VERSION } from "../../server/ssm-agent";
import { fixtureSpec } from "./fixtures";
import { fileAt, removeDir, run, tempDir, tool } from "./helpers";

let dir: string;
beforeAll(() => {
  dir = tempDir("ssm-agent");
});
afterAll(() => removeDir(dir));

describe("the SSM Agent's signing key", () => {
  it("is AWS's documented key, as gpg reads it", () => {
    const home = path.join(dir, "gnupg");
    fs.mkdirSync(home, { mode: 0o700 });
    const result = run(tool("gpg"), ["--homedir", home, "--batch", "--with-colons", "--show-keys"], { input: SSM_AGENT_PUBLIC_KEY });
    expect(result.status).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("fpr:"))?.split(":")[9]).toBe(SSM_AGENT_KEY_FINGERPRINT);
    expect(lines.find((l) => l.startsWith("uid:"))?.split(":")[9]).toBe("SSM Agent <ssm-agent-signer@amazon.com>");
  });

  it("has the same fingerprint by the policy check's own parser, and another key has another", () => {
    expect(armoredKeyFingerprint(SSM_AGENT_PUBLIC_KEY)).toBe(SSM_AGENT_KEY_FINGERPRINT);
    expect(armoredKeyFingerprint(SSM_AGENT_PUBLIC_KEY.replace("mQENBGTtIoIBCAD2", "mQENBGTtIoIBCAD3"))).not.toBe(SSM_AGENT_KEY_FINGERPRINT);
    expect(armoredKeyFingerprint("not a key")).toBeUndefined();
  });
});

describe("every server", () => {
  const files = renderBox(fixtureSpec({ tls: "letsencrypt" }));

  it("gets the key in its configuration document", () => {
    expect(fileAt(files, SSM_AGENT_KEY)).toMatchObject({ mode: "0644", owner: "root:root", content: SSM_AGENT_PUBLIC_KEY });
  });

  it("installs the pinned version in phase install, before its users and databases", () => {
    const script = fileAt(files, "/usr/local/sbin/django-tiers-provision").content;
    expect(script).toContain(`readonly SSM_AGENT_VERSION=${SSM_AGENT_VERSION}`);
    expect(SSM_AGENT_VERSION).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const install = /^phase_install\(\) \{\n([\s\S]*?)^\}$/m.exec(script)?.[1] ?? "";
    expect(install.indexOf("  ensure_ssm_agent\n")).toBeGreaterThan(install.indexOf('ensure_packages "${PACKAGES[@]}"'));
    expect(install.indexOf("  ensure_ssm_agent\n")).toBeLessThan(install.indexOf("ensure_users"));
  });
});
