/**
 * The shared platform: one VPC, one stack key, one RDS PostgreSQL server
 * (and optionally one ElastiCache cache) that several app stacks use, each
 * from its own box (examples/app-on-platform). Its exports are the contract
 * those stacks read through a StackReference; docs/shared-stacks.md
 * describes them.
 *
 *   pulumi stack init platform-prod
 *   pulumi config set aws:region eu-west-1
 *   pulumi config set environment prod
 *   pulumi up
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Alerts, Backup, Cache, ClientSecurityGroup, Database, Monitoring, Network, StackKey } from "../../library";

const config = new pulumi.Config();

/** dev | staging | prod: prod turns on a standby database (multi-AZ) and a cache replica. */
const environment = config.get("environment") ?? "dev";
if (!["dev", "staging", "prod"].includes(environment)) {
  throw new Error(`platform: config environment must be dev, staging or prod (got "${environment}")`);
}
const prod = environment === "prod";
/** Every app's data lives here: deletion protection stays on unless a throwaway stack turns it off. */
const deletionProtection = config.getBoolean("deletionProtection") ?? true;
/** One ElastiCache cache the apps may share (REDIS_PASSWORD in each app's secret, a key prefix per app). About $12/month per node. */
const withCache = config.getBoolean("cache") ?? false;
/** Days of RDS automated backups and AWS Backup recovery points. */
const backupRetentionDays = config.getNumber("backupRetentionDays") ?? 7;

const tags = { "django-tiers:project": pulumi.getProject(), "django-tiers:stack": pulumi.getStack() };

const network = new Network("network", { azCount: 2 });
const key = new StackKey("key");
const alerts = new Alerts("alerts", { kmsKeyArn: key.arn, email: config.get("alertEmail") });

// The group every app box wears: the database (and cache) admit exactly it, whichever stack the box is in.
const clients = new ClientSecurityGroup("clients", {
  vpcId: network.vpcId,
  vpcCidr: network.cidrBlock,
  role: "app",
  ports: withCache ? { database: 5432, cache: 6379 } : { database: 5432 },
});
const privateSubnets = [0, 1].map((i) => network.privateSubnetIds.apply((ids) => ids[i]));

const database = new Database("database", {
  vpcId: network.vpcId,
  subnetIds: privateSubnets,
  clients: { app: clients.id },
  engine: "postgres",
  instanceClass: config.get("databaseInstanceClass") ?? "db.t4g.micro",
  kmsKeyArn: key.arn,
  multiAz: prod,
  backupRetentionDays,
  deletionProtection,
  rotation: config.get("secretsRotation"),
});

// The master credentials, kept where operators (and a future per-app-role job) find them, in the
// format RDS's own rotation functions read. The app stacks get the password as a secret stack output.
const masterSecret = new aws.secretsmanager.Secret("database-master", {
  description: `Master credentials of the shared database (${pulumi.getProject()}/${pulumi.getStack()})`,
  kmsKeyId: key.arn,
  recoveryWindowInDays: 30,
  tags,
});
const masterSecretVersion = new aws.secretsmanager.SecretVersion("database-master-value", {
  secretId: masterSecret.id,
  secretString: pulumi.secret(
    pulumi.all([database.address, database.password]).apply(([host, password]) =>
      JSON.stringify({ engine: database.engine, host, port: database.port, username: database.username, password }),
    ),
  ),
});

const cache = withCache
  ? new Cache("cache", { vpcId: network.vpcId, subnetIds: privateSubnets, clients: { app: clients.id }, kmsKeyArn: key.arn, highAvailability: prod })
  : undefined;

new Monitoring("monitoring", {
  alertTopicArn: alerts.topicArn,
  database: { instanceIdentifier: database.instanceId },
  cache: cache ? { replicationGroupId: cache.replicationGroupId, nodeCount: prod ? 2 : 1 } : undefined,
});
new Backup("backup", { resourceArns: [database.instanceArn], kmsKeyArn: key.arn, retentionDays: backupRetentionDays });

// The contract the app stacks read (docs/shared-stacks.md). Ids and addresses are plain; the
// password and the cache token are Pulumi secrets, encrypted in this stack's state and in every
// stack that reads them.
export const vpcId = network.vpcId;
export const vpcCidr = network.cidrBlock;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const kmsKeyArn = key.arn;
export const clientSecurityGroupId = clients.id;
export const databaseEngine = pulumi.output(database.engine);
export const databaseAddress = database.address;
export const databasePort = pulumi.output(database.port);
export const databaseUsername = pulumi.output(database.username);
export const databasePassword = database.password;
export const databasePasswordSecretArn = pulumi.all([masterSecret.arn, masterSecretVersion.id]).apply(([arn]) => arn);
export const cacheAddress = cache?.address;
export const cachePort = cache ? pulumi.output(cache.port) : undefined;
export const cacheAuthToken = cache?.authToken;
export const alertTopicArn = alerts.topicArn;
