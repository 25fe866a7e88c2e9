/**
 * The stand-in for the load-balanced tier's ALB: haproxy in the lan
 * namespace, a FIXTURE (no stack deploys haproxy), configured from the
 * target group the stack plans (components/load-balancer.ts, read from the
 * offline plan of a load-balanced stack, never copied here):
 *
 *  - health check: `GET <path>` with the target's IP as Host (the ALB sends
 *    the instance's private IP, which is what nginx's default server of an
 *    app server is for), healthy = the matcher's status, `rise` = the
 *    healthy threshold, `fall` = the unhealthy threshold, the interval and
 *    timeout divided by `timeScale` (the test says by how much);
 *  - TLS ends here (a self-signed certificate for the domain), HTTP only
 *    redirects to HTTPS (301), `X-Forwarded-Proto: https` and
 *    `X-Forwarded-Port: 443` are set, overwriting the client's, and the
 *    client's address is appended to X-Forwarded-For, as the ALB does;
 *  - round robin, no stickiness (the listener's stickiness is off), and no
 *    retry on another target: like the ALB, a request sent to a target that
 *    died before its health check noticed fails (here 502/503);
 *  - deregistration: the target is put in haproxy's `drain` state (no new
 *    requests, in-flight ones finish), the deregistration delay (scaled,
 *    `deregistrationSeconds`) passes, then it is taken out (`maint`), as the
 *    ALB's draining does.
 *
 * One thing the ALB does not do: each response carries the name of the
 * target that answered (`X-Stand-In-Target`), so a test can tell them apart.
 */
import { execFile } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { HttpResponse, LoadRun, readCurlResponse, sleep, spawnLoad } from "./box";
import { Lan, mustRun, RUN_ROOT } from "./harness";

const REPO = path.resolve(__dirname, "../..");
const BACKEND = "targets";

/** The inputs of a planned aws.lb.TargetGroup that the stand-in follows. */
export interface TargetGroupPlan {
  port: number;
  deregistrationDelay: number;
  healthCheck: {
    path: string;
    matcher: string;
    protocol: string;
    interval: number;
    timeout: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
  };
}

/** What the stand-in takes from a planned load balancer: its blue target group and idle timeout. */
export interface LoadBalancerPlan {
  targetGroup: TargetGroupPlan;
  idleTimeoutSeconds: number;
}

/**
 * The load balancer and blue target group of `stack`'s offline plan
 * (`cli/plan.ts --json`, the mock engine: what `pulumi up` would create), so
 * the stand-in uses exactly the numbers components/load-balancer.ts and
 * tiers/fleet.ts give the ALB.
 */
export function plannedLoadBalancer(stack: string): Promise<LoadBalancerPlan> {
  return new Promise((resolve, reject) => {
    execFile(path.join(REPO, "node_modules/.bin/tsx"), [path.join(REPO, "cli/plan.ts"), "--stack", stack, "--json"],
      { cwd: REPO, maxBuffer: 256 * 1024 * 1024, timeout: 180_000 }, (error, stdout, stderr) => {
        if (error) return reject(new Error(`plan --stack ${stack} failed: ${error.message}\n${stderr.slice(-3000)}`));
        const plan = JSON.parse(stdout) as { resources: Array<{ type: string; name: string; inputs: Record<string, any> }> };
        const group = plan.resources.find((r) => r.type === "aws:lb/targetGroup:TargetGroup" && r.name.endsWith("-tg-blue"));
        const lb = plan.resources.find((r) => r.type === "aws:lb/loadBalancer:LoadBalancer");
        if (!group || !lb) return reject(new Error(`the plan of ${stack} has no load balancer with a blue target group (is it a load-balanced stack?)`));
        resolve({
          targetGroup: { port: group.inputs.port, deregistrationDelay: group.inputs.deregistrationDelay, healthCheck: group.inputs.healthCheck },
          idleTimeoutSeconds: lb.inputs.idleTimeout,
        });
      });
  });
}

/** One row of haproxy's `show stat` for a target. */
export interface TargetStat {
  /** UP, DOWN, DRAIN, MAINT, or a transition ("UP 1/3", "DOWN 1/2"). */
  status: string;
  /** Responses with a 2xx status the target sent through the balancer. */
  ok: number;
  /** The last health check's result (L7OK, L4CON, L7STS, ...) and HTTP code. */
  checkStatus: string;
  checkCode: string;
}

