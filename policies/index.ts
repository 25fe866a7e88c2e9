/**
 * The policy checks of ../shared/CHECKS.md, run over a planned stack.
 *
 *   const results = runChecks(plan);
 *   console.log(formatResults(results));
 *
 * Every check runs once and reports pass, fail, not-applicable (with the
 * reason) or relaxed (a failure the stack waived by a named setting, with
 * that setting and its reason). Nothing is silently skipped.
 */
import { ALB_CHECKS } from "./checks/alb";
import { CDN_CHECKS } from "./checks/cdn";
import { CLOUDWATCH_CHECKS } from "./checks/cloudwatch";
import { EC2_CHECKS } from "./checks/ec2";
import { ELASTICACHE_CHECKS } from "./checks/elasticache";
import { IAM_KMS_ACM_BACKUP_CHECKS } from "./checks/iam-kms-acm-backup";
import { RDS_CHECKS } from "./checks/rds";
import { S3_CHECKS } from "./checks/s3";
import { SECRETS_CHECKS } from "./checks/secrets";
import { SECURITY_GROUP_CHECKS } from "./checks/security-groups";
import { SERVER_FILE_CHECKS } from "./checks/server-files";
import { SQS_CHECKS } from "./checks/sqs";
import type { Check, CheckResult, CheckStatus, CheckSummary, PlanUnderTest, Relaxation } from "./types";

export * from "./types";
export { LIVE_CHECKS } from "./live-checks";
export { ROLE_TAG } from "./resource-types";

/** The checks by CHECKS.md section, in its order. */
export const CHECK_GROUPS: { group: string; checks: Check[] }[] = [
  { group: "EC2", checks: EC2_CHECKS },
  { group: "Security groups", checks: SECURITY_GROUP_CHECKS },
  { group: "RDS PostgreSQL", checks: RDS_CHECKS },
  { group: "S3", checks: S3_CHECKS },
  { group: "ALB + ASG", checks: ALB_CHECKS },
  { group: "CloudFront / Cloudflare", checks: CDN_CHECKS },
  { group: "ElastiCache Redis", checks: ELASTICACHE_CHECKS },
  { group: "SQS / workers", checks: SQS_CHECKS },
  { group: "Secrets Manager / SSM", checks: SECRETS_CHECKS },
  { group: "CloudWatch", checks: CLOUDWATCH_CHECKS },
  { group: "IAM / KMS / ACM / backups", checks: IAM_KMS_ACM_BACKUP_CHECKS },
  { group: "Server files", checks: SERVER_FILE_CHECKS },
];

export const ALL_CHECKS: Check[] = CHECK_GROUPS.flatMap((g) => g.checks);

export function findCheck(id: string): Check | undefined {
  return ALL_CHECKS.find((c) => c.id === id);
}

/** Relaxations by check id; throws on an id no check has (a typo would otherwise waive nothing, silently). */
function relaxationsById(relaxations: Relaxation[]): Map<string, Relaxation[]> {
  const byId = new Map<string, Relaxation[]>();
  for (const r of relaxations) {
    if (!findCheck(r.check))
      throw new Error(`relaxation "${r.setting}" names unknown check "${r.check}"; known checks: ${ALL_CHECKS.map((c) => c.id).join(", ")}`);
    byId.set(r.check, [...(byId.get(r.check) ?? []), r]);
  }
  return byId;
}

const describeRelaxations = (rs: Relaxation[]) => rs.map((r) => `${r.setting}: ${r.reason}`).join("; ");

/** Runs every check once; see the module comment for the statuses. */
export function runChecks(plan: PlanUnderTest, checks: Check[] = ALL_CHECKS): CheckResult[] {
  const relaxed = relaxationsById(plan.relaxations);
  return checks.map((check): CheckResult => {
    const base = { id: check.id, title: check.title, refs: check.refs };
    let outcome: ReturnType<Check["run"]>;
    try {
      outcome = check.run(plan);
    } catch (e) {
      // A crashing check is a failing check: it must never read as a pass.
      return { ...base, status: "fail", findings: [{ subject: check.id, message: `the check crashed: ${(e as Error).message}` }] };
    }
    const waivers = relaxed.get(check.id);
    if ("notApplicable" in outcome) return { ...base, status: "not-applicable", findings: [], reason: outcome.notApplicable };
    if (outcome.length === 0)
      return waivers
        ? { ...base, status: "pass", findings: [], reason: `passes without its relaxation (${describeRelaxations(waivers)})` }
        : { ...base, status: "pass", findings: [] };
    if (waivers) return { ...base, status: "relaxed", findings: outcome, reason: describeRelaxations(waivers) };
    return { ...base, status: "fail", findings: outcome };
  });
}

export function summarize(results: CheckResult[]): CheckSummary {
  const summary: CheckSummary = { pass: 0, fail: 0, "not-applicable": 0, relaxed: 0, total: results.length };
  for (const r of results) summary[r.status]++;
  return summary;
}

const LABEL: Record<CheckStatus, string> = { pass: "PASS", fail: "FAIL", "not-applicable": "N/A", relaxed: "RELAXED" };

/**
 * Aligned lines for the plan CLI: status, id, title; under a failure its
 * first findings, under not-applicable and relaxed the reason; then a total.
 */
export function formatResults(results: CheckResult[], maxFindings = 3): string {
  const idWidth = Math.max(0, ...results.map((r) => r.id.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${LABEL[r.status].padEnd(8)} ${r.id.padEnd(idWidth)}  ${r.title}`);
    const indent = " ".repeat(9 + idWidth + 2);
    if (r.reason) lines.push(`${indent}${r.status === "relaxed" ? "relaxed by " : ""}${r.reason}`);
    if (r.status === "fail" || r.status === "relaxed") {
      for (const f of r.findings.slice(0, maxFindings)) lines.push(`${indent}- ${f.message}`);
      if (r.findings.length > maxFindings) lines.push(`${indent}… and ${r.findings.length - maxFindings} more`);
    }
  }
  const s = summarize(results);
  lines.push(`${s.total} checks: ${s.pass} passed, ${s.fail} failed, ${s.relaxed} relaxed, ${s["not-applicable"]} not applicable`);
  return lines.join("\n");
}
