/**
 * IAM, KMS, ACM certificates and AWS Backup.
 */
import { coversAllResources, describe, identityPolicies, statementsOf } from "../policy-documents";
import { eachResource, finding, notApplicable, ofType, refersTo, tagsOf } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, Finding, PlannedResource, PlanUnderTest } from "../types";
import { asArray, asBool, asNumber, asRecord, asString, asStrings, field } from "../values";

const IAM_TYPES = [
  ...T.iamRole,
  ...T.iamRolePolicy,
  ...T.iamRolePolicyAttachment,
  ...T.iamPolicy,
  ...T.iamUser,
  ...T.iamUserPolicy,
  ...T.iamUserPolicyAttachment,
  ...T.iamPolicyAttachment,
  ...T.iamGroupPolicy,
  ...T.iamAccessKey,
];
const NO_IAM = "no IAM resource in this plan";

const ADMIN_POLICY = /:policy\/AdministratorAccess$/;

/**
 * No statement allows every action (`*`, `*:*`, or a NotAction) on every
 * resource, and no AdministratorAccess attachment.
 * Refs: CKV_AWS_1, CKV_AWS_62, CKV_AWS_63, WA SEC03-BP02.
 */
export const iamNoAdmin: Check = {
  id: "iam-no-admin",
  title: "No policy allows every action on every resource",
  refs: ["CKV_AWS_1", "CKV_AWS_62", "CKV_AWS_63", "WA SEC03-BP02"],
  description: "An admin-equivalent role turns any code execution on a box into control of the account.",
  run(plan) {
    if (!ofType(plan, IAM_TYPES).length) return notApplicable(NO_IAM);
    const statements = statementsOf(identityPolicies(plan)).flatMap(({ source, statements, error }): Finding[] => [
      ...(error ? [finding(source.resource, error)] : []),
      ...statements
        .filter(
          (st) =>
            st.effect === "Allow" &&
            (st.actions.some((a) => a === "*" || a === "*:*") || st.notActions.length > 0) &&
            coversAllResources(st),
        )
        .map((st) => finding(source.resource, `${source.where} ${describe(st)} allows every action on every resource`)),
    ]);
    const attachments = [
      ...ofType(plan, T.iamRole).flatMap((r) =>
        asStrings(r.inputs.managedPolicyArns)
          .filter((a) => ADMIN_POLICY.test(a))
          .map(() => finding(r, "managedPolicyArns includes AdministratorAccess")),
      ),
      ...eachResource(ofType(plan, [...T.iamRolePolicyAttachment, ...T.iamUserPolicyAttachment, ...T.iamPolicyAttachment]), (a) => [
        ADMIN_POLICY.test(asString(a.inputs.policyArn) ?? "") && "attaches AdministratorAccess",
      ]),
    ];
    return [...statements, ...attachments];
  },
};

/**
 * No IAM user gets policies (inline or attached): people use SSO roles,
 * machines use instance roles. Refs: CKV_AWS_40.
 */
export const iamNoUserPolicies: Check = {
  id: "iam-no-user-policies",
  title: "No IAM user has policies",
  refs: ["CKV_AWS_40"],
  description: "User policies mean long-lived user credentials with permissions, outside role-based access.",
  run(plan) {
    if (!ofType(plan, IAM_TYPES).length) return notApplicable(NO_IAM);
    return [
      ...eachResource(ofType(plan, [...T.iamUserPolicy, ...T.iamUserPolicyAttachment]), () => ["gives an IAM user a policy"]),
      ...eachResource(ofType(plan, T.iamPolicyAttachment), (a) => [asStrings(a.inputs.users).length > 0 && "attaches a policy to IAM users"]),
    ];
  },
};

/**
 * No IAM access keys: VMs use instance profiles; nothing in the stack needs
 * long-lived keys. Refs: CKV2_AWS_41 (instance profile, no static keys).
 */
export const iamNoAccessKeys: Check = {
  id: "iam-no-access-keys",
  title: "No IAM access keys are created",
  refs: ["CKV2_AWS_41"],
  description: "Static keys end up in files, logs and state, and never rotate.",
  run(plan) {
    if (!ofType(plan, IAM_TYPES).length) return notApplicable(NO_IAM);
    return eachResource(ofType(plan, T.iamAccessKey), () => ["creates a long-lived access key"]);
  },
};

const isS3Wildcard = (action: string) => action === "*" || (action.toLowerCase().startsWith("s3:") && action.includes("*"));

