/**
 * Blue-green releases on one box (issue #5, `BoxSpec.colors`): what the
 * single box needs beyond its usual files.
 *
 * Each app runs two gunicorn programs, `<app>-web-blue` and `<app>-web-green`
 * (supervisor.ts), each from its color's release link `/srv/apps/<app>/<color>`
 * on its own socket (gunicorn.ts). nginx (nginx.ts) sends a request to the
 * color a map picks: the live one, whose name is the map's `default` in a
 * one-line include, or the one the header `X-Django-Tiers-Color` names.
 *
 * - `colors.env` carries `colors.live` and `colors.idleRunning` to the box in
 *   the configuration document, so a change of the live color is a new
 *   document, and the rollout (`fetch configure release verify`) switches it.
 *   Phase release reads it; nothing else does, so applying the document
 *   switches nothing by itself.
 * - `django-tiers-switch-color APP COLOR` is the switch: it rewrites the
 *   include atomically, runs `nginx -t` and reloads nginx gracefully, or puts
 *   the old include back when the check fails. Phase release runs it once the
 *   color answers /healthz on its own socket; an operator can run it by hand.
 * - COLORS_SH is the part of the provisioning script (provision.ts) that only
 *   a box with colors gets: fetching both colors' release pointers, the
 *   release of each color, the switch, and `django-tiers-provision colors`.
 */
import { COLORS, COLORS_ENV, colorPaths, NGINX_COLOR_DIR, SWITCH_COLOR_SCRIPT } from "./paths";
import { bashArray, bashAssoc } from "./quote";
import type { BoxSpec, RenderedFile } from "./types";

/** colors.env and the switch script; nothing without `colors`. */
export function renderColorsFiles(spec: BoxSpec): RenderedFile[] {
  if (!spec.colors) return [];
  return [
    { path: COLORS_ENV, mode: "0644", owner: "root:root", content: renderColorsEnv(spec) },
    { path: SWITCH_COLOR_SCRIPT, mode: "0755", owner: "root:root", content: renderSwitchColorScript(spec) },
  ];
}

export function renderColorsEnv(spec: BoxSpec): string {
  const colors = spec.colors;
  if (!colors) throw new Error("renderColorsEnv: the spec has no colors");
  return `# Blue-green on this box. Rendered by django-tiers; edits are overwritten.
# Phase release of django-tiers-provision reads it: it starts (or keeps) the
# live color, switches nginx to it, and stops the idle color's gunicorn when
# IDLE_RUNNING is 0. Change colors.live in the stack, not here.
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
# live color and the idle color's fate (colors.env), the switch and its include.
declare -rA APP_COLOR_RELEASE_PARAMETER=${bashAssoc(parameters)}
readonly COLORS_ENV=${COLORS_ENV}
readonly SWITCH_COLOR=${SWITCH_COLOR_SCRIPT}
readonly NGINX_COLOR_DIR=${NGINX_COLOR_DIR}
`;
}

