/**
 * The price table the plan's cost estimate reads: AWS public on-demand list
 * prices in US dollars for one region, with the usage the estimate assumes
 * where a price is per request or per GB.
 *
 * Source: the AWS public pricing pages (aws.amazon.com/<service>/pricing,
 * on-demand, Linux, no Savings Plans or Reserved Instances, no free tier).
 * These machines cannot reach AWS, so the figures were transcribed from the
 * well-known published list prices as they stood on `PRICES_AS_OF`; they are
 * not fetched. Check them against the AWS Pricing Calculator before a
 * budget depends on them, and update `PRICES_AS_OF` with any change.
 *
 * A type or size missing from a table is priced as unknown, never as zero.
 *
 * Checked against stored copies of public pages (not fetched live): each
 * constant below says what confirmed it, and where only third-party pages
 * did ("3rd party"), or nothing did ("unchecked"). No figure checked
 * disagreed with the table.
 */

/** The date the prices below are stated for. */
export const PRICES_AS_OF = "2025-06-01";
/** The regions the table holds prices for; any other region's prices are unknown. */
export const PRICED_REGIONS = ["us-east-1"] as const;
export const PRICE_SOURCE =
  "AWS public on-demand list prices (aws.amazon.com/<service>/pricing), transcribed without network access; verify with the AWS Pricing Calculator";
/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;

/** EC2 on-demand, Linux, $/hour. Unchecked against a stored page (transcribed from memory, see above). */
export const EC2_PER_HOUR: Record<string, number> = {
  "t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168, "t4g.medium": 0.0336, "t4g.large": 0.0672, "t4g.xlarge": 0.1344, "t4g.2xlarge": 0.2688,
  "t3.nano": 0.0052, "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
  "t3a.nano": 0.0047, "t3a.micro": 0.0094, "t3a.small": 0.0188, "t3a.medium": 0.0376, "t3a.large": 0.0752, "t3a.xlarge": 0.1504, "t3a.2xlarge": 0.3008,
  "m7g.medium": 0.0408, "m7g.large": 0.0816, "m7g.xlarge": 0.1632, "m7g.2xlarge": 0.3264, "m7g.4xlarge": 0.6528,
  "m6g.medium": 0.0385, "m6g.large": 0.077, "m6g.xlarge": 0.154, "m6g.2xlarge": 0.308, "m6g.4xlarge": 0.616,
  "m7i.large": 0.1008, "m7i.xlarge": 0.2016, "m7i.2xlarge": 0.4032,
  "m6i.large": 0.096, "m6i.xlarge": 0.192, "m6i.2xlarge": 0.384, "m6i.4xlarge": 0.768,
  "m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384,
  "c7g.medium": 0.0363, "c7g.large": 0.0725, "c7g.xlarge": 0.145, "c7g.2xlarge": 0.29,
  "c6i.large": 0.085, "c6i.xlarge": 0.17, "c6i.2xlarge": 0.34,
  "r6g.medium": 0.0504, "r6g.large": 0.1008, "r6g.xlarge": 0.2016,
};

/** EBS, $/GB-month (gp3 includes 3,000 IOPS and 125 MB/s). */
export const EBS_PER_GB_MONTH: Record<string, number> = { gp3: 0.08, gp2: 0.1, io1: 0.125, io2: 0.125, st1: 0.045, sc1: 0.015, standard: 0.05 };
/** gp3 above its baseline: $/provisioned IOPS-month over 3,000 and $/MB/s-month over 125. */
export const EBS_GP3_EXTRA = { iopsMonth: 0.005, baselineIops: 3000, throughputMonth: 0.04, baselineThroughput: 125 };
/**
 * A public IPv4 address (Elastic IP or auto-assigned), in use or idle, $/hour (since February 2024).
 * Checked: $0.005/IP-hour from 2024-02-01 (3rd party: community.aws "AWS to Charge Public IPv4 Addresses";
 * doit.com "AWS Public IPv4 price increase"; repost.aws "Public IPv4 Addresses Cost Projection").
 * An internet-facing ALB holds one such address per availability zone.
 */
export const PUBLIC_IPV4_PER_HOUR = 0.005;
/** EC2 detailed (1-minute) monitoring: 7 metrics at the custom-metric rate, $/instance-month. */
export const EC2_DETAILED_MONITORING_MONTH = 2.1;

