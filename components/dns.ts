import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform } from "./component";

export interface DnsRecordsArgs {
  /** Cloudflare zone id of the domains. */
  zoneId: pulumi.Input<string>;
  /** Host names to point at the target. */
  hosts: string[];
  /** Where they point: an IPv4 address (A record) or a host name (CNAME). */
  target: pulumi.Input<string>;
  type: "A" | "CNAME";
  /**
   * Proxy through Cloudflare (orange cloud). Off for the single box:
   * Let's Encrypt certificates on the box serve the domain directly.
   * @default false
   */
  proxied?: boolean;
  /**
   * Record TTL in seconds (1 = automatic, the only value for proxied records).
   * @default 300
   */
  ttl?: number;
  transform?: { record?: Transform<cloudflare.DnsRecordArgs> };
}

/** Cloudflare DNS records, one per host, named by host so adding one never touches another. */
export class DnsRecords extends Component {
  public readonly nodes: { records: Record<string, cloudflare.DnsRecord> };

  constructor(name: string, args: DnsRecordsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("DnsRecords", name, opts);
    const records: Record<string, cloudflare.DnsRecord> = {};
    for (const host of args.hosts) {
      records[host] = this.child(cloudflare.DnsRecord, host, {
        zoneId: args.zoneId,
        name: host,
        type: args.type,
        content: args.target,
        proxied: args.proxied ?? false,
        ttl: args.proxied ? 1 : args.ttl ?? 300,
        comment: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()}`,
      }, args.transform?.record);
    }
    this.nodes = { records };
    this.registerOutputs({});
  }
}
