/**
 * supervisor programs of one app: gunicorn, and the task worker (plus
 * exactly one celery beat) when the stack has one. Every command goes
 * through django-tiers-exec, which loads the app's environment and execs.
 * By role: a single box runs them all; an app server only gunicorn; a worker
 * server only the task worker, or only beat (see boxProgramNames). A worker
 * with a lifecycle hook also runs the drain watcher (django-tiers-drain).
 */
import { appPaths, boxProgramNames, defaultQueues, DRAIN_PROGRAM, DRAIN_SCRIPT, DRAIN_SUPERVISOR_CONF, EXEC_WRAPPER, LOG_DIR } from "./paths";
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
  return list.filter((p) => wanted.has(p.name));
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
directory=${paths.current}
user=${app.name}
environment=HOME="${paths.root}",USER="${app.name}",LOGNAME="${app.name}"
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

${blocks.join("\n")}`;
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
