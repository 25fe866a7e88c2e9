/**
 * Monthly cost of a planned stack, per resource and in total, from the price
 * table (prices.ts) and the resources' inputs as the plan captured them.
 *
 * Each cloud resource is `priced` (with the items that make its cost),
 * `free` (costs nothing by itself: a VPC, a subnet, an IAM role, a bucket's
 * settings), or `unknown` (a type or size the table does not hold, or an
 * input not known before deploy). Unknown is never counted as zero: the
 * total says how many resources it leaves out.
 */
import type { PlannedResource } from "../../policies/types";
import { asArray, asBool, asNumber, asRecord, asString } from "../../policies/values";
import { identifierIndex, inputStrings } from "./graph";
import * as P from "./prices";

export type CostStatus = "priced" | "free" | "unknown";

export interface CostItem {
  what: string;
  quantity: number;
  unit: string;
  unitPrice: number;
  monthly: number;
}

export interface ResourceCost {
  name: string;
  type: string;
  urn: string;
  status: CostStatus;
  /** $/month; absent when unknown. */
  monthly?: number;
  items: CostItem[];
  /** Why it is free or unknown, or the assumption behind the price. */
  note?: string;
}

export interface CostEstimate {
  currency: "USD";
  region: string;
  pricesAsOf: string;
  source: string;
  /** Sum of the priced resources, $/month. */
  totalMonthly: number;
  /** Resources whose price is unknown (not in the total). */
  unknownCount: number;
  resources: ResourceCost[];
  /** The usage assumed where AWS charges per GB or request. */
  assumptions: string[];
  notIncluded: string[];
}

/** Resources that cost nothing by themselves; what they enable is billed elsewhere. */
const FREE: Record<string, string> = {
  "aws:ec2/vpc:Vpc": "VPCs are free",
  "aws:ec2/subnet:Subnet": "subnets are free",
  "aws:ec2/routeTable:RouteTable": "route tables are free",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "free",
  "aws:ec2/route:Route": "free",
  "aws:ec2/internetGateway:InternetGateway": "internet gateways are free (traffic is billed as data transfer)",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups are free",
  "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "free",
  "aws:ec2/securityGroupRule:SecurityGroupRule": "free",
  "aws:ec2/networkAcl:NetworkAcl": "free",
  "aws:ec2/launchTemplate:LaunchTemplate": "free; its instances are priced on the autoscaling group",
  "aws:ec2/eipAssociation:EipAssociation": "free; the address is priced on the Elastic IP",
  "aws:iam/role:Role": "IAM is free",
  "aws:iam/rolePolicy:RolePolicy": "IAM is free",
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
  "aws:iam/policy:Policy": "IAM is free",
  "aws:iam/instanceProfile:InstanceProfile": "IAM is free",
  "aws:kms/alias:Alias": "aliases are free",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a bucket setting",
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "a bucket setting",
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "a bucket setting",
  "aws:s3/bucketVersioning:BucketVersioning": "a bucket setting (old versions count in the bucket's storage)",
  "aws:s3/bucketLogging:BucketLogging": "a bucket setting (the logs count in the target bucket's storage)",
  "aws:s3/bucketPolicy:BucketPolicy": "a bucket setting",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "a bucket setting",
  "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "a bucket setting",
  "aws:s3/bucketObjectv2:BucketObjectv2": "counted in its bucket's storage",
  "aws:secretsmanager/secretVersion:SecretVersion": "included in the secret's price",
  "aws:secretsmanager/secretRotation:SecretRotation": "included in the secret's price (the rotation Lambda is billed per use)",
  "aws:ssm/association:Association": "State Manager associations are free",
  "aws:ssm/document:Document": "free",
  "aws:sns/topicSubscription:TopicSubscription": "deliveries are priced on the topic",
  "aws:sqs/queuePolicy:QueuePolicy": "free",
  "aws:backup/vault:Vault": "free; recovery points are priced on the backup selection",
  "aws:backup/plan:Plan": "free; recovery points are priced on the backup selection",
  "aws:lb/targetGroup:TargetGroup": "included in the load balancer's price",
  "aws:lb/listener:Listener": "included in the load balancer's price",
  "aws:lb/listenerRule:ListenerRule": "included in the load balancer's price",
  "aws:alb/targetGroup:TargetGroup": "included in the load balancer's price",
  "aws:alb/listener:Listener": "included in the load balancer's price",
  "aws:alb/listenerRule:ListenerRule": "included in the load balancer's price",
  "aws:autoscaling/policy:Policy": "free",
  "aws:autoscaling/lifecycleHook:LifecycleHook": "free",
  "aws:rds/subnetGroup:SubnetGroup": "free",
  "aws:rds/parameterGroup:ParameterGroup": "free",
  "aws:rds/optionGroup:OptionGroup": "free",
  "aws:elasticache/subnetGroup:SubnetGroup": "free",
  "aws:elasticache/parameterGroup:ParameterGroup": "free",
  "aws:cloudfront/originAccessControl:OriginAccessControl": "free",
  "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "free",
  "aws:cloudfront/cachePolicy:CachePolicy": "free",
  "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": "free",
  "aws:acm/certificate:Certificate": "public ACM certificates are free",
  "aws:acm/certificateValidation:CertificateValidation": "free",
  "aws:route53/record:Record": "records are free (queries are billed per million)",
  "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "free",
  // Proxied (orange-cloud) records too: Cloudflare's proxy, its TLS and unmetered CDN traffic are on the Free plan
  // (www.cloudflare.com/plans/); a paid plan adds WAF rule sets and is billed by Cloudflare, not in this estimate.
  "cloudflare:index/dnsRecord:DnsRecord": "DNS records, proxied or not, are included in the Cloudflare zone's plan (the Free plan proxies at no charge)",
  "cloudflare:index/record:Record": "DNS records are included in the Cloudflare zone's plan",
  "cloudflare:index/zoneSetting:ZoneSetting": "included in the Cloudflare zone's plan",
  "cloudflare:index/originCaCertificate:OriginCaCertificate":
    "Origin CA certificates are free on every Cloudflare plan, the Free plan included (developers.cloudflare.com/ssl/origin-configuration/origin-ca/)",
  "tls:index/privateKey:PrivateKey": "computed by Pulumi's tls provider where Pulumi runs, not a cloud resource",
  "tls:index/certRequest:CertRequest": "computed by Pulumi's tls provider where Pulumi runs, not a cloud resource",
};

