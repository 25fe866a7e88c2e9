import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { boxConfigKey, boxConfigVersion, renderBoxConfig } from "../server";
import type { RenderedFile } from "../server/types";
import { Component, stackTags } from "./component";

export interface BoxConfigArgs {
  /** The server role the files are for, e.g. `single-box`. */
  role: string;
  /** Every rendered file of the role (server/renderBox). Holds no secret. */
  files: pulumi.Input<RenderedFile[]>;
  /** Bucket that keeps the documents (the artifacts bucket). */
  bucket: pulumi.Input<string>;
}

/** The SSM parameter a role's servers read their configuration document from. */
export function boxConfigParameterName(role: string): string {
  return `/django-tiers/${pulumi.getProject()}/${pulumi.getStack()}/${role}/config`;
}

/**
 * A server role's rendered files as one document in the artifacts bucket,
 * named by its content hash, and the SSM parameter that points at it. Phase
 * fetch applies the document on every rollout, so a changed setting reaches
 * running servers without replacing them (user data runs only once).
 */
export class BoxConfig extends Component {
  /** Content hash of the document: a changed value means changed files. */
  public readonly version: pulumi.Output<string>;
  public readonly parameterArn: pulumi.Output<string>;
  public readonly nodes: { document: aws.s3.BucketObjectv2; pointer: aws.ssm.Parameter };

  constructor(name: string, args: BoxConfigArgs, opts?: pulumi.ComponentResourceOptions) {
    super("BoxConfig", name, opts);
    const document = pulumi.output(args.files).apply(renderBoxConfig);
    this.version = document.apply(boxConfigVersion);
    const key = this.version.apply((v) => boxConfigKey(args.role, v));
    const object = this.child(aws.s3.BucketObjectv2, "document", {
      bucket: args.bucket,
      key,
      content: document,
      contentType: "application/json",
      tags: stackTags({ "django-tiers:role": args.role }),
    });
    const pointer = this.child(aws.ssm.Parameter, "pointer", {
      name: boxConfigParameterName(args.role),
      description: `Configuration document of the ${args.role} servers`,
      type: "String",
      value: key,
      tags: stackTags({ "django-tiers:role": args.role }),
    }, undefined, { dependsOn: [object] });
    this.parameterArn = pointer.arn;
    this.nodes = { document: object, pointer };
    this.registerOutputs({ version: this.version });
  }
}
