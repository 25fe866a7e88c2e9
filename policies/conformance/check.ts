/**
 * The conformance check: every planned resource's inputs against AWS's own
 * API models (./inputs.ts maps each input to its member) and against the
 * rules AWS documents only in prose (./rules.ts). Pure; no Pulumi.
 */
import type { PlannedResource } from "../types";
import { isSecret, isUnknown } from "../values";
import { autoNameOf, INPUT_MAPPINGS, UNMAPPED_TYPES } from "./inputs";
import { AwsModels, BOTOCORE_VERSION } from "./models";
import { PROSE_RULES } from "./rules";
import { shapeProblems } from "./shapes";

export interface ConformanceError {
  /** Logical name and type of the resource. */
  resource: string;
  type: string;
  /** The input (dotted path) and the API member or prose rule it breaks. */
  input: string;
  rule: string;
  value: string;
  message: string;
  /** The AWS page the rule comes from (prose rules), or the model (`botocore <version> <service>`). */
  source: string;
}

export interface ConformanceReport {
  /** False when AWS's models could not be read: `reason` says why and how to fix it. */
  checked: boolean;
  reason?: string;
  botocoreVersion: string;
  /** How many input values were checked against a model member. */
  inputsChecked: number;
  errors: ConformanceError[];
  /** Resource types planned that neither ./inputs.ts maps nor lists as unmapped: the mapping is incomplete. */
  unmappedTypes: string[];
}

/** What the prose rules see: the planned resources and the stack's region. */
export interface ConformanceContext {
  resources: PlannedResource[];
  region: string;
  models: AwsModels;
}

/** The values at a dotted input path: arrays are stepped through, `x{}` takes a map's keys and `x{=}` its values. */
export function valuesAt(inputs: Record<string, unknown>, dotted: string): unknown[] {
  let current: unknown[] = [inputs];
  for (const part of dotted.split(".")) {
    const mapPart = /^(.*)\{(=?)\}$/.exec(part);
    const key = mapPart ? mapPart[1] : part;
    const next: unknown[] = [];
    for (const value of current) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (!item || typeof item !== "object" || isSecret(item)) continue;
        const v = (item as Record<string, unknown>)[key];
        if (v === undefined || v === null) continue;
        if (mapPart) {
          if (typeof v === "object" && !Array.isArray(v)) next.push(...(mapPart[2] ? Object.values(v as object) : Object.keys(v as object)));
        } else next.push(v);
      }
    }
    current = next;
  }
  return current;
}

function shown(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

function cloudResources(resources: PlannedResource[]): PlannedResource[] {
  return resources.filter((r) => !r.isComponent && !r.isProvider && !r.type.startsWith("pulumi:"));
}

/** Checks every planned resource's inputs. Throws only on a mapping that names no member of the model (a bug here). */
export function checkConformance(resources: PlannedResource[], region: string, models: AwsModels): ConformanceReport {
  const errors: ConformanceError[] = [];
  let inputsChecked = 0;
  const unmapped = new Set<string>();
  for (const r of cloudResources(resources)) {
    const mappings = INPUT_MAPPINGS[r.type];
    if (!mappings) {
      if (!(r.type in UNMAPPED_TYPES)) unmapped.add(r.type);
      continue;
    }
    for (const mapping of mappings) {
      const { shape } = models.resolve(mapping.service, mapping.member);
      let values = valuesAt(r.inputs, mapping.input);
      let input = mapping.input;
      if (values.length === 0 && mapping.autoName && r.inputs[`${mapping.input}Prefix`] === undefined) {
        values = [autoNameOf(r.name, mapping.autoName)];
        input = `${mapping.input} (auto-named)`;
      }
      // A list input whose member is a list shape is checked whole (its size) and item by item.
      const checkWhole = shape.type === "list";
      for (const value of values) {
        if (isUnknown(value) || isSecret(value)) continue;
        const items = checkWhole ? [value] : Array.isArray(value) ? value : [value];
        for (const item of items) {
          inputsChecked++;
          for (const problem of shapeProblems(shape, item)) {
            errors.push({
              resource: r.name,
              type: r.type,
              input,
              rule: `${mapping.service} ${mapping.member}`,
              value: shown(item),
              message: problem,
              source: `botocore ${BOTOCORE_VERSION} ${mapping.service} service-2.json`,
            });
          }
        }
        if (checkWhole && Array.isArray(value)) {
          const member = models.service(mapping.service).shapes[shape.member!.shape];
          for (const item of value) {
            if (isUnknown(item) || isSecret(item)) continue;
            for (const problem of shapeProblems(member, item)) {
              errors.push({ resource: r.name, type: r.type, input, rule: `${mapping.service} ${mapping.member}`, value: shown(item), message: problem, source: `botocore ${BOTOCORE_VERSION} ${mapping.service} service-2.json` });
            }
          }
        }
      }
    }
  }
  const ctx: ConformanceContext = { resources: cloudResources(resources), region, models };
  for (const rule of PROSE_RULES) {
    for (const f of rule.run(ctx)) {
      errors.push({ resource: f.resource.name, type: f.resource.type, input: f.input, rule: rule.id, value: shown(f.value), message: f.message, source: rule.source });
    }
  }
  return { checked: true, botocoreVersion: BOTOCORE_VERSION, inputsChecked, errors, unmappedTypes: [...unmapped].sort() };
}

/** The report when the models cannot be read. */
export function notChecked(reason: string): ConformanceReport {
  return { checked: false, reason, botocoreVersion: BOTOCORE_VERSION, inputsChecked: 0, errors: [], unmappedTypes: [] };
}

/** The conformance result as the plan prints it. */
export function formatConformance(report: ConformanceReport): string[] {
  if (!report.checked) return [`AWS conformance: not checked: ${report.reason}`];
  const out = [
    `AWS conformance (botocore ${report.botocoreVersion} models and AWS's documented rules): ${report.errors.length} error${report.errors.length === 1 ? "" : "s"}, ${report.inputsChecked} inputs checked`,
  ];
  for (const e of report.errors) out.push(`  ✗ ${e.resource} (${e.type}) ${e.input} = ${e.value}: ${e.message} [${e.rule}; ${e.source}]`);
  if (report.unmappedTypes.length) out.push(`  note: not mapped to an API member yet: ${report.unmappedTypes.join(", ")}`);
  return out;
}
