/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would,
 * so the offline plan sees the same config `pulumi up` would.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** A problem with the project or stack files the user pointed the plan at. */
export class StackFileError extends Error {
  override name = "StackFileError";
}

export interface StackConfig {
  project: string;
  stack: string;
  /** The stack program, relative to the project folder (Pulumi.yaml `main`, else index.ts). */
  main: string;
  /** Full keys (`project:key`, `aws:region`) → values, project defaults applied. */
  config: Record<string, unknown>;
  /** Keys whose values are encrypted in the stack file (`secure:`); the plan gives them stand-in values. */
  secretKeys: string[];
}

export function readStackConfig(projectDir: string, stack: string): StackConfig {
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(projectFile)) throw new StackFileError(`No Pulumi.yaml in ${projectDir}`);
  const project = parse(fs.readFileSync(projectFile, "utf8")) as { name: string; main?: string; config?: Record<string, { default?: unknown }> };
  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    const stacks = fs.readdirSync(projectDir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)).sort();
    throw new StackFileError(`No stack file ${path.basename(stackFile)} in ${projectDir}; stacks here: ${stacks.join(", ") || "none"}`);
  }
  const stackDoc = (parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };

  const config: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    const full = key.includes(":") ? key : `${project.name}:${key}`;
    if (decl && typeof decl === "object" && "default" in decl) config[full] = decl.default;
  }
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    if (value && typeof value === "object" && "secure" in (value as object)) {
      // Encrypted values cannot be read without the stack's key; the plan needs none of them.
      config[key] = "offline-plan-stand-in";
      secretKeys.push(key);
    } else {
      config[key] = value;
    }
  }
  return { project: project.name, stack, main: project.main ?? "index.ts", config, secretKeys };
}
