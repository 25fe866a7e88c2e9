/**
 * The stand-in for RDS PostgreSQL and ElastiCache Redis on a harness host: a
 * FIXTURE, not rendered by django-tiers (on AWS these are managed services).
 * It offers the app exactly what the managed endpoints offer, nothing more:
 *
 *  - PostgreSQL 15 listening on the lan, TLS on (`ssl=on`, a certificate of
 *    a test CA), password auth only over TLS (`hostssl … scram-sha-256`,
 *    `hostnossl … reject`, as `rds.force_ssl=1` does), and the master user
 *    as RDS creates it: LOGIN CREATEDB CREATEROLE, a member of
 *    `rds_superuser`, not a superuser. Only the `postgres` database exists
 *    (the stack sets no `dbName`): the app's database is created by the
 *    rendered provisioning, as the master user.
 *  - Redis 7 with TLS only (`port 0`, `tls-port 6379`, no client
 *    certificates) and an AUTH password (`requirepass`), as ElastiCache with
 *    transit encryption and an auth token.
 *
 * The certificates come from a test CA the app hosts add to their system
 * trust store: that is what a real ElastiCache endpoint supplies (a
 * certificate chained to Amazon's CA, which Debian's ca-certificates trusts).
 * RDS's certificate is not verified by the app (`sslmode=require`), so it
 * needs no trust at all.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Host, mustRun, RUN_ROOT } from "./harness";

const PG_ETC = "/etc/postgresql/15/main";
const REDIS_CONF = "/etc/redis/elasticache.conf";
const REDIS_TLS = "/etc/redis/tls";

/** The RDS master user name the stack uses (components/database.ts's default). */
export const MASTER_USER = "django";

export class DbHost {
  private scratch: string;
  /** The test CA's certificate (PEM): what an app host adds to its trust store. */
  readonly caPem: string;

  constructor(readonly host: Host, readonly masterPassword: string, readonly redisPassword: string) {
    this.scratch = path.join(RUN_ROOT, `client-${host.lan.runId}-${host.name}`);
    fs.mkdirSync(this.scratch, { recursive: true });
    this.caPem = this.makeCertificates();
  }

  get address(): string {
    return this.host.address;
  }

  dispose(): void {
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }

