/**
 * An app's own secrets (appSecrets) planned offline, their values set as
 * secret config the way `pulumi config set --secret` sets them: the dev stack
 * (single box) in this process, to read the secret's value and every rendered
 * file, and the CLI (`npm run plan -- --json`, dev and prod) as a user runs it.
 * The value goes into the app's Secrets Manager secret and nowhere else.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { unwrap } from "../../cli/mock-engine";
import { planStack, printable, type PlanReport } from "../../cli/plan-stack";
import type { RenderedFile } from "../../server/types";
import { deploymentsInProcess } from "../../tiers";
import { json, named, ofType } from "../helpers";

const repo = path.resolve(__dirname, "../..");
/** Recognisable, with what quoting must survive: a quote, $, a backslash, a newline. */
const DSN = "https://hunter2d5n@o1.ingest.sentry.io/1?x='y' $HOME \\ end\nsecond-line-hunter2d5n";
const STRIPE = "sk_live_hunter2stripe";
const SECRETS = {
  "django-tiers:appSecrets": JSON.stringify(["SENTRY_DSN", "mysite:STRIPE_API_KEY"]),
  "django-tiers:appSecret_mysite_SENTRY_DSN": DSN,
  "django-tiers:appSecret_mysite_STRIPE_API_KEY": STRIPE,
};

function cli(...args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args], { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const secretArgs = () => [
  "--set", `appSecrets=${SECRETS["django-tiers:appSecrets"]}`,
  "--set-secret", `appSecret_mysite_SENTRY_DSN=${DSN}`,
  "--set-secret", `appSecret_mysite_STRIPE_API_KEY=${STRIPE}`,
];

describe("appSecrets on the dev stack (single box), planned in this process", () => {
  let report: PlanReport;
  let files: Record<string, RenderedFile[]>;
  beforeAll(async () => {
    report = await planStack({ projectDir: repo, stack: "dev", overrides: SECRETS, secretKeys: Object.keys(SECRETS).filter((k) => k.includes("appSecret_")) });
    files = await unwrap(deploymentsInProcess()[0].serverFiles);
  });

  it("puts each value into the app's Secrets Manager secret, as a Pulumi secret, beside the generated ones", () => {
    const version = named(report.resources, "secrets-mysite-value");
    expect(version.inputs.secretString?.constructor?.name).toBe("SecretValue");
    const document = json(version.inputs.secretString);
    expect(Object.keys(document).sort()).toEqual(["DATABASE_PASSWORD", "DJANGO_SECRET_KEY", "SENTRY_DSN", "STRIPE_API_KEY"]);
    expect(document.SENTRY_DSN).toBe(DSN);
    expect(document.STRIPE_API_KEY).toBe(STRIPE);
  });

  it("writes no value into any rendered file, and no name into app.env", () => {
    const all = Object.values(files).flat();
    expect(all.length).toBeGreaterThan(10);
    for (const file of all) {
      expect([file.path, file.content.includes("hunter2")]).toEqual([file.path, false]);
    }
    const env = all.find((f) => f.path === "/etc/django-tiers/mysite/app.env")!.content;
    expect(env).not.toMatch(/SENTRY_DSN|STRIPE_API_KEY/);
    expect(report.checks.find((c) => c.id === "server-files-no-secrets")?.status).toBe("pass");
  });

  it("prints no value in the plan: resources, outputs, notes, checks", () => {
    const printed = JSON.stringify({ ...report, resources: report.resources.map((r) => ({ ...r, inputs: printable(r.inputs) })) });
    expect(printed).not.toContain("hunter2");
    expect(report.notes).toContain(
      "App mysite's own secrets: SENTRY_DSN (from django-tiers:appSecret_mysite_SENTRY_DSN), STRIPE_API_KEY (from django-tiers:appSecret_mysite_STRIPE_API_KEY), in its Secrets Manager secret and its processes' environment (secrets.env).",
    );
  });

  it("re-runs the box's rollout when a value changes: the secret's version id is in its command", () => {
    const rollout = ofType(report.resources, "aws:ssm/association:Association").find((r) => r.name.endsWith("rollout"))!;
    expect((rollout.inputs.parameters as { commands: string }).commands).toMatch(/; secrets: initial; app secrets: mock-version-secrets-mysite-value; config: [0-9a-f]{12}$/);
  });
});

describe("npm run plan with appSecrets", () => {
  it("prints no value in --json, and exits 0 (dev)", () => {
    const r = cli("--stack", "dev", ...secretArgs(), "--json");
    expect(r.stderr).not.toContain("hunter2");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("hunter2");
    expect(JSON.parse(r.stdout).conformance.errors).toEqual([]);
  });

  it("tags every fleet's servers with a digest of the secrets' versions (prod), so a new value replaces them; without appSecrets there is no tag", () => {
    const tagsOf = (report: PlanReport) =>
      ofType(report.resources, "aws:ec2/launchTemplate:LaunchTemplate").map((lt) => {
        const instance = (lt.inputs.tagSpecifications as Array<{ resourceType: string; tags: Record<string, string> }>).find((t) => t.resourceType === "instance")!;
        return [lt.name, instance.tags["django-tiers:app-secrets"]];
      });
    const r = cli("--stack", "prod", ...secretArgs(), "--json");
    expect(r.stdout + r.stderr).not.toContain("hunter2");
    expect(r.code).toBe(0);
    const withSecrets = tagsOf(JSON.parse(r.stdout));
    expect(withSecrets.length).toBeGreaterThanOrEqual(3);
    for (const [name, tag] of withSecrets) expect([name, tag]).toEqual([name, expect.stringMatching(/^[0-9a-f]{16}$/)]);
    const without = cli("--stack", "prod", "--json");
    expect(without.code).toBe(0);
    for (const [name, tag] of tagsOf(JSON.parse(without.stdout))) expect([name, tag]).toEqual([name, undefined]);
  });

  it("refuses a value set in plain text, naming the command to set it as a secret and printing no value (exit 2)", () => {
    const r = cli("--stack", "dev", "--set", 'appSecrets=["SENTRY_DSN"]', "--set", "appSecret_mysite_SENTRY_DSN=hunter2plain");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "django-tiers:appSecret_mysite_SENTRY_DSN (got \"[secret]\"): is stored in plain text in the stack's config file. Allowed: the value set as a secret: `pulumi config set --secret django-tiers:appSecret_mysite_SENTRY_DSN <value>`",
    );
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  });
});
