/**
 * The plan's estimates as pure functions over planned resources: cost from
 * the price table, the "waits for" graph, the first-deploy critical path and
 * the Mermaid diagram. Inputs are the compliant fixture plans of the policy
 * tests, plus small hand-built graphs.
 */
import { costOf, estimateCost, formatCost } from "../../cli/estimates/cost";
import { estimateDeployTime, formatDeployTime, formatDuration } from "../../cli/estimates/deploy-time";
import { renderMermaid } from "../../cli/estimates/diagram";
import { planGraph } from "../../cli/estimates/graph";
import * as P from "../../cli/estimates/prices";
import { CREATION_SECONDS, creationSeconds } from "../../cli/estimates/timings";
import { T } from "../../policies/resource-types";
import type { PlannedResource } from "../../policies/types";
import { arn, id, json, loadBalancedPlan, res, singleBox, singleBoxPlan } from "../policies/fixtures";

const H = P.HOURS_PER_MONTH;

function component(type: string, name: string, parent = ""): PlannedResource {
  return { ...res(`django-tiers:index:${type}`, name), isComponent: true, parent };
}
/** `child` placed under `parent`. */
const under = (parent: PlannedResource, child: PlannedResource): PlannedResource => ({ ...child, parent: parent.urn });
const dependsOn = (r: PlannedResource, ...on: PlannedResource[]): PlannedResource => ({ ...r, options: { ...r.options, dependsOn: on.map((o) => o.urn) } });

