import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Component, Transform, stackTags } from "./component";

export interface BackupArgs {
  /** ARNs of the resources to back up (EC2 instances: all their EBS volumes). */
  resourceArns: pulumi.Input<string>[];
  /** KMS key of the vault. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Hour (UTC) of the daily backup.
   * @default 3
   */
  hourUtc?: number;
  /**
   * Days each recovery point is kept.
   * @default 14
   */
  retentionDays?: number;
  transform?: { vault?: Transform<aws.backup.VaultArgs>; plan?: Transform<aws.backup.PlanArgs> };
}

/**
 * Daily AWS Backup recovery points (EBS snapshots of the box, crash
 * consistent) in a KMS-encrypted vault. The nightly `pg_dump` on the box is
 * the consistent database copy; these snapshots bring back the whole disk.
 */
export class Backup extends Component {
  public readonly vaultName: pulumi.Output<string>;
  public readonly planId: pulumi.Output<string>;
  public readonly nodes: { vault: aws.backup.Vault; plan: aws.backup.Plan; selection: aws.backup.Selection };

  constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("Backup", name, opts);
    const hour = args.hourUtc ?? 3;
    const retentionDays = args.retentionDays ?? 14;
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) throw new Error(`Backup ${name}: hourUtc must be 0–23 (got ${hour})`);
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`Backup ${name}: retentionDays must be at least 1 (got ${retentionDays})`);
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;

    const vault = this.child(aws.backup.Vault, "vault", {
      kmsKeyArn: args.kmsKeyArn,
      // Recovery points are the user's data: a destroy must fail on a non-empty vault, not empty it.
      forceDestroy: false,
      tags: stackTags(),
    }, args.transform?.vault);
    const plan = this.child(aws.backup.Plan, "plan", {
      rules: [{
        ruleName: "daily",
        targetVaultName: vault.name,
        schedule: `cron(0 ${hour} * * ? *)`,
        startWindow: 60,
        completionWindow: 360,
        lifecycle: { deleteAfter: retentionDays },
        recoveryPointTags: stackTags(),
      }],
      tags: stackTags(),
    }, args.transform?.plan);
    const role = this.child(aws.iam.Role, "role", {
      description: "AWS Backup takes and restores this stack's recovery points",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: stackTags(),
    });
    for (const [role_, policy] of [["backup-policy", "AWSBackupServiceRolePolicyForBackup"], ["restore-policy", "AWSBackupServiceRolePolicyForRestores"]]) {
      this.child(aws.iam.RolePolicyAttachment, role_, {
        role: role.name,
        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/${policy}`,
      });
    }
    // The box's disk is encrypted with the stack key: snapshotting and restoring it needs these on that key.
    this.child(aws.iam.RolePolicy, "use-key", {
      role: role.id,
      policy: pulumi.output(args.kmsKeyArn).apply((keyArn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
              Resource: [keyArn],
            },
            {
              Effect: "Allow",
              Action: ["kms:CreateGrant"],
              Resource: [keyArn],
              Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
            },
          ],
        }),
      ),
    });
    const selection = this.child(aws.backup.Selection, "selection", {
      planId: plan.id,
      iamRoleArn: role.arn,
      resources: args.resourceArns,
    });
    this.vaultName = vault.name;
    this.planId = plan.id;
    this.nodes = { vault, plan, selection };
    this.registerOutputs({ vaultName: this.vaultName, planId: this.planId });
  }
}
