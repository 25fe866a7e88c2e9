/**
 * Release bundles: a Django project folder packaged by Pulumi as an archive,
 * versioned by the hash of its content unless a version is given.
 *
 * What is shipped follows the project's own ignore files, as git reads them
 * (gitignore(5)): every `.gitignore` in the folder (a deeper one wins), then
 * `.django-tiers-ignore` at its top (same syntax, read last, so it has the
 * final word, e.g. `!media/` ships a top-level media folder). Before those, a
 * few defaults a project can re-include; and two rules nothing overrides.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** Read after every .gitignore, so its rules win. */
export const BUNDLE_IGNORE_FILE = ".django-tiers-ignore";

/** One entry left out of a bundle: a file, or a folder (trailing `/`) with everything under it. */
export interface LeftOut {
  path: string;
  reason: string;
}

export interface BundleContents {
  /** Shipped files, relative and sorted. */
  files: string[];
  /** What was left out and why, sorted by path; bytecode caches (`__pycache__`, `*.pyc`) are not listed. */
  leftOut: LeftOut[];
}

interface Rule {
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
  reason: string;
}

interface RuleSet {
  /** Folder (relative to the project, "" for its top) the patterns are relative to. */
  base: string;
  rules: Rule[];
}

/**
 * Never shipped, whatever an ignore file says: git's own data (a folder, or
 * a file in a worktree or submodule), and `.env` files (`.env`, `.env.local`,
 * …) and folders, which hold a developer's local secrets or virtualenv.
 */
function neverShipped(name: string): string | undefined {
  if (name === ".git") return "git's data is never shipped";
  if (name === ".env" || name.startsWith(".env.")) return ".env files are never shipped (local secrets; the app's environment comes from the stack)";
  return undefined;
}

/** Build output the box makes itself: left out and not listed (it comes and goes with every local run). */
function bytecode(name: string, isDir: boolean): boolean {
  return isDir ? name === "__pycache__" : name.endsWith(".pyc");
}

/**
 * Left out unless an ignore file re-includes them (`!media/`): local state at
 * the project's top only (a `static/catalog/media/` folder is shipped), and
 * tool caches anywhere.
 */
const DEFAULTS: RuleSet = {
  base: "",
  rules: [
    ...["/venv/", "/.venv/", "/node_modules/", "/media/", "/db.sqlite3"].map((p) => compileRule(p, "a top-level local folder or database (default; re-include it with !<name> in .django-tiers-ignore)")!),
    ...[".pytest_cache/", ".mypy_cache/", ".ruff_cache/"].map((p) => compileRule(p, "a tool cache (default)")!),
  ],
};