export interface BalancerTarget {
  /** The host's name in the test. */
  name: string;
  /** Its address on the lan: also its name in haproxy and the health check's Host. */
  address: string;
}

export class Balancer {
  readonly dir: string;
  readonly address: string;
  /** Seconds between two health checks of a target, scaled. */
  readonly intervalSeconds: number;
  /** A health check's timeout, scaled. */
  readonly timeoutSeconds: number;
  /** The deregistration delay, scaled. */
  readonly deregistrationSeconds: number;
  private readonly pidFile: string;
  private readonly socket: string;
  private readonly caFile: string;

  constructor(
    readonly lan: Lan,
    readonly targetGroup: TargetGroupPlan,
    readonly targets: BalancerTarget[],
    readonly options: { domain: string; timeScale: number; idleTimeoutSeconds: number },
  ) {
    this.dir = path.join(RUN_ROOT, `client-${lan.runId}-balancer`);
    fs.mkdirSync(this.dir, { recursive: true });
    this.address = lan.gateway;
    this.pidFile = path.join(this.dir, "haproxy.pid");
    this.socket = path.join(this.dir, "admin.sock");
    this.caFile = path.join(this.dir, "ca.pem");
    const hc = targetGroup.healthCheck;
    this.intervalSeconds = hc.interval / options.timeScale;
    this.timeoutSeconds = hc.timeout / options.timeScale;
    this.deregistrationSeconds = targetGroup.deregistrationDelay / options.timeScale;
  }

  /** The rendered haproxy.cfg. */
  config(): string {
    const hc = this.targetGroup.healthCheck;
    const ms = (seconds: number) => `${Math.round(seconds * 1000)}ms`;
    if (hc.protocol !== "HTTP" || !/^\d{3}$/.test(hc.matcher)) {
      throw new Error(`the stand-in follows an HTTP health check with one status code (got ${hc.protocol} ${hc.matcher})`);
    }
    return `# The ALB stand-in of test/servers/load-balanced.test.ts (test/servers/balancer.ts).
global
    stats socket ${this.socket} mode 600 level admin
    pidfile ${this.pidFile}
    maxconn 4000

defaults
    mode http
    # The ALB's idle timeout, on both sides.
    timeout client ${this.options.idleTimeoutSeconds}s
    timeout server ${this.options.idleTimeoutSeconds}s
    timeout http-keep-alive ${this.options.idleTimeoutSeconds}s
    timeout connect 5s
    timeout check ${ms(this.timeoutSeconds)}
    # No retry and no redispatch: the ALB does not resend a request to another target.
    retries 0

frontend alb
    bind ${this.address}:80
    bind ${this.address}:443 ssl crt ${path.join(this.dir, "alb.pem")}
    http-request redirect scheme https code 301 unless { ssl_fc }
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Port 443
    option forwardfor
    http-response set-header X-Stand-In-Target %s
    default_backend ${BACKEND}

backend ${BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri ${hc.path} ver HTTP/1.1 hdr Host %[srv_name]
    http-check expect status ${hc.matcher}
    default-server check inter ${ms(this.intervalSeconds)} fastinter ${ms(this.intervalSeconds)} downinter ${ms(this.intervalSeconds)} rise ${hc.healthyThreshold} fall ${hc.unhealthyThreshold}
${this.targets.map((t) => `    server ${t.address} ${t.address}:${this.targetGroup.port}`).join("\n")}
`;
  }

