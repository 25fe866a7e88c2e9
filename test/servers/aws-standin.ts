/**
 * The stand-in for the two AWS endpoints an app server of the fleet talks to
 * once phase fetch is done: the instance metadata service (IMDSv2, the
 * instance role's temporary credentials) and S3 (collectstatic uploads the
 * static files, django-storages signs their URLs). A FIXTURE, not rendered
 * by django-tiers, run on a harness host (the db host) by the machine's
 * rules for hosts: nothing leaves the namespaces.
 *
 *  - IMDS at 169.254.169.254:80 (an address of the serving host; app hosts
 *    get an on-link route to it): a session token must be PUT first and
 *    sent with every GET (`httpTokens: "required"`); it hands out one role's
 *    temporary credentials, as an instance profile does.
 *  - S3 at `<bucket>.s3.<region>.amazonaws.com:443` (virtual-hosted style,
 *    the app hosts' /etc/hosts point those names at the serving host), TLS
 *    with a certificate of a test CA the app hosts trust: HEAD, GET and PUT
 *    of objects, in memory. A request not signed with the role's access key
 *    is refused (403), so a 200 proves the instance-role credentials were used.
 *
 * Every S3 request is logged (`METHOD bucket key status`) to LOG on the
 * serving host, which is how a test sees what the app stored.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Host, mustRun, RUN_ROOT } from "./harness";

export const IMDS_ADDRESS = "169.254.169.254";
const SCRIPT = "/opt/django-tiers-test/aws_standin.py";
const LOG = "/var/log/aws-standin.log";
const TLS_DIR = "/opt/django-tiers-test/tls";

const STANDIN_PY = String.raw`"""IMDSv2 and S3 stand-in for test/servers (see aws-standin.ts)."""
import email.utils
import hashlib
import http.server
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse

imds_address, s3_address, s3_suffix, role, access_key, secret_key, cert, key, log_path = sys.argv[1:10]
tokens = set()
objects = {}
lock = threading.Lock()
log = open(log_path, "a", buffering=1)


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None, length=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Imds(Quiet):
    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400)
        token = secrets.token_urlsafe(32)
        tokens.add(token)
        self.reply(200, token.encode(), {"Content-Type": "text/plain"})

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") not in tokens:
            return self.reply(401)
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, role.encode(), {"Content-Type": "text/plain"})
        if self.path == base + role:
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
            body = json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": access_key, "SecretAccessKey": secret_key,
                               "Token": "stand-in-session-token", "Expiration": expires,
                               "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            return self.reply(200, body.encode(), {"Content-Type": "application/json"})
        self.reply(404)


class S3(Quiet):
    def target(self):
        host = self.headers.get("Host", "").split(":")[0]
        url = urllib.parse.urlsplit(self.path)
        name = urllib.parse.unquote(url.path.lstrip("/"))
        if host.endswith("." + s3_suffix):
            return host[: -len(s3_suffix) - 1], name
        bucket, _, name = name.partition("/")
        return bucket, name

    def signed(self):
        return ("Credential=%s/" % access_key) in self.headers.get("Authorization", "")

    def error(self, status, code):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code></Error>" % code).encode()
        self.reply(status, body, {"Content-Type": "application/xml"})

    def handle_object(self):
        bucket, name = self.target()
        if not self.signed():
            status = 403
            self.error(403, "AccessDenied")
        elif self.command == "PUT":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            etag = '"%s"' % hashlib.md5(body).hexdigest()
            with lock:
                objects[(bucket, name)] = (body, etag, time.time(), self.headers.get("Content-Type", "binary/octet-stream"))
            status = 200
            self.reply(200, b"", {"ETag": etag})
        else:
            with lock:
                found = objects.get((bucket, name))
            if found is None:
                status = 404
                if self.command == "HEAD":
                    self.reply(404)
                else:
                    self.error(404, "NoSuchKey")
            else:
                body, etag, mtime, content_type = found
                status = 200
                self.reply(200, body, {"ETag": etag, "Content-Type": content_type,
                                       "Last-Modified": email.utils.formatdate(mtime, usegmt=True)}, length=len(body))
        log.write("%s %s %s %d\n" % (self.command, bucket, name, status))

    do_GET = do_HEAD = do_PUT = handle_object


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()


http.server.ThreadingHTTPServer.daemon_threads = True
serve(http.server.ThreadingHTTPServer((imds_address, 80), Imds))
s3 = http.server.ThreadingHTTPServer((s3_address, 443), S3)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
s3.socket = context.wrap_socket(s3.socket, server_side=True)
serve(s3)
log.write("ready\n")
threading.Event().wait()
`;

export class AwsStandIn {
  /** The instance role's name, as IMDS reports it. */
  readonly role = "django-tiers-servers-test-app";
  /** The access key id of the temporary credentials (S3 refuses any other). */
  readonly accessKeyId = `ASIA${crypto.randomBytes(8).toString("hex").toUpperCase()}`;
  /** The test CA's certificate (PEM) that app hosts add to their trust store. */
  readonly caPem: string;
  private scratch: string;

  constructor(readonly host: Host, readonly region: string, readonly buckets: string[]) {
    this.scratch = path.join(RUN_ROOT, `client-${host.lan.runId}-${host.name}-aws`);
    fs.mkdirSync(this.scratch, { recursive: true });
    this.caPem = this.makeCertificates();
  }

  get s3Suffix(): string {
    return `s3.${this.region}.amazonaws.com`;
  }

  /** A test CA, and a certificate for the S3 endpoint names signed by it. */
  private makeCertificates(): string {
    const p = (name: string) => path.join(this.scratch, name);
    mustRun(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=django-tiers test AWS CA",
      "-keyout", p("ca.key"), "-out", p("ca.pem")]);
    mustRun(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${this.s3Suffix}`, "-keyout", p("s3.key"), "-out", p("s3.csr")]);
    fs.writeFileSync(p("ext.cnf"), `subjectAltName=DNS:${this.s3Suffix},DNS:*.${this.s3Suffix}\n`);
    mustRun(["openssl", "x509", "-req", "-in", p("s3.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-CAcreateserial",
      "-days", "2", "-extfile", p("ext.cnf"), "-out", p("s3.crt")]);
    return fs.readFileSync(p("ca.pem"), "utf8");
  }

  /** Starts both endpoints on the serving host (IMDS's address added to its eth0). */
  start(): void {
    const h = this.host;
    h.ip("addr", "add", `${IMDS_ADDRESS}/32`, "dev", "eth0");
    h.write(SCRIPT, STANDIN_PY, "0644");
    h.write(`${TLS_DIR}/s3.crt`, fs.readFileSync(path.join(this.scratch, "s3.crt")), "0644");
    h.write(`${TLS_DIR}/s3.key`, fs.readFileSync(path.join(this.scratch, "s3.key")), "0600");
    const secretKey = crypto.randomBytes(30).toString("base64url");
    h.mustSh(`cd / && nohup /usr/bin/python3 ${SCRIPT} ${IMDS_ADDRESS} ${h.address} ${this.s3Suffix} ${this.role} ${this.accessKeyId} ` +
      `${secretKey} ${TLS_DIR}/s3.crt ${TLS_DIR}/s3.key ${LOG} >/var/log/aws-standin.out 2>&1 </dev/null &`);
    for (let i = 0; i < 40 && !this.log().includes("ready"); i++) mustRun(["sleep", "0.25"]);
    if (!this.log().includes("ready")) throw new Error(`[${h.name}] the AWS stand-in did not start:\n${h.read("/var/log/aws-standin.out")}`);
  }

  /**
   * What an app host needs to reach the stand-in as it would reach AWS: a
   * route to IMDS's link-local address, the S3 names resolving to the
   * serving host, and the test CA in its system trust store (a real S3
   * certificate chains to a CA Debian's ca-certificates trusts).
   */
  connect(client: Host): void {
    client.ip("route", "add", `${IMDS_ADDRESS}/32`, "dev", "eth0");
    const names = [this.s3Suffix, ...this.buckets.map((b) => `${b}.${this.s3Suffix}`)];
    fs.appendFileSync(client.file("/etc/hosts"), `${this.host.address} ${names.join(" ")}\n`);
    client.write("/usr/local/share/ca-certificates/django-tiers-test-aws-ca.crt", this.caPem, "0644");
    client.mustExec(["update-ca-certificates"]);
  }

  /** The S3 request log: one `METHOD bucket key status` line per request. */
  log(): string {
    const file = this.host.file(LOG);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }

  dispose(): void {
    fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}
