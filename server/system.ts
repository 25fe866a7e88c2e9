/**
 * Configuration of the box's shared services that is not per app: Redis,
 * the socket directory at boot, unattended upgrades and certbot's hook.
 */
import {
  CERTBOT_DEPLOY_HOOK, liveSocket, REDIS_CONF, SOCKET_DIR, SOCKET_GROUP, TMPFILES_CONF, UNATTENDED_UPGRADES_CONF,
} from "./paths";
import { REDIS_DATABASES } from "./validate";
import type { BoxSpec, RenderedFile } from "./types";

export function renderSystemFiles(spec: BoxSpec): RenderedFile[] {
  const files: RenderedFile[] = [
    // The box's own Redis only when the cache is not an external service (app
    // and worker servers never run one).
    ...(spec.cache || spec.role !== "single-box" ? [] : [{ path: REDIS_CONF, mode: "0644", owner: "root:root", content: renderRedisConf() }]),
    { path: TMPFILES_CONF, mode: "0644", owner: "root:root", content: renderTmpfiles(spec) },
    { path: UNATTENDED_UPGRADES_CONF, mode: "0644", owner: "root:root", content: renderUnattendedUpgrades() },
  ];
  if (spec.tls.mode === "letsencrypt") {
    files.push({ path: CERTBOT_DEPLOY_HOOK, mode: "0755", owner: "root:root", content: renderCertbotDeployHook() });
  }
  return files;
}

/**
 * Replaces Debian's redis.conf (kept on install with confold; world-readable
 * because redis reads it as its own user and it holds no secret). Compatible
 * with Debian's unit, which adds `--supervised systemd --daemonize no`;
 * without systemd the provisioning script adds `--daemonize yes`.
 */
export function renderRedisConf(): string {
  return `# Redis of the django-tiers apps on this box: each app's cache and task queue.
# Rendered by django-tiers; edits are overwritten.
# Loopback only: nothing off the box talks to Redis.
bind 127.0.0.1
protected-mode yes
port 6379
# Two databases per app (cache, queue), numbered by the app's place in the spec.
databases ${REDIS_DATABASES}
pidfile /run/redis/redis-server.pid
logfile /var/log/redis/redis-server.log
dir /var/lib/redis
# Queued tasks live here too: keep them across restarts.
appendonly yes
appendfsync everysec
`;
}

/**
 * /run is a tmpfs: recreate gunicorn's socket directory at every boot and,
 * with blue-green on the box, each app's live link to the socket of
 * `colors.live` (before nginx and supervisor start: nginx would answer 502
 * for the live color without it). The link is relative, like the switch's.
 */
export function renderTmpfiles(spec: BoxSpec): string {
  const colors = spec.colors;
  const links = colors
    ? `# Blue-green: each app's live socket, a link to the socket of colors.live (${colors.live});
# django-tiers-switch-color moves it at a switch, this recreates it at boot.
${spec.apps.map((app) => `L ${liveSocket(app.name).link} - - - - ${liveSocket(app.name).target(colors.live)}`).join("\n")}
`
    : "";
  return `# Rendered by django-tiers: gunicorn's unix sockets (group ${SOCKET_GROUP}: every app user; sticky).
d ${SOCKET_DIR} 1775 root ${SOCKET_GROUP} -
${links}`;
}

/** Sorts after Debian's 20auto-upgrades, so these values win. */
export function renderUnattendedUpgrades(): string {
  return `// Rendered by django-tiers: refresh package lists and apply security updates daily.
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
`;
}

/** certbot runs deploy hooks after every renewal: nginx must load the new certificate. */
export function renderCertbotDeployHook(): string {
  return `#!/bin/sh
# Reloads nginx after certbot renewed a certificate. Rendered by django-tiers.
set -eu
nginx -t -q
if [ -d /run/systemd/system ]; then
  systemctl reload nginx
else
  nginx -s reload
fi
`;
}
