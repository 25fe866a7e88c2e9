/** Quoting for the languages the renderers write. */

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One shell word that stands for exactly `value` in bash (and POSIX sh):
 * bare when it holds only safe characters, otherwise single-quoted with each
 * `'` written as `'\''`.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new Error("a shell word cannot hold a NUL byte");
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A bash indexed array literal: `(a 'b c')`. */
export function bashArray(values: readonly string[]): string {
  return `(${values.map(shellQuote).join(" ")})`;
}

/** A bash associative array literal: `([k]=v [k2]='v 2')`. */
export function bashAssoc(entries: Record<string, string>): string {
  const body = Object.entries(entries).map(([k, v]) => `[${shellQuote(k)}]=${shellQuote(v)}`);
  return `(${body.join(" ")})`;
}

/** A Python string literal (JSON's escapes are all valid Python escapes). */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

/** `KEY=value` for a file that bash sources with `set -a`. */
export function envLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`${JSON.stringify(key)} is not an environment variable name`);
  return `${key}=${shellQuote(value)}`;
}
