import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Component, Transform, serviceSecurityGroup, stackTags } from "./component";
import { performanceInsightsSupported } from "../policies/conformance/rules";

export type DatabaseEngine = "postgres" | "mysql" | "mariadb";

/** Per engine: default version, port, TLS and logging parameters, and what it exports to CloudWatch. */
export const ENGINES: Record<DatabaseEngine, {
  version: string;
  family: string;
  port: number;
  parameters: Record<string, string>;
  logExports: string[];
}> = {
  postgres: {
    version: "16",
    family: "postgres16",
    port: 5432,
    // TLS only; every schema change logged; statements slower than 1 s logged.
    parameters: { "rds.force_ssl": "1", log_statement: "ddl", log_min_duration_statement: "1000" },
    logExports: ["postgresql", "upgrade"],
  },
  mysql: {
    version: "8.0",
    family: "mysql8.0",
    port: 3306,
    parameters: { require_secure_transport: "ON", slow_query_log: "1", long_query_time: "1" },
    logExports: ["error", "slowquery"],
  },
  mariadb: {
    version: "10.11",
    family: "mariadb10.11",
    port: 3306,
    parameters: { require_secure_transport: "ON", slow_query_log: "1", long_query_time: "1" },
    logExports: ["error", "slowquery"],
  },
};

export interface DatabaseArgs {
  vpcId: pulumi.Input<string>;
  /** Private subnets in at least two availability zones. */
  subnetIds: pulumi.Input<string>[];
  /**
   * Security groups of the servers that may connect, by role. Nothing else
   * reaches the database port. Rules are named by role, so adding a client
   * never touches another's rule.
   * @example { app: appSg.id, worker: workerSg.id }
   */
  clients: Record<string, pulumi.Input<string>>;
  /**
   * Engine. Caution: changing it replaces the database (a new, empty one).
   * @default "postgres"
   */
  engine?: DatabaseEngine;
  /**
   * Engine major version. Minor versions upgrade automatically.
   * @default "16" for PostgreSQL, "8.0" for MySQL, "10.11" for MariaDB
   */
  engineVersion?: string;
  /**
   * Instance class. Cost-sensitive: db.t4g.micro is about $12/month single-AZ.
   * @default "db.t4g.micro"
   */
  instanceClass?: string;
  /**
   * Initial storage in GiB (gp3); it grows by itself up to `maxStorageGb`.
   * @default 20
   */
  storageGb?: number;
  /**
   * The cap of storage autoscaling, in GiB.
   * @default 100
   */
  maxStorageGb?: number;
  /**
   * Master user name. Caution: changing it replaces the database.
   * @default "django"
   */
  username?: string;
  /**
   * Any change to this label generates a new master password (rotation by
   * `pulumi up`). The password is exposed as `password` (a Pulumi secret) for
   * the stack to keep in the Secrets Manager secrets its servers read.
   * @default "initial"
   */
  rotation?: string;
  /** KMS key for storage, Performance Insights and the log exports. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * A standby in a second zone with automatic failover. Doubles the cost.
   * @default false (the stack turns it on in prod)
   */
  multiAz?: boolean;
  /**
   * Days of automated backups (point-in-time recovery).
   * @default 7
   */
  backupRetentionDays?: number;
  /**
   * Refuse deletion until turned off. A final snapshot is taken on delete
   * whatever this says.
   * @default true
   */
  deletionProtection?: boolean;
  transform?: {
    instance?: Transform<aws.rds.InstanceArgs>;
    parameterGroup?: Transform<aws.rds.ParameterGroupArgs>;
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
  };
}

/**
 * The "database as an external service" rung: RDS (PostgreSQL by default)
 * in private subnets, reachable only from the app and worker security
 * groups, over TLS only, encrypted, backed up, never public, with a final
 * snapshot on delete.
 */
export class Database extends Component {
  public readonly address: pulumi.Output<string>;
  public readonly port: number;
  public readonly engine: DatabaseEngine;
  public readonly username: string;
  public readonly instanceId: pulumi.Output<string>;
  public readonly instanceArn: pulumi.Output<string>;
  public readonly securityGroupId: pulumi.Output<string>;
  /** Performance Insights is on: wherever RDS supports it for the engine and instance class. */
  public readonly performanceInsights: boolean;
  /** The master password, a Pulumi secret: keep it in Secrets Manager for the servers, nowhere else. */
  public readonly password: pulumi.Output<string>;
  public readonly nodes: {
    instance: aws.rds.Instance;
    parameterGroup: aws.rds.ParameterGroup;
    subnetGroup: aws.rds.SubnetGroup;
    securityGroup: aws.ec2.SecurityGroup;
  };

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Database", name, opts);
    const engine = args.engine ?? "postgres";
    const spec = ENGINES[engine];
    if (!spec) throw new Error(`Database ${name}: engine must be one of ${Object.keys(ENGINES).join(", ")} (got ${engine})`);
    const storageGb = args.storageGb ?? 20;
    const maxStorageGb = args.maxStorageGb ?? 100;
    if (maxStorageGb < storageGb) throw new Error(`Database ${name}: maxStorageGb (${maxStorageGb}) must be at least storageGb (${storageGb})`);
    const backupRetentionDays = args.backupRetentionDays ?? 7;
    if (backupRetentionDays < 1 || backupRetentionDays > 35) throw new Error(`Database ${name}: backupRetentionDays must be 1–35 (got ${backupRetentionDays})`);
    if (args.subnetIds.length < 2) throw new Error(`Database ${name}: subnetIds must name subnets in at least two availability zones`);
    this.engine = engine;
    this.port = spec.port;
    this.performanceInsights = performanceInsightsSupported(engine, args.instanceClass ?? "db.t4g.micro");
    this.username = args.username ?? "django";

