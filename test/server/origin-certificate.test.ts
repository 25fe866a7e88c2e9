/**
 * A box behind Cloudflare's proxy (issue #5, tls.mode origin-certificate):
 * validation; what is rendered (and that no other box changes); shellcheck;
 * install_origin_certificate of the rendered provisioning script run for real
 * (stand-in `aws` printing a secret made from real openssl certificates,
 * stand-in `nginx` recording reloads); and real nginx with the rendered
 * files on loopback ports: TLS with the origin certificate, the redirect on
 * port 80, and the visitor's address taken from CF-Connecting-IP only when
 * the connection comes from realIpFrom.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { runChecks } from "../../policies";
import { CLOUDFLARE_RANGES } from "../../policies/checks/cdn";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import {
  appEnvironment, BoxSpecError, HSTS_SECONDS, ORIGIN_CERTIFICATE, ORIGIN_PRIVATE_KEY, provisionPackages, renderBox,
} from "../../server";
import type { BoxSpec, RenderedFile } from "../../server";
import { plan } from "../policies/fixtures";
import { fixtureSpec, type FixtureOptions, problemsOf, ROLE_VARIANTS, roleSpec, VARIANTS } from "./fixtures";
import { deliveredFiles, fileAt, freePort, rebase, removeDir, run, tempDir, tool, waitFor, writeUnder } from "./helpers";

const PROVISION = "/usr/local/sbin/django-tiers-provision";
const SECRET_ID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:django-tiers/demo/dev/origin-certificate-AbCdEf";

/** A single box behind Cloudflare's proxy. */
function originSpec(options: FixtureOptions = {}, realIpFrom: string[] = CLOUDFLARE_RANGES): BoxSpec {
  const spec = fixtureSpec(options);
  spec.tls = { mode: "origin-certificate", secretId: SECRET_ID, realIpFrom };
  return spec;
}

let dir: string;
beforeAll(() => {
  dir = tempDir("origin-certificate");
});
afterAll(() => removeDir(dir));

// ---------------------------------------------------------------- validation

