/**
 * The EC2 user data: a #cloud-config that writes every rendered file and
 * runs the provisioning script once. It holds no secret (a BoxSpec has none).
 *
 * Size: EC2 takes at most 16 KB of user data, and the rendered files of a
 * box are far larger (~50 KB for one app, mostly the provisioning script and
 * the settings module), even gzipped one by one (~40 KB as gz+b64 entries).
 * So the whole document is gzipped once (cloud-init unpacks gzip user data
 * itself) and passed base64-encoded (`userDataBase64` of an instance, `userData`
 * of a launch template); the copies in the document also drop full-line
 * comments, which the rendered files keep for readers of this repository.
 * The tests run nginx, shellcheck, supervisor, gunicorn, Python and Django
 * over the copies decoded from the user data, i.e. over what lands on the box.
 */
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { PROVISION_SCRIPT } from "./paths";
import type { BoxSpec, RenderedFile } from "./types";

/** EC2 refuses user data above 16 KB (counted before its own base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** Marks a full-line comment, by kind of file. */
function commentPattern(path: string): RegExp {
  if (path.startsWith("/etc/apt/")) return /^\s*\/\//;
  if (path.startsWith("/etc/supervisor/")) return /^\s*[;#]/;
  return /^\s*#/;
}

const HEREDOC = /(?<!<)<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/;

/**
 * The file's text without full-line comments. Shell heredoc bodies and
 * Python triple-quoted strings are kept whole; so are the shebang and
 * shellcheck directives.
 */
export function stripComments(file: RenderedFile): string {
  const comment = commentPattern(file.path);
  const isPython = file.path.endsWith(".py");
  const isShell = /^#!\/bin\/(ba)?sh\b/.test(file.content);
  const out: string[] = [];
  let heredocEnd: string | undefined;
  let inPyString = false;
  file.content.split("\n").forEach((line, i) => {
    if (heredocEnd !== undefined) {
      out.push(line);
      if (line.trim() === heredocEnd) heredocEnd = undefined;
      return;
    }
    if (inPyString) {
      out.push(line);
      if ((line.match(/"""/g) ?? []).length % 2 === 1) inPyString = false;
      return;
    }
    const keep = !comment.test(line) || (i === 0 && line.startsWith("#!")) || /^\s*# shellcheck /.test(line);
    if (!keep) return;
    out.push(line);
    if (isShell) {
      const heredoc = HEREDOC.exec(line);
      if (heredoc) heredocEnd = heredoc[2];
    }
    if (isPython && (line.match(/"""/g) ?? []).length % 2 === 1) inPyString = true;
  });
  return out.join("\n");
}

interface WriteFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

/** The #cloud-config text (before gzip): write every file, then provision. */
export function renderCloudConfig(spec: BoxSpec, files: RenderedFile[]): string {
  const writeFiles: WriteFile[] = files.map((file) => ({
    path: file.path,
    owner: file.owner,
    permissions: file.mode,
    content: stripComments(file),
  }));
  const body = stringify({ write_files: writeFiles, runcmd: [[PROVISION_SCRIPT]] }, { lineWidth: 0, blockQuote: "literal" });
  return `#cloud-config
# django-tiers ${spec.role === "single-box" ? "single box" : `${spec.role} server${spec.color ? ` (${spec.color})` : ""}`} of ${spec.project}/${spec.stack} (${spec.environment}).
# No secrets here: the provisioning script's phase fetch reads them at boot.
${body}`;
}

/** The document gzipped, as EC2 receives it; throws above the 16 KB limit. */
export function gzipUserData(cloudConfig: string, apps: number): Buffer {
  // mtime 0 (Node's default) keeps the bytes, and so the instance, stable.
  const packed = gzipSync(Buffer.from(cloudConfig, "utf8"), { level: 9 });
  if (packed.length > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `gzipped user data is ${packed.length} bytes, above EC2's ${USER_DATA_LIMIT_BYTES}-byte limit (${apps} apps)`,
    );
  }
  return packed;
}
