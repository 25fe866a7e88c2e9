/**
 * bench/servers: wrk against one harness host (test/servers), same machine,
 * same run. Not a test: it prints a markdown table for docs/benchmarks.md.
 *
 *   sudo npx tsx bench/servers/run.ts [--seconds 10] [--connections 32]
 *
 * 1. static, rendered config   nginx as rendered, /static/... from disk
 * 2. static, bare nginx        a second nginx (default-like config) on :8080, same file
 * 3. dynamic, rendered config  /db through nginx → gunicorn (unix socket)
 * 4. dynamic, bare gunicorn    /db from a gunicorn with the rendered config, bound to :8001
 * 5. naive                     gunicorn, 1 worker, DEBUG on: Django serves /static/ itself (:8002), and /db
 */
import { Box, imagePackages, sampleSpec } from "../../test/servers/box";
import { cleanupStale, Host, hostImage, Lan, mustRun, progress } from "../../test/servers/harness";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const SECONDS = arg("seconds", 10);
const CONNECTIONS = arg("connections", 32);

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
  const gunicorn = (port: number, extra: string) =>
    `cd ${release} && (runuser -u mysite -- /usr/local/bin/django-tiers-exec mysite env ${extra} ${release}/venv/bin/python -P -m gunicorn ` +
    `--config /etc/django-tiers/mysite/gunicorn.conf.py --bind 0.0.0.0:${port} --access-logfile /dev/null ${port === 8002 ? "--workers 1" : ""} ` +
    `--pid /tmp/gunicorn-${port}.pid --daemon mysite.wsgi:application) 9>&-`;
  host.mustSh(gunicorn(8001, "DJANGO_BENCH=1"));
  host.mustSh(gunicorn(8002, "DJANGO_DEBUG=1"));
  mustRun(["sleep", "3"]);
  const rows = [
    wrk(lan, "static, rendered config", `http://${addr}${css}`, addr),
    wrk(lan, "static, bare nginx", `http://${addr}:8080${css}`, addr),
    wrk(lan, "dynamic /db, rendered config (nginx → gunicorn)", `http://${addr}/db`, addr),
    wrk(lan, "dynamic /db, bare gunicorn (same config, TCP)", `http://${addr}:8001/db`, addr),
    wrk(lan, "naive: static from Django, gunicorn 1 worker", `http://${addr}:8002${css}`, addr),
    wrk(lan, "naive: dynamic /db, gunicorn 1 worker", `http://${addr}:8002/db`, addr),
  ];
  const cpu = mustRun(["bash", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo"]).trim().replace(/\n/g, " × ");
  console.log(`\n| setup | requests/s | p99 (ms) | non-2xx |\n|---|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.name} | ${r.rps.toFixed(0)} | ${r.p99ms.toFixed(2)} | ${r.non2xx} |`);
  console.log(`\nstatic: rendered / bare nginx = ${(rows[0]!.rps / rows[1]!.rps * 100).toFixed(1)}% (target ≥ 90%)`);
  console.log(`dynamic: through nginx / bare gunicorn = ${(rows[2]!.rps / rows[3]!.rps * 100).toFixed(1)}% (target ≥ 90%)`);
  console.log(`naive static vs rendered static: ${(rows[4]!.rps / rows[0]!.rps * 100).toFixed(1)}%; naive dynamic vs rendered: ${(rows[5]!.rps / rows[2]!.rps * 100).toFixed(1)}%`);
  console.log(`\nmachine: ${cpu}; wrk: -t2 -c${CONNECTIONS} -d${SECONDS}s --latency, from the lan namespace\n`);
  for (const r of rows) console.log(`    ${r.command}`);
} finally {
  host.destroy();
  lan.destroy();
}
