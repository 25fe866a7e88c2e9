/**
 * supervisor programs of one app: gunicorn, and the task worker (plus
 * exactly one celery beat) when the stack has one. Every command goes
 * through django-tiers-exec, which loads the app's environment and execs.
 * By role: a single box runs them all; an app server only gunicorn; a worker
 * server only the task worker, or only beat (see boxProgramNames). A worker
 * with a lifecycle hook also runs the drain watcher (django-tiers-drain).
 */
import {
  appPaths, boxProgramNames, COLORS, colorPaths, defaultQueues, DRAIN_PROGRAM, DRAIN_SCRIPT, DRAIN_SUPERVISOR_CONF, EXEC_WRAPPER, IDLE_COLORS_LOG,
  IDLE_COLORS_PROGRAM, IDLE_COLORS_SCRIPT, IDLE_COLORS_SUPERVISOR_CONF, LOG_DIR, STATE_DIR, WORKER_WATCHDOG_CRON, WORKER_WATCHDOG_SCRIPT,
} from "./paths";
import { bashAssoc } from "./quote";
import type { AppSpec, BoxSpec, RenderedFile } from "./types";

/** Extra seconds supervisor waits beyond gunicorn's own graceful timeout before SIGKILL. */
const STOP_MARGIN_SECONDS = 10;

export function renderSupervisorFile(spec: BoxSpec, app: AppSpec): RenderedFile {
  return { path: appPaths(app.name).supervisorConf, mode: "0644", owner: "root:root", content: renderSupervisorConf(spec, app) };
}

interface Program {
  name: string;
  command: string;
  stopwaitsecs: number;
  log: string;
  why: string;
  /** Working directory; default the app's `current` link. */
  directory?: string;
  /** Extra environment (supervisor syntax, appended to HOME, USER, LOGNAME). */
  environment?: string;
}

function programs(spec: BoxSpec, app: AppSpec): Program[] {
  const paths = appPaths(app.name);
  const python = paths.python;
  const wanted = new Set(boxProgramNames(app.name, spec));
  // -P: gunicorn's chdir (the "current" link, re-read on every HUP) is the
  // only project path on sys.path, never the release the master started in.
  const list: Program[] = [
    {
      name: `${app.name}-web`,
      command: `${python} -P -m gunicorn --config ${paths.gunicornConf} ${app.wsgiApplication}`,
      stopwaitsecs: spec.gunicorn.gracefulTimeoutSeconds + STOP_MARGIN_SECONDS,
      log: `${paths.logDir}/web.log`,
      why: "gunicorn: TERM drains requests for graceful_timeout; stopwaitsecs is longer.",
    },
  ];
  const taskStop = spec.longestTaskSeconds + STOP_MARGIN_SECONDS;
  if (spec.taskWorker === "celery") {
    list.push(
      {
        name: `${app.name}-worker`,
        command: `${python} -m celery -A ${app.celeryApp} worker --loglevel INFO${celeryWorkerOptions(spec)}`,
        stopwaitsecs: taskStop,
        log: `${paths.logDir}/worker.log`,
        why: "celery: TERM is a warm shutdown (running tasks finish); stopwaitsecs covers the longest task.",
      },
      {
        name: `${app.name}-beat`,
        command: `${python} -m celery -A ${app.celeryApp} beat --loglevel INFO --schedule ${paths.state}/celerybeat-schedule`,
        stopwaitsecs: STOP_MARGIN_SECONDS,
        log: `${paths.logDir}/beat.log`,
        why: spec.role === "worker"
          ? "celery beat: only on the stack's one beat server, or periodic tasks run twice."
          : "celery beat: exactly one per app, or periodic tasks run twice.",
      },
    );
  } else if (spec.taskWorker === "rq") {
    const queues = spec.role === "worker" ? ` ${(spec.queues ?? defaultQueues("rq")).join(" ")}` : "";
    list.push({
      name: `${app.name}-worker`,
      // The config module sets up Django before the first job and names the Redis URL and queues.
      command: `${python} -m rq.cli worker --config django_tiers_rq${queues}`,
      stopwaitsecs: taskStop,
      log: `${paths.logDir}/worker.log`,
      why: "rq: TERM is a warm shutdown (the running job finishes); stopwaitsecs covers the longest task.",
    });
  }
  return list.flatMap((p) => (p.name === `${app.name}-web` && spec.colors ? colorWebPrograms(app, p) : [p])).filter((p) => wanted.has(p.name));
}

