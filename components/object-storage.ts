import * as pulumi from "@pulumi/pulumi";
import { Component } from "./component";
import { PolicyStatements, PrivateBucket, PrivateBucketArgs } from "./private-bucket";

export interface ObjectStorageArgs {
  /** KMS key that encrypts both buckets. */
  kmsKeyArn: pulumi.Input<string>;
  /** Where S3 writes the buckets' access logs (the stack's log bucket). */
  accessLogsBucket: pulumi.Input<string>;
  /**
   * Days an overwritten or deleted media file can still be restored.
   * @default 90
   */
  mediaVersionDays?: number;
  /**
   * More statements for both buckets' policies (the TLS-only deny stays).
   * Give a function: it is called with each bucket's ARN. With the CDN, the
   * stack grants its distribution reads this way (see `cloudFrontReadStatement`
   * in cdn.ts); media and static files then need no signed URLs.
   * @default none
   * @example (bucketArn) => distributionArn.apply((arn) => [cloudFrontReadStatement(bucketArn, arn)])
   */
  extraPolicyStatements?: PolicyStatements;
  /**
   * The site's origins (`https://host`), whose pages read files straight
   * from the buckets (signed URLs, no CDN): both buckets answer their CORS
   * requests (GET, HEAD), so a page can use a font from the static bucket.
   * Only the origins named; `*` is refused. Behind CloudFront the browser
   * never reaches the buckets: the Cdn answers CORS itself.
   * @default none
   * @example ["https://shop.example.com", "https://blog.example.com"]
   */
  corsOrigins?: string[];
  transform?: { static?: PrivateBucketArgs["transform"]; media?: PrivateBucketArgs["transform"] };
}

/**
 * The "object storage as an external service" rung: a bucket for static
 * files (collectstatic writes it at release) and one for media (uploads),
 * both private, KMS-encrypted, versioned, TLS-only and access-logged, used by
 * django-storages through the servers' instance role (no access keys).
 * Browsers get time-limited signed URLs until a CDN fronts the buckets.
 */
export class ObjectStorage extends Component {
  public readonly staticBucket: pulumi.Output<string>;
  public readonly mediaBucket: pulumi.Output<string>;
  public readonly bucketArns: pulumi.Output<string>[];
  public readonly nodes: { static: PrivateBucket; media: PrivateBucket };

  constructor(name: string, args: ObjectStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ObjectStorage", name, opts);
    const staticFiles = new PrivateBucket(this.childName("static"), {
      kmsKeyArn: args.kmsKeyArn,
      accessLogs: { bucket: args.accessLogsBucket, prefix: "static/" },
      // Static files are rebuilt by every release; old versions only matter for a rollback window.
      noncurrentVersionDays: 30,
      extraPolicyStatements: args.extraPolicyStatements,
      corsOrigins: args.corsOrigins,
      transform: args.transform?.static,
    }, { parent: this });
    const media = new PrivateBucket(this.childName("media"), {
      kmsKeyArn: args.kmsKeyArn,
      accessLogs: { bucket: args.accessLogsBucket, prefix: "media/" },
      noncurrentVersionDays: args.mediaVersionDays ?? 90,
      extraPolicyStatements: args.extraPolicyStatements,
      corsOrigins: args.corsOrigins,
      transform: args.transform?.media,
    }, { parent: this });
    this.staticBucket = staticFiles.id;
    this.mediaBucket = media.id;
    this.bucketArns = [staticFiles.arn, media.arn];
    this.nodes = { static: staticFiles, media };
    this.registerOutputs({ staticBucket: this.staticBucket, mediaBucket: this.mediaBucket });
  }
}
