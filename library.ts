/**
 * django-tiers as a library: the components, the settings schema and the
 * tier wiring, for other Pulumi projects to import.
 *
 *   import { SingleBox, Network } from "django-tiers";
 */
export { Alerts, type AlertsArgs } from "./components/alerts";
export { Artifacts, type ArtifactsArgs } from "./components/artifacts";
export { Backup, type BackupArgs } from "./components/backup";
export { bundleArchive, bundleVersion } from "./components/bundle";
export { Component, type Transform, applyTransform } from "./components/component";
export { DnsRecords, type DnsRecordsArgs } from "./components/dns";
export { StackKey, type StackKeyArgs } from "./components/encryption";
export { Cache, type CacheArgs } from "./components/cache";
export { Cdn, type CdnArgs, cloudFrontReadStatement, cloudFrontKmsStatement } from "./components/cdn";
export { OriginCertificate, type OriginCertificateArgs } from "./components/origin-certificate";
export { Certificate, type CertificateArgs } from "./components/certificate";
export { Fleet, type FleetArgs } from "./components/fleet";
export { serverInstanceRole, debianAmi, type ServerAccess } from "./components/instance-role";
export { LoadBalancer, type LoadBalancerArgs, albLogDeliveryStatement, COLOR_HEADER, PREVIEW_HEADER, previewValue, ALB_TLS_POLICY } from "./components/load-balancer";
export { TaskQueue, type TaskQueueArgs, type WorkerSpec } from "./components/task-queue";
export { ClientSecurityGroup, type ClientSecurityGroupArgs } from "./components/client-group";
export { BoxConfig, type BoxConfigArgs } from "./components/box-config";
export { Database, type DatabaseArgs, type DatabaseEngine } from "./components/database";
export { Monitoring, type MonitoringArgs } from "./components/monitoring";
export { Network, type NetworkArgs, subnetCidrs } from "./components/network";
export { ObjectStorage, type ObjectStorageArgs } from "./components/object-storage";
export { PrivateBucket, type PrivateBucketArgs } from "./components/private-bucket";
export { Release, type ReleaseArgs } from "./components/release";
export { releaseBundleKey } from "./server";
export { AppSecrets, type AppSecretsArgs } from "./components/secrets";
export { SingleBox, type SingleBoxArgs } from "./components/single-box";
export * from "./config";
export { deployStack, type Deployment, type StackOutputs } from "./tiers";
export { runChecks, ALL_CHECKS } from "./policies";
export type { BoxSpec, AppSpec, RenderedFile } from "./server/types";
