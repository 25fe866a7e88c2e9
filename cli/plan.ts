/**
 * `npm run plan -- --stack dev [--json]`: what `pulumi up` would create for
 * a stack, with no credentials and no Pulumi CLI.
 *
 * Exit codes: 0 planned, every policy check passes (or is relaxed or not
 * applicable) and no input breaks AWS's rules; 1 a policy check fails or
 * the AWS conformance check finds an error; 2 invalid config or usage.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { formatResults } from "../policies";
import { formatConformance } from "../policies/conformance/check";
import type { PlannedResource } from "../policies/types";
import { formatCost } from "./estimates/cost";
import { formatDeployTime } from "./estimates/deploy-time";
import { renderMermaid } from "./estimates/diagram";
import { PlanReport, planStack, printable } from "./plan-stack";
import { comparePlans, formatComparison } from "./plan-compare";
import { readStackConfig } from "./stack-files";

const USAGE = "usage: npm run plan -- [--stack <name>] [--json | --diagram] [--set <key>=<value>]... [--set-secret <key>=<value>]... [--project-dir <dir>]";

/** The inputs worth a glance, per resource type; others show their first plain values. */
const KEY_INPUTS: Record<string, string[]> = {
  "aws:ec2/vpc:Vpc": ["cidrBlock"],
  "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone"],
  "aws:ec2/launchTemplate:LaunchTemplate": ["imageId", "instanceType"],
  "aws:ec2/instance:Instance": ["instanceType", "ami", "rootBlockDevice.volumeSize", "metadataOptions.httpTokens", "disableApiTermination"],
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["ipProtocol", "fromPort", "cidrIpv4", "referencedSecurityGroupId"],
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["ipProtocol", "fromPort", "cidrIpv4"],
  "aws:s3/bucketObjectv2:BucketObjectv2": ["key"],
  "aws:ssm/parameter:Parameter": ["name", "type"],
  "aws:kms/key:Key": ["enableKeyRotation"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "retentionInDays"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["metricName"],
  "aws:backup/plan:Plan": ["rules.0.schedule", "rules.0.lifecycle.deleteAfter"],
  "cloudflare:index/dnsRecord:DnsRecord": ["name", "type", "proxied"],
  "aws:secretsmanager/secret:Secret": ["recoveryWindowInDays"],
  "aws:ssm/association:Association": ["name"],
  "aws:iam/role:Role": ["description"],
  "aws:iam/rolePolicy:RolePolicy": ["role"],
  "aws:s3/bucketPolicy:BucketPolicy": ["bucket"],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["policyArn"],
};

/** Long values (policy documents, user data) are cut: the tree is for reading, --json has them whole. */
const MAX_VALUE = 72;

