import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CLOUDFLARE_RANGES } from "../policies/checks/cdn";
import type { Color } from "../server/types";
import { Component, Transform, stackTags } from "./component";

export const COLORS: readonly Color[] = ["blue", "green"];

/**
 * The header that picked a fleet before previews needed a key (a blue-green
 * box's nginx still routes by it): the load balancer ignores it, and
 * CloudFront does not pass it on.
 */
export const COLOR_HEADER = "X-Django-Tiers-Color";

/**
 * The request header that picks a fleet: `X-Django-Tiers-Preview:
 * green.<previewKey>` reaches the green fleet whatever the weights say.
 * The key is the stack's secret (output `previewKey`): a visitor who only
 * knows the header's name reaches the live fleet. Promotion smoke-tests the
 * idle fleet through it before giving it traffic.
 */
export const PREVIEW_HEADER = "X-Django-Tiers-Preview";

/** The value of PREVIEW_HEADER that selects `color`. */
export function previewValue(color: Color, key: string): string {
  return `${color}.${key}`;
}

/** TLS 1.3 and 1.2 only, forward-secret ciphers (passes alb-tls-policy). */
export const ALB_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** AWS's managed prefix list of CloudFront's origin-facing addresses. */
export const CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing";

/** The listener rule priority of each color's preview rule (fixed: a rule's priority is its identity to the ALB). */
const PREVIEW_PRIORITY: Record<Color, number> = { blue: 10, green: 20 };

/**
 * Elastic Load Balancing's log-delivery account of each region that opened
 * before August 2022 (AWS's "Enable access logs for your Application Load
 * Balancer" page). Regions opened since accept only the service principal.
 */
export const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = {
  "us-east-1": "127311923021",
  "us-east-2": "033677994240",
  "us-west-1": "027434742980",
  "us-west-2": "797873946194",
  "af-south-1": "098369216593",
  "ap-east-1": "754344448648",
  "ap-southeast-3": "589379963580",
  "ap-south-1": "718504428378",
  "ap-northeast-3": "383597477331",
  "ap-northeast-2": "600734575887",
  "ap-southeast-1": "114774131450",
  "ap-southeast-2": "783225319266",
  "ap-northeast-1": "582318560864",
  "ca-central-1": "985666609251",
  "eu-central-1": "054676820928",
  "eu-west-1": "156460612806",
  "eu-west-2": "652711504416",
  "eu-south-1": "635631232127",
  "eu-west-3": "009996457667",
  "eu-north-1": "897822967062",
  "me-south-1": "076674570225",
  "sa-east-1": "507241528517",
  "us-gov-west-1": "048591011584",
  "us-gov-east-1": "190560391635",
  "cn-north-1": "638102146993",
  "cn-northwest-1": "037604701340",
};

/** An IAM policy statement (the shape of a bucket policy's `Statement` entries). */
export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal: { Service: string } | { AWS: string };
  Action: string | string[];
  Resource: string | string[];
}

/**
 * The bucket-policy statements that let the ALB write its access logs under
 * `<bucket>/<prefix>/AWSLogs/<accountId>/`.
 *
 * Which principal: AWS documents the service principal
 * `logdelivery.elasticloadbalancing.amazonaws.com` for regions opened since
 * August 2022, and the region's own Elastic Load Balancing account for the
 * older regions. We always grant the service principal (it is the documented
 * future for every region, needs no table, and is what the policy fixtures
 * expect), and in an older region we also grant that region's ELB account,
 * because that is the principal AWS's page still names there: log delivery
 * works whichever of the two the region uses. Both are limited to
 * `s3:PutObject` under this account's prefix.
 *
 * @param bucketArn the log bucket's ARN (its partition is reused for the account principal)
 * @param prefix the `accessLogs.prefix` the ALB writes under (no leading or trailing "/")
 * @param accountId the account the ALB runs in
 * @param region the ALB's region
 */
export function albLogDeliveryStatement(bucketArn: string, prefix: string, accountId: string, region: string): PolicyStatement[] {
  const resource = `${bucketArn}/${prefix ? `${prefix}/` : ""}AWSLogs/${accountId}/*`;
  const statements: PolicyStatement[] = [{
    Sid: "AlbLogDelivery",
    Effect: "Allow",
    Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
    Action: "s3:PutObject",
    Resource: resource,
  }];
  const elbAccount = ELB_LOG_ACCOUNTS[region];
  if (elbAccount) {
    const partition = bucketArn.split(":")[1] || "aws";
    statements.push({
      Sid: "AlbLogDeliveryRegionalAccount",
      Effect: "Allow",
      Principal: { AWS: `arn:${partition}:iam::${elbAccount}:root` },
      Action: "s3:PutObject",
      Resource: resource,
    });
  }
  return statements;
}

