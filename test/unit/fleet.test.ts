/**
 * Fleet: the autoscaling groups of the load-balanced tier (blue/green app
 * fleets, task workers), captured under the mock engine and asserted after
 * `engine.finish()`; then every policy check that applies, over them.
 */
import { gunzipSync } from "zlib";
import { installMockEngine, unwrap } from "../../cli/mock-engine";
import { childrenOf, json, named, ofType } from "../helpers";
import { serverSpec } from "./fleet-fixtures";

const engine = installMockEngine({ project: "django-tiers", stack: "prod" });

import * as aws from "@pulumi/aws";
import { DRAIN_HOOK_NAME, Fleet, FleetArgs } from "../../components/fleet";
import { QUEUE_ACTIONS } from "../../components/instance-role";
import { CHECK_GROUPS, runChecks } from "../../policies";
import type { PlannedResource } from "../../policies/types";
import type { RenderedFile } from "../../server/types";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/k";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts";
const TG_BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef";
const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:django-tiers-prod-celery";


const access = {
  artifactsBucket: "artifacts",
  artifactsBucketArn: "arn:aws:s3:::artifacts",
  secretArns: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:mysite"],
  parameterArns: ["arn:aws:ssm:us-east-1:123456789012:parameter/django-tiers/django-tiers/prod/mysite/release"],
  kmsKeyArn: KEY,
  fileBucketArns: ["arn:aws:s3:::mysite-static", "arn:aws:s3:::mysite-media"],
};

let edgeSg: aws.ec2.SecurityGroup;
let natRoute: aws.ec2.RouteTable;
function appFleet(name: string, label: string, over: Partial<FleetArgs> = {}): Fleet {
  return new Fleet(name, {
    role: "app",
    label,
    vpcId: "vpc-1",
    subnetIds: ["subnet-private-a", "subnet-private-b"],
    spec: serverSpec("app"),
    minSize: 2,
    maxSize: 4,
    targetGroupArns: [TG_BLUE],
    ingressFrom: { securityGroupId: edgeSg.id, port: 80, description: "HTTP from the load balancer" },
    access: { ...access, queueArns: [QUEUE_ARN] },
    extraSecurityGroupIds: ["sg-clients"],
    alertTopicArn: TOPIC,
    ...over,
  });
}

const fleets: Record<string, Fleet> = {};
const files: Record<string, RenderedFile[]> = {};
const resourcesOf = (prefix: string) => engine.resources.filter((r) => r.name.startsWith(`${prefix}-`));

beforeAll(async () => {
  // The ALB's group, as the load balancer declares it: the one edge the app fleet admits.
  edgeSg = new aws.ec2.SecurityGroup("alb-sg", { vpcId: "vpc-1", description: "the ALB", tags: { "django-tiers:role": "edge" } });
  fleets.blue = appFleet("blue", "app-blue", { scaling: { targetCpuPercent: 60 }, desiredCapacity: 3, releases: { mysite: "abc123" } });
  fleets.released = appFleet("released", "app-blue", { releases: { mysite: "def456" } });
  fleets.green = appFleet("green", "app-green", { minSize: 0, architecture: "x86_64", instanceType: "t3.small", spec: serverSpec("app", { color: "green" }) });
  fleets.worker = new Fleet("worker", {
    role: "worker",
    label: "worker",
    vpcId: "vpc-1",
    subnetIds: ["subnet-private-a", "subnet-private-b"],
    spec: serverSpec("worker"),
    minSize: 1,
    maxSize: 3,
    drainSeconds: 600,
    access: { ...access, queueArns: [QUEUE_ARN] },
    extraSecurityGroupIds: ["sg-clients"],
    alertTopicArn: TOPIC,
    logRetentionDays: 14,
  });
  // The same label with another spec, and again with the same spec: only the spec decides the version.
  fleets.changed = appFleet("changed", "app-blue", { spec: serverSpec("app", { gunicorn: { timeoutSeconds: 45, gracefulTimeoutSeconds: 30, maxRequests: 1000, maxRequestsJitter: 100 } }) });
  fleets.same = appFleet("same", "app-blue");
  // The NAT route the servers' first boot needs, and fleets pinned to an image by id and by name.
  natRoute = new aws.ec2.RouteTable("private-rt", { vpcId: "vpc-1", routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: "nat-1" }] });
  fleets.routed = appFleet("routed", "app-blue", { waitFor: [natRoute] });
  fleets.pinned = appFleet("pinned", "app-blue", { image: { id: "ami-0123456789abcdef0" } });
  fleets.named = appFleet("named", "app-blue", { image: { name: "debian-12-arm64-20250610-2137" } });
  fleets.rotated = appFleet("rotated", "app-blue", { secretsRotation: "2026-11" });
  await engine.finish();
  for (const [k, f] of Object.entries(fleets)) files[k] = await unwrap(f.files);
});

