/**
 * Several apps sharing the stack's static and media buckets, planned as
 * `npm run plan` plans them: each app's rendered settings (its app.env on the
 * servers), the CDN paths that serve each app's prefix, and the CORS answers
 * that let a page load fonts from its files' origin. The first app keeps the
 * keys a single-app stack has always had, so an upgrade moves no file
 * (prod-wiring.test.ts: the one-app prod stack). The box: shared-files-box.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { unwrap } from "../../cli/mock-engine";
import { planStack, type PlanReport } from "../../cli/plan-stack";
import type { RenderedFile } from "../../server/types";
import { deploymentsInProcess } from "../../tiers";
import { named } from "../helpers";

const repo = path.resolve(__dirname, "../..");

let appsDir: string;
beforeAll(() => {
  appsDir = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-shared-files-"));
  for (const name of ["mysite", "blog"]) fs.cpSync(path.join(repo, "examples/apps/mysite"), path.join(appsDir, name), { recursive: true });
});
afterAll(() => fs.rmSync(appsDir, { recursive: true, force: true }));

/** The stack planned in this process, with its servers' rendered files by role. */
async function plan(stack: string, overrides: Record<string, unknown>): Promise<{ report: PlanReport; files: Record<string, RenderedFile[]> }> {
  const report = await planStack({ projectDir: repo, stack, overrides });
  const deployment = deploymentsInProcess()[0];
  const files = "serverFiles" in deployment ? await unwrap(deployment.serverFiles) : {};
  return { report, files };
}

/** The storage lines of an app's app.env. */
function storageEnv(files: RenderedFile[], app: string): Record<string, string> {
  const env = files.find((f) => f.path === `/etc/django-tiers/${app}/app.env`);
  if (!env) throw new Error(`no app.env for ${app}`);
  return Object.fromEntries(env.content.split("\n").filter((l) => l.startsWith("DJANGO_STORAGE")).map((l) => l.split("=", 2) as [string, string]));
}

const TWO_APPS = (dir: () => string) => ({
  "django-tiers:apps": ["mysite", "blog"],
  get "django-tiers:appsDir"() {
    return dir();
  },
});

describe("plan --stack prod with two apps behind CloudFront", () => {
  let report: PlanReport;
  let files: Record<string, RenderedFile[]>;
  beforeAll(async () => {
    ({ report, files } = await plan("prod", {
      ...TWO_APPS(() => appsDir),
      "django-tiers:domains": ["example.com", "www.example.com", "blog:blog.example.com"],
    }));
  });
  const find = (name: string) => named(report.resources, name);

  it("renders each app's file URLs at its own domain; the first app keeps static/ and media/, the second has its own prefix", () => {
    for (const role of ["app-blue", "app-green", "worker"]) {
      expect([role, storageEnv(files[role], "mysite")]).toEqual([role, {
        DJANGO_STORAGE: "s3",
        DJANGO_STORAGE_CUSTOM_DOMAIN: "example.com",
      }]);
      expect([role, storageEnv(files[role], "blog")]).toEqual([role, {
        DJANGO_STORAGE: "s3",
        DJANGO_STORAGE_CUSTOM_DOMAIN: "blog.example.com",
        DJANGO_STORAGE_STATIC_LOCATION: "apps/blog/static",
        DJANGO_STORAGE_MEDIA_LOCATION: "apps/blog/media",
      }]);
    }
  });

  it("serves every app's prefix from its bucket at the path of the same name, with CORS for the site's domains only", () => {
    const distribution = find("cdn-distribution");
    const behaviors = distribution.inputs.orderedCacheBehaviors as Array<{ pathPattern: string; targetOriginId: string; responseHeadersPolicyId: string }>;
    expect(behaviors.map((b) => [b.pathPattern, b.targetOriginId])).toEqual([
      ["/static/*", "static"],
      ["/apps/blog/static/*", "static"],
      ["/media/*", "media"],
      ["/apps/blog/media/*", "media"],
    ]);
    const filesHeaders = find("cdn-files-headers");
    for (const b of behaviors) expect(b.responseHeadersPolicyId).toBe(filesHeaders.id);
    expect(filesHeaders.inputs.corsConfig).toEqual({
      accessControlAllowOrigins: { items: ["https://example.com", "https://www.example.com", "https://blog.example.com"] },
      accessControlAllowMethods: { items: ["GET", "HEAD"] },
      accessControlAllowHeaders: { items: ["*"] },
      accessControlAllowCredentials: false,
      accessControlMaxAgeSec: 86400,
      originOverride: true,
    });
    // Pages keep the policy without CORS; the buckets answer no browser directly.
    expect((distribution.inputs.defaultCacheBehavior as { responseHeadersPolicyId: string }).responseHeadersPolicyId).toBe(find("cdn-headers").id);
    expect(find("cdn-headers").inputs).not.toHaveProperty("corsConfig");
    expect(report.resources.filter((r) => r.type === "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")).toEqual([]);
  });

  it("says which app keeps the old keys, passes every policy check and conforms to AWS's rules", () => {
    expect(report.notes).toContain(
      "Files of several apps share the buckets: mysite, the first app, keeps the static/ and media/ prefixes (where a single-app stack keeps its files); blog under apps/blog/static/ and apps/blog/media/. The order of apps decides it: append new apps, never move one to the front.",
    );
    expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(report.conformance.errors).toEqual([]);
    expect(report.conformance.unmappedTypes).toEqual([]);
  });
});
