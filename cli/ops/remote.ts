/**
 * The shell command lines `npm run manage` runs on a server. Run Command
 * (AWS-RunShellScript) and Session Manager (AWS-StartInteractiveCommand)
 * both hand their command to `sh` on the server, so every word that comes
 * from the user is quoted here for a POSIX shell: nothing in a management
 * command's arguments is ever interpreted by a shell, only passed to
 * manage.py as one argument each.
 *
 * The command is what the provisioning script's release phase does
 * (server/provision.ts `as_app`): in the app's live release, as the app's
 * user, through django-tiers-exec (the app's environment and secrets),
 * with the release's own Python.
 */
import { APPS_DIR, EXEC_WRAPPER } from "../../server/paths";
import type { Color } from "./ports";

/** `text` as one word of a POSIX shell: single-quoted, each ' as '\''. */
export function shellQuote(text: string): string {
  if (text.includes("\0")) throw new Error("an argument cannot contain a NUL byte");
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Words joined as one shell command line, each quoted. */
export const shellLine = (words: readonly string[]) => words.map(shellQuote).join(" ");

/** Where an app's live release is on its server. */
export interface ReleaseLocation {
  app: string;
  /**
   * A box with blue-green releases: the live color, whose link
   * (`/srv/apps/<app>/<color>`) is the release nginx sends traffic to.
   * Otherwise (an in-place box, a fleet's app server) the release is `current`.
   */
  color?: Color;
  /** The apps' folder on the server (tests point it elsewhere). */
  appsDir?: string;
}

export function releaseDir(where: ReleaseLocation): string {
  return `${where.appsDir ?? APPS_DIR}/${where.app}/${where.color ?? "current"}`;
}

/**
 * `cd <release> && exec runuser -u <app> -- django-tiers-exec <app> <release>/venv/bin/python manage.py <args>`,
 * run as root (Run Command runs as root).
 */
export function manageCommand(where: ReleaseLocation, args: readonly string[], execWrapper = EXEC_WRAPPER): string {
  const dir = releaseDir(where);
  return `cd ${shellQuote(dir)} && exec runuser -u ${shellQuote(where.app)} -- ${shellLine([execWrapper, where.app, `${dir}/venv/bin/python`, "manage.py", ...args])}`;
}

/**
 * The same for a Session Manager session, which runs as ssm-user (the agent
 * gives it sudo): `sudo -- sh -c '<manageCommand>'`.
 */
export function interactiveCommand(where: ReleaseLocation, args: readonly string[], execWrapper = EXEC_WRAPPER): string {
  return `sudo -- sh -c ${shellQuote(manageCommand(where, args, execWrapper))}`;
}

/**
 * Management commands that read from the terminal: they go through Session
 * Manager. `shell -c`/`--command` runs its code and exits; createsuperuser
 * and changepassword with --noinput ask nothing.
 */
export function isInteractive(args: readonly string[]): boolean {
  const [command, ...rest] = args;
  const has = (...flags: string[]) => rest.some((a) => flags.includes(a) || flags.some((f) => f.startsWith("--") && a.startsWith(`${f}=`)));
  switch (command) {
    case "shell":
    case "shell_plus":
      return !has("-c", "--command");
    case "dbshell":
      return true;
    case "createsuperuser":
    case "changepassword":
      return !has("--noinput", "--no-input");
    default:
      return false;
  }
}
