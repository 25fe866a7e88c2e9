/**
 * The CloudWatch agent's configuration: what it ships and where, checked
 * against the log files the other rendered files tell the services to write.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderBox } from "../../server";
import {
  AGENT_METRICS,
  BoxSpecWithCloudWatch,
  CLOUDWATCH_AGENT_CONFIG,
  CLOUDWATCH_AGENT_CTL,
  CLOUDWATCH_AGENT_KEY_FINGERPRINT,
  CLOUDWATCH_AGENT_SH,
  renderCloudWatchAgentConfig,
  shippedLogs,
} from "../../server/cloudwatch-agent";
import { VARIANTS, fixtureSpec } from "../server/fixtures";

const LOG_GROUP = "/django-tiers/demo/dev/box";
const withAgent = (spec: ReturnType<typeof fixtureSpec>): BoxSpecWithCloudWatch => ({ ...spec, cloudWatch: { logGroupName: LOG_GROUP } });

/** Log files the rendered configuration of nginx, supervisor, Redis, cron and the provisioning script write. */
function logFilesWritten(files: { path: string; content: string }[]): string[] {
  const found = new Set<string>();
  for (const f of files) {
    for (const [, p] of f.content.matchAll(/^\s*(?:access_log|error_log)\s+(\/\S+?);/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/^stdout_logfile=(\S+)$/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/^logfile (\/\S+)$/gm)) found.add(p);
    for (const [, p] of f.content.matchAll(/>>(\/var\/log\/\S+?\.log)/g)) found.add(p);
    for (const [, p] of f.content.matchAll(/tee -a "\$LOG_DIR\/(\S+?\.log)"/g)) found.add(`/var/log/django-tiers/${p}`);
  }
  return [...found].sort();
}

describe("renderCloudWatchAgentConfig", () => {
  it.each(VARIANTS)("ships every log file the box's services write ($label)", ({ options }) => {
    const spec = withAgent(fixtureSpec(options));
    const files = renderBox(spec);
    // With ElastiCache, redis-server is not installed (provision.ts), though redis.conf is still rendered.
    const written = logFilesWritten(files).filter((p) => !(spec.cache && p.startsWith("/var/log/redis/")));
    expect(written.length).toBeGreaterThan(4);
    const shipped = shippedLogs(spec).map((l) => l.path);
    expect(written.filter((p) => !shipped.includes(p))).toEqual([]);
    // And ships nothing the rendered files do not account for, but Debian's own service logs.
    const debianOwn = ["/var/log/supervisor/supervisord.log", "/var/log/postgresql/postgresql-*-main.log"];
    expect(shipped.filter((p) => !written.includes(p) && !debianOwn.includes(p))).toEqual([]);
  });

  it("is in renderBox only once the spec names the log group, at the agent's config path", () => {
    const spec = fixtureSpec();
    expect(renderBox(spec).map((f) => f.path)).not.toContain(CLOUDWATCH_AGENT_CONFIG);
    const file = renderBox(withAgent(spec)).find((f) => f.path === CLOUDWATCH_AGENT_CONFIG);
    expect(file).toMatchObject({ mode: "0644", owner: "root:root" });
    expect(JSON.parse(file!.content).logs.logs_collected.files.collect_list[0].log_group_name).toBe(LOG_GROUP);
  });

  it("sends each file to the log group, in its own stream per instance, and collects memory and root-disk use", () => {
    const spec = fixtureSpec({ apps: 3, taskWorker: "celery" });
    const config = JSON.parse(renderCloudWatchAgentConfig(spec, { logGroupName: LOG_GROUP }));
    const list = config.logs.logs_collected.files.collect_list;
    expect(new Set(list.map((e: any) => e.log_group_name))).toEqual(new Set([LOG_GROUP]));
    const streams = list.map((e: any) => e.log_stream_name);
    expect(new Set(streams).size).toBe(streams.length);
    expect(streams).toEqual(expect.arrayContaining(["{instance_id}/nginx/access", "{instance_id}/shop/web", "{instance_id}/blog/worker", "{instance_id}/wiki/beat", "{instance_id}/supervisord"]));
    expect(list.find((e: any) => e.log_stream_name === "{instance_id}/shop/web").file_path).toBe("/var/log/django-tiers/shop/web.log");
    expect(config.metrics).toMatchObject({
      namespace: AGENT_METRICS.namespace,
      append_dimensions: { InstanceId: "${aws:InstanceId}" },
      aggregation_dimensions: [["InstanceId"]],
      metrics_collected: { mem: { measurement: ["used_percent"] }, disk: { measurement: ["used_percent"], resources: ["/"] } },
    });
    // `mem` + `used_percent` is published as mem_used_percent: the names the alarms use.
    expect([`mem_${config.metrics.metrics_collected.mem.measurement[0]}`, `disk_${config.metrics.metrics_collected.disk.measurement[0]}`]).toEqual([
      AGENT_METRICS.memoryUsedPercent,
      AGENT_METRICS.diskUsedPercent,
    ]);
    expect(config.agent).toMatchObject({ metrics_collection_interval: 60, omit_hostname: true });
  });

  it("leaves out PostgreSQL's and Redis's logs when they run on RDS and ElastiCache", () => {
    const streams = shippedLogs(fixtureSpec({ external: true })).map((l) => l.stream);
    expect(streams).not.toContain("postgresql");
    expect(streams).not.toContain("redis");
    expect(shippedLogs(fixtureSpec()).map((l) => l.stream)).toEqual(expect.arrayContaining(["postgresql", "redis"]));
  });

  it("refuses a log group name CloudWatch would refuse, and an interval the agent does not take", () => {
    expect(() => renderCloudWatchAgentConfig(fixtureSpec(), { logGroupName: "bad name" })).toThrow(/is not a CloudWatch log group name/);
    expect(() => renderCloudWatchAgentConfig(fixtureSpec(), { logGroupName: LOG_GROUP, metricsIntervalSeconds: 45 })).toThrow(/must be 10, 30, 60, 120 or 300 \(got 45\)/);
  });
});