/** One gitignore line as a rule, or undefined for a blank line or a comment (gitignore(5), "PATTERN FORMAT"). */
export function compileRule(line: string, reason: string): Rule | undefined {
  if (line.startsWith("#")) return undefined;
  // Trailing spaces are ignored unless escaped with a backslash.
  let p = line.replace(/(?<!\\)\s+$/, "");
  if (p === "") return undefined;
  let negate = false;
  if (p.startsWith("!")) {
    negate = true;
    p = p.slice(1);
  }
  let dirOnly = false;
  if (p.endsWith("/")) {
    dirOnly = true;
    p = p.slice(0, -1);
  }
  // A separator at the start or in the middle anchors the pattern to the ignore file's folder.
  const anchored = p.includes("/");
  if (p.startsWith("/")) p = p.slice(1);
  if (p === "") return undefined;
  let body = "";
  for (let i = 0; i < p.length; ) {
    const atSegmentStart = i === 0 || p[i - 1] === "/";
    if (atSegmentStart && p.startsWith("**/", i)) {
      body += "(?:.*/)?";
      i += 3;
    } else if (atSegmentStart && p.slice(i) === "**") {
      body += ".*";
      i += 2;
    } else if (p[i] === "*") {
      while (p[i] === "*") i++;
      body += "[^/]*";
    } else if (p[i] === "?") {
      body += "[^/]";
      i++;
    } else if (p[i] === "[") {
      const close = p.indexOf("]", i + 2);
      if (close < 0) {
        body += "\\[";
        i++;
        continue;
      }
      let set = p.slice(i + 1, close);
      if (set.startsWith("!")) set = "^" + set.slice(1);
      body += `[${set.replace(/\\/g, "\\\\")}]`;
      i = close + 1;
    } else if (p[i] === "\\" && i + 1 < p.length) {
      body += p[i + 1].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i += 2;
    } else {
      body += p[i].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i++;
    }
  }
  return { regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`), negate, dirOnly, reason };
}

function readRules(file: string, label: string): Rule[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, "utf8").split(/\r?\n/)
    .map((line, i) => compileRule(line, `${label}:${i + 1} (${line.trim()})`))
    .filter((r): r is Rule => r !== undefined);
}

/** The last rule that matches decides (a deeper rule set is later); undefined: shipped. */
function ignoredBy(sets: RuleSet[], rel: string, isDir: boolean): string | undefined {
  let reason: string | undefined;
  for (const set of sets) {
    const inBase = set.base === "" ? rel : rel.slice(set.base.length + 1);
    for (const rule of set.rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(inBase)) reason = rule.negate ? undefined : rule.reason;
    }
  }
  return reason;
}

/** What a bundle of `dir` ships and what it leaves out. A folder left out is not entered (git's rule too). */
export function bundleContents(dir: string): BundleContents {
  const files: string[] = [];
  const leftOut: LeftOut[] = [];
  const last: RuleSet = { base: "", rules: readRules(path.join(dir, BUNDLE_IGNORE_FILE), BUNDLE_IGNORE_FILE) };
  const walk = (rel: string, sets: RuleSet[]) => {
    const here = path.join(dir, rel);
    const own = readRules(path.join(here, ".gitignore"), rel ? `${rel}/.gitignore` : ".gitignore");
    const inFolder = own.length ? [...sets, { base: rel, rules: own }] : sets;
    const entries = fs.readdirSync(here, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const isDir = entry.isDirectory();
      // Symlinks and sockets are not shipped (the archive would follow a link out of the folder).
      if (!isDir && !entry.isFile()) continue;
      if (bytecode(entry.name, isDir)) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const reason = neverShipped(entry.name) ?? ignoredBy([DEFAULTS, ...inFolder, last], relPath, isDir);
      if (reason) leftOut.push({ path: isDir ? `${relPath}/` : relPath, reason });
      else if (isDir) walk(relPath, inFolder);
      else files.push(relPath);
    }
  };
  walk("", []);
  const byPath = (a: { path: string } | string, b: { path: string } | string) => {
    const [x, y] = [typeof a === "string" ? a : a.path, typeof b === "string" ? b : b.path];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  return { files: files.sort(byPath), leftOut: leftOut.sort(byPath) };
}

/** Files of a project folder, relative and sorted, without what the bundle leaves out. */
export function bundleFiles(dir: string): string[] {
  return bundleContents(dir).files;
}

/** A short content hash: same files, same bytes → same version. */
export function bundleVersion(dir: string): string {
  const hash = crypto.createHash("sha256");
  for (const rel of bundleFiles(dir)) {
    hash.update(rel).update("\0").update(fs.readFileSync(path.join(dir, rel))).update("\0");
  }
  return hash.digest("hex").slice(0, 12);
}

/** The folder as a Pulumi archive (uploaded as a zip), left-out entries excluded. */
export function bundleArchive(dir: string): pulumi.asset.AssetArchive {
  const assets: Record<string, pulumi.asset.Asset> = {};
  for (const rel of bundleFiles(dir)) assets[rel] = new pulumi.asset.FileAsset(path.join(dir, rel));
  return new pulumi.asset.AssetArchive(assets);
}