interface Priced {
  items: CostItem[];
  /** Parts the table cannot price: the resource becomes unknown. */
  unknown: string[];
  note?: string;
}

interface Context {
  resolve(value: unknown, type: string): PlannedResource | undefined;
}

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

function item(what: string, quantity: number, unit: string, unitPrice: number): CostItem {
  return { what, quantity, unit, unitPrice, monthly: quantity * unitPrice };
}
const hours = (what: string, perHour: number, count = 1) => item(what, count * P.HOURS_PER_MONTH, "hours", perHour);

/** EBS volume items (gp3 IOPS and throughput above baseline included). */
function ebs(what: string, sizeGb: number | undefined, type: string | undefined, iops?: number, throughput?: number): Priced {
  if (sizeGb === undefined) return { items: [], unknown: [`${what} size (set by the AMI)`] };
  const volumeType = type ?? "gp3";
  const perGb = P.EBS_PER_GB_MONTH[volumeType];
  if (perGb === undefined) return { items: [], unknown: [`${what} volume type ${volumeType}`] };
  const items = [item(`${what} (${volumeType})`, sizeGb, "GB-month", perGb)];
  if (volumeType === "gp3" && iops && iops > P.EBS_GP3_EXTRA.baselineIops) {
    items.push(item(`${what} IOPS above 3,000`, iops - P.EBS_GP3_EXTRA.baselineIops, "IOPS-month", P.EBS_GP3_EXTRA.iopsMonth));
  }
  if (volumeType === "gp3" && throughput && throughput > P.EBS_GP3_EXTRA.baselineThroughput) {
    items.push(item(`${what} throughput above 125 MB/s`, throughput - P.EBS_GP3_EXTRA.baselineThroughput, "MB/s-month", P.EBS_GP3_EXTRA.throughputMonth));
  }
  return { items, unknown: [] };
}

function merge(...parts: Priced[]): Priced {
  return { items: parts.flatMap((p) => p.items), unknown: parts.flatMap((p) => p.unknown) };
}