describe("renderCloudWatchAgentConfig on a fleet server", () => {
  it("also aggregates over the auto scaling group, with AutoScalingGroupName alone (the fleet alarms' dimension)", () => {
    const app = JSON.parse(renderCloudWatchAgentConfig({ ...fixtureSpec(), role: "app", color: "blue" }, { logGroupName: LOG_GROUP })).metrics;
    expect(app.append_dimensions).toEqual({ InstanceId: "${aws:InstanceId}", AutoScalingGroupName: "${aws:AutoScalingGroupName}" });
    expect(app.aggregation_dimensions).toEqual([[AGENT_METRICS.instanceDimension], [AGENT_METRICS.groupDimension]]);
    const box = JSON.parse(renderCloudWatchAgentConfig(fixtureSpec(), { logGroupName: LOG_GROUP })).metrics;
    expect(box.append_dimensions).toEqual({ InstanceId: "${aws:InstanceId}" });
    expect(box.aggregation_dimensions).toEqual([["InstanceId"]]);
    const forced = JSON.parse(renderCloudWatchAgentConfig({ ...fixtureSpec(), role: "worker" }, { logGroupName: LOG_GROUP, autoScalingGroup: false })).metrics;
    expect(forced.aggregation_dimensions).toEqual([["InstanceId"]]);
  });
});

/** Which tools exist here: the behaviour tests need bash, gpg and (for the lint) shellcheck. */
const has = (tool: string) => spawnSync("bash", ["-c", `command -v ${tool}`]).status === 0;

