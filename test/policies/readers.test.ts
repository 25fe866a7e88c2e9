/**
 * The readers the checks rely on: reference matching, secret collection,
 * IAM document parsing, security-group rule normalisation, and the parsers
 * for rendered server files.
 */
import { ec2NoSecretsInUserData } from "../../policies/checks/ec2";
import { s3AccessLogs, s3PublicAccessBlock, s3Versioning } from "../../policies/checks/s3";
import { identifiers, refersTo, secretStrings, tagsOf } from "../../policies/plan-queries";
import { allows, isWildcardResource, parsePolicy, wildcardMatches } from "../../policies/policy-documents";
import { allRules, coversPort, isAllPorts } from "../../policies/security-group-rules";
import {
  findDirectives,
  nginxSeconds,
  nginxSizeMb,
  parseEnvFile,
  parseIni,
  parseNginx,
  parsePythonAssignments,
  pyNumber,
  pyStrings,
  roleFiles,
} from "../../policies/server-files";
import { SecretValue, UNKNOWN } from "../../policies/types";
import { envLine } from "../../server/quote";
import { asBool, asNumber, field } from "../../policies/values";
import { physicallyNamedBucket } from "./cases/rds-and-s3";
import { arn, id, loadBalancedPlan, plan, res, set, singleBoxPlan } from "./fixtures";

describe("references", () => {
  const bucket = res("aws:s3/bucket:Bucket", "media", { bucket: "shop-media" });

  test("mock ids, mock ARNs and physical names refer to the resource", () => {
    expect(refersTo("media-id", bucket)).toBe(true);
    expect(refersTo(arn("s3", "media"), bucket)).toBe(true);
    expect(refersTo("shop-media", bucket)).toBe(true);
    expect(refersTo("arn:aws:s3:::shop-media", bucket)).toBe(true);
  });

  test("other names do not", () => {
    expect(refersTo("logs-id", bucket)).toBe(false);
    expect(refersTo(arn("s3", "shop-media-old"), bucket)).toBe(false);
    expect(refersTo(arn("s3", "old-media"), bucket)).toBe(false);
    expect(refersTo(undefined, bucket)).toBe(false);
  });

  test("captured ids and outputs are matched too", () => {
    const q = { ...res("aws:sqs/queue:Queue", "tasks"), id: "https://sqs.us-east-1.amazonaws.com/1/tasks-abc", outputs: { arn: "arn:aws:sqs:us-east-1:1:tasks-abc" } };
    expect(identifiers(q)).toEqual(new Set(["tasks-id", "tasks", "https://sqs.us-east-1.amazonaws.com/1/tasks-abc", "arn:aws:sqs:us-east-1:1:tasks-abc"]));
    expect(refersTo("arn:aws:sqs:us-east-1:1:tasks-abc", q)).toBe(true);
  });

  test("companions found by a bucket's physical name", () => {
    const p = physicallyNamedBucket();
    expect(s3PublicAccessBlock.run(p)).toEqual([]);
    expect(s3Versioning.run(p)).toEqual([]);
    expect(s3AccessLogs.run(p)).toEqual([]);
  });

  test("tags as a map and as ASG's list", () => {
    expect(tagsOf(res("t", "a", { tags: { a: "1" } }))).toEqual({ a: "1" });
    expect(tagsOf(res("t", "b", { tags: [{ key: "a", value: "1", propagateAtLaunch: true }] }))).toEqual({ a: "1" });
  });
});

