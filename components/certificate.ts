import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface CertificateArgs {
  /**
   * The names the certificate covers: the first is its primary name, the
   * rest are subject alternative names. Lowercase host names; a leading
   * `*.` makes a wildcard. ACM allows 10 names per certificate unless the
   * account's quota was raised.
   * Caution: any change to the list replaces the certificate. The new one is
   * issued and validated before listeners move to it and the old one is
   * deleted, so HTTPS never goes without a certificate.
   * @example ["shop.example.com", "www.shop.example.com"]
   */
  domains: string[];
  /** Cloudflare zone id of the domains: the validation records go there. */
  zoneId: pulumi.Input<string>;
  /**
   * Key algorithm. RSA 2048 is what every client accepts; ECDSA P-256 is
   * faster on the handshake but refused by some old clients.
   * Caution: changing it replaces the certificate (create-before-destroy).
   * @default "RSA_2048"
   */
  keyAlgorithm?: "RSA_2048" | "EC_prime256v1";
  /**
   * The AWS provider of the certificate and its validation, for a certificate
   * in another region: CloudFront reads certificates only from us-east-1, so
   * a stack in another region passes a us-east-1 provider here. The Cloudflare
   * records do not use it.
   * @default the stack's default AWS provider
   */
  provider?: aws.Provider;
  /**
   * The region of the certificate and its validation (the resources'
   * own `region`, @pulumi/aws 7): "us-east-1" for CloudFront's certificate,
   * without a second provider.
   * @default the provider's region
   */
  region?: string;
  /**
   * The DNS records that prove the names. ACM asks the same account for the
   * same record for a name in every region, and Cloudflare holds one CNAME
   * per name: a second certificate for the same names (CloudFront's, in
   * us-east-1, beside the load balancer's) passes `false` and waits on the
   * first one's records, given here as `waitFor`.
   * @default true
   */
  validationRecords?: boolean;
  /** Record FQDNs another Certificate of the same names created (with `validationRecords: false`). */
  waitFor?: pulumi.Input<string>[];
  transform?: {
    certificate?: Transform<aws.acm.CertificateArgs>;
    record?: Transform<cloudflare.DnsRecordArgs>;
  };
}

/** A lowercase host name, optionally a wildcard (`*.example.com`). */
const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/**
 * The name whose validation record proves `domain`: ACM asks for the same
 * record for `*.example.com` as for `example.com`, so they share one.
 */
export function validationKey(domain: string): string {
  return domain.startsWith("*.") ? domain.slice(2) : domain;
}

/** Checks the domain list; throws naming `domains` and what is allowed. */
export function validateDomains(component: string, domains: string[]): void {
  if (!Array.isArray(domains) || domains.length === 0) {
    throw new Error(`${component}: domains must list at least one host name (the certificate's primary name first)`);
  }
  for (const domain of domains) {
    if (typeof domain !== "string" || domain.length > 253 || !HOST_NAME.test(domain)) {
      throw new Error(`${component}: domains must be lowercase host names such as "shop.example.com" or "*.example.com" (got ${JSON.stringify(domain)})`);
    }
  }
  // ACM puts the primary name in the certificate's subject CN, which is limited to 64 characters.
  if (domains[0].length > 64) {
    throw new Error(`${component}: domains[0] (the primary name) must be at most 64 characters (got ${domains[0].length}); put the longer name later in the list`);
  }
  const repeated = domains.filter((d, i) => domains.indexOf(d) !== i);
  if (repeated.length) throw new Error(`${component}: domains must not repeat a name (repeated: ${[...new Set(repeated)].join(", ")})`);
}

/** Cloudflare stores names without the root dot; ACM returns them with it. Stripping it avoids a perpetual diff. */
const withoutRootDot = (s: string) => s.replace(/\.$/, "");

/**
 * An ACM certificate for the site's domains, validated through DNS records
 * in Cloudflare, so ACM renews it by itself with nobody answering an email.
 * `arn` is the ARN once validated: listeners and distributions that use it
 * wait for the certificate to be issued.
 */
export class Certificate extends Component {
  /** The certificate's ARN, resolved once ACM has validated it. */
  public readonly arn: pulumi.Output<string>;
  public readonly domains: string[];
  /** The validation records' names (give them to a second Certificate's `waitFor`). */
  public readonly validationFqdns: pulumi.Output<string>[];
  public readonly nodes: {
    certificate: aws.acm.Certificate;
    validation: aws.acm.CertificateValidation;
    /** Validation records by the domain they prove (a wildcard shares its base name's). */
    records: Record<string, cloudflare.DnsRecord>;
  };

  constructor(name: string, args: CertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Certificate", name, opts);
    validateDomains(`Certificate ${name}`, args.domains);
    const keyAlgorithm = args.keyAlgorithm ?? "RSA_2048";
    if (!["RSA_2048", "EC_prime256v1"].includes(keyAlgorithm)) {
      throw new Error(`Certificate ${name}: keyAlgorithm must be "RSA_2048" or "EC_prime256v1" (got ${JSON.stringify(keyAlgorithm)})`);
    }
    const [primary, ...alternatives] = args.domains;
    const providerOpts: pulumi.CustomResourceOptions = args.provider ? { provider: args.provider } : {};

    const certificate = this.child(aws.acm.Certificate, "certificate", {
      domainName: primary,
      subjectAlternativeNames: alternatives,
      validationMethod: "DNS",
      keyAlgorithm,
      ...(args.region ? { region: args.region } : {}),
      tags: stackTags({ Name: this.childName("certificate") }),
    }, args.transform?.certificate, {
      ...providerOpts,
      // Create before destroy (Pulumi's default, stated so nobody flips it): a changed domain list
      // issues the new certificate while listeners still hold the old one, which AWS refuses to delete.
      deleteBeforeReplace: false,
    });

    // One record per name to prove, named by that name: adding a domain adds a record and touches no other.
    const records: Record<string, cloudflare.DnsRecord> = {};
    for (const key of args.validationRecords === false ? [] : [...new Set(args.domains.map(validationKey))]) {
      const option = certificate.domainValidationOptions.apply((options) => {
        const found = (options ?? []).find((o) => validationKey(o.domainName) === key);
        if (!found) throw new Error(`Certificate ${name}: ACM returned no DNS validation record for ${key}`);
        return found;
      });
      records[key] = this.child(cloudflare.DnsRecord, `validation-${key}`, {
        zoneId: args.zoneId,
        name: option.apply((o) => withoutRootDot(o.resourceRecordName)),
        type: option.apply((o) => o.resourceRecordType),
        content: option.apply((o) => withoutRootDot(o.resourceRecordValue)),
        // ACM's resolvers must see the record itself, not Cloudflare's proxy.
        proxied: false,
        ttl: 60,
        comment: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}: ACM validation of ${key}`,
      }, args.transform?.record);
    }

    const validation = this.child(aws.acm.CertificateValidation, "validation", {
      certificateArn: certificate.arn,
      validationRecordFqdns: args.validationRecords === false ? args.waitFor : Object.values(records).map((r) => r.name),
      ...(args.region ? { region: args.region } : {}),
    }, undefined, providerOpts);

    this.arn = validation.certificateArn;
    this.validationFqdns = Object.values(records).map((r) => r.name);
    this.domains = [...args.domains];
    this.nodes = { certificate, validation, records };
    this.registerOutputs({ arn: this.arn, domains: this.domains });
  }
}