/** One VM's hours, disks, monitoring and public address. */
function vm(
  count: number,
  instanceType: string | undefined,
  disks: { what: string; size?: number; type?: string; iops?: number; throughput?: number }[],
  monitoring: boolean,
  publicIp: boolean | undefined,
): Priced {
  const parts: Priced[] = [];
  const rate = instanceType ? P.EC2_PER_HOUR[instanceType] : undefined;
  parts.push(rate === undefined ? { items: [], unknown: [`instance type ${instanceType ?? "(not set)"}`] } : { items: [hours(`EC2 ${instanceType}`, rate, count)], unknown: [] });
  for (const d of disks) {
    const p = ebs(d.what, d.size, d.type, d.iops, d.throughput);
    parts.push({ items: p.items.map((i) => item(i.what, i.quantity * count, i.unit, i.unitPrice)), unknown: p.unknown });
  }
  if (monitoring) parts.push({ items: [item("detailed monitoring", count, "instance-months", P.EC2_DETAILED_MONITORING_MONTH)], unknown: [] });
  if (publicIp) parts.push({ items: [hours("public IPv4 address", P.PUBLIC_IPV4_PER_HOUR, count)], unknown: [] });
  return merge(...parts);
}

function ec2Instance(r: PlannedResource, ctx: Context): Priced {
  const root = asRecord(r.inputs.rootBlockDevice) ?? {};
  const disks = [
    { what: "root volume", size: asNumber(root.volumeSize), type: asString(root.volumeType), iops: asNumber(root.iops), throughput: asNumber(root.throughput) },
    ...asArray(r.inputs.ebsBlockDevices).map((d, i) => {
      const rec = asRecord(d) ?? {};
      return { what: `EBS volume ${i + 1}`, size: asNumber(rec.volumeSize), type: asString(rec.volumeType), iops: asNumber(rec.iops), throughput: asNumber(rec.throughput) };
    }),
  ];
  // Without an explicit choice, the subnet decides whether the instance gets a public address.
  let publicIp = asBool(r.inputs.associatePublicIpAddress);
  if (publicIp === undefined) publicIp = asBool(ctx.resolve(r.inputs.subnetId, "aws:ec2/subnet:Subnet")?.inputs.mapPublicIpOnLaunch) ?? false;
  return vm(1, asString(r.inputs.instanceType), disks, asBool(r.inputs.monitoring) === true, publicIp);
}

function autoscalingGroup(r: PlannedResource, ctx: Context): Priced {
  const count = asNumber(r.inputs.desiredCapacity) ?? asNumber(r.inputs.minSize);
  if (count === undefined) return { items: [], unknown: ["instance count (no desiredCapacity or minSize)"] };
  const spec = asRecord(r.inputs.launchTemplate) ?? asRecord(asRecord(asRecord(asRecord(r.inputs.mixedInstancesPolicy)?.launchTemplate)?.launchTemplateSpecification));
  const lt = ctx.resolve(spec?.id ?? spec?.launchTemplateId ?? spec?.name ?? spec?.launchTemplateName, "aws:ec2/launchTemplate:LaunchTemplate");
  if (!lt) return { items: [], unknown: ["its launch template (not in this plan)"] };
  const disks = asArray(lt.inputs.blockDeviceMappings).map((m, i) => {
    const e = asRecord(asRecord(m)?.ebs) ?? {};
    return { what: `volume ${i + 1}`, size: asNumber(e.volumeSize), type: asString(e.volumeType), iops: asNumber(e.iops), throughput: asNumber(e.throughput) };
  });
  const publicIp = asArray(lt.inputs.networkInterfaces).some((n) => asBool(asRecord(n)?.associatePublicIpAddress) === true);
  const priced = vm(count, asString(lt.inputs.instanceType), disks, asBool(asRecord(lt.inputs.monitoring)?.enabled) === true, publicIp);
  return { ...priced, note: `${count} instance${count === 1 ? "" : "s"} (desired capacity, else minimum size) from ${lt.name}` };
}

