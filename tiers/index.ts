/**
 * Picks and wires the components of a stack's tier preset.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../config/validate";
import { PRESETS } from "../config/presets";
import { deployBoxTier } from "./box";
import { deployFleetTier } from "./fleet";
import type { Deployment } from "./types";

export type { Deployment, StackOutputs } from "./types";

/**
 * Deployments made in this process, on a global so that the offline plan
 * finds them even when the stack program loaded its own copy of this
 * library (a consumer project importing the packed package).
 */
const REGISTRY = Symbol.for("django-tiers.deployments");
function registry(): Deployment[] {
  const g = globalThis as unknown as Record<symbol, Deployment[] | undefined>;
  return (g[REGISTRY] ??= []);
}

/** Declares every resource of the stack described by `settings`. */
export function deployStack(settings: Settings, opts: pulumi.ComponentResourceOptions = {}): Deployment {
  let deployment: Deployment;
  switch (PRESETS[settings.tier].front) {
    case "box":
      deployment = deployBoxTier(settings, opts);
      break;
    case "alb":
      deployment = deployFleetTier(settings, opts);
      break;
    default:
      // validateSettings refuses tiers that are not built yet, so this is a programming error.
      throw new Error(`tier ${settings.tier} has no wiring yet`);
  }
  deployment.relaxations.push(
    ...settings.relaxedChecks.map((check) => ({ check, setting: "relaxedChecks", reason: "waived in the stack's relaxedChecks" })),
  );
  registry().push(deployment);
  return deployment;
}

/** The deployments the stack program made in this process (read by the offline plan). */
export function deploymentsInProcess(): readonly Deployment[] {
  return registry();
}
