/**
 * supervisor programs of one app: gunicorn, and the task worker (plus
 * exactly one celery beat) when the stack has one. Every command goes
 * through django-tiers-exec, which loads the app's environment and execs.
 */
import { appPaths, EXEC_WRAPPER } from "./paths";
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
        command: `${python} -m celery -A ${app.celeryApp} worker --loglevel INFO`,
        stopwaitsecs: taskStop,
        log: `${paths.logDir}/worker.log`,
        why: "celery: TERM is a warm shutdown (running tasks finish); stopwaitsecs covers the longest task.",
      },
      {
        name: `${app.name}-beat`,
        command: `${python} -m celery -A ${app.celeryApp} beat --loglevel INFO --schedule ${paths.state}/celerybeat-schedule`,
        stopwaitsecs: STOP_MARGIN_SECONDS,
        log: `${paths.logDir}/beat.log`,
        why: "celery beat: exactly one per app, or periodic tasks run twice.",
      },
    );
  } else if (spec.taskWorker === "rq") {
    list.push({
      name: `${app.name}-worker`,
      // The config module sets up Django before the first job and names the Redis URL and queues.
      command: `${python} -m rq.cli worker --config django_tiers_rq`,
      stopwaitsecs: taskStop,
      log: `${paths.logDir}/worker.log`,
      why: "rq: TERM is a warm shutdown (the running job finishes); stopwaitsecs covers the longest task.",
    });
  }
  return list;
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
