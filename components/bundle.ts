/**
 * Release bundles: a Django project folder packaged by Pulumi as an archive,
 * versioned by the hash of its content unless a version is given.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** Never shipped: build output, caches, local state and secrets a developer may keep beside the code. */
const EXCLUDED = new Set([".git", "__pycache__", ".venv", "venv", "node_modules", "media", ".env", ".pytest_cache", ".mypy_cache", "db.sqlite3"]);

/** Files of a project folder, relative and sorted, without excluded entries. */
export function bundleFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (EXCLUDED.has(entry.name) || entry.name.endsWith(".pyc")) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(relPath);
      else if (entry.isFile()) out.push(relPath);
    }
  };
  walk("");
  return out.sort();
}

/** A short content hash: same files, same bytes → same version. */
export function bundleVersion(dir: string): string {
  const hash = crypto.createHash("sha256");
  for (const rel of bundleFiles(dir)) {
    hash.update(rel).update("\0").update(fs.readFileSync(path.join(dir, rel))).update("\0");
  }
  return hash.digest("hex").slice(0, 12);
}

/** The folder as a Pulumi archive (uploaded as a zip), excluded entries left out. */
export function bundleArchive(dir: string): pulumi.asset.AssetArchive {
  const assets: Record<string, pulumi.asset.Asset> = {};
  for (const rel of bundleFiles(dir)) assets[rel] = new pulumi.asset.FileAsset(path.join(dir, rel));
  return new pulumi.asset.AssetArchive(assets);
}
