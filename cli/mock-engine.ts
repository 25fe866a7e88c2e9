/**
 * Runs a Pulumi program under Pulumi's mock engine and records every
 * resource it declares: type, name, parent, inputs (secrets marked), and the
 * resource options that matter to our checks. This is what `npm run plan`
 * and the unit tests stand on; no Pulumi CLI, no cloud, no credentials.
 *
 * `setMocks` alone gives tests the type, name and inputs of a resource but
 * not its parent or options, so we wrap the mock monitor's
 * `registerResource` (an internal API; see DESIGN.md) and read them off the
 * request.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { PlannedResource, SecretValue, UNKNOWN } from "../policies/types";

export const MOCK_ACCOUNT = "123456789012";

export interface MockEngineOptions {
  project: string;
  stack: string;
  region?: string;
  /** Run as a preview (unknowns stay unknown) instead of as an update. */
  preview?: boolean;
  /**
   * The outputs of other stacks, by fully qualified stack name
   * (`org/project/stack`), that `pulumi.StackReference`s read. A value given
   * as a `SecretValue` is a secret output (`requireOutput` returns a secret).
   * Without this option a StackReference gets no outputs; with it, a
   * reference to a stack not listed fails as `pulumi up` would.
   */
  stackOutputs?: Record<string, Record<string, unknown>>;
}

/** The state the engine returns for a StackReference: its outputs (secrets as secrets) and their secret names. */
function stackReferenceState(stackName: string, stackOutputs: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const outputs = stackOutputs[stackName];
  if (!outputs) throw new Error(`unknown stack "${stackName}": the mock engine knows ${Object.keys(stackOutputs).join(", ") || "no stack"}`);
  return {
    name: stackName,
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v instanceof SecretValue ? pulumi.secret(v.value) : v])),
    secretOutputNames: Object.entries(outputs).filter(([, v]) => v instanceof SecretValue).map(([k]) => k),
  };
}

/** The computed attributes other resources refer to a resource by (see policies/plan-queries.ts `identifiers`). */
const IDENTIFYING_OUTPUTS = ["arn", "name", "url", "bucket", "arnSuffix", "identifier", "replicationGroupId", "bucketDomainName", "bucketRegionalDomainName", "dnsName"];

/** A PEM block around a clearly fake body, for the mock tls and Origin CA outputs. */
function fakePem(label: string, body: string): string {
  return `-----BEGIN ${label}-----\nFAKE-${body}\n-----END ${label}-----\n`;
}

