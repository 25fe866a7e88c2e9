import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { renderPulumiYaml } from "../../cli/pulumi-yaml";
import { SETTINGS } from "../../config/settings";

const committed = fs.readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8");

describe("Pulumi.yaml", () => {
  it("is what config/settings.ts generates (run `npm run gen:pulumi-yaml` after changing a setting)", () => {
    expect(committed).toBe(renderPulumiYaml());
  });

  it("types, describes and defaults every setting except the two a stack must choose", () => {
    const doc = parse(committed);
    expect(Object.keys(doc.config)).toEqual(Object.keys(SETTINGS));
    for (const [key, decl] of Object.entries<any>(doc.config)) {
      expect(["string", "integer", "boolean", "array"]).toContain(decl.type);
      expect(decl.description.length).toBeGreaterThan(20);
      // Pulumi requires a value for a declared key without a default; only these are meant to be required.
      if (!["tier", "apps"].includes(key)) expect(decl).toHaveProperty("default");
    }
    expect(doc.main).toBe("index.ts");
  });

  it("declares defaults that the schema itself accepts", () => {
    for (const [key, spec] of Object.entries(SETTINGS)) {
      if (!("default" in spec) || "unset" in spec) continue;
      expect([key, spec.schema.safeParse(spec.default).success]).toEqual([key, true]);
    }
  });
});
