/**
 * Secrets Manager and SSM Parameter Store: where the app's secrets live,
 * how they are encrypted and rotated, and who may read them.
 */
import { allows, describe, identityPolicies, statementsOf } from "../policy-documents";
import { eachResource, finding, notApplicable, ofType, refersTo, secretStrings } from "../plan-queries";
import { T } from "../resource-types";
import type { Check, Finding, PlanUnderTest } from "../types";
import { asNumber, asString, field, isSecret, walkStrings } from "../values";

const NO_SECRETS = "no Secrets Manager secret in this plan";

/** Parameter names that say the value is a secret. */
const SECRET_NAME = /pass(word)?|secret|token|private[-_]?key|api[-_]?key|credential/i;

/**
 * Secrets stay Pulumi secrets: no secret's plain value appears unwrapped in
 * any input (a secret that lost its secret flag through string building, an
 * `apply` or `unsecret` is stored in clear in the state), and an SSM
 * parameter that holds a secret — its value is a secret of the plan, or its
 * name says so — is a `SecureString`. A plain `String` parameter holding
 * non-secret data (a release pointer) is fine; its `value` is always wrapped
 * as secret by the AWS SDK, so that wrapper is not taken as a signal.
 * Refs: CKV2_AWS_34.
 */
export const secretsStayEncrypted: Check = {
  id: "secrets-stay-encrypted",
  title: "Secrets are stored as secrets (no plaintext copies; SSM uses SecureString)",
  refs: ["CKV2_AWS_34"],
  description: "A secret copied into a plain input or a String parameter sits unencrypted in state and in the console.",
  run(plan) {
    const secrets = secretStrings(plan);
    const params = ofType(plan, T.ssmParameter);
    if (!secrets.length && !params.length) return notApplicable("no Pulumi secret and no SSM parameter in this plan");
    const copies: Finding[] = plan.resources.flatMap((r) => {
      const leaked = new Set<string>();
      for (const [key, value] of Object.entries(r.inputs))
        walkStrings(value, (s, inSecret) => {
          if (!inSecret && secrets.some((secret) => s.includes(secret))) leaked.add(key);
        });
      return [...leaked].map((key) => finding(r, `input ${key} contains the plain value of a Pulumi secret`));
    });
    const parameterFindings = eachResource(
      params.filter((p) => asString(p.inputs.type) !== "SecureString"),
      (p) => {
        const value = asString(p.inputs.value) ?? "";
        const name = asString(p.inputs.name) ?? p.name;
        return [
          secrets.some((s) => value.includes(s)) && `holds the value of a Pulumi secret but its type is ${asString(p.inputs.type) ?? "unset"}, not SecureString`,
          SECRET_NAME.test(name) && `is named like a secret (${name}) but its type is ${asString(p.inputs.type) ?? "unset"}, not SecureString`,
          isSecret(p.inputs.insecureValue) && "puts a secret in insecureValue",
        ];
      },
    );
    return [...copies, ...parameterFindings];
  },
};

/**
 * Every Secrets Manager secret has a rotation schedule of at most 90 days.
 * Often relaxed by stacks whose secrets (e.g. Django's SECRET_KEY) have no
 * rotation Lambda. Refs: CKV2_AWS_57, CKV_AWS_304.
 */
export const secretsRotation: Check = {
  id: "secrets-rotation",
  title: "Secrets rotate at least every 90 days",
  refs: ["CKV2_AWS_57", "CKV_AWS_304"],
  description: "A secret that never rotates stays valid forever after it leaks.",
  run(plan) {
    const secrets = ofType(plan, T.secret);
    if (!secrets.length) return notApplicable(NO_SECRETS);
    const rotations = ofType(plan, T.secretRotation);
    return eachResource(secrets, (s) => {
      const mine = rotations.filter((r) => refersTo(r.inputs.secretId, s));
      if (!mine.length) return ["has no SecretRotation"];
      const days = mine.map((r) => asNumber(field(r.inputs, "rotationRules.automaticallyAfterDays")));
      const schedule = mine.some((r) => asString(field(r.inputs, "rotationRules.scheduleExpression")));
      return [!schedule && !days.some((d) => d !== undefined && d <= 90) && "rotation is not scheduled within 90 days"];
    });
  },
};

/**
 * Secrets and SecureString parameters are encrypted with a customer-managed
 * KMS key, whose key policy (not only IAM) decides who can decrypt.
 * Refs: CKV_AWS_149, AVD-AWS-0098, CKV_AWS_337.
 */
export const secretsCmk: Check = {
  id: "secrets-cmk",
  title: "Secrets and SecureString parameters use a customer-managed KMS key",
  refs: ["CKV_AWS_149", "AVD-AWS-0098", "CKV_AWS_337"],
  description: "With the AWS-managed key, anyone with broad IAM read can decrypt; a CMK's key policy adds a second gate.",
  run(plan) {
    const secrets = ofType(plan, T.secret);
    const secure = ofType(plan, T.ssmParameter).filter((p) => asString(p.inputs.type) === "SecureString");
    if (!secrets.length && !secure.length) return notApplicable("no Secrets Manager secret or SecureString parameter in this plan");
    return [
      ...eachResource(secrets, (s) => [!s.inputs.kmsKeyId && "kmsKeyId is not set"]),
      ...eachResource(secure, (p) => [!p.inputs.keyId && "keyId is not set"]),
    ];
  },
};

/** A GetSecretValue Resource is specific when it names a secret (a trailing `-*`/`-??????` suffix for the random ARN part is fine). */
export function isSpecificSecretArn(resource: string): boolean {
  if (resource === "*") return false;
  const name = resource.split(":secret:")[1];
  if (name === undefined) return !resource.includes("*");
  return name.length > 0 && !/^[*?]/.test(name);
}

/**
 * `secretsmanager:GetSecretValue` only on named secret ARNs, never `*`,
 * so each role reads only its own app's secrets. Refs: WA SEC03-BP02.
 */
export const secretsGetValueScoped: Check = {
  id: "secrets-get-value-scoped",
  title: "GetSecretValue is granted only on specific secret ARNs",
  refs: ["WA SEC03-BP02"],
  description: "A role that can read every secret turns one compromised box into every credential in the account.",
  run(plan: PlanUnderTest) {
    const granted = statementsOf(identityPolicies(plan)).flatMap(({ source, statements, error }) => [
      ...(error ? [{ source, message: error }] : []),
      ...statements
        .filter((st) => allows(st, "secretsmanager:GetSecretValue"))
        .map((st) => {
          const broad = st.notResources.length > 0 || st.resources.length === 0 || !st.resources.every(isSpecificSecretArn);
          return { source, message: broad ? `${source.where} ${describe(st)} grants GetSecretValue on ${JSON.stringify(st.notResources.length ? { NotResource: st.notResources } : st.resources)}` : undefined };
        }),
    ]);
    if (!granted.length) return notApplicable("no identity policy grants secretsmanager:GetSecretValue");
    return granted.filter((g) => g.message).map((g) => finding(g.source.resource, g.message!));
  },
};

export const SECRETS_CHECKS: Check[] = [secretsStayEncrypted, secretsRotation, secretsCmk, secretsGetValueScoped];
