/**
 * Several apps sharing the object-storage tier's buckets on a box with no
 * CDN, planned as `npm run plan` plans it: each app's rendered settings and
 * media move, and the buckets' CORS rule for the stack's domains (pages read
 * files straight from S3 there). One stack planned per file: the mock
 * engine serves one program per process. CloudFront: shared-files.test.ts.
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

describe("plan --stack files (object storage on the box, no CDN) with two apps", () => {
  let report: PlanReport;
  let files: Record<string, RenderedFile[]>;
  beforeAll(async () => {
    ({ report, files } = await plan("files", {
      ...TWO_APPS(() => appsDir),
      "django-tiers:domains": ["files.example.com", "blog:blog.example.com"],
    }));
  });

  it("lets pages on the stack's domains, and only those, read both buckets in CORS mode", () => {
    for (const bucket of ["files-static", "files-media"]) {
      const cors = named(report.resources, `${bucket}-cors`);
      expect(cors.inputs.bucket).toBe(named(report.resources, `${bucket}-bucket`).id);
      expect(cors.inputs.corsRules).toEqual([{
        id: "reads-from-the-site",
        allowedOrigins: ["https://files.example.com", "https://blog.example.com"],
        allowedMethods: ["GET", "HEAD"],
        maxAgeSeconds: 86400,
      }]);
    }
    expect(report.conformance.errors).toEqual([]);
    expect(report.conformance.unmappedTypes).toEqual([]);
    expect(report.checks.filter((c) => c.status === "fail")).toEqual([]);
  });

  it("keeps the first app's files where they were (no location, signed URLs) and puts the second under apps/blog/", () => {
    expect(storageEnv(files["single-box"], "mysite")).toEqual({ DJANGO_STORAGE: "s3" });
    expect(storageEnv(files["single-box"], "blog")).toEqual({
      DJANGO_STORAGE: "s3",
      DJANGO_STORAGE_STATIC_LOCATION: "apps/blog/static",
      DJANGO_STORAGE_MEDIA_LOCATION: "apps/blog/media",
    });
    const provision = files["single-box"].find((f) => f.path === "/usr/local/sbin/django-tiers-provision")!.content;
    // Uploads made on the box before the move up: each app's to its own prefix.
    expect(provision).toContain("declare -rA APP_MEDIA_PREFIX=([mysite]='' [blog]=apps/blog/media/)\n");
    expect(report.notes.join("\n")).toMatch(/mysite, the first app, keeps the buckets' root .*; blog under apps\/blog\/static\/ and apps\/blog\/media\//);
  });
});
