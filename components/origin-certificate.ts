import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { Component, Transform, stackTags } from "./component";

/** Days Cloudflare's Origin CA makes a certificate valid for: 15 years, the longest it issues. */
export const ORIGIN_CERTIFICATE_VALIDITY_DAYS = 5475;

export interface OriginCertificateArgs {
  /**
   * Host names the certificate covers: every domain the box serves behind
   * Cloudflare's proxy. Each must be in a zone of the Cloudflare account
   * whose API token the stack uses. A change issues a new certificate for
   * the new list (a new request signed with the same key) and writes it to
   * the same secret: the secret, its ARN and the key stay.
   * @example ["shop.example.com", "www.shop.example.com"]
   */
  hostnames: string[];
  /** KMS key that encrypts the secret (the stack key, which the box's role may use to decrypt). */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Days a deleted secret can still be restored.
   * @default 30
   */
  recoveryWindowInDays?: number;
  /**
   * Customise a child before it is created: the key, the certificate
   * request, the Origin CA certificate, the secret. Caution: a changed key
   * algorithm replaces the key, and with it the request and the certificate.
   */
  transform?: {
    key?: Transform<tls.PrivateKeyArgs>;
    request?: Transform<tls.CertRequestArgs>;
    certificate?: Transform<cloudflare.OriginCaCertificateArgs>;
    secret?: Transform<aws.secretsmanager.SecretArgs>;
  };
}

const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Refuses bad input before any child is declared, naming the arg and what it allows. */
function validate(name: string, args: OriginCertificateArgs): void {
  const bad = (msg: string) => new Error(`OriginCertificate ${name}: ${msg}`);
  if (!Array.isArray(args.hostnames) || args.hostnames.length === 0) {
    throw bad("hostnames must list at least one host name (the domains Cloudflare proxies to the origin)");
  }
  for (const h of args.hostnames) {
    if (typeof h !== "string" || !HOST.test(h)) throw bad(`hostnames: ${JSON.stringify(h)} is not a lower-case host name like "shop.example.com" (or "*.example.com")`);
  }
  const dup = args.hostnames.find((h, i) => args.hostnames.indexOf(h) !== i);
  if (dup) throw bad(`hostnames lists "${dup}" twice`);
  const days = args.recoveryWindowInDays ?? 30;
  if (!Number.isInteger(days) || (days !== 0 && (days < 7 || days > 30))) {
    throw bad(`recoveryWindowInDays must be 0 (delete at once) or a whole number of days from 7 to 30 (got ${days})`);
  }
}

/**
 * The origin's TLS certificate behind Cloudflare's proxy, from Cloudflare's
 * Origin CA: an ECDSA P-256 key and a certificate request made by Pulumi's
 * tls provider, a certificate Cloudflare signs for `hostnames` (valid 15
 * years, trusted by Cloudflare's edge only, which is all that connects to an
 * origin behind the proxy), and one Secrets Manager secret holding
 * `{"certificate": "<PEM>", "privateKey": "<PEM>"}`, encrypted with the
 * stack key. The server reads the secret at boot through its instance role
 * (`secretArn`); the key is a Pulumi secret everywhere it goes (the request
 * that it signs, the secret's value) and never in an output, user data or a
 * log. No ACME: the origin needs no challenge to get it, so it works while
 * the domains already point at Cloudflare.
 *
 * Cost: Origin CA certificates are free; the secret is $0.40/month.
 */
export class OriginCertificate extends Component {
  /** ARN of the secret with the certificate and key, once its value is written. */
  public readonly secretArn: pulumi.Output<string>;
  /** When the certificate expires (RFC 3339). */
  public readonly expiresOn: pulumi.Output<string>;
  public readonly nodes: {
    key: tls.PrivateKey;
    request: tls.CertRequest;
    certificate: cloudflare.OriginCaCertificate;
    secret: aws.secretsmanager.Secret;
    version: aws.secretsmanager.SecretVersion;
  };

  constructor(name: string, args: OriginCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("OriginCertificate", name, opts);
    validate(name, args);
    const t = args.transform ?? {};
    // Generated where Pulumi runs and kept (encrypted) in the stack's state; only a new key name replaces it.
    const key = this.child(tls.PrivateKey, "key", { algorithm: "ECDSA", ecdsaCurve: "P256" }, t.key);
    const privateKeyPem = pulumi.secret(key.privateKeyPem);
    // A hostname change makes a new request and a new certificate, signed with the same key; Pulumi
    // creates the replacement (and writes it to the secret) before it revokes the old one.
    const request = this.child(tls.CertRequest, "request", {
      privateKeyPem,
      dnsNames: args.hostnames,
      subject: { commonName: args.hostnames[0] },
    }, t.request);
    const certificate = this.child(cloudflare.OriginCaCertificate, "certificate", {
      csr: request.certRequestPem,
      hostnames: args.hostnames,
      requestType: "origin-ecc",
      requestedValidity: ORIGIN_CERTIFICATE_VALIDITY_DAYS,
    }, t.certificate);
    // Named by role, not by host names: a hostname change rewrites its value, never replaces it or changes its ARN.
    const secret = this.child(aws.secretsmanager.Secret, "secret", {
      description: `Cloudflare Origin CA certificate and key of the origin (${pulumi.getProject()}/${pulumi.getStack()})`,
      kmsKeyId: args.kmsKeyArn,
      recoveryWindowInDays: args.recoveryWindowInDays ?? 30,
      tags: stackTags({ "django-tiers:purpose": "origin-certificate" }),
    }, t.secret);
    const version = this.child(aws.secretsmanager.SecretVersion, "value", {
      secretId: secret.id,
      secretString: pulumi.secret(
        pulumi.all([certificate.certificate, privateKeyPem]).apply(([pem, keyPem]) => JSON.stringify({ certificate: pem, privateKey: keyPem })),
      ),
    });
    // Resolves once the value exists: a server given this ARN never reads an empty secret.
    this.secretArn = pulumi.all([secret.arn, version.id]).apply(([arn]) => arn);
    this.expiresOn = certificate.expiresOn;
    this.nodes = { key, request, certificate, secret, version };
    this.registerOutputs({ secretArn: this.secretArn, expiresOn: this.expiresOn });
  }
}
