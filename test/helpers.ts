/** Shared test helpers: the mock engine and queries over captured resources. */
import type { PlannedResource } from "../policies/types";
import { SecretValue } from "../policies/types";

export function ofType(resources: PlannedResource[], type: string): PlannedResource[] {
  return resources.filter((r) => r.type === type);
}

/** The one resource with this logical name; fails the test when there is none or several. */
export function named(resources: PlannedResource[], name: string): PlannedResource {
  const found = resources.filter((r) => r.name === name);
  if (found.length !== 1) throw new Error(`expected one resource named ${name}, found ${found.length}: ${resources.map((r) => r.name).join(", ")}`);
  return found[0];
}

/** Children (direct) of a resource, by parent URN. */
export function childrenOf(resources: PlannedResource[], parent: PlannedResource): PlannedResource[] {
  return resources.filter((r) => r.parent === parent.urn);
}

/** The plain value of an input that may be a Pulumi secret. */
export function reveal(value: unknown): unknown {
  return value instanceof SecretValue ? value.value : value;
}

export function json(value: unknown): any {
  return JSON.parse(String(reveal(value)));
}
