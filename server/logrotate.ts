/**
 * logrotate for everything under /var/log/django-tiers: the provisioning and
 * backup logs, and each app's program output captured by supervisord (root).
 * copytruncate: supervisord keeps its files open in append mode, so each file
 * is copied and emptied in place rather than moved.
 */
import { LOG_DIR, LOGROTATE_CONF } from "./paths";
import type { BoxSpec, RenderedFile } from "./types";

export function renderLogrotateFile(spec: BoxSpec): RenderedFile {
  return { path: LOGROTATE_CONF, mode: "0644", owner: "root:root", content: renderLogrotate(spec) };
}

export function renderLogrotate(spec: BoxSpec): string {
  return `# Rendered by django-tiers; edits are overwritten.
# Provisioning and backup logs, and the output of every app's programs
# (${spec.apps.map((a) => a.name).join(", ")}).
${LOG_DIR}/*.log ${LOG_DIR}/*/*.log {
    daily
    rotate 14
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
}
`;
}
