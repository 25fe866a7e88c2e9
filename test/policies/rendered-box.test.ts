/**
 * The server-file checks against what server/ really renders (not only our
 * fixture texts): every variant of a single box passes, and its gzip+base64
 * user data passes the user-data check. A change in server/ that breaks a
 * convention the checks read (paths, program names, directives) fails here.
 */
import { ec2NoSecretsInUserData } from "../../policies/checks/ec2";
import { SERVER_FILE_CHECKS } from "../../policies/checks/server-files";
import { runChecks } from "../../policies";
import { SecretValue } from "../../policies/types";
import { renderBox, renderUserDataBase64 } from "../../server";
import type { BoxSpec } from "../../server/types";
import { fixtureSpec, VARIANTS as SERVER_VARIANTS } from "../server/fixtures";
import { plan, res } from "./fixtures";

// The server tests' fixtures: every variant they run through the real tools, checked here by the policies.
const VARIANTS: [string, BoxSpec][] = SERVER_VARIANTS.map((v) => [v.label, fixtureSpec(v.options)]);

describe.each(VARIANTS)("rendered box: %s", (_label, boxSpec) => {
  test("passes every server-file check that applies", () => {
    const results = runChecks(plan([], { tier: "single-box", environment: "dev", serverFiles: { "single-box": renderBox(boxSpec) } }), SERVER_FILE_CHECKS);
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`)).toEqual([]);
    // The checks did read the files: most of them apply.
    expect(results.filter((r) => r.status === "pass").length).toBeGreaterThanOrEqual(10);
  });

  test("its user data carries no secret of the plan", () => {
    const p = plan([
      res("aws:ec2/instance:Instance", "box", { userDataBase64: renderUserDataBase64(boxSpec) }),
      res("aws:secretsmanager/secretVersion:SecretVersion", "v", { secretString: new SecretValue('{"DJANGO_SECRET_KEY":"a-very-long-secret-key-value"}') }),
    ]);
    expect(ec2NoSecretsInUserData.run(p)).toEqual([]);
  });
});

test("a secret that slipped into the rendered files is found in the user data", () => {
  const boxSpec = VARIANTS[0][1];
  // The provisioning script is in the user data (the rest of the box comes with its configuration document).
  const leaked = { ...boxSpec, artifactsBucket: "leakedsecret0123456789" };
  const p = plan([
    res("aws:ec2/instance:Instance", "box", { userDataBase64: renderUserDataBase64(leaked) }),
    res("aws:secretsmanager/secretVersion:SecretVersion", "v", { secretString: new SecretValue("leakedsecret0123456789") }),
  ]);
  expect(ec2NoSecretsInUserData.run(p)).toEqual([expect.objectContaining({ message: expect.stringMatching(/userDataBase64 contains the plain value of a Pulumi secret/) })]);
});
