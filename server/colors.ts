/**
 * Blue-green releases on one box (issue #5, `BoxSpec.colors`): what the
 * single box needs beyond its usual files.
 *
 * Each app runs two gunicorn programs, `<app>-web-blue` and `<app>-web-green`
 * (supervisor.ts), each from its color's release link `/srv/apps/<app>/<color>`
 * on its own socket (gunicorn.ts). nginx (nginx.ts) sends a request to the
 * upstream a map picks: the one the header `X-Django-Tiers-Color` names, or
 * by default the live one, whose socket `/run/django-tiers/<app>-live.sock`
 * is a symlink to the live color's socket. Each color's workers name their
 * color in the response header `X-Django-Tiers-Color`.
 *
 * - `colors.env` carries `colors.live` and `colors.idleRunning` to the box in
 *   the configuration document, so a change of the live color is a new
 *   document, and the rollout (`fetch configure release verify`) switches it.
 *   Phase release reads it, and django-tiers-idle-colors (below), which never
 *   switches: applying the document switches nothing by itself.
 * - `django-tiers-switch-color APP COLOR` is the switch: it checks that
 *   COLOR answers /healthz on its own socket, then renames a new live link
 *   over the old one. nginx connects through the link for every request, so
 *   nothing is reloaded: a reload ends nginx's old workers, which close their
 *   idle keep-alive connections, and a request a client sends on one at that
 *   instant gets no answer (measured: 1–2 per switch under keep-alive load).
 *   Phase release runs it once the color is up; an operator can run it by hand.
 * - /run is a tmpfs: the tmpfiles.d line of each app (system.ts, rendered
 *   from `colors.live`) recreates the live link at boot, before nginx and
 *   supervisor start; without systemd, phase configure creates a missing one.
 * - After a reboot supervisord starts both colors (both programs are
 *   `autostart=true`, and stay so: changing their configuration would make
 *   phase configure's `supervisorctl update` restart the live color). The
 *   program `django-tiers-idle-colors` (supervisor.ts), started with them,
 *   runs `django-tiers-idle-colors`: for each app, when colors.env says
 *   IDLE_RUNNING=0 and the live link points to LIVE_COLOR (no switch
 *   pending), it stops the other color; otherwise it stops nothing and says
 *   why. It never stops the color the live link points to, and waits for a
 *   provisioning run (its lock) and a switch (the switch's lock) to finish.
 *   It also runs once when `supervisorctl update` first adds the program.
 * - COLORS_SH is the part of the provisioning script (provision.ts) that only
 *   a box with colors gets: fetching both colors' release pointers, the
 *   release of each color, the switch, and `django-tiers-provision colors`.
 */
import {
  COLORS, COLORS_ENV, IDLE_COLORS_LOG, IDLE_COLORS_PROGRAM, IDLE_COLORS_SCRIPT, IDLE_COLORS_SUPERVISOR_CONF, liveSocket, PROVISION_LOCK, SOCKET_DIR,
  SWITCH_COLOR_SCRIPT,
} from "./paths";
import { bashArray, bashAssoc } from "./quote";
import { renderIdleColorsSupervisorFile } from "./supervisor";
import type { BoxSpec, RenderedFile } from "./types";

/** colors.env, the switch script, and the idle colors' check after a boot with its supervisor program; nothing without `colors`. */
export function renderColorsFiles(spec: BoxSpec): RenderedFile[] {
  if (!spec.colors) return [];
  return [
    { path: COLORS_ENV, mode: "0644", owner: "root:root", content: renderColorsEnv(spec) },
    { path: SWITCH_COLOR_SCRIPT, mode: "0755", owner: "root:root", content: renderSwitchColorScript(spec) },
    { path: IDLE_COLORS_SCRIPT, mode: "0755", owner: "root:root", content: renderIdleColorsScript(spec) },
    ...renderIdleColorsSupervisorFile(spec),
  ];
}

export function renderColorsEnv(spec: BoxSpec): string {
  const colors = spec.colors;
  if (!colors) throw new Error("renderColorsEnv: the spec has no colors");
  return `# Blue-green on this box. Rendered by django-tiers; edits are overwritten.
# Phase release of django-tiers-provision reads it: it starts (or keeps) the
# live color, switches the live socket to it, and stops the idle color's gunicorn when
# IDLE_RUNNING is 0. After a reboot, django-tiers-idle-colors stops the idle color
# again when IDLE_RUNNING is 0. Change colors.live in the stack, not here.
LIVE_COLOR=${colors.live}
IDLE_RUNNING=${colors.idleRunning ? 1 : 0}
`;
}

