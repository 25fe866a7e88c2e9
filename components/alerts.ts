import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface AlertsArgs {
  /** KMS key that encrypts the topic. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Email address subscribed to the topic. AWS sends a confirmation mail;
   * nothing is delivered until it is confirmed.
   * @example "ops@example.com"
   */
  email?: string;
  transform?: { topic?: Transform<aws.sns.TopicArgs> };
}

/**
 * The stack's alert topic: every alarm notifies it, so a recovered or
 * rebooted box is never silent. Encrypted with the stack key.
 */
export class Alerts extends Component {
  public readonly topicArn: pulumi.Output<string>;
  public readonly nodes: { topic: aws.sns.Topic; subscription?: aws.sns.TopicSubscription };

  constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Alerts", name, opts);
    const topic = this.child(aws.sns.Topic, "topic", { kmsMasterKeyId: args.kmsKeyArn, tags: stackTags() }, args.transform?.topic);
    const subscription = args.email
      ? this.child(aws.sns.TopicSubscription, "email", { topic: topic.arn, protocol: "email", endpoint: args.email })
      : undefined;
    this.topicArn = topic.arn;
    this.nodes = { topic, subscription };
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
