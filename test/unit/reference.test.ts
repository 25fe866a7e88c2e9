/**
 * The component reference (docs/reference/) is generated from the doc
 * comments of components/: the committed pages must equal what
 * cli/reference.ts renders, and every argument field must be documented.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { componentFiles, documentComponents, missingDescriptions, REFERENCE_DIR, renderReference } from "../../cli/reference";

const repo = path.resolve(__dirname, "../..");

/**
 * Argument fields that have no doc comment yet, in files other helpers own;
 * each must get one (then leave this list). Empty only when it is true.
 */
const ALLOWED_MISSING: string[] = [
  "components/alerts.ts: AlertsArgs.transform",
  "components/artifacts.ts: ArtifactsArgs.transform",
  "components/backup.ts: BackupArgs.transform",
  "components/cache.ts: CacheArgs.transform",
  "components/cache.ts: CacheArgs.vpcId",
  "components/cdn.ts: CdnArgs.transform",
  "components/certificate.ts: CertificateArgs.transform",
  "components/client-group.ts: ClientSecurityGroupArgs.transform",
  "components/client-group.ts: ClientSecurityGroupArgs.vpcId",
  "components/database.ts: DatabaseArgs.transform",
  "components/database.ts: DatabaseArgs.vpcId",
  "components/dns.ts: DnsRecordsArgs.transform",
  "components/dns.ts: DnsRecordsArgs.type",
  "components/encryption.ts: StackKeyArgs.transform",
  "components/fleet.ts: FleetArgs.transform",
  "components/fleet.ts: FleetArgs.vpcId",
  "components/load-balancer.ts: LoadBalancerArgs.transform",
  "components/object-storage.ts: ObjectStorageArgs.transform",
  "components/private-bucket.ts: PrivateBucketArgs.transform",
  "components/release.ts: ReleaseArgs.transform",
  "components/secrets.ts: AppSecretsArgs.transform",
  "components/single-box.ts: SingleBoxArgs.subnetId",
  "components/single-box.ts: SingleBoxArgs.transform",
  "components/task-queue.ts: TaskQueueArgs.architecture",
  "components/task-queue.ts: TaskQueueArgs.logRetentionDays",
  "components/task-queue.ts: TaskQueueArgs.rootVolumeGb",
  "components/task-queue.ts: TaskQueueArgs.transform",
  "components/task-queue.ts: TaskQueueArgs.vpcId",
];

describe("component reference", () => {
  const pages = renderReference();

  it.each(Object.keys(pages))("%s is up to date (run `npx tsx cli/reference.ts`)", (file) => {
    expect(fs.existsSync(path.join(repo, file)) ? fs.readFileSync(path.join(repo, file), "utf8") : `${file} is missing`).toBe(pages[file]);
  });

  it("has no page for a component that no longer exists", () => {
    const committed = fs.readdirSync(path.join(repo, REFERENCE_DIR)).filter((f) => f.endsWith(".md")).map((f) => `${REFERENCE_DIR}/${f}`);
    expect(committed.filter((f) => !(f in pages))).toEqual([]);
  });

  it("documents every component class with its arguments and outputs, and indexes it", () => {
    const docs = documentComponents();
    expect(docs.length).toBeGreaterThanOrEqual(10);
    expect(docs.map((d) => d.className)).toEqual(expect.arrayContaining(["SingleBox", "Database", "Monitoring", "Network"]));
    for (const d of docs) {
      expect([d.className, d.summary.length > 0]).toEqual([d.className, true]);
      expect(pages[`${REFERENCE_DIR}/README.md`]).toContain(`| [${d.className}](`);
    }
    // A file without a documented component declares none (helpers such as bundle.ts, the abstract base).
    const documented = new Set(docs.map((d) => d.file));
    for (const file of componentFiles().filter((f) => !documented.has(f))) {
      expect([file, /^export class \w+ extends (Component|pulumi\.ComponentResource)\b/m.test(fs.readFileSync(path.join(repo, file), "utf8"))]).toEqual([file, false]);
    }
    const monitoring = pages[`${REFERENCE_DIR}/monitoring.md`];
    expect(monitoring).toContain("### MonitoringArgs");
    expect(monitoring).toContain("### FleetMonitoring");
    expect(monitoring).toMatch(/#### `diskUsedPercent\?`\n\nType: `number`\n\n[^\n]+\n[^\n]*\n*Default: `80`/);
    expect(monitoring).toContain("| `dashboardUrl` | `pulumi.Output<string>` | The dashboard in the CloudWatch console. |");
  });

  it("finds every argument field with a description, but the allowed ones", () => {
    expect(missingDescriptions()).toEqual(ALLOWED_MISSING);
  });
});
