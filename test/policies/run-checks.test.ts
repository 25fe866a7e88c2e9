/**
 * The runner: statuses, relaxations, summaries, the text the plan CLI
 * prints, and the catalogue's own invariants (ids, refs, docs, live items).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ALL_CHECKS, CHECK_GROUPS, findCheck, formatResults, LIVE_CHECKS, runChecks, summarize } from "../../policies";
import type { Check } from "../../policies/types";
import { loadBalancedPlan, set, singleBoxPlan, urnOf } from "./fixtures";

const byId = (results: ReturnType<typeof runChecks>, id: string) => results.find((r) => r.id === id)!;

describe("runChecks", () => {
  test("runs every check exactly once, in catalogue order", () => {
    expect(runChecks(singleBoxPlan()).map((r) => r.id)).toEqual(ALL_CHECKS.map((c) => c.id));
  });

  test("a failing check reports fail with its findings", () => {
    const p = set(loadBalancedPlan(), "db", "multiAz", false);
    const r = byId(runChecks(p), "rds-multi-az");
    expect(r.status).toBe("fail");
    expect(r.findings).toEqual([{ subject: urnOf(p, "db"), message: "db: multiAz is not true" }]);
    expect(r.refs).toContain("CKV_AWS_157");
  });

  test("a relaxed failing check reports relaxed, with the setting and the reason, and keeps its findings", () => {
    const p = set(loadBalancedPlan(), "db", "multiAz", false);
    p.relaxations = [{ check: "rds-multi-az", setting: "database.multiAz=false", reason: "staging-sized prod for the beta" }];
    const r = byId(runChecks(p), "rds-multi-az");
    expect(r.status).toBe("relaxed");
    expect(r.reason).toBe("database.multiAz=false: staging-sized prod for the beta");
    expect(r.findings.map((f) => f.subject)).toEqual([urnOf(p, "db")]);
    expect(summarize(runChecks(p))).toMatchObject({ relaxed: 1, fail: 0 });
  });

  test("a relaxation only waives its own check", () => {
    const p = set(set(loadBalancedPlan(), "db", "multiAz", false), "db", "deletionProtection", false);
    p.relaxations = [{ check: "rds-multi-az", setting: "database.multiAz=false", reason: "beta" }];
    const results = runChecks(p);
    expect(byId(results, "rds-multi-az").status).toBe("relaxed");
    expect(byId(results, "rds-deletion-protection").status).toBe("fail");
  });

  test("two relaxations of one check are both listed", () => {
    const p = set(loadBalancedPlan(), "db", "multiAz", false);
    p.relaxations = [
      { check: "rds-multi-az", setting: "a", reason: "one" },
      { check: "rds-multi-az", setting: "b", reason: "two" },
    ];
    expect(byId(runChecks(p), "rds-multi-az").reason).toBe("a: one; b: two");
  });

  test("a relaxation of a check that passes leaves it passing and says the relaxation is unneeded", () => {
    const p = loadBalancedPlan();
    p.relaxations = [{ check: "rds-multi-az", setting: "database.multiAz=false", reason: "beta" }];
    const r = byId(runChecks(p), "rds-multi-az");
    expect(r.status).toBe("pass");
    expect(r.reason).toMatch(/passes without its relaxation/);
  });

  test("a relaxation naming an unknown check throws", () => {
    const p = singleBoxPlan();
    p.relaxations = [{ check: "rds-multi-azz", setting: "x", reason: "typo" }];
    expect(() => runChecks(p)).toThrow(/unknown check "rds-multi-azz"/);
  });

  test("not-applicable carries its reason", () => {
    const r = byId(runChecks(singleBoxPlan()), "rds-storage-encrypted");
    expect(r).toMatchObject({ status: "not-applicable", reason: "no RDS instance in this plan", findings: [] });
  });

  test("a check that throws is reported as a failure, never a pass", () => {
    const broken: Check = {
      id: "broken",
      title: "Broken",
      refs: [],
      run: () => {
        throw new Error("boom");
      },
    };
    const [r] = runChecks(singleBoxPlan(), [broken]);
    expect(r.status).toBe("fail");
    expect(r.findings[0].message).toMatch(/crashed: boom/);
  });
});

describe("summarize and formatResults", () => {
  test("counts by status", () => {
    const p = set(loadBalancedPlan(), "alb", "dropInvalidHeaderFields", false);
    const s = summarize(runChecks(p));
    expect(s.total).toBe(ALL_CHECKS.length);
    expect(s.fail).toBe(1);
    expect(s.pass + s.fail + s.relaxed + s["not-applicable"]).toBe(s.total);
  });

  test("prints aligned status, id and title, then findings or reasons", () => {
    const p = set(loadBalancedPlan(), "alb", "dropInvalidHeaderFields", false);
    p.environment = "prod";
    set(p, "db", "multiAz", false);
    p.relaxations = [{ check: "rds-multi-az", setting: "database.multiAz=false", reason: "beta" }];
    const lines = formatResults(runChecks(p)).split("\n");
    const width = Math.max(...ALL_CHECKS.map((c) => c.id.length));
    const fail = lines.findIndex((l) => l.startsWith("FAIL"));
    expect(lines[fail]).toBe(`FAIL     ${"alb-drop-invalid-headers".padEnd(width)}  ALB drops invalid header fields`);
    expect(lines[fail + 1].trim()).toBe("- alb: dropInvalidHeaderFields is not true");
    const relaxed = lines.findIndex((l) => l.startsWith("RELAXED"));
    expect(lines[relaxed + 1].trim()).toBe("relaxed by database.multiAz=false: beta");
    expect(lines[lines.length - 1]).toMatch(new RegExp(`^${ALL_CHECKS.length} checks: \\d+ passed, 1 failed, 1 relaxed, \\d+ not applicable$`));
    // Every status line starts its id in the same column.
    for (const l of lines.filter((x) => /^(PASS|FAIL|N\/A|RELAXED) /.test(x))) expect(l[9]).not.toBe(" ");
  });

  test("shows at most the first findings and counts the rest", () => {
    const p = loadBalancedPlan();
    for (const name of ["media", "artifacts", "logs", "cdn-logs"]) p.resources = p.resources.filter((r) => r.name !== `${name}-sse`);
    const text = formatResults(runChecks(p), 2);
    expect(text).toMatch(/… and 2 more/);
  });
});

describe("the catalogue", () => {
  test("ids are unique kebab-case", () => {
    const ids = ALL_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  test("every check has a title, a description and well-formed refs", () => {
    for (const c of ALL_CHECKS) {
      expect([c.id, c.title.length > 5]).toEqual([c.id, true]);
      expect([c.id, (c.description ?? "").length > 10]).toEqual([c.id, true]);
      for (const ref of c.refs) expect(ref).toMatch(/^(CKV2?_AWS_\d+|AVD-AWS-\d{4}|KICS [0-9a-f-]{36}|AG( [a-z0-9-]+)?|WA [A-Z]+\d+-BP\d+|\S.*)$/);
    }
  });

  test("the CHECKS.md scanner ids are all covered", () => {
    const refs = new Set(ALL_CHECKS.flatMap((c) => c.refs));
    const expected = [
      "CKV_AWS_79", "CKV_AWS_341", "AVD-AWS-0028", "AVD-AWS-0130", "CKV_AWS_8", "CKV_AWS_3", "AVD-AWS-0131", "CKV_AWS_88", "CKV_AWS_126",
      "CKV_AWS_46", "CKV2_AWS_41", "CKV_AWS_24", "CKV_AWS_25", "AVD-AWS-0107", "CKV_AWS_260", "CKV_AWS_277", "CKV_AWS_23", "CKV2_AWS_12",
      "CKV_AWS_16", "AVD-AWS-0080", "CKV_AWS_17", "AVD-AWS-0180", "CKV_AWS_157", "CKV_AWS_133", "AVD-AWS-0077", "CKV_AWS_293", "AVD-AWS-0177",
      "CKV2_AWS_69", "CKV_AWS_129", "CKV2_AWS_30", "CKV_AWS_226", "CKV_AWS_353", "CKV_AWS_354", "WA SEC02-BP03",
      "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV2_AWS_6", "CKV2_AWS_65", "CKV_AWS_19", "CKV_AWS_145", "CKV_AWS_21",
      "CKV_AWS_379", "CKV_AWS_70", "CKV_AWS_18", "CKV2_AWS_61", "CKV_AWS_300", "CKV2_AWS_20", "CKV_AWS_2", "AVD-AWS-0054", "CKV_AWS_103",
      "CKV2_AWS_74", "AVD-AWS-0047", "CKV_AWS_131", "AVD-AWS-0052", "CKV_AWS_91", "CKV_AWS_150", "CKV_AWS_328", "CKV_AWS_261", "CKV2_AWS_15",
      "CKV_AWS_34", "AVD-AWS-0012", "CKV_AWS_174", "CKV2_AWS_42", "AVD-AWS-0013", "CKV2_AWS_46", "CKV2_AWS_72", "CKV2_AWS_54", "CKV_AWS_86",
      "CKV2_AWS_32", "CKV_AWS_259", "CKV_AWS_68", "CKV_AWS_30", "CKV_AWS_31", "AVD-AWS-0051", "CKV_AWS_29", "AVD-AWS-0045", "CKV2_AWS_50",
      "CKV_AWS_134", "AVD-AWS-0050", "CKV_AWS_27", "AVD-AWS-0096", "CKV_AWS_72", "CKV_AWS_168", "CKV_AWS_387", "CKV_AWS_355", "CKV_AWS_290",
      "CKV2_AWS_34", "CKV_AWS_337", "CKV2_AWS_57", "CKV_AWS_304", "CKV_AWS_149", "AVD-AWS-0098", "WA SEC03-BP02", "CKV_AWS_66", "CKV_AWS_338",
      "CKV_AWS_158", "AVD-AWS-0017", "CKV_AWS_319", "CKV_AWS_1", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_40", "CKV_AWS_7", "AVD-AWS-0065",
      "CKV_AWS_233", "CKV2_AWS_8", "CKV2_AWS_9", "CKV_AWS_166",
    ];
    expect(expected.filter((r) => !refs.has(r))).toEqual([]);
  });

  test("groups follow CHECKS.md and hold every check once", () => {
    expect(CHECK_GROUPS.map((g) => g.group)).toEqual([
      "EC2", "Security groups", "RDS PostgreSQL", "S3", "ALB + ASG", "CloudFront / Cloudflare",
      "ElastiCache Redis", "SQS / workers", "Secrets Manager / SSM", "CloudWatch", "IAM / KMS / ACM / backups", "Server files",
    ]);
    expect(CHECK_GROUPS.flatMap((g) => g.checks)).toEqual(ALL_CHECKS);
  });

  test("optional controls are marked (KMS on log groups, backup vault KMS)", () => {
    expect(ALL_CHECKS.filter((c) => c.optional).map((c) => c.id).sort()).toEqual(["backup-vault-kms", "logs-kms"]);
  });

  test("live checks name real offline stand-ins", () => {
    const ids = new Set(LIVE_CHECKS.map((l) => l.id));
    expect(ids.size).toBe(LIVE_CHECKS.length);
    for (const l of LIVE_CHECKS) {
      expect(l.id).toMatch(/^live-[a-z0-9-]+$/);
      for (const local of l.localEquivalents) expect([l.id, local, !!findCheck(local)]).toEqual([l.id, local, true]);
    }
  });

  test("nothing in policies/ imports Pulumi", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith(".ts")) files.push(path);
      }
    };
    walk(join(__dirname, "../../policies"));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect([f, /from ["']@pulumi\//.test(readFileSync(f, "utf8"))]).toEqual([f, false]);
  });
});