function rdsInstance(r: PlannedResource): Priced {
  const engine = asString(r.inputs.engine) ?? "";
  const family = engine === "postgres" ? "postgres" : engine === "mysql" || engine === "mariadb" ? "mysql" : undefined;
  const cls = asString(r.inputs.instanceClass);
  const multiAz = asBool(r.inputs.multiAz) === true;
  const factor = multiAz ? P.RDS_MULTI_AZ_FACTOR : 1;
  const rate = family && cls ? P.RDS_PER_HOUR[family][cls] : undefined;
  const parts: Priced[] = [];
  parts.push(
    rate === undefined
      ? { items: [], unknown: [`RDS ${engine || "engine?"} ${cls ?? "(no class)"}`] }
      : { items: [hours(`RDS ${engine} ${cls}${multiAz ? " Multi-AZ" : ""}`, rate * factor)], unknown: [] },
  );
  const storageType = asString(r.inputs.storageType) ?? (r.inputs.iops !== undefined ? "io1" : "gp2");
  const size = asNumber(r.inputs.allocatedStorage);
  const perGb = P.RDS_STORAGE_PER_GB_MONTH[storageType];
  parts.push(
    size === undefined || perGb === undefined
      ? { items: [], unknown: [`storage (${storageType}, ${size ?? "?"} GB)`] }
      : { items: [item(`storage ${storageType}${multiAz ? " Multi-AZ" : ""}`, size, "GB-month", perGb * factor)], unknown: [] },
  );
  return { ...merge(...parts), note: "automated backups up to the storage size are included" };
}

function cacheNodes(nodeType: string | undefined, count: number, engine: string | undefined): Priced {
  const rate = nodeType ? P.ELASTICACHE_PER_HOUR[nodeType] : undefined;
  if (rate === undefined) return { items: [], unknown: [`node type ${nodeType ?? "(not set)"}`] };
  const valkey = engine === "valkey";
  return { items: [hours(`${valkey ? "Valkey" : "ElastiCache"} ${nodeType}`, rate * (valkey ? P.VALKEY_FACTOR : 1), count)], unknown: [] };
}

function replicationGroup(r: PlannedResource): Priced {
  const clusters = asNumber(r.inputs.numCacheClusters);
  const count = clusters ?? (asNumber(r.inputs.numNodeGroups) ?? 1) * ((asNumber(r.inputs.replicasPerNodeGroup) ?? 0) + 1);
  return { ...cacheNodes(asString(r.inputs.nodeType), count, asString(r.inputs.engine)), note: `${count} node${count === 1 ? "" : "s"}` };
}

function loadBalancer(r: PlannedResource): Priced {
  const kind = asString(r.inputs.loadBalancerType) ?? "application";
  const price = kind === "application" || kind === "network" ? P.LOAD_BALANCER[kind] : undefined;
  if (!price) return { items: [], unknown: [`${kind} load balancer`] };
  const units = P.USAGE.loadBalancerCapacityUnits;
  return {
    items: [hours(`${kind} load balancer`, price.hour), hours(`${units} capacity unit (assumed)`, price.capacityUnitHour, units)],
    unknown: [],
    note: `assumes ${units} capacity unit on average`,
  };
}

function logGroup(r: PlannedResource): Priced {
  const gb = P.USAGE.logsGbPerGroupPerMonth;
  const retention = asNumber(r.inputs.retentionInDays);
  // Without retention the group keeps growing; a year's worth is shown.
  const storedGb = gb * Math.min(retention ?? 365, 365) / 30;
  return {
    items: [item("log ingestion (assumed)", gb, "GB", P.CLOUDWATCH.logsIngestPerGb), item("log storage", round(storedGb, 3), "GB-month", P.CLOUDWATCH.logsStoragePerGbMonth)],
    unknown: [],
    note: `assumes ${gb} GB/month ingested, kept ${retention ?? "forever (a year shown)"} days`,
  };
}

function metricAlarm(r: PlannedResource): Priced {
  const queries = asArray(r.inputs.metricQueries).filter((q) => asRecord(q)?.metric);
  const metrics = Math.max(1, queries.length);
  const period = asNumber(r.inputs.period) ?? asNumber(asRecord(asRecord(queries[0])?.metric)?.period) ?? 60;
  const highRes = period < 60;
  return { items: [item(`${highRes ? "high-resolution" : "standard"} alarm metric`, metrics, "metric-months", highRes ? P.CLOUDWATCH.alarmHighResolutionMonth : P.CLOUDWATCH.alarmStandardMonth)], unknown: [] };
}

