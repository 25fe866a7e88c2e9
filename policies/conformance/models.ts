/**
 * AWS's own API models: botocore's `service-2.json` per service, from the
 * botocore release pinned below, installed (never copied
 * into the repo) by test/setup/install-aws-models.sh. Read with node's zlib
 * (recent releases ship them gzipped). No Pulumi here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";

/** The pinned botocore release; test/setup/install-aws-models.sh reads it from this line. */
export const BOTOCORE_VERSION = "1.44.5";

/** One shape of a botocore model (only the fields the checks read). */
export interface Shape {
  type: "structure" | "list" | "map" | "string" | "integer" | "long" | "boolean" | "timestamp" | "blob" | "double" | "float";
  members?: Record<string, { shape: string; locationName?: string }>;
  member?: { shape: string; locationName?: string };
  required?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
}

export interface ServiceModel {
  metadata: { apiVersion: string; serviceId: string };
  operations: Record<string, { input?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

/** Where the models are: the setup's cache as root, else the user's cache; DJANGO_TIERS_AWS_MODELS overrides. */
export function modelDirCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.DJANGO_TIERS_AWS_MODELS) return [env.DJANGO_TIERS_AWS_MODELS];
  const userCache = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return [
    `/var/cache/django-tiers/botocore-${BOTOCORE_VERSION}/botocore/data`,
    path.join(userCache, "django-tiers", `botocore-${BOTOCORE_VERSION}`, "botocore", "data"),
  ];
}

/** The installed models' data folder, or undefined. */
export function findModelDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return modelDirCandidates(env).find((d) => fs.existsSync(path.join(d, "ec2")));
}

/** The command that installs the models (what a message tells a user to run). */
export const INSTALL_COMMAND = "bash test/setup/install-aws-models.sh";

/** Reads AWS's API models from a botocore data folder, each service's newest API version, once. */
export class AwsModels {
  private readonly cache = new Map<string, ServiceModel>();
  constructor(public readonly dataDir: string) {}

  service(name: string): ServiceModel {
    let model = this.cache.get(name);
    if (!model) {
      const dir = path.join(this.dataDir, name);
      if (!fs.existsSync(dir)) throw new Error(`no botocore model for service "${name}" in ${this.dataDir}`);
      // API versions are dates: the newest sorts last (EC2 keeps 2014–2016 beside each other).
      const version = fs.readdirSync(dir).filter((v) => /^\d{4}-\d{2}-\d{2}$/.test(v)).sort().pop();
      if (!version) throw new Error(`no API version of "${name}" in ${dir}`);
      const file = path.join(dir, version, "service-2.json");
      const text = fs.existsSync(`${file}.gz`) ? zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString("utf8") : fs.readFileSync(file, "utf8");
      model = JSON.parse(text) as ServiceModel;
      this.cache.set(name, model);
    }
    return model;
  }

  /**
   * The shape at `Operation.Member.Member…` (list shapes are stepped through
   * to their member), e.g. `CreateAlias.AliasName`,
   * `AuthorizeSecurityGroupIngress.IpPermissions.IpRanges.Description`.
   */
  resolve(service: string, memberPath: string): { name: string; shape: Shape } {
    const model = this.service(service);
    const [operation, ...members] = memberPath.split(".");
    const op = model.operations[operation];
    if (!op?.input) throw new Error(`${service} has no operation ${operation} with an input`);
    let name = op.input.shape;
    for (const member of members) {
      let shape = model.shapes[name];
      while (shape.type === "list") {
        name = shape.member!.shape;
        shape = model.shapes[name];
      }
      const next = shape.members?.[member];
      if (!next) throw new Error(`${service} ${memberPath}: ${name} has no member ${member}`);
      name = next.shape;
    }
    return { name, shape: model.shapes[name] };
  }

  /** The values of an enum shape (e.g. EC2's `InstanceType`); undefined when the model carries none. */
  enumOf(service: string, shapeName: string): string[] | undefined {
    return this.service(service).shapes[shapeName]?.enum;
  }
}