describe("ensure_cloudwatch_agent in the provisioning script", () => {
  const script = renderBox(fixtureSpec()).find((f) => f.path.endsWith("/django-tiers-provision"))!.content;

  it("is defined in the script and called last in phase configure", () => {
    expect(script).toContain(CLOUDWATCH_AGENT_SH);
    const configure = script.slice(script.indexOf("\nphase_configure() {"), script.indexOf("\n}\n", script.indexOf("\nphase_configure() {")));
    expect(configure.trim().split("\n").pop()!.trim()).toBe("ensure_cloudwatch_agent");
    // The regional bucket, the package's own signature, the documented key and fingerprint.
    expect(CLOUDWATCH_AGENT_SH).toContain("url=https://amazoncloudwatch-agent-$REGION.s3.$REGION.amazonaws.com/debian/$arch/latest/amazon-cloudwatch-agent.deb");
    expect(CLOUDWATCH_AGENT_SH).toContain(`readonly CLOUDWATCH_AGENT_KEY_FINGERPRINT=${CLOUDWATCH_AGENT_KEY_FINGERPRINT}`);
    expect(CLOUDWATCH_AGENT_KEY_FINGERPRINT).toBe("9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72".replace(/ /g, ""));
    expect(CLOUDWATCH_AGENT_SH).toContain('"$CLOUDWATCH_AGENT_CTL" -a fetch-config -m ec2 -s -c "file:$CLOUDWATCH_AGENT_CONFIG"');
  });

  // test/server/tools.test.ts runs shellcheck over the whole rendered script; this is the function alone,
  // after what it expects of the script around it.
  (has("shellcheck") ? it : it.skip)("passes shellcheck", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cwa-lint-"));
    const prelude = [
      "#!/bin/bash",
      "set -euo pipefail",
      "readonly REGION=eu-west-1 IMDS=http://169.254.169.254/latest",
      "log() { printf '%s\\n' \"$*\" >&2; }",
      "is_installed() { dpkg-query -W \"$1\" >/dev/null 2>&1; }",
      "ensure_packages() { apt-get install -y \"$@\"; }",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "provision"), `${prelude}\n${CLOUDWATCH_AGENT_SH}\nensure_cloudwatch_agent\n`);
    const result = spawnSync("shellcheck", ["--severity=style", "--format=gcc", path.join(dir, "provision")], { encoding: "utf8" });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });

  /**
   * The function run by bash with the script's helpers stubbed: curl serves
   * files from a fake bucket (and the IMDS token when `imds` is on), dpkg and
   * the agent's control script record their calls. gpg is real: a key made
   * here plays AWS's, its fingerprint replaces the documented one.
   */
  describe("run by bash", () => {
    let dir: string;
    let gnupg: string;
    let testFingerprint: string;
    const gpgEnv = () => ({ ...process.env, GNUPGHOME: gnupg });

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "cwa-run-"));
      gnupg = path.join(dir, "home-good.gpg");
      if (!has("gpg")) return;
      for (const [uid, file] of [["Test Agent Signer", "good.gpg"], ["Someone Else", "other.gpg"]]) {
        const home = path.join(dir, `home-${file}`);
        fs.mkdirSync(home, { mode: 0o700 });
        const env = { ...process.env, GNUPGHOME: home };
        expect(spawnSync("gpg", ["--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"], { env }).status).toBe(0);
        fs.writeFileSync(path.join(dir, file), spawnSync("gpg", ["--batch", "--armor", "--export"], { env }).stdout);
      }
      const colons = spawnSync("gpg", ["--batch", "--with-colons", "--show-keys", path.join(dir, "good.gpg")], { encoding: "utf8" }).stdout;
      testFingerprint = colons.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9];
      fs.writeFileSync(path.join(dir, "agent.deb"), "not really a package\n");
      expect(spawnSync("gpg", ["--batch", "--yes", "--detach-sign", "-o", path.join(dir, "good.sig"), path.join(dir, "agent.deb")], { env: gpgEnv() }).status).toBe(0);
      fs.writeFileSync(path.join(dir, "tampered.deb"), "not really a package, tampered\n");
    });
    afterAll(() => {
      // The gpg agents this test's gpg runs started.
      for (const home of ["home-good.gpg", "home-other.gpg"]) spawnSync("gpgconf", ["--kill", "all"], { env: { ...process.env, GNUPGHOME: path.join(dir, home) } });
      fs.rmSync(dir, { recursive: true, force: true });
    });

    interface Scenario {
      config?: boolean;
      imds?: boolean;
      installed?: boolean;
      key?: string;
      deb?: string;
      env?: Record<string, string>;
    }

    function runAgent(s: Scenario): { status: number | null; log: string; calls: string[]; downloads: string[] } {
      const work = fs.mkdtempSync(path.join(dir, "case-"));
      const config = path.join(work, "agent.json");
      if (s.config !== false) fs.writeFileSync(config, "{}\n");
      const ctl = path.join(work, "ctl");
      const calls = path.join(work, "calls");
      fs.writeFileSync(ctl, `#!/bin/bash\necho "ctl $*" >>${calls}\n`, { mode: 0o755 });
      const fn = CLOUDWATCH_AGENT_SH.replace(CLOUDWATCH_AGENT_CONFIG, config)
        .replace(CLOUDWATCH_AGENT_CTL, ctl)
        .replace(`FINGERPRINT=${CLOUDWATCH_AGENT_KEY_FINGERPRINT}`, `FINGERPRINT=${testFingerprint}`);
      const harness = `set -euo pipefail
readonly REGION=eu-west-1 IMDS=http://169.254.169.254/latest
log() { printf '%s\\n' "$*" >&2; }
is_installed() { [[ ${s.installed ? 1 : 0} == 1 ]]; }
ensure_packages() { echo "ensure_packages $*" >>${calls}; }
dpkg() {
  case $1 in
    --print-architecture) echo arm64 ;;
    -i) echo "dpkg -i $(cat "$2")" >>${calls} ;;
  esac
}
curl() {
  local out="" url=""
  while (($#)); do
    case $1 in
      -o) out=$2; shift ;;
      -H | -X | --max-time | --connect-timeout | --retry) shift ;;
      -*) ;;
      *) url=$1 ;;
    esac
    shift
  done
  if [[ $url == "$IMDS/api/token" ]]; then [[ ${s.imds === false ? 0 : 1} == 1 ]] && echo token; return; fi
  echo "$url" >>${calls}.downloads
  case $url in
    *.deb) cp ${path.join(dir, s.deb ?? "agent.deb")} "$out" ;;
    *.deb.sig) cp ${path.join(dir, "good.sig")} "$out" ;;
    *.gpg) cp ${path.join(dir, s.key ?? "good.gpg")} "$out" ;;
    *) return 22 ;;
  esac
}
${fn}
ensure_cloudwatch_agent
echo "exit ok" >&2
`;
      const result = spawnSync("bash", ["-c", harness], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: work, ...s.env } });
      const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : []);
      return { status: result.status, log: result.stderr, calls: read(calls), downloads: read(`${calls}.downloads`) };
    }

    const withGpg = has("gpg") ? it : it.skip;

    it("does nothing without its configuration (no log group named), and stays quiet", () => {
      const r = runAgent({ config: false });
      expect([r.status, r.log, r.calls, r.downloads]).toEqual([0, "exit ok\n", [], []]);
    });

    it("is skipped, saying why, when DJANGO_TIERS_CLOUDWATCH_AGENT=off or off EC2 (no IMDS)", () => {
      const off = runAgent({ env: { DJANGO_TIERS_CLOUDWATCH_AGENT: "off" } });
      expect(off.status).toBe(0);
      expect(off.log).toContain("CloudWatch agent: skipped (DJANGO_TIERS_CLOUDWATCH_AGENT=off)");
      const noImds = runAgent({ imds: false });
      expect(noImds.log).toContain("CloudWatch agent: skipped, no instance metadata service (not on EC2)");
      expect([noImds.status, noImds.calls, noImds.downloads]).toEqual([0, [], []]);
    });

    withGpg("downloads the region's package for the architecture, checks it against the key, installs it and loads the configuration", () => {
      const r = runAgent({});
      expect(r.status).toBe(0);
      expect(r.downloads).toEqual([
        "https://amazoncloudwatch-agent-eu-west-1.s3.eu-west-1.amazonaws.com/debian/arm64/latest/amazon-cloudwatch-agent.deb",
        "https://amazoncloudwatch-agent-eu-west-1.s3.eu-west-1.amazonaws.com/debian/arm64/latest/amazon-cloudwatch-agent.deb.sig",
        "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg",
      ]);
      expect(r.calls[0]).toBe("dpkg -i not really a package");
      expect(r.calls[1]).toMatch(/^ctl -a fetch-config -m ec2 -s -c file:\/.*\/agent\.json$/);
      expect(r.log).toContain("CloudWatch agent: running with");
      expect(r.log).not.toContain("WARNING");
    });

    withGpg("refuses a package whose signature does not verify, or a key that is not the documented one, and goes on", () => {
      for (const bad of [{ deb: "tampered.deb" }, { key: "other.gpg" }]) {
        const r = runAgent(bad);
        expect(r.status).toBe(0);
        expect(r.calls).toEqual([]);
        expect(r.log).toMatch(bad.deb ? /signature of .* does not verify with the documented key/ : /has the fingerprint '[0-9A-F]{40}', not the documented/);
        expect(r.log).toContain("WARNING: CloudWatch agent not installed; the box runs without its metrics and log shipping");
        expect(r.log).toContain("exit ok");
      }
    });

    it("skips the download when the agent is installed, and reloads the configuration", () => {
      const r = runAgent({ installed: true });
      expect(r.status).toBe(0);
      expect(r.downloads).toEqual([]);
      expect(r.log).toContain("CloudWatch agent: installed, skipping the download");
      expect(r.calls).toHaveLength(1);
      expect(r.calls[0]).toMatch(/^ctl -a fetch-config -m ec2 -s -c file:/);
    });
  });
});