const tagsOf = (r: PlannedResource) => r.inputs.tags as Record<string, string>;
const version = (prefix: string) => String(named(engine.resources, `${prefix}-config-document`).inputs.key).match(/([0-9a-f]{12})\.json$/)![1];
/** The configuration document's files but the CloudWatch agent's, which names the fleet's own log group. */
const filesButAgent = (prefix: string) =>
  (JSON.parse(String(named(engine.resources, `${prefix}-config-document`).inputs.content)).files as Array<{ path: string }>)
    .filter((f) => !f.path.includes("amazon-cloudwatch-agent"));

describe("app fleet", () => {
  it("admits only the load balancer's group on port 80, and goes out on 80/443 only", () => {
    expect(tagsOf(named(engine.resources, "blue-sg"))).toMatchObject({ "django-tiers:role": "app" });
    const ingress = ofType(resourcesOf("blue"), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(ingress.map((r) => [r.name, r.inputs.referencedSecurityGroupId, r.inputs.fromPort, r.inputs.toPort, r.inputs.cidrIpv4])).toEqual([
      ["blue-in", "alb-sg-id", 80, 80, undefined],
    ]);
    const egress = ofType(resourcesOf("blue"), "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
    expect(egress.map((r) => [r.name, r.inputs.fromPort, r.inputs.cidrIpv4])).toEqual([
      ["blue-out-http", 80, "0.0.0.0/0"],
      ["blue-out-https", 443, "0.0.0.0/0"],
    ]);
  });

  it("launches Debian with IMDSv2 (hop 1), an encrypted throw-away gp3 root, no public IP, monitoring and its profile", () => {
    const lt = named(engine.resources, "blue-lt");
    expect(lt.inputs).toMatchObject({
      imageId: "ami-mock-debian-12-arm64",
      instanceType: "t4g.small",
      iamInstanceProfile: { arn: "arn:aws:iam:us-east-1:123456789012:blue-profile" },
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeType: "gp3", volumeSize: 20, encrypted: "true", kmsKeyId: KEY, deleteOnTermination: "true" } }],
      networkInterfaces: [{ associatePublicIpAddress: "false", securityGroups: ["blue-sg-id", "sg-clients"] }],
      monitoring: { enabled: true },
      updateDefaultVersion: true,
    });
    expect(named(engine.resources, "green-lt").inputs).toMatchObject({ imageId: "ami-mock-debian-12-x86_64", instanceType: "t3.small" });
  });

  it("gives the servers gzipped cloud-config user data that points at their configuration and names no secret", () => {
    const raw = Buffer.from(String(named(engine.resources, "blue-lt").inputs.userData), "base64");
    expect(raw.length).toBeLessThanOrEqual(16384);
    const text = gunzipSync(raw).toString("utf8");
    expect(text.startsWith("#cloud-config")).toBe(true);
    expect(text).toContain("/usr/local/sbin/django-tiers-provision");
    expect(text).toContain("/django-tiers/django-tiers/prod/app-blue/config");
    expect(text).not.toMatch(/mock-secret-/);
  });

  it("is an ELB-checked group in private subnets that refreshes without losing capacity", () => {
    const asg = named(engine.resources, "blue-asg");
    expect(asg.inputs).toMatchObject({
      name: "django-tiers-django-tiers-prod-blue",
      vpcZoneIdentifiers: ["subnet-private-a", "subnet-private-b"],
      minSize: 2,
      maxSize: 4,
      desiredCapacity: 3,
      healthCheckType: "ELB",
      healthCheckGracePeriod: 300,
      defaultInstanceWarmup: 300,
      targetGroupArns: [TG_BLUE],
      instanceRefresh: { strategy: "Rolling", preferences: { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmup: "300", skipMatching: true } },
      instanceMaintenancePolicy: { minHealthyPercentage: 100, maxHealthyPercentage: 200 },
      terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
      waitForCapacityTimeout: "20m",
    });
    // The template's latest version (the mock engine numbers it from the template's inputs), never $Latest:
    // a new version must change the group.
    expect(asg.inputs.launchTemplate).toEqual({ id: "blue-lt-id", version: expect.stringMatching(/^\d+$/) });
    const tags = asg.inputs.tags as { key: string; value: string; propagateAtLaunch: boolean }[];
    expect(tags.every((t) => t.propagateAtLaunch)).toBe(true);
    expect(Object.fromEntries(tags.map((t) => [t.key, t.value]))).toMatchObject({ "django-tiers:role": "app", "django-tiers:fleet": "app-blue", "django-tiers:stack": "prod" });
    // The scaling policy owns the count; a fixed name is replaced delete-first.
    expect(asg.options).toMatchObject({ ignoreChanges: ["desiredCapacity"], deleteBeforeReplace: true });
    expect(named(engine.resources, "green-asg").options.ignoreChanges).toEqual([]);
    expect(named(engine.resources, "green-asg").inputs.desiredCapacity).toBe(0);
  });

  it("tracks a CPU target when asked, and no more", () => {
    expect(named(engine.resources, "blue-cpu-target").inputs).toMatchObject({
      autoscalingGroupName: "django-tiers-django-tiers-prod-blue",
      policyType: "TargetTrackingScaling",
      targetTrackingConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ASGAverageCPUUtilization" }, targetValue: 60 },
    });
    expect(resourcesOf("green").some((r) => r.type === "aws:autoscaling/policy:Policy")).toBe(false);
    expect(resourcesOf("blue").some((r) => r.type === "aws:autoscaling/lifecycleHook:LifecycleHook")).toBe(false);
  });

  it("alarms on high CPU and on fewer servers in service than the minimum (not for an idle colour)", () => {
    expect(named(engine.resources, "blue-below-min").inputs).toMatchObject({
      namespace: "AWS/AutoScaling",
      metricName: "GroupInServiceInstances",
      dimensions: { AutoScalingGroupName: "django-tiers-django-tiers-prod-blue" },
      threshold: 2,
      comparisonOperator: "LessThanThreshold",
      alarmActions: [TOPIC],
    });
    expect(named(engine.resources, "blue-cpu-high").inputs).toMatchObject({ metricName: "CPUUtilization", alarmActions: [TOPIC] });
    expect(resourcesOf("green").map((r) => r.name)).not.toContain("green-below-min");
    expect(named(engine.resources, "blue-asg").inputs.enabledMetrics).toContain("GroupInServiceInstances");
  });

  it("keeps logs with retention and the stack key, and its role reaches no backups", () => {
    expect(named(engine.resources, "blue-logs").inputs).toMatchObject({ name: "/django-tiers/django-tiers/prod/blue", retentionInDays: 30, kmsKeyId: KEY });
    const sids = json(named(engine.resources, "blue-access").inputs.policy).Statement.map((s: any) => s.Sid);
    expect(sids).toEqual(["ReadOwnSecrets", "ReadReleasePointers", "ReadReleaseBundlesAndConfig", "UseStackKey", "ShipLogs", "PublishAgentMetrics", "AgentFindsItsGroup", "StaticAndMediaFiles", "ListStaticAndMediaFiles", "TaskQueues"]);
  });
});

