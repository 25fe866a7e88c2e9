/**
 * How long a first `pulumi up` of the planned stack takes, roughly: the
 * critical path through the "waits for" graph (graph.ts), each resource
 * weighted by its typical creation time (timings.ts). Pulumi creates every
 * resource as soon as what it waits for is done, so the longest chain is
 * what a user waits for; everything else happens alongside.
 */
import type { PlannedResource } from "../../policies/types";
import { EdgeKind, planGraph } from "./graph";
import { creationSeconds } from "./timings";

export interface PathStep {
  name: string;
  type: string;
  urn: string;
  /** Typical creation time of this resource. */
  seconds: number;
  /** When it starts and finishes, counted from the start of `pulumi up`. */
  startsAt: number;
  finishesAt: number;
  /**
   * Why it waited for the previous step: the kinds of edge, and the
   * component it waited for when the wait went through one.
   */
  waitsForPrevious?: { kinds: EdgeKind[]; through?: string };
}

export interface DeployTimeEstimate {
  /** Length of the critical path, in seconds. */
  totalSeconds: number;
  /** The critical path, first resource first; only resources that create something. */
  path: PathStep[];
  /** Seconds if every resource were created one after another. */
  serialSeconds: number;
  /** The slowest resources whatever their place, slowest first (at most five). */
  slowest: { name: string; type: string; seconds: number; finishesAt: number }[];
}

export function estimateDeployTime(resources: PlannedResource[]): DeployTimeEstimate {
  const graph = planGraph(resources);
  const finish = new Map<string, number>();
  const prev = new Map<string, { urn: string; kinds: EdgeKind[] } | undefined>();
  const visiting = new Set<string>();

  const finishOf = (urn: string): number => {
    const known = finish.get(urn);
    if (known !== undefined) return known;
    // A cycle cannot be deployed either; it is cut here rather than looping.
    if (visiting.has(urn)) return 0;
    visiting.add(urn);
    let start = 0;
    let before: { urn: string; kinds: EdgeKind[] } | undefined;
    for (const e of graph.waitsFor.get(urn) ?? []) {
      const f = finishOf(e.to);
      if (before === undefined || f > start) {
        start = f;
        before = { urn: e.to, kinds: e.kinds };
      }
    }
    visiting.delete(urn);
    const done = start + creationSeconds(graph.byUrn.get(urn)!);
    finish.set(urn, done);
    prev.set(urn, before);
    return done;
  };

  let last: string | undefined;
  for (const r of graph.nodes) {
    const f = finishOf(r.urn);
    if (last === undefined || f > finish.get(last)!) last = r.urn;
  }

  // Walk back from the last resource to finish, keeping resources that create something.
  const chain: string[] = [];
  for (let u = last; u !== undefined && !chain.includes(u); u = prev.get(u)?.urn) chain.unshift(u);
  const path: PathStep[] = [];
  let pendingKinds = new Set<EdgeKind>();
  let through: string | undefined;
  for (let i = 0; i < chain.length; i++) {
    const r = graph.byUrn.get(chain[i])!;
    const seconds = creationSeconds(r);
    const kinds = i + 1 < chain.length ? prev.get(chain[i + 1])?.kinds ?? [] : [];
    if (r.isComponent || seconds === 0) {
      if (r.isComponent && path.length > 0) through = r.name;
      for (const k of kinds) pendingKinds.add(k);
      continue;
    }
    const f = finish.get(r.urn)!;
    path.push({
      name: r.name,
      type: r.type,
      urn: r.urn,
      seconds,
      startsAt: f - seconds,
      finishesAt: f,
      ...(path.length > 0 ? { waitsForPrevious: { kinds: [...pendingKinds].sort() as EdgeKind[], ...(through ? { through } : {}) } } : {}),
    });
    pendingKinds = new Set(kinds);
    through = undefined;
  }

  const creating = graph.nodes.filter((r) => creationSeconds(r) > 0);
  return {
    totalSeconds: last === undefined ? 0 : finish.get(last)!,
    path,
    serialSeconds: creating.reduce((sum, r) => sum + creationSeconds(r), 0),
    slowest: [...creating]
      .sort((a, b) => creationSeconds(b) - creationSeconds(a) || a.name.localeCompare(b.name))
      .slice(0, 5)
      .map((r) => ({ name: r.name, type: r.type, seconds: creationSeconds(r), finishesAt: finish.get(r.urn)! })),
  };
}

/** `75` → `1 min 15 s`. */
export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m === 0 ? `${s} s` : s === 0 ? `${m} min` : `${m} min ${s} s`;
}

/** The plan's "First deploy" section. */
export function formatDeployTime(est: DeployTimeEstimate): string[] {
  const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;
  const lines = [
    `First \`pulumi up\`: about ${formatDuration(est.totalSeconds)} (critical path below; ${formatDuration(est.serialSeconds)} if nothing ran in parallel)`,
  ];
  for (const step of est.path) {
    const why = step.waitsForPrevious
      ? `  waits for the previous step (${step.waitsForPrevious.kinds.join(", ") || "order"}${step.waitsForPrevious.through ? ` through ${step.waitsForPrevious.through}` : ""})`
      : "";
    lines.push(`  ${clock(step.startsAt).padStart(5)} → ${clock(step.finishesAt).padStart(5)}  ${step.type} ${step.name} (${formatDuration(step.seconds)})${why}`);
  }
  lines.push(`  Slowest: ${est.slowest.map((s) => `${s.name} ${formatDuration(s.seconds)}`).join(", ")}`);
  lines.push("  (typical creation times from cli/estimates/timings.ts; real runs vary)");
  return lines;
}
