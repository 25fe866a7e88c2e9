/**
 * Which API member each input of a planned resource becomes: for every
 * resource type any preset plans, the Pulumi input (a dotted path; arrays
 * are stepped through, `{}` takes a map's keys and `{=}` its values) and the
 * botocore member it is sent as (`Operation.Member.Member…` in the service's
 * model; lists are stepped through). Where the provider generates a name
 * (no input given), the name checked is a Pulumi auto-name: the logical name,
 * "-" and 7 random characters (lowercased where the provider lowercases it).
 */

export interface InputMapping {
  /** Dotted input path, e.g. `metadataOptions.httpTokens`, `dimensions{}`. */
  input: string;
  /** botocore service folder name, e.g. `ec2`, `elbv2`. */
  service: string;
  /** `Operation.Member…` in that service's model. */
  member: string;
  /** When the input is absent, the provider auto-names it: check that name. */
  autoName?: "as-is" | "lowercase";
}

const m = (input: string, service: string, member: string, autoName?: InputMapping["autoName"]): InputMapping => ({ input, service, member, autoName });

const ingress = "AuthorizeSecurityGroupIngress.IpPermissions";
const cf = "CreateDistribution.DistributionConfig";

export const INPUT_MAPPINGS: Record<string, InputMapping[]> = {
  "aws:ec2/vpc:Vpc": [m("cidrBlock", "ec2", "CreateVpc.CidrBlock")],
  "aws:ec2/subnet:Subnet": [m("cidrBlock", "ec2", "CreateSubnet.CidrBlock"), m("availabilityZone", "ec2", "CreateSubnet.AvailabilityZone")],
  "aws:ec2/securityGroup:SecurityGroup": [
    m("name", "ec2", "CreateSecurityGroup.GroupName", "as-is"),
    m("description", "ec2", "CreateSecurityGroup.Description"),
  ],
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
    m("description", "ec2", `${ingress}.IpRanges.Description`),
    m("ipProtocol", "ec2", `${ingress}.IpProtocol`),
    m("cidrIpv4", "ec2", `${ingress}.IpRanges.CidrIp`),
    m("prefixListId", "ec2", `${ingress}.PrefixListIds.PrefixListId`),
  ],
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
    m("description", "ec2", "AuthorizeSecurityGroupEgress.IpPermissions.IpRanges.Description"),
    m("ipProtocol", "ec2", "AuthorizeSecurityGroupEgress.IpPermissions.IpProtocol"),
    m("cidrIpv4", "ec2", "AuthorizeSecurityGroupEgress.IpPermissions.IpRanges.CidrIp"),
  ],
  "aws:ec2/instance:Instance": [
    m("instanceType", "ec2", "RunInstances.InstanceType"),
    m("metadataOptions.httpTokens", "ec2", "RunInstances.MetadataOptions.HttpTokens"),
    m("metadataOptions.httpEndpoint", "ec2", "RunInstances.MetadataOptions.HttpEndpoint"),
    m("metadataOptions.httpPutResponseHopLimit", "ec2", "RunInstances.MetadataOptions.HttpPutResponseHopLimit"),
    m("rootBlockDevice.volumeType", "ec2", "RunInstances.BlockDeviceMappings.Ebs.VolumeType"),
    m("rootBlockDevice.volumeSize", "ec2", "RunInstances.BlockDeviceMappings.Ebs.VolumeSize"),
  ],
  "aws:ec2/launchTemplate:LaunchTemplate": [
    m("name", "ec2", "CreateLaunchTemplate.LaunchTemplateName", "as-is"),
    m("description", "ec2", "CreateLaunchTemplate.VersionDescription"),
    m("instanceType", "ec2", "CreateLaunchTemplate.LaunchTemplateData.InstanceType"),
    m("metadataOptions.httpTokens", "ec2", "CreateLaunchTemplate.LaunchTemplateData.MetadataOptions.HttpTokens"),
    m("metadataOptions.httpPutResponseHopLimit", "ec2", "CreateLaunchTemplate.LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit"),
    m("blockDeviceMappings.ebs.volumeType", "ec2", "CreateLaunchTemplate.LaunchTemplateData.BlockDeviceMappings.Ebs.VolumeType"),
    m("blockDeviceMappings.ebs.volumeSize", "ec2", "CreateLaunchTemplate.LaunchTemplateData.BlockDeviceMappings.Ebs.VolumeSize"),
  ],
  "aws:ec2/eip:Eip": [m("domain", "ec2", "AllocateAddress.Domain")],

  "aws:lb/loadBalancer:LoadBalancer": [
    m("name", "elbv2", "CreateLoadBalancer.Name", "as-is"),
    m("loadBalancerType", "elbv2", "CreateLoadBalancer.Type"),
    m("ipAddressType", "elbv2", "CreateLoadBalancer.IpAddressType"),
  ],
  "aws:lb/targetGroup:TargetGroup": [
    m("name", "elbv2", "CreateTargetGroup.Name", "as-is"),
    m("port", "elbv2", "CreateTargetGroup.Port"),
    m("protocol", "elbv2", "CreateTargetGroup.Protocol"),
    m("targetType", "elbv2", "CreateTargetGroup.TargetType"),
    m("healthCheck.path", "elbv2", "CreateTargetGroup.HealthCheckPath"),
    m("healthCheck.interval", "elbv2", "CreateTargetGroup.HealthCheckIntervalSeconds"),
    m("healthCheck.timeout", "elbv2", "CreateTargetGroup.HealthCheckTimeoutSeconds"),
    m("healthCheck.healthyThreshold", "elbv2", "CreateTargetGroup.HealthyThresholdCount"),
    m("healthCheck.unhealthyThreshold", "elbv2", "CreateTargetGroup.UnhealthyThresholdCount"),
    m("healthCheck.protocol", "elbv2", "CreateTargetGroup.HealthCheckProtocol"),
  ],
  "aws:lb/listener:Listener": [
    m("port", "elbv2", "CreateListener.Port"),
    m("protocol", "elbv2", "CreateListener.Protocol"),
    m("sslPolicy", "elbv2", "CreateListener.SslPolicy"),
  ],
  "aws:lb/listenerRule:ListenerRule": [m("priority", "elbv2", "CreateRule.Priority")],

  "aws:rds/instance:Instance": [
    m("identifier", "rds", "CreateDBInstance.DBInstanceIdentifier", "lowercase"),
    m("instanceClass", "rds", "CreateDBInstance.DBInstanceClass"),
    m("engine", "rds", "CreateDBInstance.Engine"),
    m("storageType", "rds", "CreateDBInstance.StorageType"),
    m("allocatedStorage", "rds", "CreateDBInstance.AllocatedStorage"),
    m("backupRetentionPeriod", "rds", "CreateDBInstance.BackupRetentionPeriod"),
    m("backupWindow", "rds", "CreateDBInstance.PreferredBackupWindow"),
    m("maintenanceWindow", "rds", "CreateDBInstance.PreferredMaintenanceWindow"),
    m("performanceInsightsRetentionPeriod", "rds", "CreateDBInstance.PerformanceInsightsRetentionPeriod"),
    m("port", "rds", "CreateDBInstance.Port"),
    m("username", "rds", "CreateDBInstance.MasterUsername"),
    m("caCertIdentifier", "rds", "CreateDBInstance.CACertificateIdentifier"),
    m("enabledCloudwatchLogsExports", "rds", "CreateDBInstance.EnableCloudwatchLogsExports"),
    m("finalSnapshotIdentifier", "rds", "DeleteDBInstance.FinalDBSnapshotIdentifier"),
  ],
  "aws:rds/parameterGroup:ParameterGroup": [
    m("name", "rds", "CreateDBParameterGroup.DBParameterGroupName", "lowercase"),
    m("family", "rds", "CreateDBParameterGroup.DBParameterGroupFamily"),
    m("description", "rds", "CreateDBParameterGroup.Description"),
    m("parameters.applyMethod", "rds", "ModifyDBParameterGroup.Parameters.ApplyMethod"),
  ],
  "aws:rds/subnetGroup:SubnetGroup": [
    m("name", "rds", "CreateDBSubnetGroup.DBSubnetGroupName", "lowercase"),
    m("description", "rds", "CreateDBSubnetGroup.DBSubnetGroupDescription"),
    m("subnetIds", "rds", "CreateDBSubnetGroup.SubnetIds"),
  ],

  "aws:kms/key:Key": [
    m("description", "kms", "CreateKey.Description"),
    m("policy", "kms", "CreateKey.Policy"),
    m("deletionWindowInDays", "kms", "ScheduleKeyDeletion.PendingWindowInDays"),
  ],
  "aws:kms/alias:Alias": [m("name", "kms", "CreateAlias.AliasName")],

  "aws:iam/role:Role": [
    m("name", "iam", "CreateRole.RoleName", "as-is"),
    m("description", "iam", "CreateRole.Description"),
    m("assumeRolePolicy", "iam", "CreateRole.AssumeRolePolicyDocument"),
  ],
  "aws:iam/rolePolicy:RolePolicy": [
    m("name", "iam", "PutRolePolicy.PolicyName", "as-is"),
    m("policy", "iam", "PutRolePolicy.PolicyDocument"),
  ],
  "aws:iam/instanceProfile:InstanceProfile": [m("name", "iam", "CreateInstanceProfile.InstanceProfileName", "as-is")],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [m("policyArn", "iam", "AttachRolePolicy.PolicyArn")],

  "aws:s3/bucketObjectv2:BucketObjectv2": [m("key", "s3", "PutObject.Key")],
  "aws:s3/bucketLogging:BucketLogging": [m("targetPrefix", "s3", "PutBucketLogging.BucketLoggingStatus.LoggingEnabled.TargetPrefix")],
  "aws:s3/bucketVersioning:BucketVersioning": [m("versioningConfiguration.status", "s3", "PutBucketVersioning.VersioningConfiguration.Status")],
  "aws:s3/bucketOwnershipControls:BucketOwnershipControls": [
    m("rule.objectOwnership", "s3", "PutBucketOwnershipControls.OwnershipControls.Rules.ObjectOwnership"),
  ],
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
    m("rules.applyServerSideEncryptionByDefault.sseAlgorithm", "s3", "PutBucketEncryption.ServerSideEncryptionConfiguration.Rules.ApplyServerSideEncryptionByDefault.SSEAlgorithm"),
  ],
  "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": [
    m("corsRules.id", "s3", "PutBucketCors.CORSConfiguration.CORSRules.ID"),
    m("corsRules.allowedMethods", "s3", "PutBucketCors.CORSConfiguration.CORSRules.AllowedMethods"),
    m("corsRules.allowedOrigins", "s3", "PutBucketCors.CORSConfiguration.CORSRules.AllowedOrigins"),
    m("corsRules.allowedHeaders", "s3", "PutBucketCors.CORSConfiguration.CORSRules.AllowedHeaders"),
    m("corsRules.maxAgeSeconds", "s3", "PutBucketCors.CORSConfiguration.CORSRules.MaxAgeSeconds"),
  ],
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": [
    m("rules.id", "s3", "PutBucketLifecycleConfiguration.LifecycleConfiguration.Rules.ID"),
    m("rules.status", "s3", "PutBucketLifecycleConfiguration.LifecycleConfiguration.Rules.Status"),
  ],

  "aws:ssm/parameter:Parameter": [
    m("name", "ssm", "PutParameter.Name"),
    m("type", "ssm", "PutParameter.Type"),
    m("description", "ssm", "PutParameter.Description"),
    m("tier", "ssm", "PutParameter.Tier"),
  ],
  "aws:ssm/association:Association": [
    m("name", "ssm", "CreateAssociation.Name"),
    m("associationName", "ssm", "CreateAssociation.AssociationName"),
    m("maxConcurrency", "ssm", "CreateAssociation.MaxConcurrency"),
    m("maxErrors", "ssm", "CreateAssociation.MaxErrors"),
    m("complianceSeverity", "ssm", "CreateAssociation.ComplianceSeverity"),
    m("targets.key", "ssm", "CreateAssociation.Targets.Key"),
    m("targets.values", "ssm", "CreateAssociation.Targets.Values"),
  ],

  "aws:secretsmanager/secret:Secret": [
    m("name", "secretsmanager", "CreateSecret.Name", "as-is"),
    m("description", "secretsmanager", "CreateSecret.Description"),
  ],

  "aws:cloudwatch/logGroup:LogGroup": [
    m("name", "logs", "CreateLogGroup.logGroupName", "as-is"),
    m("retentionInDays", "logs", "PutRetentionPolicy.retentionInDays"),
  ],
  "aws:cloudwatch/metricAlarm:MetricAlarm": [
    m("name", "cloudwatch", "PutMetricAlarm.AlarmName", "as-is"),
    m("alarmDescription", "cloudwatch", "PutMetricAlarm.AlarmDescription"),
    m("metricName", "cloudwatch", "PutMetricAlarm.MetricName"),
    m("namespace", "cloudwatch", "PutMetricAlarm.Namespace"),
    m("comparisonOperator", "cloudwatch", "PutMetricAlarm.ComparisonOperator"),
    m("statistic", "cloudwatch", "PutMetricAlarm.Statistic"),
    m("extendedStatistic", "cloudwatch", "PutMetricAlarm.ExtendedStatistic"),
    m("period", "cloudwatch", "PutMetricAlarm.Period"),
    m("evaluationPeriods", "cloudwatch", "PutMetricAlarm.EvaluationPeriods"),
    m("treatMissingData", "cloudwatch", "PutMetricAlarm.TreatMissingData"),
    m("alarmActions", "cloudwatch", "PutMetricAlarm.AlarmActions"),
    m("okActions", "cloudwatch", "PutMetricAlarm.OKActions"),
    m("dimensions{}", "cloudwatch", "PutMetricAlarm.Dimensions.Name"),
    m("dimensions{=}", "cloudwatch", "PutMetricAlarm.Dimensions.Value"),
  ],
  "aws:cloudwatch/logMetricFilter:LogMetricFilter": [
    m("name", "logs", "PutMetricFilter.filterName", "as-is"),
    m("logGroupName", "logs", "PutMetricFilter.logGroupName"),
    m("pattern", "logs", "PutMetricFilter.filterPattern"),
    m("metricTransformation.name", "logs", "PutMetricFilter.metricTransformations.metricName"),
    m("metricTransformation.namespace", "logs", "PutMetricFilter.metricTransformations.metricNamespace"),
    m("metricTransformation.value", "logs", "PutMetricFilter.metricTransformations.metricValue"),
    m("metricTransformation.unit", "logs", "PutMetricFilter.metricTransformations.unit"),
  ],
  "aws:cloudwatch/dashboard:Dashboard": [m("dashboardName", "cloudwatch", "PutDashboard.DashboardName")],

  "aws:sns/topic:Topic": [m("name", "sns", "CreateTopic.Name", "as-is")],
  "aws:sqs/queue:Queue": [m("name", "sqs", "CreateQueue.QueueName", "as-is")],

  "aws:elasticache/replicationGroup:ReplicationGroup": [
    m("replicationGroupId", "elasticache", "CreateReplicationGroup.ReplicationGroupId", "lowercase"),
    m("description", "elasticache", "CreateReplicationGroup.ReplicationGroupDescription"),
    m("nodeType", "elasticache", "CreateReplicationGroup.CacheNodeType"),
    m("engine", "elasticache", "CreateReplicationGroup.Engine"),
    m("numCacheClusters", "elasticache", "CreateReplicationGroup.NumCacheClusters"),
    m("snapshotRetentionLimit", "elasticache", "CreateReplicationGroup.SnapshotRetentionLimit"),
    m("snapshotWindow", "elasticache", "CreateReplicationGroup.SnapshotWindow"),
    m("maintenanceWindow", "elasticache", "CreateReplicationGroup.PreferredMaintenanceWindow"),
    m("port", "elasticache", "CreateReplicationGroup.Port"),
  ],
  "aws:elasticache/subnetGroup:SubnetGroup": [
    m("name", "elasticache", "CreateCacheSubnetGroup.CacheSubnetGroupName", "lowercase"),
    m("description", "elasticache", "CreateCacheSubnetGroup.CacheSubnetGroupDescription"),
  ],

  "aws:autoscaling/group:Group": [
    m("name", "autoscaling", "CreateAutoScalingGroup.AutoScalingGroupName", "as-is"),
    m("healthCheckType", "autoscaling", "CreateAutoScalingGroup.HealthCheckType"),
    m("healthCheckGracePeriod", "autoscaling", "CreateAutoScalingGroup.HealthCheckGracePeriod"),
    m("minSize", "autoscaling", "CreateAutoScalingGroup.MinSize"),
    m("maxSize", "autoscaling", "CreateAutoScalingGroup.MaxSize"),
    m("desiredCapacity", "autoscaling", "CreateAutoScalingGroup.DesiredCapacity"),
    m("defaultInstanceWarmup", "autoscaling", "CreateAutoScalingGroup.DefaultInstanceWarmup"),
    m("terminationPolicies", "autoscaling", "CreateAutoScalingGroup.TerminationPolicies"),
    m("enabledMetrics", "autoscaling", "EnableMetricsCollection.Metrics"),
    m("metricsGranularity", "autoscaling", "EnableMetricsCollection.Granularity"),
  ],
  "aws:autoscaling/policy:Policy": [
    m("name", "autoscaling", "PutScalingPolicy.PolicyName", "as-is"),
    m("policyType", "autoscaling", "PutScalingPolicy.PolicyType"),
    m("estimatedInstanceWarmup", "autoscaling", "PutScalingPolicy.EstimatedInstanceWarmup"),
  ],
  "aws:autoscaling/lifecycleHook:LifecycleHook": [
    m("name", "autoscaling", "PutLifecycleHook.LifecycleHookName"),
    m("lifecycleTransition", "autoscaling", "PutLifecycleHook.LifecycleTransition"),
    m("heartbeatTimeout", "autoscaling", "PutLifecycleHook.HeartbeatTimeout"),
    m("defaultResult", "autoscaling", "PutLifecycleHook.DefaultResult"),
  ],

  "aws:acm/certificate:Certificate": [
    m("domainName", "acm", "RequestCertificate.DomainName"),
    m("subjectAlternativeNames", "acm", "RequestCertificate.SubjectAlternativeNames"),
    m("keyAlgorithm", "acm", "RequestCertificate.KeyAlgorithm"),
    m("validationMethod", "acm", "RequestCertificate.ValidationMethod"),
  ],

  "aws:cloudfront/distribution:Distribution": [
    m("priceClass", "cloudfront", `${cf}.PriceClass`),
    m("httpVersion", "cloudfront", `${cf}.HttpVersion`),
    m("aliases", "cloudfront", `${cf}.Aliases.Items`),
    m("defaultCacheBehavior.viewerProtocolPolicy", "cloudfront", `${cf}.DefaultCacheBehavior.ViewerProtocolPolicy`),
    m("orderedCacheBehaviors.viewerProtocolPolicy", "cloudfront", `${cf}.CacheBehaviors.Items.ViewerProtocolPolicy`),
    m("orderedCacheBehaviors.pathPattern", "cloudfront", `${cf}.CacheBehaviors.Items.PathPattern`),
    m("origins.customOriginConfig.originProtocolPolicy", "cloudfront", `${cf}.Origins.Items.CustomOriginConfig.OriginProtocolPolicy`),
    m("origins.customOriginConfig.originSslProtocols", "cloudfront", `${cf}.Origins.Items.CustomOriginConfig.OriginSslProtocols.Items`),
    m("viewerCertificate.minimumProtocolVersion", "cloudfront", `${cf}.ViewerCertificate.MinimumProtocolVersion`),
    m("viewerCertificate.sslSupportMethod", "cloudfront", `${cf}.ViewerCertificate.SSLSupportMethod`),
    m("restrictions.geoRestriction.restrictionType", "cloudfront", `${cf}.Restrictions.GeoRestriction.RestrictionType`),
  ],
  "aws:cloudfront/originAccessControl:OriginAccessControl": [
    m("name", "cloudfront", "CreateOriginAccessControl.OriginAccessControlConfig.Name", "as-is"),
    m("originAccessControlOriginType", "cloudfront", "CreateOriginAccessControl.OriginAccessControlConfig.OriginAccessControlOriginType"),
    m("signingBehavior", "cloudfront", "CreateOriginAccessControl.OriginAccessControlConfig.SigningBehavior"),
    m("signingProtocol", "cloudfront", "CreateOriginAccessControl.OriginAccessControlConfig.SigningProtocol"),
  ],
  "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": [
    m("name", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.Name", "as-is"),
    m("comment", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.Comment"),
    m("headersConfig.headerBehavior", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.HeadersConfig.HeaderBehavior"),
    m("headersConfig.headers.items", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.HeadersConfig.Headers.Items"),
    m("cookiesConfig.cookieBehavior", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.CookiesConfig.CookieBehavior"),
    m("queryStringsConfig.queryStringBehavior", "cloudfront", "CreateOriginRequestPolicy.OriginRequestPolicyConfig.QueryStringsConfig.QueryStringBehavior"),
  ],
  "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": [
    m("name", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.Name", "as-is"),
    m("securityHeadersConfig.referrerPolicy.referrerPolicy", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ReferrerPolicy.ReferrerPolicy"),
    m("securityHeadersConfig.frameOptions.frameOption", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.SecurityHeadersConfig.FrameOptions.FrameOption"),
    m("comment", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.Comment"),
    m("corsConfig.accessControlAllowOrigins.items", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowOrigins.Items"),
    m("corsConfig.accessControlAllowMethods.items", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowMethods.Items"),
    m("corsConfig.accessControlAllowHeaders.items", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowHeaders.Items"),
    m("corsConfig.accessControlMaxAgeSec", "cloudfront", "CreateResponseHeadersPolicy.ResponseHeadersPolicyConfig.CorsConfig.AccessControlMaxAgeSec"),
  ],

  "aws:wafv2/webAcl:WebAcl": [
    m("name", "wafv2", "CreateWebACL.Name", "as-is"),
    m("scope", "wafv2", "CreateWebACL.Scope"),
    m("description", "wafv2", "CreateWebACL.Description"),
    m("visibilityConfig.metricName", "wafv2", "CreateWebACL.VisibilityConfig.MetricName"),
    m("rules.name", "wafv2", "CreateWebACL.Rules.Name"),
    m("rules.priority", "wafv2", "CreateWebACL.Rules.Priority"),
    m("rules.visibilityConfig.metricName", "wafv2", "CreateWebACL.Rules.VisibilityConfig.MetricName"),
  ],

  "aws:backup/vault:Vault": [m("name", "backup", "CreateBackupVault.BackupVaultName", "as-is")],
  "aws:backup/plan:Plan": [
    m("name", "backup", "CreateBackupPlan.BackupPlan.BackupPlanName", "as-is"),
    m("rules.ruleName", "backup", "CreateBackupPlan.BackupPlan.Rules.RuleName"),
    m("rules.schedule", "backup", "CreateBackupPlan.BackupPlan.Rules.ScheduleExpression"),
  ],
  "aws:backup/selection:Selection": [m("name", "backup", "CreateBackupSelection.BackupSelection.SelectionName", "as-is")],
};

/** Resource types whose inputs are not sent to an AWS API (or carry nothing the models constrain), and why. */
export const UNMAPPED_TYPES: Record<string, string> = {
  "aws:ec2/internetGateway:InternetGateway": "only references (vpcId)",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "only references (vpcId); the provider empties its rules",
  "aws:ec2/routeTable:RouteTable": "only references and CIDR routes",
  "aws:ec2/routeTableAssociation:RouteTableAssociation": "only references",
  "aws:ec2/natGateway:NatGateway": "only references",
  "aws:ec2/eipAssociation:EipAssociation": "only references",
  "aws:s3/bucket:Bucket": "auto-named; its name is checked by the prose rule s3-bucket-name",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "booleans only",
  "aws:s3/bucketPolicy:BucketPolicy": "a policy document (checked by the policy checks)",
  "aws:secretsmanager/secretVersion:SecretVersion": "a secret value, not printed or checked",
  "aws:acm/certificateValidation:CertificateValidation": "no API call: the provider waits for issuance",
  "random:index/randomPassword:RandomPassword": "not an AWS resource",
  "cloudflare:index/dnsRecord:DnsRecord": "not an AWS resource",
  "cloudflare:index/zoneSetting:ZoneSetting": "not an AWS resource",
  "cloudflare:index/originCaCertificate:OriginCaCertificate": "not an AWS resource",
  "tls:index/privateKey:PrivateKey": "not an AWS resource",
  "tls:index/certRequest:CertRequest": "not an AWS resource",
};

/** A Pulumi auto-name as the provider makes it: the logical name, "-" and 7 random characters. */
export function autoNameOf(logicalName: string, mode: "as-is" | "lowercase"): string {
  const name = `${logicalName}-a1b2c3d`;
  return mode === "lowercase" ? name.toLowerCase() : name;
}