/** Lines of the provisioning script's header that only a box with colors has. */
export function colorsHeader(spec: BoxSpec): string {
  const parameters: Record<string, string> = {};
  for (const app of spec.apps) {
    for (const color of COLORS) {
      const parameter = app.colorReleaseParameters?.[color];
      if (parameter === undefined) throw new Error(`apps ${app.name}: colorReleaseParameters.${color} is missing`);
      parameters[`${app.name}/${color}`] = parameter;
    }
  }
  return `# Blue-green on this box: each color's release parameter (key APP/COLOR), the
# live color and the idle color's fate (colors.env), and the switch.
declare -rA APP_COLOR_RELEASE_PARAMETER=${bashAssoc(parameters)}
readonly COLORS_ENV=${COLORS_ENV}
readonly SWITCH_COLOR=${SWITCH_COLOR_SCRIPT}
`;
}

export function renderSwitchColorScript(spec: BoxSpec): string {
  const example = liveSocket(spec.apps[0].name);
  const hosts: Record<string, string> = {};
  for (const app of spec.apps) hosts[app.name] = app.domains[0] ?? "localhost";
  return `#!/bin/bash
# django-tiers-switch-color APP COLOR: sends APP's traffic to its COLOR gunicorn.
# Rendered by django-tiers for ${spec.project}/${spec.stack}; edits are overwritten.
#
# nginx sends APP's live traffic to the socket APP-live.sock (e.g.
# ${example.link}), a symlink to the live color's socket
# (APP-blue.sock or APP-green.sock). This checks that COLOR's gunicorn answers
# /healthz on its own socket (with APP's Host), then points a new link at
# COLOR's socket and renames it over the old one: nginx follows the link on
# every connection it opens, so new requests go to COLOR at once, and the
# requests in flight finish on the old color. nginx is not reloaded: a reload
# ends its old workers, which close their idle keep-alive connections, and a
# request a client sends on one at that instant gets no answer.
# When COLOR does not answer, nothing changes: the color that served keeps serving.
#
# Phase release of django-tiers-provision runs it once COLOR is up. By hand
# (an emergency rollback to a color that runs), the next rollout sets the
# stack's colors.live again; so does the next boot (tmpfiles.d).
#
# Exit 0: COLOR is live (or already was); 1: nothing switched; 64: usage.
# For the tests, DJANGO_TIERS_SOCKET_DIR replaces the socket directory.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

readonly APPS=${bashArray(spec.apps.map((a) => a.name))}
# The Host of each app's /healthz request (its first domain): Django's ALLOWED_HOSTS.
declare -rA APP_HOST=${bashAssoc(hosts)}
readonly SOCKET_DIR=\${DJANGO_TIERS_SOCKET_DIR:-${SOCKET_DIR}}

${SWITCH_BODY}`;
}

const SWITCH_BODY = `log() {
  printf '%s django-tiers-switch-color %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

known_app() {
  local app
  for app in "\${APPS[@]}"; do
    [[ $app == "$1" ]] && return 0
  done
  return 1
}

if (($# != 2)) || ! known_app "$1" || [[ $2 != blue && $2 != green ]]; then
  echo "usage: django-tiers-switch-color APP COLOR (APP: \${APPS[*]}; COLOR: blue or green)" >&2
  exit 64
fi
app=$1
color=$2
link=$SOCKET_DIR/$app-live.sock
target=$app-$color.sock

if [[ ! -d $SOCKET_DIR ]]; then
  log "$app: $SOCKET_DIR is missing (no gunicorn runs); nothing switched"
  exit 1
fi
# One switch at a time (phase release, an operator): a lock on this script,
# not on a file in the socket directory, where every app user can write.
exec 8<"\${BASH_SOURCE[0]}"
flock -w 120 8 || {
  log "$app: another switch held the lock for 120s; nothing switched"
  exit 1
}

was=$(readlink "$link" 2>/dev/null || true)
if [[ $was == "$target" ]]; then
  log "$app: $color is already live"
  exit 0
fi
was=\${was#"$app"-}
was=\${was%.sock}

if [[ ! -S $SOCKET_DIR/$target ]]; then
  log "$app: $SOCKET_DIR/$target is not a socket ($app-web-$color is not running); nothing switched: \${was:-no color} keeps serving"
  exit 1
fi
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$SOCKET_DIR/$target" \\
  -H "Host: \${APP_HOST[$app]}" http://localhost/healthz 2>/dev/null) || code=000
if [[ $code != 200 ]]; then
  log "$app: $color answers /healthz on $SOCKET_DIR/$target with $code, not 200; nothing switched: \${was:-no color} keeps serving"
  exit 1
fi

# A new link, renamed over the old one: nginx sees the old link or the new one,
# never none. (ln without -f: whatever an app user put at the temporary name
# meanwhile makes it fail, and nothing is switched.)
rm -f "$SOCKET_DIR/.$app-live.sock.tmp"
ln -s "$target" "$SOCKET_DIR/.$app-live.sock.tmp"
mv -T "$SOCKET_DIR/.$app-live.sock.tmp" "$link"
log "$app: $color is live (was \${was:-none}); $link -> $target, nginx not reloaded"
`;

