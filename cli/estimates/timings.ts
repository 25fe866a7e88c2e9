/**
 * Typical creation times of cloud resources during a first `pulumi up`, in
 * seconds: how long the provider waits from its create call until the
 * resource is usable by what depends on it. Kept beside the price table
 * (prices.ts) and read by the plan's deploy-time estimate.
 *
 * Source: typical times observed with the AWS provider (Terraform/Pulumi) as
 * of PRICES_AS_OF; real runs vary with the region and the day. RDS,
 * ElastiCache and CloudFront dominate: minutes where most resources take
 * seconds.
 */
import type { PlannedResource } from "../../policies/types";
import { asBool } from "../../policies/values";

/** Seconds, for types whose creation takes noticeably longer than a couple of seconds. */
export const CREATION_SECONDS: Record<string, number> = {
  "aws:rds/instance:Instance": 600,
  "aws:rds/cluster:Cluster": 600,
  "aws:rds/clusterInstance:ClusterInstance": 600,
  "aws:elasticache/replicationGroup:ReplicationGroup": 600,
  "aws:elasticache/cluster:Cluster": 420,
  "aws:elasticache/serverlessCache:ServerlessCache": 180,
  "aws:cloudfront/distribution:Distribution": 300,
  "aws:ec2/natGateway:NatGateway": 120,
  "aws:ec2/instance:Instance": 60,
  // With the provider's default wait for the desired capacity to be InService (and healthy in the target groups).
  "aws:autoscaling/group:Group": 240,
  "aws:lb/loadBalancer:LoadBalancer": 180,
  "aws:alb/loadBalancer:LoadBalancer": 180,
  // DNS validation: waits until ACM sees the record and issues.
  "aws:acm/certificateValidation:CertificateValidation": 120,
  "aws:ec2/vpcEndpoint:VpcEndpoint": 90,
  // IAM is eventually consistent; the provider waits for an instance profile to propagate.
  "aws:iam/instanceProfile:InstanceProfile": 10,
  "aws:kms/key:Key": 10,
  "aws:backup/selection:Selection": 10,
  "aws:ec2/vpc:Vpc": 5,
  "aws:ec2/securityGroup:SecurityGroup": 5,
  "aws:s3/bucket:Bucket": 5,
  "aws:s3/bucketObjectv2:BucketObjectv2": 5,
  "aws:ssm/association:Association": 5,
  "aws:sqs/queue:Queue": 5,
  "aws:rds/subnetGroup:SubnetGroup": 3,
  "aws:elasticache/subnetGroup:SubnetGroup": 3,
  "aws:wafv2/webAcl:WebAcl": 5,
};

/** Anything not listed: a couple of seconds (an API call and its read-back). */
export const DEFAULT_CREATION_SECONDS = 2;

/** Nothing to create: components, providers, the stack, and @pulumi/random and @pulumi/tls values computed locally. */
function createsNothing(r: PlannedResource): boolean {
  return r.isComponent || r.isProvider || r.type === "pulumi:pulumi:Stack" || r.type.startsWith("random:") || r.type.startsWith("tls:");
}

/** Seconds `pulumi up` typically spends creating `r`. */
export function creationSeconds(r: PlannedResource): number {
  if (createsNothing(r)) return 0;
  // A Multi-AZ RDS instance builds its standby before it reports available.
  if (r.type === "aws:rds/instance:Instance" && asBool(r.inputs.multiAz)) return 900;
  return CREATION_SECONDS[r.type] ?? DEFAULT_CREATION_SECONDS;
}