export interface LoadBalancerArgs {
  /** The VPC of the load balancer and its targets. */
  vpcId: pulumi.Input<string>;
  /** The VPC's CIDR block: the only place the load balancer sends traffic (its targets' port). */
  vpcCidr: pulumi.Input<string>;
  /**
   * Public subnets, in at least two availability zones (an ALB refuses
   * fewer). Adding a subnet is in place; AWS refuses removing a zone's last one.
   */
  subnetIds: pulumi.Input<string>[];
  /**
   * The HTTPS listener's certificate; pass `Certificate.arn` (the validated
   * ARN) so the listener waits for ACM to issue it.
   */
  certificateArn: pulumi.Input<string>;
  /**
   * Where the ALB writes access logs (`<bucket>/<prefix>/AWSLogs/<account>/…`).
   * The bucket must use SSE-S3 (ALB log delivery cannot write SSE-KMS) and
   * its policy must allow delivery: add the statements of
   * `albLogDeliveryStatement(bucketArn, prefix, accountId, region)`
   * (`s3:PutObject` for the ELB log-delivery service principal, and in
   * regions opened before August 2022 the region's ELB account). The stack's
   * logs bucket (components/artifacts.ts) is SSE-S3.
   * AWS tests the write when access logs are turned on, so the policy must
   * exist first: pass a bucket name that resolves after the bucket policy
   * (e.g. `policy.bucket`), and the load balancer then waits for it.
   * `prefix` has no leading or trailing "/" and must not contain "AWSLogs".
   * @example { bucket: artifacts.logsBucketName, prefix: "alb" }
   */
  accessLogs: { bucket: pulumi.Input<string>; prefix: string };
  /**
   * Refuse deletion of the load balancer until turned off. Deleting it takes
   * the site down and changes its DNS name.
   * The stack turns it on in prod (policy check alb-deletion-protection).
   */
  deletionProtection: boolean;
  /**
   * When a CDN fronts the load balancer, only the CDN reaches it:
   * - `"cloudfront"`: HTTPS from CloudFront's origin-facing managed prefix list;
   * - `"cloudflare"`: HTTPS from each of Cloudflare's published ranges
   *   (`CLOUDFLARE_RANGES`, one rule per range).
   * Only 443 is opened: both CDNs talk to the origin over HTTPS only
   * (CloudFront `https-only`, Cloudflare SSL "strict") and redirect HTTP at
   * their edge. It also keeps the group within the default quota of 60
   * rules: CloudFront's prefix list counts as 55 rules per rule that uses it.
   * Unset, the load balancer faces the world: 80 (redirected) and 443 from
   * 0.0.0.0/0 and ::/0 (the IPv6 rules matter once the ALB is made
   * `dualstack` through `transform.loadBalancer`, with IPv6 subnets).
   * Changing it replaces the ingress rules only (seconds, in place for the ALB).
   * @default undefined (world-facing)
   */
  restrictTo?: "cloudfront" | "cloudflare";
  /**
   * What rotates the preview key (any new value makes a new key): the
   * stack's `secretsRotation` label.
   * @default "initial"
   */
  previewKeyRotation?: string;
  /** The targets: the blue and green fleets' web servers (nginx). */
  targets: {
    /**
     * The port nginx listens on (plain HTTP: TLS ends at the load balancer).
     * Caution: changing it replaces both target groups.
     * @default 80
     */
    port?: number;
    /**
     * Health-check path, answered before ALLOWED_HOSTS applies (the ALB
     * sends the target's IP as Host). Policy check alb-target-group-health-check
     * requires "/healthz".
     * @default "/healthz"
     */
    healthCheckPath?: string;
    /**
     * Seconds a deregistering target keeps serving its in-flight requests:
     * at least gunicorn's graceful timeout (the stack passes it + 5).
     * Every deploy and scale-in waits this long.
     */
    deregistrationDelaySeconds: number;
  };
  /**
   * Percent of requests each fleet gets: whole numbers from 0 to 100 that
   * sum to 100. Changing them is in place (the listener's forward action).
   * @example { blue: 90, green: 10 } (a canary of green)
   */
  weights: Record<Color, number>;
  /**
   * Seconds an idle connection stays open, and so the longest the ALB
   * waits for a target's response. Keep it at least nginx's
   * `proxy_read_timeout` and below nginx's `keepalive_timeout`, or the ALB
   * reuses connections nginx has closed and answers 502 (the stack derives
   * all three from requestTimeoutSeconds).
   * @default 60
   * @example 125
   */
  idleTimeoutSeconds?: number;
  transform?: {
    loadBalancer?: Transform<aws.lb.LoadBalancerArgs>;
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    /** Applied to both target groups; a callback gets the child's name (`<name>-tg-blue`, `<name>-tg-green`). */
    targetGroup?: Transform<aws.lb.TargetGroupArgs>;
    httpListener?: Transform<aws.lb.ListenerArgs>;
    httpsListener?: Transform<aws.lb.ListenerArgs>;
    /** Applied to both preview rules (`<name>-preview-blue`, `<name>-preview-green`). */
    previewRule?: Transform<aws.lb.ListenerRuleArgs>;
  };
}

