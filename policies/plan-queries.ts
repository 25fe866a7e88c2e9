/**
 * Queries over a planned stack: resources by type, references between
 * resources (ids and ARNs as the engine resolved them), tags, secrets, and
 * the small constructors every check uses for its findings.
 */
import { ROLE_TAG, T } from "./resource-types";
import type { Finding, PlannedResource, PlanUnderTest } from "./types";
import { asRecord, asString, plain, walkStrings } from "./values";

/** Cloud resources (not providers or components) of any of the given types. */
export function ofType(plan: PlanUnderTest, types: readonly string[]): PlannedResource[] {
  return plan.resources.filter((r) => !r.isProvider && !r.isComponent && types.includes(r.type));
}

/**
 * The strings a reference to `r` may appear as: the mock engine's
 * `<name>-id`, the logical name (what the mock engine reports as an
 * auto-named resource's `name`, e.g. a vault's or a role's), the captured id
 * and outputs, and physical names given as inputs (a bucket declared with
 * `bucket: "media"` is referenced as `media`). Callers always narrow by type
 * first, so a logical name shared across types cannot match the wrong one.
 */
export function identifiers(r: PlannedResource): Set<string> {
  const ids = new Set<string>([`${r.name}-id`, r.name]);
  if (r.id) ids.add(r.id);
  for (const key of [
    "id",
    "arn",
    "name",
    "url",
    "bucket",
    "arnSuffix",
    "identifier",
    "replicationGroupId",
    "bucketDomainName",
    "bucketRegionalDomainName",
  ]) {
    const out = asString(r.outputs?.[key]);
    if (out) ids.add(out);
  }
  for (const key of ["name", "bucket", "identifier", "replicationGroupId"]) {
    const given = asString(r.inputs[key]);
    if (given) ids.add(given);
  }
  return ids;
}

/**
 * Whether `value` (an id, ARN or URL as resolved in the plan) refers to `r`.
 * Besides exact identifiers, a mock ARN (`arn:aws:<svc>:<region>:<acct>:<name>`)
 * or URL ending in the resource's logical or physical name matches.
 */
export function refersTo(value: unknown, r: PlannedResource): boolean {
  const v = asString(value);
  if (!v) return false;
  const ids = identifiers(r);
  if (ids.has(v)) return true;
  if (v.startsWith("arn:") || v.startsWith("https://")) {
    const names = [r.name, asString(r.inputs.name), asString(r.inputs.bucket), asString(r.inputs.identifier)].filter(
      (n): n is string => !!n,
    );
    return names.some((n) => v.endsWith(`:${n}`) || v.endsWith(`/${n}`));
  }
  return false;
}

/** The first resource of the given types that `value` refers to. */
export function resolve(plan: PlanUnderTest, value: unknown, types: readonly string[]): PlannedResource | undefined {
  return ofType(plan, types).find((r) => refersTo(value, r));
}

/** Tags as a map; accepts the `{key: value}` shape and ASG's `[{key, value}]` list. */
export function tagsOf(r: PlannedResource): Record<string, string> {
  const raw = plain(r.inputs.tags);
  const tags: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const t of raw) {
      const rec = asRecord(t);
      const key = asString(rec?.key);
      const value = asString(rec?.value);
      if (key !== undefined && value !== undefined) tags[key] = value;
    }
    return tags;
  }
  const rec = asRecord(raw);
  if (rec) for (const [k, v] of Object.entries(rec)) if (asString(v) !== undefined) tags[k] = asString(v)!;
  return tags;
}

/** The `django-tiers:role` tag (see resource-types.ts for the convention). */
export function roleOf(r: PlannedResource | undefined): string | undefined {
  return r ? tagsOf(r)[ROLE_TAG] : undefined;
}

/** Keys of a secret JSON document whose values are themselves secret (not usernames or hosts). */
const SECRET_KEY_NAME = /pass|secret|token|key|credential|private/i;

/**
 * The plain values of every Pulumi secret in the plan — string leaves, and
 * for secrets that are JSON documents (`{"DJANGO_SECRET_KEY": …}`) the values
 * of their secret-looking keys — longer than `minLength`, so short common
 * words never count as a leak.
 */
export function secretStrings(plan: PlanUnderTest, minLength = 8): string[] {
  const found = new Set<string>();
  const add = (s: string) => {
    if (s.length > minLength) found.add(s);
    if (!s.trimStart().startsWith("{")) return;
    let doc: unknown;
    try {
      doc = JSON.parse(s);
    } catch {
      return; // not JSON: the whole string was added above
    }
    for (const [k, v] of Object.entries(asRecord(doc) ?? {}))
      if (SECRET_KEY_NAME.test(k) && typeof v === "string" && v.length > minLength) found.add(v);
  };
  for (const r of plan.resources)
    for (const [key, value] of Object.entries(r.inputs))
      if (!secretOnlyBySdk(r, key)) walkStrings(value, (s, inSecret) => inSecret && add(s));
  return [...found];
}

/**
 * Inputs the AWS SDK marks secret whatever they hold, so their secret flag
 * says nothing about the value: an SSM parameter's `value` is wrapped in
 * `pulumi.secret` even for a plain `String` parameter (a release pointer).
 * Such values are not collected as secrets; only SecureString values are.
 */
export function secretOnlyBySdk(r: PlannedResource, key: string): boolean {
  return (T.ssmParameter as readonly string[]).includes(r.type) && key === "value" && asString(r.inputs.type) !== "SecureString";
}

/** AWS access key ids and PEM private keys: credentials that must never be rendered. */
export const CREDENTIAL_PATTERNS: { name: string; pattern: RegExp }[] = [
  { name: "an AWS access key id", pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: "a private key block", pattern: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/ },
  { name: "an AWS secret access key assignment", pattern: /aws_secret_access_key\s*[=:]\s*\S{20,}/i },
];

/** What in `text` looks like a leaked secret (never the secret itself). */
export function leaksIn(text: string, secrets: string[]): string[] {
  const leaks: string[] = [];
  if (secrets.some((s) => text.includes(s))) leaks.push("the plain value of a Pulumi secret");
  for (const { name, pattern } of CREDENTIAL_PATTERNS) if (pattern.test(text)) leaks.push(name);
  return leaks;
}

export function finding(r: PlannedResource, message: string): Finding {
  return { subject: r.urn, message: `${r.name}: ${message}` };
}

export function fileFinding(path: string, message: string): Finding {
  return { subject: path, message };
}

export function notApplicable(reason: string): { notApplicable: string } {
  return { notApplicable: reason };
}

/** For checks that only apply to production stacks. */
export function prodOnly(plan: PlanUnderTest, what: string): { notApplicable: string } | undefined {
  return plan.environment === "prod"
    ? undefined
    : notApplicable(`${what} is required in prod only; this is a ${plan.environment} stack`);
}

/** Runs `each` over resources and gathers the findings. */
export function eachResource(
  resources: PlannedResource[],
  each: (r: PlannedResource) => (string | undefined | false)[],
): Finding[] {
  return resources.flatMap((r) =>
    each(r)
      .filter((m): m is string => typeof m === "string")
      .map((m) => finding(r, m)),
  );
}

/** `[values]` from an input that may be one value or a list. */
export function oneOrMany(v: unknown): unknown[] {
  const p = plain(v);
  return Array.isArray(p) ? p : p === undefined ? [] : [p];
}