/**
 * S3 wildcard actions (`s3:*`, `s3:Get*`, …) never apply to every bucket
 * (`*`, `arn:aws:s3:::*`, or `arn:aws:s3:::*` followed by `/*`): roles are scoped to the
 * stack's buckets. Refs: CKV_AWS_63, WA SEC03-BP02.
 */
export const iamNoS3Wildcard: Check = {
  id: "iam-no-s3-wildcard",
  title: "No S3 wildcard actions on every bucket",
  refs: ["CKV_AWS_63", "WA SEC03-BP02"],
  description: "`s3:*` on `*` lets one box read and delete every bucket in the account, backups included.",
  run(plan) {
    if (!ofType(plan, IAM_TYPES).length) return notApplicable(NO_IAM);
    return statementsOf(identityPolicies(plan)).flatMap(({ source, statements, error }): Finding[] => [
      ...(error ? [finding(source.resource, error)] : []),
      ...statements
        .filter((st) => st.effect === "Allow" && st.actions.some(isS3Wildcard) && coversAllResources(st, "s3"))
        .map((st) => finding(source.resource, `${source.where} ${describe(st)} allows S3 wildcard actions on every bucket`)),
    ]);
  },
};

/** Symmetric customer keys rotate yearly. Refs: CKV_AWS_7, AVD-AWS-0065, AG cmk-backing-key-rotation-enabled. */
export const kmsRotation: Check = {
  id: "kms-rotation",
  title: "KMS keys rotate automatically",
  refs: ["CKV_AWS_7", "AVD-AWS-0065", "AG cmk-backing-key-rotation-enabled"],
  description: "Without rotation, one exposed key version decrypts everything ever encrypted with it.",
  run(plan) {
    const keys = ofType(plan, T.kmsKey).filter(
      (k) =>
        (asString(k.inputs.keyUsage) ?? "ENCRYPT_DECRYPT") === "ENCRYPT_DECRYPT" &&
        (asString(k.inputs.customerMasterKeySpec) ?? "SYMMETRIC_DEFAULT") === "SYMMETRIC_DEFAULT",
    );
    if (!keys.length) return notApplicable("no symmetric KMS key in this plan");
    return eachResource(keys, (k) => [asBool(k.inputs.enableKeyRotation) !== true && "enableKeyRotation is not true"]);
  },
};

/** Amazon-issued certificates (not imported, not from a private CA). */
const issuedCertificates = (plan: PlanUnderTest) =>
  ofType(plan, T.acmCertificate).filter((c) => !c.inputs.privateKey && !c.inputs.certificateBody && !c.inputs.certificateAuthorityArn);
const NO_CERTS = "no ACM-issued certificate in this plan";

/** DNS validation, which ACM renews without anyone clicking an email. Refs: CKV_AWS_233. */
export const acmDnsValidation: Check = {
  id: "acm-dns-validation",
  title: "ACM certificates validate through DNS",
  refs: ["CKV_AWS_233"],
  description: "Email-validated certificates need a human at every renewal and expire when nobody answers.",
  run(plan) {
    const certs = issuedCertificates(plan);
    if (!certs.length) return notApplicable(NO_CERTS);
    return eachResource(certs, (c) => [asString(c.inputs.validationMethod) !== "DNS" && `validationMethod is ${asString(c.inputs.validationMethod) ?? "unset"}, not DNS`]);
  },
};

/**
 * A replaced certificate is created before the old one is destroyed (Pulumi's
 * default unless `deleteBeforeReplace` is set), so listeners are never left
 * without one. Refs: CKV_AWS_233.
 */
export const acmCreateBeforeDestroy: Check = {
  id: "acm-create-before-destroy",
  title: "ACM certificates are replaced create-before-destroy",
  refs: ["CKV_AWS_233"],
  description: "Deleting first fails while a listener uses the certificate, or leaves HTTPS down in between.",
  run(plan) {
    const certs = issuedCertificates(plan);
    if (!certs.length) return notApplicable(NO_CERTS);
    return eachResource(certs, (c) => [c.options.deleteBeforeReplace === true && "has deleteBeforeReplace set"]);
  },
};

/** The resources that hold data AWS Backup must protect: RDS instances and EC2 instances (the single box keeps PostgreSQL on its volume). */
const stateful = (plan: PlanUnderTest) => ofType(plan, [...T.rdsInstance, ...T.ec2Instance]);