export interface TargetGroupOutputs {
  arn: pulumi.Output<string>;
  /** `targetgroup/<name>/<id>`: the CloudWatch dimension. */
  arnSuffix: pulumi.Output<string>;
  name: pulumi.Output<string>;
}

const isWhole = (n: unknown, min: number, max: number): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= min && n <= max;

/** A logical-name-safe label for a CIDR (`2400:cb00::/32` → `2400-cb00---32`): URNs cannot hold "::". */
export const cidrLabel = (cidr: string) => cidr.replace(/[.:/]/g, "-");

/** The ingress rules of the load balancer's security group, by role (the child's name suffix). */
export function edgeIngress(restrictTo: LoadBalancerArgs["restrictTo"]): {
  role: string;
  port: number;
  source: { cidrIpv4: string } | { cidrIpv6: string } | { cloudfront: true };
  description: string;
}[] {
  if (restrictTo === "cloudfront") {
    return [{ role: "in-https-cloudfront", port: 443, source: { cloudfront: true }, description: "HTTPS from the CloudFront origin-facing servers only" }];
  }
  if (restrictTo === "cloudflare") {
    return CLOUDFLARE_RANGES.map((cidr) => ({
      role: `in-https-cloudflare-${cidrLabel(cidr)}`,
      port: 443,
      source: cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr },
      description: `HTTPS from Cloudflare (${cidr})`,
    }));
  }
  return [
    { role: "in-http", port: 80, source: { cidrIpv4: "0.0.0.0/0" }, description: "HTTP from anywhere (redirected to HTTPS)" },
    { role: "in-http-v6", port: 80, source: { cidrIpv6: "::/0" }, description: "HTTP from anywhere over IPv6 (redirected to HTTPS)" },
    { role: "in-https", port: 443, source: { cidrIpv4: "0.0.0.0/0" }, description: "HTTPS from anywhere" },
    { role: "in-https-v6", port: 443, source: { cidrIpv6: "::/0" }, description: "HTTPS from anywhere over IPv6" },
  ];
}

/**
 * The load-balanced tier's front door: an internet-facing application load
 * balancer in the public subnets that ends TLS (TLS 1.2+ only) and splits
 * requests between the blue and green fleets by weight.
 *
 * - HTTP:80 only answers a 301 to HTTPS.
 * - HTTPS:443 forwards to the blue and green target groups by `weights`
 *   (no stickiness: a session lives in the database or cache, not a VM).
 * - A request carrying `X-Django-Tiers-Preview: <color>.<previewKey>` goes
 *   to that color's fleet whatever the weights (listener rules
 *   `preview-blue`/`preview-green`). That is how a promotion smoke-tests the
 *   idle fleet before it gets any traffic. The key is a per-stack random
 *   secret, so only who can read the stack's secrets previews; an idle
 *   fleet scaled to zero answers 503.
 * - Invalid headers are dropped, desync mitigation is defensive, access logs
 *   go to S3; its security group sends only to the targets' port in the VPC.
 *
 * Cost: about $16/month plus $5.8 per LCU-month (us-east-1), and one public
 * IPv4 address per zone ($3.6/month each).
 */
