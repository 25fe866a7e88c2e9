/**
 * The plan CLI's cost, first-deploy time and diagram, as a newcomer sees
 * them: the real CLI in a child process on the repository's stacks.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const repo = path.resolve(__dirname, "../..");

function plan(...args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args], { cwd: repo, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("plan --stack dev: cost and first deploy", () => {
  let text: string;
  let report: any;
  beforeAll(() => {
    text = plan("--stack", "dev").stdout;
    const r = plan("--stack", "dev", "--json");
    if (r.code !== 0) throw new Error(r.stderr);
    report = JSON.parse(r.stdout);
  });

  it("prices every cloud resource in --json: priced, free or unknown, and totals the priced ones", () => {
    const cloud = report.resources.filter((r: any) => !r.isComponent && !r.isProvider && r.type !== "pulumi:pulumi:Stack");
    expect(report.cost.resources.map((c: any) => c.urn).sort()).toEqual(cloud.map((r: any) => r.urn).sort());
    for (const c of report.cost.resources) expect(["priced", "free", "unknown"]).toContain(c.status);
    const sum = report.cost.resources.reduce((s: number, c: any) => s + (c.monthly ?? 0), 0);
    expect(report.cost.totalMonthly).toBeCloseTo(sum, 1);
    expect(report.cost).toMatchObject({ currency: "USD", region: "us-east-1", pricesAsOf: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) });
  });

  it("prices the box from its inputs and shows the VPC and IAM as free", () => {
    const byName = (n: string) => report.cost.resources.find((c: any) => c.name === n);
    expect(byName("box-instance").items.map((i: any) => i.what)).toEqual(["EC2 t4g.small", "root volume (gp3)", "detailed monitoring"]);
    expect(byName("box-eip").items[0]).toMatchObject({ what: "public IPv4 address", quantity: 730, unitPrice: 0.005 });
    expect(byName("network-vpc").status).toBe("free");
    expect(byName("box-role").status).toBe("free");
    expect(byName("secrets-mysite-db-password").status).toBe("free");
  });

  it("prints the cost section and the first-deploy critical path", () => {
    expect(text).toMatch(/\nMonthly cost: about \$\d+\.\d\d(?: \+ \d+ resources? of unknown price)? \(USD, us-east-1, list prices of \d{4}-\d\d-\d\d\)\n/);
    expect(text).toMatch(/\n +\$\d+\.\d\d {2}box-instance +EC2 t4g\.small \$\d+\.\d\d, root volume \(gp3\) \$1\.60, detailed monitoring \$2\.10\n/);
    expect(text).toMatch(/\nFirst `pulumi up`: about \d+ min( \d+ s)? \(critical path below/);
    expect(text).toMatch(/→ +\d:\d\d {2}aws:ec2\/instance:Instance box-instance \(1 min\)/);
  });

  it("puts the box on the critical path of --json, in order", () => {
    const steps = report.deployTime.path;
    expect(steps.map((s: any) => s.name)).toContain("box-instance");
    for (let i = 1; i < steps.length; i++) expect(steps[i].startsAt).toBeGreaterThanOrEqual(steps[i - 1].finishesAt);
    expect(report.deployTime.totalSeconds).toBe(steps[steps.length - 1].finishesAt);
  });
});

describe("plan --diagram", () => {
  it("prints the stack's Mermaid flowchart, with the traffic path to the box", () => {
    const r = plan("--stack", "staging", "--diagram");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^flowchart LR\n/);
    expect(r.stdout).toContain(`subgraph c_box["SingleBox box"]`);
    expect(r.stdout).toContain(`users ==>|"HTTP(S)"| dns_DnsRecord`);
    expect(r.stdout).toContain(`dns_DnsRecord ==>|"resolves to"| box_eip`);
    expect(r.stdout).toContain("box_eip ==> box_instance");
  });
});
