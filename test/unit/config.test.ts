import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SETTINGS, SettingsError, coerceConfigValue, developmentModuleNote, discoverDjangoProject, validateSettings } from "../../config";
import { closest, regionProblems, taskWorkerNote, type ValidationContext } from "../../config/validate";

const projectDir = path.resolve(__dirname, "../..");
const ctx: ValidationContext = { project: "django-tiers", stack: "dev", projectDir, knownChecks: ["ec2-imdsv2", "secrets-rotation"] };
const base = { tier: "single-box", apps: ["mysite"], appsDir: "examples/apps" };

function problems(raw: Record<string, unknown>, context = ctx): SettingsError {
  try {
    validateSettings(raw, context);
  } catch (e) {
    if (e instanceof SettingsError) return e;
    throw e;
  }
  throw new Error(`expected a SettingsError for ${JSON.stringify(raw)}`);
}

/** Asserts the config is refused with a message naming the setting, the value and what is allowed. */
function expectRefused(raw: Record<string, unknown>, setting: string, fragment: string | RegExp, context = ctx) {
  const err = problems(raw, context);
  const line = err.message.split("\n").find((l) => l.includes(`django-tiers:${setting} `));
  expect(line).toBeDefined();
  expect(line).toMatch(fragment);
  expect(err.problems.some((p) => p.setting === setting)).toBe(true);
}

