/**
 * requestTimeoutSeconds through the whole stack: the prod stack (load-balanced)
 * planned with a five-minute request timeout and no CDN, read where each
 * layer's value lands (gunicorn's config, nginx's files, the ALB), and held
 * to the policy checks that know their order. The settings' own refusals
 * (CDN limits, range) are in test/unit/config.test.ts.
 */
import * as path from "path";
import { unwrap } from "../../cli/mock-engine";
import { planStack, type PlanReport } from "../../cli/plan-stack";
import type { RenderedFile } from "../../server/types";
import { deploymentsInProcess } from "../../tiers";
import { named } from "../helpers";

const repo = path.resolve(__dirname, "../..");

let report: PlanReport;
let files: Record<string, RenderedFile[]>;
beforeAll(async () => {
  report = await planStack({
    projectDir: repo,
    stack: "prod",
    overrides: { "django-tiers:cdn": "none", "django-tiers:requestTimeoutSeconds": "300" },
  });
  files = await unwrap(deploymentsInProcess()[0].serverFiles);
});

const file = (role: string, suffix: string) => {
  const found = files[role].find((f) => f.path.endsWith(suffix));
  if (!found) throw new Error(`${role} has no file ending in ${suffix}`);
  return found.content;
};

describe("plan --stack prod with requestTimeoutSeconds 300 (no CDN)", () => {
  it("gives gunicorn 300 s, nginx 305 s both ways, the ALB 305 s and nginx's keep-alive 320 s", () => {
    for (const role of ["app-blue", "app-green"]) {
      expect(file(role, "/mysite/gunicorn.conf.py")).toMatch(/^timeout = 300$/m);
      const site = file(role, "/sites-available/mysite.conf");
      expect(site.match(/proxy_(read|send)_timeout \d+s;/g)).toEqual(["proxy_read_timeout 305s;", "proxy_send_timeout 305s;"]);
      const http = file(role, "/conf.d/django-tiers.conf");
      expect(http).toMatch(/^keepalive_timeout 320s;$/m);
      expect(http).toMatch(/^ {8}proxy_read_timeout 305s;$/m);
    }
    expect(named(report.resources, "lb-lb").inputs.idleTimeout).toBe(305);
  });

  it("passes the checks that hold the layers' order, and AWS's model takes the idle timeout", () => {
    for (const id of ["gunicorn-timeout-below-proxy", "nginx-keepalive-timeout"]) {
      expect([id, report.checks.find((c) => c.id === id)?.status]).toEqual([id, "pass"]);
    }
    expect(report.conformance.checked).toBe(true);
    expect(report.conformance.errors).toEqual([]);
  });
});