/**
 * Blue-green on one box: the web program twice, once per color, each from
 * its color's release link (its own venv and code) and with its color in
 * DJANGO_TIERS_COLOR, which gunicorn.conf.py turns into its socket. The task
 * programs stay on `current`, the live color's release.
 */
function colorWebPrograms(app: AppSpec, web: Program): Program[] {
  const paths = appPaths(app.name);
  return COLORS.map((color) => {
    const c = colorPaths(app.name, color);
    return {
      ...web,
      name: c.program,
      command: web.command.replace(`${paths.python} `, `${c.python} `),
      directory: c.link,
      environment: `DJANGO_TIERS_COLOR="${color}"`,
      log: c.log,
      why: `gunicorn, ${color}: TERM drains requests for graceful_timeout; stopwaitsecs is longer. Socket ${c.socket}.`,
    };
  });
}

/**
 * A worker server consumes the spec's queues. With SQS, kombu has no
 * broadcast (fanout) exchange, so gossip, mingle and the heartbeat events
 * that ride on it cannot work and are turned off; with Redis they stay on
 * (a single box keeps Celery's defaults).
 */
function celeryWorkerOptions(spec: BoxSpec): string {
  if (spec.role !== "worker") return "";
  const queues = ` --queues ${(spec.queues ?? defaultQueues("celery")).join(",")}`;
  return spec.broker?.kind === "sqs" ? `${queues} --without-heartbeat --without-gossip --without-mingle` : queues;
}

export function renderSupervisorConf(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  const blocks = programs(spec, app).map(
    (p) => `; ${p.why}
[program:${p.name}]
command=${EXEC_WRAPPER} ${app.name} ${p.command}
directory=${p.directory ?? paths.current}
user=${app.name}
environment=HOME="${paths.root}",USER="${app.name}",LOGNAME="${app.name}"${p.environment ? `,${p.environment}` : ""}
umask=022
autostart=true
autorestart=true
startsecs=5
startretries=3
stopsignal=TERM
stopwaitsecs=${p.stopwaitsecs}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=${p.log}
; logrotate rotates these files (copytruncate), not supervisor.
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
`,
  );
  return `; supervisor programs of app ${app.name}. Rendered by django-tiers; edits are overwritten.
; Commands run through django-tiers-exec, which loads app.env and secrets.env.
; Before the first release "current" does not exist and the programs stay
; stopped; django-tiers-provision release starts them.
${spec.colors ? COLORS_NOTE : ""}
${blocks.join("\n")}`;
}

/** The supervisor file's note on a box with blue-green releases. */
const COLORS_NOTE = `; Blue-green on this box: one web program per color, each from its color's
; release link; the worker and beat run "current", the live color's release.
; Phase release starts, reloads and stops the colors (the idle one is stopped
; when colors.idleRunning is false). After a reboot supervisor starts both, and
; ${IDLE_COLORS_PROGRAM} (${IDLE_COLORS_SUPERVISOR_CONF}) stops the idle one
; again when colors.idleRunning is false, never the one the live link points to.
`;

/**
 * Blue-green on one box: the program that runs django-tiers-idle-colors
 * (colors.ts) whenever supervisord starts. Both colors' programs stay
 * `autostart=true`: phase configure's `supervisorctl update` restarts every
 * program whose configuration changed, so changing theirs would restart the
 * live color on every box that takes the change. This program is added
 * beside them instead; update starts it once when it adds it, and leaves it
 * alone afterwards while its configuration is unchanged (each program is a
 * group of its own: an unchanged group is never restarted).
 *
 * The check runs once, then the program sleeps rather than exit, as a
 * systemd oneshot with RemainAfterExit would: `autorestart=true` (which the
 * supervisor-process-groups check asks of every program) restarts a program
 * that exits, and RUNNING then says "checked since supervisord started". If
 * the sleep is ever killed, the check runs again, which is harmless: it
 * waits for any provisioning run and never stops the live link's color.
 * `startsecs=1` and `startretries=3` keep a broken command from looping.
 */