/** Values the mock cloud returns for ids and computed attributes. */
function computedState(type: string, name: string, inputs: Record<string, any>, region: string): Record<string, unknown> {
  const [pkg, mod] = type.split(":");
  const service = (mod ?? "").split("/")[0];
  // @pulumi/aws 7 takes a per-resource `region` (CloudFront's certificate and WAF in us-east-1): its ARN says that region.
  const arn = `arn:aws:${service}:${inputs.region ?? region}:${MOCK_ACCOUNT}:${name}`;
  const state: Record<string, unknown> = { ...inputs };
  if (pkg === "aws") {
    state.arn = inputs.arn ?? arn;
    // Providers auto-name resources that were given no name; the mock uses the logical name.
    if (inputs.name === undefined) state.name = name;
  }
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      // Recognisable, so a leak check can search for it, and long enough to pass Django's W009.
      state.result = `mock-secret-${name}-`.padEnd(Math.max(16, inputs.length ?? 50), "x7Qz");
      break;
    case "aws:secretsmanager/secretVersion:SecretVersion":
      // AWS gives each value a random id; offline, one per resource (never derived from the value).
      state.versionId = `mock-version-${name}`;
      break;
    case "aws:s3/bucket:Bucket":
      state.bucket = inputs.bucket ?? `${name}-bucket`;
      state.bucketRegionalDomainName = `${state.bucket}.s3.${region}.amazonaws.com`;
      state.bucketDomainName = `${state.bucket}.s3.amazonaws.com`;
      break;
    case "aws:ec2/instance:Instance":
      state.privateIp = "10.0.1.10";
      state.publicDns = `ec2-203-0-113-10.${region}.compute.amazonaws.com`;
      state.publicIp = "203.0.113.10";
      break;
    case "aws:ec2/eip:Eip":
      state.publicIp = "203.0.113.20";
      state.publicDns = `ec2-203-0-113-20.${region}.compute.amazonaws.com`;
      break;
    case "aws:ec2/vpc:Vpc":
      state.defaultSecurityGroupId = `${name}-default-sg`;
      break;
    case "aws:rds/instance:Instance":
      state.address = `${name}.abcdefgh1234.${region}.rds.amazonaws.com`;
      state.endpoint = `${state.address}:${inputs.port ?? 5432}`;
      state.identifier = inputs.identifier ?? name;
      break;
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      state.primaryEndpointAddress = `master.${name}.abcdef.use1.cache.amazonaws.com`;
      break;
    case "aws:kms/key:Key":
      state.keyId = `${name}-key-id`;
      break;
    case "aws:ssm/parameter:Parameter":
      state.name = inputs.name ?? name;
      break;
    case "aws:lb/loadBalancer:LoadBalancer":
      state.arnSuffix = `app/${name}/50dc6c495c0c9188`;
      state.dnsName = `${name}-1234567890.${region}.elb.amazonaws.com`;
      state.zoneId = "Z35SXDOTRQ7X7K";
      break;
    case "aws:lb/targetGroup:TargetGroup":
      state.arnSuffix = `targetgroup/${name}/943f017f100becff`;
      break;
    case "aws:acm/certificate:Certificate": {
      const domains: string[] = [inputs.domainName, ...(inputs.subjectAlternativeNames ?? [])].filter(Boolean);
      state.domainValidationOptions = domains.map((d) => {
        const base = d.replace(/^\*\./, "");
        return { domainName: d, resourceRecordName: `_a1b2.${base}.`, resourceRecordType: "CNAME", resourceRecordValue: `_c3d4.${base}.acm-validations.aws.` };
      });
      break;
    }
    case "aws:autoscaling/group:Group":
      state.arn = `arn:aws:autoscaling:${region}:${MOCK_ACCOUNT}:autoScalingGroup:mock:autoScalingGroupName/${inputs.name ?? name}`;
      break;
    case "aws:ec2/launchTemplate:LaunchTemplate":
      // AWS numbers a changed template anew: a content-derived number lets a plan show the group follow it.
      state.latestVersion = 1 + (parseInt(createHash("sha256").update(JSON.stringify(inputs)).digest("hex").slice(0, 6), 16) % 999);
      break;
    case "aws:cloudfront/distribution:Distribution":
      state.domainName = `d111111abcdef8.cloudfront.net`;
      state.hostedZoneId = "Z2FDTNDATAQYW2";
      state.arn = `arn:aws:cloudfront::${MOCK_ACCOUNT}:distribution/${name}`;
      break;
    case "aws:sqs/queue:Queue":
      state.url = `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT}/${inputs.name ?? name}`;
      state.arn = `arn:aws:sqs:${region}:${MOCK_ACCOUNT}:${inputs.name ?? name}`;
      break;
    // PEM-shaped but plainly fake (not base64 of anything): nothing may parse them as keys. The private
    // key carries the leak marker of the random values, so the same checks find a copy of it.
    case "tls:index/privateKey:PrivateKey":
      state.privateKeyPem = fakePem("EC PRIVATE KEY", `mock-secret-${name}-private-key`);
      state.privateKeyPemPkcs8 = fakePem("PRIVATE KEY", `mock-secret-${name}-private-key-pkcs8`);
      state.privateKeyOpenssh = fakePem("OPENSSH PRIVATE KEY", `mock-secret-${name}-private-key-openssh`);
      state.publicKeyPem = fakePem("PUBLIC KEY", `mock-${name}-public-key`);
      state.publicKeyOpenssh = `ecdsa-sha2-nistp256 MOCK-${name}-public-key\n`;
      state.publicKeyFingerprintSha256 = `SHA256:mock-${name}`;
      state.publicKeyFingerprintMd5 = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
      break;
    case "tls:index/certRequest:CertRequest":
      state.certRequestPem = fakePem("CERTIFICATE REQUEST", `mock-${name}-for-${(inputs.dnsNames ?? []).join(",")}`);
      state.keyAlgorithm = "ECDSA";
      break;
    case "cloudflare:index/originCaCertificate:OriginCaCertificate":
      state.certificate = fakePem("CERTIFICATE", `mock-origin-ca-${name}-for-${(inputs.hostnames ?? []).join(",")}`);
      state.expiresOn = "2041-01-01T00:00:00Z";
      break;
  }
  return state;
}

function mockCall(token: string, inputs: Record<string, any>, region: string): Record<string, unknown> {
  switch (token) {
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ["a", "b", "c"].map((z) => `${region}${z}`), zoneIds: ["az1", "az2", "az3"], id: region };
    case "aws:index/getRegion:getRegion":
      return { name: region, region, id: region };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "mock", id: MOCK_ACCOUNT };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
    case "aws:ec2/getAmi:getAmi": {
      const arch = (inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0] ?? "x86_64";
      // A lookup of one image by its exact name finds that image; a pattern finds the mock's newest.
      const exact = (inputs.filters ?? []).find((f: any) => f.name === "name")?.values?.[0];
      if (exact && !exact.includes("*")) return { id: `ami-mock-${exact}`, imageId: `ami-mock-${exact}`, architecture: arch, name: exact };
      return { id: `ami-mock-debian-12-${arch}`, imageId: `ami-mock-debian-12-${arch}`, architecture: arch, name: `debian-12-${arch}-mock` };
    }
    case "aws:ec2/getVpc:getVpc":
      return { id: inputs.id, cidrBlock: "10.20.0.0/16" };
    case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
      return { id: "pl-3b927c52", name: inputs.name };
    default:
      return {};
  }
}

