/**
 * What a server's first boot needs before it provisions anything, for real
 * on a Debian bookworm host in its own network namespace (the sample app's
 * single box, its rendered files in place):
 *
 *  - phase install's SSM Agent, from a stand-in for AWS's bucket on the lan:
 *    a package of the pinned version built here, signed with a test key
 *    whose public half takes the place of AWS's key on the host, checked by
 *    the host's own `gpgv`; a package whose signature does not
 *    verify stops the run;
 *  - the wait for a route out (the Elastic IP, associated after the
 *    instance runs): bounded, and phase fetch starts once the route is there.
 *
 * Needs Linux, root, `ip netns`, debootstrap (see single-box.test.ts).
 */
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { SSM_AGENT_KEY, SSM_AGENT_VERSION } from "../../server/ssm-agent";
import { Box, imagePackages, sampleSpec } from "./box";
import { cleanupStale, Host, hostImage, Lan, missingPrerequisites, mustRun, progress, RUN_ROOT } from "./harness";

jest.setTimeout(600_000); // per test: real boots, releases and load runs on a possibly loaded 2-core machine

const missing = missingPrerequisites();
const ci = process.env.CI === "true";
if (missing) {
  progress(`SKIPPED: the real-host first-boot suite cannot run here: ${missing}${ci ? "" : " (CI=true makes this a failure)"}`);
}
if (missing && ci) {
  describe("the real-host first-boot suite", () => {
    it("has its prerequisites (CI=true)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
}

const suite = missing ? describe.skip : describe;
const PATH_ON_BOX = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const PROVISION_LOG = "/var/log/django-tiers/provision.log";

let lan: Lan | undefined;
let host: Host | undefined;
let box: Box;
const servers: ChildProcess[] = [];
let scratch = "";

beforeAll(() => {
  if (missing) return;
  cleanupStale();
  const image = hostImage(imagePackages());
  lan = new Lan(String(process.pid), "10.213.12");
  host = new Host("boot", image, lan);
  box = new Box(host, sampleSpec({ taskWorker: "celery" }));
  progress(`[boot] host at ${host.address}; writing the rendered files`);
  box.writeRenderedFiles();
  // Phase fetch's outputs (phase install creates the app's database with its secret).
  box.fetch("v1");
  scratch = fs.mkdtempSync(path.join(RUN_ROOT, "first-boot-"));
}, 900_000);

afterAll(() => {
  for (const server of servers) server.kill();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  host?.destroy();
  box?.dispose();
  lan?.destroy();
}, 120_000);

/**
 * The script with ARGS and ENV; its output read from provision.log once the run's last line is there (the
 * script tees into the log through a process substitution, which may still be writing when it exits).
 */
async function provision(args: string[], env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  const before = fs.existsSync(box.host.file(PROVISION_LOG)) ? box.host.read(PROVISION_LOG).length : 0;
  const result = await box.host.execAsync(["/usr/local/sbin/django-tiers-provision", ...args], { env: { PATH: PATH_ON_BOX, ...env }, timeoutMs: 300_000 });
  const ended = await box.until(() => /\] (FAILED \(exit|all done:)/.test(box.host.read(PROVISION_LOG).slice(before)), 120);
  expect(ended.ok).toBe(true);
  const output = box.host.read(PROVISION_LOG).slice(before);
  progress(`[boot] provision ${args.join(" ") || "(no phase: first boot)"}: exit ${result.status}; ${output.split("\n").filter((l) => /SSM Agent|route out|ERROR|FAILED/.test(l)).join(" | ")}`);
  return { status: result.status, output };
}

/** A static HTTP server on the lan's gateway address (the stand-in bucket, or the route out), serving DIR. */
async function serve(dir: string, port: number): Promise<string> {
  const url = `http://${lan!.gateway}:${port}`;
  const server = lan!.spawn(["/usr/bin/python3", "-m", "http.server", "--bind", lan!.gateway, "--directory", dir, String(port)]);
  server.done.catch(() => undefined);
  servers.push(server.child);
  const up = await box.until(() => box.host.exec(["curl", "-sS", "-o", "/dev/null", "--max-time", "2", `${url}/`]).status === 0, 30);
  expect(up.ok).toBe(true);
  return url;
}

/** gpg on the test machine, in its own home. */
function gpg(home: string, ...args: string[]): string {
  return mustRun(["gpg", "--homedir", home, "--batch", "--quiet", ...args]);
}

suite("first boot: the SSM Agent, from AWS's signed package (a stand-in here)", () => {
  let bucket = "";
  let source = "";
  let deb = "";

  beforeAll(async () => {
    if (missing) return;
    const home = path.join(scratch, "gnupg");
    fs.mkdirSync(home, { mode: 0o700 });
    gpg(home, "--passphrase", "", "--quick-gen-key", "django-tiers test signer <signer@example.invalid>", "rsa2048", "sign", "2d");
    // The stand-in agent: a package of the pinned version whose program runs until it is stopped.
    const arch = box.host.mustExec(["dpkg", "--print-architecture"]).trim();
    const tree = path.join(scratch, "pkg");
    fs.mkdirSync(path.join(tree, "DEBIAN"), { recursive: true });
    fs.mkdirSync(path.join(tree, "usr/bin"), { recursive: true });
    fs.writeFileSync(path.join(tree, "DEBIAN/control"),
      `Package: amazon-ssm-agent\nVersion: ${SSM_AGENT_VERSION}-1\nArchitecture: ${arch}\nMaintainer: django-tiers tests <tests@example.invalid>\nDescription: stand-in for AWS's SSM Agent (test/servers/rollout.test.ts)\n`);
    fs.writeFileSync(path.join(tree, "usr/bin/amazon-ssm-agent"), "#!/bin/sh\nwhile :; do sleep 5; done\n", { mode: 0o755 });
    bucket = path.join(scratch, "bucket");
    const dir = path.join(bucket, SSM_AGENT_VERSION, `debian_${arch}`);
    fs.mkdirSync(dir, { recursive: true });
    deb = path.join(dir, "amazon-ssm-agent.deb");
    mustRun(["dpkg-deb", "--root-owner-group", "--build", tree, deb]);
    gpg(home, "--detach-sign", "--output", `${deb}.sig`, deb);
    // The test key's public half, where the host keeps AWS's.
    // Written by gpg to a file: its stdout and stderr reach mustRun mixed.
    const publicKey = path.join(scratch, "signer.asc");
    gpg(home, "--armor", "--output", publicKey, "--export");
    box.host.write(SSM_AGENT_KEY, fs.readFileSync(publicKey, "utf8"), "0644");
    source = await serve(bucket, 8099);
  }, 120_000);

  function install(): Promise<{ status: number | null; output: string }> {
    return provision(["install"], { DJANGO_TIERS_SSM_AGENT_SOURCE: source });
  }

  function agentInstalled(): boolean {
    return box.host.exec(["dpkg-query", "-W", "amazon-ssm-agent"]).status === 0;
  }

  it("refuses a package whose signature does not verify, and the run fails saying so", async () => {
    const good = fs.readFileSync(deb);
    const tampered = Buffer.from(good);
    tampered[tampered.length - 1] ^= 0xff;
    fs.writeFileSync(deb, tampered);
    try {
      const result = await install();
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/SSM Agent: BAD SIGNATURE: http:\/\/\S+\/amazon-ssm-agent\.deb does not verify with the key in \/usr\/local\/share\/django-tiers\/amazon-ssm-agent\.asc; not installed/);
      expect(result.output).toContain(`ERROR: SSM Agent ${SSM_AGENT_VERSION} not installed: the rollout association and Session Manager cannot reach this box`);
      expect(agentInstalled()).toBe(false);
    } finally {
      fs.writeFileSync(deb, good);
    }
  });

  it("installs the pinned version whose signature verifies, and starts it (no systemd: directly)", async () => {
    const result = await install();
    expect([result.status, result.output.slice(-3000)]).toEqual([0, expect.any(String)]);
    expect(result.output).toMatch(/SSM Agent: good signature by [0-9A-F]{40}/);
    expect(box.host.mustExec(["dpkg-query", "-W", "-f", "${Version}", "amazon-ssm-agent"])).toBe(`${SSM_AGENT_VERSION}-1`);
    const pid = Number(box.host.read("/run/amazon-ssm-agent.pid").trim());
    expect(box.host.processes().find((p) => p.pid === pid)?.cmd).toContain("/usr/bin/amazon-ssm-agent");
    // Installed once: the next run neither downloads it again nor starts a second one.
    const again = await install();
    expect(again.status).toBe(0);
    expect(again.output).toContain(`SSM Agent: ${SSM_AGENT_VERSION}-1 installed`);
    expect(Number(box.host.read("/run/amazon-ssm-agent.pid").trim())).toBe(pid);
  });
});

suite("first boot waits for its route out (the Elastic IP), bounded", () => {
  beforeAll(() => {
    if (missing) return;
    // No AWS here: phase fetch, once the wait is over, fails at its first call, quickly.
    box.host.write("/usr/local/bin/aws", "#!/bin/sh\necho 'stand-in: no AWS API here' >&2\nexit 255\n", "0755");
  });

  afterAll(() => {
    if (!missing) box.host.exec(["rm", "-f", "/usr/local/bin/aws"]);
  });

  it("gives up after its timeout, before any phase, with the reason", async () => {
    const probe = `http://${lan!.gateway}:8097/`;
    const result = await provision([], { DJANGO_TIERS_NETWORK_PROBE: probe, DJANGO_TIERS_NETWORK_TIMEOUT: "6" });
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(`waiting for a route out: ${probe} does not answer yet`);
    expect(result.output).toContain(`ERROR: no route out after 6s: ${probe} does not answer (is the Elastic IP associated, or the NAT route in place?)`);
    expect(result.output).not.toContain("[fetch] start");
  });

  it("goes on with phase fetch once the route is there", async () => {
    const empty = path.join(scratch, "route");
    fs.mkdirSync(empty, { recursive: true });
    const port = 8096;
    const probe = `http://${lan!.gateway}:${port}/`;
    const before = box.host.read(PROVISION_LOG).length;
    const run = provision([], { DJANGO_TIERS_NETWORK_PROBE: probe, DJANGO_TIERS_NETWORK_TIMEOUT: "240" });
    // The box is waiting (no route yet) when the route appears.
    const waiting = await box.until(() => box.host.read(PROVISION_LOG).slice(before).includes(`waiting for a route out: ${probe}`), 60);
    expect(waiting.ok).toBe(true);
    await serve(empty, port);
    const result = await run;
    expect(result.output).toMatch(new RegExp(`route out: ${probe.replace(/[.]/g, "\\.")} answers after \\d+s`));
    expect(result.output).toContain("[fetch] start");
    // No AWS API here: the run then fails in fetch, which is what a test host can show.
    expect(result.status).not.toBe(0);
  });
});
