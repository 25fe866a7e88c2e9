/**
 * Another team's Pulumi program that imports django-tiers as a library:
 * the whole single-box tier from settings given in code, plus one of the
 * components on its own.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PrivateBucket, deployStack, validateSettings } from "django-tiers";

const settings = validateSettings(
  {
    tier: "single-box",
    apps: ["mysite"],
    appsDir: "apps",
    instanceType: "t4g.micro",
    taskWorker: "rq",
    deletionProtection: false,
  },
  // The program runs compiled from bin/; the apps folder sits beside it in the project.
  { project: pulumi.getProject(), stack: pulumi.getStack(), projectDir: path.resolve(__dirname, "..") },
);
const site = deployStack(settings);

// A component used alone: an archive bucket with the same guarantees as ours, logging to the site's log bucket.
const archive = new PrivateBucket("exports-archive", {
  noncurrentVersionDays: 365,
  accessLogs: { bucket: site.outputs.logsBucket, prefix: "exports-archive/" },
});

export const siteUrls = site.outputs.siteUrls;
export const archiveBucket = archive.id;
