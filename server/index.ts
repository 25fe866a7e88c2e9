/**
 * server/: pure functions that render every file running ON a django-tiers
 * VM. Nothing here imports Pulumi; components call these with a resolved
 * BoxSpec and give EC2 renderUserDataBase64(spec) as the instance's user data.
 */
import { renderBackupFiles } from "./backup";
import { APPLY_CONFIG, APPLY_CONFIG_PY } from "./box-config";
import { gzipUserData, renderCloudConfig } from "./cloud-init";
import { renderCloudWatchAgentFiles } from "./cloudwatch-agent";
import { renderSsmAgentFiles } from "./ssm-agent";
import { renderColorsFiles } from "./colors";
import { renderDjangoEnvFiles } from "./django-env";
import { renderGunicornFile } from "./gunicorn";
import { renderLogrotateFile } from "./logrotate";
import { renderNginxFiles } from "./nginx";
import { renderProvisionFiles } from "./provision";
import { renderDrainFiles } from "./drain";
import { renderDrainSupervisorFile, renderSupervisorFile, renderWorkerWatchdogFiles } from "./supervisor";
import { renderSystemFiles } from "./system";
import { PROVISION_SCRIPT, SECRETS_TO_ENV } from "./paths";
import type { BoxSpec, RenderedFile } from "./types";
import { validateBoxSpec } from "./validate";

export * from "./types";
export {
  appPaths, boxProgramNames, defaultQueues, DRAIN_PROGRAM, DRAIN_SCRIPT, KEEP_RELEASES, NO_RELEASE, programNames, redisDatabases,
  releaseBundleKey, WORKER_WATCHDOG_CRON, WORKER_WATCHDOG_SCRIPT,
} from "./paths";
export type { ColorPaths, ProgramRole } from "./paths";
export {
  COLORS, colorPaths, COLORS_ENV, IDLE_COLORS_LOG, IDLE_COLORS_PROGRAM, IDLE_COLORS_SCRIPT, IDLE_COLORS_SUPERVISOR_CONF, liveSocket, PROVISION_LOCK,
  SWITCH_COLOR_SCRIPT,
} from "./paths";
export { renderColorsEnv, renderIdleColorsScript, renderSwitchColorScript } from "./colors";
export { renderIdleColorsSupervisorFile } from "./supervisor";
export { COLOR_HEADER } from "./nginx";
export { ORIGIN_CERTIFICATE, ORIGIN_PRIVATE_KEY } from "./origin-certificate";
export { DRAIN_POLL_SECONDS, renderDrainScript } from "./drain";
export {
  renderWorkerWatchdogCron, renderWorkerWatchdogScript, WATCHDOG_MISSED_PINGS, WATCHDOG_PING_TIMEOUT_SECONDS, WATCHDOG_STARTUP_GRACE_SECONDS,
  watchdogApps,
} from "./supervisor";
export type { AppPaths } from "./paths";
export * as boxPaths from "./paths";
export { BoxSpecError, MAX_APPS, validateBoxSpec, assertAppName, assertVersion } from "./validate";
export { appEnvironment, HSTS_SECONDS } from "./django-env";
export { provisionPackages } from "./provision";
export { stripComments, USER_DATA_LIMIT_BYTES } from "./cloud-init";
export { shellQuote } from "./quote";
export { APPLY_CONFIG, boxConfigKey, boxConfigVersion, renderBoxConfig } from "./box-config";
export { AGENT_METRICS, CLOUDWATCH_AGENT_CONFIG, renderCloudWatchAgentConfig, shippedLogs } from "./cloudwatch-agent";
export { CLOUDWATCH_AGENT_KEY_FINGERPRINT, CLOUDWATCH_AGENT_KEY_URL, CLOUDWATCH_AGENT_SH } from "./cloudwatch-agent";
export { SSM_AGENT_KEY, SSM_AGENT_KEY_FINGERPRINT, SSM_AGENT_PUBLIC_KEY, SSM_AGENT_SH, SSM_AGENT_VERSION } from "./ssm-agent";
export type { BoxSpecWithCloudWatch, CloudWatchAgentSettings, ShippedLog } from "./cloudwatch-agent";

/** Every file of the box, validated and in a stable order. Throws BoxSpecError on a bad spec. */
export function renderBox(spec: BoxSpec): RenderedFile[] {
  validateBoxSpec(spec);
  const files: RenderedFile[] = [
    ...renderProvisionFiles(spec),
    ...renderDjangoEnvFiles(spec),
    ...renderNginxFiles(spec),
    // A worker server runs no gunicorn.
    ...(spec.role === "worker" ? [] : spec.apps.map((app) => renderGunicornFile(spec, app))),
    ...spec.apps.map((app) => renderSupervisorFile(spec, app)),
    // Blue-green on the box: the live color (colors.env) and the switch script.
    ...renderColorsFiles(spec),
    // worker role with a lifecycle hook: the drain watcher and its supervisor program.
    ...renderDrainFiles(spec),
    ...renderDrainSupervisorFile(spec),
    // Celery with a Redis broker: the worker watchdog and its cron job (the cron file always).
    ...renderWorkerWatchdogFiles(spec),
    ...renderSystemFiles(spec),
    renderLogrotateFile(spec),
    ...renderBackupFiles(spec),
    // Only when the spec names the box's log group (the proposed BoxSpec.cloudWatch).
    ...renderCloudWatchAgentFiles(spec),
    // AWS's key for the SSM Agent's package, which phase install checks.
    ...renderSsmAgentFiles(),
    { path: APPLY_CONFIG, mode: "0644", owner: "root:root", content: APPLY_CONFIG_PY },
  ];
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(file.path)) throw new Error(`two rendered files share the path ${file.path}`);
    seen.add(file.path);
  }
  return files;
}

/**
 * The instance's user data as text: a #cloud-config writing the bootstrap
 * files of renderBox (full-line comments dropped) and running the
 * provisioning script, whose phase fetch applies the rest.
 * Too large for EC2 as text: give EC2 renderUserDataBase64 instead.
 */
export function renderUserData(spec: BoxSpec): string {
  // The first fetch brings every file in the configuration document: user data
  // carries only what that fetch needs, and stays far below EC2's 16 KB (all the
  // files are about 60 KB as text and 16 KB gzipped with one app).
  return renderCloudConfig(spec, renderBox(spec).filter((f) => BOOTSTRAP_FILES.includes(f.path)));
}

/** What a box needs before its first fetch brings the configuration document. */
export const BOOTSTRAP_FILES: readonly string[] = [PROVISION_SCRIPT, SECRETS_TO_ENV, APPLY_CONFIG];

/**
 * The user data EC2 gets: renderUserData gzipped (cloud-init unpacks it) and
 * base64-encoded, for `aws.ec2.Instance.userDataBase64` or a launch
 * template's `userData`. Throws if the gzip exceeds EC2's 16 KB limit.
 */
export function renderUserDataBase64(spec: BoxSpec): string {
  return gzipUserData(renderUserData(spec), spec.apps.length).toString("base64");
}