function lookup(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function keyInputs(r: PlannedResource): string {
  const inputs = printable(r.inputs) as Record<string, unknown>;
  const keys = KEY_INPUTS[r.type] ?? Object.keys(inputs).filter((k) => k !== "tags" && ["string", "number", "boolean"].includes(typeof inputs[k])).slice(0, 2);
  return keys
    .map((k) => [k, lookup(inputs, k)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text}`;
    })
    .join(" ");
}

export function formatTree(resources: PlannedResource[]): string[] {
  const children = new Map<string, PlannedResource[]>();
  for (const r of resources) {
    if (r.type === "pulumi:pulumi:Stack") continue;
    const parent = resources.some((p) => p.urn === r.parent && p.type !== "pulumi:pulumi:Stack") ? r.parent : "";
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (parent: string, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      const detail = keyInputs(r);
      lines.push(`${indent}${last ? "└─" : "├─"} ${r.type} ${r.name}${detail ? `  ${detail}` : ""}`);
      walk(r.urn, indent + (last ? "   " : "│  "));
    });
  };
  walk("", "");
  return lines;
}

export function formatReport(report: PlanReport): string {
  const cloud = report.resources.filter((r) => !r.isComponent && r.type !== "pulumi:pulumi:Stack");
  const components = report.resources.filter((r) => r.isComponent && r.type !== "pulumi:pulumi:Stack");
  const out: string[] = [];
  out.push(`Plan for ${report.project}/${report.stack}: tier ${report.tier}, environment ${report.environment}, region ${report.region}`);
  out.push("(offline: the stack program under Pulumi's mock engine; ids and addresses are stand-ins)");
  out.push("");
  out.push(`Resources: ${cloud.length} to create, in ${components.length} components`);
  out.push(...formatTree(report.resources));
  out.push("");
  out.push("Outputs");
  for (const [k, v] of Object.entries(report.outputs)) out.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  out.push("");
  out.push(...formatCost(report.cost));
  out.push("");
  out.push(...formatDeployTime(report.deployTime));
  out.push("");
  out.push("Notes");
  for (const n of report.notes) out.push(`  - ${n}`);
  out.push("");
  out.push("Relaxations (deliberate, by setting)");
  if (report.relaxations.length === 0) out.push("  none");
  for (const r of report.relaxations) out.push(`  - ${r.check} (setting ${r.setting}): ${r.reason}`);
  out.push("");
  const s = report.summary as Record<string, number>;
  out.push(`Policy checks: ${Object.entries(s).map(([k, v]) => `${v} ${k}`).join(", ")}`);
  out.push(formatResults(report.checks));
  out.push("");
  out.push(...formatConformance(report.conformance));
  return out.join("\n");
}

interface Args {
  stack: string;
  json: boolean;
  /** Print the stack's Mermaid diagram instead of the report. */
  diagram: boolean;
  projectDir: string;
  /** `--set key=value`: what-if overrides of the stack's config (key without namespace = the project's). */
  sets: Array<[string, string]>;
  /**
   * `--set-secret key=value`: a what-if override held as a secret, as
   * `pulumi config set --secret` holds it (e.g. an appSecret_ value). The
   * plan never prints it; an encrypted value in the stack file needs none
   * (the plan gives it a stand-in).
   */
  secretSets: Array<[string, string]>;
  /** `--compare key=value`: also plan with these overrides and print what the change creates, replaces, deletes. */
  compares: Array<[string, string]>;
  /** With --json: secrets as short digests of their (offline, stand-in) values, so plans can be compared. */
  secretDigests: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { stack: "dev", json: false, diagram: false, projectDir: path.resolve(__dirname, ".."), sets: [], secretSets: [], compares: [], secretDigests: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") args.json = true;
    else if (a === "--secret-digests") args.secretDigests = true;
    else if (a === "--diagram") args.diagram = true;
    else if (a === "--stack" && argv[i + 1]) args.stack = argv[++i];
    else if (a === "--project-dir" && argv[i + 1]) args.projectDir = path.resolve(argv[++i]);
    else if ((a === "--set" || a === "--set-secret" || a === "--compare") && argv[i + 1]?.includes("=")) {
      const [key, ...rest] = argv[++i].split("=");
      (a === "--set" ? args.sets : a === "--set-secret" ? args.secretSets : args.compares).push([key, rest.join("=")]);
    }
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      process.exit(2);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  let report: PlanReport;
  try {
    const project = readStackConfig(args.projectDir, args.stack).project;
    const full = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
    const overrides = Object.fromEntries([...args.sets, ...args.secretSets].map(([k, v]) => [full(k), v]));
    report = await planStack({ projectDir: args.projectDir, stack: args.stack, overrides, secretKeys: args.secretSets.map(([k]) => full(k)) });
  } catch (err) {
    const e = err as Error;
    if (args.json) return exitAfterWriting(JSON.stringify({ error: e.name, message: e.message }, null, 2), 2);
    console.error(["SettingsError", "StackFileError"].includes(e.name) ? e.message : `plan failed: ${e.stack ?? e.message}`);
    process.exit(2);
  }
  if (args.compares.length) {
    const changed = planInChildProcess(args, [...args.sets, ...args.compares], args.secretSets);
    if ("error" in changed) {
      console.error(changed.message);
      process.exit(2);
    }
    const what = args.compares.map(([k, v]) => `${k}=${v}`).join(" ");
    // Both sides as the JSON plan prints them (secrets, unknowns and assets named, not valued).
    const printed = report.resources.map((r) => ({ ...r, inputs: printable(r.inputs, true) as Record<string, unknown> }));
    const comparison = comparePlans(printed, changed.resources);
    return exitAfterWriting(args.json ? JSON.stringify(comparison, null, 2) : formatComparison(comparison, what), 0);
  }
  const text = args.diagram
    ? renderMermaid(report.resources)
    : args.json
      ? JSON.stringify({ ...report, resources: report.resources.map((r) => ({ ...r, inputs: printable(r.inputs, args.secretDigests) })) }, null, 2)
      : formatReport(report);
  const failed = report.checks.some((c) => c.status === "fail") || report.conformance.errors.length > 0;
  exitAfterWriting(text, failed ? 1 : 0);
}

/** Plans the same stack with other settings in a fresh process (one stack program per process). */
function planInChildProcess(args: Args, sets: Array<[string, string]>, secretSets: Array<[string, string]>): { resources: PlannedResource[] } | { error: string; message: string } {
  const argv = [...process.execArgv, __filename, "--stack", args.stack, "--project-dir", args.projectDir, "--json", "--secret-digests"];
  for (const [k, v] of sets) argv.push("--set", `${k}=${v}`);
  for (const [k, v] of secretSets) argv.push("--set-secret", `${k}=${v}`);
  const r = spawnSync(process.execPath, argv, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const parsed = JSON.parse(r.stdout || "{}");
  if (r.status === 2 || parsed.error) return { error: parsed.error ?? "error", message: parsed.message ?? r.stderr };
  // Inputs arrive printable: secrets as "[secret]", which is how the comparison treats them anyway.
  return { resources: parsed.resources };
}

/**
 * Exits once `text` is written: stdout to a pipe is asynchronous, and
 * `process.exit` right after `console.log` cuts a long report (the JSON
 * plan is a few hundred KB) at the pipe's buffer size.
 */
function exitAfterWriting(text: string, code: number): void {
  process.stdout.write(`${text}\n`, () => process.exit(code));
}

if (require.main === module) void main();
