/**
 * A whole API request against its operation's input shape in AWS's model:
 * members the shape does not have, required members missing, value types,
 * and each value's length, pattern, enum and range (./shapes.ts). For the
 * calls the operating commands make (cli/ops/), checked in their tests.
 */
import type { AwsModels, Shape } from "./models";
import { shapeProblems } from "./shapes";

type MapShape = Shape & { key: { shape: string }; value: { shape: string } };

/** What is wrong with `input` as the request of `service`'s `operation`, as "Member.Path: problem" lines; [] when it conforms. */
export function requestProblems(models: AwsModels, service: string, operation: string, input: unknown): string[] {
  const model = models.service(service);
  const op = model.operations[operation];
  if (!op) return [`${service} has no operation ${operation}`];
  if (!op.input) return input && Object.keys(input as object).length ? [`${operation} takes no input`] : [];
  const problems: string[] = [];
  const visit = (shapeName: string, value: unknown, where: string): void => {
    const shape = model.shapes[shapeName];
    const at = where || operation;
    switch (shape.type) {
      case "structure": {
        if (!value || typeof value !== "object" || Array.isArray(value)) return void problems.push(`${at}: is not an object (${shapeName})`);
        const members = shape.members ?? {};
        for (const key of Object.keys(value)) {
          if (!members[key]) problems.push(`${at}: ${shapeName} has no member ${key}`);
        }
        for (const key of shape.required ?? []) {
          if ((value as Record<string, unknown>)[key] === undefined) problems.push(`${at}: the required member ${key} is missing`);
        }
        for (const [key, member] of Object.entries(members)) {
          const v = (value as Record<string, unknown>)[key];
          if (v !== undefined) visit(member.shape, v, where ? `${where}.${key}` : key);
        }
        return;
      }
      case "list":
        if (!Array.isArray(value)) return void problems.push(`${at}: is not a list (${shapeName})`);
        problems.push(...shapeProblems(shape, value).map((p) => `${at}: ${p}`));
        value.forEach((item, i) => visit(shape.member!.shape, item, `${at}[${i}]`));
        return;
      case "map": {
        if (!value || typeof value !== "object" || Array.isArray(value)) return void problems.push(`${at}: is not a map (${shapeName})`);
        const { key, value: valueShape } = shape as MapShape;
        for (const [k, v] of Object.entries(value)) {
          problems.push(...shapeProblems(model.shapes[key.shape], k).map((p) => `${at} key ${JSON.stringify(k)}: ${p}`));
          visit(valueShape.shape, v, `${at}.${k}`);
        }
        return;
      }
      case "string":
        if (typeof value !== "string") return void problems.push(`${at}: is not a string`);
        break;
      case "integer":
      case "long":
        if (typeof value !== "number" || !Number.isInteger(value)) return void problems.push(`${at}: is not a whole number`);
        break;
      case "double":
      case "float":
        if (typeof value !== "number") return void problems.push(`${at}: is not a number`);
        break;
      case "boolean":
        if (typeof value !== "boolean") return void problems.push(`${at}: is not true or false`);
        break;
      case "timestamp":
        if (typeof value !== "number" && typeof value !== "string") return void problems.push(`${at}: is not a timestamp`);
        break;
    }
    problems.push(...shapeProblems(shape, value).map((p) => `${at}: ${p}`));
  };
  visit(op.input.shape, input, "");
  return problems;
}