describe("configuration version", () => {
  it("tags instances and volumes with the configuration version, so a new configuration is a new launch template version", () => {
    const v = version("blue");
    expect(v).toMatch(/^[0-9a-f]{12}$/);
    const specs = named(engine.resources, "blue-lt").inputs.tagSpecifications as { resourceType: string; tags: Record<string, string> }[];
    expect(specs.map((s) => s.resourceType)).toEqual(["instance", "volume"]);
    for (const s of specs) expect(s.tags).toMatchObject({ "django-tiers:config": v, "django-tiers:role": "app", "django-tiers:fleet": "app-blue", "django-tiers:project": "django-tiers" });
  });

  it("changes with the spec and only with it", async () => {
    expect(version("changed")).not.toBe(version("blue"));
    expect(filesButAgent("changed")).not.toEqual(filesButAgent("blue"));
    // The same spec in another fleet: the same files, but for the agent's log group (each fleet has its own).
    expect(filesButAgent("same")).toEqual(filesButAgent("blue"));
    expect(await unwrap(fleets.blue.configVersion)).toBe(version("blue"));
    const tagOf = (prefix: string) => (named(engine.resources, `${prefix}-lt`).inputs.tagSpecifications as any[])[0].tags["django-tiers:config"];
    expect(tagOf("changed")).toBe(version("changed"));
    expect(tagOf("same")).toBe(version("same"));
  });

  it("tags the release versions, so a release is a new launch template version even with the same configuration", () => {
    const tags = (prefix: string) => (named(engine.resources, `${prefix}-lt`).inputs.tagSpecifications as any[])[0].tags;
    expect(tags("blue")["django-tiers:release:mysite"]).toBe("abc123");
    expect(tags("released")["django-tiers:release:mysite"]).toBe("def456");
    expect(filesButAgent("released")).toEqual(filesButAgent("blue"));
    expect(tags("same")["django-tiers:release:mysite"]).toBeUndefined();
  });

  it("names the configuration after the label", () => {
    expect(named(engine.resources, "blue-config-pointer").inputs.name).toBe("/django-tiers/django-tiers/prod/app-blue/config");
    expect(String(named(engine.resources, "worker-config-document").inputs.key)).toMatch(/^config\/worker\/[0-9a-f]{12}\.json$/);
  });
});

