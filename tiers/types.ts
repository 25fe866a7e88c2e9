import type * as pulumi from "@pulumi/pulumi";
import type { Relaxation } from "../policies/types";
import type { RenderedFile } from "../server/types";

/** The stack's outputs (`pulumi stack output`). Secrets stay Pulumi secrets. */
export interface StackOutputs {
  tier: pulumi.Output<string>;
  environment: pulumi.Output<string>;
  /** Where the site answers: https://<domain>/ for each domain, else http://<public name>/. */
  siteUrls: pulumi.Output<string[]>;
  /** The box tiers: the box's address, id and the command that opens a shell on it (Session Manager; there is no SSH). */
  publicIp?: pulumi.Output<string>;
  instanceId?: pulumi.Output<string>;
  sessionCommand?: pulumi.Output<string>;
  /** load-balanced, or a box tier with boxReleases: blue-green: the color that takes the traffic. */
  liveColor?: pulumi.Output<string>;
  /**
   * load-balanced, or a box tier with boxReleases: blue-green: each color's
   * release, whether it runs, its share of the traffic (percent) and, on the
   * load-balanced tier only, its target group, group and minimum size (read
   * by `npm run promote`, which tells a box by the missing target group).
   */
  colors?: pulumi.Output<Record<"blue" | "green", { release: string; running: boolean; weight: number; targetGroupArn?: string; autoScalingGroup?: string; minSize?: number }>>;
  /** load-balanced, or a box tier with boxReleases: blue-green: the release built from the app folders now (what `npm run promote` deploys by default). */
  builtRelease?: pulumi.Output<string>;
  /**
   * load-balanced: the key a preview of a color needs (a Pulumi secret:
   * `pulumi stack output previewKey --show-secrets`). A request with the
   * header `X-Django-Tiers-Preview: <color>.<previewKey>` reaches that color.
   */
  previewKey?: pulumi.Output<string>;
  /** load-balanced: the load balancer's DNS name (the domains point at it, or at the CDN). */
  loadBalancerDnsName?: pulumi.Output<string>;
  /** With the cloudfront CDN: the distribution's domain name. */
  cdnDomainName?: pulumi.Output<string>;
  artifactsBucket: pulumi.Output<string>;
  /** Bucket receiving S3 access logs; give it to other buckets' `accessLogs`. */
  logsBucket: pulumi.Output<string>;
  alertTopicArn: pulumi.Output<string>;
  /** Release version per app. */
  releases: pulumi.Output<Record<string, string>>;
  /** Secrets Manager ARN per app (the ARN, not the secret). */
  secretArns: pulumi.Output<Record<string, string>>;
}

/** What deploying a tier gives back to the stack program and the plan. */
export interface Deployment {
  tier: string;
  environment: "dev" | "staging" | "prod";
  outputs: StackOutputs;
  /** Files rendered for each server role, for the policy checks and the plan. */
  serverFiles: pulumi.Output<Record<string, RenderedFile[]>>;
  /** What the plan should tell the user about this stack (implications of its settings). */
  notes: string[];
  /** Checks this stack deliberately relaxes, each with its setting and reason. */
  relaxations: Relaxation[];
}
