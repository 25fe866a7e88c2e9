/**
 * bench/servers: wrk against one harness host (test/servers), same machine,
 * same run. Not a test: it prints a markdown table for docs/benchmarks.md.
 *
 *   sudo npx tsx bench/servers/run.ts [--seconds 10] [--connections 32]
 *
 * 1. static, rendered config   nginx as rendered, /static/... from disk
 * 2. static, bare nginx        a second nginx (default-like config) on :8080, same file
 * 3. dynamic, rendered config  /db through nginx → gunicorn (unix socket)
 * 4. dynamic, bare gunicorn    /db from a gunicorn with the rendered config, bound to :8001,
 *                              its access log written by gunicorn to a file (no supervisor pipe)
 * 5. dynamic, bare, no log     the same gunicorn without an access log (:8003): what logging costs
 * 6. naive                     gunicorn, 1 worker, DEBUG on: Django serves /static/ itself
 *                              (the unhashed name, which its finders know), and /db (:8002)
 *
 * Every row runs `--rounds` times (default 3), interleaved (1,2,3,… then again),
 * and the table gives each row's median requests/s and median p99, so a
 * slow moment on the shared machine does not decide a ratio.
 */
import { Box, imagePackages, sampleSpec } from "../../test/servers/box";
import { cleanupStale, Host, hostImage, Lan, mustRun, progress } from "../../test/servers/harness";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const CONNECTIONS = arg("connections", 32);
const ROUNDS = arg("rounds", 3);

interface Row { name: string; rps: number; p99ms: number; command: string; non2xx: string }

function wrk(lan: Lan, name: string, url: string, host: string): Row {
  const command = `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s --latency -H 'Host: ${host}' ${url}`;
  const out = mustRun(["ip", "netns", "exec", lan.ns, "wrk", "-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--latency", "-H", `Host: ${host}`, url], { timeoutMs: (SECONDS + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p99raw = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99ms = p99raw ? Number(p99raw[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[p99raw[2]!]! : NaN;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? "0";
  progress(`${name}: ${rps} req/s, p99 ${p99ms} ms, non-2xx ${non2xx}`);
  return { name, rps, p99ms, command: `ip netns exec <lan> ${command}`, non2xx };
}

cleanupStale();
const lan = new Lan(String(process.pid), "10.213.9");
const host = new Host("bench", hostImage(imagePackages()), lan);
try {
  const box = new Box(host, sampleSpec({ taskWorker: "celery" }));
  box.writeRenderedFiles();
  box.fetch("v1");
  box.mustProvision(["install", "configure", "release", "verify"]);
  const css = /href="(\/static\/notes\/site\.[0-9a-f]+\.css)"/.exec(box.request("/").text)![1]!;
  // DEBUG's staticfiles view serves from the finders, which know the source name, not the hashed one.
  const unhashedCss = css.replace(/\.[0-9a-f]+\.css$/, ".css");
  const addr = host.address;
  // Bare nginx: Debian's defaults (auto workers, sendfile), one server, the same file.
  host.write("/etc/nginx-bare.conf", `worker_processes auto;
pid /run/nginx-bare.pid;
events { worker_connections 1024; }
http {
  sendfile on;
  include /etc/nginx/mime.types;
  access_log off;
  server { listen 8080; location /static/ { alias /srv/apps/mysite/current/static/; } }
}
`);
  host.mustExec(["nginx", "-c", "/etc/nginx-bare.conf"]);
  const release = "/srv/apps/mysite/current";
  // The rendered gunicorn.conf.py, bound to TCP instead of the socket, daemonized (not under supervisor).
  const gunicorn = (port: number, options: string, env = "") =>
    `cd ${release} && (runuser -u mysite -- /usr/local/bin/django-tiers-exec mysite env ${env} ${release}/venv/bin/python -P -m gunicorn ` +
    `--config /etc/django-tiers/mysite/gunicorn.conf.py --bind 0.0.0.0:${port} ${options} ` +
    `--pid /tmp/gunicorn-${port}.pid --daemon mysite.wsgi:application) 9>&-`;
  host.mustSh(gunicorn(8001, "--access-logfile /tmp/gunicorn-8001-access.log"));
  host.mustSh(gunicorn(8003, "--access-logfile /dev/null"));
  host.mustSh(gunicorn(8002, "--access-logfile /dev/null --workers 1", "DJANGO_DEBUG=1"));
  mustRun(["sleep", "3"]);
  const naiveStatic = box.request(unhashedCss, [], `http://${addr}:8002`);
  if (naiveStatic.status !== 200) throw new Error(`the naive setup does not serve ${unhashedCss}: ${naiveStatic.status}`);
  const plan: Array<[string, string]> = [
    ["static, rendered config", `http://${addr}${css}`],
    ["static, bare nginx", `http://${addr}:8080${css}`],
    ["dynamic /db, rendered config (nginx → gunicorn)", `http://${addr}/db`],
    ["dynamic /db, bare gunicorn (same config, TCP, access log to a file)", `http://${addr}:8001/db`],
    ["dynamic /db, bare gunicorn, no access log", `http://${addr}:8003/db`],
    ["naive: static from Django (unhashed name), gunicorn 1 worker", `http://${addr}:8002${unhashedCss}`],
    ["naive: dynamic /db, gunicorn 1 worker", `http://${addr}:8002/db`],
  ];
  const runs: Row[][] = plan.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round} of ${ROUNDS}`);
    plan.forEach(([name, url], i) => runs[i]!.push(wrk(lan, name, url, addr)));
  }
  const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)]!; };
  const rows: Row[] = runs.map((r) => ({
    name: r[0]!.name,
    rps: median(r.map((x) => x.rps)),
    p99ms: median(r.map((x) => x.p99ms)),
    command: r[0]!.command,
    non2xx: r.map((x) => x.non2xx).join("/"),
  }));
  const spread = runs.map((r) => r.map((x) => x.rps.toFixed(0)).join(", "));
  const cpu = mustRun(["bash", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo"]).trim().replace(/\n/g, " × ");
  console.log(`\n| setup | requests/s (median) | each round | p99 ms (median) | non-2xx per round |\n|---|---:|---|---:|---|`);
  rows.forEach((r, i) => console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${spread[i]} | ${r.p99ms.toFixed(2)} | ${r.non2xx} |`));
  const pct = (a: number, b: number) => `${(rows[a]!.rps / rows[b]!.rps * 100).toFixed(1)}%`;
  console.log(`\nstatic: rendered / bare nginx = ${pct(0, 1)} (target ≥ 90%)`);
  const perRound = (a: number, b: number) => runs[a]!.map((x, i) => `${(x.rps / runs[b]![i]!.rps * 100).toFixed(0)}%`).join(", ");
  console.log(`static, each round: ${perRound(0, 1)}`);
  console.log(`dynamic: through nginx / bare gunicorn = ${pct(2, 3)} (target ≥ 90%)`);
  console.log(`dynamic, each round: ${perRound(2, 3)}`);
  console.log(`dynamic: bare gunicorn with its access log / without = ${pct(3, 4)}`);
  console.log(`naive static vs rendered static: ${pct(5, 0)}; naive dynamic vs rendered: ${pct(6, 2)}`);
  console.log(`\nmachine: ${cpu}; wrk: -t2 -c${CONNECTIONS} -d${SECONDS}s --latency, from the lan namespace, ${ROUNDS} rounds\n`);
  for (const r of rows) console.log(`    ${r.command}`);
} finally {
  host.destroy();
  lan.destroy();
}
