import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { appSecretString } from "../server/django-env";
import { Component, Transform, stackTags } from "./component";

export interface AppSecretsArgs {
  /** Short app name. */
  app: string;
  /** KMS key that encrypts the secret. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Any change to this label generates new values (rotation by `pulumi up`;
   * see docs/runbooks/rotate-secrets.md). Caution: sessions signed with the
   * old SECRET_KEY end.
   * @default "initial"
   */
  rotation?: string;
  /**
   * Days a deleted secret can still be restored.
   * @default 30
   */
  recoveryWindowInDays?: number;
  /**
   * The database password when the database is shared (RDS): stored instead
   * of a generated one.
   */
  databasePassword?: pulumi.Input<string>;
  /**
   * More secret environment for the app, e.g. `{ REDIS_PASSWORD: cache.authToken }`
   * or the app's own secrets (`appSecrets`). A key may not be DJANGO_SECRET_KEY
   * or DATABASE_PASSWORD (the generated ones).
   */
  extra?: Record<string, pulumi.Input<string>>;
  transform?: { secret?: Transform<aws.secretsmanager.SecretArgs> };
}

/**
 * An app's secrets — Django's SECRET_KEY and its database password —
 * generated with @pulumi/random and kept in one Secrets Manager secret
 * (JSON), encrypted with the stack's key. Servers read it at boot through
 * their instance role; the values never enter user data, outputs or logs.
 */
export class AppSecrets extends Component {
  public readonly secretArn: pulumi.Output<string>;
  /** The database password, as a Pulumi secret, for resources that need it (e.g. RDS). */
  public readonly databasePassword: pulumi.Output<string>;
  /**
   * The id AWS gives the secret's current value: a new one with every change
   * (a rotation, or a changed value of `extra`). What tells servers that
   * read the secret at boot to read it again.
   */
  public readonly versionId: pulumi.Output<string>;
  public readonly nodes: { secret: aws.secretsmanager.Secret; version: aws.secretsmanager.SecretVersion };

  constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("AppSecrets", name, opts);
    const keepers = { rotation: args.rotation ?? "initial" };
    // 64 characters from a set that needs no quoting anywhere, well above Django's W009 minimum of 50.
    const secretKey = this.child(random.RandomPassword, "secret-key", { length: 64, special: true, overrideSpecial: "-_=+.,:", keepers });
    const databasePassword = args.databasePassword ?? this.child(random.RandomPassword, "db-password", { length: 32, special: false, keepers }).result;
    const secret = this.child(aws.secretsmanager.Secret, "secret", {
      description: `Django secrets of ${args.app} (${pulumi.getProject()}/${pulumi.getStack()})`,
      kmsKeyId: args.kmsKeyArn,
      recoveryWindowInDays: args.recoveryWindowInDays ?? 30,
      tags: stackTags({ "django-tiers:app": args.app }),
    }, args.transform?.secret);
    const version = this.child(aws.secretsmanager.SecretVersion, "value", {
      secretId: secret.id,
      secretString: pulumi.secret(
        pulumi.all([secretKey.result, databasePassword, pulumi.all(args.extra ?? {})]).apply(([key, password, extra]) =>
          appSecretString({ DJANGO_SECRET_KEY: key, DATABASE_PASSWORD: password }, extra),
        ),
      ),
    });
    // Resolves once the value exists: a server given this ARN never reads an empty secret.
    this.secretArn = pulumi.all([secret.arn, version.id]).apply(([arn]) => arn);
    this.databasePassword = pulumi.secret(databasePassword);
    this.versionId = version.versionId;
    this.nodes = { secret, version };
    this.registerOutputs({ secretArn: this.secretArn });
  }
}
