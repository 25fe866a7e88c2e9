/**
 * gunicorn's configuration file, one per app. Plain `name = value` lines:
 * the policy checks read timeout, graceful_timeout, max_requests,
 * max_requests_jitter, bind and workers with a regex.
 *
 * Blue-green on one box (`colors`): the same file serves both colors'
 * programs, each started with DJANGO_TIERS_COLOR in its environment
 * (supervisor), which picks its socket, its release link and its process
 * name; every other setting is shared, so the two pools behave alike.
 * Each worker adds the response header X-Django-Tiers-Color naming its
 * color, so a client (the promote CLI's smoke test) knows which answered.
 */
import { COLOR_HEADER } from "./nginx";
import { appPaths, COLORS, colorPaths, SOCKET_DIR } from "./paths";
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
  const colored = spec.colors !== undefined;
  const head = colored
    ? `# gunicorn settings of app ${app.name}, both colors. Rendered by django-tiers; edits are overwritten.
# Started by supervisor (programs ${COLORS.map((c) => colorPaths(app.name, c).program).join(" and ")}) through
# django-tiers-exec, each with DJANGO_TIERS_COLOR set to its color.
import os
${imports ? "import multiprocessing\n" : ""}
color = os.environ.get("DJANGO_TIERS_COLOR", "")
if color not in ("blue", "green"):
    raise SystemExit("gunicorn.conf.py: DJANGO_TIERS_COLOR must be blue or green (supervisor sets it), got %r" % color)
# The color's own socket (nginx's upstream django_tiers_${app.name}_<color>).
bind = ${pyString(`unix:${SOCKET_DIR}/${app.name}-%s.sock`)} % color`
    : `# gunicorn settings of app ${app.name}. Rendered by django-tiers; edits are overwritten.
# Started by supervisor (program ${app.name}-web) through django-tiers-exec.
${imports}bind = ${pyString(`unix:${paths.socket}`)}`;
  const chdir = colored
    ? `# Re-read on every HUP: the color's link has moved to its new release by then.
chdir = ${pyString(`${paths.root}/`)} + color`
    : `# Re-read on every HUP: the "current" link has moved to the new release by then.
chdir = ${pyString(paths.current)}`;
  const procName = colored ? `${pyString(`${app.name}-web-`)} + color` : pyString(`${app.name}-web`);
  const log = colored ? `${paths.logDir}/web-<color>.log` : `${paths.logDir}/web.log`;
  return `${head}
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
${chdir}
# Not preloaded, so the workers a HUP starts import the new release's code.
preload_app = False
proc_name = ${procName}
# Heartbeat files in memory, not on the root volume.
worker_tmp_dir = "/dev/shm"
# Both to supervisor, which writes ${log} (nginx keeps its
# own access log, with the client's address, in /var/log/nginx/).
accesslog = "-"
errorlog = "-"
loglevel = "info"
${colored ? COLOR_HOOK : ""}`;
}

/**
 * The colored file's hook: gunicorn's worker has loaded the app (load_wsgi)
 * when it calls post_worker_init, and serves every request through
 * worker.wsgi, so wrapping it there names the color in each response, the
 * app's own errors included (a 500 is still the color's answer).
 */
const COLOR_HOOK = `

def post_worker_init(worker):
    \"\"\"Names this color in every response (${COLOR_HEADER}): which color answered.\"\"\"
    app = worker.wsgi
    header = (${pyString(COLOR_HEADER)}, color)
    name = header[0].lower()

    def named(environ, start_response):
        def start(status, headers, exc_info=None):
            headers = [h for h in headers if h[0].lower() != name]
            headers.append(header)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    worker.wsgi = named
`;
