import * as fs from "fs";
import * as path from "path";
import { GENERATED_DOCS, stackNames } from "../../cli/docs";
import { ALL_CHECKS } from "../../policies";
import { SETTINGS } from "../../config/settings";

const repo = path.resolve(__dirname, "../..");

describe("generated docs", () => {
  it.each(Object.keys(GENERATED_DOCS))("%s is up to date (run `npm run docs`)", (file) => {
    expect(fs.readFileSync(path.join(repo, file), "utf8")).toBe(GENERATED_DOCS[file]());
  });

  it("list every setting and every check", () => {
    const settings = GENERATED_DOCS["docs/settings.md"]();
    for (const key of Object.keys(SETTINGS)) expect(settings).toContain(`| \`${key}\` |`);
    const policies = GENERATED_DOCS["docs/policies.md"]();
    for (const c of ALL_CHECKS) expect(policies).toContain(`| \`${c.id}\` |`);
  });

  it("have a page per stack file with its diagram, cost and critical path", () => {
    expect(stackNames()).toEqual(expect.arrayContaining(["dev", "prod", "staging"]));
    for (const stack of stackNames()) {
      const page = GENERATED_DOCS[`docs/stacks/${stack}.md`]();
      // The front of the stack is in its diagram: the box, or the load balancer and the fleets.
      expect(page).toMatch(/\n```mermaid\nflowchart LR\n[\s\S]*subgraph (c_box|c_lb)\[/);
      if (page.includes("subgraph c_lb[")) expect(page).toMatch(/subgraph c_app_blue\[[\s\S]*subgraph c_app_green\[/);
      expect(page).toMatch(/\n## Monthly cost: about \$\d+\.\d\d/);
      expect(page).toMatch(/\n## First `pulumi up`: about \d+ min/);
    }
  });
});

describe("hand-written docs", () => {
  it("link only to files that exist", () => {
    const pages = ["README.md", ...fs.readdirSync(path.join(repo, "docs"), { recursive: true }).map(String).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
    const broken: string[] = [];
    for (const page of pages) {
      const text = fs.readFileSync(path.join(repo, page), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        if (!fs.existsSync(path.resolve(repo, path.dirname(page), target))) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