describe("validateSettings: a good config", () => {
  it("resolves defaults, the environment from the stack name, and the Django project from manage.py", () => {
    const s = validateSettings(base, ctx);
    expect(s.environment).toBe("dev");
    expect(s.apps).toEqual([
      expect.objectContaining({ name: "mysite", domains: [], settingsModule: "mysite.settings", wsgiApplication: "mysite.wsgi:application", projectPackage: "mysite" }),
    ]);
    expect(s.box).toEqual({ instanceType: "t4g.small", architecture: "arm64", rootVolumeGb: 20 });
    expect(s.network).toEqual({ mode: "create", cidr: "10.0.0.0/16", azCount: 2, natGateway: false });
    expect(s.deletionProtection).toBe(true);
    expect(s.dns).toBeUndefined();
    expect(s.gunicorn).toEqual({ workers: undefined, timeoutSeconds: 30, gracefulTimeoutSeconds: 30 });
    // The values the stacks had before requestTimeoutSeconds existed: nginx 60 s, ALB 60 s, keepalive 75 s.
    expect(s.timeouts).toEqual({ gunicornSeconds: 30, proxySeconds: 60, balancerIdleSeconds: 60, keepaliveSeconds: 75 });
  });

  it("renders requestTimeoutSeconds into every layer, each waiting longer than the one behind it", () => {
    const long = validateSettings({ ...base, ...LB, requestTimeoutSeconds: 300 }, ctx);
    expect(long.gunicorn.timeoutSeconds).toBe(300);
    expect(long.timeouts).toEqual({ gunicornSeconds: 300, proxySeconds: 305, balancerIdleSeconds: 305, keepaliveSeconds: 320 });
    // Below nginx's own 60 s, nginx keeps it (gunicorn still ends the request first).
    expect(validateSettings({ ...base, requestTimeoutSeconds: 10 }, ctx).timeouts).toEqual({ gunicornSeconds: 10, proxySeconds: 60, balancerIdleSeconds: 60, keepaliveSeconds: 75 });
    // The longest each CDN allows is accepted.
    expect(validateSettings({ ...base, ...LB, cdn: "cloudfront", requestTimeoutSeconds: 55 }, ctx).timeouts.balancerIdleSeconds).toBe(60);
    expect(validateSettings({ ...base, ...LB, cdn: "cloudflare", requestTimeoutSeconds: 95 }, ctx).timeouts.proxySeconds).toBe(100);
  });

  it("reads values as Pulumi hands them over: strings for numbers, booleans and lists", () => {
    const s = validateSettings({ ...base, rootVolumeGb: "40", natGateway: "true", apps: '["mysite"]', gunicornWorkers: "0" }, ctx);
    expect(s.box.rootVolumeGb).toBe(40);
    expect(s.network).toMatchObject({ natGateway: true });
    expect(s.gunicorn.workers).toBeUndefined();
  });

  it("routes 'app:host' domains to their app and requires Cloudflare and ACME settings with them", () => {
    const s = validateSettings({
      ...base,
      domains: ["example.com", "mysite:www.example.com"],
      cloudflareZoneId: "0123456789abcdef0123456789abcdef",
      acmeEmail: "ops@example.com",
    }, ctx);
    expect(s.apps[0].domains).toEqual(["example.com", "www.example.com"]);
    expect(s.dns).toEqual({ cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "ops@example.com" });
  });

  it.each(["single-box", "external-db", "object-storage"])("takes cdn: cloudflare on %s with domains and a zone, without acmeEmail (no ACME behind Cloudflare)", (tier) => {
    const zone = { domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef" };
    const s = validateSettings({ ...base, tier, cdn: "cloudflare", ...zone }, ctx);
    expect(s.cdn).toBe("cloudflare");
    expect(s.dns).toEqual({ cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "" });
    // Set anyway, it is kept (and unused).
    expect(validateSettings({ ...base, tier, cdn: "cloudflare", ...zone, acmeEmail: "ops@example.com" }, ctx).dns?.acmeEmail).toBe("ops@example.com");
    // Without the CDN the box still needs it for Let's Encrypt.
    expectRefused({ ...base, tier, ...zone }, "acmeEmail", /required when domains are set \(the box gets its TLS certificates from Let's Encrypt\).*or cdn: cloudflare/);
  });

  it("puts the database on RDS from external-db up, and files on S3 from object-storage up", () => {
    const single = validateSettings(base, ctx);
    expect(single.database).toBeUndefined();
    expect(single.objectStorage).toBe(false);
    expect(single.cache).toEqual({ mode: "on-box" });
    const external = validateSettings({ ...base, tier: "external-db", databaseEngine: "mysql" }, ctx);
    expect(external.database).toEqual({ engine: "mysql", version: undefined, instanceClass: "db.t4g.micro", storageGb: 20, maxStorageGb: 100 });
    expect(external.objectStorage).toBe(false);
    const files = validateSettings({ ...base, tier: "object-storage", cache: "elasticache" }, ctx);
    expect(files.objectStorage).toBe(true);
    expect(files.cache).toEqual({ mode: "elasticache", nodeType: "cache.t4g.micro" });
  });

  it("turns standbys on in prod unless told otherwise", () => {
    expect(validateSettings(base, { ...ctx, stack: "prod" }).highAvailability).toBe(true);
    expect(validateSettings(base, ctx).highAvailability).toBe(false);
    expect(validateSettings({ ...base, tier: "external-db", highAvailability: "off" }, { ...ctx, stack: "prod" }).highAvailability).toBe(false);
  });

  it("resolves the load-balanced tier's fleets, promotion and task queue", () => {
    const prod = validateSettings({ ...base, ...LB, taskQueueBroker: "sqs", taskQueues: ["celery", "emails"] }, { ...ctx, stack: "prod" });
    expect(prod.fleet).toEqual({ minSize: 2, maxSize: 4, targetCpuPercent: 60, liveColor: "blue", releases: { blue: undefined, green: undefined }, idleRunning: false, canaryWeight: 0 });
    expect(prod.taskQueue).toEqual({ broker: "sqs", queues: ["celery", "emails"], instanceType: "t4g.small", minSize: 1, maxSize: 2 });
    expect(prod.cache).toEqual({ mode: "elasticache", nodeType: "cache.t4g.micro" });
    expect(prod.dns).toEqual({ cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "" });
    const canary = validateSettings({ ...base, ...LB, liveColor: "green", blueRelease: "v2", idleFleet: "running", canaryWeight: 10, taskWorker: "none" }, ctx);
    expect(canary.fleet).toMatchObject({ minSize: 1, liveColor: "green", releases: { blue: "v2" }, idleRunning: true, canaryWeight: 10 });
    expect(canary.taskQueue).toBeUndefined();
    expect(validateSettings(base, ctx).fleet).toBeUndefined();
    // fleetImage pins the fleets' image by id or by Debian's name; unset, none is pinned.
    expect(validateSettings({ ...base, ...LB, fleetImage: "ami-0123456789abcdef0" }, ctx).fleet!.image).toEqual({ id: "ami-0123456789abcdef0" });
    expect(validateSettings({ ...base, ...LB, fleetImage: "debian-12-arm64-20250610-2137" }, ctx).fleet!.image).toEqual({ name: "debian-12-arm64-20250610-2137" });
  });

  it("resolves blue-green on a box tier (boxReleases: blue-green) and leaves the fleets unset", () => {
    const s = validateSettings({ ...base, boxReleases: "blue-green", liveColor: "green", blueRelease: "v1", greenRelease: "v2", idleFleet: "running" }, ctx);
    expect(s.boxColors).toEqual({ liveColor: "green", releases: { blue: "v1", green: "v2" }, idleRunning: true });
    expect(s.fleet).toBeUndefined();
    const defaults = validateSettings({ ...base, tier: "object-storage", boxReleases: "blue-green" }, ctx);
    expect(defaults.boxColors).toEqual({ liveColor: "blue", releases: { blue: undefined, green: undefined }, idleRunning: false });
    expect(validateSettings(base, ctx).boxColors).toBeUndefined();
    // in-place is the default; saying so is not an error on any tier.
    expect(validateSettings({ ...base, ...LB, boxReleases: "in-place" }, ctx).boxColors).toBeUndefined();
  });

  it("takes an existing VPC's ids", () => {
    const s = validateSettings({
      ...base,
      vpcId: "vpc-0abc1234",
      publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"],
      privateSubnetIds: ["subnet-0ccc3333", "subnet-0ddd4444"],
    }, ctx);
    expect(s.network).toEqual({ mode: "existing", vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"], privateSubnetIds: ["subnet-0ccc3333", "subnet-0ddd4444"] });
  });
});

const LB = { tier: "load-balanced", domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", natGateway: true };

describe("validateSettings: bad config names the setting, the value and what is allowed", () => {
  it.each([
    ["tier", { tier: "kubernetes" }, /got "kubernetes".*must be one of "single-box"/],
    ["domains", { tier: "load-balanced" }, /load-balanced tier needs at least one domain in a Cloudflare zone/],
    ["tier", { tier: undefined }, /not set.*is required/],
    ["environment", { environment: "production" }, /got "production".*must be one of "dev", "staging", "prod"/],
    ["apps", { apps: [] }, /list at least one app/],
    ["apps", { apps: ["My-Site"] }, /lowercase letters and digits/],
    ["apps", { apps: ["postgres"] }, /reserved/],
    ["apps", { apps: ["mysite", "mysite"] }, /distinct/],
    ["apps", { apps: ["nosuchapp"] }, /app "nosuchapp": folder .* does not exist/],
    ["apps", { apps: "mysite" }, /got "mysite"/],
    ["appsDir", { appsDir: "" }, /must not be empty/],
    ["domains", { domains: ["Example.COM"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "a@b.co" }, /not a valid lowercase host name/],
    ["domains", { domains: ["blog:blog.example.com"] }, /names app "blog", which is not in apps/],
    ["domains", { domains: ["a.example.com", "a.example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "a@b.co" }, /listed twice/],
    ["releaseVersion", { releaseVersion: "v 1" }, /letters, digits/],
    ["instanceType", { instanceType: "small" }, /must look like an EC2 instance type/],
    ["instanceType", { instanceType: "t3.small" }, /x86_64 type but architecture is arm64/],
    ["instanceType", { instanceType: "t4g.small", architecture: "x86_64" }, /Graviton \(arm64\) type but architecture is x86_64/],
    ["architecture", { architecture: "riscv" }, /must be one of "arm64", "x86_64"/],
    ["rootVolumeGb", { rootVolumeGb: -5 }, /got -5.*at least 8/],
    ["rootVolumeGb", { rootVolumeGb: 12.5 }, /whole number/],
    ["rootVolumeGb", { rootVolumeGb: "twenty" }, /got "twenty".*whole number/],
    ["taskWorker", { taskWorker: "huey" }, /must be one of "celery", "rq", "none"/],
    ["longestTaskSeconds", { longestTaskSeconds: 0 }, /at least 1/],
    ["maxUploadMb", { maxUploadMb: 4096 }, /at most 1024/],
    ["gunicornWorkers", { gunicornWorkers: -2 }, /at least 1/],
    ["requestTimeoutSeconds", { requestTimeoutSeconds: 4 }, /got 4.*at least 5.*Allowed: a whole number from 5 to 3600/],
    ["requestTimeoutSeconds", { requestTimeoutSeconds: 3601 }, /at most 3600/],
    ["requestTimeoutSeconds", { requestTimeoutSeconds: "2m" }, /got "2m".*whole number/],
    ["requestTimeoutSeconds", { requestTimeoutSeconds: 30.5 }, /whole number/],
    ["requestTimeoutSeconds", { ...LB, cdn: "cloudfront", requestTimeoutSeconds: 56 }, /got 56\): is above 55 with cdn: cloudfront: CloudFront waits at most 60 s for the origin's response.*Allowed: a whole number from 5 to 55 with cdn: cloudfront/],
    ["requestTimeoutSeconds", { tier: "external-db", cdn: "cloudflare", domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", requestTimeoutSeconds: 96 }, /is above 95 with cdn: cloudflare: Cloudflare answers 524/],
    ["gunicornTimeoutSeconds", { gunicornTimeoutSeconds: 45 }, /got 45\): was renamed requestTimeoutSeconds: it sets nginx's and the load balancer's timeouts too.*move the value there/],
    ["gracefulTimeoutSeconds", { gracefulTimeoutSeconds: 1 }, /at least 5/],
    ["highAvailability", { highAvailability: "yes" }, /must be one of "auto", "on", "off"/],
    ["databaseEngine", { databaseEngine: "oracle" }, /must be one of "postgres", "mysql", "mariadb"/],
    ["databaseEngine", { databaseEngine: "mysql" }, /got "mysql".*applies to tiers with RDS only .*tier is single-box.*Allowed: leave it unset, or tier: external-db/],
    ["databaseInstanceClass", { databaseInstanceClass: "db.t4g.small" }, /applies to tiers with RDS only/],
    ["databaseInstanceClass", { tier: "external-db", databaseInstanceClass: "db.t4g.mirco" }, /db\.t4g\.mirco is not an RDS instance class .*did you mean db\.t4g\.micro\?/],
    ["highAvailability", { highAvailability: "on" }, /got "on".*adds standbys to RDS and ElastiCache, and this stack has neither/],
    ["instanceType", { instanceType: "t4g.smal" }, /t4g\.smal is not an EC2 instance type; did you mean t4g\.small\?/],
    ["cacheNodeType", { tier: "object-storage", cache: "elasticache", cacheNodeType: "cache.t9g.micro" }, /cache\.t9g\.micro is not an ElastiCache node type/],
    ["cacheNodeType", { cacheNodeType: "cache.t4g.small" }, /applies only with the cache on ElastiCache/],
    ["instanceTyp", { instanceTyp: "t4g.small" }, /is not a setting of this project \(did you mean instanceType\?\)/],
    ["databaseVersion", { databaseVersion: "latest" }, /major version such as 16/],
    ["databaseInstanceClass", { databaseInstanceClass: "t4g.micro" }, /RDS instance class such as db.t4g.micro/],
    ["databaseStorageGb", { databaseStorageGb: 5 }, /at least 20/],
    ["databaseMaxStorageGb", { tier: "external-db", databaseStorageGb: 200, databaseMaxStorageGb: 100 }, /below databaseStorageGb \(200\)/],
    ["backupRetentionDays", { tier: "external-db", backupRetentionDays: 90 }, /above 35, the most RDS keeps/],
    ["cache", { cache: "memcached" }, /must be one of "auto", "on-box", "elasticache"/],
    ["cacheNodeType", { cacheNodeType: "t4g.micro" }, /ElastiCache node type/],
    ["vpcCidr", { vpcCidr: "10.0.0.0/8" }, /IPv4 CIDR from \/16 to \/24/],
    ["vpcCidr", { vpcCidr: "10.0.300.0/16" }, /octet/],
    ["availabilityZones", { availabilityZones: 1 }, /at least 2/],
    ["natGateway", { natGateway: "yes" }, /true or false/],
    ["natGateway", { ...LB, natGateway: false }, /must be true on the load-balanced tier/],
    ["vpcId", { vpcId: "my-vpc" }, /VPC id/],
    ["vpcId", { publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"], privateSubnetIds: ["subnet-0ccc3333", "subnet-0ddd4444"] }, /required when bringing your own VPC/],
    ["publicSubnetIds", { vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-0aaa1111"], privateSubnetIds: ["subnet-0ccc3333", "subnet-0ddd4444"] }, /at least two availability zones/],
    ["privateSubnetIds", { vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"], privateSubnetIds: ["sub-1", "subnet-0ddd4444"] }, /subnet id/],
    ["natGateway", { vpcId: "vpc-0abc1234", publicSubnetIds: ["subnet-0aaa1111", "subnet-0bbb2222"], privateSubnetIds: ["subnet-0ccc3333", "subnet-0ddd4444"], natGateway: true }, /cannot be true with vpcId/],
    ["cloudflareZoneId", { domains: ["example.com"], acmeEmail: "ops@example.com" }, /required when domains are set/],
    ["cloudflareZoneId", { cloudflareZoneId: "xyz" }, /32 lowercase hex/],
    ["acmeEmail", { domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef" }, /required when domains are set/],
    ["acmeEmail", { acmeEmail: "not-an-email" }, /email address/],
    ["alertEmail", { alertEmail: "ops at example" }, /email address/],
    ["deletionProtection", { deletionProtection: "maybe" }, /true or false/],
    ["backupHourUtc", { backupHourUtc: 24 }, /at most 23/],
    ["backupRetentionDays", { backupRetentionDays: 3 }, /at least 7/],
    ["logRetentionDays", { logRetentionDays: 10 }, /values CloudWatch accepts/],
    ["secretsRotation", { secretsRotation: "now please" }, /letters, digits/],
    ["relaxedChecks", { relaxedChecks: ["no-such-check"] }, /"no-such-check" is not a policy check/],
    ["colour", { colour: "blue" }, /is not a setting of this project/],
    ["liveColor", { liveColor: "green" }, /applies to the load-balanced tier, or to a box tier with boxReleases: blue-green \(this stack's tier is single-box and boxReleases is in-place\).*Allowed: leave it unset, or set boxReleases: blue-green/],
    ["liveColor", { boxReleases: "blue-green", liveColor: "red" }, /must be one of "blue", "green"/],
    ["boxReleases", { boxReleases: "rolling" }, /must be one of "in-place", "blue-green"/],
    ["boxReleases", { ...LB, boxReleases: "blue-green" }, /applies to the box tiers only: the load-balanced tier always releases blue-green/],
    ["idleFleet", { tier: "external-db", idleFleet: "running" }, /to a box tier with boxReleases: blue-green \(this stack's tier is external-db and boxReleases is in-place\)/],
    ["blueRelease", { boxReleases: "in-place", blueRelease: "v2" }, /boxReleases is in-place/],
    ["canaryWeight", { boxReleases: "blue-green", idleFleet: "running", canaryWeight: 10 }, /has no canary on one box: nginx sends all traffic to the live color.*Allowed: leave it unset \(0\), or tier: load-balanced/],
    ["canaryWeight", { canaryWeight: 10 }, /applies to the load-balanced tier only \(this stack's tier is single-box\)/],
    ["fleetMinSize", { boxReleases: "blue-green", fleetMinSize: 2 }, /applies to the load-balanced tier only/],
    ["liveColor", { ...LB, liveColor: "red" }, /must be one of "blue", "green"/],
    ["blueRelease", { ...LB, blueRelease: "v 2" }, /letters, digits/],
    ["greenRelease", { greenRelease: "v2" }, /applies to the load-balanced tier, or to a box tier with boxReleases: blue-green/],
    ["idleFleet", { ...LB, idleFleet: "paused" }, /must be one of "stopped", "running"/],
    ["canaryWeight", { ...LB, canaryWeight: 60 }, /at most 50/],
    ["canaryWeight", { ...LB, canaryWeight: 10 }, /idle fleet, which has no servers \(idleFleet is stopped\)/],
    ["fleetMinSize", { ...LB, environment: "prod", fleetMinSize: 1 }, /below 2 in prod/],
    ["fleetMaxSize", { ...LB, fleetMinSize: 3, fleetMaxSize: 2 }, /below the fleet's minimum \(3\)/],
    ["fleetTargetCpu", { ...LB, fleetTargetCpu: 95 }, /at most 90/],
    ["fleetImage", { ...LB, fleetImage: "ami-12345" }, /must be an AMI id \(ami- and 8 or 17 hex digits\) or a Debian 12 image name/],
    ["fleetImage", { ...LB, fleetImage: "debian-12-amd64-20250610-2137" }, /names a amd64 image but architecture is arm64.*Allowed: a debian-12-arm64-… image name/],
    ["fleetImage", { fleetImage: "ami-0123456789abcdef0" }, /applies to the load-balanced tier only \(this stack's tier is single-box\)/],
    ["cdn", { ...LB, cdn: "fastly" }, /must be one of "none", "cloudfront", "cloudflare"/],
    ["cdn", { cdn: "cloudfront" }, /cloudfront cannot front a box \(this stack's tier is single-box\): the box gets its certificate from Let's Encrypt, whose HTTP-01 challenge would go through CloudFront.*Allowed: none or cloudflare on the box tiers .*, or tier: load-balanced for cloudfront/],
    ["cdn", { tier: "object-storage", cdn: "cloudfront", domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "ops@example.com" }, /cloudfront cannot front a box \(this stack's tier is object-storage\)/],
    ["domains", { cdn: "cloudflare", cloudflareZoneId: "0123456789abcdef0123456789abcdef" }, /cdn: cloudflare proxies the site's own domains and needs at least one.*Allowed: one or more host names, with cloudflareZoneId; or cdn: none/],
    ["cloudflareZoneId", { tier: "external-db", cdn: "cloudflare", domains: ["example.com"] }, /is required when domains are set/],
    ["cloudflareZoneId", { cdn: "cloudflare" }, /is required with cdn: cloudflare \(the zone of the proxied records\)/],
    ["taskQueueBroker", { ...LB, taskWorker: "rq", taskQueueBroker: "sqs" }, /sqs needs taskWorker celery/],
    ["taskQueues", { ...LB, taskQueues: ["High Priority"] }, /queue names are 1–40 characters/],
    ["taskQueues", { ...LB, taskQueues: ["a", "a"] }, /distinct/],
    ["workerInstanceType", { ...LB, workerInstanceType: "t3.small" }, /does not match architecture arm64/],
    ["workerMinSize", { ...LB, workerMinSize: 0 }, /at least 1/],
    ["settingsModules", { settingsModules: ["mysite/settings.py"] }, /got \["mysite\/settings.py"\].*entries are 'module' or 'app:module'/],
    ["settingsModules", { settingsModules: ["blog:blog.settings"] }, /entry "blog:blog.settings" names app "blog", which is not in apps/],
    ["settingsModules", { settingsModules: ["mysite.settings", "mysite:mysite.urls"] }, /app "mysite" has two entries/],
    ["settingsModules", { settingsModules: ["mysite.settings_production"] }, /module mysite.settings_production is not in .*mysite\/settings_production.py nor mysite\/settings_production\/__init__.py/],
    ["workerMaxSize", { ...LB, workerMinSize: 3, workerMaxSize: 2 }, /below workerMinSize \(3\)/],
    ["cache", { ...LB, cache: "on-box" }, /cannot be on-box on the load-balanced tier/],
    ["databaseEngine", { ...LB, databaseEngine: "mysql" }, /must be postgres on the load-balanced tier/],
    ["workerInstanceType", { ...LB, workerInstanceType: "t4g.gigantic" }, /t4g\.gigantic is not an EC2 instance type/],
    ["appEnv", { appEnv: ["SENTRY_ENVIRONMENT"] }, /entries are 'NAME=value' or 'app:NAME=value'.*Allowed: entries 'NAME=value'/],
    ["appEnv", { appEnv: ["DATABASE_URL=postgres://elsewhere/db"] }, /entry "DATABASE_URL=postgres:\/\/elsewhere\/db": DATABASE_URL is set by the stack itself \(docs\/django-settings.md lists what it sets\)/],
    ["appEnv", { appEnv: ["mysite:DJANGO_SETTINGS_MODULE=mysite.settings"] }, /DJANGO_SETTINGS_MODULE is set by the stack itself/],
    ["appEnv", { appEnv: ["SECRET_KEY=abc"] }, /SECRET_KEY is set by the stack itself/],
    ["appEnv", { appEnv: ["AWS_ACCESS_KEY_ID=AKIAEXAMPLE"] }, /AWS_ACCESS_KEY_ID starts with AWS_, which the stack keeps for its own variables/],
    ["appEnv", { appEnv: ["DJANGO_TIERS_APP=other"] }, /starts with DJANGO_TIERS_/],
    ["appEnv", { appEnv: ["FEATURE_X=1\nDEBUG=1"] }, /the value of FEATURE_X holds a newline or another control character, which an environment file cannot carry safely/],
    ["appEnv", { appEnv: ["blog:FEATURE_X=1"] }, /entry "blog:FEATURE_X=1" names app "blog", which is not in apps.*Allowed: one of mysite/],
    ["appEnv", { appEnv: ["STRIPE_API_TOKEN=sk_live_1"] }, /STRIPE_API_TOKEN looks like a secret, and appEnv's values are written to files on the servers.*Allowed: declare it in appSecrets/],
    ["appEnv", { appEnv: ["FEATURE_X=1", "mysite:FEATURE_X=2"] }, /app "mysite" sets FEATURE_X twice/],
    ["appEnv", { appEnv: ["1FEATURE=1"] }, /"1FEATURE" is not an environment variable name/],
    ["appTaskWorkers", { appTaskWorkers: ["huey"] }, /entries are 'celery', 'rq', 'none' or 'app:<one of them>'/],
    ["appTaskWorkers", { appTaskWorkers: ["blog:none"] }, /entry "blog:none" names app "blog", which is not in apps/],
    ["appTaskWorkers", { appTaskWorkers: ["none", "mysite:celery"] }, /app "mysite" has two entries/],
    ["taskWorker", { taskWorker: "huey" }, /must be one of "celery", "rq", "none", "auto"/],
    ["appSecrets", { appSecrets: ["DATABASE_PASSWORD"], appSecret_mysite_DATABASE_PASSWORD: "hunter2" }, /entry "DATABASE_PASSWORD": DATABASE_PASSWORD is set by the stack itself/],
    ["appSecrets", { appSecrets: ["AWS_SECRET_ACCESS_KEY"] }, /AWS_SECRET_ACCESS_KEY starts with AWS_/],
    ["appSecrets", { appSecrets: ["blog:SENTRY_DSN"] }, /entry "blog:SENTRY_DSN" names app "blog", which is not in apps.*Allowed: one of mysite/],
    ["appSecrets", { appSecrets: ["SENTRY_DSN", "mysite:SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2" }, /app "mysite" declares SENTRY_DSN twice/],
    ["appSecrets", { appEnv: ["SENTRY_DSN=x"], appSecrets: ["SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2" }, /app "mysite" also sets SENTRY_DSN in appEnv.*Allowed: each name in appEnv or in appSecrets, not both/],
    ["appSecrets", { appSecrets: ["STRIPE_KEY=sk_live_hunter2"] }, /got \["STRIPE_KEY=\[hidden\]"\]\): entries are 'NAME' or 'app:NAME' \(the value goes in secret config, not here\)/],
    ["appSecret_mysite_SENTRY_DSN", { appSecrets: ["SENTRY_DSN"] }, /\(not set\): is not set, and app "mysite" declares the secret SENTRY_DSN in appSecrets.*Allowed: its value, set with `pulumi config set --secret django-tiers:appSecret_mysite_SENTRY_DSN <value>`/],
    ["appSecret_mysite_SENTRY_DNS", { appSecrets: ["SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2", appSecret_mysite_SENTRY_DNS: "hunter2" }, /got "\[secret\]"\): holds a secret that no entry of appSecrets declares \(did you mean appSecret_mysite_SENTRY_DSN\?\)/],
    ["appSecret_mysite_STRIPE_KEY", { appSecret_mysite_STRIPE_KEY: "hunter2" }, /holds a secret that no entry of appSecrets declares; to use it, add "mysite:STRIPE_KEY" to appSecrets/],
    ["appSecret_mysite_SENTRY_DSN", { appSecrets: ["SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2\0" }, /holds a NUL byte/],
  ])("%s: %j", (setting, change, fragment) => {
    expectRefused({ ...base, ...change }, setting, fragment);
  });

  it("needs environment when the stack name is not dev, staging or prod", () => {
    expectRefused(base, "environment", /stack name "feature-x" is not one of dev, staging, prod/, { ...ctx, stack: "feature-x" });
  });

  it("with several apps, every app needs a domain", () => {
    // The fixture has one Django project; a second app name is enough to reach the domain rule first.
    const err = problems({ ...base, apps: ["mysite", "blog"], domains: ["example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "a@b.co" });
    expect(err.message).toMatch(/app "blog" has no domain; with several apps nginx routes by domain/);
  });

  it("reports every problem at once", () => {
    const err = problems({ ...base, rootVolumeGb: 1, taskWorker: "huey", colour: "blue" });
    expect(err.problems.map((p) => p.setting).sort()).toEqual(["colour", "rootVolumeGb", "taskWorker"]);
  });

  it("has a negative test above for every setting", () => {
    const source = require("fs").readFileSync(__filename, "utf8") as string;
    for (const key of Object.keys(SETTINGS)) expect(source).toContain(`["${key}", {`);
  });
});

describe("appEnv", () => {
  it("gives each app its own variables, the first app's without a prefix, values as given (quotes, $, spaces, '=' and ':')", () => {
    const hostile = `it's "quoted" $HOME \`id\` \\ ; rm -rf / & a=b:c é`;
    const s = validateSettings({ ...base, appEnv: ["SENTRY_ENVIRONMENT=production", `mysite:HOSTILE=${hostile}`, "EMPTY=", "URL=https://example.com/a?b=c"] }, ctx);
    expect(s.apps[0].env).toEqual({ SENTRY_ENVIRONMENT: "production", HOSTILE: hostile, EMPTY: "", URL: "https://example.com/a?b=c" });
    expect(validateSettings(base, ctx).apps[0].env).toEqual({});
  });

  it("refuses a value longer than 4096 characters", () => {
    expectRefused({ ...base, appEnv: [`BIG=${"x".repeat(4097)}`] }, "appEnv", /the value of BIG is 4097 characters long, above 4096/);
  });
});

describe("appSecrets", () => {
  const VALUE = "https://hunter2-d0n0tl3ak@o1.ingest.sentry.io/1\nsecond line 'quoted' $HOME";
  const declared = { ...base, appSecrets: ["SENTRY_DSN", "mysite:STRIPE_API_KEY"], appSecret_mysite_SENTRY_DSN: VALUE, appSecret_mysite_STRIPE_API_KEY: "sk_live_hunter2" };
  const secretKeys = ["appSecret_mysite_SENTRY_DSN", "appSecret_mysite_STRIPE_API_KEY"];

  it("gives each app its secrets' names and values, the values shown nowhere but reveal()", () => {
    const s = validateSettings(declared, { ...ctx, secretKeys });
    expect(s.apps[0].secrets.map((x) => [x.name, x.configKey, x.value.reveal()])).toEqual([
      ["SENTRY_DSN", "appSecret_mysite_SENTRY_DSN", VALUE],
      ["STRIPE_API_KEY", "appSecret_mysite_STRIPE_API_KEY", "sk_live_hunter2"],
    ]);
    for (const shown of [JSON.stringify(s), require("util").inspect(s, { depth: 10 }), `${s.apps[0].secrets[0].value}`]) {
      expect(shown).not.toContain("hunter2");
    }
    expect(JSON.stringify(s.apps[0].secrets[0])).toBe('{"name":"SENTRY_DSN","configKey":"appSecret_mysite_SENTRY_DSN","value":"[secret]"}');
    expect(validateSettings(base, ctx).apps[0].secrets).toEqual([]);
  });

  it("refuses a value Pulumi holds in plain text, without printing it", () => {
    const err = problems(declared, { ...ctx, secretKeys: ["appSecret_mysite_STRIPE_API_KEY"] });
    expect(err.message).toMatch(/django-tiers:appSecret_mysite_SENTRY_DSN \(got "\[secret\]"\): is stored in plain text in the stack's config file\. Allowed: the value set as a secret: `pulumi config set --secret django-tiers:appSecret_mysite_SENTRY_DSN <value>`/);
    expect(err.message).not.toContain("hunter2");
  });

  it("never prints a secret set under a key that is no setting", () => {
    const err = problems({ ...base, secretsRotaton: "hunter2" }, { ...ctx, secretKeys: ["secretsRotaton"] });
    expect(err.message).toMatch(/django-tiers:secretsRotaton \(got "\[secret\]"\): is not a setting of this project \(did you mean secretsRotation\?\)/);
    expect(err.message).not.toContain("hunter2");
  });

  it("prints no value in any of its errors", () => {
    for (const raw of [
      { ...base, appSecrets: ["SENTRY_DSN", "SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2" },
      { ...base, appSecret_mysite_OTHER: "hunter2", appSecrets: ["SENTRY_DSN"], appSecret_mysite_SENTRY_DSN: "hunter2" },
      { ...base, appSecrets: ["X=hunter2"] },
    ]) {
      expect(problems(raw, { ...ctx, secretKeys: Object.keys(raw).filter((k) => k.startsWith("appSecret_")) }).message).not.toContain("hunter2");
    }
  });
});

describe("the task worker of each app", () => {
  /** Two startproject-shaped apps: shop with a Celery app module, blog without. */
  function twoApps(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-task-worker-"));
    const files: Record<string, string> = {
      "shop/manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n',
      "shop/shop/__init__.py": "from .celery import app as celery_app\n", "shop/shop/wsgi.py": "", "shop/shop/settings.py": "", "shop/shop/celery.py": "",
      "blog/manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blog.settings")\n',
      "blog/blog/__init__.py": "", "blog/blog/wsgi.py": "", "blog/blog/settings.py": "",
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  }
  const two = { tier: "single-box", apps: ["shop", "blog"], appsDir: ".", domains: ["shop.example.com", "blog:blog.example.com"], cloudflareZoneId: "0123456789abcdef0123456789abcdef", acmeEmail: "ops@example.com" };

  it("is detected when taskWorker is auto (the default): celery for a project with a Celery app, none without, and the plan says which", () => {
    const dir = twoApps();
    const s = validateSettings(two, { ...ctx, projectDir: dir });
    expect(s.apps.map((a) => [a.name, a.taskWorker, a.taskWorkerFrom])).toEqual([["shop", "celery", "detected"], ["blog", "none", "detected"]]);
    expect(s.taskWorker).toBe("celery");
    expect(taskWorkerNote(s.apps[0])).toBe("App shop: task worker celery (detected: its project has a Celery app, shop/celery.py); a worker and one beat run it.");
    expect(taskWorkerNote(s.apps[1])).toBe(
      'App blog: no task worker (detected: its project has no Celery app, no blog/celery.py); it gets no worker or beat program. Set appTaskWorkers to ["blog:celery"] or ["blog:rq"] to run one.',
    );
    // The sample app has mysite/celery.py.
    expect(validateSettings(base, ctx).apps[0]).toMatchObject({ taskWorker: "celery", taskWorkerFrom: "detected" });
    fs.rmSync(dir, { recursive: true });
  });

  it("is taskWorker's, then appTaskWorkers', and a chosen celery without a Celery app gets a warning note", () => {
    const dir = twoApps();
    const chosen = validateSettings({ ...two, taskWorker: "celery" }, { ...ctx, projectDir: dir });
    expect(chosen.apps.map((a) => [a.name, a.taskWorker, a.taskWorkerFrom])).toEqual([["shop", "celery", "taskWorker"], ["blog", "celery", "taskWorker"]]);
    expect(taskWorkerNote(chosen.apps[1])).toMatch(/^App blog: task worker celery \(from taskWorker\), but its project has no Celery app \(no blog\/celery.py\): its worker would fail at release\. Set appTaskWorkers to \["blog:none"\]/);
    const perApp = validateSettings({ ...two, taskWorker: "celery", appTaskWorkers: ["blog:none"] }, { ...ctx, projectDir: dir });
    expect(perApp.apps.map((a) => [a.name, a.taskWorker, a.taskWorkerFrom])).toEqual([["shop", "celery", "taskWorker"], ["blog", "none", "appTaskWorkers"]]);
    expect(taskWorkerNote(perApp.apps[1])).toBeUndefined();
    const none = validateSettings({ ...two, taskWorker: "none" }, { ...ctx, projectDir: dir });
    expect(none.taskWorker).toBe("none");
    fs.rmSync(dir, { recursive: true });
  });

  it("refuses two kinds of runner in one stack", () => {
    const dir = twoApps();
    expectRefused({ ...two, appTaskWorkers: ["blog:rq"] }, "appTaskWorkers",
      /apps use different task runners \(shop: celery, blog: rq\); a stack runs one kind.*Allowed: the same runner \(celery or rq\) for every app that has one, none for the others/, { ...ctx, projectDir: dir });
    fs.rmSync(dir, { recursive: true });
  });
});

describe("the settings module the servers load", () => {
  /** A cookiecutter-django-shaped project: manage.py names config.settings.local, with a production module beside it. */
  function cookiecutterShaped(withProduction: boolean): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-settings-module-"));
    const files: Record<string, string> = {
      "shop/manage.py": 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")\n',
      "shop/config/__init__.py": "", "shop/config/wsgi.py": "", "shop/config/settings/__init__.py": "",
      "shop/config/settings/base.py": "", "shop/config/settings/local.py": "",
      ...(withProduction ? { "shop/config/settings/production.py": "" } : {}),
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  }
  const settingsFor = (dir: string, extra: Record<string, unknown> = {}) =>
    validateSettings({ tier: "single-box", apps: ["shop"], appsDir: ".", ...extra }, { ...ctx, projectDir: dir });

  it("is manage.py's by default, and a development-looking one gets a note naming the production sibling", () => {
    const dir = cookiecutterShaped(true);
    const [app] = settingsFor(dir).apps;
    expect(app).toMatchObject({ settingsModule: "config.settings.local", settingsModuleFrom: "manage.py", projectPackage: "config" });
    expect(developmentModuleNote(app)).toBe(
      "App shop: manage.py names config.settings.local, which looks like a development settings module; the servers load it (with the production values over it). " +
        'The project has config.settings.production: set settingsModules to ["shop:config.settings.production"] to load it instead.',
    );
    fs.rmSync(dir, { recursive: true });
  });

  it("is the settingsModules entry when there is one, with no note", () => {
    const dir = cookiecutterShaped(true);
    const [app] = settingsFor(dir, { settingsModules: ["config.settings.production"] }).apps;
    expect(app).toMatchObject({ settingsModule: "config.settings.production", settingsModuleFrom: "settingsModules", wsgiApplication: "config.wsgi:application" });
    expect(developmentModuleNote(app)).toBeUndefined();
    fs.rmSync(dir, { recursive: true });
  });

  it("says how to pick another when the project has no production sibling, and says nothing for mysite.settings", () => {
    const dir = cookiecutterShaped(false);
    expect(developmentModuleNote(settingsFor(dir).apps[0])).toMatch(/Set settingsModules to \["shop:<module>"\] to load another\.$/);
    fs.rmSync(dir, { recursive: true });
    expect(developmentModuleNote(validateSettings(base, ctx).apps[0])).toBeUndefined();
  });
});

describe("aws:region", () => {
  it("is required: from the stack's config or the provider's AWS_REGION, never assumed", () => {
    const missing = regionProblems({}, {});
    expect(missing).toHaveLength(1);
    const message = new SettingsError("django-tiers", missing).message;
    expect(message).toMatch(/- aws:region \(not set\): is required.*Allowed: an AWS region such as us-east-1/);
    expect(regionProblems({ "aws:region": "eu-west-1" }, {})).toEqual([]);
    expect(regionProblems({}, { AWS_REGION: "ap-southeast-2" })).toEqual([]);
    expect(regionProblems({ "aws:region": "US East" }, {})[0].message).toMatch(/not an AWS region name/);
  });
});

describe("helpers", () => {
  it("closest suggests a near setting name, and none for a far one", () => {
    expect(closest("instancetype", ["instanceType", "tier"])).toBe("instanceType");
    expect(closest("kubernetes", ["instanceType", "tier"])).toBeUndefined();
  });

  it("coerceConfigValue reads numbers, booleans and JSON, and leaves other strings", () => {
    expect(coerceConfigValue("42")).toBe(42);
    expect(coerceConfigValue("false")).toBe(false);
    expect(coerceConfigValue('["a"]')).toEqual(["a"]);
    expect(coerceConfigValue("[oops")).toBe("[oops");
    expect(coerceConfigValue("t4g.small")).toBe("t4g.small");
  });

  it("discoverDjangoProject explains what is missing", () => {
    expect(discoverDjangoProject(path.join(projectDir, "examples/apps/mysite"))).toEqual({ settingsModule: "mysite.settings", projectPackage: "mysite" });
    expect(discoverDjangoProject(path.join(projectDir, "examples/apps"))).toMatch(/manage\.py is missing/);
  });
});
