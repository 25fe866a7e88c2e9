/**
 * Topology 3, `load-balanced`, for real: two servers of the blue app fleet
 * (role "app", rendered as tiers/fleet.ts renders them: TLS ended at the load
 * balancer, nginx serving only the VPC, the database, cache and files off the
 * box) provisioned at once with the same rendered phases a fleet server runs
 * (`install configure release verify`; both race for the migration's
 * advisory lock on the shared database), a db host standing in for RDS and
 * ElastiCache (test/servers/db-host.ts), and in front of them haproxy
 * standing in for the ALB (test/servers/balancer.ts), configured from the
 * target group the prod stack plans (health check path, matcher, thresholds,
 * interval, timeout, deregistration delay; the ALB's idle timeout).
 *
 * The fleet's servers also talk to S3 (collectstatic, signed URLs) with the
 * instance role's credentials: the db host also serves a stand-in for IMDSv2
 * and S3 (test/servers/aws-standin.ts).
 *
 * Time is scaled: the stand-in runs the health-check interval and timeout and
 * the deregistration delay TIME_SCALE times faster than the ALB (the counts,
 * healthy and unhealthy thresholds, are the planned ones). Every bound below
 * is computed from those numbers.
 *
 * Every assertion is over real HTTP: through haproxy (HTTPS, from the lan) or
 * straight to an app host's nginx, as the ALB's health check reaches it.
 */
import { APP, Box, describeLoad, fleetServerSpec, imagePackages, preinstallSsmAgent, sleep } from "./box";
import { AwsStandIn } from "./aws-standin";
import { Balancer, plannedLoadBalancer, type LoadBalancerPlan, type TargetStat } from "./balancer";
import { DbHost, MASTER_USER, randomSecret, trustCa } from "./db-host";
import { cleanupStale, Host, hostImage, Lan, missingPrerequisites, progress } from "./harness";

jest.setTimeout(600_000); // per test: real boots, releases and load runs on a possibly loaded 2-core machine

const missing = missingPrerequisites();
const ci = process.env.CI === "true";
if (missing) progress(`SKIPPED: the real-host server suite cannot run here: ${missing}${ci ? "" : " (CI=true makes this a failure)"}`);
if (missing && ci) {
  describe("the real-host server suite (load-balanced)", () => {
    it("has its prerequisites (CI=true)", () => {
      throw new Error(`cannot run: ${missing}`);
    });
  });
}
const suite = missing ? describe.skip : describe;

/** The stack whose planned load balancer the stand-in copies. */
const STACK = "prod";
/** The stand-in's health checks and deregistration run this many times faster than the ALB's. */
const TIME_SCALE = 5;
const DOMAIN = "mysite.example.test";
/** The units a fleet server's packages enable (no PostgreSQL, no Redis: those are the db host's). */
const APP_SERVER_UNITS = ["nginx", "supervisor", "cron"] as const;

let lan: Lan | undefined;
const hosts: Host[] = [];
let db: DbHost;
let aws: AwsStandIn;
let boxes: Box[] = [];
let alb: Balancer;
let planned: LoadBalancerPlan;