/**
 * django-tiers-idle-colors: after supervisord starts, stops each app's idle
 * color when colors.idleRunning is false (see the header comment above and
 * renderIdleColorsSupervisorFile). The colors.env it reads may be a newer
 * document than the one whose release ran (a rollout applies it in phase
 * fetch, and its program's first run can come from that rollout's
 * configure): the live link, which only the switch moves, tells whether that
 * document's live color is already serving, and only then is the other
 * color idle.
 */
export function renderIdleColorsScript(spec: BoxSpec): string {
  if (!spec.colors) throw new Error("renderIdleColorsScript: the spec has no colors");
  return `#!/bin/bash
# django-tiers-idle-colors: stops each app's idle color when colors.idleRunning is false.
# Rendered by django-tiers for ${spec.project}/${spec.stack}; edits are overwritten.
#
# supervisord starts both colors of every app at boot (APP-web-blue and
# APP-web-green are autostart=true); phase release stops the idle one only at
# the next rollout. The supervisor program ${IDLE_COLORS_PROGRAM}
# (${IDLE_COLORS_SUPERVISOR_CONF}) runs this whenever supervisord starts,
# and once when \`supervisorctl update\` first adds it. For each app it stops
# APP-web-IDLE only when ${COLORS_ENV} says IDLE_RUNNING=0 and the
# app's live link (${liveSocket(spec.apps[0].name).link}, ...) points to LIVE_COLOR's
# socket, IDLE being the other color: the color the live link points to is
# never stopped. A link that points elsewhere is a switch still to come (a
# rollout applied a new colors.env and has not switched yet): then, as with
# IDLE_RUNNING=1, nothing is stopped. Each app gets one line in the log
# (${IDLE_COLORS_LOG}).
#
# It first waits for a django-tiers-provision run (its lock), which decides
# the colors itself, then holds the switch's lock while it reads the link
# and stops, so that no switch moves the link in between.
#
# Exit 0: every app decided; 1: colors.env unreadable or invalid, a lock not
# obtained, or a stop that failed (nothing else stopped by mistake).
# For the tests: DJANGO_TIERS_IDLE_COLORS_PATH replaces PATH (where it finds
# supervisorctl), DJANGO_TIERS_COLORS_ENV, DJANGO_TIERS_SOCKET_DIR,
# DJANGO_TIERS_PROVISION_LOCK and DJANGO_TIERS_SWITCH_COLOR the paths it reads;
# supervisor sets none.
set -uo pipefail
export PATH=\${DJANGO_TIERS_IDLE_COLORS_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}

readonly APPS=${bashArray(spec.apps.map((a) => a.name))}
readonly COLORS_ENV=\${DJANGO_TIERS_COLORS_ENV:-${COLORS_ENV}}
readonly SOCKET_DIR=\${DJANGO_TIERS_SOCKET_DIR:-${SOCKET_DIR}}
readonly PROVISION_LOCK=\${DJANGO_TIERS_PROVISION_LOCK:-${PROVISION_LOCK}}
readonly SWITCH_COLOR=\${DJANGO_TIERS_SWITCH_COLOR:-${SWITCH_COLOR_SCRIPT}}
# As long as django-tiers-provision itself waits for another run.
readonly PROVISION_WAIT=3600

${IDLE_COLORS_BODY}`;
}