export function renderIdleColorsSupervisorFile(spec: BoxSpec): RenderedFile[] {
  if (!spec.colors) return [];
  return [{
    path: IDLE_COLORS_SUPERVISOR_CONF,
    mode: "0644",
    owner: "root:root",
    content: `; Blue-green on this box: after supervisord starts (a boot), stops each app's idle
; color when colors.idleRunning is false. Rendered by django-tiers; edits are overwritten.
; supervisord starts both colors (both are autostart=true, and stay so: changing
; their configuration would restart the live color at the next rollout). This
; runs ${IDLE_COLORS_SCRIPT} once, then sleeps (RUNNING: it has run since
; supervisord started; a program that exits would be restarted). Its log says
; what it did for each app.
[program:${IDLE_COLORS_PROGRAM}]
command=/bin/sh -c "${IDLE_COLORS_SCRIPT}; exec sleep infinity"
directory=/
user=root
autostart=true
autorestart=true
startsecs=1
startretries=3
stopsignal=TERM
stopwaitsecs=${STOP_MARGIN_SECONDS}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=${IDLE_COLORS_LOG}
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
`,
  }];
}

/**
 * The drain watcher of a worker server with a lifecycle hook: a supervisor
 * program rather than a cron job, because cron cannot run more often than
 * once a minute and the hook's clock is running; supervisor restarts it if it
 * dies and captures its log like every other program's. It runs as root
 * (supervisorctl's socket and the ASG call need it) and stops in a second.
 */
export function renderDrainSupervisorFile(spec: BoxSpec): RenderedFile[] {
  if (spec.role !== "worker" || !spec.lifecycleHook) return [];
  return [{
    path: DRAIN_SUPERVISOR_CONF,
    mode: "0644",
    owner: "root:root",
    content: `; The drain watcher of this worker server. Rendered by django-tiers; edits are overwritten.
; It polls IMDSv2 for the autoscaling group's Terminated state, stops the task
; programs (each waits its stopwaitsecs for running tasks) and completes the
; lifecycle hook ${spec.lifecycleHook.name}.
[program:${DRAIN_PROGRAM}]
command=${DRAIN_SCRIPT}
directory=/
user=root
autostart=true
autorestart=true
startsecs=2
startretries=10
stopsignal=TERM
stopwaitsecs=${STOP_MARGIN_SECONDS}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=${LOG_DIR}/drain.log
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
`,
  }];
}

/** Seconds `celery inspect ping` waits for the worker's reply (the watchdog's probe). */
export const WATCHDOG_PING_TIMEOUT_SECONDS = 5;
/** Missed pings in a row, one per cron minute, before the watchdog restarts the worker. */
export const WATCHDOG_MISSED_PINGS = 2;
/** A worker started less than this many seconds ago may not answer yet: its missed ping is not counted. */
export const WATCHDOG_STARTUP_GRACE_SECONDS = 60;

/**
 * Apps whose Celery worker runs on this box with a Redis broker: the ones
 * the worker watchdog looks after. Not RQ, not beat-only servers, not SQS
 * (kombu's SQS transport has no broadcast, so `inspect ping` cannot work
 * there, and the lost poller registration is a bug of the Redis transport).
 */
export function watchdogApps(spec: BoxSpec): AppSpec[] {
  if (spec.taskWorker !== "celery" || spec.broker?.kind === "sqs") return [];
  return spec.apps.filter((app) => boxProgramNames(app.name, spec).includes(`${app.name}-worker`));
}

