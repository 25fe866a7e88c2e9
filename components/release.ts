import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { releaseBundleKey } from "../server";
import { bundleArchive, bundleVersion } from "./bundle";
import { Component, Transform, stackTags } from "./component";

export interface ReleaseArgs {
  /** Short app name (`[a-z][a-z0-9]{0,20}`). */
  app: string;
  /** The Django project folder (manage.py at its top). */
  dir: string;
  /**
   * Version label. Default: a hash of the folder's content, so an unchanged
   * app is not a new release.
   */
  version?: string;
  /** Bucket that keeps release bundles. */
  bucket: pulumi.Input<string>;
  /**
   * More pointers, one per channel (the blue and green fleets), each naming
   * the bundle of its own version: `/django-tiers/<project>/<stack>/<app>/<channel>/release`.
   * A version other than this release's must have been uploaded by an
   * earlier `pulumi up` (bundles are kept when a release moves on); the
   * servers refuse to start a bundle that is not in the bucket.
   * @example { blue: "3f2a9c1b7d0e", green: "9d8e7f6a5b4c" }
   */
  channels?: Record<string, string>;
  transform?: { bundle?: Transform<aws.s3.BucketObjectv2Args>; pointer?: Transform<aws.ssm.ParameterArgs> };
}

/**
 * One app's release: the bundle uploaded to the artifacts bucket, and an SSM
 * parameter naming the bundle to run. Servers read the parameter at boot and
 * on every rollout, so a new release changes these two resources and never
 * the servers' user data.
 */
export class Release extends Component {
  public readonly version: string;
  public readonly key: string;
  /** Name of the SSM parameter that points at the bundle. */
  public readonly parameterName: pulumi.Output<string>;
  public readonly parameterArn: pulumi.Output<string>;
  /** Each channel's pointer (with `channels`): the parameter its servers read. */
  public readonly channels: Record<string, { version: string; parameterName: pulumi.Output<string>; parameterArn: pulumi.Output<string> }>;
  public readonly nodes: { bundle: aws.s3.BucketObjectv2; pointer: aws.ssm.Parameter; channels: Record<string, aws.ssm.Parameter> };

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Release", name, opts);
    this.version = args.version ?? bundleVersion(args.dir);
    this.key = releaseBundleKey(args.app, this.version);
    // Old bundles stay in the bucket when a new release replaces this object: rolling back needs them.
    const bundle = this.child(aws.s3.BucketObjectv2, "bundle", {
      bucket: args.bucket,
      key: this.key,
      source: bundleArchive(args.dir),
      contentType: "application/zip",
      tags: stackTags({ "django-tiers:app": args.app, "django-tiers:release": this.version }),
    }, args.transform?.bundle, { retainOnDelete: true });
    const pointer = this.child(aws.ssm.Parameter, "pointer", {
      name: `/django-tiers/${pulumi.getProject()}/${pulumi.getStack()}/${args.app}/release`,
      description: `Release bundle of ${args.app}; servers run the bundle this names`,
      type: "String",
      value: this.key,
      tags: stackTags({ "django-tiers:app": args.app }),
    }, args.transform?.pointer, { dependsOn: [bundle] });
    this.parameterName = pointer.name;
    this.parameterArn = pointer.arn;
    const channelPointers: Record<string, aws.ssm.Parameter> = {};
    this.channels = {};
    for (const [channel, version] of Object.entries(args.channels ?? {})) {
      if (!/^[a-z][a-z0-9-]{0,30}$/.test(channel)) throw new Error(`Release ${name}: channel "${channel}" must be lowercase letters, digits and '-'`);
      channelPointers[channel] = this.child(aws.ssm.Parameter, `pointer-${channel}`, {
        name: `/django-tiers/${pulumi.getProject()}/${pulumi.getStack()}/${args.app}/${channel}/release`,
        description: `Release bundle the ${channel} servers of ${args.app} run`,
        type: "String",
        value: releaseBundleKey(args.app, version),
        tags: stackTags({ "django-tiers:app": args.app, "django-tiers:channel": channel, "django-tiers:release": version }),
      }, args.transform?.pointer, { dependsOn: version === this.version ? [bundle] : [] });
      this.channels[channel] = { version, parameterName: channelPointers[channel].name, parameterArn: channelPointers[channel].arn };
    }
    this.nodes = { bundle, pointer, channels: channelPointers };
    this.registerOutputs({ version: this.version, key: this.key, parameterName: this.parameterName });
  }
}
