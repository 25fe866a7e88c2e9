import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface ClientSecurityGroupArgs {
  vpcId: pulumi.Input<string>;
  /** The VPC's CIDR: the services are inside it, nothing is reached outside it through this group. */
  vpcCidr: pulumi.Input<string>;
  /**
   * The role the group marks its members with: `app` (servers that answer
   * web requests) or `worker` (task runners). Database and cache groups admit
   * these roles only.
   * @default "app"
   */
  role?: "app" | "worker";
  /**
   * The service ports members connect to, by service.
   * @example { database: 5432, cache: 6379 }
   */
  ports: Record<string, number>;
  transform?: { securityGroup?: Transform<aws.ec2.SecurityGroupArgs> };
}

/**
 * A security group that marks servers as clients of the stack's services
 * (RDS, ElastiCache): those services admit exactly this group, and it lets
 * its members reach exactly those ports inside the VPC. It is created before
 * the services, so their ingress can name it, and the servers wear it beside
 * their own group.
 */
export class ClientSecurityGroup extends Component {
  public readonly id: pulumi.Output<string>;
  public readonly nodes: { securityGroup: aws.ec2.SecurityGroup };

  constructor(name: string, args: ClientSecurityGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ClientSecurityGroup", name, opts);
    const role = args.role ?? "app";
    const securityGroup = this.child(aws.ec2.SecurityGroup, "sg", {
      vpcId: args.vpcId,
      description: `django-tiers ${role} servers: clients of the database and cache`,
      tags: stackTags({ Name: this.childName("sg"), "django-tiers:role": role }),
    }, args.transform?.securityGroup);
    for (const [service, port] of Object.entries(args.ports)) {
      this.child(aws.vpc.SecurityGroupEgressRule, `to-${service}`, {
        securityGroupId: securityGroup.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrIpv4: args.vpcCidr,
        description: `${service} (port ${port}) inside the VPC`,
      });
    }
    this.id = securityGroup.id;
    this.nodes = { securityGroup };
    this.registerOutputs({ id: this.id });
  }
}