/**
 * The Celery worker watchdog (issue #6): Debian bookworm's kombu 5.2.4 loses
 * the worker's Redis poller registration when it reconnects after Redis
 * restarts (fixed in kombu 5.4.0, celery/kombu#2007). The worker logs
 * "Connected to redis://…" and stays RUNNING under supervisor, but never
 * consumes again, and no Celery setting avoids it. Such a worker no longer
 * reads its pidbox either, so `celery inspect ping` to its own node goes
 * unanswered: that is the probe, and a restart is the cure.
 *
 * The cron file is rendered on every box, with no job when no app has a
 * Celery worker here: configuration documents only ever write files, so a
 * box that moves from Celery to RQ (whose program has the same name) must
 * get an empty file, not keep a stale job.
 */
export function renderWorkerWatchdogFiles(spec: BoxSpec): RenderedFile[] {
  const cron = { path: WORKER_WATCHDOG_CRON, mode: "0644", owner: "root:root", content: renderWorkerWatchdogCron(spec) };
  if (watchdogApps(spec).length === 0) return [cron];
  return [{ path: WORKER_WATCHDOG_SCRIPT, mode: "0755", owner: "root:root", content: renderWorkerWatchdogScript(spec) }, cron];
}

/** One job per app with a Celery worker, every minute, logging to the app's log dir (logrotate covers it). */
export function renderWorkerWatchdogCron(spec: BoxSpec): string {
  const lines = [
    "# Rendered by django-tiers; edits are overwritten.",
    "SHELL=/bin/bash",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "",
  ];
  const apps = watchdogApps(spec);
  if (apps.length === 0) {
    lines.push("# No Celery worker with a Redis broker on this box: no worker watchdog.");
  } else {
    lines.push(`# Celery worker watchdog: a worker that misses ${WATCHDOG_MISSED_PINGS} pings in a row is restarted (see ${WORKER_WATCHDOG_SCRIPT}).`);
    for (const app of apps) {
      lines.push(`* * * * * root ${WORKER_WATCHDOG_SCRIPT} ${app.name} >>${appPaths(app.name).logDir}/watchdog.log 2>&1`);
    }
  }
  return lines.join("\n") + "\n";
}

export function renderWorkerWatchdogScript(spec: BoxSpec): string {
  const celeryApps = Object.fromEntries(watchdogApps(spec).map((app) => [app.name, app.celeryApp]));
  return `#!/bin/bash
# django-tiers-worker-watchdog APP: restarts APP's Celery worker when it no
# longer answers a ping. Rendered by django-tiers for ${spec.project}/${spec.stack};
# edits are overwritten. cron runs it every minute (${WORKER_WATCHDOG_CRON}).
#
# Why: bookworm's kombu 5.2.4 loses the worker's Redis poller registration
# when it reconnects after Redis restarts (fixed in kombu 5.4.0,
# celery/kombu#2007): the worker stays RUNNING, logs "Connected to redis://",
# and never consumes again. It no longer answers \`celery inspect ping\` to its
# own node either; a restart brings it back, and the queued tasks run.
#
# When: only after ${WATCHDOG_MISSED_PINGS} missed pings in a row, one per cron run. A stuck
# worker stays stuck, so waiting a minute more costs little, while a needless
# restart is a warm shutdown that waits for running tasks. A worker's log
# cannot tell stuck from healthy (the stuck one's last broker line is
# "Connected to"), and logrotate empties it, so the log is not read. Not
# counted: a worker started under ${WATCHDOG_STARTUP_GRACE_SECONDS} s ago (still starting), and a
# ping that cannot reach the broker (Redis down: a restart would not help;
# the worker reconnects by itself when Redis returns, and is pinged then).
#
# For the tests, DJANGO_TIERS_WATCHDOG_PATH replaces PATH (where it finds
# supervisorctl, runuser, uname) and DJANGO_TIERS_STATE_DIR the state dir;
# cron sets neither.
set -uo pipefail
export PATH=\${DJANGO_TIERS_WATCHDOG_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}

declare -rA CELERY_APPS=${bashAssoc(celeryApps)}
readonly STATE=\${DJANGO_TIERS_STATE_DIR:-${STATE_DIR}}
readonly PING_TIMEOUT=${WATCHDOG_PING_TIMEOUT_SECONDS}
readonly MISSED_PINGS=${WATCHDOG_MISSED_PINGS}
readonly STARTUP_GRACE=${WATCHDOG_STARTUP_GRACE_SECONDS}
readonly EXEC=${EXEC_WRAPPER}

${WATCHDOG_BODY}`;
}