export class LoadBalancer extends Component {
  public readonly arn: pulumi.Output<string>;
  /** `app/<name>/<id>`: the CloudWatch dimension of the load balancer. */
  public readonly arnSuffix: pulumi.Output<string>;
  public readonly dnsName: pulumi.Output<string>;
  /** The hosted zone of `dnsName` (for alias records). */
  public readonly zoneId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  public readonly httpsListenerArn: pulumi.Output<string>;
  public readonly targetGroups: Record<Color, TargetGroupOutputs>;
  /** The secret half of a preview header's value (a Pulumi secret): see PREVIEW_HEADER. */
  public readonly previewKey: pulumi.Output<string>;
  public readonly nodes: {
    loadBalancer: aws.lb.LoadBalancer;
    securityGroup: aws.ec2.SecurityGroup;
    ingressRules: Record<string, aws.vpc.SecurityGroupIngressRule>;
    egressRule: aws.vpc.SecurityGroupEgressRule;
    targetGroups: Record<Color, aws.lb.TargetGroup>;
    httpListener: aws.lb.Listener;
    httpsListener: aws.lb.Listener;
    previewRules: Record<Color, aws.lb.ListenerRule>;
    previewKey: random.RandomPassword;
  };

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("LoadBalancer", name, opts);
    const label = `LoadBalancer ${name}`;
    if (!Array.isArray(args.subnetIds) || args.subnetIds.length < 2) {
      throw new Error(`${label}: subnetIds must name at least two public subnets in different availability zones (got ${args.subnetIds?.length ?? 0})`);
    }
    const w = args.weights ?? ({} as Record<Color, number>);
    if (!isWhole(w.blue, 0, 100) || !isWhole(w.green, 0, 100) || w.blue + w.green !== 100) {
      throw new Error(`${label}: weights must be whole numbers from 0 to 100 that sum to 100 (got blue ${w.blue}, green ${w.green})`);
    }
    if (args.restrictTo !== undefined && !["cloudfront", "cloudflare"].includes(args.restrictTo)) {
      throw new Error(`${label}: restrictTo must be "cloudfront", "cloudflare" or unset (got ${JSON.stringify(args.restrictTo)})`);
    }
    const port = args.targets.port ?? 80;
    if (!isWhole(port, 1, 65535)) throw new Error(`${label}: targets.port must be a port number from 1 to 65535 (got ${port})`);
    const healthCheckPath = args.targets.healthCheckPath ?? "/healthz";
    if (!healthCheckPath.startsWith("/")) throw new Error(`${label}: targets.healthCheckPath must be a path starting with "/" (got ${JSON.stringify(healthCheckPath)})`);
    const delay = args.targets.deregistrationDelaySeconds;
    if (!isWhole(delay, 0, 3600)) {
      throw new Error(`${label}: targets.deregistrationDelaySeconds must be a whole number of seconds from 0 to 3600 (got ${delay})`);
    }
    const idleTimeout = args.idleTimeoutSeconds ?? 60;
    if (!isWhole(idleTimeout, 1, 4000)) throw new Error(`${label}: idleTimeoutSeconds must be a whole number from 1 to 4000 (got ${idleTimeout})`);
    const prefix = args.accessLogs?.prefix;
    if (typeof prefix !== "string" || !/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/.test(prefix) || /AWSLogs/i.test(prefix)) {
      throw new Error(`${label}: accessLogs.prefix must be a non-empty key prefix without a leading or trailing "/" and without "AWSLogs" (got ${JSON.stringify(prefix)})`);
    }
    if (typeof args.deletionProtection !== "boolean") throw new Error(`${label}: deletionProtection must be true or false`);

    const securityGroup = this.child(aws.ec2.SecurityGroup, "sg", {
      vpcId: args.vpcId,
      description: args.restrictTo
        ? `django-tiers load balancer: HTTPS from ${args.restrictTo === "cloudfront" ? "CloudFront" : "Cloudflare"} only, HTTP out to the fleets`
        : "django-tiers load balancer: HTTP and HTTPS from the internet, HTTP out to the fleets",
      // The edge role marks the one security group allowed to take 80/443 from the world (policies/).
      tags: stackTags({ Name: this.childName("sg"), "django-tiers:role": "edge" }),
    }, args.transform?.securityGroup);

    const ingress = edgeIngress(args.restrictTo);
    const cloudfront = args.restrictTo === "cloudfront"
      ? aws.ec2.getManagedPrefixListOutput({ name: CLOUDFRONT_ORIGIN_FACING }, { parent: this })
      : undefined;
    const ingressRules: Record<string, aws.vpc.SecurityGroupIngressRule> = {};
    for (const rule of ingress) {
      const { source } = rule;
      ingressRules[rule.role] = this.child(aws.vpc.SecurityGroupIngressRule, rule.role, {
        securityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: rule.port,
        toPort: rule.port,
        ...("cloudfront" in source ? { prefixListId: cloudfront!.id } : source),
        description: rule.description,
        tags: stackTags(),
      });
    }
    // Out: only the targets' port, only inside the VPC (the fleets and their health checks).
    const egressRule = this.child(aws.vpc.SecurityGroupEgressRule, "out-targets", {
      securityGroupId: securityGroup.id,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      cidrIpv4: args.vpcCidr,
      description: `HTTP to the nginx of the fleets (port ${port}) inside the VPC`,
      tags: stackTags(),
    });