/** Turns the engine's wire form of inputs into plain data with secrets and unknowns marked. */
function markSpecial(value: unknown): unknown {
  const rpc = require("@pulumi/pulumi/runtime/rpc");
  if (value === pulumi.runtime.unknownValue || value === rpc.unknownValue) return UNKNOWN;
  if (Array.isArray(value)) return value.map(markSpecial);
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (v[rpc.specialSigKey] === rpc.specialSecretSig) return new SecretValue(markSpecial(v.value));
    if (pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(v)) out[k] = markSpecial(inner);
    return out;
  }
  return value;
}

export interface MockEngine {
  /** Every resource registered so far, in registration order. */
  resources: PlannedResource[];
  /** The stack's outputs once the program has finished (see `finish`). */
  finish(): Promise<void>;
  /** Forget what was captured (between two programs in one process). */
  reset(): void;
}

/**
 * Installs the mock engine. Call BEFORE the program (or any component) is
 * constructed; config must be set with `setConfig` before the program module
 * is loaded.
 */
export function installMockEngine(opts: MockEngineOptions): MockEngine {
  const region = opts.region ?? "us-east-1";
  const resources: PlannedResource[] = [];
  pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: args.id || `${args.name}-id`,
        state: args.type === "pulumi:pulumi:StackReference" && opts.stackOutputs
          ? stackReferenceState(args.inputs.name ?? args.id, opts.stackOutputs)
          : computedState(args.type, args.name, args.inputs, region),
      }),
      call: (args) => mockCall(args.token, args.inputs, region),
    },
    opts.project,
    opts.stack,
    opts.preview ?? false,
  );
  const rpc = require("@pulumi/pulumi/runtime/rpc");
  const monitor = pulumi.runtime.getMonitor() as any;
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
    const raw = req.getObject().toJavaScript();
    const inputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (v !== undefined) inputs[k] = markSpecial(rpc.deserializeProperty(v, true));
    }
    const type: string = req.getType();
    const entry: PlannedResource = {
      type,
      name: req.getName(),
      urn: "",
      parent: req.getParent() ?? "",
      isProvider: type.startsWith("pulumi:providers:"),
      isComponent: !req.getCustom(),
      inputs,
      options: {
        protect: req.getProtect() === true,
        retainOnDelete: req.getRetainondelete() === true,
        deleteBeforeReplace: req.getDeletebeforereplace() === true,
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        aliases: req.getAliasesList().length + (req.getAliasspecs() ? 1 : 0),
        provider: req.getProvider() ?? "",
        dependsOn: req.getDependenciesList(),
      },
    };
    resources.push(entry);
    return original(req, (err: any, resp: any) => {
      if (!err && resp) {
        entry.urn = resp.getUrn();
        // What the mock cloud computed (ids, ARNs, bucket names; not the echoed inputs, which name other
        // resources): the policies resolve references through it.
        const state: Record<string, unknown> = resp.getObject()?.toJavaScript() ?? {};
        // Only the identifying attributes: other outputs (a generated password) are secrets the plan must not print.
        entry.outputs = Object.fromEntries(
          Object.entries(state)
            .filter(([k]) => !(k in inputs) && IDENTIFYING_OUTPUTS.includes(k))
            .map(([k, v]) => [k, markSpecial(rpc.deserializeProperty(v, true))]),
        );
        if (resp.getId()) entry.id = resp.getId();
      }
      callback(err, resp);
    });
  };
  return {
    resources,
    // Resolves once every outstanding resource registration has been answered.
    finish: () => (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs(),
    reset: () => {
      resources.length = 0;
    },
  };
}

/**
 * Sets the stack's config as `pulumi up` would: keys are `<namespace>:<key>`,
 * values are JSON-compatible; secret keys are marked so `requireSecret` works.
 */
export function setConfig(values: Record<string, unknown>, secretKeys: string[] = []): void {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) flat[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(flat, secretKeys);
}

/** Waits for an Output's value (tests and the plan must await, never assert in `apply`). */
export function unwrap<T>(output: pulumi.Input<T> | pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => { resolve(v as T); return v; }));
}
