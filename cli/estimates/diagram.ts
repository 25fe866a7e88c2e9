/**
 * A Mermaid flowchart of a planned stack, derived from the plan (never drawn
 * by hand): components are subgraphs, the resources a reader cares about
 * are nodes, and the edges are traffic (thick), data (plain) and
 * monitoring/backup (dotted), read off the "waits for" graph (graph.ts).
 *
 * Resources that are not drawn (security groups, IAM, bucket settings, …)
 * lend their edges to the drawn resource of their component, so the box's
 * role policy becomes "the box reads the secret". Edges into the VPC and
 * the KMS key are left out: every server sits in the VPC and every store is
 * encrypted with the key, and drawing that would hide the rest.
 */
import type { PlannedResource } from "../../policies/types";
import { asBool, asNumber, asString } from "../../policies/values";
import { planGraph } from "./graph";

type Style = "traffic" | "data" | "watch";

/** Drawn resource types, in the order that picks a component's main resource, with their labels. */
const DRAWN: [string, (r: PlannedResource) => string][] = [
  ["aws:cloudfront/distribution:Distribution", () => "CloudFront"],
  ["aws:lb/loadBalancer:LoadBalancer", (r) => (asString(r.inputs.loadBalancerType) === "network" ? "Network Load Balancer" : "Application Load Balancer")],
  ["aws:alb/loadBalancer:LoadBalancer", () => "Application Load Balancer"],
  ["aws:autoscaling/group:Group", (r) => `Auto Scaling group ${asNumber(r.inputs.minSize) ?? "?"}–${asNumber(r.inputs.maxSize) ?? "?"}`],
  ["aws:ec2/instance:Instance", (r) => `EC2 ${asString(r.inputs.instanceType) ?? ""}`.trim()],
  ["aws:rds/instance:Instance", (r) => `RDS ${asString(r.inputs.engine) ?? ""} ${asString(r.inputs.instanceClass) ?? ""}${asBool(r.inputs.multiAz) ? " Multi-AZ" : ""}`],
  ["aws:elasticache/replicationGroup:ReplicationGroup", (r) => `ElastiCache ${asString(r.inputs.engine) ?? "redis"} ${asString(r.inputs.nodeType) ?? ""}`],
  ["aws:sqs/queue:Queue", () => "SQS queue"],
  ["aws:ec2/vpc:Vpc", (r) => `VPC ${asString(r.inputs.cidrBlock) ?? ""}`.trim()],
  ["aws:ec2/natGateway:NatGateway", () => "NAT gateway"],
  ["aws:ec2/eip:Eip", () => "Elastic IP"],
  ["aws:lb/targetGroup:TargetGroup", () => "target group"],
  ["aws:alb/targetGroup:TargetGroup", () => "target group"],
  ["aws:s3/bucket:Bucket", () => "S3 bucket"],
  ["aws:ssm/parameter:Parameter", () => "SSM parameter"],
  ["aws:s3/bucketObjectv2:BucketObjectv2", () => "S3 object"],
  ["aws:secretsmanager/secret:Secret", () => "Secrets Manager secret"],
  ["aws:kms/key:Key", () => "KMS key"],
  ["aws:sns/topic:Topic", () => "SNS topic"],
  ["aws:backup/vault:Vault", () => "AWS Backup vault"],
  ["aws:cloudwatch/dashboard:Dashboard", () => "CloudWatch dashboard"],
  ["aws:cloudwatch/logGroup:LogGroup", () => "CloudWatch log group"],
  ["aws:cloudwatch/metricAlarm:MetricAlarm", () => "CloudWatch alarm"],
  ["aws:wafv2/webAcl:WebAcl", () => "WAF web ACL"],
  ["cloudflare:index/dnsRecord:DnsRecord", (r) => `Cloudflare DNS ${asString(r.inputs.type) ?? ""}${asBool(r.inputs.proxied) ? " (proxied)" : ""}`],
];
const DRAWN_TYPES = DRAWN.map(([t]) => t);
const labelOf = (r: PlannedResource) => DRAWN.find(([t]) => t === r.type)![1](r).replace(/\s+/g, " ").trim();

/** Edges left out: everything would point at them. */
const UNDRAWN_TARGETS = new Set(["aws:ec2/vpc:Vpc", "aws:kms/key:Key"]);
/** Types several of which in one component are drawn as one node. */
const GROUPED = new Set(["aws:cloudwatch/metricAlarm:MetricAlarm", "cloudflare:index/dnsRecord:DnsRecord", "aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"]);
/** Types a user reaches first, in order of preference. */
const ENTRY_TYPES = [
  ["cloudflare:index/dnsRecord:DnsRecord"],
  ["aws:cloudfront/distribution:Distribution"],
  ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"],
  ["aws:ec2/eip:Eip"],
];

