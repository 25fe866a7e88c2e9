/**
 * django-tiers as a library: the components, the settings schema and the
 * tier wiring, for other Pulumi projects to import.
 *
 *   import { SingleBox, Network } from "django-tiers";
 */
export { Alerts, AlertsArgs } from "./components/alerts";
export { Artifacts, ArtifactsArgs } from "./components/artifacts";
export { Backup, BackupArgs } from "./components/backup";
export { bundleArchive, bundleVersion } from "./components/bundle";
export { Component, Transform, applyTransform } from "./components/component";
export { DnsRecords, DnsRecordsArgs } from "./components/dns";
export { StackKey, StackKeyArgs } from "./components/encryption";
export { Network, NetworkArgs, subnetCidrs } from "./components/network";
export { PrivateBucket, PrivateBucketArgs } from "./components/private-bucket";
export { Release, ReleaseArgs } from "./components/release";
export { releaseBundleKey } from "./server";
export { AppSecrets, AppSecretsArgs } from "./components/secrets";
export { SingleBox, SingleBoxArgs } from "./components/single-box";
export * from "./config";
export { deployStack, Deployment, StackOutputs } from "./tiers";
export { runChecks, ALL_CHECKS } from "./policies";
export type { BoxSpec, AppSpec, RenderedFile } from "./server/types";
