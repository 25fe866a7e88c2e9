/**
 * Checks over the files rendered for servers (CHECKS.md "Proxy / app
 * server" and the `check --deploy` items visible in the rendered
 * environment). Parsers and the file layout are in ../server-files.ts. A
 * role behind an ALB is any role other than `single-box` in a plan that has
 * an application load balancer.
 */
import { PRODUCTION_SETTINGS_MODULE } from "../../server/paths";
import { fileFinding, leaksIn, notApplicable, ofType, secretStrings } from "../plan-queries";
import {
  type AppFiles,
  findDirectives,
  GUNICORN_DEFAULTS,
  NGINX_DEFAULT_PROXY_READ_TIMEOUT,
  type NginxDirective,
  nginxSeconds,
  nginxSizeMb,
  parseEnvFile,
  parseNginx,
  parsePythonAssignments,
  pyNumber,
  pyStrings,
  type RoleFiles,
  roleFiles,
  SUPERVISOR_DEFAULT_STOPWAITSECS,
  supervisorPrograms,
} from "../server-files";
import type { Check, Finding, PlanUnderTest } from "../types";
import { T } from "../resource-types";
import { asArray, asNumber, field } from "../values";
import { applicationLoadBalancers } from "./alb";
import { rolloutReachesServer } from "./rollout";

const NO_FILES = "no server files rendered in this plan";

/** ALB idle timeout (the service default is 60 s). */
function albIdleTimeout(plan: PlanUnderTest): number | undefined {
  const albs = applicationLoadBalancers(plan);
  return albs.length ? Math.max(...albs.map((lb) => asNumber(lb.inputs.idleTimeout) ?? 60)) : undefined;
}

/** The origin response timeouts of the plan's CloudFront custom origins (the load balancer), in seconds (CloudFront's default is 30). */
function cloudFrontOriginTimeouts(plan: PlanUnderTest): number[] {
  return ofType(plan, T.distribution).flatMap((d) =>
    asArray(d.inputs.origins)
      .map((o) => field(o, "customOriginConfig"))
      .filter((c) => c !== undefined)
      .map((c) => asNumber(field(c, "originReadTimeout")) ?? 30));
}

const behindAlb = (plan: PlanUnderTest, role: RoleFiles) => applicationLoadBalancers(plan).length > 0 && role.role !== "single-box";

interface AppView {
  role: RoleFiles;
  files: AppFiles;
  gunicorn?: Record<string, string>;
  programs: Record<string, Record<string, string>>;
  env?: Record<string, string>;
  site?: NginxDirective[];
  global?: NginxDirective[];
}

function appViews(plan: PlanUnderTest): AppView[] {
  return roleFiles(plan).flatMap((role) =>
    role.apps.map((files) => ({
      role,
      files,
      gunicorn: files.gunicorn && parsePythonAssignments(files.gunicorn.content),
      programs: supervisorPrograms(files.supervisor),
      env: files.env && parseEnvFile(files.env.content),
      site: files.site && parseNginx(files.site.content),
      global: role.nginxGlobal && parseNginx(role.nginxGlobal.content),
    })),
  );
}

/** Runs `each` over apps that have the file `needs`; not-applicable when none has it. */
function perApp(plan: PlanUnderTest, needs: keyof Omit<AppFiles, "app">, what: string, each: (a: AppView) => Finding[]): Finding[] | { notApplicable: string } {
  if (!roleFiles(plan).length) return notApplicable(NO_FILES);
  const apps = appViews(plan).filter((a) => a.files[needs]);
  if (!apps.length) return notApplicable(`no ${what} rendered in this plan`);
  return apps.flatMap(each);
}

/** Values of a directive at the top of a tree level and below (`name` args[0]). */
const values = (tree: NginxDirective[] | undefined, name: string) =>
  tree ? findDirectives(tree, name).map((d) => d.directive.args[0]) : [];

