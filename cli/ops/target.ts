/**
 * Which server and release a command on "the stack's server" goes to: the
 * box, or one in-service, healthy app server of the live color's fleet.
 */
import { type AwsApi, type Color, type StackTarget, OutputsError } from "./ports";
import type { ReleaseLocation } from "./remote";

export class TargetError extends Error {
  override name = "TargetError";
}

/** The app a command is for: the one named, or the stack's only app. */
export function chooseApp(target: StackTarget, app: string | undefined): string {
  if (app !== undefined) {
    if (!target.apps.includes(app)) throw new TargetError(`--app ${JSON.stringify(app)}: stack ${target.stack} has no such app (its apps: ${target.apps.join(", ")})`);
    return app;
  }
  if (target.apps.length === 1) return target.apps[0];
  throw new TargetError(`stack ${target.stack} serves ${target.apps.length} apps (${target.apps.join(", ")}): name one with --app`);
}

/** The in-service, healthy instances of an Auto Scaling group, by id. */
export async function inServiceInstances(aws: AwsApi, region: string, group: string): Promise<string[]> {
  const result = await aws.call("autoscaling", "DescribeAutoScalingGroups", { AutoScalingGroupNames: [group] }, region);
  const found = (result.AutoScalingGroups ?? []).find((g: { AutoScalingGroupName?: string }) => g.AutoScalingGroupName === group);
  if (!found) throw new TargetError(`the Auto Scaling group ${group} does not exist in ${region} (has the stack been deployed?)`);
  return (found.Instances ?? [])
    .filter((i: { LifecycleState?: string; HealthStatus?: string }) => i.LifecycleState === "InService" && i.HealthStatus === "Healthy")
    .map((i: { InstanceId: string }) => i.InstanceId)
    .sort();
}

export interface Server {
  instanceId: string;
  /** What the user is told: "the box" or "app server i-… of the live color green". */
  description: string;
  location: ReleaseLocation;
}

/**
 * The server of the stack's live release: the box (its live color's
 * release on a blue-green box), or an app server of the live fleet (the
 * one given with --instance, which must be one of them, else the first by id).
 */
export async function chooseServer(aws: AwsApi, target: StackTarget, app: string, instance: string | undefined): Promise<Server> {
  if (target.servers.kind === "box") {
    const { instanceId } = target.servers;
    if (instance !== undefined && instance !== instanceId) throw new TargetError(`--instance ${instance}: stack ${target.stack}'s box is ${instanceId}`);
    return {
      instanceId,
      description: `the box ${instanceId}${target.liveColor ? ` (live color ${target.liveColor})` : ""}`,
      location: { app, ...(target.liveColor ? { color: target.liveColor } : {}) },
    };
  }
  const live: Color | undefined = target.liveColor;
  if (!live) throw new OutputsError(`stack ${target.stack}: output liveColor is missing`);
  const group = target.servers.autoScalingGroups[live];
  const ids = await inServiceInstances(aws, target.region, group);
  if (instance !== undefined) {
    if (!ids.includes(instance)) throw new TargetError(`--instance ${instance} is not an in-service, healthy server of the live color ${live} (group ${group}: ${ids.join(", ") || "none"})`);
    return { instanceId: instance, description: `app server ${instance} of the live color ${live}`, location: { app } };
  }
  if (!ids.length) throw new TargetError(`the live color ${live} has no in-service, healthy server (group ${group}); see npm run status`);
  return { instanceId: ids[0], description: `app server ${ids[0]} of the live color ${live}`, location: { app } };
}
