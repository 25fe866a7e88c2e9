/**
 * What a release bundle ships: the project's .gitignore files and
 * .django-tiers-ignore as git reads them, .env files never, local state only
 * at the top, and a list of what was left out. Real folders under the
 * system's temp dir.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bundleContents, bundleFiles, bundleVersion, compileRule } from "../../components/bundle";

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "django-tiers-bundle-"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A project folder with these files (a value of null makes an empty folder). */
function project(files: Record<string, string | null>): string {
  const dir = path.join(root, `p${++count}`);
  for (const [rel, content] of Object.entries({ "manage.py": "#!/usr/bin/env python\n", ...files })) {
    const target = path.join(dir, rel);
    if (content === null) fs.mkdirSync(target, { recursive: true });
    else {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
  }
  return dir;
}

const leftOutPaths = (dir: string) => bundleContents(dir).leftOut.map((l) => l.path);

describe("bundle contents", () => {
  it("leaves out media, venv and node_modules only at the top, and ships same-named folders deeper", () => {
    const dir = project({
      "media/upload.jpg": "x", "venv/bin/python": "x", ".venv/pyvenv.cfg": "x", "node_modules/a/index.js": "x", "db.sqlite3": "x",
      "static/catalog/media/logo.svg": "<svg/>", "shop/venv/notes.txt": "x", "assets/node_modules/b.js": "x", "docs/db.sqlite3": "x",
    });
    expect(bundleFiles(dir)).toEqual([
      "assets/node_modules/b.js", "docs/db.sqlite3", "manage.py", "shop/venv/notes.txt", "static/catalog/media/logo.svg",
    ]);
    expect(leftOutPaths(dir)).toEqual([".venv/", "db.sqlite3", "media/", "node_modules/", "venv/"]);
    expect(bundleContents(dir).leftOut.find((l) => l.path === "media/")!.reason).toMatch(/top-level .*re-include it with !<name> in \.django-tiers-ignore/);
  });

  it("never ships .env files or folders at any depth, even when an ignore file re-includes them", () => {
    const dir = project({
      ".env": "SECRET=1", ".env.local": "SECRET=2", "config/.env.production": "SECRET=3", ".env.d/x": "SECRET=4",
      ".envrc": "use flake", ".gitignore": "!.env.local\n", ".django-tiers-ignore": "!.env\n!config/.env.production\n",
      "config/settings.py": "x",
    });
    const { files, leftOut } = bundleContents(dir);
    expect(files.filter((f) => f.split("/").pop()!.startsWith(".env"))).toEqual([".envrc"]);
    expect(leftOut.filter((l) => /never shipped/.test(l.reason)).map((l) => l.path)).toEqual([".env", ".env.d/", ".env.local", "config/.env.production"]);
  });

  it("follows .gitignore files as git does: globs, anchors, folders only, negation, deeper files", () => {
    const dir = project({
      ".gitignore": "# comment\n*.log\n!keep.log\nbuild/\n/local_settings.py\n**/fixtures/*.json\ndist\ncache/\n!cache/kept.txt\nfoo?.txt\n\\#hash\n[ab]x.txt\n",
      "app.log": "x", "keep.log": "x", "sub/deep.log": "x",
      "build/out.js": "x", "sub/build/out.js": "x", "build.py": "x",
      "local_settings.py": "x", "sub/local_settings.py": "x",
      "a/fixtures/one.json": "x", "fixtures/two.json": "x", "a/fixtures/keep.yaml": "x",
      "dist": "a file, ignored by a pattern without a slash", "cache/kept.txt": "x",
      "foo1.txt": "x", "foo12.txt": "x", "#hash": "x", "ax.txt": "x", "cx.txt": "x",
      "sub/.gitignore": "/only-here.txt\n!deep.log\n", "sub/only-here.txt": "x", "only-here.txt": "x",
    });
    expect(bundleFiles(dir)).toEqual([
      ".gitignore", "a/fixtures/keep.yaml", "build.py", "cx.txt", "foo12.txt", "keep.log", "manage.py",
      "only-here.txt", "sub/.gitignore", "sub/deep.log", "sub/local_settings.py",
    ]);
    const { leftOut } = bundleContents(dir);
    // A folder left out is not entered, so cache/kept.txt stays out (git's rule), and is listed once.
    expect(leftOut.map((l) => l.path)).toEqual([
      "#hash", "a/fixtures/one.json", "app.log", "ax.txt", "build/", "cache/", "dist", "fixtures/two.json", "foo1.txt",
      "local_settings.py", "sub/build/", "sub/only-here.txt",
    ]);
    expect(leftOut.find((l) => l.path === "app.log")!.reason).toBe(".gitignore:2 (*.log)");
    expect(leftOut.find((l) => l.path === "sub/only-here.txt")!.reason).toBe("sub/.gitignore:1 (/only-here.txt)");
  });

  it("reads .django-tiers-ignore last: it can leave out more, or re-include a default", () => {
    const dir = project({
      ".django-tiers-ignore": "docs/\n!media/\n!*.md\n", ".gitignore": "*.md\n",
      "docs/index.md": "x", "media/brand.png": "x", "README.md": "x", "sub/.gitignore": "notes.md\n", "sub/notes.md": "x",
    });
    expect(bundleFiles(dir)).toEqual([".django-tiers-ignore", ".gitignore", "README.md", "manage.py", "media/brand.png", "sub/.gitignore", "sub/notes.md"]);
    expect(bundleContents(dir).leftOut).toEqual([{ path: "docs/", reason: ".django-tiers-ignore:1 (docs/)" }]);
  });

  it("leaves out bytecode and git's data without listing bytecode", () => {
    const dir = project({ "__pycache__/x.pyc": "x", "shop/__pycache__/y.pyc": "x", "shop/z.pyc": "x", ".git/HEAD": "x", "sub/.git": "gitdir: ../.git" });
    expect(bundleFiles(dir)).toEqual(["manage.py"]);
    expect(leftOutPaths(dir)).toEqual([".git/", "sub/.git"]);
  });

  it("versions by what is shipped: a left-out file does not change the version, a shipped one does", () => {
    const dir = project({ "shop/views.py": "x", ".gitignore": "*.log\n" });
    const before = bundleVersion(dir);
    fs.writeFileSync(path.join(dir, "debug.log"), "x");
    fs.writeFileSync(path.join(dir, ".env.local"), "SECRET=1");
    fs.mkdirSync(path.join(dir, "media"));
    fs.writeFileSync(path.join(dir, "media/upload.jpg"), "x");
    expect(bundleVersion(dir)).toBe(before);
    fs.writeFileSync(path.join(dir, "shop/views.py"), "y");
    expect(bundleVersion(dir)).not.toBe(before);
  });
});

/**
 * The real counterpart: git itself. For a tree with no default-excluded
 * names and no .env files (where the bundle adds rules of its own), the
 * bundle ships exactly what `git ls-files --cached --others --exclude-standard`
 * lists in a fresh repository of the same folder.
 */
describe("bundle contents against git", () => {
  const gitFiles = (dir: string): string[] => {
    const git = (...args: string[]) => {
      const result = spawnSync("git", ["-C", dir, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: "1" } });
      if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
      return result.stdout;
    };
    git("init", "-q");
    return git("ls-files", "--cached", "--others", "--exclude-standard").split("\n").filter(Boolean).sort();
  };

  it.each<[string, Record<string, string>]>([
    ["globs, anchors, folders only, negation, deeper files", {
      ".gitignore": "# comment\n*.log\n!keep.log\nbuild/\n/local_settings.py\n**/fixtures/*.json\ndist\ncache/\n!cache/kept.txt\nfoo?.txt\n\\#hash\n[ab]x.txt\n",
      "app.log": "x", "keep.log": "x", "sub/deep.log": "x", "build/out.js": "x", "sub/build/out.js": "x", "build.py": "x",
      "local_settings.py": "x", "sub/local_settings.py": "x", "a/fixtures/one.json": "x", "fixtures/two.json": "x",
      "a/fixtures/keep.yaml": "x", "dist": "x", "cache/kept.txt": "x", "foo1.txt": "x", "foo12.txt": "x", "#hash": "x",
      "ax.txt": "x", "cx.txt": "x", "sub/.gitignore": "/only-here.txt\n!deep.log\n", "sub/only-here.txt": "x", "only-here.txt": "x",
    }],
    ["double stars, character classes, escapes and a deeper file re-including", {
      ".gitignore": "logs/**\n!logs/keep/\na/**/b\n*.py[co]\n[!s]*.tmp\nsecret\\ file\n/static/*\n!/static/keep.css\n",
      "logs/x/y.txt": "x", "logs/keep/z.txt": "x", "a/b": "x", "a/x/y/b": "x", "c/a/b": "x", "m.pyo": "x", "m.py": "x",
      "s1.tmp": "x", "t1.tmp": "x", "secret file": "x", "static/app.css": "x", "static/keep.css": "x", "shop/static/app.css": "x",
      "shop/.gitignore": "*.css\n!app.css\n", "shop/theme.css": "x",
    }],
  ])("%s", (_label, files) => {
    const dir = project(files);
    expect(bundleFiles(dir)).toEqual(gitFiles(dir));
  });
});

describe("compileRule", () => {
  it.each<[string, string, boolean]>([
    ["**/logs", "a/b/logs", true],
    ["**/logs", "logs", true],
    ["logs/**", "logs/a/b", true],
    ["a/**/b", "a/b", true],
    ["a/**/b", "a/x/y/b", true],
    ["a/*/b", "a/x/y/b", false],
    ["doc/frotz", "a/doc/frotz", false],
    ["frotz", "a/doc/frotz", true],
    ["[!a]x", "bx", true],
    ["[!a]x", "ax", false],
    ["trailing\\ ", "trailing ", true],
    ["\\!important", "!important", true],
  ])("%s matches %s: %s", (pattern, rel, matches) => {
    expect(compileRule(pattern, "t")!.regex.test(rel)).toBe(matches);
  });

  it("ignores blank lines and comments", () => {
    expect(compileRule("", "t")).toBeUndefined();
    expect(compileRule("   ", "t")).toBeUndefined();
    expect(compileRule("# x", "t")).toBeUndefined();
  });
});