const IDLE_COLORS_BODY = `log() {
  printf '%s django-tiers-idle-colors %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# "mysite-web-green  RUNNING   pid 123, uptime 0:00:03": the state, or ERROR for an unknown program.
program_state() {
  { supervisorctl status "$1" 2>/dev/null || true; } | awk 'NR == 1 { print $2 }'
}

log "supervisord started (a boot), or this program was added: checking each app's idle color"

# A provisioning run decides the colors itself (phase release stops the idle
# one): wait for it to end, then look at what it left.
exec 9>>"$PROVISION_LOCK" || { log "cannot open $PROVISION_LOCK; nothing stopped"; exit 1; }
if ! flock -n 9; then
  log "waiting for the django-tiers-provision run in progress"
  flock -w "$PROVISION_WAIT" 9 || { log "django-tiers-provision held its lock for \${PROVISION_WAIT}s; nothing stopped"; exit 1; }
fi
# No switch (phase release, an operator's) moves a live link while this reads it and stops.
exec 8<"$SWITCH_COLOR" || { log "cannot open $SWITCH_COLOR; nothing stopped"; exit 1; }
flock -w 120 8 || { log "a switch held its lock for 120s; nothing stopped"; exit 1; }

if [[ ! -r $COLORS_ENV ]]; then
  log "$COLORS_ENV is missing; nothing stopped"
  exit 1
fi
live=$(sed -n 's/^LIVE_COLOR=//p' "$COLORS_ENV" | head -n 1)
idle_running=$(sed -n 's/^IDLE_RUNNING=//p' "$COLORS_ENV" | head -n 1)
if [[ $live != blue && $live != green ]] || [[ $idle_running != 0 && $idle_running != 1 ]]; then
  log "$COLORS_ENV: LIVE_COLOR '$live' (blue or green) or IDLE_RUNNING '$idle_running' (0 or 1) is invalid; nothing stopped"
  exit 1
fi

failed=0
for app in "\${APPS[@]}"; do
  if ((idle_running)); then
    log "$app: colors.idleRunning is true; both colors run, nothing stopped"
    continue
  fi
  target=$(readlink "$SOCKET_DIR/$app-live.sock" 2>/dev/null || true)
  case $target in
    "$app"-blue.sock) serving=blue idle=green ;;
    "$app"-green.sock) serving=green idle=blue ;;
    *)
      log "$app: the live link $SOCKET_DIR/$app-live.sock is missing or names no color ('$target'); nothing stopped"
      continue
      ;;
  esac
  # idle is never the color the live link points to.
  if [[ $serving != "$live" ]]; then
    log "$app: the live link points to $serving, colors.env makes $live live (a switch is pending); nothing stopped"
    continue
  fi
  program=$app-web-$idle
  state=$(program_state "$program")
  case $state in
    STARTING | RUNNING | BACKOFF)
      if out=$(supervisorctl stop "$program" 2>&1); then
        log "$app: $serving is live; stopped $program (was $state; colors.idleRunning is false)"
      else
        log "$app: $serving is live; could not stop $program (was $state): $out"
        failed=1
      fi
      ;;
    *) log "$app: $serving is live; $program is \${state:-unknown}, nothing to stop" ;;
  esac
done
exit "$failed"
`;

/**
 * The provisioning script's blue-green part, after its phase functions (it
 * calls build_release, preflight, migrate, switch_current, program_state …).
 * Phases fetch, configure, release and verify call it when the box has colors.
 */