  /** A test CA, and a server certificate for the host's address signed by it. */
  private makeCertificates(): string {
    const s = this.scratch;
    const p = (name: string) => path.join(s, name);
    mustRun(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=django-tiers test CA",
      "-keyout", p("ca.key"), "-out", p("ca.pem")]);
    mustRun(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${this.host.name}`,
      "-keyout", p("server.key"), "-out", p("server.csr")]);
    fs.writeFileSync(p("ext.cnf"), `subjectAltName=IP:${this.host.address},DNS:${this.host.name}\n`);
    mustRun(["openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
      "-days", "2", "-extfile", p("ext.cnf"), "-out", p("server.crt")]);
    return fs.readFileSync(p("ca.pem"), "utf8");
  }

  /** Configures and starts both services (what the managed services are before the stack's first `up` uses them). */
  start(): void {
    const h = this.host;
    const crt = fs.readFileSync(path.join(this.scratch, "server.crt"));
    const key = fs.readFileSync(path.join(this.scratch, "server.key"));
    // PostgreSQL: TLS on, password auth over TLS only, listening on the lan.
    h.write(`${PG_ETC}/server.crt`, crt, "0644", "postgres:postgres");
    h.write(`${PG_ETC}/server.key`, key, "0600", "postgres:postgres");
    h.write(`${PG_ETC}/conf.d/rds.conf`, `# Test stand-in for RDS (test/servers/db-host.ts).
listen_addresses = '*'
ssl = on
ssl_cert_file = '${PG_ETC}/server.crt'
ssl_key_file = '${PG_ETC}/server.key'
password_encryption = 'scram-sha-256'
`, "0644", "postgres:postgres");
    h.write(`${PG_ETC}/pg_hba.conf`, `# Test stand-in for RDS with rds.force_ssl=1 (test/servers/db-host.ts).
local   all  all                 peer
hostssl all  all  ${h.lan.prefix}.0/24  scram-sha-256
hostnossl all all 0.0.0.0/0      reject
`, "0640", "postgres:postgres");
    this.startPostgres();
    // The master user as RDS makes it; its password goes in on stdin, never argv.
    h.mustSh("cd / && runuser -u postgres -- psql --no-psqlrc -qX -v ON_ERROR_STOP=1", { input: `\\set password '${this.masterPassword}'
CREATE ROLE rds_superuser NOLOGIN;
CREATE ROLE ${MASTER_USER} LOGIN CREATEDB CREATEROLE PASSWORD :'password' IN ROLE rds_superuser;
` });
    // Redis: TLS only, AUTH required.
    h.write(`${REDIS_TLS}/server.crt`, crt, "0644", "redis:redis");
    h.write(`${REDIS_TLS}/server.key`, key, "0600", "redis:redis");
    h.write(`${REDIS_TLS}/ca.pem`, this.caPem, "0644", "redis:redis");
    h.write(REDIS_CONF, `# Test stand-in for ElastiCache with transit encryption and an auth token (test/servers/db-host.ts).
bind 0.0.0.0
protected-mode no
port 0
tls-port 6379
tls-cert-file ${REDIS_TLS}/server.crt
tls-key-file ${REDIS_TLS}/server.key
tls-ca-cert-file ${REDIS_TLS}/ca.pem
tls-auth-clients no
requirepass ${this.redisPassword}
daemonize yes
pidfile /run/redis/redis-server.pid
logfile /var/log/redis/redis-server.log
dir /var/lib/redis
`, "0640", "redis:redis");
    this.startRedis();
  }

  startPostgres(): void {
    this.host.mustSh("pg_ctlcluster 15 main start && pg_isready -q -t 30");
  }

  /** A fast restart, as an RDS reboot or failover looks from the app: every connection dropped. */
  restartPostgres(): void {
    this.host.mustSh("pg_ctlcluster 15 main restart -m fast && pg_isready -q -t 30");
  }

  startRedis(): void {
    this.host.mustSh(`install -d -o redis -g redis -m 0755 /run/redis && cd / && runuser -u redis -- redis-server ${REDIS_CONF}`);
    if (!this.redisUp(20)) throw new Error(`[${this.host.name}] Redis (TLS) did not answer PING:\n${this.host.read("/var/log/redis/redis-server.log").slice(-2000)}`);
  }

  stopRedis(): void {
    this.host.mustSh("kill -TERM \"$(cat /run/redis/redis-server.pid)\"");
    for (let i = 0; i < 40 && this.redisPing(); i++) mustRun(["sleep", "0.25"]);
  }

  /** PING over TLS with the password (REDISCLI_AUTH: not in argv), verifying the server's certificate. */
  redisPing(): boolean {
    const result = this.host.exec(["redis-cli", "--tls", "--cacert", `${REDIS_TLS}/ca.pem`, "-h", this.address, "-p", "6379", "ping"],
      { env: { REDISCLI_AUTH: this.redisPassword }, timeoutMs: 10_000 });
    return result.status === 0 && result.output.trim() === "PONG";
  }

  private redisUp(seconds: number): boolean {
    for (let i = 0; i < seconds * 4; i++) {
      if (this.redisPing()) return true;
      mustRun(["sleep", "0.25"]);
    }
    return false;
  }

  /** One redis-cli command over TLS with AUTH; its output. */
  redis(...args: string[]): string {
    return this.host.mustExec(["redis-cli", "--tls", "--cacert", `${REDIS_TLS}/ca.pem`, "-h", this.address, "-p", "6379", ...args],
      { env: { REDISCLI_AUTH: this.redisPassword } });
  }

  /** psql as the postgres superuser on the db host (local socket), tuples only. */
  sql(database: string, query: string): string {
    return this.host.mustSh(`cd / && runuser -u postgres -- psql --no-psqlrc -qAtX -d ${database}`, { input: query }).trim();
  }

  /** The same per-table row checksums as Box.tableChecksums, over this host's copy of `database`. */
  tableChecksums(database: string): Record<string, string> {
    return parseChecksums(this.sql(database, CHECKSUM_SQL));
  }
}

/** count and md5 of every row (as text, in a stable order) of every table of schema public. */
export const CHECKSUM_SQL = `SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(t::text, ''|'' ORDER BY t::text)), ''-'') FROM %I.%I t;',
              table_name, table_schema, table_name)
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
 ORDER BY table_name \\gexec
`;

export function parseChecksums(out: string): Record<string, string> {
  const sums: Record<string, string> = {};
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [table, count, md5] = line.split(" ");
    sums[table!] = `${count} ${md5}`;
  }
  return sums;
}

/** Adds the test CA to an app host's system trust store (Debian's update-ca-certificates). */
export function trustCa(host: Host, caPem: string): void {
  host.write("/usr/local/share/ca-certificates/django-tiers-test-ca.crt", caPem, "0644");
  host.mustExec(["update-ca-certificates"]);
}

export function randomSecret(bytes = 24): string {
  return crypto.randomBytes(bytes).toString("base64url");
}