    const loadBalancer = this.child(aws.lb.LoadBalancer, "lb", {
      loadBalancerType: "application",
      internal: false,
      ipAddressType: "ipv4",
      subnets: args.subnetIds,
      securityGroups: [securityGroup.id],
      // Malformed headers and ambiguous requests never reach nginx (request smuggling).
      dropInvalidHeaderFields: true,
      desyncMitigationMode: "defensive",
      enableDeletionProtection: args.deletionProtection,
      accessLogs: { enabled: true, bucket: args.accessLogs.bucket, prefix: args.accessLogs.prefix },
      idleTimeout,
      tags: stackTags({ Name: this.childName("lb") }),
    }, args.transform?.loadBalancer);

    const targetGroups = {} as Record<Color, aws.lb.TargetGroup>;
    for (const color of COLORS) {
      targetGroups[color] = this.child(aws.lb.TargetGroup, `tg-${color}`, {
        vpcId: args.vpcId,
        targetType: "instance",
        protocol: "HTTP",
        port,
        deregistrationDelay: delay,
        healthCheck: {
          enabled: true,
          protocol: "HTTP",
          port: "traffic-port",
          path: healthCheckPath,
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
        tags: stackTags({ Name: this.childName(`tg-${color}`), "django-tiers:color": color }),
      }, args.transform?.targetGroup);
    }

    const httpListener = this.child(aws.lb.Listener, "http", {
      loadBalancerArn: loadBalancer.arn,
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
      tags: stackTags(),
    }, args.transform?.httpListener);

    const httpsListener = this.child(aws.lb.Listener, "https", {
      loadBalancerArn: loadBalancer.arn,
      port: 443,
      protocol: "HTTPS",
      sslPolicy: ALB_TLS_POLICY,
      certificateArn: args.certificateArn,
      defaultActions: [{
        type: "forward",
        forward: {
          targetGroups: COLORS.map((color) => ({ arn: targetGroups[color].arn, weight: w[color] })),
          // Off: sessions live in the database or cache, and a canary's share must follow the weights.
          stickiness: { enabled: false, duration: 1 },
        },
      }],
      tags: stackTags(),
    }, args.transform?.httpsListener);

    // Lowercase and digits: the ALB compares header values case-insensitively (40 of 36 symbols, ~206 bits).
    const previewKey = this.child(random.RandomPassword, "preview-key", {
      length: 40,
      special: false,
      upper: false,
      keepers: { rotation: args.previewKeyRotation ?? "initial" },
    });
    const previewRules = {} as Record<Color, aws.lb.ListenerRule>;
    for (const color of COLORS) {
      previewRules[color] = this.child(aws.lb.ListenerRule, `preview-${color}`, {
        listenerArn: httpsListener.arn,
        priority: PREVIEW_PRIORITY[color],
        conditions: [{ httpHeader: { httpHeaderName: PREVIEW_HEADER, values: [pulumi.secret(previewKey.result.apply((key) => previewValue(color, key)))] } }],
        actions: [{ type: "forward", targetGroupArn: targetGroups[color].arn }],
        tags: stackTags(),
      }, args.transform?.previewRule);
    }

    this.arn = loadBalancer.arn;
    this.arnSuffix = loadBalancer.arnSuffix;
    this.dnsName = loadBalancer.dnsName;
    this.zoneId = loadBalancer.zoneId;
    this.securityGroupId = securityGroup.id;
    this.httpsListenerArn = httpsListener.arn;
    this.targetGroups = {
      blue: { arn: targetGroups.blue.arn, arnSuffix: targetGroups.blue.arnSuffix, name: targetGroups.blue.name },
      green: { arn: targetGroups.green.arn, arnSuffix: targetGroups.green.arnSuffix, name: targetGroups.green.name },
    };
    this.previewKey = pulumi.secret(previewKey.result);
    this.nodes = { loadBalancer, securityGroup, ingressRules, egressRule, targetGroups, httpListener, httpsListener, previewRules, previewKey };
    this.registerOutputs({
      arn: this.arn,
      arnSuffix: this.arnSuffix,
      dnsName: this.dnsName,
      zoneId: this.zoneId,
      securityGroupId: this.securityGroupId,
      httpsListenerArn: this.httpsListenerArn,
    });
  }
}