describe("worker fleet", () => {
  it("takes no traffic: no ingress rule, EC2 health checks, no target group", () => {
    expect(tagsOf(named(engine.resources, "worker-sg"))).toMatchObject({ "django-tiers:role": "worker" });
    expect(ofType(resourcesOf("worker"), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toEqual([]);
    const asg = named(engine.resources, "worker-asg");
    expect(asg.inputs.healthCheckType).toBe("EC2");
    expect(asg.inputs.targetGroupArns).toBeUndefined();
  });

  it("holds a terminating worker in a lifecycle hook while its tasks finish", () => {
    expect(named(engine.resources, "worker-drain").inputs).toMatchObject({
      name: DRAIN_HOOK_NAME,
      autoscalingGroupName: "django-tiers-django-tiers-prod-worker",
      lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      heartbeatTimeout: 660,
      defaultResult: "CONTINUE",
    });
  });

  it("lets the worker complete the hook on its own group only, and use exactly its queues", () => {
    const statements = json(named(engine.resources, "worker-access").inputs.policy).Statement;
    const byId = Object.fromEntries(statements.map((s: any) => [s.Sid, s]));
    expect(byId.DrainBeforeTermination).toEqual({
      Sid: "DrainBeforeTermination",
      Effect: "Allow",
      Action: ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
      Resource: ["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:autoScalingGroupName/django-tiers-django-tiers-prod-worker"],
    });
    expect(byId.TaskQueues).toEqual({ Sid: "TaskQueues", Effect: "Allow", Action: [...QUEUE_ACTIONS], Resource: [QUEUE_ARN] });
    // Only the agent's two permissions take "*" (neither has resource-level permissions), and metrics only in its namespace.
    for (const s of statements.filter((x: any) => !["PublishAgentMetrics", "AgentFindsItsGroup"].includes(x.Sid))) expect(s.Resource).not.toContain("*");
    expect(byId.PublishAgentMetrics).toMatchObject({ Action: ["cloudwatch:PutMetricData"], Condition: { StringEquals: { "cloudwatch:namespace": "CWAgent" } } });
    expect(byId.AgentFindsItsGroup.Action).toEqual(["ec2:DescribeTags"]);
  });

  it("tells the server which hook to complete", () => {
    const drain = files.worker.find((f) => f.path === "/usr/local/sbin/django-tiers-drain");
    expect(drain?.content).toContain("django-tiers-django-tiers-prod-worker");
    expect(drain?.content).toContain(DRAIN_HOOK_NAME);
    expect(files.blue.some((f) => f.path === "/usr/local/sbin/django-tiers-drain")).toBe(false);
  });
});

describe("secret rotation", () => {
  it("tags the rotation label on the instances, so a rotation is a new launch template version and every server is replaced", () => {
    const tags = (name: string) => (named(engine.resources, name).inputs.tagSpecifications as Array<{ tags: Record<string, string> }>).map((t) => t.tags["django-tiers:secrets"]);
    expect(tags("rotated-lt")).toEqual(["2026-11", "2026-11"]);
    expect(tags("same-lt")).toEqual([undefined, undefined]);
  });
});

describe("image and ordering", () => {
  it("keeps the image an unpinned fleet was created with: a newer Debian image is no change", () => {
    expect(named(engine.resources, "blue-lt").options.ignoreChanges).toEqual(["imageId"]);
  });

  it("boots a pinned image, by id or by Debian's name, and follows a change of it", () => {
    const pinned = named(engine.resources, "pinned-lt");
    expect(pinned.inputs.imageId).toBe("ami-0123456789abcdef0");
    expect(pinned.options.ignoreChanges).toEqual([]);
    // The mock cloud finds an image looked up by its exact name as ami-mock-<name>.
    const byName = named(engine.resources, "named-lt");
    expect(byName.inputs.imageId).toBe("ami-mock-debian-12-arm64-20250610-2137");
    expect(byName.options.ignoreChanges).toEqual([]);
  });

  it("launches no server before what its first boot needs (the NAT route) exists", () => {
    const routeUrn = named(engine.resources, "private-rt").urn;
    expect(named(engine.resources, "routed-asg").options.dependsOn).toContain(routeUrn);
    expect(named(engine.resources, "blue-asg").options.dependsOn).not.toContain(routeUrn);
  });
});

describe("every fleet", () => {
  it("parents every child under its fleet", () => {
    for (const prefix of Object.keys(fleets)) {
      const component = engine.resources.find((r) => r.name === prefix && r.type === "django-tiers:index:Fleet")!;
      expect(component).toBeDefined();
      const own = resourcesOf(prefix).filter((r) => !r.name.startsWith(`${prefix}-config-`));
      expect(own.length).toBeGreaterThan(10);
      for (const r of own) expect([r.name, r.parent]).toEqual([r.name, component.urn]);
      expect(childrenOf(engine.resources, component).map((r) => r.name)).toContain(`${prefix}-config`);
    }
  });

  it("passes every policy check that applies", () => {
    const plan = {
      tier: "load-balanced",
      environment: "prod" as const,
      resources: engine.resources,
      serverFiles: { "app-blue": files.blue, "app-green": files.green, worker: files.worker },
      relaxations: [],
    };
    // The resource checks; the rendered files are there for the checks that read them (sqs-visibility-timeout).
    // The server-file checks judge server/'s output with the whole tier (an ALB) in view: test/policies runs them.
    const results = runChecks(plan, CHECK_GROUPS.filter((g) => g.group !== "Server files").flatMap((g) => g.checks));
    expect(results.filter((r) => r.status === "fail").map((r) => `${r.id}: ${r.findings.map((f) => `${f.subject} ${f.message}`).join("; ")}`)).toEqual([]);
    const passed = results.filter((r) => r.status === "pass").map((r) => r.id);
    expect(passed).toEqual(expect.arrayContaining([
      "ec2-imdsv2", "ec2-imds-hop-limit", "ec2-volumes-encrypted", "ec2-no-public-ip", "ec2-detailed-monitoring",
      "ec2-no-secrets-in-user-data", "ec2-instance-profile", "sg-app-from-edge-only", "sg-world-only-web-on-edge", "sg-descriptions",
      "asg-elb-health-check", "alb-multi-az", "iam-no-admin", "logs-retention", "logs-kms", "alarms-notify",
    ]));
  });
});

describe("bad arguments", () => {
  const base = (): FleetArgs => ({
    role: "worker",
    label: "worker",
    vpcId: "vpc-1",
    subnetIds: ["a", "b"],
    spec: serverSpec("worker"),
    minSize: 1,
    maxSize: 2,
    access,
    alertTopicArn: TOPIC,
  });
  it.each<[string, Partial<FleetArgs>, RegExp]>([
    ["min above max", { minSize: 3, maxSize: 2 }, /Fleet bad-min-above-max: minSize \(3\) must not exceed maxSize \(2\)/],
    ["negative min", { minSize: -1 }, /minSize must be a whole number ≥ 0 \(got -1\)/],
    ["max of zero", { minSize: 0, maxSize: 0 }, /maxSize must be a whole number ≥ 1 \(got 0\)/],
    ["desired outside the range", { desiredCapacity: 5 }, /desiredCapacity must be a whole number from minSize \(1\) to maxSize \(2\) \(got 5\)/],
    ["one subnet", { subnetIds: ["a"] }, /subnetIds must name private subnets in at least two availability zones/],
    ["a worker in a target group", { targetGroupArns: [TG_BLUE] }, /targetGroupArns is only for role "app"/],
    ["a worker with ingress", { ingressFrom: { securityGroupId: "sg-1", port: 80, description: "x" } }, /ingressFrom is only for role "app"/],
    ["an app outside a target group", { role: "app", spec: serverSpec("app"), ingressFrom: { securityGroupId: "sg-1", port: 80, description: "x" } }, /targetGroupArns must name the colour's target group for role "app"/],
    ["an app without ingress", { role: "app", spec: serverSpec("app"), targetGroupArns: [TG_BLUE] }, /ingressFrom must name the load balancer's security group/],
    ["a draining app", { role: "app", spec: serverSpec("app"), targetGroupArns: [TG_BLUE], ingressFrom: { securityGroupId: "sg-1", port: 80, description: "x" }, drainSeconds: 60 }, /drainSeconds is only for role "worker"/],
    ["a spec of another role", { spec: serverSpec("app") }, /spec.role must be the fleet's role "worker" \(got "app"\)/],
    ["a bad label", { label: "Worker 1" }, /label must match/],
    ["a bad release version", { releases: { mysite: "v 1" } }, /releases: "mysite" → "v 1" is not an app name and a release version/],
    ["a CPU target above 100", { scaling: { targetCpuPercent: 150 } }, /scaling.targetCpuPercent must be above 0 and at most 100/],
    ["a bad rotation label", { secretsRotation: "nov 2026" }, /secretsRotation must be 1–64 characters of \[A-Za-z0-9._-\] \(got "nov 2026"\)/],
    ["a malformed image id", { image: { id: "ami-12345" } }, /image.id must be an AMI id, ami- and 8 or 17 hexadecimal digits \(got "ami-12345"\)/],
    ["an image of another architecture", { image: { name: "debian-12-amd64-20250610-2137" } }, /image.name must name an official Debian 12 arm64 image, like debian-12-arm64-20250610-2137 \(got "debian-12-amd64-20250610-2137"\)/],
  ])("refuses %s, naming the argument", async (what, over, message) => {
    const name = `bad-${what.replace(/\W+/g, "-")}`;
    expect(() => new Fleet(name, { ...base(), ...over })).toThrow(message);
    await engine.finish();
    // Refused before any child is declared (only the component itself was registered).
    expect(engine.resources.filter((r) => r.name.startsWith(`${name}-`))).toEqual([]);
    expect(engine.resources.filter((r) => r.name === name).map((r) => r.type)).toEqual(["django-tiers:index:Fleet"]);
  });
});