function tagConditionsMatch(selection: PlannedResource, r: PlannedResource): boolean {
  const tags = tagsOf(r);
  const byTag = asArray(selection.inputs.selectionTags).map((t) => asRecord(t) ?? {});
  const equals = asArray(selection.inputs.conditions).flatMap((c) =>
    asArray(asRecord(c)?.stringEquals).map((e) => asRecord(e) ?? {}),
  );
  const wanted = [
    ...byTag.map((t) => ({ key: asString(t.key), value: asString(t.value) })),
    ...equals.map((e) => ({ key: asString(e.key)?.replace(/^aws:ResourceTag\//, ""), value: asString(e.value) })),
  ];
  if (!wanted.length) return false;
  // selectionTags are OR-ed, conditions AND-ed; either way one matching tag is what we need to see.
  return wanted.some((w) => w.key !== undefined && tags[w.key] === w.value);
}

function selectionCovers(selection: PlannedResource, r: PlannedResource): boolean {
  const resources = asStrings(selection.inputs.resources);
  if (resources.some((ref) => refersTo(ref, r))) return true;
  const service = r.type.startsWith("aws:rds/") ? "rds" : "ec2";
  const wildcard = resources.some((ref) => ref === "*" || (ref.includes("*") && [service, "*"].includes(ref.split(":")[2] ?? "")));
  const hasTagFilter = asArray(selection.inputs.selectionTags).length > 0 || asArray(selection.inputs.conditions).length > 0;
  if (wildcard && !hasTagFilter) return true;
  return (wildcard || resources.length === 0) && tagConditionsMatch(selection, r);
}

/**
 * Every stateful resource is in an AWS Backup selection whose plan has a
 * scheduled rule with a retention (`lifecycle.deleteAfter`) into a vault of
 * this plan. Refs: CKV2_AWS_8, CKV2_AWS_9, WA REL09-BP01, WA REL09-BP02, WA REL09-BP03.
 */
export const backupPlanCoversData: Check = {
  id: "backup-plan-covers-data",
  title: "AWS Backup protects the database and the box's volumes",
  refs: ["CKV2_AWS_8", "CKV2_AWS_9", "WA REL09-BP01", "WA REL09-BP02", "WA REL09-BP03"],
  description: "Backups managed outside the stack drift, and their absence is only noticed at restore time.",
  run(plan) {
    const targets = stateful(plan);
    if (!targets.length) return notApplicable("no RDS or EC2 instance in this plan");
    const vaults = ofType(plan, T.backupVault);
    const goodPlans = ofType(plan, T.backupPlan).filter((p) =>
      asArray(p.inputs.rules).some((rule) => {
        const r = asRecord(rule) ?? {};
        return (
          !!asString(r.schedule) &&
          (asNumber(field(r, "lifecycle.deleteAfter")) ?? 0) > 0 &&
          vaults.some((v) => refersTo(r.targetVaultName, v))
        );
      }),
    );
    const selections = ofType(plan, T.backupSelection).filter((s) => goodPlans.some((p) => refersTo(s.inputs.planId, p)));
    return eachResource(targets, (r) => [
      !selections.some((s) => selectionCovers(s, r)) &&
        (goodPlans.length
          ? "is not in any AWS Backup selection"
          : "is not protected: no backup plan with a scheduled, expiring rule into a vault of this plan"),
    ]);
  },
};

/** Vaults encrypted with a customer-managed key (optional in CHECKS.md). Refs: CKV_AWS_166. */
export const backupVaultKms: Check = {
  id: "backup-vault-kms",
  title: "Backup vaults use a customer-managed KMS key",
  refs: ["CKV_AWS_166"],
  description: "A CMK keeps recovery points decryptable only under the key's policy.",
  optional: true,
  run(plan) {
    const vaults = ofType(plan, T.backupVault);
    if (!vaults.length) return notApplicable("no backup vault in this plan");
    return eachResource(vaults, (v) => [!v.inputs.kmsKeyArn && "kmsKeyArn is not set"]);
  },
};

export const IAM_KMS_ACM_BACKUP_CHECKS: Check[] = [
  iamNoAdmin,
  iamNoUserPolicies,
  iamNoAccessKeys,
  iamNoS3Wildcard,
  kmsRotation,
  acmDnsValidation,
  acmCreateBeforeDestroy,
  backupPlanCoversData,
  backupVaultKms,
];
