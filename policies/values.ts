/**
 * Reading resource inputs as the program declared them: values may be
 * wrapped in `SecretValue`, may be `UNKNOWN`, and booleans/numbers sometimes
 * arrive as strings (`LaunchTemplate` block-device `encrypted` is a string
 * in @pulumi/aws). These helpers normalise without ever guessing a default:
 * an absent or unknown value reads as `undefined`.
 */
import { SecretValue, UNKNOWN } from "./types";

export function isSecret(v: unknown): v is SecretValue {
  return v instanceof SecretValue;
}

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN || (isSecret(v) && isUnknown(v.value));
}

/** The value with any `SecretValue` wrapper removed (recursively at the top). */
export function plain(v: unknown): unknown {
  return isSecret(v) ? plain(v.value) : v;
}

export function asBool(v: unknown): boolean | undefined {
  const p = plain(v);
  if (p === true || p === "true") return true;
  if (p === false || p === "false") return false;
  return undefined;
}

export function asNumber(v: unknown): number | undefined {
  const p = plain(v);
  if (typeof p === "number" && Number.isFinite(p)) return p;
  if (typeof p === "string" && /^-?\d+(\.\d+)?$/.test(p.trim())) return Number(p);
  return undefined;
}

export function asString(v: unknown): string | undefined {
  const p = plain(v);
  return typeof p === "string" ? p : undefined;
}

export function asArray(v: unknown): unknown[] {
  const p = plain(v);
  return Array.isArray(p) ? p : [];
}

export function asStrings(v: unknown): string[] {
  const p = plain(v);
  if (typeof p === "string") return [p];
  return asArray(p)
    .map(asString)
    .filter((s): s is string => s !== undefined);
}

export function asRecord(v: unknown): Record<string, unknown> | undefined {
  const p = plain(v);
  if (p && typeof p === "object" && !Array.isArray(p)) return p as Record<string, unknown>;
  // Some nested blocks were lists of one in older providers; accept that shape too.
  if (Array.isArray(p) && p.length === 1) return asRecord(p[0]);
  return undefined;
}

/** `field(inputs, "metadataOptions.httpTokens")`: walks objects, unwrapping secrets. */
export function field(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    const rec = asRecord(cur);
    if (!rec) return undefined;
    cur = rec[key];
  }
  return cur;
}

/** Shows a value in a message without dumping objects (and never a secret). */
export function show(v: unknown): string {
  if (isSecret(v)) return "[secret]";
  if (v === undefined) return "unset";
  if (v === UNKNOWN) return "unknown until deploy";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v, (_k, x) => (isSecret(x) ? "[secret]" : x === UNKNOWN ? "[unknown]" : x));
}

/**
 * Calls `visit` for every string leaf under `v`, saying whether it sits
 * inside a `SecretValue`. JSON strings are not parsed here.
 */
export function walkStrings(v: unknown, visit: (s: string, inSecret: boolean) => void, inSecret = false): void {
  if (isSecret(v)) return walkStrings(v.value, visit, true);
  if (typeof v === "string") return visit(v, inSecret);
  if (Array.isArray(v)) {
    for (const x of v) walkStrings(x, visit, inSecret);
    return;
  }
  if (v && typeof v === "object") for (const x of Object.values(v)) walkStrings(x, visit, inSecret);
}
