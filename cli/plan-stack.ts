/**
 * The offline plan: runs the stack program (`index.ts`) under the mock
 * engine with a stack's config, and reports what `pulumi up` would create,
 * the stack's outputs, its notes and relaxations, and the policy results.
 */
import { createHash } from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { runChecks, summarize } from "../policies";
import { ConformanceReport, checkConformance, notChecked } from "../policies/conformance/check";
import { awsModels } from "./aws-models";
import { CheckResult, PlannedResource, Relaxation, SecretValue, UNKNOWN } from "../policies/types";
import { deploymentsInProcess } from "../tiers";
import { CostEstimate, estimateCost } from "./estimates/cost";
import { DeployTimeEstimate, estimateDeployTime } from "./estimates/deploy-time";
import { installMockEngine, setConfig, unwrap } from "./mock-engine";
import { readStackConfig } from "./stack-files";

export interface PlanReport {
  project: string;
  stack: string;
  tier: string;
  environment: string;
  region: string;
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  notes: string[];
  relaxations: Relaxation[];
  checks: CheckResult[];
  summary: ReturnType<typeof summarize>;
  /** Every planned input against AWS's API models and documented rules (policies/conformance/). */
  conformance: ConformanceReport;
  /** Monthly cost per resource and in total (cli/estimates/cost.ts). */
  cost: CostEstimate;
  /** The critical path of a first `pulumi up` (cli/estimates/deploy-time.ts). */
  deployTime: DeployTimeEstimate;
}

export interface PlanOptions {
  projectDir: string;
  stack: string;
  /** The stack program; default Pulumi.yaml's `main`, else `index.ts`. */
  program?: string;
  /** Extra or overriding config (`project:key` → value), e.g. for tests. */
  overrides?: Record<string, unknown>;
  /** Keys of `overrides` held as secrets (as `pulumi config set --secret` holds them). */
  secretKeys?: string[];
}

/** Runs the plan. Throws the program's error (e.g. `SettingsError`) unchanged. */
export async function planStack(opts: PlanOptions): Promise<PlanReport> {
  const stackConfig = readStackConfig(opts.projectDir, opts.stack);
  const config = { ...stackConfig.config, ...(opts.overrides ?? {}) };
  // No default region: the stack program refuses a missing aws:region (config/validate.ts regionProblems).
  const region = String(config["aws:region"] ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "");
  // Found (or installed) before the program runs: the settings check instance types against them too.
  const models = awsModels();
  const engine = installMockEngine({ project: stackConfig.project, stack: opts.stack, region });
  setConfig(config, [...stackConfig.secretKeys, ...(opts.secretKeys ?? [])]);

  const program = require(path.resolve(opts.projectDir, opts.program ?? stackConfig.main));
  const deployments = deploymentsInProcess();
  if (deployments.length !== 1) throw new Error(`the stack program made ${deployments.length} deployments; the plan reads exactly one`);
  const deployment = deployments[0];

  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = (await pulumi.isSecret(value)) ? "[secret]" : await unwrap(value);
    } else if (key !== "__esModule") {
      outputs[key] = value;
    }
  }
  const serverFiles = await unwrap(deployment.serverFiles);
  await engine.finish();

  const checks = runChecks({
    tier: deployment.tier,
    environment: deployment.environment,
    resources: engine.resources,
    serverFiles,
    relaxations: deployment.relaxations,
  });
  return {
    project: stackConfig.project,
    stack: opts.stack,
    tier: deployment.tier,
    environment: deployment.environment,
    region,
    resources: engine.resources,
    outputs,
    notes: deployment.notes,
    relaxations: deployment.relaxations,
    checks,
    summary: summarize(checks),
    conformance: "reason" in models ? notChecked(models.reason) : checkConformance(engine.resources, region, models),
    cost: estimateCost(engine.resources, region),
    deployTime: estimateDeployTime(engine.resources),
  };
}

/** A resource's inputs made printable: secrets hidden, unknowns and assets named. */
export function printable(value: unknown, secretDigests = false): unknown {
  if (Array.isArray(value)) return value.map((v) => printable(v, secretDigests));
  if (value instanceof SecretValue) {
    // Digests let two offline plans be compared without printing a value; offline, every secret is a stand-in.
    return secretDigests ? `[secret ${createHash("sha256").update(JSON.stringify(value.value)).digest("hex").slice(0, 12)}]` : "[secret]";
  }
  if (value === UNKNOWN) return "[unknown until deploy]";
  if (pulumi.asset.Archive.isInstance(value)) return "[archive]";
  if (pulumi.asset.Asset.isInstance(value)) return "[asset]";
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, printable(v, secretDigests)]));
  }
  return value;
}