const WATCHDOG_BODY = `log() {
  printf '%s django-tiers-worker-watchdog %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

if (($# != 1)) || [[ -z \${CELERY_APPS[$1]+set} ]]; then
  echo "usage: django-tiers-worker-watchdog APP (apps with a Celery worker here: \${!CELERY_APPS[*]})" >&2
  exit 64
fi
app=$1
program=$app-worker
failures_file=$STATE/$app.worker-watchdog

# One run at a time per app: a restart can take the worker's whole stopwaitsecs.
exec 9>"$STATE/$app.worker-watchdog.lock"
if ! flock -n 9; then
  log "$program: the previous run is still going"
  exit 0
fi

set_failures() {
  printf '%s\\n' "$1" >"$failures_file.tmp" && mv -f "$failures_file.tmp" "$failures_file"
}

# "mysite-worker  RUNNING   pid 123, uptime 0:12:34" (or "uptime 2 days, 0:12:34").
status=$(supervisorctl status "$program" 2>&1 9>&-)
read -r name state _ <<<"$status"
if [[ $name != "$program" || $state != RUNNING ]]; then
  # Stopped (a release, a restore), starting, or FATAL: supervisor's business, not a stuck worker.
  log "$program is not RUNNING, nothing to do ($(head -n 1 <<<"$status"))"
  set_failures 0
  exit 0
fi
uptime=86400
days_re='uptime [0-9]+ days?,'
clock_re='uptime ([0-9]+):([0-9]{2}):([0-9]{2})'
if [[ ! $status =~ $days_re && $status =~ $clock_re ]]; then
  uptime=$((10#\${BASH_REMATCH[1]} * 3600 + 10#\${BASH_REMATCH[2]} * 60 + 10#\${BASH_REMATCH[3]}))
fi

# The worker's node name is Celery's default, celery@<hostname> (the program
# passes no -n). As the app user, with the app's environment (broker URL and
# token), from the live release like the program itself. 69 (EX_UNAVAILABLE)
# is "no node replied"; timeout's 124 is a broker that cannot be reached
# (kombu retries the connection without end).
current=/srv/apps/$app/current
node=celery@$(uname -n)
ping=$(runuser -u "$app" -- env --chdir="$current" timeout --kill-after=5 $((PING_TIMEOUT + 25)) \\
  "$EXEC" "$app" "$current/venv/bin/python" -m celery -A "\${CELERY_APPS[$app]}" \\
  inspect ping --timeout "$PING_TIMEOUT" --destination "$node" 2>&1 9>&-)
code=$?
if ((code == 0)); then
  log "$program answers a ping ($node)"
  set_failures 0
  exit 0
fi
if ((code != 69)); then
  log "$program: the ping did not run to the end (exit $code, broker unreachable?): not counted; $(tail -n 1 <<<"$ping")"
  exit 0
fi
if ((uptime < STARTUP_GRACE)); then
  log "$program started \${uptime}s ago and does not answer yet: not counted"
  exit 0
fi

failures=$(cat "$failures_file" 2>/dev/null || true)
[[ $failures =~ ^[0-9]+$ ]] || failures=0
failures=$((failures + 1))
if ((failures < MISSED_PINGS)); then
  log "$program does not answer a ping within \${PING_TIMEOUT}s ($failures of $MISSED_PINGS): restarting if it stays silent"
  set_failures "$failures"
  exit 0
fi
log "$program does not answer a ping within \${PING_TIMEOUT}s ($failures of $MISSED_PINGS): restarting it"
set_failures 0
if supervisorctl restart "$program" 9>&-; then
  log "$program restarted"
else
  log "$program: supervisorctl restart failed"
  exit 1
fi
`;
