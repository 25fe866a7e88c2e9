import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Component, Transform, serviceSecurityGroup, stackTags } from "./component";

export interface CacheArgs {
  vpcId: pulumi.Input<string>;
  /** Private subnets in at least two availability zones. */
  subnetIds: pulumi.Input<string>[];
  /**
   * Security groups of the servers that may connect, by role.
   * @example { app: appSg.id, worker: workerSg.id }
   */
  clients: Record<string, pulumi.Input<string>>;
  /**
   * Any change to this label generates a new AUTH token (rotation by
   * `pulumi up`). The token is exposed as `authToken` (a Pulumi secret) for
   * the stack to keep in the apps' Secrets Manager secrets as REDIS_PASSWORD.
   * @default "initial"
   */
  rotation?: string;
  /** KMS key for encryption at rest. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Engine: Valkey (the open-source Redis fork AWS prices lower) or Redis.
   * Caution: changing it replaces the cache (it starts empty).
   * @default "valkey"
   */
  engine?: "valkey" | "redis";
  /**
   * Node type. Cost-sensitive: cache.t4g.micro is about $12/month per node.
   * @default "cache.t4g.micro"
   */
  nodeType?: string;
  /**
   * A replica in a second zone with automatic failover (two nodes). Doubles
   * the cost.
   * @default false (the stack turns it on in prod)
   */
  highAvailability?: boolean;
  /**
   * Days daily snapshots are kept.
   * @default 3
   */
  snapshotRetentionDays?: number;
  transform?: { replicationGroup?: Transform<aws.elasticache.ReplicationGroupArgs> };
}

/**
 * The "cache as an external service" rung: an ElastiCache replication group
 * (Valkey or Redis) in private subnets, TLS and AUTH required, encrypted at
 * rest, snapshotted, reachable only from the app and worker groups. Django
 * connects with `rediss://`; a cache outage degrades to misses (the
 * rendered settings ignore cache errors).
 */
export class Cache extends Component {
  public readonly address: pulumi.Output<string>;
  public readonly port = 6379;
  public readonly replicationGroupId: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** The AUTH token clients present (TLS is required, so it never crosses the network in clear). */
  public readonly authToken: pulumi.Output<string>;
  public readonly nodes: {
    replicationGroup: aws.elasticache.ReplicationGroup;
    subnetGroup: aws.elasticache.SubnetGroup;
    securityGroup: aws.ec2.SecurityGroup;
  };

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Cache", name, opts);
    if (args.subnetIds.length < 2) throw new Error(`Cache ${name}: subnetIds must name subnets in at least two availability zones`);
    const retention = args.snapshotRetentionDays ?? 3;
    if (!Number.isInteger(retention) || retention < 1 || retention > 35) {
      throw new Error(`Cache ${name}: snapshotRetentionDays must be a whole number from 1 to 35 (got ${retention})`);
    }
    const engine = args.engine ?? "valkey";
    const ha = args.highAvailability ?? false;

    const securityGroup = serviceSecurityGroup(this, { vpcId: args.vpcId, role: "cache", service: engine, port: this.port, clients: args.clients });
    const subnetGroup = this.child(aws.elasticache.SubnetGroup, "subnets", {
      subnetIds: args.subnetIds,
      description: "django-tiers cache: private subnets only",
      tags: stackTags(),
    });
    // ElastiCache accepts 16–128 printable characters without @, " or /: letters and digits are safe everywhere.
    const token = this.child(random.RandomPassword, "auth-token", { length: 64, special: false, keepers: { rotation: args.rotation ?? "initial" } });
    const replicationGroup = this.child(aws.elasticache.ReplicationGroup, "redis", {
      description: `django-tiers ${pulumi.getProject()}/${pulumi.getStack()} cache and broker`,
      engine,
      engineVersion: engine === "valkey" ? "8.0" : "7.1",
      nodeType: args.nodeType ?? "cache.t4g.micro",
      port: this.port,
      numCacheClusters: ha ? 2 : 1,
      automaticFailoverEnabled: ha,
      multiAzEnabled: ha,
      subnetGroupName: subnetGroup.name,
      securityGroupIds: [securityGroup.id],
      transitEncryptionEnabled: true,
      authToken: token.result,
      // A rotated token is accepted beside the old one until clients have moved over.
      authTokenUpdateStrategy: "ROTATE",
      atRestEncryptionEnabled: true,
      kmsKeyId: args.kmsKeyArn,
      snapshotRetentionLimit: retention,
      snapshotWindow: "01:00-02:00",
      maintenanceWindow: "sun:04:30-sun:05:30",
      autoMinorVersionUpgrade: true,
      applyImmediately: false,
      tags: stackTags(),
    }, args.transform?.replicationGroup);

    this.authToken = pulumi.secret(token.result);
    this.address = replicationGroup.primaryEndpointAddress;
    this.replicationGroupId = replicationGroup.id;
    this.securityGroupId = securityGroup.id;
    this.nodes = { replicationGroup, subnetGroup, securityGroup };
    this.registerOutputs({ address: this.address, securityGroupId: this.securityGroupId });
  }
}