describe("validation of tls.mode origin-certificate", () => {
  it("accepts a box with every Cloudflare range (IPv4 and IPv6), external services or not", () => {
    expect(problemsOf(originSpec({ apps: 3 }))).toEqual([]);
    expect(problemsOf(originSpec({ apps: 1, external: true }))).toEqual([]);
    expect(problemsOf(originSpec({}, ["127.0.0.1/32", "::1/128", "2a06:98c0::/29", "::ffff:10.0.0.0/104"]))).toEqual([]);
  });

  const tls = (s: BoxSpec) => s.tls as { mode: "origin-certificate"; secretId: string; realIpFrom: string[] };
  it.each<[string, (s: BoxSpec) => void, RegExp]>([
    ["an empty secretId", (s) => { tls(s).secretId = ""; },
      /^tls.secretId "" must be the Secrets Manager id or ARN of the secret holding the origin certificate and key$/],
    ["a missing secretId", (s) => { delete (tls(s) as Partial<ReturnType<typeof tls>>).secretId; }, /^tls.secretId undefined must be the Secrets Manager id or ARN/],
    ["shell in secretId", (s) => { tls(s).secretId = "x$(reboot)"; }, /^tls.secretId "x\$\(reboot\)" must be the Secrets Manager id/],
    ["no realIpFrom", (s) => { tls(s).realIpFrom = []; },
      /^tls.realIpFrom must list the networks CF-Connecting-IP is believed from \(Cloudflare's edge ranges\)$/],
    ["a missing realIpFrom", (s) => { delete (tls(s) as Partial<ReturnType<typeof tls>>).realIpFrom; }, /^tls.realIpFrom must list the networks/],
    ["an address without prefix", (s) => { tls(s).realIpFrom = ["173.245.48.1"]; },
      /^tls.realIpFrom: "173.245.48.1" is not an IPv4 or IPv6 CIDR block \(address\/prefix\)$/],
    ["a host name", (s) => { tls(s).realIpFrom = ["cloudflare.com/32"]; }, /^tls.realIpFrom: "cloudflare.com\/32" is not an IPv4 or IPv6 CIDR block/],
    ["nginx syntax smuggled in", (s) => { tls(s).realIpFrom = ["10.0.0.0/8; allow all"]; }, /^tls.realIpFrom: "10.0.0.0\/8; allow all" is not an IPv4 or IPv6 CIDR/],
    ["an octet above 255", (s) => { tls(s).realIpFrom = ["256.0.0.0/8"]; }, /^tls.realIpFrom: "256.0.0.0\/8" is not an IPv4 or IPv6 CIDR block/],
    ["the whole internet", (s) => { tls(s).realIpFrom = ["0.0.0.0/0"]; },
      /^tls.realIpFrom: "0.0.0.0\/0" has prefix \/0; it must be 1..32 \(\/0 would believe CF-Connecting-IP from anyone\)$/],
    ["the whole IPv6 internet", (s) => { tls(s).realIpFrom = ["::/0"]; }, /^tls.realIpFrom: "::\/0" has prefix \/0; it must be 1..128/],
    ["an IPv4 prefix above 32", (s) => { tls(s).realIpFrom = ["10.0.0.0/33"]; }, /^tls.realIpFrom: "10.0.0.0\/33" has prefix \/33; it must be 1..32/],
    ["host bits (IPv4)", (s) => { tls(s).realIpFrom = ["173.245.48.1/20"]; },
      /^tls.realIpFrom: "173.245.48.1\/20" has host bits set below \/20; write the network address$/],
    ["host bits (IPv6)", (s) => { tls(s).realIpFrom = ["2400:cb00::1/32"]; }, /^tls.realIpFrom: "2400:cb00::1\/32" has host bits set below \/32/],
    ["an app without a domain", (s) => { s.apps[1].domains = []; },
      /^tls.mode origin-certificate needs a domain on every app \(Cloudflare proxies domains, the certificate names them\); blog has none$/],
    ["a worker server", (s) => { Object.assign(s, { ...roleSpec("worker"), tls: s.tls }); },
      /^role worker: tls.mode origin-certificate needs nginx; a worker serves no HTTP \(use none or load-balancer\)$/],
    ["an app server (TLS ends at the ALB)", (s) => { Object.assign(s, { ...roleSpec("app", { color: "blue" }), tls: s.tls }); },
      /^role app needs tls.mode load-balancer \(TLS ends at the ALB\), got origin-certificate$/],
  ])("refuses %s, naming the field", (_label, mutate, message) => {
    const spec = originSpec({ apps: 3 });
    mutate(spec);
    expect(problemsOf(spec)).toContainEqual(expect.stringMatching(message));
    expect(() => renderBox(spec)).toThrow(BoxSpecError);
  });

  it("names every mode for an unknown one", () => {
    const spec = fixtureSpec();
    (spec as { tls: unknown }).tls = { mode: "cloudflare" };
    expect(problemsOf(spec)).toContain('tls.mode must be letsencrypt, origin-certificate, none or load-balancer, got "cloudflare"');
  });
});

// ---------------------------------------------------------------- rendering

describe("what a box behind Cloudflare's proxy gets", () => {
  const spec = originSpec({ apps: 3, taskWorker: "celery" });
  const files = renderBox(spec);
  const script = fileAt(files, PROVISION).content;

  it("installs openssl and no certbot; no pending site, certbot hook or tls cron job", () => {
    const packages = provisionPackages(spec);
    expect(packages).toContain("openssl");
    expect(packages).not.toContain("certbot");
    const paths = files.map((f) => f.path);
    expect(paths.filter((p) => /pending|letsencrypt/.test(p))).toEqual([]);
    expect(fileAt(files, "/etc/cron.d/django-tiers").content).not.toContain(" tls");
    // The certificate is not a rendered file: it comes from the secret, on the box.
    expect(paths).not.toContain(ORIGIN_CERTIFICATE);
    expect([ORIGIN_CERTIFICATE, ORIGIN_PRIVATE_KEY]).toEqual(["/etc/django-tiers/tls/origin.pem", "/etc/django-tiers/tls/origin.key"]);
  });

  it("tells Django its visitors use https: redirect, HSTS (and so secure cookies), https CSRF origins, as with letsencrypt", () => {
    const env = (tls: BoxSpec["tls"]) => {
      const s = { ...spec, tls };
      return Object.fromEntries(appEnvironment(s, s.apps[0]!));
    };
    const behindCloudflare = env(spec.tls);
    expect(behindCloudflare).toEqual(env({ mode: "letsencrypt", email: "ops@example.com" }));
    expect(behindCloudflare).toMatchObject({ DJANGO_SECURE_SSL_REDIRECT: "1", DJANGO_SECURE_HSTS_SECONDS: String(HSTS_SECONDS) });
    expect(behindCloudflare.DJANGO_CSRF_TRUSTED_ORIGINS).toMatch(/^https:\/\/[^,]+(,https:\/\/[^,]+)*$/);
    expect(env({ mode: "none" }).DJANGO_SECURE_SSL_REDIRECT).toBe("0");
  });

  it("names the secret and the two files in the script's header, and installs the certificate in configure before the sites", () => {
    expect(script).toContain("readonly TLS_MODE=origin-certificate\n");
    expect(script).toContain(`readonly ORIGIN_SECRET_ID=${SECRET_ID}\nreadonly ORIGIN_CERT=/etc/django-tiers/tls/origin.pem\nreadonly ORIGIN_KEY=/etc/django-tiers/tls/origin.key\n`);
    const configure = script.slice(script.indexOf("\nphase_configure() {"), script.indexOf("\nphase_tls() {"));
    const install = configure.indexOf("\n    install_origin_certificate\n");
    expect(install).toBeGreaterThan(0);
    expect(install).toBeLessThan(configure.indexOf('enable_site "$app"'));
    expect(configure.indexOf('enable_site "$app"')).toBeLessThan(configure.indexOf("    reload_nginx\n"));
    expect(script).toContain("  { nginx -T 2>/dev/null; origin_certificate_digests; } | sha256sum | cut -d' ' -f1\n");
    // Phase verify goes through the TLS server (port 80 only redirects).
    expect(script).toContain('  if [[ $TLS_MODE == origin-certificate ]] || { [[ $TLS_MODE == letsencrypt ]] && has_certificate "$app"; }; then\n');
    // No certbot in this mode: tls has nothing to do.
    expect(script).toContain('  if [[ $TLS_MODE != letsencrypt ]]; then\n    log "tls.mode is $TLS_MODE: no certificates to request"');
  });

  it("serves each app on 443 with the origin certificate and the letsencrypt site's TLS settings; port 80 redirects", () => {
    const site = fileAt(files, "/etc/nginx/sites-available/blog.conf").content;
    const servers = site.split("\nserver {\n").slice(1);
    expect(servers).toHaveLength(2);
    expect(servers[0]).toBe("    listen 80;\n    server_name blog.example.com www.blog.example.com;\n    access_log /var/log/nginx/blog.access.log;\n\n" +
      "    location / {\n        return 301 https://$host$request_uri;\n    }\n}\n");
    expect(servers[1]).toMatch(/^ {4}listen 443 ssl http2;\n {4}server_name blog.example.com www.blog.example.com;\n/);
    expect(servers[1]).toContain("    ssl_certificate /etc/django-tiers/tls/origin.pem;\n    ssl_certificate_key /etc/django-tiers/tls/origin.key;\n");
    expect(site).not.toContain("acme-challenge");
    expect(servers[1]).toContain("    proxy_set_header X-Forwarded-Proto $scheme;\n");
    expect(servers[1]).toContain("    proxy_set_header X-Forwarded-For $remote_addr;\n");
    expect(servers[1]).toContain("    proxy_set_header X-Real-IP $remote_addr;\n");

    // The same http-level TLS settings as a letsencrypt box, plus realip for Cloudflare's ranges.
    const http = fileAt(files, "/etc/nginx/conf.d/django-tiers.conf").content;
    const letsencrypt = fileAt(renderBox(fixtureSpec({ apps: 3, taskWorker: "celery", tls: "letsencrypt" })), "/etc/nginx/conf.d/django-tiers.conf").content;
    const realip = CLOUDFLARE_RANGES.map((c) => `set_real_ip_from ${c};`).join("\n");
    expect(http).toContain(`\n${realip}\nreal_ip_header CF-Connecting-IP;\n`);
    expect(http.split("\n").filter((l) => !/^(set_real_ip_from|real_ip_header|#)/.test(l) && l !== "")).toEqual(
      letsencrypt.split("\n").filter((l) => !l.startsWith("#") && l !== ""));
    expect(http).toContain("ssl_protocols TLSv1.2 TLSv1.3;\n");
    expect(http).toContain("    ssl_reject_handshake on;\n");
    expect(http).not.toContain("real_ip_recursive");
  });

  it("passes every server-file check that reads these files", () => {
    const results = runChecks(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": files } }), SERVER_FILE_CHECKS);
    const failing = results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => f.message).join("; ")}`);
    expect(failing).toEqual([]);
    for (const id of ["nginx-forwarded-proto", "nginx-server-tokens-off", "nginx-client-max-body-size"]) {
      expect(`${id}: ${results.find((r) => r.id === id)?.status}`).toBe(`${id}: pass`);
    }
  });

  it.each([...VARIANTS.map((v) => [v.label, () => fixtureSpec(v.options)] as const), ...ROLE_VARIANTS.map((v) => [v.label, v.spec] as const)])(
    "leaves every other box's files free of it: %s", (_label, make) => {
      for (const file of renderBox(make())) {
        expect(`${file.path}: ${/origin_certificate|ORIGIN_CERT|ORIGIN_KEY|ORIGIN_SECRET_ID|CF-Connecting-IP|\/etc\/django-tiers\/tls\//.exec(file.content)?.[0]}`).toBe(`${file.path}: undefined`);
      }
    });
});

describe("shellcheck of the provisioning script behind Cloudflare's proxy", () => {
  it.each([
    ["1 app, celery", originSpec({ apps: 1, taskWorker: "celery" })],
    ["3 apps, rq, RDS + ElastiCache + S3", originSpec({ apps: 3, taskWorker: "rq", external: true })],
  ])("%s: rendered and delivered", (label, spec) => {
    const root = path.join(dir, "shellcheck", label.replace(/[^a-z0-9]+/gi, "-"));
    const scripts = (list: RenderedFile[]) => list.filter((f) => /^#!\/bin\/(ba)?sh\n/.test(f.content));
    const rendered = scripts(renderBox(spec)).map((f) => writeUnder(path.join(root, "rendered"), f.path, f.content));
    const delivered = scripts(deliveredFiles(spec)).map((f) => writeUnder(path.join(root, "delivered"), f.path, f.content));
    expect(rendered.map((p) => path.basename(p))).toContain("django-tiers-provision");
    const result = run(tool("shellcheck"), ["--severity=style", "--format=gcc", ...rendered, ...delivered]);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});

// ---------------------------------------------------------------- certificates

interface Pair {
  cert: string;
  key: string;
}

/** A real self-signed EC certificate for `domains` (SANs) and its key, made by openssl. */
function makePair(label: string, domains: string[]): Pair {
  const where = path.join(dir, "pairs", label);
  fs.mkdirSync(where, { recursive: true });
  const made = run(tool("openssl"), ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", `/CN=${domains[0]}`, "-addext", `subjectAltName=${domains.map((d) => `DNS:${d}`).join(",")}`,
    "-keyout", path.join(where, "key.pem"), "-out", path.join(where, "cert.pem")]);
  expect(made.status).toBe(0);
  return { cert: fs.readFileSync(path.join(where, "cert.pem"), "utf8"), key: fs.readFileSync(path.join(where, "key.pem"), "utf8") };
}

/** A file's text, or "" while it does not exist. */
const readIfAny = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");

/** The key's base64 body lines: none may appear in any output. */
const keyLines = (key: string) => key.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));

// ------------------------------------------------- install_origin_certificate

describe("install_origin_certificate, run for real (stand-in aws and nginx)", () => {
  const spec = originSpec({ apps: 3 });
  const domains = spec.apps.flatMap((a) => a.domains);
  let root: string;
  let script: string;
  let first: Pair;
  let second: Pair;

  const at = (p: string) => path.join(root, p);
  const calls = (name: string) => (fs.existsSync(at(name)) ? fs.readFileSync(at(name), "utf8").trim().split("\n") : []);
  const reloads = () => calls("nginx-calls").filter((c) => c === "-s reload");
  const secret = (value: unknown) => fs.writeFileSync(at("secret"), typeof value === "string" ? value : JSON.stringify(value));

  /**
   * What phase configure does for the certificate: install it, then
   * reload_nginx. With `trace`, under bash -x from the first line.
   */
  function configure(trace = false): { status: number | null; output: string } {
    const result = run("bash", [...(trace ? ["-x"] : []), script, "install_origin_certificate", "reload_nginx"], { env: { PATH: "/usr/bin:/bin" } });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  const installed = () => ({ cert: fs.readFileSync(at(ORIGIN_CERTIFICATE), "utf8"), key: fs.readFileSync(at(ORIGIN_PRIVATE_KEY), "utf8") });
  const leftovers = () => fs.readdirSync(path.dirname(at(ORIGIN_CERTIFICATE))).filter((f) => f.startsWith("."));

  beforeAll(() => {
    root = path.join(dir, "install");
    first = makePair("first", domains);
    second = makePair("second", domains);
    // The rendered script, its paths under root, the stand-ins first on its PATH, and
    // instead of main: each argument run as a function of the script.
    const text = rebase(fileAt(renderBox(spec), PROVISION).content, root)
      .replace(/^export PATH=.*$/m, `export PATH=${root}/bin:/usr/sbin:/usr/bin:/sbin:/bin`)
      .replace(/^main "\$@"$/m, 'for step in "$@"; do "$step"; done');
    expect(text).toContain(`readonly ORIGIN_CERT=${root}/etc/django-tiers/tls/origin.pem\n`);
    script = writeUnder(root, "/django-tiers-provision", text, "0755");
    // aws: records its arguments, prints the secret (or fails like the CLI on a missing secret).
    writeUnder(root, "/bin/aws", `#!/bin/bash
echo "$*" >>${root}/aws-calls
if [[ -e ${root}/aws-fails ]]; then
  echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret." >&2
  exit 254
fi
cat ${root}/secret
`, "0755");
    // nginx: a valid configuration whose text never changes; reloads and starts recorded.
    writeUnder(root, "/bin/nginx", `#!/bin/bash
echo "$*" >>${root}/nginx-calls
if [[ $1 == -T ]]; then echo "# the same configuration"; fi
exit 0
`, "0755");
    // A running nginx (pidfile_alive): a reload is \`nginx -s reload\`.
    writeUnder(root, "/run/nginx.pid", `${process.pid}\n`);
  });

  it("writes both files (0644 and 0600, root) on the first run, reloads nginx, and leaves no temporary file", () => {
    secret({ certificate: first.cert, privateKey: first.key });
    const result = configure();
    expect(result.output).toMatch(/origin certificate installed: SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}, valid until /);
    expect(result.status).toBe(0);
    expect(installed()).toEqual(first);
    const mode = (p: string) => (fs.statSync(at(p)).mode & 0o7777).toString(8);
    expect([mode(ORIGIN_CERTIFICATE), mode(ORIGIN_PRIVATE_KEY), mode("/etc/django-tiers/tls")]).toEqual(["644", "600", "755"]);
    expect([fs.statSync(at(ORIGIN_PRIVATE_KEY)).uid, fs.statSync(at(ORIGIN_PRIVATE_KEY)).gid]).toEqual([0, 0]);
    expect(leftovers()).toEqual([]);
    expect(calls("aws-calls")).toEqual([`--region eu-west-1 secretsmanager get-secret-value --secret-id ${SECRET_ID} --query SecretString --output text`]);
    expect(calls("nginx-calls")).toEqual(["-t -q", "-T", "-s reload"]);
  });

  it("changes nothing and does not reload on a second run with the same secret", () => {
    const before = fs.statSync(at(ORIGIN_PRIVATE_KEY));
    const result = configure();
    expect(result.status).toBe(0);
    expect(result.output).toContain("origin certificate unchanged (SHA-256 ");
    expect(result.output).toContain("nginx's configuration is unchanged: not reloaded");
    expect(fs.statSync(at(ORIGIN_PRIVATE_KEY)).ino).toBe(before.ino);
    expect(reloads()).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });

  it("replaces both files with a new certificate and reloads nginx, though no configuration file changed", () => {
    secret({ certificate: second.cert, privateKey: second.key });
    const result = configure();
    expect(result.status).toBe(0);
    expect(result.output).toContain("origin certificate installed");
    expect(installed()).toEqual(second);
    expect(reloads()).toHaveLength(2);
    // And only once.
    expect(configure().status).toBe(0);
    expect(reloads()).toHaveLength(2);
  });

  it.each<[string, () => void, string]>([
    ["a key that does not match the certificate", () => secret({ certificate: first.cert, privateKey: second.key }),
      "the private key of secret %ID does not match its certificate (different public keys)"],
    ["a secret that is not JSON", () => secret(`certificate=${first.cert}`), "could not read a certificate and key from secret %ID"],
    ["a secret without privateKey", () => secret({ certificate: first.cert }), "could not read a certificate and key from secret %ID"],
    ["a certificate that is no PEM", () => secret({ certificate: "MIIB", privateKey: first.key }), "could not read a certificate and key from secret %ID"],
    ["a broken certificate PEM", () => secret({ certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", privateKey: first.key }),
      "the certificate of secret %ID does not parse as X.509"],
    ["a secret the AWS CLI cannot read", () => fs.writeFileSync(at("aws-fails"), ""), "could not read a certificate and key from secret %ID"],
  ])("fails configure on %s, naming it, and leaves the files nginx serves alone", (_label, arrange, message) => {
    const reloadsBefore = reloads().length;
    arrange();
    try {
      const result = configure();
      expect(result.status).toBe(1);
      expect(result.output).toContain(`ERROR: origin certificate: ${message.replace("%ID", SECRET_ID)}; ` +
        `${root}/etc/django-tiers/tls/origin.pem and ${root}/etc/django-tiers/tls/origin.key are unchanged`);
      expect(installed()).toEqual(second);
      expect(reloads()).toHaveLength(reloadsBefore);
      expect(leftovers()).toEqual([]);
      for (const line of keyLines(first.key).concat(keyLines(second.key))) expect(result.output).not.toContain(line);
    } finally {
      fs.rmSync(at("aws-fails"), { force: true });
    }
  });

  it("says what is wrong with the secret, naming fields, never values", () => {
    secret("{not json");
    expect(configure().output).toContain("origin certificate: the secret is not valid JSON\n");
    secret({ certificate: first.cert });
    expect(configure().output).toContain("origin certificate: privateKey is missing or not a PEM private key\n");
    secret({ certificate: first.cert, privateKey: first.key.replace(/PRIVATE KEY/g, "ENCRYPTED PRIVATE KEY") });
    expect(configure().output).toContain("origin certificate: privateKey is encrypted; nginx needs it unencrypted\n");
    secret([first.cert, first.key]);
    expect(configure().output).toContain('origin certificate: the secret must be a JSON object {"certificate": "<PEM>", "privateKey": "<PEM>"}\n');
    expect(installed()).toEqual(second);
  });

  it("refuses a certificate that does not cover every app domain", () => {
    const partial = makePair("partial", domains.filter((d) => d !== "www.wiki.example.com"));
    secret({ certificate: partial.cert, privateKey: partial.key });
    const result = configure();
    expect(result.status).toBe(1);
    expect(result.output).toContain(`ERROR: origin certificate: the certificate of secret ${SECRET_ID} does not cover www.wiki.example.com (app wiki);`);
    expect(installed()).toEqual(second);
  });

  it("never shows the key, even with bash -x from the first line", () => {
    const third = makePair("third", domains);
    secret({ certificate: third.cert, privateKey: third.key });
    const result = configure(true);
    expect(result.status).toBe(0);
    // xtrace was on until the function turned it off.
    expect(result.output).toContain("+ install_origin_certificate\n");
    expect(result.output).toContain("origin certificate installed");
    expect(installed()).toEqual(third);
    expect(keyLines(third.key).length).toBeGreaterThan(0);
    for (const line of keyLines(third.key)) expect(result.output).not.toContain(line);
    expect(result.output).not.toContain("PRIVATE KEY");
  });
});

// ---------------------------------------------------------------- real nginx

interface Answer {
  status?: number;
  body?: string;
  location?: string;
  error?: string;
}

function request(module: typeof http | typeof https, options: https.RequestOptions): Promise<Answer> {
  return new Promise((resolve) => {
    const req = module.request({ host: "127.0.0.1", agent: false, ...options }, (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body, location: response.headers.location }));
    });
    req.on("error", (error) => resolve({ error: error.message }));
    // A hang guard above nginx's proxy_read_timeout (60 s): whatever nginx answers is what is seen.
    req.setTimeout(120_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

describe("real nginx with the rendered files behind Cloudflare's proxy", () => {
  const host = "shop.example.com";
  const socketDir = () => path.join(dir, "nginx", "run", "django-tiers");
  let pair: Pair;
  let upstream: http.Server;
  const seen: Array<Record<string, string | undefined>> = [];
  const nginxes: ChildProcess[] = [];
  const logs: string[] = [];

  /**
   * The rendered nginx files of a box whose realIpFrom is `realIpFrom`, under
   * their own root: ports 80 and 443 → free loopback ports, the origin
   * certificate and key in place, the sites enabled. Returns nginx's arguments.
   */
  async function layNginx(label: string, realIpFrom: string[]): Promise<{ root: string; args: string[]; httpPort: number; tlsPort: number }> {
    const root = path.join(dir, "nginx", label);
    const [httpPort, tlsPort] = [await freePort(), await freePort()];
    const spec = originSpec({ apps: 1, taskWorker: "none" }, realIpFrom);
    for (const file of deliveredFiles(spec).filter((f) => f.path.startsWith("/etc/nginx/"))) {
      writeUnder(root, file.path, rebase(file.content, root)
        .replace(/^user www-data;\n/m, process.getuid?.() === 0 ? "user root;\n" : "")
        .replace(/listen 80( default_server)?;/g, `listen 127.0.0.1:${httpPort}$1;`)
        .replace(/listen 443 ssl( http2| default_server);/g, `listen 127.0.0.1:${tlsPort} ssl$1;`)
        .split("unix:/run/django-tiers/").join(`unix:${socketDir()}/`));
    }
    fs.copyFileSync("/etc/nginx/mime.types", path.join(root, "etc/nginx/mime.types"));
    for (const d of ["etc/nginx/modules-enabled", "etc/nginx/sites-enabled", "var/log/nginx", "run"]) fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.symlinkSync(path.join(root, "etc/nginx/sites-available/shop.conf"), path.join(root, "etc/nginx/sites-enabled/shop.conf"));
    writeUnder(root, ORIGIN_CERTIFICATE, pair.cert, "0644");
    writeUnder(root, ORIGIN_PRIVATE_KEY, pair.key, "0600");
    return { root, args: ["-p", `${root}/`, "-c", path.join(root, "etc/nginx/nginx.conf"), "-e", path.join(root, "var/log/nginx/error.log")], httpPort, tlsPort };
  }

  async function startNginx(label: string, realIpFrom: string[]): Promise<{ root: string; httpPort: number; tlsPort: number }> {
    const laid = await layNginx(label, realIpFrom);
    const child = spawn(tool("nginx"), [...laid.args, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (c) => logs.push(`nginx ${label}: ${c}`));
    nginxes.push(child);
    let last: Answer = {};
    await waitFor(`nginx ${label}`, async () => (last = await get(laid.tlsPort, {})).status === 200, () => `${JSON.stringify(last)}; ${logs.join("")}`);
    return laid;
  }

  const get = (port: number, headers: Record<string, string>, servername = host, urlPath = "/who") =>
    request(https, { port, path: urlPath, servername, ca: pair.cert, headers: { Host: servername, ...headers } });

  beforeAll(async () => {
    pair = makePair("nginx", [host, `www.${host}`]);
    fs.mkdirSync(socketDir(), { recursive: true });
    // The app's gunicorn: on its unix socket, echoing what nginx tells it about the client.
    upstream = http.createServer((req, res) => {
      const headers = { "x-forwarded-for": req.headers["x-forwarded-for"] as string | undefined, "x-real-ip": req.headers["x-real-ip"] as string | undefined,
        "x-forwarded-proto": req.headers["x-forwarded-proto"] as string | undefined, host: req.headers.host, path: req.url };
      seen.push(headers);
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(headers));
    });
    await new Promise<void>((resolve) => upstream.listen(path.join(socketDir(), "shop.sock"), resolve));
  });

  afterAll(async () => {
    await Promise.all(nginxes.map((child) => child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        })));
    await new Promise((resolve) => upstream.close(resolve));
  });

  it("passes nginx -t with the site and the origin certificate files (realip built in)", async () => {
    expect(run(tool("nginx"), ["-V"]).stderr).toContain("--with-http_realip_module");
    const { args } = await layNginx("syntax", CLOUDFLARE_RANGES);
    const result = run(tool("nginx"), ["-t", ...args]);
    expect(result.stderr).toContain("test is successful");
    expect(result.status).toBe(0);
  });

  it("believes CF-Connecting-IP from a connection in realIpFrom: Django and the access log see the visitor", async () => {
    const { root, tlsPort, httpPort } = await startNginx("trusted", [...CLOUDFLARE_RANGES, "127.0.0.1/32"]);
    const answer = await get(tlsPort, { "CF-Connecting-IP": "203.0.113.9", "X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "http" });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body!)).toEqual({ "x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.9", "x-forwarded-proto": "https", host, path: "/who" });
    // nginx logs a request after it has answered it: wait for the line, not only for the answer.
    const accessLog = path.join(root, "var/log/nginx/shop.access.log");
    const visitorLine = /^203\.0\.113\.9 - - \[.*\] "GET \/who HTTP\/1\.1" 200 /m;
    await waitFor("the visitor's line in the access log", () => visitorLine.test(readIfAny(accessLog)), () => readIfAny(accessLog));
    // Without the header, the connection's own address.
    expect(JSON.parse((await get(tlsPort, {})).body!)).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1" });

    // Port 80 redirects to https (any path, no ACME challenge answered).
    for (const urlPath of ["/who?x=1", "/.well-known/acme-challenge/token"]) {
      const redirect = await request(http, { port: httpPort, path: urlPath, headers: { Host: host } });
      expect(`${redirect.status} ${redirect.location}`).toBe(`301 https://${host}${urlPath}`);
    }
    // A name no app serves: no certificate shown, the handshake refused.
    const unknown = await get(tlsPort, {}, "other.example.com");
    expect(unknown.error).toMatch(/alert|handshake|unrecognized name|socket hang up|ECONNRESET/i);
    // The served certificate is the origin one.
    const served = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: "127.0.0.1", port: tlsPort, path: "/who", servername: host, ca: pair.cert, agent: false, headers: { Host: host } }, (res) => {
        resolve((res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      });
      req.on("error", reject);
      req.end();
    });
    const expected = run(tool("openssl"), ["x509", "-noout", "-fingerprint", "-sha256"], { input: pair.cert }).stdout.trim().split("=")[1];
    expect(served).toBe(expected);
  });

  it("ignores CF-Connecting-IP from a connection outside realIpFrom (Cloudflare's ranges only)", async () => {
    const { root, tlsPort } = await startNginx("untrusted", CLOUDFLARE_RANGES);
    // Its own User-Agent finds this request's line in the access log (written after the answer: waited for).
    const answer = await get(tlsPort, { "CF-Connecting-IP": "203.0.113.9", "User-Agent": "untrusted-probe" });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body!)).toEqual({ "x-forwarded-for": "127.0.0.1", "x-real-ip": "127.0.0.1", "x-forwarded-proto": "https", host, path: "/who" });
    const logPath = path.join(root, "var/log/nginx/shop.access.log");
    await waitFor("the request's line in the access log", () => readIfAny(logPath).includes("untrusted-probe"), () => readIfAny(logPath));
    const accessLog = readIfAny(logPath);
    expect(accessLog.split("\n").filter((l) => l.includes("untrusted-probe"))).toEqual([expect.stringMatching(/^127\.0\.0\.1 - - /)]);
    expect(accessLog).not.toContain("203.0.113.9");
  });
});
