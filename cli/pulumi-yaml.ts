/**
 * Pulumi.yaml is generated from config/settings.ts, the one table of
 * settings: `npm run gen:pulumi-yaml` writes it, a test fails when the
 * committed file differs.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { SETTINGS } from "../config/settings";

export function renderPulumiYaml(): string {
  const config: Record<string, Record<string, unknown>> = {};
  for (const [key, spec] of Object.entries(SETTINGS)) {
    const decl: Record<string, unknown> = { type: spec.type };
    if (spec.type === "array") decl.items = { type: spec.items ?? "string" };
    decl.description = spec.description;
    if ("default" in spec) decl.default = spec.default;
    config[key] = decl;
  }
  const doc = {
    name: "django-tiers",
    description: "A Django application on AWS, one rung of the ladder at a time (single box → RDS → S3 → load-balanced fleets).",
    runtime: { name: "nodejs", options: { typescript: true } },
    // package.json's main is the library others import; the stack program is index.ts.
    main: "index.ts",
    config,
  };
  return "# Generated from config/settings.ts by `npm run gen:pulumi-yaml`; edit that table, not this file.\n" + stringify(doc, { lineWidth: 0 });
}

if (require.main === module) {
  const target = path.resolve(__dirname, "..", "Pulumi.yaml");
  fs.writeFileSync(target, renderPulumiYaml());
  console.log(`wrote ${target}`);
}
