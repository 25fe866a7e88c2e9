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
export { Network, type NetworkArgs, subnetCidrs } from "./components/network";
export { PrivateBucket, type PrivateBucketArgs } from "./components/private-bucket";
export { Release, type ReleaseArgs } from "./components/release";
export { releaseBundleKey } from "./server";
export { AppSecrets, type AppSecretsArgs } from "./components/secrets";
export { SingleBox, type SingleBoxArgs } from "./components/single-box";
export * from "./config";
export { deployStack, type Deployment, type StackOutputs } from "./tiers";
export { runChecks, ALL_CHECKS } from "./policies";
export type { BoxSpec, AppSpec, RenderedFile } from "./server/types";