export const COLORS_SH = `# ---- blue-green on this box ------------------------------------------------------
# Each app runs APP-web-blue and APP-web-green, each from its color's release
# link ($APPS_DIR/APP/blue, .../green) on its own socket. nginx sends traffic to
# the live color (through $SOCKET_DIR/APP-live.sock, a symlink to the live
# color's socket that $SWITCH_COLOR renames) and a request with
# X-Django-Tiers-Color: blue|green to that color. The worker and beat run
# "current", the live color's release.
live_color=""
idle_running=0

# colors.env (from the configuration document): the live color, and whether the idle one runs.
read_colors() {
  [[ -r $COLORS_ENV ]] || die "$COLORS_ENV is missing: phase fetch writes it"
  live_color=$(sed -n 's/^LIVE_COLOR=//p' "$COLORS_ENV" | head -n 1)
  idle_running=$(sed -n 's/^IDLE_RUNNING=//p' "$COLORS_ENV" | head -n 1)
  [[ $live_color == blue || $live_color == green ]] || die "$COLORS_ENV: LIVE_COLOR must be blue or green, got '$live_color'"
  [[ $idle_running == 0 || $idle_running == 1 ]] || die "$COLORS_ENV: IDLE_RUNNING must be 0 or 1, got '$idle_running'"
}

other_color() {
  if [[ $1 == blue ]]; then echo green; else echo blue; fi
}

# The color nginx sends APP's traffic to now (its live link), or nothing before the first switch.
serving_color() {
  local target
  target=$(readlink "$SOCKET_DIR/$1-live.sock" 2>/dev/null || true)
  case $target in
    "$1"-blue.sock) echo blue ;;
    "$1"-green.sock) echo green ;;
  esac
}

# Phase configure: /run is a tmpfs. systemd-tmpfiles recreates each app's
# live link at boot (tmpfiles.d, from colors.live); without systemd, or on the
# first boot, this does: a missing link names the live color of colors.env
# (nginx answers 502 for the live color until its gunicorn runs). An existing
# link of root's is left alone: only the switch moves it, once the color
# answers. (The socket directory is writable by every app user.)
ensure_live_link() {
  local link=$SOCKET_DIR/$1-live.sock
  [[ -L $link && $(stat -c %u -- "$link") == 0 ]] && return 0
  rm -f "$SOCKET_DIR/.$1-live.sock.tmp"
  ln -s "$1-$live_color.sock" "$SOCKET_DIR/.$1-live.sock.tmp"
  mv -T "$SOCKET_DIR/.$1-live.sock.tmp" "$link"
  log "$1: $link -> $1-$live_color.sock (colors.env)"
}

fetch_color_releases() {
  local app=$1 dir=$BUNDLES_DIR/$1 color keep bundle
  # Each color's pointer → $BUNDLES_DIR/APP/CURRENT.COLOR.
  for color in blue green; do
    fetch_bundle "$app" "\${APP_COLOR_RELEASE_PARAMETER[$app/$color]}" "$dir/CURRENT.$color"
  done
  # Keep the newest bundles and both colors' (a rollback may need to build an older one).
  keep=$(sed -n 's/^file=//p' "$dir"/CURRENT.* 2>/dev/null || true)
  while IFS= read -r bundle; do
    grep -qxF "\${bundle##*/}" <<<"$keep" || rm -f -- "$bundle"
  done < <(find "$dir" -maxdepth 1 -type f -name '*.zip' -printf '%T@ %p\\n' | sort -rn |
    tail -n +"$((KEEP_RELEASES + 1))" | cut -d' ' -f2-)
}

color_bundle_field() {
  sed -n "s/^$3=//p" "$BUNDLES_DIR/$1/CURRENT.$2" | head -n 1
}

# $APPS_DIR/APP/COLOR -> DIR, a new link renamed over the old one (atomic, as "current").
point_color_link() {
  local app=$1 color=$2 dir=$3
  touch "$dir"
  ln -sfn "$dir" "$APPS_DIR/$app/.$color.tmp"
  mv -T "$APPS_DIR/$app/.$color.tmp" "$APPS_DIR/$app/$color"
  log "$app: $color -> $dir"
}

# socket_healthz APP COLOR: polls /healthz on the color's own socket (not through
# nginx, which may still send traffic elsewhere), with the app's Host, until 200.
socket_healthz() {
  local app=$1 color=$2 host code start=$SECONDS socket=$SOCKET_DIR/$1-$2.sock
  local -a domains
  read -ra domains <<<"\${APP_DOMAINS[$app]}"
  host=\${domains[0]:-localhost}
  while :; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$socket" -H "Host: $host" \\
      http://localhost/healthz 2>/dev/null) || code=000
    if [[ $code == 200 ]]; then
      log "$app: $color answers /healthz on $socket after $((SECONDS - start))s"
      return 0
    fi
    if ((SECONDS - start >= VERIFY_TIMEOUT)); then
      log "$app: $color's /healthz on $socket still answers $code after \${VERIFY_TIMEOUT}s"
      return 1
    fi
    sleep 1
  done
}

# run_color APP COLOR CHANGED SERVING: the color's gunicorn runs its release and
# answers /healthz. The color nginx serves now is reloaded in place (HUP, as
# without colors); any other color is restarted, so that no worker of its old
# release answers once traffic moves to it.
run_color() {
  local app=$1 color=$2 changed=$3 serving=$4 program=$1-web-$2
  if [[ $(program_state "$program") != RUNNING ]]; then
    log "$app: starting $program"
    supervisorctl stop "$program" >/dev/null 2>&1 || true
    supervisorctl start "$program"
  elif [[ -e $STATE_DIR/$app.secrets-changed ]]; then
    log "$app: restarting $program (its secrets changed)"
    supervisorctl restart "$program"
  elif ((changed)) && [[ $color == "$serving" ]]; then
    log "$app: graceful reload of $program (HUP)"
    supervisorctl signal HUP "$program"
  elif ((changed)); then
    log "$app: restarting $program on its new release (it takes no live traffic)"
    supervisorctl restart "$program"
  fi
  socket_healthz "$app" "$color" ||
    die "$app: $color does not answer /healthz; nothing switched (\${serving:-no color} keeps serving)"
}

# The worker and beat follow "current": restarted (warm shutdown) when it
# moved. Phase release runs this after the switch, so it never delays it;
# the programs are (re)started side by side (each waits out its startsecs),
# and the phase fails when any of them does not come up.
run_task_programs() {
  local app=$1 moved=$2 program pid failed=0
  local -a programs pids=()
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  for program in "\${programs[@]}"; do
    [[ $program == "$app"-web-* ]] && continue
    if [[ $(program_state "$program") != RUNNING ]]; then
      log "$app: starting $program"
      { supervisorctl stop "$program" >/dev/null 2>&1 || true; supervisorctl start "$program"; } &
    elif ((moved)) || [[ -e $STATE_DIR/$app.secrets-changed ]]; then
      log "$app: restarting $program on the live release"
      supervisorctl restart "$program" &
    else
      continue
    fi
    pids+=("$!")
  done
  for pid in "\${pids[@]}"; do
    wait "$pid" || failed=1
  done
  ((failed == 0)) || die "$app: a task program did not (re)start on the live release (supervisorctl status)"
}

# After a switch, nginx opens no new connection to the old color's socket, but
# one it opened just before may still wait in the socket's accept queue:
# gunicorn finishes the requests it has accepted when it stops, not those. So
# the old color is stopped only once its socket's queue is empty (ss), and
# not sooner than a second after the switch.
wait_for_idle_socket() {
  local socket=$1 start=$SECONDS queued
  sleep 1
  command -v ss >/dev/null 2>&1 || return 0
  while :; do
    queued=$(ss -xlnH 2>/dev/null | awk -v s="$socket" '$5 == s { print $3; exit }')
    [[ -z $queued || $queued == 0 ]] && return 0
    if ((SECONDS - start >= 30)); then
      log "$socket still has $queued connections queued after 30s; going on"
      return 0
    fi
    sleep 0.2
  done
}

# Keeps the newest releases, and always those of current, blue and green.
prune_color_releases() {
  local app=$1 path link
  local -a kept=()
  local -i seen=0
  for link in current blue green; do
    kept+=("$(readlink -f "$APPS_DIR/$app/$link" 2>/dev/null || true)")
  done
  while IFS= read -r path; do
    seen+=1
    if ((seen > KEEP_RELEASES)) && ! printf '%s\\n' "\${kept[@]}" | grep -qxF "$path"; then
      log "$app: removing old release \${path##*/}"
      rm -rf "$path"
    fi
  done < <(find "$APPS_DIR/$app/releases" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\\n' |
    sort -rn | cut -d' ' -f2-)
}

# Phase release of one app: each color whose release changed is built,
# checked, migrated (the new release migrates before it serves: migrations
# must keep the other color's release working, expand then contract) and
# started or reloaded until it answers /healthz on its socket; only then is
# the live link switched to the live color (no nginx reload), "current" moved
# to its release and the worker and beat restarted on it (after the switch:
# their restart never delays it); last, the idle color is stopped unless
# IDLE_RUNNING. A rollback to a color that still runs is the switch alone.
release_app_colors() {
  local app=$1 color version file dir serving changed moved=1 idle
  local -A target=()
  idle=$(other_color "$live_color")
  for color in blue green; do
    if [[ ! -e $BUNDLES_DIR/$app/CURRENT.$color ]]; then
      log "$app: no $color release fetched"
      continue
    fi
    version=$(color_bundle_field "$app" "$color" version)
    file=$(color_bundle_field "$app" "$color" file)
    [[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "$app: bad version '$version' in CURRENT.$color"
    dir=$APPS_DIR/$app/releases/$version
    if [[ -f $dir/.django-tiers-built ]]; then
      log "$app: release $version ($color) already built"
    else
      [[ -f $BUNDLES_DIR/$app/$file ]] || die "$app: bundle $file is missing: run phase fetch"
      build_release "$app" "$BUNDLES_DIR/$app/$file" "$dir"
    fi
    target[$color]=$dir
  done
  if ((\${#target[@]} == 0)); then
    log "$app: no release fetched yet; skipped"
    return 0
  fi
  [[ -n \${target[$live_color]:-} ]] ||
    die "$app: colors.env makes $live_color live, but \${APP_COLOR_RELEASE_PARAMETER[$app/$live_color]} names no release"
  ensure_database "$app"
  move_database_to_external "$app"
  move_media_to_s3 "$app"
  serving=$(serving_color "$app")
  for color in blue green; do
    dir=\${target[$color]:-}
    [[ -n $dir ]] || continue
    changed=0
    if [[ $(readlink "$APPS_DIR/$app/$color" 2>/dev/null || true) != "$dir" ]]; then
      changed=1
      preflight "$app" "$dir"
      migrate "$app" "$dir"
      point_color_link "$app" "$color" "$dir"
    fi
    if [[ $color == "$live_color" ]] || ((idle_running)); then
      run_color "$app" "$color" "$changed" "$serving"
    fi
  done
  "$SWITCH_COLOR" "$app" "$live_color" 9>&- ||
    die "$app: traffic was not switched to $live_color; \${serving:-no color} keeps serving"
  if [[ $(readlink "$APPS_DIR/$app/current" 2>/dev/null || true) == "\${target[$live_color]}" ]]; then
    moved=0
  fi
  switch_current "$app" "\${target[$live_color]}"
  run_task_programs "$app" "$moved"
  if ((idle_running == 0)) && [[ $(program_state "$app-web-$idle") == RUNNING ]]; then
    wait_for_idle_socket "$SOCKET_DIR/$app-$idle.sock"
    log "$app: stopping $app-web-$idle (colors.idleRunning is false)"
    supervisorctl stop "$app-web-$idle"
  fi
  rm -f "$STATE_DIR/$app.secrets-changed"
  prune_color_releases "$app"
  log "$app: $live_color is live with release \${target[$live_color]##*/}"
}

# Phase verify of one app: its live color through nginx, the live link
# naming the live color, and the programs that should run, running.
verify_app_colors() {
  local app=$1 program state serving idle
  local -a programs expected=()
  idle=$(other_color "$live_color")
  if [[ ! -L $APPS_DIR/$app/current ]]; then
    log "$app: no release is live yet; nothing to verify"
    return 0
  fi
  serving=$(serving_color "$app")
  if [[ $serving != "$live_color" ]]; then
    log "$app: the live link sends traffic to \${serving:-no color}, colors.env makes $live_color live"
    return 1
  fi
  healthz_through_nginx "$app" || return 1
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  for program in "\${programs[@]}"; do
    if [[ $program == "$app-web-$idle" ]] && ! { ((idle_running)) && [[ -L $APPS_DIR/$app/$idle ]]; }; then
      continue
    fi
    expected+=("$program")
  done
  for program in "\${expected[@]}"; do
    state=$(program_state "$program")
    if [[ $state != RUNNING ]]; then
      log "$app: $program is \${state:-unknown}, not RUNNING"
      return 1
    fi
  done
  log "$app: $live_color is live; \${expected[*]} RUNNING"
}

# django-tiers-provision colors: each app's live color, and each color's release and program.
print_colors() {
  local app color release state
  for app in "\${APPS[@]}"; do
    printf '%s: live %s\\n' "$app" "$(serving_color "$app" || true)"
    for color in blue green; do
      release=$(readlink "$APPS_DIR/$app/$color" 2>/dev/null || true)
      state=$(program_state "$app-web-$color")
      printf '  %-5s release %-24s %s %s\\n' "$color" "\${release##*/}" "$app-web-$color" "\${state:-unknown}"
    done
  done
}
`;