const short = (type: string) => type.split(":").pop()!;
/** Types on the path of a web request. */
const TRAFFIC = new Set([
  "aws:ec2/eip:Eip",
  "aws:ec2/instance:Instance",
  "aws:lb/loadBalancer:LoadBalancer",
  "aws:alb/loadBalancer:LoadBalancer",
  "aws:lb/targetGroup:TargetGroup",
  "aws:alb/targetGroup:TargetGroup",
  "aws:autoscaling/group:Group",
  "aws:cloudfront/distribution:Distribution",
]);

/** How an edge from a `from` node to a `to` node is labelled and drawn; `reverse` draws it against the dependency. */
function edgeKind(from: string, to: string, toNames: string[] = []): { label: string; style: Style; reverse?: boolean } | undefined {
  const [f, t] = [short(from), short(to)];
  // CloudFront: its origins carry traffic; its log bucket and web ACL do not; records point at it, not from it.
  if (f === "Distribution" && t === "Bucket" && toNames.every((n) => /logs/.test(n))) return { label: "access logs", style: "watch" };
  if (f === "Distribution" && t === "WebAcl") return { label: "filtered by", style: "watch" };
  if (f === "Distribution" && t === "DnsRecord") return undefined;
  // A fleet's tie to the load balancer (its security group admits the balancer's) is drawn through the target groups.
  if (f === "Group" && t === "LoadBalancer") return undefined;
  // What an object or parameter holds names other resources; it does not use them.
  if ((f === "BucketObjectv2" || f === "Parameter") && t !== "Bucket" && t !== "BucketObjectv2") return undefined;
  if (f === "Parameter") return { label: "names", style: "data" };
  if (f === "MetricAlarm") return { label: t === "Topic" ? "notifies" : "watches", style: "watch" };
  if (f === "Dashboard") return { label: "shows", style: "watch" };
  if (f === "Vault") return { label: "backs up", style: "watch" };
  if (t === "LogGroup") return { label: "ships logs", style: "watch" };
  if (t === "Topic") return { label: "alerts", style: "watch" };
  if (f === "Group" && t === "TargetGroup") return { label: "registers", style: "traffic", reverse: true };
  if (f === "DnsRecord") return { label: "resolves to", style: "traffic" };
  if (f === "Distribution") return { label: "origin", style: "traffic" };
  if (TRAFFIC.has(from) && TRAFFIC.has(to)) return { label: "", style: "traffic" };
  if (f === "BucketObjectv2" && t === "Bucket") return { label: "stored in", style: "data" };
  if (f === "Bucket" && t === "Bucket") return { label: "access logs", style: "watch" };
  if (t === "BucketObjectv2") return { label: "names", style: "data" };
  if (t === "Parameter") return { label: "reads", style: "data" };
  if (t === "Secret") return { label: "reads", style: "data" };
  if (t === "Bucket") return { label: "reads/writes", style: "data" };
  if (to === "aws:rds/instance:Instance") return { label: "SQL", style: "data" };
  if (t === "ReplicationGroup") return { label: "Redis", style: "data" };
  if (t === "Queue") return { label: "tasks", style: "data" };
  return { label: "", style: "data" };
}

const ARROWS: Record<Style, string> = { traffic: "==>", data: "-->", watch: "-.->" };

/** A Mermaid-safe id. */
const mid = (s: string) => s.replace(/[^A-Za-z0-9_]/g, "_");
/** A Mermaid-safe quoted label. */
const text = (s: string) => `"${s.replace(/"/g, "#quot;")}"`;

export interface DiagramOptions {
  /** Mermaid flow direction. @default "LR" */
  direction?: "LR" | "TB";
}

