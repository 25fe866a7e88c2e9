/**
 * Reading the files rendered for servers (server/ renders them; the checks in
 * checks/server-files.ts judge them). Small parsers for the four formats we
 * render — nginx, gunicorn's Python config, supervisor INI and KEY=value env
 * files — and the fixed layout that tells which file belongs to which app:
 *
 *   /etc/nginx/conf.d/django-tiers.conf        http-level nginx settings
 *   /etc/nginx/sites-available/<app>.conf      the app's server blocks
 *   /etc/django-tiers/<app>/gunicorn.conf.py   top-level `name = value` lines
 *   /etc/supervisor/conf.d/<app>.conf          [program:<app>-web|-web-<color>|-worker|-beat]
 *   /etc/django-tiers/<app>/app.env            non-secret KEY=value environment
 *
 * Secrets live in `/etc/django-tiers/<app>/secrets.env`, written at boot by the
 * `fetch` phase and never rendered.
 */
import type { RenderedFile } from "../server/types";
import type { PlanUnderTest } from "./types";

// ---------------------------------------------------------------- nginx

export interface NginxDirective {
  name: string;
  args: string[];
  /** Present for block directives (`server { … }`). */
  children?: NginxDirective[];
}

function tokenizeNginx(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < text.length && text[i] !== "\n") i++;
    else if (c === "{" || c === "}" || c === ";") tokens.push(text[i++]);
    else if (c === '"' || c === "'") {
      let j = i + 1;
      let word = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\") j++;
        word += text[j++] ?? "";
      }
      tokens.push(word);
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};]/.test(text[j])) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

/** Parses nginx configuration into a directive tree (comments dropped, quotes removed). */
export function parseNginx(text: string): NginxDirective[] {
  const tokens = tokenizeNginx(text);
  let pos = 0;
  const block = (): NginxDirective[] => {
    const out: NginxDirective[] = [];
    let words: string[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++];
      if (t === ";") {
        if (words.length) out.push({ name: words[0], args: words.slice(1) });
        words = [];
      } else if (t === "{") {
        out.push({ name: words[0] ?? "", args: words.slice(1), children: block() });
        words = [];
      } else if (t === "}") return out;
      else words.push(t);
    }
    return out;
  };
  return block();
}

/** Every directive named `name`, at any depth, with the chain of blocks around it. */
export function findDirectives(
  tree: NginxDirective[],
  name: string,
  ancestors: NginxDirective[] = [],
): { directive: NginxDirective; ancestors: NginxDirective[] }[] {
  return tree.flatMap((d) => [
    ...(d.name === name ? [{ directive: d, ancestors }] : []),
    ...(d.children ? findDirectives(d.children, name, [...ancestors, d]) : []),
  ]);
}

/** nginx size (`10m`, `1g`, `512k`, bytes) in MiB; `0` means unlimited (Infinity). */
export function nginxSizeMb(v: string | undefined): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v ?? "");
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n === 0) return Infinity;
  const unit = m[2].toLowerCase();
  return unit === "g" ? n * 1024 : unit === "m" ? n : unit === "k" ? n / 1024 : n / (1024 * 1024);
}

/** nginx time (`60`, `60s`, `2m`, `1h`) in seconds. */
export function nginxSeconds(v: string | undefined): number | undefined {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v ?? "");
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : m[2] === "h" ? n * 3600 : n;
}

// ------------------------------------------------------ gunicorn (Python)

/** Top-level `name = value` assignments of a Python config file, values as source text. */
export function parsePythonAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export function pyNumber(src: string | undefined): number | undefined {
  return src !== undefined && /^-?\d+(\.\d+)?$/.test(src) ? Number(src) : undefined;
}

