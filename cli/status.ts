/** `npm run status -- --stack <name>`: what runs where, the last rollout and the alarms in ALARM (cli/ops/status.ts). */
import * as path from "path";
import { connectReal, opsMain, runProcess } from "./ops/entry";
import { STATUS_USAGE, parseStatusArgs, runStatus } from "./ops/status";

const output = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };

if (require.main === module) {
  runProcess("status", opsMain({ name: "status", usage: STATUS_USAGE, parse: parseStatusArgs, run: runStatus }, process.argv.slice(2),
    (o) => connectReal("status", o, path.resolve(__dirname, "..")), output));
}
