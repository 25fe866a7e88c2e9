/** `npm run shell -- --stack <name> [--app <app>]`: `manage.py shell` in a Session Manager session (cli/manage.ts). */
import { run } from "./manage";

if (require.main === module) run(process.argv.slice(2), true);