/** RDS single-AZ instance hours, $/hour, by engine family. Multi-AZ (one standby) is `RDS_MULTI_AZ_FACTOR` times this. */
export const RDS_PER_HOUR: Record<"postgres" | "mysql", Record<string, number>> = {
  postgres: {
    "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129, "db.t4g.xlarge": 0.258, "db.t4g.2xlarge": 0.517,
    "db.t3.micro": 0.018, "db.t3.small": 0.036, "db.t3.medium": 0.072, "db.t3.large": 0.145, "db.t3.xlarge": 0.29, "db.t3.2xlarge": 0.579,
    "db.m7g.large": 0.168, "db.m7g.xlarge": 0.337, "db.m7g.2xlarge": 0.674,
    "db.m6g.large": 0.159, "db.m6g.xlarge": 0.318, "db.m6g.2xlarge": 0.636,
    "db.m6i.large": 0.178, "db.m6i.xlarge": 0.356, "db.m6i.2xlarge": 0.712,
    "db.m5.large": 0.178, "db.m5.xlarge": 0.356,
    "db.r6g.large": 0.225, "db.r6g.xlarge": 0.45,
  },
  // MySQL and MariaDB share one price list.
  mysql: {
    "db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065, "db.t4g.large": 0.129,
    "db.t3.micro": 0.017, "db.t3.small": 0.034, "db.t3.medium": 0.068, "db.t3.large": 0.136,
    "db.m6g.large": 0.152, "db.m6g.xlarge": 0.304,
    "db.m6i.large": 0.171, "db.m6i.xlarge": 0.342,
    "db.m5.large": 0.171, "db.m5.xlarge": 0.342,
    "db.r6g.large": 0.215, "db.r6g.xlarge": 0.43,
  },
};
export const RDS_MULTI_AZ_FACTOR = 2;
/** RDS storage, $/GB-month single-AZ (multi-AZ is twice this). Backups up to the storage size are included. */
export const RDS_STORAGE_PER_GB_MONTH: Record<string, number> = { gp3: 0.115, gp2: 0.115, io1: 0.125, io2: 0.125, standard: 0.1 };

/**
 * Load balancers: $/hour and $/capacity-unit-hour.
 * Checked: ALB $0.0225/hour and $0.008/LCU-hour, NLB $0.006/NLCU-hour, us-east-1 (aws.amazon.com/elasticloadbalancing/pricing
 * as transcribed by api-evangelist/amazon-elastic-load-balancing plans-pricing.yml; 3rd party: cloud-horizons.com
 * "ALB: the line item nobody watches"). One LCU: 25 new connections/s, 3,000 active connections/min, 1 GB/hour
 * to EC2 targets, 1,000 rule evaluations/s; the dimension used most is billed. NLB hour: unchecked.
 */
export const LOAD_BALANCER = {
  application: { hour: 0.0225, capacityUnitHour: 0.008 },
  network: { hour: 0.0225, capacityUnitHour: 0.006 },
};
/**
 * NAT gateway: $/hour and $/GB processed (both directions), one per AZ that has one.
 * Checked: $0.045/hour and $0.045/GB in us-east-1 (3rd party: basavytix.com and cloudburn.io NAT gateway pricing
 * guides, 2026, citing aws.amazon.com/vpc/pricing). Data transfer out to the internet is on top (NOT_INCLUDED).
 */
export const NAT_GATEWAY = { hour: 0.045, perGb: 0.045 };
/**
 * Interface VPC endpoint: $/hour per subnet (AZ) and $/GB; gateway endpoints (S3, DynamoDB) are free.
 * Checked: $0.01/AZ-hour and $0.01/GB (3rd party: egresscost.com "NAT Gateway" table, $7.20/AZ-month).
 */
export const INTERFACE_ENDPOINT = { hourPerAz: 0.01, perGb: 0.01 };

/** ElastiCache on-demand nodes (Redis OSS and Memcached), $/hour. Valkey nodes cost `VALKEY_FACTOR` of this. */
export const ELASTICACHE_PER_HOUR: Record<string, number> = {
  "cache.t4g.micro": 0.016, "cache.t4g.small": 0.032, "cache.t4g.medium": 0.065,
  "cache.t3.micro": 0.017, "cache.t3.small": 0.034, "cache.t3.medium": 0.068,
  "cache.m7g.large": 0.158, "cache.m7g.xlarge": 0.315,
  "cache.m6g.large": 0.149, "cache.m6g.xlarge": 0.298,
  "cache.r7g.large": 0.219, "cache.r6g.large": 0.206, "cache.r6g.xlarge": 0.411,
};
export const VALKEY_FACTOR = 0.8;

/**
 * CloudFront, North America and Europe: $/GB out (first 10 TB) and $/10,000 HTTPS requests.
 * Checked: $0.085/GB for the first 10 TB in the United States, Mexico, Canada and Europe (aws.amazon.com/cloudfront/pricing).
 * The HTTPS request rate: unchecked (the stored page's request table was not in the excerpt). The page's
 * always-free tier (1 TB out and 10,000,000 requests a month) is not subtracted (NOT_INCLUDED: free tier).
 */