function backupSelection(r: PlannedResource, ctx: Context): Priced {
  const factor = P.USAGE.backupStorageFactor;
  const parts: Priced[] = asArray(r.inputs.resources).map((arn): Priced => {
    const instance = ctx.resolve(arn, "aws:ec2/instance:Instance");
    if (instance) {
      const root = asNumber(asRecord(instance.inputs.rootBlockDevice)?.volumeSize);
      const extra = asArray(instance.inputs.ebsBlockDevices).map((d) => asNumber(asRecord(d)?.volumeSize));
      const sizes = [root, ...extra];
      if (sizes.some((s) => s === undefined)) return { items: [], unknown: [`snapshot size of ${instance.name}`] };
      const gb = sizes.reduce<number>((a, s) => a + s!, 0) * factor;
      return { items: [item(`EBS snapshots of ${instance.name} (${factor}× its volumes)`, gb, "GB-month", P.BACKUP_STORAGE.ebsPerGbMonth)], unknown: [] };
    }
    const db = ctx.resolve(arn, "aws:rds/instance:Instance");
    const size = db && asNumber(db.inputs.allocatedStorage);
    if (db && size !== undefined) {
      return { items: [item(`RDS snapshots of ${db.name} (${factor}× its storage)`, size * factor, "GB-month", P.BACKUP_STORAGE.rdsPerGbMonth)], unknown: [] };
    }
    return { items: [], unknown: [`backups of ${asString(arn) ?? "a resource"}`] };
  });
  return { ...merge(...parts), note: `assumes stored recovery points of ${factor}× the protected storage` };
}

const PRICERS: Record<string, (r: PlannedResource, ctx: Context) => Priced> = {
  "aws:ec2/instance:Instance": ec2Instance,
  "aws:autoscaling/group:Group": autoscalingGroup,
  "aws:ebs/volume:Volume": (r) => ebs("EBS volume", asNumber(r.inputs.size), asString(r.inputs.type), asNumber(r.inputs.iops), asNumber(r.inputs.throughput)),
  "aws:ec2/eip:Eip": () => ({ items: [hours("public IPv4 address", P.PUBLIC_IPV4_PER_HOUR)], unknown: [] }),
  "aws:ec2/natGateway:NatGateway": () => ({
    items: [hours("NAT gateway", P.NAT_GATEWAY.hour), item("data processed (assumed)", P.USAGE.natGbPerMonth, "GB", P.NAT_GATEWAY.perGb)],
    unknown: [],
    note: `assumes ${P.USAGE.natGbPerMonth} GB/month through it`,
  }),
  "aws:ec2/vpcEndpoint:VpcEndpoint": (r) => {
    const kind = asString(r.inputs.vpcEndpointType) ?? "Gateway";
    if (kind === "Gateway") return { items: [], unknown: [], note: "gateway endpoints are free" };
    if (kind !== "Interface") return { items: [], unknown: [`${kind} endpoint`] };
    const azs = Math.max(1, asArray(r.inputs.subnetIds).length);
    return {
      items: [hours("interface endpoint", P.INTERFACE_ENDPOINT.hourPerAz, azs), item("data processed (assumed)", P.USAGE.endpointGbPerMonth, "GB", P.INTERFACE_ENDPOINT.perGb)],
      unknown: [],
    };
  },
  "aws:rds/instance:Instance": rdsInstance,
  "aws:elasticache/replicationGroup:ReplicationGroup": replicationGroup,
  "aws:elasticache/cluster:Cluster": (r) => cacheNodes(asString(r.inputs.nodeType), asNumber(r.inputs.numCacheNodes) ?? 1, asString(r.inputs.engine)),
  "aws:lb/loadBalancer:LoadBalancer": loadBalancer,
  "aws:alb/loadBalancer:LoadBalancer": loadBalancer,
  "aws:cloudfront/distribution:Distribution": () => ({
    items: [
      item("data out, North America/Europe (assumed)", P.USAGE.cloudfrontGbPerMonth, "GB", P.CLOUDFRONT.perGbOut),
      item("HTTPS requests (assumed)", P.USAGE.cloudfrontRequestsPerMonth / 10_000, "10k requests", P.CLOUDFRONT.per10kHttpsRequests),
    ],
    unknown: [],
    note: `assumes ${P.USAGE.cloudfrontGbPerMonth} GB and ${P.USAGE.cloudfrontRequestsPerMonth.toLocaleString("en-US")} requests a month`,
  }),
  "aws:s3/bucket:Bucket": () => ({
    items: [
      item("S3 Standard storage (assumed)", P.USAGE.s3GbPerBucket, "GB-month", P.S3_STANDARD.perGbMonth),
      item("PUT/LIST requests (assumed)", P.USAGE.s3PutsPerMonth / 1000, "1k requests", P.S3_STANDARD.per1kPut),
      item("GET requests (assumed)", P.USAGE.s3GetsPerMonth / 1000, "1k requests", P.S3_STANDARD.per1kGet),
    ],
    unknown: [],
    note: `assumes ${P.USAGE.s3GbPerBucket} GB stored`,
  }),
  "aws:secretsmanager/secret:Secret": () => ({ items: [item("secret", 1, "secret-months", P.SECRETS_MANAGER.secretMonth)], unknown: [] }),
  "aws:kms/key:Key": () => ({
    items: [item("customer-managed key", 1, "key-months", P.KMS.keyMonth), item("requests (assumed)", P.USAGE.kmsRequestsPerMonth / 10_000, "10k requests", P.KMS.per10kRequests)],
    unknown: [],
  }),
  "aws:cloudwatch/metricAlarm:MetricAlarm": metricAlarm,
  "aws:cloudwatch/compositeAlarm:CompositeAlarm": () => ({ items: [item("composite alarm", 1, "alarm-months", 0.5)], unknown: [] }),
  // The filter is free; the custom metric it publishes is billed as one.
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": () => ({ items: [item("custom metric", 1, "metric-months", P.CLOUDWATCH.customMetricMonth)], unknown: [] }),
  "aws:cloudwatch/dashboard:Dashboard": () => ({ items: [item("dashboard", 1, "dashboard-months", P.CLOUDWATCH.dashboardMonth)], unknown: [] }),
  "aws:cloudwatch/logGroup:LogGroup": logGroup,
  "aws:sns/topic:Topic": () => ({
    items: [
      item("publishes (assumed)", P.USAGE.snsPublishesPerMonth / 1_000_000, "million", P.SNS.perMillionPublishes),
      item("email deliveries (assumed)", P.USAGE.snsEmailsPerMonth / 100_000, "100k emails", P.SNS.per100kEmails),
    ],
    unknown: [],
  }),
  "aws:sqs/queue:Queue": (r) => {
    const fifo = asBool(r.inputs.fifoQueue) === true;
    return { items: [item(`${fifo ? "FIFO" : "standard"} requests (assumed)`, P.USAGE.sqsRequestsPerMonth / 1_000_000, "million", fifo ? P.SQS.fifoPerMillion : P.SQS.standardPerMillion)], unknown: [] };
  },
  "aws:backup/selection:Selection": backupSelection,
  "aws:route53/zone:Zone": () => ({ items: [item("hosted zone", 1, "zone-months", P.ROUTE53_ZONE_MONTH)], unknown: [] }),
  "aws:wafv2/webAcl:WebAcl": (r) => {
    const rules = asArray(r.inputs.rules).length;
    return {
      items: [
        item("web ACL", 1, "ACL-months", P.WAF.aclMonth),
        item("rules", rules, "rule-months", P.WAF.ruleMonth),
        item("requests (assumed)", P.USAGE.wafRequestsPerMonth / 1_000_000, "million", P.WAF.perMillionRequests),
      ],
      unknown: [],
    };
  },
  "aws:ssm/parameter:Parameter": (r) =>
    asString(r.inputs.tier) === "Advanced"
      ? { items: [item("advanced parameter", 1, "parameter-months", P.SSM_ADVANCED_PARAMETER_MONTH)], unknown: [] }
      : { items: [], unknown: [], note: "standard parameters are free" },
};

