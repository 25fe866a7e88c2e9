/**
 * Reads the running stack's config from Pulumi and validates it. This is the
 * only place the stack program touches `pulumi.Config` for its own settings.
 */
import * as pulumi from "@pulumi/pulumi";
import { Settings, SettingsError, regionProblems, validateSettings } from "./validate";

/**
 * The stack's settings, validated. Throws `SettingsError` (naming every bad
 * setting) before any resource is declared.
 */
export function loadSettings(opts: { projectDir: string; knownChecks?: readonly string[] }): Settings {
  const project = pulumi.getProject();
  const prefix = `${project}:`;
  const raw: Record<string, unknown> = {};
  const all = pulumi.runtime.allConfig();
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
  }
  const region = regionProblems(all);
  // Which values Pulumi holds as secrets: they are never printed, and appSecrets' values must be among them.
  const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
  const secretKeys = isConfigSecret ? Object.keys(raw).filter((key) => isConfigSecret(`${prefix}${key}`)) : undefined;
  try {
    const settings = validateSettings(raw, { project, stack: pulumi.getStack(), projectDir: opts.projectDir, knownChecks: opts.knownChecks, secretKeys });
    if (region.length) throw new SettingsError(project, region);
    return settings;
  } catch (e) {
    if (e instanceof SettingsError && region.length && !e.problems.includes(region[0])) throw new SettingsError(project, [...region, ...e.problems]);
    throw e;
  }
}