describe("the price table", () => {
  it("states its date, region and source", () => {
    expect(P.PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(P.PRICED_REGIONS).toEqual(["us-east-1"]);
    expect(P.PRICE_SOURCE).toMatch(/AWS public on-demand list prices/);
  });

  it("prices the instance families the tiers use, and sizes go up with price", () => {
    for (const family of ["t4g", "t3", "m7g", "m6i"]) {
      const sizes = Object.entries(P.EC2_PER_HOUR).filter(([t]) => t.startsWith(`${family}.`));
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      const prices = sizes.map(([, p]) => p);
      expect(prices).toEqual([...prices].sort((a, b) => a - b));
    }
    for (const table of [P.RDS_PER_HOUR.postgres, P.ELASTICACHE_PER_HOUR]) {
      expect(Object.values(table).every((p) => p > 0)).toBe(true);
    }
  });

  it("keeps a creation time beside it for the slow resources", () => {
    expect(CREATION_SECONDS["aws:rds/instance:Instance"]).toBeGreaterThanOrEqual(600);
    expect(CREATION_SECONDS["aws:elasticache/replicationGroup:ReplicationGroup"]).toBeGreaterThanOrEqual(600);
    expect(CREATION_SECONDS["aws:cloudfront/distribution:Distribution"]).toBeGreaterThanOrEqual(300);
    expect(creationSeconds(component("Network", "n"))).toBe(0);
    expect(creationSeconds(res("random:index/randomPassword:RandomPassword", "pw"))).toBe(0);
    expect(creationSeconds(res(T.rdsInstance[0], "db", { multiAz: true }))).toBeGreaterThan(creationSeconds(res(T.rdsInstance[0], "db", {})));
  });
});

describe("estimateCost", () => {
  const byName = (est: ReturnType<typeof estimateCost>, name: string) => {
    const c = est.resources.find((r) => r.name === name);
    if (!c) throw new Error(`no cost line for ${name}`);
    return c;
  };

  it("prices the single box from its instance type, root volume, monitoring and public address", () => {
    const est = estimateCost(singleBoxPlan().resources, "us-east-1");
    const box = byName(est, "box");
    expect(box.status).toBe("priced");
    expect(box.items.map((i) => i.what)).toEqual(["EC2 t4g.small", "root volume (gp3)", "detailed monitoring", "public IPv4 address"]);
    expect(box.monthly).toBeCloseTo(0.0168 * H + 20 * 0.08 + 2.1 + 0.005 * H, 2);
  });

  it("charges a public address for an instance in a subnet that maps one on launch", () => {
    const p = singleBoxPlan();
    const box = p.resources.find((r) => r.name === "box")!;
    delete box.inputs.associatePublicIpAddress; // net-public-a has mapPublicIpOnLaunch: true
    expect(byName(estimateCost(p.resources, "us-east-1"), "box").items.map((i) => i.what)).toContain("public IPv4 address");
    box.inputs.subnetId = id("net-private-a");
    expect(byName(estimateCost(p.resources, "us-east-1"), "box").items.map((i) => i.what)).not.toContain("public IPv4 address");
  });

  it("prices the load-balanced tier: ALB, fleets from their launch template, Multi-AZ RDS, Redis nodes, CloudFront, SQS", () => {
    // With the fixture's single box too: the backup selection names it.
    const est = estimateCost([...loadBalancedPlan().resources, ...singleBox()], "us-east-1");
    expect(byName(est, "alb").monthly).toBeCloseTo(0.0225 * H + 0.008 * H * P.USAGE.loadBalancerCapacityUnits, 2);
    // fleet-blue: two t4g.small from fleet-lt with a 20 GB gp3 volume and detailed monitoring; fleet-green is scaled to zero.
    expect(byName(est, "fleet-blue").monthly).toBeCloseTo(2 * (0.0168 * H + 20 * 0.08 + 2.1), 2);
    expect(byName(est, "fleet-green")).toMatchObject({ status: "priced", monthly: 0 });
    expect(byName(est, "fleet-lt").status).toBe("free");
    expect(byName(est, "db").monthly).toBeCloseTo(0.065 * 2 * H + 20 * 0.115 * 2, 2);
    expect(byName(est, "db").items[0].what).toBe("RDS postgres db.t4g.medium Multi-AZ");
    expect(byName(est, "cache").monthly).toBeCloseTo(2 * 0.032 * H, 2);
    expect(byName(est, "cdn").monthly).toBeCloseTo(100 * 0.085 + 100 * 0.01, 2);
    expect(byName(est, "tasks").monthly).toBeCloseTo(0.4, 2);
    expect(byName(est, "app-secret").monthly).toBe(0.4);
    expect(byName(est, "secrets-key").monthly).toBeCloseTo(1 + 0.3, 2);
    expect(byName(est, "db-cpu").monthly).toBe(0.1);
    // The backup selection names the database and the box by ARN: their storage, snapshotted.
    expect(byName(est, "backup-selection").items.map((i) => [i.what, i.quantity])).toEqual([
      ["RDS snapshots of db (1.2× its storage)", 24],
      ["EBS snapshots of box (1.2× its volumes)", 24],
    ]);
  });

  it("shows what costs nothing by itself as free, and adds up only priced resources", () => {
    const est = estimateCost(loadBalancedPlan().resources, "us-east-1");
    for (const name of ["net-vpc", "net-public-a", "alb-sg", "fleet-role", "media-pab", "tg-blue", "alb-https", "db-params"]) {
      expect([name, byName(est, name).status]).toEqual([name, "free"]);
    }
    const sum = est.resources.reduce((s, c) => s + (c.monthly ?? 0), 0);
    expect(est.totalMonthly).toBeCloseTo(sum, 2);
    expect(est.totalMonthly).toBeGreaterThan(200);
  });

  it("never prices the unknown as zero: unknown sizes, types and regions", () => {
    const p = singleBoxPlan();
    // Its backup selection also names a database this plan lacks: a third unknown, counted below.
    p.resources.find((r) => r.name === "box")!.inputs.instanceType = "x9.huge";
    p.resources.push(res("aws:lambda/function:Function", "rotate", {}));
    const est = estimateCost(p.resources, "us-east-1");
    expect(byName(est, "box")).toMatchObject({ status: "unknown", note: expect.stringContaining("instance type x9.huge") });
    expect(byName(est, "box").monthly).toBeUndefined();
    expect(byName(est, "rotate")).toMatchObject({ status: "unknown", note: expect.stringContaining("no price for this resource type") });
    expect(byName(est, "backup-selection")).toMatchObject({ status: "unknown", note: expect.stringContaining(`backups of ${arn("rds", "db")}`) });
    expect(est.unknownCount).toBe(3);
    expect(formatCost(est).join("\n")).toMatch(/\+ 3 resources of unknown price/);
    expect(formatCost(est).join("\n")).toMatch(/unknown {2}box/);

    const abroad = estimateCost(singleBoxPlan().resources, "eu-west-1");
    expect(byName(abroad, "box")).toMatchObject({ status: "unknown", note: expect.stringContaining("not eu-west-1") });
    expect(byName(abroad, "net-vpc").status).toBe("free");
  });

  it("reads an RDS engine outside the table, a root volume sized by the AMI, and an unknown node type as unknown", () => {
    const ctx = { resolve: () => undefined };
    expect(costOf(res(T.rdsInstance[0], "a", { engine: "aurora-postgresql", instanceClass: "db.r6g.large", allocatedStorage: 20 }), ctx, "us-east-1").status).toBe("unknown");
    expect(costOf(res(T.ec2Instance[0], "b", { instanceType: "t4g.small" }), ctx, "us-east-1").note).toMatch(/root volume size \(set by the AMI\)/);
    expect(costOf(res(T.replicationGroup[0], "c", { nodeType: "cache.x1.huge", numCacheClusters: 2 }), ctx, "us-east-1").status).toBe("unknown");
    // Valkey nodes are cheaper than Redis OSS ones.
    const valkey = costOf(res(T.replicationGroup[0], "d", { engine: "valkey", nodeType: "cache.t4g.small", numCacheClusters: 1 }), ctx, "us-east-1");
    expect(valkey.monthly).toBeCloseTo(0.032 * H * P.VALKEY_FACTOR, 2);
  });

  it("says in the report what it assumes and what it leaves out", () => {
    const text = formatCost(estimateCost(singleBoxPlan().resources.filter((r) => r.name !== "backup-selection"), "us-east-1")).join("\n");
    expect(text).toMatch(/^Monthly cost: about \$\d+\.\d\d \(USD, us-east-1, list prices of \d{4}-\d\d-\d\d\)/);
    expect(text).toMatch(/Assumes: .*each S3 bucket: 10 GB stored/);
    expect(text).toMatch(/Not included: data transfer out/);
  });
});

describe("planGraph", () => {
  it("reads dependsOn, references by id, by ARN inside a JSON policy, and parents", () => {
    const comp = component("Fleet", "fleet");
    const role = under(comp, res(T.iamRole[0], "fleet-role"));
    const bucket = res(T.bucket[0], "artifacts");
    const policy = under(comp, res(T.iamRolePolicy[0], "fleet-policy", {
      role: id("fleet-role"),
      policy: json({ Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: `${arn("s3", "artifacts")}/releases/*` }] }),
    }));
    const lt = dependsOn(res(T.launchTemplate[0], "lt", {}), role);
    const g = planGraph([comp, role, bucket, policy, lt]);
    const out = (r: PlannedResource) => (g.waitsFor.get(r.urn) ?? []).map((e) => [g.byUrn.get(e.to)!.name, e.kinds]);
    expect(out(policy)).toEqual(expect.arrayContaining([["fleet-role", ["reference"]], ["artifacts", ["reference"]]]));
    expect(out(lt)).toEqual([["fleet-role", ["dependsOn"]]]);
    expect(out(comp)).toEqual(expect.arrayContaining([["fleet-role", ["parent"]], ["fleet-policy", ["parent"]]]));
    // A child never waits for its own component (that would be a cycle).
    expect(out(role)).toEqual([]);
  });

  it("does not take a bucket setting's `bucket` input for the setting's own name", () => {
    const bucket = res(T.bucket[0], "media");
    const versioning = res(T.bucketVersioning[0], "media-versioning", { bucket: id("media") });
    const object = res("aws:s3/bucketObjectv2:BucketObjectv2", "bundle", { bucket: id("media"), key: "k" });
    const g = planGraph([bucket, versioning, object]);
    expect((g.waitsFor.get(object.urn) ?? []).map((e) => g.byUrn.get(e.to)!.name)).toEqual(["media"]);
  });
});