/** The Mermaid source (without the ``` fence) of the planned stack. */
export function renderMermaid(resources: PlannedResource[], opts: DiagramOptions = {}): string {
  const graph = planGraph(resources);
  const components = graph.nodes.filter((r) => r.isComponent);
  // ACM's validation records (names start with "_") prove a domain; they carry no traffic.
  const validationRecord = (r: PlannedResource) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && (asString(r.inputs.name) ?? "").startsWith("_");
  const drawn = graph.nodes.filter((r) => !r.isComponent && DRAWN_TYPES.includes(r.type) && !validationRecord(r));

  // Drawn node per resource: grouped types share one node per component and type.
  const nodeOf = new Map<string, string>();
  const nodes = new Map<string, { parent: string; label: string; names: string[]; type: string }>();
  for (const r of drawn) {
    const id = GROUPED.has(r.type) ? mid(`${r.parent.split("::").pop()}_${short(r.type)}`) : mid(r.name);
    nodeOf.set(r.urn, id);
    const n = nodes.get(id) ?? { parent: r.parent, label: labelOf(r), names: [], type: r.type };
    n.names.push(r.type === "cloudflare:index/dnsRecord:DnsRecord" ? asString(r.inputs.name) ?? r.name : r.name);
    nodes.set(id, n);
  }

  // An undrawn resource lends its edges to its component's main drawn resource (or an ancestor's).
  const mainOf = new Map<string, string | undefined>();
  const mainIn = (componentUrn: string): string | undefined => {
    if (mainOf.has(componentUrn)) return mainOf.get(componentUrn);
    const inside = drawn.filter((r) => r.parent === componentUrn).sort((a, b) => DRAWN_TYPES.indexOf(a.type) - DRAWN_TYPES.indexOf(b.type));
    const parent = graph.byUrn.get(componentUrn)?.parent;
    const main = inside.length ? nodeOf.get(inside[0].urn) : parent && graph.byUrn.has(parent) ? mainIn(parent) : undefined;
    mainOf.set(componentUrn, main);
    return main;
  };
  const repOf = (r: PlannedResource): string | undefined => (r.isComponent ? undefined : nodeOf.get(r.urn) ?? mainIn(r.parent));

  // Edges between drawn resources first; then the lent ones, unless they only reverse a drawn one
  // (the box's rollout waits for its Elastic IP, but traffic goes from the address to the box).
  const edges = new Map<string, { from: string; to: string; label: string; style: Style }>();
  for (const lent of [false, true]) {
    for (const r of graph.nodes) {
      const from = repOf(r);
      if (!from || nodeOf.has(r.urn) === lent) continue;
      for (const e of graph.waitsFor.get(r.urn) ?? []) {
        const target = graph.byUrn.get(e.to)!;
        const to = target.isComponent ? undefined : repOf(target);
        if (!to || to === from || UNDRAWN_TARGETS.has(nodes.get(to)!.type)) continue;
        const kind = edgeKind(nodes.get(from)!.type, nodes.get(to)!.type, nodes.get(to)!.names);
        if (!kind) continue;
        const [a, b] = kind.reverse ? [to, from] : [from, to];
        if (lent && edges.has(`${b}>${a}`)) continue;
        edges.set(`${a}>${b}`, { from: a, to: b, label: kind.label, style: kind.style });
      }
    }
  }

  const lines = [`flowchart ${opts.direction ?? "LR"}`];
  const entry = ENTRY_TYPES.map((types) => [...nodes].filter(([, n]) => types.includes(n.type)).map(([id]) => id)).find((ids) => ids.length > 0) ?? [];
  if (entry.length) lines.push(`  users((${text("Users")}))`);

  const nodeLine = (id: string, indent: string) => {
    const n = nodes.get(id)!;
    const names = n.names.sort();
    const label = n.names.length > 1 && GROUPED.has(n.type) && !n.type.startsWith("cloudflare") ? `${n.names.length} × ${n.label}` : n.label;
    const shape = ["aws:s3/bucket:Bucket", "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup"].includes(n.type) ? ["[(", ")]"] : ["[", "]"];
    return `${indent}${id}${shape[0]}${text(`${label}<br/><small>${names.join(", ")}</small>`)}${shape[1]}`;
  };
  const hasDrawn = (urn: string): boolean => drawn.some((r) => r.parent === urn) || components.some((c) => c.parent === urn && hasDrawn(c.urn));
  const emit = (parentUrn: string, indent: string) => {
    const here = [...nodes].filter(([, n]) => n.parent === parentUrn).map(([id]) => id).sort();
    for (const id of here) lines.push(nodeLine(id, indent));
    for (const c of components.filter((x) => x.parent === parentUrn && hasDrawn(x.urn)).sort((a, b) => a.name.localeCompare(b.name))) {
      lines.push(`${indent}subgraph ${mid(`c_${c.name}`)}[${text(`${short(c.type)} ${c.name}`)}]`);
      emit(c.urn, `${indent}  `);
      lines.push(`${indent}end`);
    }
  };
  // Top level: resources and components whose parent is the stack (or nothing the plan holds).
  const topUrns = new Set(graph.nodes.filter((r) => !graph.byUrn.has(r.parent)).map((r) => r.parent));
  for (const top of [...topUrns].sort()) emit(top, "  ");

  for (const id of entry.sort()) lines.push(`  users ${ARROWS.traffic}|${text("HTTP(S)")}| ${id}`);
  for (const e of [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to))) {
    lines.push(`  ${e.from} ${ARROWS[e.style]}${e.label ? `|${text(e.label)}|` : ""} ${e.to}`);
  }
  return lines.join("\n");
}
