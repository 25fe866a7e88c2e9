/**
 * The stack program: settings → tier → components → exports.
 * `pulumi up` runs it against AWS; `npm run plan` runs it under the mock engine.
 */
import { loadSettings } from "./config";
import { deployStack } from "./tiers";

const settings = loadSettings({ projectDir: __dirname });
const { outputs } = deployStack(settings);

export const tier = outputs.tier;
export const environment = outputs.environment;
export const siteUrls = outputs.siteUrls;
export const publicIp = outputs.publicIp;
export const instanceId = outputs.instanceId;
export const sessionCommand = outputs.sessionCommand;
export const artifactsBucket = outputs.artifactsBucket;
export const logsBucket = outputs.logsBucket;
export const alertTopicArn = outputs.alertTopicArn;
export const releases = outputs.releases;
export const secretArns = outputs.secretArns;
export const liveColor = outputs.liveColor;
export const colors = outputs.colors;
export const builtRelease = outputs.builtRelease;
export const previewKey = outputs.previewKey;
export const loadBalancerDnsName = outputs.loadBalancerDnsName;
export const cdnDomainName = outputs.cdnDomainName;