describe("estimateDeployTime", () => {
  it("finds the critical path through the slow resources and says why each step waits", () => {
    const vpc = res(T.vpc[0], "vpc");
    const subnet = res(T.subnet[0], "subnet", { vpcId: id("vpc") });
    const subnetGroup = res("aws:rds/subnetGroup:SubnetGroup", "db-subnets", { subnetIds: [id("subnet")] });
    const db = res(T.rdsInstance[0], "db", { dbSubnetGroupName: "db-subnets", multiAz: false });
    const box = dependsOn(res(T.ec2Instance[0], "box", { subnetId: id("subnet") }), subnet);
    const alarm = res(T.metricAlarm[0], "box-alarm", { dimensions: { InstanceId: id("box") } });
    const est = estimateDeployTime([vpc, subnet, subnetGroup, db, box, alarm]);
    expect(est.path.map((s) => s.name)).toEqual(["vpc", "subnet", "db-subnets", "db"]);
    expect(est.totalSeconds).toBe(5 + 2 + 3 + 600);
    expect(est.path[3]).toMatchObject({ startsAt: 10, finishesAt: 610, waitsForPrevious: { kinds: ["reference"] } });
    expect(est.serialSeconds).toBe(5 + 2 + 3 + 600 + 60 + 2);
    expect(est.slowest[0]).toMatchObject({ name: "db", seconds: 600 });
    const text = formatDeployTime(est).join("\n");
    expect(text).toMatch(/^First `pulumi up`: about 10 min 10 s/);
    expect(text).toMatch(/0:10 → 10:10 {2}aws:rds\/instance:Instance db \(10 min\) {2}waits for the previous step \(reference\)/);
  });

  it("waits for every child of a component a resource depends on, and names the component", () => {
    const cdn = component("Cdn", "cdn");
    const dist = under(cdn, res(T.distribution[0], "cdn-distribution", {}));
    const record = dependsOn(res(T.cloudflareDnsRecord[0], "www", {}), cdn);
    const est = estimateDeployTime([cdn, dist, record]);
    expect(est.totalSeconds).toBe(300 + 2);
    expect(est.path.map((s) => s.name)).toEqual(["cdn-distribution", "www"]);
    expect(est.path[1].waitsForPrevious).toEqual({ kinds: ["dependsOn", "parent"], through: "cdn" });
  });

  it("cuts a dependency cycle instead of looping", () => {
    const a = res(T.securityGroup[0], "a", { ref: id("b") });
    const b = res(T.securityGroup[0], "b", { ref: id("a") });
    expect(estimateDeployTime([a, b]).totalSeconds).toBe(10);
  });

  it("formats durations", () => {
    expect([formatDuration(5), formatDuration(60), formatDuration(75), formatDuration(610)]).toEqual(["5 s", "1 min", "1 min 15 s", "10 min 10 s"]);
  });
});

