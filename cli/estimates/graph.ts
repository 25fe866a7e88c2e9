/**
 * The planned stack as a graph of "waits for" edges, read from what the mock
 * engine captured:
 * - dependsOn: the resource's dependency list (the engine puts its explicit
 *   `dependsOn` and every resource its inputs came from there);
 * - reference: an input string that names another resource — the mock id
 *   (`<name>-id`), a mock ARN (`arn:aws:<svc>:<region>:<acct>:<name>…`), its
 *   name, also inside JSON documents such as IAM policies; secrets are not
 *   looked into;
 * - parent: a component is done when its children are (so waiting for a
 *   component waits for all of them).
 * Works on resources straight from the engine and on the plan's `--json`
 * form alike.
 */
import type { PlannedResource } from "../../policies/types";
import { asString, isSecret } from "../../policies/values";

export type EdgeKind = "parent" | "dependsOn" | "reference";

/** `from` cannot start (or, for a component, finish) before `to` is done. */
export interface Edge {
  from: string;
  to: string;
  kinds: EdgeKind[];
}

export interface PlanGraph {
  /** Every resource but the stack and providers, in plan order. */
  nodes: PlannedResource[];
  byUrn: Map<string, PlannedResource>;
  /** Edges out of a resource, by its URN: what it waits for. */
  waitsFor: Map<string, Edge[]>;
}

/** Values that are not references: the `--json` form's stand-ins for secrets and unknowns. */
const STAND_INS = new Set(["[secret]", "[unknown until deploy]", "[archive]", "[asset]"]);

/** Every string in an input value, JSON documents opened, secrets skipped. */
export function inputStrings(value: unknown, visit: (s: string) => void): void {
  if (isSecret(value)) return;
  if (typeof value === "string") {
    if (STAND_INS.has(value)) return;
    visit(value);
    const t = value.trimStart();
    if (t.startsWith("{") || t.startsWith("[")) {
      try {
        inputStrings(JSON.parse(value), visit);
      } catch {
        // Not JSON after all: the string itself was visited.
      }
    }
    return;
  }
  if (Array.isArray(value)) for (const v of value) inputStrings(v, visit);
  else if (value && typeof value === "object") for (const v of Object.values(value)) inputStrings(v, visit);
}

/** The exact strings the mock engine (or the program) gives for a resource's id, name and well-known attributes. */
function identifiersOf(r: PlannedResource): string[] {
  const ids = [`${r.name}-id`, r.name];
  if (r.id) ids.push(r.id);
  if (r.type === "aws:kms/key:Key") ids.push(`${r.name}-key-id`);
  if (r.type === "aws:s3/bucket:Bucket") ids.push(`${r.name}-bucket`);
  // Physical names given as inputs; `bucket` only on a bucket (elsewhere it names the bucket a setting is for).
  const named: Record<string, string> = { "aws:s3/bucket:Bucket": "bucket", "aws:rds/instance:Instance": "identifier", "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId" };
  for (const key of ["name", "arn", named[r.type]]) {
    const given = key ? asString(r.inputs[key]) : undefined;
    if (given) ids.push(given);
  }
  for (const v of Object.values(r.outputs ?? {})) if (typeof v === "string" && v.length > 3) ids.push(v);
  return ids;
}

/** The resource part of an ARN's first name: `arn:aws:s3:::b/key` → `b`, `arn:aws:logs:r:a:g:*` → `g`. */
function arnName(value: string): string | undefined {
  const m = /^arn:aws[a-z-]*:[^:]*:[^:]*:[^:]*:(.+)$/.exec(value);
  return m ? m[1].split(/[/:]/)[0] || undefined : undefined;
}

/** Resources of the plan that `r`'s inputs name (see the file comment), without `r` itself. */
export function referencedBy(r: PlannedResource, index: Map<string, PlannedResource[]>): PlannedResource[] {
  const found = new Set<PlannedResource>();
  const add = (s: string) => {
    for (const t of index.get(s) ?? []) if (t !== r) found.add(t);
  };
  for (const value of Object.values(r.inputs)) {
    inputStrings(value, (s) => {
      add(s);
      const name = arnName(s);
      if (name) add(name);
    });
  }
  return [...found];
}

/** Index of identifiers → the cloud resources they name. */
export function identifierIndex(resources: PlannedResource[]): Map<string, PlannedResource[]> {
  const index = new Map<string, PlannedResource[]>();
  for (const r of resources) {
    if (r.isComponent || r.isProvider || r.type === "pulumi:pulumi:Stack") continue;
    for (const id of new Set(identifiersOf(r))) index.set(id, [...(index.get(id) ?? []), r]);
  }
  return index;
}

export function planGraph(resources: PlannedResource[]): PlanGraph {
  const nodes = resources.filter((r) => !r.isProvider && r.type !== "pulumi:pulumi:Stack");
  const byUrn = new Map(nodes.map((r) => [r.urn, r]));
  const index = identifierIndex(nodes);
  const edges = new Map<string, Map<string, Set<EdgeKind>>>();
  const ancestors = (r: PlannedResource): Set<string> => {
    const seen = new Set<string>();
    for (let p = byUrn.get(r.parent); p && !seen.has(p.urn); p = byUrn.get(p.parent)) seen.add(p.urn);
    return seen;
  };
  const add = (from: PlannedResource, to: string, kind: EdgeKind) => {
    if (from.urn === to || !byUrn.has(to)) return;
    const out = edges.get(from.urn) ?? new Map<string, Set<EdgeKind>>();
    edges.set(from.urn, out);
    out.set(to, (out.get(to) ?? new Set<EdgeKind>()).add(kind));
  };
  for (const r of nodes) {
    // A resource never waits for a component it is inside: that component waits for it.
    const own = ancestors(r);
    if (byUrn.has(r.parent)) add(byUrn.get(r.parent)!, r.urn, "parent");
    for (const d of r.options.dependsOn ?? []) if (!own.has(d)) add(r, d, "dependsOn");
    for (const t of referencedBy(r, index)) if (!own.has(t.urn)) add(r, t.urn, "reference");
  }
  const waitsFor = new Map<string, Edge[]>();
  for (const r of nodes) {
    const out = edges.get(r.urn) ?? new Map();
    waitsFor.set(r.urn, [...out].map(([to, kinds]) => ({ from: r.urn, to, kinds: [...kinds].sort() as EdgeKind[] })));
  }
  return { nodes, byUrn, waitsFor };
}
