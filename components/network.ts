import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface NetworkArgs {
  /**
   * Bring your own VPC instead of creating one. All three ids go together;
   * nothing in that VPC is modified.
   * @example { vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-0a…", "subnet-0b…"], privateSubnetIds: ["subnet-0c…", "subnet-0d…"] }
   */
  existing?: { vpcId: pulumi.Input<string>; publicSubnetIds: pulumi.Input<string>[]; privateSubnetIds: pulumi.Input<string>[] };
  /**
   * CIDR block of the new VPC. Caution: changing it replaces the VPC and
   * everything in it.
   * @default "10.0.0.0/16"
   */
  cidr?: string;
  /**
   * Availability zones spanned, each with one public and one private subnet.
   * Adding zones is in place; removing zones deletes their subnets.
   * @default 2
   */
  azCount?: number;
  /**
   * One NAT gateway (in the first zone) so private subnets reach the
   * internet. Costs about $33/month plus $0.045/GB. Without it private
   * subnets have no internet route; the single box runs in a public subnet
   * and needs none.
   * @default false
   */
  natGateway?: boolean;
  /** Customise the children. */
  transform?: {
    vpc?: Transform<aws.ec2.VpcArgs>;
    publicSubnet?: Transform<aws.ec2.SubnetArgs>;
    privateSubnet?: Transform<aws.ec2.SubnetArgs>;
  };
}

/** Splits a /16–/24 VPC CIDR into /(n+4) subnets: public ones first, then private. */
export function subnetCidrs(vpcCidr: string, azCount: number): { public: string[]; private: string[] } {
  const [base, bitsText] = vpcCidr.split("/");
  const bits = Number(bitsText);
  const newBits = bits + 4;
  const start = base.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - newBits);
  const cidr = (i: number) => {
    const n = start + i * size;
    return `${[24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".")}/${newBits}`;
  };
  return {
    public: Array.from({ length: azCount }, (_, i) => cidr(i)),
    // Private subnets start in the second half, so adding zones never shifts an existing subnet.
    private: Array.from({ length: azCount }, (_, i) => cidr(8 + i)),
  };
}

/**
 * A VPC across several availability zones with a public and a private
 * subnet in each, or an existing VPC's ids. The default security group is
 * taken over and left with no rules (CKV2_AWS_12).
 */
export class Network extends Component {
  public readonly vpcId: pulumi.Output<string>;
  /** The VPC's IPv4 CIDR (looked up for an existing VPC). */
  public readonly cidrBlock: pulumi.Output<string>;
  public readonly publicSubnetIds: pulumi.Output<string[]>;
  /** The first zone's public subnet alone, so a server placed there waits for no other subnet. */
  public readonly firstPublicSubnetId: pulumi.Output<string>;
  public readonly privateSubnetIds: pulumi.Output<string[]>;
  /** True when the private subnets can reach the internet. */
  public readonly hasNat: boolean;
  /**
   * What makes the private subnets reach the internet (their route table,
   * with the NAT route, and its associations): servers whose first boot
   * downloads packages wait for these. Empty for an existing VPC.
   */
  public readonly privateInternetRoute: pulumi.Resource[];
  public readonly nodes: { vpc?: aws.ec2.Vpc; publicSubnets: aws.ec2.Subnet[]; privateSubnets: aws.ec2.Subnet[]; natGateway?: aws.ec2.NatGateway };

  constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("Network", name, opts);
    if (args.existing) {
      this.vpcId = pulumi.output(args.existing.vpcId);
      this.cidrBlock = aws.ec2.getVpcOutput({ id: args.existing.vpcId }, { parent: this }).cidrBlock;
      this.publicSubnetIds = pulumi.output(args.existing.publicSubnetIds);
      this.firstPublicSubnetId = pulumi.output(args.existing.publicSubnetIds[0]);
      this.privateSubnetIds = pulumi.output(args.existing.privateSubnetIds);
      this.hasNat = false;
      this.privateInternetRoute = [];
      this.nodes = { publicSubnets: [], privateSubnets: [] };
      this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
      return;
    }

