/**
 * Finds AWS's API models for the plan's conformance check, installing them
 * when they are missing (test/setup/install-aws-models.sh: the pinned
 * botocore from PyPI into /var/cache/django-tiers as root, else
 * ~/.cache/django-tiers). When that cannot be done, the plan says
 * "conformance not checked", why, and the command that fixes it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AwsModels, BOTOCORE_VERSION, INSTALL_COMMAND, findModelDir, modelDirCandidates } from "../policies/conformance/models";

const INSTALLER = path.resolve(__dirname, "..", "test", "setup", "install-aws-models.sh");

let cached: AwsModels | { reason: string } | undefined;

/** The models, or why they could not be had. Installs once per process at most. */
export function awsModels(): AwsModels | { reason: string } {
  if (cached) return cached;
  let dir = findModelDir();
  if (!dir && !process.env.DJANGO_TIERS_AWS_MODELS) {
    if (!fs.existsSync(INSTALLER)) {
      return (cached = { reason: `AWS's API models (botocore ${BOTOCORE_VERSION}) are not in ${modelDirCandidates().join(" or ")}, and this copy of django-tiers has no installer; set DJANGO_TIERS_AWS_MODELS to a botocore/data folder` });
    }
    process.stderr.write(`plan: installing AWS's API models (botocore ${BOTOCORE_VERSION} from PyPI) for the conformance check, once…\n`);
    const run = spawnSync("bash", [INSTALLER], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    dir = findModelDir();
    if (!dir) {
      const why = (run.stderr || run.stdout || run.error?.message || "").trim().split("\n").slice(-2).join(" ");
      return (cached = { reason: `AWS's API models (botocore ${BOTOCORE_VERSION}) are missing and installing them failed (${why || `exit ${run.status}`}); run \`${INSTALL_COMMAND}\` (as root for /var/cache/django-tiers) once PyPI is reachable` });
    }
  }
  if (!dir) return (cached = { reason: `DJANGO_TIERS_AWS_MODELS=${process.env.DJANGO_TIERS_AWS_MODELS} holds no botocore models (expected <dir>/ec2/…/service-2.json.gz); unset it or run \`${INSTALL_COMMAND}\`` });
  return (cached = new AwsModels(dir));
}