  /** A certificate for the domain (ACM's, here self-signed), the config, and haproxy started in the lan namespace. */
  start(): void {
    const p = (name: string) => path.join(this.dir, name);
    mustRun(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${this.options.domain}`,
      "-addext", `subjectAltName=DNS:${this.options.domain}`, "-keyout", p("alb.key"), "-out", this.caFile]);
    fs.writeFileSync(p("alb.pem"), fs.readFileSync(this.caFile, "utf8") + fs.readFileSync(p("alb.key"), "utf8"), { mode: 0o600 });
    fs.writeFileSync(p("haproxy.cfg"), this.config());
    mustRun(["haproxy", "-c", "-f", p("haproxy.cfg")]);
    const started = this.lan.exec(["haproxy", "-D", "-f", p("haproxy.cfg")]);
    if (started.status !== 0) throw new Error(`haproxy did not start: ${started.output}`);
  }

  stop(): void {
    if (fs.existsSync(this.pidFile)) {
      for (const pid of fs.readFileSync(this.pidFile, "utf8").split(/\s+/).filter((x) => /^\d+$/.test(x))) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** One command on haproxy's admin socket; its answer. */
  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const client = net.createConnection(this.socket);
      let out = "";
      client.on("connect", () => client.write(`${line}\n`));
      client.on("data", (d) => (out += d.toString()));
      client.on("end", () => resolve(out));
      client.on("error", reject);
    });
  }

  /** `show stat` of every target, by target name (the host's name in the test). */
  async stats(): Promise<Record<string, TargetStat>> {
    const csv = (await this.command("show stat")).trim().split("\n");
    const header = csv[0]!.replace(/^# /, "").split(",");
    const col = (row: string[], name: string) => row[header.indexOf(name)] ?? "";
    const out: Record<string, TargetStat> = {};
    for (const line of csv.slice(1)) {
      const row = line.split(",");
      const target = this.targets.find((t) => t.address === row[1]);
      if (row[0] !== BACKEND || !target) continue;
      out[target.name] = {
        status: col(row, "status"),
        ok: Number(col(row, "hrsp_2xx") || 0),
        checkStatus: col(row, "check_status"),
        checkCode: col(row, "check_code"),
      };
    }
    return out;
  }

  /** Polls the stats until `check` holds or `seconds` pass; whether it held, and after how long. */
  async until(check: (stats: Record<string, TargetStat>) => boolean, seconds: number): Promise<{ ok: boolean; seconds: number }> {
    const started = Date.now();
    while (Date.now() - started < seconds * 1000) {
      if (check(await this.stats())) return { ok: true, seconds: (Date.now() - started) / 1000 };
      await sleep(100);
    }
    return { ok: check(await this.stats()), seconds: (Date.now() - started) / 1000 };
  }

  private target(name: string): BalancerTarget {
    const target = this.targets.find((t) => t.name === name);
    if (!target) throw new Error(`no target ${name}`);
    return target;
  }

  /**
   * Deregistration, first half: the target drains (no new requests; those in
   * flight finish), as an ALB target does for the deregistration delay.
   */
  async drain(name: string): Promise<void> {
    await this.command(`set server ${BACKEND}/${this.target(name).address} state drain`);
  }

  /** Deregistration, second half, once the delay has passed: the target is out of the group. */
  async remove(name: string): Promise<void> {
    await this.command(`set server ${BACKEND}/${this.target(name).address} state maint`);
  }

  /** Registers a target again: it takes requests once `rise` health checks pass. */
  async register(name: string): Promise<void> {
    const { address } = this.target(name);
    await this.command(`set server ${BACKEND}/${address} state ready`);
  }

  /** One request through the balancer, over HTTPS (or `scheme`), from the lan. */
  request(urlPath: string, options: { hostHeader?: string; scheme?: "http" | "https" } = {}): HttpResponse {
    const scheme = options.scheme ?? "https";
    const id = crypto.randomBytes(4).toString("hex");
    const bodyFile = path.join(this.dir, `body-${id}`);
    const headerFile = path.join(this.dir, `headers-${id}`);
    const domain = this.options.domain;
    const args = ["curl", "-sS", "--max-time", "20", "-H", "Accept-Encoding: gzip", "--cacert", this.caFile,
      "--resolve", `${domain}:443:${this.address}`, "--resolve", `${domain}:80:${this.address}`, "-o", bodyFile, "-D", headerFile];
    if (options.hostHeader) args.push("-H", `Host: ${options.hostHeader}`);
    return readCurlResponse(this.lan.exec([...args, `${scheme}://${domain}${urlPath}`]), headerFile, bodyFile);
  }

  /** The bounded load loop (load.py) from the lan, over HTTPS through the balancer. */
  startLoad(paths: string[], options: { threads?: number; maxRequests?: number; maxSeconds?: number } = {}): LoadRun & { threads: number } {
    const threads = options.threads ?? 4;
    // load.py connects to the URL's address and sends the domain as SNI and Host.
    const target = ["--url", `https://${this.address}`, "--host", this.options.domain, "--cafile", this.caFile];
    return { ...spawnLoad(this.lan, this.dir, paths, target, { ...options, threads }), threads };
  }
}
