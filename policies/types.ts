/**
 * The shapes the policy checks read: resources as a stack plans them
 * (captured under Pulumi's mock engine, see cli/mock-engine.ts) and the
 * files rendered for servers. Nothing here imports Pulumi.
 */
import type { RenderedFile } from "../server/types";

/** A value Pulumi marked secret; its plain value is kept so checks can look for leaks. */
export class SecretValue {
  constructor(public readonly value: unknown) {}
}

/** A value not known until `pulumi up` (an id the cloud assigns). */
export const UNKNOWN = Symbol.for("django-tiers.unknown");

/** One resource the program declared. */
export interface PlannedResource {
  /** Pulumi type token, e.g. `aws:ec2/instance:Instance`. */
  type: string;
  /** Logical name. */
  name: string;
  urn: string;
  /** URN of the parent ("" for the stack's own children). */
  parent: string;
  /** True for a provider resource (e.g. `pulumi:providers:aws`). */
  isProvider: boolean;
  /** True for a ComponentResource (no cloud object of its own). */
  isComponent: boolean;
  /** Inputs as declared; secrets are `SecretValue`s, unknowns are `UNKNOWN`. */
  inputs: Record<string, unknown>;
  /**
   * The id the engine returned, when captured (the mock engine's ids look
   * like `<name>-id`). Checks match references by it; optional because the
   * `<name>-id` convention is assumed when absent.
   */
  id?: string;
  /**
   * Outputs the engine returned, when captured (e.g. `arn`, `url`,
   * `bucketRegionalDomainName`). Checks match references against their
   * string values; optional.
   */
  outputs?: Record<string, unknown>;
  /** Resource options that matter to checks. */
  options: {
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    /** Inputs whose change replaces the resource, besides those the provider's schema says (REPLACED_ON_CHANGE). */
    replaceOnChanges?: string[];
    aliases: number;
    provider: string;
    dependsOn: string[];
  };
}

/** What a stack's settings deliberately waive, each with the setting and the reason. */
export interface Relaxation {
  /** The check id it relaxes (see policies/index.ts). */
  check: string;
  /** The setting that asks for it, e.g. `relaxedChecks` or `deletionProtection=false`. */
  setting: string;
  reason: string;
}

/** Everything a check may look at. */
export interface PlanUnderTest {
  /** The tier preset (`single-box`, …). */
  tier: string;
  environment: "dev" | "staging" | "prod";
  resources: PlannedResource[];
  /** Files rendered for servers, by role (e.g. `single-box`). */
  serverFiles: Record<string, RenderedFile[]>;
  relaxations: Relaxation[];
}

export type CheckStatus = "pass" | "fail" | "not-applicable" | "relaxed";

export interface Finding {
  /** Resource URN or file path the finding is about. */
  subject: string;
  message: string;
}

export interface CheckResult {
  id: string;
  title: string;
  /** Scanner ids (CKV_AWS_79, AVD-AWS-0028, …) this check implements. */
  refs: string[];
  status: CheckStatus;
  /** For fail: what is wrong; for not-applicable and relaxed: why. */
  findings: Finding[];
  reason?: string;
}

/** A check: a typed predicate over the plan. */
export interface Check {
  id: string;
  title: string;
  refs: string[];
  /** What the check guards against, in a sentence or two (docs and `plan --explain`). */
  description?: string;
  /**
   * CHECKS.md calls the control optional (e.g. KMS on log groups): a stack may
   * relax it by a named setting without weakening the baseline.
   */
  optional?: boolean;
  /**
   * Returns findings (empty = pass), or a string saying why the check does
   * not apply to this plan. Never silently skips.
   */
  run(plan: PlanUnderTest): Finding[] | { notApplicable: string };
}

/** Counts of results by status (see `summarize` in policies/index.ts). */
export type CheckSummary = Record<CheckStatus, number> & { total: number };

/**
 * A CHECKS.md item marked [L]: it needs a live cloud, so it is documented
 * (policies/live-checks.ts) rather than run, with its offline stand-ins.
 */
export interface LiveCheck {
  id: string;
  title: string;
  refs: string[];
  /** Ids of offline checks (or test suites) that cover part of it locally. */
  localEquivalents: string[];
  /** How to run it against a real account. */
  howToRun: string;
}
