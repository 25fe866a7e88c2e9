/**
 * Blue-green on one box (issue #5) on a harness host: the colored single
 * box's spec, and what lets the rendered script's phase fetch run for real.
 *
 * Phase fetch is the one phase that talks to AWS: SSM (each color's release
 * pointer, the configuration pointer), S3 (the release bundles, the
 * configuration document) and Secrets Manager. Rather than write its outputs
 * from the test (as Box.fetch does for a box without colors), a stand-in
 * `aws` command on the host's PATH answers exactly the three calls the
 * script makes, from files under STANDIN_ROOT. A rollout then runs
 * `fetch configure release verify` as the stack's rollout association does:
 * fetch_box_config applies the new configuration document (colors.env),
 * fetch_color_releases writes CURRENT.blue and CURRENT.green (or removes one
 * whose pointer names no release) and keeps the bundles, fetch_secrets
 * writes secrets.env through the rendered helper. The stand-in is the one
 * thing faked; everything else is the rendered script, as rendered.
 */
import type { Box } from "./box";
import { APP, sampleSpec } from "./box";
import { progress, type Result } from "./harness";
import { boxConfigKey, boxConfigVersion, NO_RELEASE, releaseBundleKey, renderBox, renderBoxConfig } from "../../server";
import type { BoxColorsSpec, BoxSpec, Color } from "../../server";
import { PROVISION_SCRIPT } from "../../server/paths";

/** The app's domain: with one, phase fetch needs no IMDS for the instance's host names. */
export const DOMAIN = "mysite.example.test";
/** Where the stand-in keeps its parameters, objects and secrets on the host (root only). */
export const STANDIN_ROOT = "/var/tmp/fake-aws";
/** The stand-in's record of each call (service, operation, name): what phase fetch asked for. */
export const STANDIN_CALLS = `${STANDIN_ROOT}/calls.log`;
/** What the stack's rollout association runs on the box. */
export const ROLLOUT = ["fetch", "configure", "release", "verify"];

/**
 * The stack's single box for the sample app with blue-green releases:
 * Celery, PostgreSQL and Redis on the box (topology 1), plain HTTP for
 * DOMAIN, two gunicorn workers per color (two pools on a 2-core machine).
 */
export function coloredBoxSpec(colors: BoxColorsSpec): BoxSpec {
  const base = sampleSpec({ taskWorker: "celery", workers: 2 });
  return {
    ...base,
    colors: { ...colors },
    tls: { mode: "none" },
    apps: base.apps.map((app) => ({
      ...app,
      domains: [DOMAIN],
      colorReleaseParameters: {
        blue: `/django-tiers/servers-test/${app.name}/blue/release`,
        green: `/django-tiers/servers-test/${app.name}/green/release`,
      },
    })),
  };
}

/**
 * The AWS CLI's three calls of phase fetch, answered from STANDIN_ROOT:
 * `ssm get-parameter --name N --query Parameter.Value --output text`,
 * `s3 cp [--only-show-errors] s3://BUCKET/KEY DEST` and
 * `secretsmanager get-secret-value --secret-id ID --query SecretString --output text`.
 * Anything else fails loudly, so a new call of the script is noticed here.
 */
const AWS_CLI = `#!/bin/bash
# Test stand-in for the AWS CLI on a harness host (test/servers/colors.ts):
# phase fetch's SSM, S3 and Secrets Manager reads, from ${STANDIN_ROOT}. A real
# box has the real CLI and its instance role.
set -euo pipefail
root=${STANDIN_ROOT}
args=()
while (($#)); do
  case $1 in
    --region) shift 2 ;;
    --only-show-errors) shift ;;
    --query | --output) args+=("$1=$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
fail() { echo "fake aws: $*" >&2; exit 255; }
case "\${args[0]:-} \${args[1]:-}" in
  "ssm get-parameter")
    [[ \${args[2]:-} == --name && \${args[4]:-} == --query=Parameter.Value && \${args[5]:-} == --output=text ]] || fail "unsupported: \${args[*]}"
    echo "ssm get-parameter \${args[3]}" >>"$root/calls.log"
    file=$root/ssm\${args[3]}
    [[ -f $file ]] || fail "ParameterNotFound: \${args[3]}"
    cat "$file"; echo
    ;;
  "s3 cp")
    ((\${#args[@]} == 4)) && [[ \${args[2]} == s3://* ]] || fail "unsupported: \${args[*]}"
    echo "s3 cp \${args[2]}" >>"$root/calls.log"
    src=$root/s3/\${args[2]#s3://}
    [[ -f $src ]] || fail "NoSuchKey: \${args[2]}"
    cp "$src" "\${args[3]}"
    ;;
  "secretsmanager get-secret-value")
    [[ \${args[2]:-} == --secret-id && \${args[4]:-} == --query=SecretString && \${args[5]:-} == --output=text ]] || fail "unsupported: \${args[*]}"
    echo "secretsmanager get-secret-value \${args[3]}" >>"$root/calls.log"
    id=\${args[3]//[:\\/]/_}
    [[ -f $root/secrets/$id ]] || fail "ResourceNotFoundException: \${args[3]}"
    cat "$root/secrets/$id"; echo
    ;;
  *) fail "unsupported: \${args[*]}" ;;
esac
`;

/**
 * A colored box whose stack publishes through the stand-in: bundles and the
 * configuration document in "S3", the pointers in "SSM", the secret in
 * "Secrets Manager", as `pulumi up` leaves them before the rollout runs.
 */
export class ColoredBox {
  spec: BoxSpec;