describe("renderMermaid", () => {
  /** A small load-balanced stack with components, as the plan captures one. */
  function stack(): PlannedResource[] {
    const edge = component("LoadBalancer", "web");
    const fleet = component("AppFleet", "app");
    const data = component("Database", "db");
    const dns = component("DnsRecords", "dns");
    return [
      edge, fleet, data, dns,
      under(edge, res(T.loadBalancer[0], "web-alb", { loadBalancerType: "application" })),
      under(edge, res(T.targetGroup[0], "web-tg-blue", {})),
      under(edge, res(T.targetGroup[0], "web-tg-green", {})),
      under(edge, res(T.listener[0], "web-https", { loadBalancerArn: arn("elasticloadbalancing", "web-alb"), defaultActions: [{ targetGroupArn: arn("elasticloadbalancing", "web-tg-blue") }] })),
      under(fleet, res(T.autoscalingGroup[0], "app-blue", { minSize: 2, maxSize: 6, targetGroupArns: [arn("elasticloadbalancing", "web-tg-blue")] })),
      under(fleet, res(T.securityGroup[0], "app-sg", {})),
      under(fleet, res(T.iamRolePolicy[0], "app-policy", { policy: json({ Statement: [{ Resource: arn("rds", "db-instance") }] }) })),
      under(data, res(T.rdsInstance[0], "db-instance", { engine: "postgres", instanceClass: "db.t4g.medium", multiAz: true })),
      under(dns, res(T.cloudflareDnsRecord[0], "dns-www", { name: "www.example.com", type: "CNAME", content: "web-alb.example" })),
      under(dns, dependsOn(res(T.cloudflareDnsRecord[0], "dns-apex", { name: "example.com", type: "CNAME" }), { ...res(T.loadBalancer[0], "web-alb") })),
    ];
  }

  it("draws components as subgraphs and key resources as nodes, leaving out what only configures them", () => {
    const m = renderMermaid(stack());
    expect(m.split("\n")[0]).toBe("flowchart LR");
    expect(m).toContain(`subgraph c_web["LoadBalancer web"]`);
    expect(m).toContain(`web_alb["Application Load Balancer<br/><small>web-alb</small>"]`);
    expect(m).toContain(`web_TargetGroup["2 × target group<br/><small>web-tg-blue, web-tg-green</small>"]`);
    expect(m).toContain(`db_instance[("RDS postgres db.t4g.medium Multi-AZ<br/><small>db-instance</small>")]`);
    expect(m).toContain(`dns_DnsRecord["Cloudflare DNS CNAME<br/><small>example.com, www.example.com</small>"]`);
    expect(m).not.toMatch(/app_sg|web_https|app_policy/);
  });

  it("draws traffic from the users through DNS, the ALB and its target groups to the fleet, and data to the database", () => {
    const m = renderMermaid(stack());
    expect(m).toContain(`users ==>|"HTTP(S)"| dns_DnsRecord`);
    expect(m).toContain(`dns_DnsRecord ==>|"resolves to"| web_alb`);
    expect(m).toContain("web_alb ==> web_TargetGroup");
    // The fleet registers in the target group; traffic flows the other way.
    expect(m).toContain(`web_TargetGroup ==>|"registers"| app_blue`);
    // The fleet's role policy lends its edge to the fleet.
    expect(m).toContain(`app_blue -->|"SQL"| db_instance`);
  });

  it("is the same for the same plan in any order", () => {
    const resources = stack();
    expect(renderMermaid([...resources].reverse())).toBe(renderMermaid(resources));
  });

  it("draws the compliant fixture plans without dangling edges", () => {
    for (const p of [singleBoxPlan(), loadBalancedPlan()]) {
      const m = renderMermaid(p.resources);
      const declared = new Set([...m.matchAll(/^\s*([A-Za-z0-9_]+)[[(]/gm)].map((x) => x[1]));
      const used = [...m.matchAll(/^\s*([A-Za-z0-9_]+) [-=.]+>(?:\|[^|]*\|)? ([A-Za-z0-9_]+)$/gm)].flatMap((x) => [x[1], x[2]]);
      expect(used.length).toBeGreaterThan(0);
      expect(used.filter((u) => !declared.has(u))).toEqual([]);
    }
  });
});
