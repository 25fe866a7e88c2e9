/**
 * `npm run status`: what runs where. From the stack's outputs, the live
 * color and each color's release; from AWS, each server (the box, or each
 * fleet's instances with their state and health), the last rollout (the
 * box's rollout association run, or each fleet's last instance refresh) and
 * the alarms in ALARM that notify the stack's alert topic.
 * The runbook: docs/runbooks/logs-and-status.md.
 */
import { COLORS, type OpsPorts, type StackTarget, OutputsError, parseStackTarget } from "./ports";

export const STATUS_USAGE = `usage:
  npm run status -- --stack <name> [--project-dir <dir>]

Prints the stack's live color and each color's release, its servers, the
last rollout's result and time, and the alarms in ALARM.

exit codes: 0 nothing needs attention; 1 an alarm is in ALARM, the last
rollout failed, or an AWS call failed; 2 bad usage or a stack that cannot be read.
docs/runbooks/logs-and-status.md`;

export class UsageError extends Error {
  override name = "UsageError";
}

export interface StatusOptions {
  stack: string;
  projectDir?: string;
}

export function parseStatusArgs(argv: readonly string[]): StatusOptions | "help" {
  let stack: string | undefined;
  let projectDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    if (flag === "--help" || flag === "-h") return "help";
    if (flag === "--stack" || flag === "--project-dir") {
      const value = eq > 0 ? raw.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`${flag} needs a value`);
      if (flag === "--stack") stack = value;
      else projectDir = value;
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(raw)}`);
    }
  }
  if (!stack) throw new UsageError("--stack is required (e.g. --stack prod)");
  return { stack, ...(projectDir !== undefined ? { projectDir } : {}) };
}

/** Instance refreshes that ended badly (autoscaling InstanceRefreshStatus). */
const REFRESH_FAILED = new Set(["Failed", "Cancelled", "RollbackFailed", "RollbackSuccessful"]);
/** The box's association runs that failed (ssm InstanceAssociationStatusInfo Status). */
const RUN_FAILED = new Set(["Failed", "TimedOut"]);

const time = (t: unknown) => (t === undefined || t === null ? "unknown time" : new Date(typeof t === "number" ? t * (t < 1e12 ? 1000 : 1) : String(t)).toISOString());

export async function runStatus(options: StatusOptions, ports: OpsPorts): Promise<number> {
  const { aws, output } = ports;
  const line = (text = "") => output.out(`${text}\n`);
  let target: StackTarget;
  try {
    target = parseStackTarget(await ports.stack.outputs(), options.stack);
  } catch (err) {
    if (err instanceof OutputsError) {
      output.err(`status: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { region } = target;
  let attention = false;
  line(`stack ${target.stack}: tier ${target.tier}, region ${region}`);
  line(`site: ${target.siteUrls.join(" ") || "(no URL)"}`);
  const releases = Object.entries(target.releases).map(([app, v]) => `${app} ${v}`).join(", ");

  if (target.servers.kind === "box") {
    const { instanceId } = target.servers;
    line(`box: ${instanceId}`);
    if (target.liveColor && target.colors) {
      for (const c of COLORS) line(`  ${c}${c === target.liveColor ? " (live)" : ""}: release ${target.colors[c].release}, ${target.colors[c].running ? "running" : "stopped"}`);
    } else {
      line(`  releases: ${releases}`);
    }
    const runs = await aws.call("ssm", "DescribeInstanceAssociationsStatus", { InstanceId: instanceId }, region);
    const rollouts = (runs.InstanceAssociationStatusInfos ?? [])
      .filter((r: { Name?: string }) => r.Name === "AWS-RunShellScript")
      .sort((x: { ExecutionDate?: unknown }, y: { ExecutionDate?: unknown }) => Date.parse(time(y.ExecutionDate)) - Date.parse(time(x.ExecutionDate)));
    const last = rollouts[0];
    if (!last) {
      line("last rollout: none recorded yet");
    } else {
      const failed = RUN_FAILED.has(last.Status);
      attention ||= failed;
      line(`last rollout: ${last.Status}${last.DetailedStatus && last.DetailedStatus !== last.Status ? ` (${last.DetailedStatus})` : ""} at ${time(last.ExecutionDate)}${last.ExecutionSummary ? `: ${last.ExecutionSummary}` : ""}`);
      if (failed && last.OutputUrl?.S3OutputUrl?.OutputUrl) line(`  its output: ${last.OutputUrl.S3OutputUrl.OutputUrl}`);
    }
  } else {
    const groups = target.servers.autoScalingGroups;
    const described = await aws.call("autoscaling", "DescribeAutoScalingGroups", { AutoScalingGroupNames: COLORS.map((c) => groups[c]) }, region);
    const byName = new Map<string, Record<string, any>>((described.AutoScalingGroups ?? []).map((g: Record<string, any>) => [g.AutoScalingGroupName, g]));
    line(`live color: ${target.liveColor}`);
    for (const c of COLORS) {
      const color = target.colors![c];
      const group = byName.get(groups[c]);
      const instances: Array<Record<string, string>> = group?.Instances ?? [];
      line(`${c}${c === target.liveColor ? " (live)" : ""}: release ${color.release}, ${color.weight}% of traffic, ${color.running ? "running" : "stopped"}; group ${groups[c]}${group ? ` (desired ${group.DesiredCapacity}, min ${group.MinSize}, max ${group.MaxSize})` : " not found"}`);
      for (const i of [...instances].sort((x, y) => x.InstanceId.localeCompare(y.InstanceId))) {
        line(`  ${i.InstanceId} ${i.LifecycleState} ${i.HealthStatus} ${i.AvailabilityZone ?? ""}`.trimEnd());
      }
      if (!group) continue;
      const refreshes = await aws.call("autoscaling", "DescribeInstanceRefreshes", { AutoScalingGroupName: groups[c], MaxRecords: 1 }, region);
      const last = refreshes.InstanceRefreshes?.[0];
      if (!last) {
        line("  last rollout: no instance refresh yet (the servers run the template they were launched with)");
      } else {
        const failed = REFRESH_FAILED.has(last.Status);
        // An idle color's failed refresh matters less, but a failed rollout is a failed rollout.
        attention ||= failed;
        const when = last.EndTime ? `ended ${time(last.EndTime)}` : `started ${time(last.StartTime)}`;
        line(`  last rollout: instance refresh ${last.Status}${last.PercentageComplete !== undefined && last.Status !== "Successful" ? ` (${last.PercentageComplete}%)` : ""}, ${when}${last.StatusReason ? `: ${last.StatusReason}` : ""}`);
      }
    }
  }

  const alarms = await alarmsInAlarm(ports, target);
  if (!alarms.length) {
    line("alarms in ALARM: none");
  } else {
    attention = true;
    line(`alarms in ALARM: ${alarms.length}`);
    for (const a of alarms) line(`  ${a.AlarmName} since ${time(a.StateUpdatedTimestamp)}: ${a.StateReason ?? ""}`.trimEnd());
  }
  return attention ? 1 : 0;
}

/** The stack's alarms in ALARM: every alarm whose actions notify the stack's alert topic. */
async function alarmsInAlarm(ports: OpsPorts, target: StackTarget): Promise<Array<Record<string, any>>> {
  const topic = String((await ports.stack.outputs()).alertTopicArn);
  const all: Array<Record<string, any>> = [];
  let token: string | undefined;
  do {
    const page = await ports.aws.call("cloudwatch", "DescribeAlarms", {
      StateValue: "ALARM",
      ActionPrefix: topic,
      AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
      ...(token ? { NextToken: token } : {}),
    }, target.region);
    all.push(...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return all.sort((x, y) => String(x.AlarmName).localeCompare(String(y.AlarmName)));
}
