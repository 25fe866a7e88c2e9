/** `npm run logs -- --stack <name> [--app] [--program] [--since] [--follow]`: the stack's CloudWatch logs (cli/ops/logs.ts). */
import * as path from "path";
import { connectReal, opsMain, runProcess } from "./ops/entry";
import { LOGS_USAGE, parseLogsArgs, runLogs } from "./ops/logs";

const output = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };

if (require.main === module) {
  runProcess("logs", opsMain({ name: "logs", usage: LOGS_USAGE, parse: parseLogsArgs, run: (o, p) => runLogs(o, p) }, process.argv.slice(2),
    (o) => connectReal("logs", o, path.resolve(__dirname, "..")), output));
}
