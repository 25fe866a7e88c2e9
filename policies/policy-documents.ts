/**
 * IAM policy documents (identity policies, bucket and queue policies) parsed
 * into statements with every one-or-many field as a list, and the matching
 * rules IAM uses for actions (`s3:Get*` covers `s3:GetObject`, case-insensitive).
 */
import { ofType } from "./plan-queries";
import { T } from "./resource-types";
import type { PlannedResource, PlanUnderTest } from "./types";
import { asArray, asRecord, asString, isUnknown, plain } from "./values";

export interface Principals {
  /** `"*"` or `{"AWS": "*"}`: anyone. */
  anyone: boolean;
  aws: string[];
  service: string[];
  federated: string[];
}

export interface Statement {
  sid?: string;
  effect: "Allow" | "Deny";
  actions: string[];
  notActions: string[];
  resources: string[];
  notResources: string[];
  /** Only on resource policies. */
  principals?: Principals;
  /** operator → condition key (lower-cased) → values, e.g. `Bool` → `aws:securetransport` → ["false"]. */
  conditions: Record<string, Record<string, string[]>>;
}

export type ParsedPolicy = { statements: Statement[] } | { error: string };

const list = (v: unknown): string[] => {
  const p = plain(v);
  if (p === undefined) return [];
  return (Array.isArray(p) ? p : [p]).map((x) => String(plain(x)));
};

function parsePrincipals(v: unknown): Principals | undefined {
  const p = plain(v);
  if (p === undefined) return undefined;
  if (p === "*") return { anyone: true, aws: [], service: [], federated: [] };
  const rec = asRecord(p) ?? {};
  const aws = list(rec.AWS);
  return { anyone: aws.includes("*"), aws, service: list(rec.Service), federated: list(rec.Federated) };
}

function parseConditions(v: unknown): Statement["conditions"] {
  const out: Statement["conditions"] = {};
  for (const [op, body] of Object.entries(asRecord(v) ?? {})) {
    out[op] = {};
    for (const [key, values] of Object.entries(asRecord(body) ?? {})) out[op][key.toLowerCase()] = list(values);
  }
  return out;
}

/** Parses a policy given as a JSON string or an object; unknown or malformed documents are an error. */
export function parsePolicy(document: unknown): ParsedPolicy {
  if (isUnknown(document)) return { error: "the policy is not known until deploy, so it cannot be checked" };
  let doc = plain(document);
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc);
    } catch {
      return { error: "the policy is not valid JSON" };
    }
  }
  const rec = asRecord(doc);
  if (!rec) return { error: "the policy is not a JSON object" };
  const raw = plain(rec.Statement);
  const statements = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((s): Statement => {
    const st = asRecord(s) ?? {};
    return {
      sid: asString(st.Sid),
      effect: asString(st.Effect) === "Deny" ? "Deny" : "Allow",
      actions: list(st.Action),
      notActions: list(st.NotAction),
      resources: list(st.Resource),
      notResources: list(st.NotResource),
      principals: parsePrincipals(st.Principal),
      conditions: parseConditions(st.Condition),
    };
  });
  return { statements };
}

/** IAM wildcard match: `*` any run, `?` one character, case-insensitive. */
export function wildcardMatches(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(value);
}

/** Whether an Allow statement grants `action` (through Action, or through NotAction that omits it). */
export function allows(st: Statement, action: string): boolean {
  if (st.effect !== "Allow") return false;
  if (st.actions.some((p) => wildcardMatches(p, action))) return true;
  return st.notActions.length > 0 && !st.notActions.some((p) => wildcardMatches(p, action));
}

/** A Resource that covers every resource of a service: `*`, or an ARN whose name part is only wildcards. */
export function isWildcardResource(resource: string, service?: string): boolean {
  if (resource === "*") return true;
  const parts = resource.split(":");
  if (parts[0] !== "arn" || parts.length < 6) return false;
  if (service && parts[2] !== service && parts[2] !== "*") return false;
  const name = parts.slice(5).join(":");
  if (/^[*?/]*$/.test(name)) return true;
  // `secret:*`, `parameter/*`, `log-group:*`: a resource type followed only by wildcards.
  // S3 has no type prefix: `media/*` is a bucket's objects, not a wildcard.
  return parts[2] !== "s3" && /^[a-z-]+[:/][*?]*$/i.test(name);
}

/** A statement that applies to every resource (Resource `*`, or NotResource). */
export function coversAllResources(st: Statement, service?: string): boolean {
  return st.notResources.length > 0 || st.resources.some((r) => isWildcardResource(r, service));
}

export interface PolicySource {
  resource: PlannedResource;
  /** Where in the resource, e.g. `policy` or `inlinePolicies[0].policy`. */
  where: string;
  document: unknown;
}

/** Identity policies: role and user inline policies and managed policies. */
export function identityPolicies(plan: PlanUnderTest): PolicySource[] {
  const sources: PolicySource[] = [];
  for (const r of ofType(plan, [...T.iamRolePolicy, ...T.iamPolicy, ...T.iamUserPolicy, ...T.iamGroupPolicy]))
    sources.push({ resource: r, where: "policy", document: r.inputs.policy });
  for (const r of ofType(plan, T.iamRole))
    asArray(r.inputs.inlinePolicies).forEach((p, i) =>
      sources.push({ resource: r, where: `inlinePolicies[${i}].policy`, document: asRecord(p)?.policy }),
    );
  return sources;
}

/** The statements of each source, with parse errors reported as messages. */
export function statementsOf(
  sources: PolicySource[],
): { source: PolicySource; statements: Statement[]; error?: string }[] {
  return sources.map((source) => {
    const parsed = parsePolicy(source.document);
    return "error" in parsed
      ? { source, statements: [], error: `${source.where}: ${parsed.error}` }
      : { source, statements: parsed.statements };
  });
}

/** A statement in a message: its Sid or its first action. */
export function describe(st: Statement): string {
  return st.sid ? `statement "${st.sid}"` : `statement for ${JSON.stringify(st.actions.length ? st.actions : st.notActions)}`;
}