describe("values", () => {
  test("secrets are unwrapped, strings coerced, unknowns never read as set", () => {
    expect(asBool(new SecretValue(true))).toBe(true);
    expect(asBool("true")).toBe(true);
    expect(asBool(UNKNOWN)).toBeUndefined();
    expect(asNumber("7")).toBe(7);
    expect(asNumber(UNKNOWN)).toBeUndefined();
    expect(field({ a: [{ b: 1 }] }, "a.b")).toBe(1);
  });

  test("secret strings include a JSON secret's secret-looking values, not its usernames", () => {
    const p = plan([
      res("aws:secretsmanager/secretVersion:SecretVersion", "v", {
        secretString: new SecretValue(JSON.stringify({ username: "shop_admin_user", password: "pa55word-long-enough" })),
      }),
      res("x", "y", { token: new SecretValue("short") }),
    ]);
    const found = secretStrings(p);
    expect(found).toContain("pa55word-long-enough");
    expect(found).not.toContain("shop_admin_user");
    expect(found).not.toContain("short");
  });

  test("unknown user data cannot be vouched for", () => {
    const p = set(singleBoxPlan(), "box", "userData", UNKNOWN);
    expect(ec2NoSecretsInUserData.run(p)).toEqual([expect.objectContaining({ message: expect.stringMatching(/not known until deploy/) })]);
  });
});

describe("policy documents", () => {
  test("one-or-many fields become lists; principals and conditions are normalised", () => {
    const parsed = parsePolicy(
      JSON.stringify({
        Statement: {
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "s3:*",
          Resource: "arn:aws:s3:::b/*",
          Condition: { Bool: { "aws:SecureTransport": false } },
        },
      }),
    );
    expect(parsed).toEqual({
      statements: [
        {
          sid: undefined,
          effect: "Deny",
          actions: ["s3:*"],
          notActions: [],
          resources: ["arn:aws:s3:::b/*"],
          notResources: [],
          principals: { anyone: true, aws: ["*"], service: [], federated: [] },
          conditions: { Bool: { "aws:securetransport": ["false"] } },
        },
      ],
    });
  });

  test("documents given as objects, malformed and unknown documents", () => {
    expect(parsePolicy({ Statement: [] })).toEqual({ statements: [] });
    expect(parsePolicy("{not json")).toEqual({ error: "the policy is not valid JSON" });
    expect(parsePolicy(UNKNOWN)).toEqual({ error: expect.stringMatching(/not known until deploy/) });
  });

  test("IAM wildcards and NotAction", () => {
    expect(wildcardMatches("s3:Get*", "s3:GetObject")).toBe(true);
    expect(wildcardMatches("S3:GETOBJECT", "s3:GetObject")).toBe(true);
    expect(wildcardMatches("s3:Put*", "s3:GetObject")).toBe(false);
    const [st] = (parsePolicy({ Statement: [{ Effect: "Allow", NotAction: "iam:*", Resource: "*" }] }) as { statements: never[] }).statements;
    expect(allows(st, "secretsmanager:GetSecretValue")).toBe(true);
    expect(allows(st, "iam:CreateUser")).toBe(false);
  });

  test("wildcard resources", () => {
    expect(isWildcardResource("*")).toBe(true);
    expect(isWildcardResource("arn:aws:s3:::*")).toBe(true);
    expect(isWildcardResource("arn:aws:s3:::*/*")).toBe(true);
    expect(isWildcardResource("arn:aws:sqs:*:*:*")).toBe(true);
    expect(isWildcardResource("arn:aws:secretsmanager:us-east-1:1:secret:*")).toBe(true);
    expect(isWildcardResource("arn:aws:s3:::media/*")).toBe(false);
    expect(isWildcardResource("arn:aws:sqs:us-east-1:1:tasks")).toBe(false);
  });
});

describe("security-group rules", () => {
  test("inline, standalone and legacy rules read alike", () => {
    const p = plan([
      res("aws:ec2/securityGroup:SecurityGroup", "g", { ingress: [{ protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["0.0.0.0/0"], description: "web" }] }),
      res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r1", { securityGroupId: id("g"), ipProtocol: "-1", referencedSecurityGroupId: id("g") }),
      res("aws:ec2/securityGroupRule:SecurityGroupRule", "r2", { type: "egress", securityGroupId: id("g"), protocol: "tcp", fromPort: 0, toPort: 65535, cidrBlocks: ["10.0.0.0/8"] }),
    ]);
    const rules = allRules(p);
    expect(rules.map((r) => [r.where, r.direction, r.group?.name])).toEqual([
      ["ingress[0]", "ingress", "g"],
      ["r1", "ingress", "g"],
      ["r2", "egress", "g"],
    ]);
    expect(coversPort(rules[0], 80)).toBe(true);
    expect(coversPort(rules[0], 443)).toBe(false);
    expect(isAllPorts(rules[1])).toBe(true);
    expect(rules[1].peerGroups[0].group?.name).toBe("g");
    expect(isAllPorts(rules[2])).toBe(true);
  });
});