  constructor(readonly box: Box, colors: BoxColorsSpec) {
    this.spec = coloredBoxSpec(colors);
    const h = box.host;
    h.write("/usr/local/bin/aws", AWS_CLI, "0755");
    h.mustExec(["install", "-d", "-m", "0700", STANDIN_ROOT]);
    h.write(`${STANDIN_ROOT}/secrets/${this.app.secretId.replace(/[:/]/g, "_")}`, JSON.stringify(box.secrets), "0600");
  }

  private get app() {
    return this.spec.apps[0]!;
  }

  private putObject(key: string, content: string | Buffer): void {
    this.box.host.write(`${STANDIN_ROOT}/s3/${this.spec.artifactsBucket}/${key}`, content, "0600");
  }

  private putParameter(name: string, value: string): void {
    this.box.host.write(`${STANDIN_ROOT}/ssm${name}`, value, "0600");
  }

  /** Uploads the sample app (with `overrides`) as release `version`'s bundle. */
  publish(version: string, overrides: Record<string, string> = {}): void {
    this.putObject(releaseBundleKey(APP, version), this.box.bundle(overrides));
  }

  /** Sets `color`'s release pointer to `version`'s bundle, or to "no release yet". */
  point(color: Color, version: string | undefined): void {
    this.putParameter(this.app.colorReleaseParameters![color], version === undefined ? NO_RELEASE : releaseBundleKey(APP, version));
  }

  /**
   * The configuration document of the spec with these colors, uploaded and
   * pointed at, as `pulumi up` does for a new live color or idle fate (the
   * document's hash names it, so a change is a new key).
   */
  configure(colors: BoxColorsSpec): string {
    this.spec = { ...this.spec, colors: { ...colors } };
    const document = renderBoxConfig(renderBox(this.spec));
    const key = boxConfigKey(this.spec.role, boxConfigVersion(document));
    this.putObject(key, document);
    this.putParameter(this.spec.configParameter, key);
    return key;
  }

  /** The stand-in's calls since `mark` (a length of the log from callsMark). */
  calls(mark = 0): string[] {
    return this.callsLog().slice(mark).split("\n").filter(Boolean);
  }

  callsMark(): number {
    return this.callsLog().length;
  }

  private callsLog(): string {
    const result = this.box.host.exec(["cat", STANDIN_CALLS]);
    return result.status === 0 ? result.output : "";
  }

  /**
   * The rendered provisioning script for `phases` (by default the rollout's),
   * timed; `env` is what the caller sets for the script (tests only: a
   * shorter DJANGO_TIERS_VERIFY_TIMEOUT).
   */
  run(phases: string[] = ROLLOUT, env: Record<string, string> = {}): Result & { seconds: number } {
    const started = Date.now();
    const result = this.box.host.exec([PROVISION_SCRIPT, ...phases], { timeoutMs: 420_000, env });
    const seconds = (Date.now() - started) / 1000;
    const summary = result.output.split("\n").filter((l) => / (done in|FAILED|ERROR)/.test(l)).map((l) => l.replace(/^\S+ django-tiers-provision /, "")).join("; ");
    progress(`[${this.box.host.name}] provision ${phases.join(" ")}: exit ${result.status} in ${seconds.toFixed(1)}s (${summary})`);
    progress(`[${this.box.host.name}]   its slowest steps: ${slowestSteps(result.output).join(" | ")}`);
    return { ...result, seconds };
  }

  mustRun(phases: string[] = ROLLOUT): Result & { seconds: number } {
    const result = this.run(phases);
    if (result.status !== 0) throw new Error(`provision ${phases.join(" ")} failed:\n${result.output.slice(-8000)}`);
    return result;
  }

  /** `django-tiers-provision colors`, parsed: the live color, and each color's release and program state. */
  colors(): { text: string; live: string; blue: ColorState; green: ColorState } {
    const text = this.box.host.mustExec([PROVISION_SCRIPT, "colors"]);
    const live = new RegExp(`^${APP}: live (\\S*)$`, "m").exec(text)?.[1] ?? "";
    const state = (color: Color): ColorState => {
      const m = new RegExp(`^  ${color}\\s+release (\\S*)\\s+(\\S+) (\\S+)$`, "m").exec(text);
      return { release: m?.[1] ?? "", program: m?.[2] ?? "", state: m?.[3] ?? "" };
    };
    return { text, live, blue: state("blue"), green: state("green") };
  }
}

export interface ColorState {
  release: string;
  program: string;
  state: string;
}

/**
 * The provisioning log's lines (timestamps and the script's name dropped:
 * `[phase] message`), so a test can assert their order.
 */
export function logLines(output: string): string[] {
  return output.split("\n").map((l) => l.replace(/^\S+ django-tiers-provision /, "")).filter(Boolean);
}

/** The index of the first line containing `text` at or after `from` (-1 when none). */
export function lineIndex(lines: string[], text: string, from = 0): number {
  for (let i = from; i < lines.length; i++) if (lines[i]!.includes(text)) return i;
  return -1;
}

/**
 * The provisioning log's slowest steps: each line's time until the next
 * timestamped line (whole seconds, as logged), the longest `count` first.
 * Reported, never asserted: where a rollout's time goes.
 */
export function slowestSteps(output: string, count = 5): string[] {
  const stamped = output.split("\n").map((l) => /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) django-tiers-provision (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null).map((m) => ({ at: Date.parse(m[1]!), line: m[2]! }));
  const steps = stamped.slice(0, -1).map((s, i) => ({ seconds: (stamped[i + 1]!.at - s.at) / 1000, line: s.line }));
  return steps.sort((a, b) => b.seconds - a.seconds).slice(0, count).filter((s) => s.seconds > 0).map((s) => `${s.seconds}s after ${s.line.slice(0, 100)}`);
}
