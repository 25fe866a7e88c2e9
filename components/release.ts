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
  public readonly nodes: { bundle: aws.s3.BucketObjectv2; pointer: aws.ssm.Parameter };

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
    this.nodes = { bundle, pointer };
    this.registerOutputs({ version: this.version, key: this.key, parameterName: this.parameterName });
  }
}
