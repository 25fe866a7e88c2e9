/**
 * Every check: passes on its compliant baseline, fails on each broken
 * variant with a finding about the offending resource or file, and reports
 * not-applicable (with a reason) where it does not apply.
 */
import { ALL_CHECKS, findCheck } from "../../policies";
import type { Finding, PlanUnderTest } from "../../policies/types";
import { ALB_CASES, CDN_CASES } from "./cases/alb-cdn";
import { CLOUDWATCH_CASES, ELASTICACHE_CASES, IAM_CASES, SECRETS_CASES, SQS_CASES } from "./cases/data-services";
import { EC2_CASES, SECURITY_GROUP_CASES } from "./cases/ec2-and-security-groups";
import type { CaseTable } from "./cases/harness";
import { RDS_CASES, S3_CASES } from "./cases/rds-and-s3";
import { SERVER_FILE_CASES } from "./cases/server-files";
import { emptyPlan } from "./fixtures";

const TABLE: CaseTable = {
  ...EC2_CASES,
  ...SECURITY_GROUP_CASES,
  ...RDS_CASES,
  ...S3_CASES,
  ...ALB_CASES,
  ...CDN_CASES,
  ...ELASTICACHE_CASES,
  ...SQS_CASES,
  ...SECRETS_CASES,
  ...CLOUDWATCH_CASES,
  ...IAM_CASES,
  ...SERVER_FILE_CASES,
};

function findingsOf(id: string, p: PlanUnderTest): Finding[] {
  const out = findCheck(id)!.run(p);
  if ("notApplicable" in out) throw new Error(`${id} was not applicable: ${out.notApplicable}`);
  return out;
}

test("every check has a table of cases, and every table names a real check", () => {
  const ids = ALL_CHECKS.map((c) => c.id);
  expect(ids.filter((id) => !TABLE[id])).toEqual([]);
  expect(Object.keys(TABLE).filter((id) => !ids.includes(id))).toEqual([]);
  for (const id of ids) expect([id, TABLE[id].fails.length > 0]).toEqual([id, true]);
});

describe.each(Object.entries(TABLE))("%s", (id, cases) => {
  const bases = [...new Set(cases.fails.map((c) => c.base))];

  test.each(bases.map((b) => [b.name, b]))("passes on the compliant %s", (_name, base) => {
    expect(findingsOf(id, base())).toEqual([]);
  });

  test.each(cases.fails.map((c) => [c.name, c]))("fails: %s", (_name, c) => {
    const p = c.base();
    const subject = c.breakIt(p);
    const findings = findingsOf(id, p);
    expect(findings.map((f) => f.subject)).toContain(subject);
    if (c.message) expect(findings.map((f) => f.message).join("\n")).toMatch(c.message);
  });

  if (cases.passes?.length)
    test.each(cases.passes.map((c) => [c.name, c]))("passes: %s", (_name, c) => {
      expect(findingsOf(id, c.plan())).toEqual([]);
    });

  test("is not applicable to an empty plan, with a reason", () => {
    const out = findCheck(id)!.run(emptyPlan());
    expect(out).toEqual({ notApplicable: expect.stringMatching(/\w+/) });
  });

  if (cases.notApplicable?.length)
    test.each(cases.notApplicable.map((c) => [c.name, c]))("is not applicable: %s", (_name, c) => {
      expect(findCheck(id)!.run(c.plan())).toEqual({ notApplicable: expect.stringMatching(c.reason) });
    });
});