beforeAll(async () => {
  if (missing) return;
  const started = Date.now();
  cleanupStale();
  // The stack's plan runs (~10 s, the mock engine) while the hosts are built and provisioned.
  const plan = plannedLoadBalancer(STACK);
  plan.catch(() => undefined);
  const image = hostImage(imagePackages());
  lan = new Lan(String(process.pid), "10.213.10");
  const dbHost = new Host("db", image, lan);
  hosts.push(dbHost);
  const appHosts = ["web1", "web2"].map((name) => {
    const host = new Host(name, image, lan!);
    hosts.push(host);
    return host;
  });
  const trustedCidr = `${lan.prefix}.0/24`;
  boxes = appHosts.map((host) => new Box(host, fleetServerSpec({
    domain: DOMAIN, color: "blue", trustedCidr, database: { host: dbHost.address, user: MASTER_USER }, cacheHost: dbHost.address, workers: 3,
  })));
  // One secret for the app, read by every server of the fleet.
  boxes[0]!.secrets.REDIS_PASSWORD = randomSecret();
  for (const box of boxes.slice(1)) Object.assign(box.secrets, boxes[0]!.secrets);
  const secrets = boxes[0]!.secrets;
  db = new DbHost(dbHost, secrets.DATABASE_PASSWORD!, secrets.REDIS_PASSWORD!);
  db.start();
  const storage = boxes[0]!.spec.objectStorage!;
  aws = new AwsStandIn(dbHost, boxes[0]!.spec.region, [storage.staticBucket, storage.mediaBucket]);
  aws.start();
  progress(`[db] RDS/ElastiCache stand-in, and IMDS/S3 stand-in, at ${dbHost.address}`);
  progress(`[web1, web2] app servers at ${appHosts.map((h) => h.address).join(", ")}: provisioning both at once`);
  const provisioned: Promise<string>[] = [];
  for (const box of boxes) {
    // A fleet VM has no PostgreSQL cluster of its own (the image holds every role's packages).
    box.host.mustSh("pg_dropcluster --stop 15 main");
    aws.connect(box.host);
    // The hosts have IMDS (the stand-in), so phase install would fetch the agent from S3: give them one.
    preinstallSsmAgent(box.host);
    trustCa(box.host, db.caPem);
    box.writeRenderedFiles();
    box.fetch("v1");
    // This server's phases run while the next one is prepared; both releases race for the migration lock.
    provisioned.push(box.mustProvisionAsync(["install", "configure", "release", "verify"]));
  }
  await Promise.all(provisioned);
  planned = await plan;
  alb = new Balancer(lan, planned.targetGroup, boxes.map((b) => ({ name: b.host.name, address: b.host.address })),
    { domain: DOMAIN, timeScale: TIME_SCALE, idleTimeoutSeconds: planned.idleTimeoutSeconds });
  alb.start();
  const hc = planned.targetGroup.healthCheck;
  progress(`[alb] haproxy at ${alb.address} from ${STACK}'s planned target group: GET ${hc.path} every ${alb.intervalSeconds}s ` +
    `(ALB ${hc.interval}s / ${TIME_SCALE}), timeout ${alb.timeoutSeconds}s, rise ${hc.healthyThreshold}, fall ${hc.unhealthyThreshold}, ` +
    `deregistration ${alb.deregistrationSeconds}s (ALB ${planned.targetGroup.deregistrationDelay}s / ${TIME_SCALE}); ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}, 900_000);

afterAll(() => {
  alb?.stop();
  for (const host of hosts) host.destroy();
  for (const box of boxes) box.dispose();
  db?.dispose();
  aws?.dispose();
  lan?.destroy();
}, 120_000);

const allUp = (names: string[]) => (stats: Record<string, TargetStat>) => names.every((n) => stats[n]?.status === "UP");

/** Successful responses per target between two stats snapshots. */
function served(before: Record<string, TargetStat>, after: Record<string, TargetStat>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, after[name]!.ok - (before[name]?.ok ?? 0)]));
}

suite(`load-balanced: two app servers behind an ALB stand-in (haproxy; health checks and deregistration ${TIME_SCALE}x faster than the ALB's)`, () => {
  const names = () => boxes.map((b) => b.host.name);

  it("follows the planned target group, whose deregistration delay covers gunicorn's graceful timeout", () => {
    const tg = planned.targetGroup;
    expect(tg.healthCheck).toMatchObject({ path: "/healthz", matcher: "200", protocol: "HTTP" });
    expect(tg.port).toBe(80);
    for (const box of boxes) expect(tg.deregistrationDelay).toBeGreaterThanOrEqual(box.spec.gunicorn.gracefulTimeoutSeconds!);
    const config = alb.config();
    expect(config).toContain(`http-check send meth GET uri ${tg.healthCheck.path} ver HTTP/1.1 hdr Host %[srv_name]`);
    expect(config).toContain(`rise ${tg.healthCheck.healthyThreshold} fall ${tg.healthCheck.unhealthyThreshold}`);
    expect(config).toContain(`inter ${(tg.healthCheck.interval * 1000) / TIME_SCALE}ms`);
  });

  it("marks both app servers healthy and sends each of them traffic, over HTTPS", async () => {
    const up = await alb.until(allUp(names()), 180);
    const stats = await alb.stats();
    progress(`[alb] both targets UP after ${up.seconds.toFixed(1)}s more: ${JSON.stringify(stats)}`);
    expect(up.ok).toBe(true);
    for (const name of names()) expect(stats[name]).toMatchObject({ status: "UP", checkStatus: "L7OK", checkCode: "200" });
    const targets: string[] = [];
    for (let i = 0; i < 10; i++) {
      const response = alb.request("/");
      expect(response.status).toBe(200);
      expect(response.text).toContain("mysite on django-tiers");
      targets.push(response.headers["x-stand-in-target"]!);
    }
    const after = await alb.stats();
    // Round robin, no stickiness: every other request, counted on both sides.
    expect(targets.filter((t) => t === boxes[0]!.host.address)).toHaveLength(5);
    expect(targets.filter((t) => t === boxes[1]!.host.address)).toHaveLength(5);
    expect(Object.values(served(stats, after))).toEqual([5, 5]);
  });

  it("answers the health check's /healthz with the instance's IP as Host, and refuses an unknown Host (444)", () => {
    for (const box of boxes) {
      const base = `http://${box.host.address}`;
      const health = box.request("/healthz", [], base, box.host.address);
      expect([box.host.name, health.status, health.text]).toEqual([box.host.name, 200, "ok"]);
      const unknown = box.request("/", [], base, "unknown.example.test");
      expect(unknown.status).toBe(0);
      expect(unknown.text).toMatch(/Empty reply from server/);
      // Not through the balancer, no X-Forwarded-Proto: Django redirects to HTTPS (SECURE_SSL_REDIRECT).
      const plain = box.request("/", [], base, DOMAIN);
      expect([plain.status, plain.headers.location]).toEqual([301, `https://${DOMAIN}/`]);
    }
    // Through the balancer: nginx closes on an unknown Host, the balancer answers 502.
    expect(alb.request("/", { hostHeader: "unknown.example.test" }).status).toBe(502);
    // HTTP only redirects to HTTPS, as the ALB's port 80 listener does.
    const http = alb.request("/db", { scheme: "http" });
    expect([http.status, http.headers.location]).toEqual([301, `https://${DOMAIN}/db`]);
  });

  it("serves the database page from the db host through both app servers, and static files from S3 with the instance role", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const response = alb.request("/db?format=json");
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text)).toEqual({ count: 3, titles: ["Welcome", "Static files", "Tasks"] });
      seen.add(response.headers["x-stand-in-target"]!);
    }
    expect([...seen].sort()).toEqual(boxes.map((b) => b.host.address).sort());
    const clients = db.sql("postgres", `SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE datname = '${APP}' AND usename = '${MASTER_USER}'`);
    expect(clients.split("\n").sort()).toEqual(boxes.map((b) => b.host.address).sort());
    // The one migration ran once (the advisory lock), whichever server took it.
    expect(db.sql(APP, "SELECT count(*) FROM django_migrations WHERE app = 'notes' AND name = '0002_first_notes'")).toBe("1");
    // collectstatic put the static files in the bucket; pages link to them with URLs signed by the role's credentials.
    const storage = boxes[0]!.spec.objectStorage!;
    expect(aws.log()).toContain(`PUT ${storage.staticBucket} notes/site.css 200`);
    const home = alb.request("/");
    // (botocore 1.29 presigns with the global name, bucket.s3.amazonaws.com; the signature names the region.)
    expect(home.text).toMatch(new RegExp(`https://${storage.staticBucket}\\.s3(\\.${aws.region})?\\.amazonaws\\.com/notes/site\\.css\\?`));
    expect(home.text).toContain(`%2F${aws.region}%2Fs3%2Faws4_request`);
    expect(home.text).toContain(`X-Amz-Credential=${aws.accessKeyId}%2F`);
  });

  it(`deregistration under load: draining, out after the deregistration delay (ALB's / ${TIME_SCALE}), then stopped — zero failed requests`, async () => {
    const [leaving, staying] = boxes as [Box, Box];
    const load = alb.startLoad(["/", "/db", "/healthz"], { threads: 4, maxSeconds: 900 });
    await load.reach({ ok: 20 });
    await alb.drain(leaving.host.name);
    const draining = await alb.stats();
    await sleep(alb.deregistrationSeconds * 1000);
    const beforeRemoval = await alb.stats();
    await alb.remove(leaving.host.name);
    const out = await alb.stats();
    progress(`[alb] ${leaving.host.name} drained for ${alb.deregistrationSeconds}s and out of the group; stopping it`);
    leaving.host.powerOff();
    // Twenty more requests with the server gone, and over a hundred in all.
    await load.reach({ ok: Math.max(101, load.progress().ok + 20) });
    const report = await load.stop();
    const after = await alb.stats();
    describeLoad(`deregistered ${leaving.host.name}, then stopped`, report);

    // Back (before asserting, so the next tests start from two healthy servers): the VM boots, the
    // target is registered again and takes traffic once `rise` health checks pass.
    leaving.host.boot(APP_SERVER_UNITS);
    await alb.register(leaving.host.name);
    const up = await alb.until(allUp(names()), 180);

    expect(report.failed).toBe(0);
    expect(report.total).toBeGreaterThan(100);
    expect(draining[leaving.host.name]!.status).toBe("DRAIN");
    expect(out[leaving.host.name]!.status).toBe("MAINT");
    // No new request went to it while it drained: at most the ones in flight when draining began, one per client thread.
    expect(beforeRemoval[leaving.host.name]!.ok - draining[leaving.host.name]!.ok).toBeLessThanOrEqual(load.threads);
    expect(after[leaving.host.name]!.ok).toBe(out[leaving.host.name]!.ok);
    expect(served(draining, after)[staying.host.name]).toBeGreaterThan(20);
    expect(up.ok).toBe(true);
  });

  let stoppedAt = 0;

  it(`one app server killed under load: failures only within the health-check window (unhealthy threshold × interval, ALB's / ${TIME_SCALE})`, async () => {
    const [, dying] = boxes as [Box, Box];
    const hc = planned.targetGroup.healthCheck;
    // DOWN at most `fall` checks after the kill; a check that cannot connect fails at once, one that hangs after the timeout.
    // One more interval of slack: on a loaded machine a check may run late.
    const window = hc.unhealthyThreshold * alb.intervalSeconds + alb.timeoutSeconds + alb.intervalSeconds;
    const load = alb.startLoad(["/", "/db", "/healthz"], { threads: 4, maxSeconds: 900 });
    await load.reach({ ok: 20 });
    stoppedAt = Date.now();
    dying.host.powerOff();
    // powerOff kills at once, then waits for the namespace to empty and resets /run: DOWN is timed from before it.
    const killSeconds = (Date.now() - stoppedAt) / 1000;
    // How soon haproxy marks it DOWN depends on its checks running on time: reported, and bounded only loosely.
    const down = await alb.until((s) => s[dying.host.name]!.status.startsWith("DOWN"), 3 * window + 60);
    const failedAtDown = load.progress().failed;
    // Steady again: fifty successes in a row since the last failure.
    if (down.ok) await load.reach({ streak: 50 });
    const report = await load.stop();
    describeLoad(`${dying.host.name} killed`, report);
    const span = report.failureWindow ? report.failureWindow.last - report.failureWindow.first : 0;
    const downAfter = killSeconds + down.seconds;
    progress(`[alb] ${dying.host.name} DOWN ${downAfter.toFixed(1)}s after the kill began (powerOff took ${killSeconds.toFixed(1)}s); ` +
      `${report.failed} failed requests within ${span.toFixed(1)}s (bound ${window}s)`);
    expect(down.ok).toBe(true);
    // The ALB does not retry elsewhere: requests sent to the dead target fail until it is marked down, none
    // after (at most the requests in flight when it was marked, one per client thread).
    expect(report.failed).toBeGreaterThan(0);
    expect(report.failed - failedAtDown).toBeLessThanOrEqual(load.threads);
    // 503 once haproxy cannot connect; 502, or the client's connection closed, for a request in flight at the kill.
    const unexpected = report.failures.filter((f) => !(f.status === 502 || f.status === 503 || /RemoteDisconnected|ConnectionReset/.test(f.error ?? "")));
    expect(unexpected).toEqual([]);
    // load.py backs off 50 ms after a failure: each client thread fails at most that often.
    expect(report.failed).toBeLessThanOrEqual(load.threads * (span / 0.05 + 1));
    expect(report.successTail).toBeGreaterThan(20);
  });

  it("brings the killed app server back: booted, marked healthy after the healthy threshold, and given traffic again", async () => {
    const [, back] = boxes as [Box, Box];
    expect(stoppedAt).toBeGreaterThan(0);
    const booted = Date.now();
    back.host.boot(APP_SERVER_UNITS);
    const up = await alb.until(allUp(names()), 180);
    const upAfter = (Date.now() - booted) / 1000;
    const stats = await alb.stats();
    progress(`[alb] ${back.host.name} UP again ${upAfter.toFixed(1)}s after its boot began`);
    expect(up.ok).toBe(true);
    expect(stats[back.host.name]).toMatchObject({ status: "UP", checkStatus: "L7OK", checkCode: "200" });
    // It turns healthy no sooner than `rise` checks after it answers.
    expect(upAfter).toBeGreaterThanOrEqual((planned.targetGroup.healthCheck.healthyThreshold - 1) * alb.intervalSeconds);
    const report = await alb.startLoad(["/", "/db"], { threads: 4, maxRequests: 200 }).finish();
    const after = await alb.stats();
    describeLoad(`${back.host.name} back`, report);
    expect(report.total).toBe(200);
    expect(report.failed).toBe(0);
    const split = served(stats, after);
    expect(split[back.host.name]).toBeGreaterThanOrEqual(80);
    expect(split[boxes[0]!.host.name]).toBeGreaterThanOrEqual(80);
  });
});