/** The cost of one resource (see the file comment for the statuses). */
export function costOf(r: PlannedResource, ctx: Context, region: string): ResourceCost {
  const base = { name: r.name, type: r.type, urn: r.urn };
  if (r.type.startsWith("random:")) return { ...base, status: "free", items: [], note: "computed by Pulumi, not a cloud resource" };
  if (FREE[r.type]) return { ...base, status: "free", items: [], note: FREE[r.type] };
  const pricer = PRICERS[r.type];
  if (!pricer) return { ...base, status: "unknown", items: [], note: "no price for this resource type in cli/estimates/prices.ts" };
  const priced = pricer(r, ctx);
  // A cloud resource with no item is free by construction (a gateway endpoint, a standard parameter).
  if (priced.items.length === 0 && priced.unknown.length === 0) return { ...base, status: "free", items: [], note: priced.note };
  if (!(P.PRICED_REGIONS as readonly string[]).includes(region)) {
    return { ...base, status: "unknown", items: [], note: `the price table holds ${P.PRICED_REGIONS.join(", ")} only, not ${region}` };
  }
  const items = priced.items.map((i) => ({ ...i, quantity: round(i.quantity, 4), monthly: round(i.monthly, 4) }));
  if (priced.unknown.length > 0) {
    return { ...base, status: "unknown", items, note: `no price for ${priced.unknown.join(", ")}` };
  }
  return { ...base, status: "priced", monthly: round(priced.items.reduce((s, i) => s + i.monthly, 0)), items, ...(priced.note ? { note: priced.note } : {}) };
}