/** A Python string literal, or a list/tuple of them, as strings. */
export function pyStrings(src: string | undefined): string[] {
  if (src === undefined) return [];
  return [...src.matchAll(/(["'])(.*?)\1/g)].map((m) => m[2]);
}

// ---------------------------------------------------------- supervisor INI

/** INI sections → keys → values (supervisor style: `;`/`#` comments, indented continuation lines). */
export function parseIni(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split("\n")) {
    if (/^\s*[;#]/.test(raw) || !raw.trim()) continue;
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(raw);
    if (header) {
      section = out[header[1].trim()] = {};
      lastKey = undefined;
      continue;
    }
    if (section && lastKey && /^\s+\S/.test(raw)) {
      section[lastKey] += `\n${raw.trim()}`;
      continue;
    }
    const kv = /^\s*([^=]+?)\s*=\s*(.*?)\s*(\s;.*)?$/.exec(raw);
    if (section && kv) section[(lastKey = kv[1].toLowerCase())] = kv[2];
  }
  return out;
}

// ---------------------------------------------------------------- env file

/**
 * The value a shell word stands for, for the words the renderers write
 * (server/quote.ts shellQuote): bare characters and single-quoted runs, with
 * `'\\''` for a quote inside; a double-quoted word loses its quotes.
 */
function unquoteShellWord(word: string): string {
  if (/^".*"$/.test(word)) return word.slice(1, -1);
  let out = "";
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) return out + word.slice(i + 1);
      out += word.slice(i + 1, end);
      i = end;
    } else if (c === "\\" && i + 1 < word.length) out += word[++i];
    else out += c;
  }
  return out;
}

/** KEY=value lines (optional `export `, shell-quoted values), comments and blanks skipped. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]] = unquoteShellWord(m[2].trim());
  }
  return out;
}

// ------------------------------------------------------------------ layout

export const NGINX_GLOBAL_PATH = "/etc/nginx/conf.d/django-tiers.conf";

export interface AppFiles {
  app: string;
  site?: RenderedFile;
  gunicorn?: RenderedFile;
  supervisor?: RenderedFile;
  env?: RenderedFile;
}

export interface RoleFiles {
  role: string;
  files: RenderedFile[];
  nginxGlobal?: RenderedFile;
  apps: AppFiles[];
}

const APP_FILES: { key: Exclude<keyof AppFiles, "app">; pattern: RegExp }[] = [
  { key: "site", pattern: /^\/etc\/nginx\/sites-available\/([^/]+)\.conf$/ },
  { key: "gunicorn", pattern: /^\/etc\/django-tiers\/([^/]+)\/gunicorn\.conf\.py$/ },
  { key: "supervisor", pattern: /^\/etc\/supervisor\/conf\.d\/([^/]+)\.conf$/ },
  { key: "env", pattern: /^\/etc\/django-tiers\/([^/]+)\/app\.env$/ },
];

/** The roles that rendered at least one file, with their files grouped by app. */
export function roleFiles(plan: PlanUnderTest): RoleFiles[] {
  return Object.entries(plan.serverFiles)
    .filter(([, files]) => files.length > 0)
    .map(([role, files]) => {
      const apps = new Map<string, AppFiles>();
      for (const file of files)
        for (const { key, pattern } of APP_FILES) {
          const m = pattern.exec(file.path);
          if (!m) continue;
          const app = apps.get(m[1]) ?? { app: m[1] };
          app[key] = file;
          apps.set(m[1], app);
        }
      return { role, files, nginxGlobal: files.find((f) => f.path === NGINX_GLOBAL_PATH), apps: [...apps.values()] };
    });
}

/** The supervisor programs of an app's file. */
export function supervisorPrograms(file: RenderedFile | undefined): Record<string, Record<string, string>> {
  if (!file) return {};
  const programs: Record<string, Record<string, string>> = {};
  for (const [section, keys] of Object.entries(parseIni(file.content)))
    if (section.startsWith("program:")) programs[section.slice("program:".length)] = keys;
  return programs;
}

/** gunicorn's documented defaults for the settings we check. */
export const GUNICORN_DEFAULTS = { timeout: 30, graceful_timeout: 30 };
/** supervisor's default `stopwaitsecs`. */
export const SUPERVISOR_DEFAULT_STOPWAITSECS = 10;
/** nginx's default `proxy_read_timeout`. */
export const NGINX_DEFAULT_PROXY_READ_TIMEOUT = 60;

/** gunicorn `graceful_timeout` of every rendered app (default when unset). */
export function gracefulTimeouts(plan: PlanUnderTest): number[] {
  return roleFiles(plan).flatMap((role) =>
    role.apps
      .filter((a) => a.gunicorn)
      .map(
        (a) =>
          pyNumber(parsePythonAssignments(a.gunicorn!.content).graceful_timeout) ?? GUNICORN_DEFAULTS.graceful_timeout,
      ),
  );
}

/** The longest `stopwaitsecs` of any worker program rendered: the longest task a worker may run. */
export function longestWorkerStopSeconds(plan: PlanUnderTest): number | undefined {
  const waits = roleFiles(plan).flatMap((role) =>
    role.apps.flatMap((a) =>
      Object.entries(supervisorPrograms(a.supervisor))
        .filter(([name]) => name.endsWith("-worker"))
        .map(([, keys]) => Number(keys.stopwaitsecs ?? SUPERVISOR_DEFAULT_STOPWAITSECS)),
    ),
  );
  return waits.length ? Math.max(...waits) : undefined;
}