    const cidr = args.cidr ?? "10.0.0.0/16";
    const azCount = args.azCount ?? 2;
    if (!Number.isInteger(azCount) || azCount < 2 || azCount > 6) {
      throw new Error(`Network ${name}: azCount must be a whole number from 2 to 6 (got ${azCount})`);
    }
    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this });
    const cidrs = subnetCidrs(cidr, azCount);

    const vpc = this.child(aws.ec2.Vpc, "vpc", {
      cidrBlock: cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: stackTags({ Name: this.childName("vpc") }),
    }, args.transform?.vpc);

    // Take over the default security group and leave it with no rules, so nothing can use it by accident.
    this.child(aws.ec2.DefaultSecurityGroup, "default-sg", { vpcId: vpc.id, tags: stackTags({ Name: this.childName("default-sg") }) });

    const igw = this.child(aws.ec2.InternetGateway, "igw", { vpcId: vpc.id, tags: stackTags({ Name: this.childName("igw") }) });
    const publicRoutes = this.child(aws.ec2.RouteTable, "public-rt", {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
      tags: stackTags({ Name: this.childName("public-rt") }),
    });

    // Subnets are named by zone number (1, 2, …): the count only grows, so a name never moves to another subnet.
    const publicSubnets = cidrs.public.map((block, i) => {
      const role = `public-${i + 1}`;
      const subnet = this.child(aws.ec2.Subnet, role, {
        vpcId: vpc.id,
        cidrBlock: block,
        availabilityZone: zones.names[i],
        // Public IPs come from an Elastic IP or a load balancer, never implicitly.
        mapPublicIpOnLaunch: false,
        tags: stackTags({ Name: this.childName(role), "django-tiers:tier": "public" }),
      }, args.transform?.publicSubnet);
      this.child(aws.ec2.RouteTableAssociation, `${role}-rta`, { subnetId: subnet.id, routeTableId: publicRoutes.id });
      return subnet;
    });

    let natGateway: aws.ec2.NatGateway | undefined;
    if (args.natGateway) {
      const eip = this.child(aws.ec2.Eip, "nat-eip", { domain: "vpc", tags: stackTags({ Name: this.childName("nat-eip") }) });
      natGateway = this.child(aws.ec2.NatGateway, "nat", {
        subnetId: publicSubnets[0].id,
        allocationId: eip.id,
        tags: stackTags({ Name: this.childName("nat") }),
      }, undefined, { dependsOn: [igw] });
    }
    const privateRoutes = this.child(aws.ec2.RouteTable, "private-rt", {
      vpcId: vpc.id,
      routes: natGateway ? [{ cidrBlock: "0.0.0.0/0", natGatewayId: natGateway.id }] : [],
      tags: stackTags({ Name: this.childName("private-rt") }),
    });
    const privateAssociations: aws.ec2.RouteTableAssociation[] = [];
    const privateSubnets = cidrs.private.map((block, i) => {
      const role = `private-${i + 1}`;
      const subnet = this.child(aws.ec2.Subnet, role, {
        vpcId: vpc.id,
        cidrBlock: block,
        availabilityZone: zones.names[i],
        mapPublicIpOnLaunch: false,
        tags: stackTags({ Name: this.childName(role), "django-tiers:tier": "private" }),
      }, args.transform?.privateSubnet);
      privateAssociations.push(this.child(aws.ec2.RouteTableAssociation, `${role}-rta`, { subnetId: subnet.id, routeTableId: privateRoutes.id }));
      return subnet;
    });

    this.vpcId = vpc.id;
    this.cidrBlock = pulumi.output(cidr);
    this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
    this.firstPublicSubnetId = publicSubnets[0].id;
    this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
    this.hasNat = natGateway !== undefined;
    this.privateInternetRoute = natGateway ? [privateRoutes, ...privateAssociations] : [];
    this.nodes = { vpc, publicSubnets, privateSubnets, natGateway };
    this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
  }
}
