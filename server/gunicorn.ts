/**
 * gunicorn's configuration file, one per app. Plain `name = value` lines:
 * the policy checks read timeout, graceful_timeout, max_requests,
 * max_requests_jitter, bind and workers with a regex.
 */
import { appPaths } from "./paths";
import { pyString } from "./quote";
import type { AppSpec, BoxSpec, RenderedFile } from "./types";

export function renderGunicornFile(spec: BoxSpec, app: AppSpec): RenderedFile {
  return { path: appPaths(app.name).gunicornConf, mode: "0644", owner: "root:root", content: renderGunicornConf(spec, app) };
}

export function renderGunicornConf(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  const g = spec.gunicorn;
  const workers = g.workers !== undefined
    ? `workers = ${g.workers}`
    : "# 2 x cores + 1, computed on the box (the instance type is not known here).\nworkers = multiprocessing.cpu_count() * 2 + 1";
  const imports = g.workers !== undefined ? "" : "import multiprocessing\n\n";
  return `# gunicorn settings of app ${app.name}. Rendered by django-tiers; edits are overwritten.
# Started by supervisor (program ${app.name}-web) through django-tiers-exec.
${imports}bind = ${pyString(`unix:${paths.socket}`)}
${workers}
# The sync worker behind nginx's buffering; it ignores keepalive.
worker_class = "sync"
keepalive = 2
# Below nginx's proxy_read_timeout (${spec.nginx.proxyReadTimeoutSeconds} s), so a stuck worker is killed before nginx gives up.
timeout = ${g.timeoutSeconds}
# On reload (HUP) and stop (TERM) workers get this long to finish their requests;
# supervisor's stopwaitsecs is longer.
graceful_timeout = ${g.gracefulTimeoutSeconds}
# Recycle workers to bound leaks; the jitter keeps them from restarting together.
max_requests = ${g.maxRequests}
max_requests_jitter = ${g.maxRequestsJitter}
# Re-read on every HUP: the "current" link has moved to the new release by then.
chdir = ${pyString(paths.current)}
# Not preloaded, so the workers a HUP starts import the new release's code.
preload_app = False
proc_name = ${pyString(`${app.name}-web`)}
# Heartbeat files in memory, not on the root volume.
worker_tmp_dir = "/dev/shm"
# Both to supervisor, which writes ${paths.logDir}/web.log (nginx keeps its
# own access log, with the client's address, in /var/log/nginx/).
accesslog = "-"
errorlog = "-"
loglevel = "info"
`;
}