export const CLOUDFRONT = { perGbOut: 0.085, per10kHttpsRequests: 0.01 };
/** S3 Standard: $/GB-month (first 50 TB), $/1,000 PUT/COPY/POST/LIST, $/1,000 GET. */
export const S3_STANDARD = { perGbMonth: 0.023, per1kPut: 0.005, per1kGet: 0.0004 };
/** Secrets Manager: $/secret-month, $/10,000 API calls. */
export const SECRETS_MANAGER = { secretMonth: 0.4, per10kCalls: 0.05 };
/** KMS customer-managed key: $/key-month (rotated keys add no charge after the second rotation) and $/10,000 requests. */
export const KMS = { keyMonth: 1.0, per10kRequests: 0.03 };
/**
 * CloudWatch: alarms per metric-month (standard, high-resolution), logs, dashboards and custom metrics.
 * Checked: logs ingestion $0.50/GB, dashboards $3/month, custom metrics $0.30/metric-month for the first 10,000
 * (3rd party: factualminds.com and signoz.io CloudWatch pricing guides, 2026); the free tier (10 alarm metrics,
 * 3 dashboards, 10 custom metrics, 5 GB of logs) from aws.amazon.com/cloudwatch/pricing is not subtracted.
 * Alarm rates and log storage: unchecked. A metric-math alarm is billed per metric it reads (the ALB 5xx-rate
 * alarm of components/monitoring.ts: three).
 */
export const CLOUDWATCH = {
  alarmStandardMonth: 0.1,
  alarmHighResolutionMonth: 0.3,
  logsIngestPerGb: 0.5,
  logsStoragePerGbMonth: 0.03,
  dashboardMonth: 3.0,
  customMetricMonth: 0.3,
};
/** SNS standard topics: $/million publishes, $/100,000 email deliveries. */
export const SNS = { perMillionPublishes: 0.5, per100kEmails: 2.0 };
/**
 * SQS: $/million requests (standard, FIFO); each 64 KB of a payload is one request.
 * Checked: $0.40 standard and $0.50 FIFO per million requests, after 1 million free a month (3rd party:
 * cloudburn.io and factualminds.com SQS pricing guides, 2026; unanswered.io). The free million is not subtracted.
 */
export const SQS = { standardPerMillion: 0.4, fifoPerMillion: 0.5 };
/** AWS Backup warm storage of EBS snapshots, $/GB-month (RDS snapshots beyond the free allocation cost $0.095). */
export const BACKUP_STORAGE = { ebsPerGbMonth: 0.05, rdsPerGbMonth: 0.095 };
/** Route 53 hosted zone $/month; WAF web ACL and rule $/month and $/million requests; SSM advanced parameter $/month. */
export const ROUTE53_ZONE_MONTH = 0.5;
export const WAF = { aclMonth: 5.0, ruleMonth: 1.0, perMillionRequests: 0.6 };
export const SSM_ADVANCED_PARAMETER_MONTH = 0.05;

/**
 * The usage the estimate assumes where AWS charges per GB or per request.
 * A busier site costs more; change these and the plan's numbers follow.
 */
export const USAGE = {
  /** Average capacity units of an ALB or NLB over the month (one LCU: 25 new conn/s, 3,000 active, 1 GB/h). */
  loadBalancerCapacityUnits: 1,
  /** GB through the NAT gateway per month (package mirrors, AWS APIs from private subnets). */
  natGbPerMonth: 100,
  /** GB through each interface endpoint per month. */
  endpointGbPerMonth: 10,
  /** CloudFront: GB delivered and HTTPS requests per month. */
  cloudfrontGbPerMonth: 100,
  cloudfrontRequestsPerMonth: 1_000_000,
  /** Each S3 bucket: GB stored, PUT-class and GET requests per month. */
  s3GbPerBucket: 10,
  s3PutsPerMonth: 10_000,
  s3GetsPerMonth: 100_000,
  /** Each KMS key: requests per month (S3 bucket keys keep this low). */
  kmsRequestsPerMonth: 100_000,
  /** Each log group: GB ingested per month; storage follows its retention. */
  logsGbPerGroupPerMonth: 1,
  /** Each SNS topic: publishes and email deliveries per month. */
  snsPublishesPerMonth: 1_000,
  snsEmailsPerMonth: 1_000,
  /** Each SQS queue: requests per month (long-polling workers make ~130,000 each). */
  sqsRequestsPerMonth: 1_000_000,
  /** AWS Backup: stored recovery points as a multiple of the protected volumes (one full copy plus daily changes). */
  backupStorageFactor: 1.2,
  /** WAF: requests per month. */
  wafRequestsPerMonth: 1_000_000,
} as const;

/** What the estimate never includes. */
export const NOT_INCLUDED = [
  "data transfer out of EC2 or the load balancer to the internet ($0.09/GB after the account's first 100 GB)",
  "T-family CPU credits above baseline (unlimited mode: $0.04–0.05 per vCPU-hour)",
  "the AWS free tier (per account, and it expires)",
  "taxes, support plans, Savings Plans and Reserved Instances",
];
