/**
 * The drain watcher of a worker server (django-tiers-drain): scale-in
 * without killing running tasks.
 *
 * The worker fleet's autoscaling group has a termination lifecycle hook: an
 * instance it scales in waits in `Terminating:Wait` until the hook is
 * completed (or its heartbeat timeout runs out). IMDSv2 shows that as
 * `autoscaling/target-lifecycle-state` = `Terminated`. The watcher polls it;
 * when it reads `Terminated` it stops the task programs through supervisorctl
 * (TERM is Celery's and rq's warm shutdown; supervisorctl returns once each
 * has stopped, within its stopwaitsecs, i.e. the longest task) and completes
 * the hook with CONTINUE, and the instance goes.
 *
 * For the tests, the watcher takes its endpoints from the environment:
 * DJANGO_TIERS_IMDS_URL (IMDS base URL), DJANGO_TIERS_DRAIN_PATH (the PATH
 * where it finds `aws`, `supervisorctl`, `curl`), DJANGO_TIERS_DRAIN_INTERVAL
 * (seconds between polls) and DJANGO_TIERS_STATE_DIR (where it records that
 * the hook is completed). supervisor starts it with none of them set.
 */
import { boxProgramNames, DRAIN_SCRIPT, STATE_DIR } from "./paths";
import { bashArray, shellQuote } from "./quote";
import type { BoxSpec, RenderedFile } from "./types";

/** Seconds between two polls of IMDS (a lifecycle hook waits an hour by default). */
export const DRAIN_POLL_SECONDS = 5;

export function renderDrainFiles(spec: BoxSpec): RenderedFile[] {
  if (spec.role !== "worker" || !spec.lifecycleHook) return [];
  return [{ path: DRAIN_SCRIPT, mode: "0755", owner: "root:root", content: renderDrainScript(spec) }];
}

export function renderDrainScript(spec: BoxSpec): string {
  const hook = spec.lifecycleHook;
  if (!hook) throw new Error("renderDrainScript: the spec has no lifecycleHook");
  const programs = spec.apps.flatMap((a) => boxProgramNames(a.name, spec));
  return `#!/bin/bash
# django-tiers-drain: on scale-in, lets running tasks finish, then lets the
# autoscaling group terminate this worker. Rendered by django-tiers for
# ${spec.project}/${spec.stack}; edits are overwritten. Run by supervisor
# (program django-tiers-drain); it logs to stdout.
#
# Every few seconds it reads autoscaling/target-lifecycle-state from IMDSv2.
# On Terminated: supervisorctl stop of the task programs (a warm shutdown
# that waits for running tasks, up to each program's stopwaitsecs), then
# aws autoscaling complete-lifecycle-action ... CONTINUE with the instance
# role's credentials. A failed completion is retried on the next poll.
set -uo pipefail
export PATH=\${DJANGO_TIERS_DRAIN_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}

readonly REGION=${shellQuote(spec.region)}
readonly HOOK_NAME=${shellQuote(hook.name)}
readonly GROUP_NAME=${shellQuote(hook.autoScalingGroupName)}
readonly PROGRAMS=${bashArray(programs)}
readonly IMDS=\${DJANGO_TIERS_IMDS_URL:-http://169.254.169.254}
readonly INTERVAL=\${DJANGO_TIERS_DRAIN_INTERVAL:-${DRAIN_POLL_SECONDS}}
readonly DONE=\${DJANGO_TIERS_STATE_DIR:-${STATE_DIR}}/drained

${DRAIN_BODY}`;
}

const DRAIN_BODY = `log() {
  printf '%s django-tiers-drain %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

imds_token() {
  curl -fsS --max-time 2 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS/latest/api/token"
}

imds_get() {
  curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $1" "$IMDS/latest/meta-data/$2"
}

drain() {
  local token=$1 instance
  log "the autoscaling group is terminating this instance: stopping \${PROGRAMS[*]}"
  # Returns when every program has stopped; one that is already stopped is an error we can ignore.
  supervisorctl stop "\${PROGRAMS[@]}" || log "supervisorctl stop reported an error; going on"
  instance=$(imds_get "$token" instance-id) || {
    log "IMDS gave no instance id"
    return 1
  }
  [[ $instance =~ ^i-[0-9a-f]+$ ]] || {
    log "IMDS gave a malformed instance id"
    return 1
  }
  if ! aws --region "$REGION" autoscaling complete-lifecycle-action --lifecycle-action-result CONTINUE \\
    --lifecycle-hook-name "$HOOK_NAME" --auto-scaling-group-name "$GROUP_NAME" --instance-id "$instance"; then
    log "complete-lifecycle-action failed; retrying on the next poll"
    return 1
  fi
  # Recorded before it is announced: whoever reads the line finds the marker.
  touch "$DONE"
  log "tasks drained; lifecycle hook $HOOK_NAME completed for $instance"
}

trap 'exit 0' TERM INT
log "watching for scale-in (hook $HOOK_NAME of $GROUP_NAME; programs \${PROGRAMS[*]})"
while :; do
  if [[ ! -e $DONE ]] && token=$(imds_token 2>/dev/null) && state=$(imds_get "$token" autoscaling/target-lifecycle-state 2>/dev/null) &&
    [[ $state == Terminated ]]; then
    drain "$token"
  fi
  # In the background, so supervisor's TERM is handled at once.
  sleep "$INTERVAL" &
  wait $!
done
`;
