/**
 * Checks one value against one shape of AWS's API model: string length,
 * pattern and enum; numeric range; list size. Pure; no Pulumi.
 */
import type { Shape } from "./models";

/** A botocore pattern as a JS RegExp (Smithy patterns are ECMA 262, unanchored). */
function regexOf(pattern: string): RegExp | undefined {
  for (const flags of ["u", ""]) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // next flags
    }
  }
  return undefined;
}

/** What is wrong with `value` for `shape`, or [] when it conforms. */
export function shapeProblems(shape: Shape, value: unknown): string[] {
  const problems: string[] = [];
  switch (shape.type) {
    case "string": {
      if (typeof value !== "string") return typeof value === "number" || typeof value === "boolean" ? shapeProblems(shape, String(value)) : [];
      // Smithy lengths count Unicode code points.
      const length = [...value].length;
      if (shape.min !== undefined && length < shape.min) problems.push(`is ${length} characters, fewer than the minimum ${shape.min}`);
      if (shape.max !== undefined && length > shape.max) problems.push(`is ${length} characters, more than the maximum ${shape.max}`);
      if (shape.pattern) {
        const re = regexOf(shape.pattern);
        if (re && !re.test(value)) problems.push(`does not match the pattern ${shape.pattern}`);
      }
      if (shape.enum && !shape.enum.includes(value)) {
        problems.push(`is not one of the values AWS accepts${shape.enum.length <= 12 ? ` (${shape.enum.join(", ")})` : ` (${shape.enum.length} values)`}`);
      }
      break;
    }
    case "integer":
    case "long":
    case "double":
    case "float": {
      const n = typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      if (typeof n !== "number") return [];
      if (shape.min !== undefined && n < shape.min) problems.push(`is ${n}, below the minimum ${shape.min}`);
      if (shape.max !== undefined && n > shape.max) problems.push(`is ${n}, above the maximum ${shape.max}`);
      break;
    }
    case "list": {
      if (!Array.isArray(value)) return [];
      if (shape.min !== undefined && value.length < shape.min) problems.push(`has ${value.length} items, fewer than the minimum ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) problems.push(`has ${value.length} items, more than the maximum ${shape.max}`);
      break;
    }
  }
  return problems;
}
