import { ALL_CHECKS, formatResults, runChecks, summarize } from "../../policies";
import { cloudflarePlan, emptyPlan, loadBalancedPlan, singleBoxPlan } from "./fixtures";

/**
 * The compliant baselines pass every check that applies to them; the other
 * tests each break one thing. If a baseline stops passing, every negative
 * test built on it becomes meaningless, so this guards them all.
 */
describe("compliant baselines", () => {
  test.each([
    ["load-balanced prod", loadBalancedPlan],
    ["single-box dev", singleBoxPlan],
    ["cloudflare origin", cloudflarePlan],
  ])("%s passes every applicable check", (_label, build) => {
    const results = runChecks(build());
    const failed = results.filter((r) => r.status === "fail");
    expect(failed.map((r) => `${r.id}: ${r.findings.map((f) => f.message).join(" | ")}`)).toEqual([]);
    expect(summarize(results).total).toBe(ALL_CHECKS.length);
  });

  test("the load-balanced prod baseline exercises most checks (few not-applicable)", () => {
    const na = runChecks(loadBalancedPlan()).filter((r) => r.status === "not-applicable").map((r) => r.id);
    // Cloudflare's checks apply only behind its proxy; cloudflarePlan covers them.
    expect(na.sort()).toEqual(
      ["cloudflare-always-use-https", "cloudflare-min-tls", "cloudflare-origin-locked", "cloudflare-ssl-strict"].sort(),
    );
  });

  test("an empty plan makes every check not-applicable, each with a reason", () => {
    const results = runChecks(emptyPlan());
    for (const r of results) {
      expect([r.id, r.status]).toEqual([r.id, "not-applicable"]);
      expect(r.reason).toMatch(/\w/);
    }
  });

  test("formatResults prints one aligned line per check and a total", () => {
    const text = formatResults(runChecks(singleBoxPlan()));
    expect(text).toContain(`${ALL_CHECKS.length} checks:`);
    expect(text).toMatch(/^PASS {5}ec2-imdsv2 /m);
  });
});