// ------------------------------------------------------------------ gunicorn

/**
 * gunicorn's worker `timeout` (default 30) is below nginx `proxy_read_timeout`
 * (default 60), and behind an ALB nginx's timeout does not exceed the ALB idle
 * timeout (default 60), nor the ALB's CloudFront's origin response timeout
 * (default 30), so each layer times out before the one in front of it and the
 * user sees a clean 504 rather than a reset. Refs: gunicorn docs (timeout),
 * nginx proxy_read_timeout, CloudFront Developer Guide (Response timeout).
 */
export const gunicornTimeoutBelowProxy: Check = {
  id: "gunicorn-timeout-below-proxy",
  title: "gunicorn timeout < nginx proxy_read_timeout ≤ ALB idle timeout ≤ CloudFront origin timeout",
  refs: ["gunicorn timeout", "nginx proxy_read_timeout", "ALB idle_timeout", "CloudFront origin response timeout"],
  description: "Out-of-order timeouts turn slow requests into 502s and leave workers busy after the client left.",
  run: (plan) =>
    perApp(plan, "gunicorn", "gunicorn config", (a) => {
      const timeout = pyNumber(a.gunicorn!.timeout) ?? GUNICORN_DEFAULTS.timeout;
      const explicit = values(a.site, "proxy_read_timeout").map(nginxSeconds).filter((n): n is number => n !== undefined);
      const global = values(a.global, "proxy_read_timeout").map(nginxSeconds).filter((n): n is number => n !== undefined);
      const reads = explicit.length ? explicit : global.length ? global : [NGINX_DEFAULT_PROXY_READ_TIMEOUT];
      const findings: Finding[] = [];
      if (timeout >= Math.min(...reads))
        findings.push(fileFinding(a.files.gunicorn!.path, `timeout ${timeout}s is not below nginx proxy_read_timeout ${Math.min(...reads)}s`));
      const idle = albIdleTimeout(plan);
      if (behindAlb(plan, a.role) && idle !== undefined && Math.max(...reads) > idle)
        findings.push(fileFinding(a.files.site?.path ?? a.files.gunicorn!.path, `nginx proxy_read_timeout ${Math.max(...reads)}s exceeds the ALB idle timeout ${idle}s`));
      const origin = cloudFrontOriginTimeouts(plan);
      if (behindAlb(plan, a.role) && idle !== undefined && origin.length && Math.min(...origin) < idle)
        findings.push(fileFinding(a.files.site?.path ?? a.files.gunicorn!.path, `CloudFront's origin response timeout ${Math.min(...origin)}s is below the ALB idle timeout ${idle}s`));
      return findings;
    }),
};

/**
 * supervisor waits at least gunicorn's `graceful_timeout` (default 30) before
 * SIGKILL (`stopwaitsecs` defaults to 10), so a stop or reload lets
 * in-flight requests finish. Refs: supervisor stopwaitsecs, gunicorn graceful_timeout.
 */
/** The app's gunicorn programs: `<app>-web`, or `<app>-web-blue` and `<app>-web-green` on a blue-green box. */
function webPrograms(a: AppView) {
  const name = new RegExp(`^${a.files.app}-web(-(blue|green))?$`);
  return Object.entries(a.programs).filter(([program]) => name.test(program));
}

export const gunicornGracefulWithinStopWait: Check = {
  id: "gunicorn-graceful-within-stopwaitsecs",
  title: "supervisor stopwaitsecs ≥ gunicorn graceful_timeout",
  refs: ["gunicorn graceful_timeout", "supervisor stopwaitsecs"],
  description: "supervisor's 10 s default kills gunicorn mid-request on every restart.",
  run: (plan) =>
    perApp(plan, "gunicorn", "gunicorn config", (a) => {
      const graceful = pyNumber(a.gunicorn!.graceful_timeout) ?? GUNICORN_DEFAULTS.graceful_timeout;
      const where = a.files.supervisor?.path ?? a.files.gunicorn!.path;
      const webs = webPrograms(a);
      if (!webs.length) return [fileFinding(where, `no [program:${a.files.app}-web] (or -web-blue/-web-green) runs this gunicorn config`)];
      return webs.flatMap(([name, web]) => {
        const wait = Number(web.stopwaitsecs ?? SUPERVISOR_DEFAULT_STOPWAITSECS);
        return wait < graceful ? [fileFinding(where, `[program:${name}] stopwaitsecs ${wait} is below gunicorn graceful_timeout ${graceful}`)] : [];
      });
    }),
};