    const securityGroup = serviceSecurityGroup(this, {
      vpcId: args.vpcId,
      role: "database",
      service: engine,
      port: spec.port,
      clients: args.clients,
      transform: args.transform?.securityGroup,
    });

    const subnetGroup = this.child(aws.rds.SubnetGroup, "subnets", {
      subnetIds: args.subnetIds,
      description: "django-tiers database: private subnets only",
      tags: stackTags(),
    });
    const parameterGroup = this.child(aws.rds.ParameterGroup, "params", {
      family: args.engineVersion ? familyOf(engine, args.engineVersion) : spec.family,
      description: "django-tiers: TLS only, schema changes and slow queries logged",
      parameters: Object.entries(spec.parameters).map(([pname, value]) => ({ name: pname, value, applyMethod: "pending-reboot" })),
      tags: stackTags(),
    }, args.transform?.parameterGroup);

    // Letters and digits only: it travels through URLs, shell env files and both engines' clients unquoted.
    const password = this.child(random.RandomPassword, "password", { length: 32, special: false, keepers: { rotation: args.rotation ?? "initial" } });
    const instance = this.child(aws.rds.Instance, "instance", {
      engine,
      engineVersion: args.engineVersion ?? spec.version,
      instanceClass: args.instanceClass ?? "db.t4g.micro",
      allocatedStorage: storageGb,
      maxAllocatedStorage: maxStorageGb,
      storageType: "gp3",
      storageEncrypted: true,
      kmsKeyId: args.kmsKeyArn,
      username: this.username,
      password: password.result,
      dbSubnetGroupName: subnetGroup.name,
      vpcSecurityGroupIds: [securityGroup.id],
      parameterGroupName: parameterGroup.name,
      port: spec.port,
      publiclyAccessible: false,
      multiAz: args.multiAz ?? false,
      backupRetentionPeriod: backupRetentionDays,
      backupWindow: "02:00-03:00",
      maintenanceWindow: "sun:03:30-sun:04:30",
      copyTagsToSnapshot: true,
      deletionProtection: args.deletionProtection ?? true,
      skipFinalSnapshot: false,
      // A stable name: the provider appends nothing, so a second delete would collide — it is the last snapshot anyway.
      finalSnapshotIdentifier: `${this.childName("final")}-${pulumi.getStack()}`.replace(/[^a-zA-Z0-9-]/g, "-"),
      autoMinorVersionUpgrade: true,
      allowMajorVersionUpgrade: false,
      enabledCloudwatchLogsExports: spec.logExports,
      // RDS refuses Performance Insights for MySQL and MariaDB on the smallest classes.
      performanceInsightsEnabled: this.performanceInsights,
      ...(this.performanceInsights ? { performanceInsightsKmsKeyId: args.kmsKeyArn, performanceInsightsRetentionPeriod: 7 } : {}),
      caCertIdentifier: "rds-ca-rsa2048-g1",
      applyImmediately: false,
      tags: stackTags(),
    }, args.transform?.instance, {
      // The database is the data: a replacement would start empty. Refuse any plan that would replace it.
      protect: args.deletionProtection ?? true,
    });

    this.password = pulumi.secret(password.result);
    this.address = instance.address;
    this.instanceId = instance.identifier;
    this.instanceArn = instance.arn;
    this.securityGroupId = securityGroup.id;
    this.nodes = { instance, parameterGroup, subnetGroup, securityGroup };
    this.registerOutputs({ address: this.address, port: this.port, securityGroupId: this.securityGroupId });
  }
}

/** The parameter-group family of an engine version: postgres16, mysql8.0, mariadb10.11. */
export function familyOf(engine: DatabaseEngine, version: string): string {
  const major = engine === "postgres" ? version.split(".")[0] : version.split(".").slice(0, 2).join(".");
  return `${engine}${major}`;
}
