/**
 * The box's configuration as one document, for changes after the first boot.
 *
 * User data runs once, on the first boot, and the stack ignores later
 * changes to it (replacing or stopping a box that holds data for a config
 * change is not acceptable). So every rendered file also goes to the
 * artifacts bucket as one JSON document named by its content hash, an SSM
 * parameter points at it, and phase fetch applies it: a changed setting (a
 * new domain, a database moved to RDS) reaches the running box through the
 * same rollout as a release.
 */
import * as crypto from "crypto";
import { LIB_DIR } from "./paths";
import type { RenderedFile } from "./types";

/** The Python helper phase fetch runs to write the document's files. */
export const APPLY_CONFIG = `${LIB_DIR}/apply_config.py`;

/** The document: every file, in renderBox's order. Holds no secret (renderBox never does). */
export function renderBoxConfig(files: RenderedFile[]): string {
  return JSON.stringify({ format: 1, files: files.map(({ path, mode, owner, content }) => ({ path, mode, owner, content })) });
}

/** A short content hash of the document: same files, same version. */
export function boxConfigVersion(document: string): string {
  return crypto.createHash("sha256").update(document).digest("hex").slice(0, 12);
}

/** S3 key of a box configuration document. */
export function boxConfigKey(role: string, version: string): string {
  return `config/${role}/${version}.json`;
}

/**
 * Writes each file of a box configuration document (argv[1]) where it
 * belongs, atomically, with its mode and owner, and prints the paths that
 * changed. Files whose content, mode and owner already match are left alone,
 * so a re-run changes nothing.
 */
export const APPLY_CONFIG_PY = `"""Apply a django-tiers box configuration document (phase fetch).

Usage: apply_config.py DOCUMENT.json
Writes every file of the document atomically with its mode and owner and
prints the path of each file that changed. Rendered by django-tiers.
"""
import grp
import json
import os
import pwd
import sys
import tempfile


def owner_ids(owner):
    user, _, group = owner.partition(":")
    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(group or user).gr_gid
    return uid, gid


def unchanged(path, content, mode, uid, gid):
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            return f.read() == content and (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid
    except FileNotFoundError:
        return False


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    if document.get("format") != 1:
        sys.exit("apply_config: unknown document format %r" % document.get("format"))
    for entry in document["files"]:
        path = entry["path"]
        if not path.startswith("/") or "/../" in path or path.endswith("/.."):
            sys.exit("apply_config: refusing path %r" % path)
        content = entry["content"].encode("utf-8")
        mode = int(entry["mode"], 8)
        try:
            uid, gid = owner_ids(entry["owner"])
        except KeyError:
            # The user does not exist yet (phase install creates app users): root until then.
            uid, gid = 0, 0
        if unchanged(path, content, mode, uid, gid):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".apply-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.chown(tmp, uid, gid)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        print(path)


if __name__ == "__main__":
    main()
`;