export function estimateCost(resources: PlannedResource[], region: string): CostEstimate {
  const cloud = resources.filter((r) => !r.isComponent && !r.isProvider && r.type !== "pulumi:pulumi:Stack");
  const index = identifierIndex(cloud);
  const ctx: Context = {
    resolve(value, type) {
      let found: PlannedResource | undefined;
      inputStrings(value, (s) => {
        const arnName = /^arn:aws[a-z-]*:[^:]*:[^:]*:[^:]*:([^/:]+)/.exec(s)?.[1];
        found ??= [...(index.get(s) ?? []), ...(arnName ? index.get(arnName) ?? [] : [])].find((r) => r.type === type);
      });
      return found;
    },
  };
  const costs = cloud.map((r) => costOf(r, ctx, region));
  const u = P.USAGE;
  return {
    currency: "USD",
    region,
    pricesAsOf: P.PRICES_AS_OF,
    source: P.PRICE_SOURCE,
    totalMonthly: round(costs.reduce((s, c) => s + (c.monthly ?? 0), 0)),
    unknownCount: costs.filter((c) => c.status === "unknown").length,
    resources: costs,
    assumptions: [
      `${P.HOURS_PER_MONTH} hours a month; on-demand prices, ${P.PRICED_REGIONS.join(", ")}`,
      `load balancers: ${u.loadBalancerCapacityUnits} capacity unit on average`,
      `NAT gateway: ${u.natGbPerMonth} GB/month processed`,
      `CloudFront: ${u.cloudfrontGbPerMonth} GB and ${u.cloudfrontRequestsPerMonth.toLocaleString("en-US")} HTTPS requests a month`,
      `each S3 bucket: ${u.s3GbPerBucket} GB stored, ${u.s3PutsPerMonth.toLocaleString("en-US")} PUTs and ${u.s3GetsPerMonth.toLocaleString("en-US")} GETs a month`,
      `each log group: ${u.logsGbPerGroupPerMonth} GB/month ingested, stored for its retention`,
      `each KMS key: ${u.kmsRequestsPerMonth.toLocaleString("en-US")} requests a month; each SQS queue: ${u.sqsRequestsPerMonth.toLocaleString("en-US")} requests`,
      `AWS Backup: recovery points of ${u.backupStorageFactor}× the protected storage`,
    ],
    notIncluded: P.NOT_INCLUDED,
  };
}

const money = (n: number) => `$${n.toFixed(2)}`;

/** The plan's "Monthly cost" section. */
export function formatCost(est: CostEstimate): string[] {
  const unknown = est.unknownCount ? ` + ${est.unknownCount} resource${est.unknownCount === 1 ? "" : "s"} of unknown price` : "";
  const lines = [`Monthly cost: about ${money(est.totalMonthly)}${unknown} (${est.currency}, ${est.region}, list prices of ${est.pricesAsOf})`];
  const priced = est.resources.filter((c) => c.status === "priced").sort((a, b) => b.monthly! - a.monthly! || a.name.localeCompare(b.name));
  const width = Math.max(0, ...est.resources.map((c) => c.name.length));
  for (const c of priced) {
    const detail = c.items.length > 1 ? c.items.map((i) => `${i.what} ${money(i.monthly)}`).join(", ") : c.items[0].what;
    lines.push(`  ${money(c.monthly!).padStart(9)}  ${c.name.padEnd(width)}  ${detail}${c.note ? `; ${c.note}` : ""}`);
  }
  for (const c of est.resources.filter((x) => x.status === "unknown")) {
    lines.push(`  ${"unknown".padStart(9)}  ${c.name.padEnd(width)}  ${c.type}: ${c.note}`);
  }
  const free = est.resources.filter((c) => c.status === "free");
  if (free.length) lines.push(`  ${"free".padStart(9)}  ${free.length} resources (VPC, subnets, IAM, bucket settings, …): they cost nothing by themselves`);
  lines.push(`  Assumes: ${est.assumptions.join("; ")}.`);
  lines.push(`  Not included: ${est.notIncluded.join("; ")}.`);
  return lines;
}