export function renderSwitchColorScript(spec: BoxSpec): string {
  const example = colorPaths(spec.apps[0].name, "green");
  return `#!/bin/bash
# django-tiers-switch-color APP COLOR: sends APP's traffic to its COLOR gunicorn.
# Rendered by django-tiers for ${spec.project}/${spec.stack}; edits are overwritten.
#
# It writes \`default COLOR;\` to ${NGINX_COLOR_DIR}/APP.live-color (the default
# of the color map in APP's nginx site) by a rename, so nginx reads the old
# line or the new one, never half; checks the whole configuration (nginx -t);
# and reloads nginx gracefully: new workers take new connections, the old
# ones finish the requests they have. No connection is refused. When nginx -t
# fails, the previous include is put back and nginx is not reloaded: the
# color that served keeps serving.
#
# It checks no health: phase release of django-tiers-provision runs it only
# once COLOR's gunicorn answers /healthz on its socket (e.g. ${example.socket}).
# By hand (an emergency rollback to a color that runs), the next rollout
# sets the stack's colors.live again.
#
# Exit 0: COLOR is live (or already was); 1: nothing switched; 64: usage.
# For the tests, DJANGO_TIERS_SWITCH_PATH replaces PATH (where it finds nginx)
# and DJANGO_TIERS_NGINX_COLOR_DIR the include directory.
set -euo pipefail
export PATH=\${DJANGO_TIERS_SWITCH_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}

readonly APPS=${bashArray(spec.apps.map((a) => a.name))}
readonly COLOR_DIR=\${DJANGO_TIERS_NGINX_COLOR_DIR:-${NGINX_COLOR_DIR}}

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
include=$COLOR_DIR/$app.live-color
wanted="default $color;"

install -d -m 0755 "$COLOR_DIR"
# One switch at a time (phase release, an operator).
exec 8>"$COLOR_DIR/.switch.lock"
flock -w 120 8 || {
  log "$app: another switch held the lock for 120s; nothing switched"
  exit 1
}

previous=$(cat "$include" 2>/dev/null || true)
was=\${previous#default }
was=\${was%;}
if [[ $previous == "$wanted" ]]; then
  log "$app: $color is already live"
  exit 0
fi

# put_include LINE: the include holds LINE (or is removed for an empty LINE), by a rename.
put_include() {
  if [[ -z $1 ]]; then
    rm -f "$include"
    return 0
  fi
  printf '%s\\n' "$1" >"$include.tmp"
  mv -f "$include.tmp" "$include"
}

put_include "$wanted"
if ! check=$(nginx -t -q 2>&1); then
  put_include "$previous"
  log "$app: nginx -t rejected the configuration, nothing reloaded: \${was:-the previous color} keeps serving"
  printf '%s\\n' "$check" >&2
  exit 1
fi
if [[ -d /run/systemd/system ]]; then
  systemctl reload-or-restart nginx
elif ! nginx -s reload 2>/dev/null; then
  # No nginx running yet (a first boot): start it on the new configuration.
  nginx 8>&-
fi
log "$app: $color is live (was \${was:-none}); nginx reloaded gracefully"
`;

/**
 * The provisioning script's blue-green part, after its phase functions (it
 * calls build_release, preflight, migrate, switch_current, program_state …).
 * Phases fetch, configure, release and verify call it when the box has colors.
 */
export const COLORS_SH = `# ---- blue-green on this box ------------------------------------------------------
# Each app runs APP-web-blue and APP-web-green, each from its color's release
# link ($APPS_DIR/APP/blue, .../green) on its own socket. nginx sends traffic to
# the live color (its include in $NGINX_COLOR_DIR, written by $SWITCH_COLOR)
# and a request with X-Django-Tiers-Color: blue|green to that color. The
# worker and beat run "current", the live color's release.
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

# The color nginx sends APP's traffic to now (its include), or nothing before the first switch.
serving_color() {
  sed -n 's/^default \\(blue\\|green\\);$/\\1/p' "$NGINX_COLOR_DIR/$1.live-color" 2>/dev/null | head -n 1
}

# Phase configure: nginx -t needs the include the map names. Until phase
# release switches, a first boot's include names the live color.
ensure_live_color_include() {
  local file=$NGINX_COLOR_DIR/$1.live-color
  [[ -s $file ]] && return 0
  install -d -m 0755 "$NGINX_COLOR_DIR"
  printf 'default %s;\\n' "$live_color" >"$file.tmp"
  mv -f "$file.tmp" "$file"
}

# Phase fetch: COLOR's release pointer → $BUNDLES_DIR/APP/CURRENT.COLOR.
fetch_color_release() {
  local app=$1 color=$2 dir=$BUNDLES_DIR/$1 parameter key version file
  parameter=\${APP_COLOR_RELEASE_PARAMETER[$app/$color]}
  install -d -m 0700 "$dir"
  key=$(aws_cli ssm get-parameter --name "$parameter" --query Parameter.Value --output text)
  if [[ $key == "$NO_RELEASE" ]]; then
    rm -f "$dir/CURRENT.$color"
    log "$app: no $color release yet ($parameter is '$NO_RELEASE')"
    return 0
  fi
  [[ $key =~ ^releases/$app/([A-Za-z0-9][A-Za-z0-9._-]{0,63})\\.zip$ ]] ||
    die "$app: $parameter holds '$key', expected releases/$app/<version>.zip"
  version=\${BASH_REMATCH[1]}
  file=\${key##*/}
  if [[ -s $dir/$file ]]; then
    log "$app: bundle $file already fetched"
  else
    log "$app: downloading s3://$ARTIFACTS_BUCKET/$key"
    aws_cli s3 cp --only-show-errors "s3://$ARTIFACTS_BUCKET/$key" "$dir/$file.part"
    mv -f "$dir/$file.part" "$dir/$file"
  fi
  printf 'key=%s\\nversion=%s\\nfile=%s\\n' "$key" "$version" "$file" >"$dir/CURRENT.$color.tmp"
  mv -f "$dir/CURRENT.$color.tmp" "$dir/CURRENT.$color"
  log "$app: the $color release is $version"
}

fetch_color_releases() {
  local app=$1 dir=$BUNDLES_DIR/$1 color keep bundle
  for color in blue green; do
    fetch_color_release "$app" "$color"
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

# The worker and beat follow "current": restarted (warm shutdown) when it moved.
run_task_programs() {
  local app=$1 moved=$2 program
  local -a programs
  read -ra programs <<<"\${APP_PROGRAMS[$app]}"
  for program in "\${programs[@]}"; do
    [[ $program == "$app"-web-* ]] && continue
    if [[ $(program_state "$program") != RUNNING ]]; then
      log "$app: starting $program"
      supervisorctl stop "$program" >/dev/null 2>&1 || true
      supervisorctl start "$program"
    elif ((moved)) || [[ -e $STATE_DIR/$app.secrets-changed ]]; then
      log "$app: restarting $program on the live release"
      supervisorctl restart "$program"
    fi
  done
}

# After a reload, nginx's old workers finish their requests (to the old color)
# before they exit: the old color is stopped only once they have.
wait_for_old_nginx_workers() {
  local start=$SECONDS
  while pgrep -f 'nginx: worker process is shutting down' >/dev/null 2>&1; do
    if ((SECONDS - start >= 60)); then
      log "nginx's old workers still run after 60s; going on"
      return 0
    fi
    sleep 1
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
# nginx switched to the live color (a graceful reload), "current" moved to
# its release and the worker and beat restarted on it; last, the idle color
# is stopped unless IDLE_RUNNING. A rollback to a color that still runs is
# the switch alone: seconds.
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
    die "$app: nginx was not switched to $live_color; \${serving:-no color} keeps serving"
  if [[ $(readlink "$APPS_DIR/$app/current" 2>/dev/null || true) == "\${target[$live_color]}" ]]; then
    moved=0
  fi
  switch_current "$app" "\${target[$live_color]}"
  run_task_programs "$app" "$moved"
  if ((idle_running == 0)) && [[ $(program_state "$app-web-$idle") == RUNNING ]]; then
    wait_for_old_nginx_workers
    log "$app: stopping $app-web-$idle (colors.idleRunning is false)"
    supervisorctl stop "$app-web-$idle"
  fi
  rm -f "$STATE_DIR/$app.secrets-changed"
  prune_color_releases "$app"
  log "$app: $live_color is live with release \${target[$live_color]##*/}"
}

# Phase verify of one app: its live color through nginx, nginx's include
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
    log "$app: nginx sends traffic to \${serving:-no color}, colors.env makes $live_color live"
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
