/**
 * `npm run plan` as a newcomer runs it: the real CLI in a child process, for
 * every stack file in the repo, with the policy checks, and with bad config.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import { parseOutputs } from "../../cli/promote/workspace";
import * as path from "path";

const repo = path.resolve(__dirname, "../..");

function plan(...args: string[]) {
  const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), ...args], { cwd: repo, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function planJson(...args: string[]) {
  const r = plan(...args, "--json");
  if (r.code !== 0) throw new Error(`plan ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe.each(["dev", "staging", "files", "prod"])("plan --stack %s", (stack) => {
  let report: any;
  beforeAll(() => {
    report = planJson("--stack", stack);
  });

  it("passes every policy check that applies, and says why for the others", () => {
    const failing = report.checks.filter((c: any) => c.status === "fail");
    expect(failing).toEqual([]);
    for (const c of report.checks.filter((c: any) => c.status === "not-applicable" || c.status === "relaxed")) {
      expect(String(c.reason ?? "")).not.toBe("");
    }
    expect(report.summary.pass).toBeGreaterThan(20);
  });

  it("gives every resource a parent component, except the stack itself and providers", () => {
    const urns = new Set(report.resources.map((r: any) => r.urn));
    const topLevel = report.resources.filter((r: any) => !r.isComponent && !r.isProvider && r.type !== "pulumi:pulumi:Stack" && !urns.has(r.parent));
    expect(topLevel.map((r: any) => r.name)).toEqual([]);
  });

  it("checks every input against AWS's API models and documented rules, with no error", () => {
    expect(report.conformance).toMatchObject({ checked: true, errors: [], unmappedTypes: [] });
    expect(report.conformance.inputsChecked).toBeGreaterThan(100);
  });

  it("never prints a secret value", () => {
    expect(JSON.stringify(report)).not.toMatch(/mock-secret-/);
  });

  (stack === "prod" ? it.skip : it)("creates the single box with its guarantees", () => {
    const instance = report.resources.find((r: any) => r.type === "aws:ec2/instance:Instance");
    expect(instance.inputs.metadataOptions).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(instance.inputs.rootBlockDevice).toMatchObject({ encrypted: true, volumeType: "gp3" });
    expect(instance.inputs.disableApiTermination).toBe(stack === "prod");
    expect(instance.options.ignoreChanges).toEqual(expect.arrayContaining(["ami", "userDataBase64"]));
  });
});

describe("plan --stack prod (load-balanced, every add-on)", () => {
  let report: any;
  beforeAll(() => {
    report = planJson("--stack", "prod");
  });
  const find = (name: string) => {
    const found = report.resources.filter((r: any) => r.name === name);
    expect(found).toHaveLength(1);
    return found[0];
  };

  it("puts the ALB in front of the blue and green fleets, all traffic to the live color", () => {
    const https = find("lb-https");
    expect(https.inputs.defaultActions[0].forward.targetGroups).toEqual([
      { arn: expect.stringContaining("lb-tg-blue"), weight: 100 },
      { arn: expect.stringContaining("lb-tg-green"), weight: 0 },
    ]);
    expect(find("app-blue-asg").inputs).toMatchObject({ minSize: 2, maxSize: 4, healthCheckType: "ELB" });
    expect(find("app-green-asg").inputs).toMatchObject({ minSize: 0, desiredCapacity: 0 });
    expect(report.outputs.liveColor).toBe("blue");
    expect(report.outputs.colors.blue).toMatchObject({ running: true, weight: 100, minSize: 2 });
    expect(report.outputs.colors.green).toMatchObject({ running: false, weight: 0, minSize: 0 });
  });

  it("exports what npm run promote reads (the contract of cli/promote/workspace.ts)", () => {
    const parsed = parseOutputs(report.outputs, "prod");
    expect(parsed.liveColor).toBe("blue");
    expect(parsed.colors.green.targetGroupArn).toMatch(/lb-tg-green/);
    expect(parsed.siteUrls).toEqual(["https://example.com/", "https://www.example.com/"]);
    expect(parsed.colors.blue.release).toBe(report.outputs.builtRelease);
  });

  it("runs no single box, and no server has a public address", () => {
    expect(report.resources.filter((r: any) => r.type === "aws:ec2/instance:Instance")).toEqual([]);
    for (const lt of report.resources.filter((r: any) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")) {
      expect(lt.inputs.networkInterfaces[0].associatePublicIpAddress).toBe("false");
      expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: "required" });
    }
  });

  it("points the domains at CloudFront, which reaches the ALB over HTTPS and the buckets through OAC", () => {
    expect(find("dns-example.com").inputs).toMatchObject({ type: "CNAME", content: "d111111abcdef8.cloudfront.net" });
    const origins = find("cdn-distribution").inputs.origins.map((o: any) => o.domainName);
    expect(origins).toEqual(expect.arrayContaining([expect.stringMatching(/elb\.amazonaws\.com$/), expect.stringMatching(/\.s3\.us-east-1\.amazonaws\.com$/)]));
    expect(find("lb-sg").inputs.tags["django-tiers:role"]).toBe("edge");
    expect(report.resources.filter((r: any) => r.name.startsWith("lb-in-https-cloudfront"))).toHaveLength(1);
  });

  it("renders the app servers behind the ALB and the SQS workers, with one beat", () => {
    expect(report.resources.filter((r: any) => r.type === "aws:sqs/queue:Queue").map((r: any) => r.name).sort()).toEqual(["tasks-dlq-celery", "tasks-queue-celery"]);
    expect(find("tasks-scheduler-asg").inputs).toMatchObject({ minSize: 1, maxSize: 1 });
  });
});

describe("plan --stack prod, other add-on choices", () => {
  it.each([["cdn=cloudflare"], ["cdn=none"], ["taskQueueBroker=redis"]])("with %s passes every policy check that applies", (setting) => {
    const report = planJson("--stack", "prod", "--set", setting);
    expect(report.checks.filter((c: any) => c.status === "fail")).toEqual([]);
    if (setting === "cdn=cloudflare") {
      // Cloudflare fronts the ALB: its checks apply and pass, and the ALB admits only Cloudflare's ranges.
      expect(report.checks.find((c: any) => c.id === "cloudflare-origin-locked").status).toBe("pass");
      expect(report.resources.filter((r: any) => r.name.startsWith("lb-in-https-cloudflare")).length).toBeGreaterThan(10);
    }
  });
});

describe("plan output", () => {
  it("prints a tree by parent, the count, notes, relaxations and policy results", () => {
    const r = plan("--stack", "dev");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Plan for django-tiers\/dev: tier single-box, environment dev, region us-east-1/);
    expect(r.stdout).toMatch(/Resources: \d+ to create, in \d+ components/);
    expect(r.stdout).toMatch(/\n[├└]─ django-tiers:index:SingleBox box\n/);
    expect(r.stdout).toMatch(/\n[│ ]  [├└]─ aws:ec2\/instance:Instance box-instance  instanceType=t4g.small/);
    expect(r.stdout).toContain("No domain: the site is served over plain HTTP");
    expect(r.stdout).toContain("No NAT gateway");
    expect(r.stdout).toContain("Without a domain (no TLS) it warns security.W004, security.W008, security.W012, security.W016");
    expect(r.stdout).toContain("deletionProtection is off (dev)");
    expect(r.stdout).toMatch(/secrets-rotation \(setting secretsRotation\)/);
    expect(r.stdout).toMatch(/Policy checks: \d+ pass/);
    expect(r.stdout).toMatch(/Policy checks: [\s\S]*\nAWS conformance \(botocore \d+\.\d+\.\d+ models and AWS's documented rules\): 0 errors, \d+ inputs checked/);
  });

  it("counts in text what it lists in JSON", () => {
    const text = plan("--stack", "dev").stdout;
    const json = planJson("--stack", "dev");
    const cloud = json.resources.filter((r: any) => !r.isComponent && r.type !== "pulumi:pulumi:Stack").length;
    expect(text).toContain(`Resources: ${cloud} to create`);
  });

  it("shows what a setting changes (--set), e.g. DNS records for a domain", () => {
    const json = planJson("--stack", "dev", "--set", "domains=[\"app.example.org\"]", "--set", "cloudflareZoneId=0123456789abcdef0123456789abcdef", "--set", "acmeEmail=ops@example.org");
    const records = json.resources.filter((r: any) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
    expect(records.map((r: any) => [r.inputs.name, r.inputs.content])).toEqual([["app.example.org", "203.0.113.20"]]);
    expect(json.outputs.siteUrls).toEqual(["https://app.example.org/"]);
  });
});

describe("plan lists what each app's bundle leaves out", () => {
  let appsDir: string;
  beforeAll(() => {
    appsDir = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-plan-bundle-"));
    fs.cpSync(path.join(repo, "examples/apps/mysite"), path.join(appsDir, "mysite"), { recursive: true });
    fs.writeFileSync(path.join(appsDir, "mysite/.gitignore"), "*.log\n");
    fs.writeFileSync(path.join(appsDir, "mysite/debug.log"), "x");
    fs.writeFileSync(path.join(appsDir, "mysite/.env.local"), "SECRET=1");
  });
  afterAll(() => fs.rmSync(appsDir, { recursive: true, force: true }));

  it("names each file or folder with its reason, and says nothing for the sample app, which leaves out nothing", () => {
    const notes: string[] = planJson("--stack", "dev", "--set", `appsDir=${appsDir}`).notes;
    expect(notes).toContain("App mysite's bundle leaves out: .env.local (.env files are never shipped (local secrets; the app's environment comes from the stack)); debug.log (.gitignore:1 (*.log)).");
    expect(planJson("--stack", "dev").notes.join("\n")).not.toContain("bundle leaves out");
  });
});

describe("plan with bad config", () => {
  it("exits 2 with the validation message and declares nothing", () => {
    const r = plan("--stack", "dev", "--set", "tier=kubernetes", "--set", "rootVolumeGb=-5");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('django-tiers:tier (got "kubernetes"): must be one of "single-box"');
    expect(r.stderr).toContain("django-tiers:rootVolumeGb (got -5): must be at least 8");
    expect(r.stdout).not.toContain("Resources:");
  });

  it("reports the error as JSON with --json", () => {
    const r = plan("--stack", "dev", "--set", "taskWorker=huey", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: "SettingsError", message: expect.stringContaining("django-tiers:taskWorker") });
  });

  it("refuses a stack without aws:region rather than assume us-east-1", () => {
    const env = { ...process.env };
    delete env.AWS_REGION;
    delete env.AWS_DEFAULT_REGION;
    const r = spawnSync(path.join(repo, "node_modules/.bin/tsx"), [path.join(repo, "cli/plan.ts"), "--stack", "dev", "--set", "aws:region="], { cwd: repo, encoding: "utf8", env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/- aws:region \(not set\): is required: the stack deploys to the region it names and assumes none/);
    expect(r.stdout).not.toContain("Resources:");
  });

  it("names the stacks that exist when the stack file is missing", () => {
    const r = plan("--stack", "qa");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No stack file Pulumi\.qa\.yaml .* stacks here: dev, files, prod, staging/);
  });
});
