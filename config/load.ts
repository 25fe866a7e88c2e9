/**
 * Reads the running stack's config from Pulumi and validates it. This is the
 * only place the stack program touches `pulumi.Config` for its own settings.
 */
import * as pulumi from "@pulumi/pulumi";
import { Settings, validateSettings } from "./validate";

/**
 * The stack's settings, validated. Throws `SettingsError` (naming every bad
 * setting) before any resource is declared.
 */
export function loadSettings(opts: { projectDir: string; knownChecks?: readonly string[] }): Settings {
  const project = pulumi.getProject();
  const prefix = `${project}:`;
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
  }
  return validateSettings(raw, { project, stack: pulumi.getStack(), projectDir: opts.projectDir, knownChecks: opts.knownChecks });
}
