/**
 * The shape of the per-check test tables: each check passes on a compliant
 * baseline, and each `fails` case breaks one thing and names the resource
 * (URN) or file (path) the finding must be about.
 */
import type { PlannedResource, PlanUnderTest } from "../../../policies/types";
import { add, editFile, filePath, set, urnOf } from "../fixtures";

export interface FailCase {
  name: string;
  base: () => PlanUnderTest;
  /** Breaks the plan; returns the subject the finding must name. */
  breakIt: (p: PlanUnderTest) => string;
  /** The finding's message must match (when given). */
  message?: RegExp;
}

export interface PassCase {
  name: string;
  plan: () => PlanUnderTest;
}

export interface NotApplicableCase {
  name: string;
  plan: () => PlanUnderTest;
  reason: RegExp;
}

export interface CheckCases {
  fails: FailCase[];
  /** Variants (beyond the baselines) that must pass. */
  passes?: PassCase[];
  notApplicable?: NotApplicableCase[];
}

export type CaseTable = Record<string, CheckCases>;

/** Sets an input on `name` and expects the finding on it. */
export const setOn =
  (name: string, path: string, value: unknown, ...more: [string, unknown][]) =>
  (p: PlanUnderTest): string => {
    set(p, name, path, value);
    for (const [k, v] of more) set(p, name, k, v);
    return urnOf(p, name);
  };

/** Adds a resource and expects the finding on it. */
export const adding =
  (r: PlannedResource) =>
  (p: PlanUnderTest): string => {
    add(p, r);
    return r.urn;
  };

/** Edits a rendered file and expects the finding on the file ending in `subject` (default: the edited one). */
export const editing =
  (suffix: string, edit: (content: string) => string, subject = suffix) =>
  (p: PlanUnderTest): string => {
    editFile(p, suffix, edit);
    return filePath(p, subject);
  };

/** Applies `mutate` and expects the finding on `name`. */
export const mutating =
  (name: string, mutate: (p: PlanUnderTest) => void) =>
  (p: PlanUnderTest): string => {
    mutate(p);
    return urnOf(p, name);
  };

/** A baseline changed before the test (for pass variants and not-applicable cases). */
export const variant =
  (base: () => PlanUnderTest, change: (p: PlanUnderTest) => void) =>
  (): PlanUnderTest => {
    const p = base();
    change(p);
    return p;
  };