/** Workers are recycled (`max_requests` with `max_requests_jitter`), bounding leaks. Refs: gunicorn max_requests. */
export const gunicornWorkerRecycling: Check = {
  id: "gunicorn-worker-recycling",
  title: "gunicorn recycles workers (max_requests with jitter)",
  refs: ["gunicorn max_requests", "gunicorn max_requests_jitter"],
  description: "Without recycling a slow memory leak grows until the OOM killer takes the box's database with it.",
  run: (plan) =>
    perApp(plan, "gunicorn", "gunicorn config", (a) => {
      const path = a.files.gunicorn!.path;
      return [
        ...(!((pyNumber(a.gunicorn!.max_requests) ?? 0) > 0) ? [fileFinding(path, "max_requests is not set")] : []),
        ...(!((pyNumber(a.gunicorn!.max_requests_jitter) ?? 0) > 0) ? [fileFinding(path, "max_requests_jitter is not set")] : []),
      ];
    }),
};

const LOCAL_BIND = /^(unix:|127\.0\.0\.1:)/;

/**
 * gunicorn listens only on a unix socket or 127.0.0.1 — in its config and in
 * any `--bind` on the supervisor command line — so nginx is the only way in.
 * Refs: gunicorn bind.
 */
export const gunicornBindLocal: Check = {
  id: "gunicorn-bind-local",
  title: "gunicorn binds to a unix socket or 127.0.0.1",
  refs: ["gunicorn bind"],
  description: "A gunicorn on 0.0.0.0 bypasses nginx's TLS, limits and host routing.",
  run: (plan) =>
    perApp(plan, "gunicorn", "gunicorn config", (a) => {
      const binds = pyStrings(a.gunicorn!.bind);
      const command = webPrograms(a).map(([, web]) => web.command ?? "").join("\n");
      const cli = [...command.matchAll(/(?:--bind[= ]|-b\s+)(\S+)/g)].map((m) => m[1].replace(/^['"]|['"]$/g, ""));
      return [
        ...(!binds.length ? [fileFinding(a.files.gunicorn!.path, "bind is not set")] : []),
        ...binds.filter((b) => !LOCAL_BIND.test(b)).map((b) => fileFinding(a.files.gunicorn!.path, `bind "${b}" is not a unix socket or 127.0.0.1`)),
        ...cli.filter((b) => !LOCAL_BIND.test(b)).map((b) => fileFinding(a.files.supervisor!.path, `the web command binds "${b}"`)),
      ];
    }),
};

// --------------------------------------------------------------------- nginx

const nginxRoles = (plan: PlanUnderTest) => roleFiles(plan).filter((r) => r.nginxGlobal || r.apps.some((a) => a.site));

function perNginxRole(plan: PlanUnderTest, each: (role: RoleFiles, sites: { path: string; tree: NginxDirective[] }[], global?: NginxDirective[]) => Finding[]) {
  if (!roleFiles(plan).length) return notApplicable(NO_FILES);
  const roles = nginxRoles(plan);
  if (!roles.length) return notApplicable("no nginx configuration rendered in this plan");
  return roles.flatMap((role) =>
    each(
      role,
      role.apps.filter((a) => a.site).map((a) => ({ path: a.site!.path, tree: parseNginx(a.site!.content) })),
      role.nginxGlobal && parseNginx(role.nginxGlobal.content),
    ),
  );
}

/** `server_tokens off` at http level or in every site. Refs: nginx server_tokens. */
export const nginxServerTokensOff: Check = {
  id: "nginx-server-tokens-off",
  title: "nginx hides its version (server_tokens off)",
  refs: ["nginx server_tokens"],
  description: "The version in every response and error page tells scanners which CVEs to try.",
  run: (plan) =>
    perNginxRole(plan, (role, sites, global) => {
      if (values(global, "server_tokens").includes("off")) return [];
      return (sites.length ? sites : [{ path: role.nginxGlobal!.path, tree: [] }])
        .filter((s) => !values(s.tree, "server_tokens").includes("off"))
        .map((s) => fileFinding(s.path, "server_tokens off is not set (nor at http level)"));
    }),
};

/** The app's upload limit from app.env: `DJANGO_MAX_UPLOAD_MB`, or `DJANGO_UPLOAD_MAX_BYTES`. */
function uploadLimitMb(env: Record<string, string> | undefined): number {
  if (env?.DJANGO_MAX_UPLOAD_MB) return Number(env.DJANGO_MAX_UPLOAD_MB);
  if (env?.DJANGO_UPLOAD_MAX_BYTES) return Number(env.DJANGO_UPLOAD_MAX_BYTES) / (1024 * 1024);
  return NaN;
}

/**
 * `client_max_body_size` (nginx default 1m) is set and at least the app's
 * upload limit (`DJANGO_MAX_UPLOAD_MB` or `DJANGO_UPLOAD_MAX_BYTES` in
 * app.env). Refs: nginx client_max_body_size, Django DATA_UPLOAD_MAX_MEMORY_SIZE.
 */
export const nginxClientMaxBodySize: Check = {
  id: "nginx-client-max-body-size",
  title: "nginx client_max_body_size admits the app's largest upload",
  refs: ["nginx client_max_body_size", "Django DATA_UPLOAD_MAX_MEMORY_SIZE"],
  description: "Uploads above nginx's 1 MB default fail with a 413 that Django never sees.",
  run: (plan) =>
    perApp(plan, "site", "nginx site", (a) => {
      const site = values(a.site, "client_max_body_size").map(nginxSizeMb).filter((n): n is number => n !== undefined);
      const global = values(a.global, "client_max_body_size").map(nginxSizeMb).filter((n): n is number => n !== undefined);
      const effective = site.length ? Math.min(...site) : global.length ? Math.min(...global) : undefined;
      const path = a.files.site!.path;
      if (effective === undefined) return [fileFinding(path, "client_max_body_size is not set (nginx default 1m)")];
      const wanted = uploadLimitMb(a.env);
      return Number.isFinite(wanted) && effective < wanted
        ? [fileFinding(path, `client_max_body_size ${effective}m is below the app's upload limit of ${wanted} MB`)]
        : [];
    }),
};

/**
 * `keepalive_timeout` set and above the ALB idle timeout (60 s unless the plan
 * says otherwise), or the ALB reuses a connection nginx just closed and
 * returns a 502. Refs: AWS ALB idle timeout, nginx keepalive_timeout.
 */
export const nginxKeepaliveTimeout: Check = {
  id: "nginx-keepalive-timeout",
  title: "nginx keepalive_timeout exceeds the load balancer's idle timeout",
  refs: ["nginx keepalive_timeout", "ALB idle_timeout"],
  description: "When nginx closes idle connections first, the ALB sends requests into closed sockets: sporadic 502s.",
  run: (plan) =>
    perNginxRole(plan, (role, sites, global) => {
      const floor = Math.max(60, albIdleTimeout(plan) ?? 60);
      const globalValue = nginxSeconds(values(global, "keepalive_timeout")[0]);
      const targets = sites.length ? sites : [{ path: role.nginxGlobal!.path, tree: [] as NginxDirective[] }];
      return targets.flatMap((s) => {
        const value = nginxSeconds(values(s.tree, "keepalive_timeout")[0]) ?? globalValue;
        if (value === undefined) return [fileFinding(s.path, "keepalive_timeout is not set")];
        return value <= floor ? [fileFinding(s.path, `keepalive_timeout ${value}s does not exceed ${floor}s`)] : [];
      });
    }),
};

/** The proxy_set_header directives in force at a location: nginx inherits them only when the inner level sets none. */
function effectiveProxyHeaders(levels: (NginxDirective[] | undefined)[]): Record<string, string> | undefined {
  for (const level of levels) {
    if (!level) continue;
    const direct = level.filter((d) => d.name === "proxy_set_header" || (d.name === "include" && /proxy_params$/.test(d.args[0] ?? "")));
    if (!direct.length) continue;
    const headers: Record<string, string> = {};
    for (const d of direct)
      if (d.name === "include") Object.assign(headers, { "x-forwarded-proto": "$scheme", host: "$http_host" });
      else headers[(d.args[0] ?? "").toLowerCase()] = d.args[1] ?? "";
    return headers;
  }
  return undefined;
}

/**
 * Every proxied location overwrites `X-Forwarded-Proto` — with `$scheme` on a
 * single box (nginx terminates TLS), with `$http_x_forwarded_proto` behind an
 * ALB (the ALB terminates TLS) — so Django's `SECURE_PROXY_SSL_HEADER` can
 * be trusted. Takes nginx's inheritance rule into account: a location with
 * any `proxy_set_header` of its own inherits none from the server.
 * Refs: Django SECURE_PROXY_SSL_HEADER.
 */
export const nginxForwardedProto: Check = {
  id: "nginx-forwarded-proto",
  title: "nginx sets X-Forwarded-Proto for Django (scheme on the box, ALB's header behind an ALB)",
  refs: ["Django SECURE_PROXY_SSL_HEADER"],
  description: "A missing or client-supplied header causes HTTPS redirect loops or lets clients spoof a secure request.",
  run(plan) {
    let proxied = 0;
    const result = perNginxRole(plan, (role, sites, global) => {
      const wanted = behindAlb(plan, role) ? "$http_x_forwarded_proto" : "$scheme";
      return sites.flatMap((site) =>
        findDirectives(site.tree, "proxy_pass").flatMap(({ ancestors }) => {
          proxied++;
          // Innermost first: the location, its server, the site file's top level, then http level.
          const levels = [...ancestors].reverse().map((d) => d.children);
          const headers = effectiveProxyHeaders([...levels, site.tree, global]);
          const where = ancestors.map((d) => [d.name, ...d.args].join(" ")).join(" > ");
          const value = headers?.["x-forwarded-proto"];
          return value === wanted ? [] : [fileFinding(site.path, `${where}: X-Forwarded-Proto is ${value ?? "not set"}, not ${wanted}`)];
        }),
      );
    });
    if (!("notApplicable" in result) && proxied === 0) return notApplicable("no nginx location proxies to the app");
    return result;
  },
};

/**
 * Behind an ALB, the health check arrives with the target's private IP as
 * Host, which matches no `server_name`: the default server must answer
 * `/healthz` itself, or Django raises DisallowedHost and the target is
 * marked unhealthy. Refs: CHECKS.md "ALB health checks vs ALLOWED_HOSTS".
 */
export const nginxAlbHealthz: Check = {
  id: "nginx-alb-healthz",
  title: "Behind an ALB, nginx's default server answers /healthz",
  refs: ["Django DisallowedHost", "CKV_AWS_261"],
  description: "Without it every target fails its health check on DisallowedHost, unless ALLOWED_HOSTS is '*'.",
  run(plan) {
    if (!applicationLoadBalancers(plan).length) return notApplicable("no ALB in this plan: health checks carry the site's Host");
    const roles = nginxRoles(plan).filter((r) => behindAlb(plan, r));
    if (!roles.length) return notApplicable("no nginx configuration rendered for a role behind the ALB");
    return roles.flatMap((role) => {
      const trees = [role.nginxGlobal, ...role.apps.map((a) => a.site)].filter((f) => !!f).map((f) => parseNginx(f!.content));
      const servers = trees.flatMap((t) => findDirectives(t, "server").map((s) => s.directive));
      const defaults = servers.filter((s) => (s.children ?? []).some((d) => d.name === "listen" && d.args.includes("default_server")));
      const answers = defaults.some((s) =>
        findDirectives(s.children ?? [], "location").some(({ directive }) => directive.args.includes("/healthz")),
      );
      const subject = role.apps.find((a) => a.site)?.site?.path ?? role.nginxGlobal!.path;
      return answers ? [] : [fileFinding(subject, `role ${role.role}: no default_server block has a /healthz location`)];
    });
  },
};

// --------------------------------------------------------------- supervisor

function perSupervisor(plan: PlanUnderTest, each: (a: AppView) => Finding[]) {
  return perApp(plan, "supervisor", "supervisor config", each);
}

/** Programs stop and restart as a process group, and come back when they die. Refs: supervisor stopasgroup/killasgroup/autorestart. */
export const supervisorProcessGroups: Check = {
  id: "supervisor-process-groups",
  title: "supervisor programs use stopasgroup, killasgroup and autorestart",
  refs: ["supervisor stopasgroup", "supervisor killasgroup", "supervisor autorestart"],
  description: "Without group signals, gunicorn and Celery children are orphaned on restart and keep old code running.",
  run: (plan) =>
    perSupervisor(plan, (a) =>
      Object.entries(a.programs).flatMap(([name, keys]) =>
        (["stopasgroup", "killasgroup", "autorestart"] as const)
          .filter((k) => (keys[k] ?? "").toLowerCase() !== "true")
          .map((k) => fileFinding(a.files.supervisor!.path, `[program:${name}] ${k} is ${keys[k] ?? "unset"}, not true`)),
      ),
    ),
};

/**
 * Worker programs wait for running tasks before SIGKILL: `stopwaitsecs`
 * above supervisor's 10 s default (the longest task, from the stack's
 * settings). Refs: supervisor stopwaitsecs.
 */
export const supervisorWorkerStopWait: Check = {
  id: "supervisor-worker-stopwaitsecs",
  title: "Worker programs wait for the longest task before being killed",
  refs: ["supervisor stopwaitsecs"],
  description: "With the 10 s default every deploy kills long tasks mid-way.",
  run(plan) {
    const workers = appViews(plan).flatMap((a) =>
      Object.entries(a.programs)
        .filter(([name]) => name.endsWith("-worker"))
        .map(([name, keys]) => ({ a, name, keys })),
    );
    if (!roleFiles(plan).length) return notApplicable(NO_FILES);
    if (!workers.length) return notApplicable("no worker program rendered in this plan");
    return workers
      .filter(({ keys }) => !(Number(keys.stopwaitsecs) > SUPERVISOR_DEFAULT_STOPWAITSECS))
      .map(({ a, name, keys }) => fileFinding(a.files.supervisor!.path, `[program:${name}] stopwaitsecs is ${keys.stopwaitsecs ?? "unset"} (default 10)`));
  },
};

const isBeat = (name: string, keys: Record<string, string>) =>
  name.endsWith("-beat") || /\scelery\b.*\sbeat\b|\s(-B|--beat)\b/.test(` ${keys.command ?? ""}`);

/**
 * At most one Celery beat per app across every role (a second scheduler
 * sends every periodic task twice). Refs: Celery periodic tasks.
 */
export const celerySingleBeat: Check = {
  id: "celery-single-beat",
  title: "At most one Celery beat per app",
  refs: ["Celery periodic tasks"],
  description: "Two schedulers run every periodic task twice: double emails, double charges.",
  run(plan) {
    if (!roleFiles(plan).length) return notApplicable(NO_FILES);
    const views = appViews(plan).filter((a) => a.files.supervisor);
    if (!views.length) return notApplicable("no supervisor config rendered in this plan");
    const beats = new Map<string, { path: string; count: number }[]>();
    for (const a of views)
      for (const [name, keys] of Object.entries(a.programs))
        if (isBeat(name, keys)) {
          const list = beats.get(a.files.app) ?? [];
          list.push({ path: a.files.supervisor!.path, count: Number(keys.numprocs ?? 1) });
          beats.set(a.files.app, list);
        }
    return [...beats.entries()]
      .filter(([, list]) => list.reduce((n, b) => n + b.count, 0) > 1)
      .map(([app, list]) => fileFinding(list[0].path, `app ${app} runs ${list.reduce((n, b) => n + b.count, 0)} beat schedulers (${list.map((b) => b.path).join(", ")})`));
  },
};

// -------------------------------------------------------------------- Django

/**
 * The rendered environment runs Django in production mode: DJANGO_DEBUG=0,
 * a non-empty DJANGO_ALLOWED_HOSTS without `*`, and DJANGO_SETTINGS_MODULE
 * the server's production module, which applies these over the app's own
 * settings (pointing at the app's module would let its DEBUG = True win).
 * Refs: Django W018, W020.
 */
export const djangoEnvProduction: Check = {
  id: "django-env-production",
  title: "app.env sets DEBUG off and explicit ALLOWED_HOSTS, and loads them over the app's settings",
  refs: ["Django W018", "Django W020"],
  description: "DEBUG leaks settings and tracebacks; a wildcard ALLOWED_HOSTS enables host-header poisoning of password-reset links; values the app's own settings module can override are not production settings.",
  run: (plan) =>
    perApp(plan, "env", "app.env", (a) => {
      const env = a.env!;
      const path = a.files.env!.path;
      const hosts = (env.DJANGO_ALLOWED_HOSTS ?? "").split(/[,\s]+/).filter(Boolean);
      return [
        ...(env.DJANGO_SETTINGS_MODULE !== PRODUCTION_SETTINGS_MODULE
          ? [fileFinding(path, `DJANGO_SETTINGS_MODULE is ${env.DJANGO_SETTINGS_MODULE ?? "unset"}, not ${PRODUCTION_SETTINGS_MODULE} (the app's own settings would win over the production values)`)]
          : []),
        ...(!["0", "False", "false"].includes(env.DJANGO_DEBUG ?? "") ? [fileFinding(path, `DJANGO_DEBUG is ${env.DJANGO_DEBUG ?? "unset"}, not 0`)] : []),
        ...(!hosts.length ? [fileFinding(path, "DJANGO_ALLOWED_HOSTS is empty")] : []),
        ...(hosts.includes("*") ? [fileFinding(path, "DJANGO_ALLOWED_HOSTS contains *")] : []),
      ];
    }),
};

const hostList = (v: string | undefined) => (v ?? "").split(/[,\s]+/).filter(Boolean);
const isLocal = (host: string) => host === "localhost" || /^[\d.]+$/.test(host) || host.includes(":");
const hostAllowed = (host: string, allowed: string[]) =>
  allowed.some((a) => a === host || (a.startsWith(".") && (host === a.slice(1) || host.endsWith(a))));

/**
 * An app served on a domain sets CSRF_TRUSTED_ORIGINS to full origins
 * (`https://host`) whose hosts are in ALLOWED_HOSTS. An app with no domain
 * yet (ALLOWED_HOSTS only localhost and addresses) needs none: its forms post
 * to the same origin. Refs: Django 4.0+ CSRF_TRUSTED_ORIGINS.
 */
export const djangoCsrfTrustedOrigins: Check = {
  id: "django-csrf-trusted-origins",
  title: "app.env sets CSRF_TRUSTED_ORIGINS for the app's domains",
  refs: ["Django CSRF_TRUSTED_ORIGINS"],
  description: "Behind a TLS-terminating proxy, Django 4+ rejects every POST without trusted origins.",
  run: (plan) =>
    perApp(plan, "env", "app.env", (a) => {
      const env = a.env!;
      const path = a.files.env!.path;
      const allowed = hostList(env.DJANGO_ALLOWED_HOSTS);
      const origins = hostList(env.DJANGO_CSRF_TRUSTED_ORIGINS ?? env.CSRF_TRUSTED_ORIGINS);
      if (!origins.length)
        return allowed.some((h) => !isLocal(h)) ? [fileFinding(path, "DJANGO_CSRF_TRUSTED_ORIGINS is not set although the app has domains")] : [];
      return origins.flatMap((o) => {
        const m = /^https?:\/\/([^/:\s]+)(:\d+)?$/.exec(o);
        if (!m) return [fileFinding(path, `CSRF trusted origin "${o}" is not scheme://host`)];
        const host = m[1].replace(/^\*\./, ".");
        return hostAllowed(host, allowed) || (host.startsWith(".") && allowed.includes(host))
          ? []
          : [fileFinding(path, `CSRF trusted origin "${o}" names a host not in DJANGO_ALLOWED_HOSTS`)];
      });
    }),
};

const SECRET_ENV_KEY = /SECRET_KEY|PASSWORD|PASSWD|TOKEN|SECRET_ACCESS_KEY/i;
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:[^\s/@]+@/i;

/**
 * No rendered file carries a secret: not the plain value of any Pulumi
 * secret in the plan, no AWS key or private key, and no app.env entry with
 * a SECRET_KEY/PASSWORD/TOKEN value or a URL with a password. Secrets go to
 * secrets.env, written at boot by `fetch` and never rendered.
 * Refs: WA SEC02-BP03, CKV_AWS_46.
 */
export const serverFilesNoSecrets: Check = {
  id: "server-files-no-secrets",
  title: "Rendered server files carry no secrets",
  refs: ["WA SEC02-BP03", "CKV_AWS_46"],
  description: "Rendered files end up in user data, state and test snapshots; a secret there is a leaked secret.",
  run(plan) {
    const roles = roleFiles(plan);
    if (!roles.length) return notApplicable(NO_FILES);
    const secrets = secretStrings(plan);
    return roles.flatMap((role) =>
      role.files.flatMap((file) => {
        const findings = leaksIn(file.content, secrets).map((leak) => fileFinding(file.path, `contains ${leak}`));
        if (/^\/etc\/django-tiers\/.+\/app\.env$/.test(file.path))
          for (const [k, v] of Object.entries(parseEnvFile(file.content))) {
            if (SECRET_ENV_KEY.test(k) && v !== "") findings.push(fileFinding(file.path, `${k} has a value; secrets belong in secrets.env`));
            else if (URL_WITH_PASSWORD.test(v)) findings.push(fileFinding(file.path, `${k} is a URL with a password`));
          }
        return findings;
      }),
    );
  },
};

export const SERVER_FILE_CHECKS: Check[] = [
  gunicornTimeoutBelowProxy,
  gunicornGracefulWithinStopWait,
  gunicornWorkerRecycling,
  gunicornBindLocal,
  nginxServerTokensOff,
  nginxClientMaxBodySize,
  nginxKeepaliveTimeout,
  nginxForwardedProto,
  nginxAlbHealthz,
  supervisorProcessGroups,
  supervisorWorkerStopWait,
  celerySingleBeat,
  djangoEnvProduction,
  djangoCsrfTrustedOrigins,
  serverFilesNoSecrets,
  rolloutReachesServer,
];