describe("server file parsers", () => {
  test("nginx: blocks, quotes, comments", () => {
    const tree = parseNginx(`# top
http {
  server_tokens off; # trailing
  server {
    listen 80 default_server;
    location = /healthz { return 200 "ok;\\n"; }
    location / { proxy_set_header X-Forwarded-Proto $scheme; proxy_pass http://app; }
  }
}`);
    expect(tree[0].name).toBe("http");
    const returns = findDirectives(tree, "return");
    expect(returns[0].directive.args).toEqual(["200", "ok;n"]);
    expect(returns[0].ancestors.map((a) => [a.name, ...a.args].join(" "))).toEqual(["http", "server", "location = /healthz"]);
    expect(findDirectives(tree, "proxy_pass")[0].ancestors.at(-1)!.args).toEqual(["/"]);
  });

  test("nginx sizes and times", () => {
    expect(nginxSizeMb("25m")).toBe(25);
    expect(nginxSizeMb("1g")).toBe(1024);
    expect(nginxSizeMb("512k")).toBe(0.5);
    expect(nginxSizeMb("0")).toBe(Infinity);
    expect(nginxSizeMb("lots")).toBeUndefined();
    expect(nginxSeconds("75s")).toBe(75);
    expect(nginxSeconds("2m")).toBe(120);
    expect(nginxSeconds("60")).toBe(60);
  });

  test("gunicorn config: top-level assignments only", () => {
    const a = parsePythonAssignments('import os\nbind = ["unix:/run/a.sock", "127.0.0.1:8000"]  # both\ntimeout = 30\ndef f():\n    timeout = 99\n');
    expect(pyNumber(a.timeout)).toBe(30);
    expect(pyStrings(a.bind)).toEqual(["unix:/run/a.sock", "127.0.0.1:8000"]);
  });

  test("supervisor INI: sections, comments, continuation lines", () => {
    const ini = parseIni("; comment\n[program:a-web]\ncommand=gunicorn\n  --workers 3\nstopwaitsecs = 35 ; seconds\n[supervisord]\nnodaemon=true\n");
    expect(ini["program:a-web"]).toEqual({ command: "gunicorn\n--workers 3", stopwaitsecs: "35" });
    expect(ini.supervisord).toEqual({ nodaemon: "true" });
  });

  test("env files: export, quotes, comments", () => {
    expect(parseEnvFile('# c\nexport A=1\nB="two words"\nC=\nnot a line\n')).toEqual({ A: "1", B: "two words", C: "" });
  });

  test("env files read shell-quoted values back as bash would (server/quote.ts writes them)", () => {
    const hostile = `it's "quoted" $HOME \\ a=b`;
    expect(parseEnvFile(`${envLine("H", hostile)}\n${envLine("P", "plain")}\n${envLine("E", "")}\n`)).toEqual({ H: hostile, P: "plain", E: "" });
  });

  test("files are grouped by role and app from their fixed paths", () => {
    const [role] = roleFiles(loadBalancedPlan());
    expect(role.role).toBe("app-fleet");
    expect(role.nginxGlobal?.path).toBe("/etc/nginx/conf.d/django-tiers.conf");
    expect(role.apps.map((a) => [a.app, !!a.site, !!a.gunicorn, !!a.supervisor, !!a.env])).toEqual([["shop", true, true, true, true]]);
  });
});
