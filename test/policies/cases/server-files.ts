import { appServerFiles, DB_PASSWORD_VALUE, editFile, filePath, loadBalancedPlan, set, singleBoxPlan } from "../fixtures";
import { type CaseTable, editing, variant } from "./harness";

const lb = loadBalancedPlan;
const sb = singleBoxPlan;

const SITE = "sites-available/shop.conf";
const GLOBAL = "conf.d/django-tiers.conf";
const GUNICORN = "gunicorn.conf.py";
const SUPERVISOR = "supervisor/conf.d/shop.conf";
const ENV = "app.env";
/** The CloudFront origin that is the load balancer (the fixture's second origin). */
const ALB_ORIGIN_READ_TIMEOUT = "origins.1.customOriginConfig.originReadTimeout";

export const SERVER_FILE_CASES: CaseTable = {
  "gunicorn-timeout-below-proxy": {
    fails: [
      { name: "gunicorn timeout 90 behind nginx's 60", base: sb, breakIt: editing(GUNICORN, (c) => c.replace("timeout = 30\n", "timeout = 90\n")), message: /timeout 90s is not below/ },
      { name: "nginx waits longer than the ALB", base: lb, breakIt: editing(SITE, (c) => c.replace("proxy_read_timeout 60s", "proxy_read_timeout 120s")), message: /exceeds the ALB idle timeout 60s/ },
      {
        name: "CloudFront gives up before the ALB",
        base: lb,
        breakIt: (p) => (set(p, "cdn", ALB_ORIGIN_READ_TIMEOUT, 30), filePath(p, SITE)),
        message: /CloudFront's origin response timeout 30s is below the ALB idle timeout 60s/,
      },
      {
        name: "CloudFront at its default (30 s) before the ALB",
        base: lb,
        breakIt: (p) => (set(p, "cdn", ALB_ORIGIN_READ_TIMEOUT, undefined), filePath(p, SITE)),
        message: /origin response timeout 30s/,
      },
    ],
    passes: [
      // nginx's default proxy_read_timeout (60 s) is above gunicorn's default timeout (30 s).
      { name: "both defaults", plan: variant(sb, (p) => (editFile(p, SITE, (c) => c.replace("proxy_read_timeout 60s;", "")), editFile(p, GUNICORN, (c) => c.replace("timeout = 30\n", "")))) },
      // A long request timeout, every layer moved with it (config/timeouts.ts: 120 → 125, 125, 125).
      {
        name: "a 120 s request behind an ALB and CloudFront waiting 125 s",
        plan: variant(lb, (p) => {
          editFile(p, GUNICORN, (c) => c.replace("timeout = 30\n", "timeout = 120\n"));
          editFile(p, SITE, (c) => c.replace("proxy_read_timeout 60s", "proxy_read_timeout 125s"));
          set(p, "alb", "idleTimeout", 125);
          set(p, "cdn", ALB_ORIGIN_READ_TIMEOUT, 125);
        }),
      },
    ],
  },
  "gunicorn-graceful-within-stopwaitsecs": {
    fails: [
      { name: "stopwaitsecs 10", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("stopwaitsecs=35", "stopwaitsecs=10")), message: /stopwaitsecs 10 is below gunicorn graceful_timeout 30/ },
      { name: "stopwaitsecs unset (supervisor default 10)", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("stopwaitsecs=35\n", "")) },
      { name: "no web program", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("[program:shop-web]", "[program:shop-gunicorn]")), message: /no \[program:shop-web\]/ },
      // A blue-green box: each color's program is checked.
      { name: "a color's program with stopwaitsecs 10", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("[program:shop-web]", "[program:shop-web-green]").replace("stopwaitsecs=35", "stopwaitsecs=10")), message: /\[program:shop-web-green\] stopwaitsecs 10/ },
    ],
    passes: [{ name: "a color's program waiting long enough", plan: variant(sb, (p) => editFile(p, SUPERVISOR, (c) => c.replace("[program:shop-web]", "[program:shop-web-blue]"))) }],
  },
  "gunicorn-worker-recycling": {
    fails: [{ name: "no jitter", base: sb, breakIt: editing(GUNICORN, (c) => c.replace("max_requests_jitter = 100\n", "")), message: /max_requests_jitter/ }],
  },
  "gunicorn-bind-local": {
    fails: [
      { name: "bind 0.0.0.0", base: sb, breakIt: editing(GUNICORN, (c) => c.replace(/^bind = .*$/m, 'bind = "0.0.0.0:8000"')), message: /0\.0\.0\.0:8000/ },
      { name: "bind on the command line", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("gunicorn -c", "gunicorn --bind 0.0.0.0:8000 -c")), message: /the web command binds/ },
      { name: "bind unset", base: sb, breakIt: editing(GUNICORN, (c) => c.replace(/^bind = .*\n/m, "")), message: /not set/ },
      { name: "a color's program binding on the command line", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("[program:shop-web]", "[program:shop-web-blue]").replace("gunicorn -c", "gunicorn --bind 0.0.0.0:8000 -c")), message: /the web command binds/ },
    ],
    passes: [{ name: "127.0.0.1 in a list", plan: variant(sb, (p) => editFile(p, GUNICORN, (c) => c.replace(/^bind = .*$/m, 'bind = ["127.0.0.1:8000"]'))) }],
  },
  "nginx-server-tokens-off": {
    fails: [{ name: "not set anywhere", base: sb, breakIt: editing(GLOBAL, (c) => c.replace("server_tokens off;", ""), SITE) }],
    passes: [
      {
        name: "set in the server block instead",
        plan: variant(sb, (p) => (editFile(p, GLOBAL, (c) => c.replace("server_tokens off;", "")), editFile(p, SITE, (c) => c.replace("listen 80 default_server;", "listen 80 default_server;\n    server_tokens off;")))),
      },
    ],
  },
  "nginx-client-max-body-size": {
    fails: [
      { name: "10m below a 25 MB upload limit", base: sb, breakIt: editing(SITE, (c) => c.replace("client_max_body_size 25m", "client_max_body_size 10m")), message: /10m is below the app's upload limit of 25 MB/ },
      {
        name: "below an upload limit given in bytes",
        base: sb,
        breakIt: (p) => (
          editFile(p, ENV, (c) => c.replace("DJANGO_MAX_UPLOAD_MB=25", "DJANGO_UPLOAD_MAX_BYTES=26214400")),
          editing(SITE, (c) => c.replace("client_max_body_size 25m", "client_max_body_size 20m"))(p)
        ),
        message: /20m is below the app's upload limit of 25 MB/,
      },
      {
        name: "not set (nginx default 1m)",
        base: sb,
        breakIt: (p) => (editFile(p, GLOBAL, (c) => c.replace("client_max_body_size 25m;", "")), editing(SITE, (c) => c.replace("client_max_body_size 25m;", ""))(p)),
        message: /default 1m/,
      },
    ],
  },
  "nginx-keepalive-timeout": {
    fails: [
      { name: "30 s", base: sb, breakIt: editing(GLOBAL, (c) => c.replace("keepalive_timeout 75s", "keepalive_timeout 30s"), SITE), message: /30s does not exceed 60s/ },
      { name: "ALB idle timeout raised to 120 s", base: lb, breakIt: (p) => (set(p, "alb", "idleTimeout", 120), editing(GLOBAL, (c) => c, SITE)(p)), message: /75s does not exceed 120s/ },
      { name: "not set", base: sb, breakIt: editing(GLOBAL, (c) => c.replace("keepalive_timeout 75s;", ""), SITE) },
    ],
  },
  "nginx-forwarded-proto": {
    fails: [
      { name: "single box passes the client's header on", base: sb, breakIt: editing(SITE, (c) => c.replace("X-Forwarded-Proto $scheme", "X-Forwarded-Proto $http_x_forwarded_proto")), message: /not \$scheme/ },
      { name: "behind an ALB uses $scheme (always http)", base: lb, breakIt: editing(SITE, (c) => c.replace("X-Forwarded-Proto $http_x_forwarded_proto", "X-Forwarded-Proto $scheme")), message: /not \$http_x_forwarded_proto/ },
      {
        name: "server-level header lost to a location-level proxy_set_header",
        base: sb,
        breakIt: editing(SITE, (c) =>
          c
            .replace("        proxy_set_header X-Forwarded-Proto $scheme;\n", "")
            .replace("    server_name shop.example.com;", "    server_name shop.example.com;\n    proxy_set_header X-Forwarded-Proto $scheme;"),
        ),
        message: /location \/: X-Forwarded-Proto is not set/,
      },
    ],
    passes: [
      {
        name: "inherited from the server when the location sets no header",
        plan: variant(sb, (p) =>
          editFile(p, SITE, (c) =>
            c
              .replace(/ {8}proxy_set_header [^\n]*\n/g, "")
              .replace("    server_name shop.example.com;", "    server_name shop.example.com;\n    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-Proto $scheme;"),
          ),
        ),
      },
    ],
  },
  "nginx-alb-healthz": {
    fails: [
      { name: "no default server", base: lb, breakIt: editing(SITE, (c) => c.replace("listen 80 default_server;", "listen 80;")) },
      { name: "no /healthz location", base: lb, breakIt: editing(SITE, (c) => c.replace("location = /healthz", "location = /ping")) },
    ],
    notApplicable: [{ name: "single box", plan: sb, reason: /no ALB/ }],
  },
  "supervisor-process-groups": {
    fails: [
      { name: "worker without stopasgroup", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace(/(\[program:shop-worker\][^[]*?)stopasgroup=true/, "$1stopasgroup=false")), message: /\[program:shop-worker\] stopasgroup is false/ },
      { name: "autorestart unexpected", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("autorestart=true", "autorestart=unexpected")), message: /autorestart/ },
    ],
  },
  "supervisor-worker-stopwaitsecs": {
    fails: [{ name: "worker with the 10 s default", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("stopwaitsecs=600\n", "")), message: /shop-worker/ }],
    notApplicable: [
      {
        name: "no worker program",
        plan: variant(sb, (p) => editFile(p, SUPERVISOR, (c) => c.slice(0, c.indexOf("[program:shop-worker]")))),
        reason: /no worker program/,
      },
    ],
  },
  "celery-single-beat": {
    fails: [
      { name: "the worker also runs beat (-B)", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("worker --loglevel INFO", "worker -B --loglevel INFO")), message: /2 beat schedulers/ },
      {
        name: "a second role renders beat too",
        base: lb,
        breakIt: (p) => {
          p.serverFiles["worker-fleet"] = appServerFiles("shop", { behindAlb: true }).filter((f) => f.path.includes("supervisor"));
          return p.serverFiles["app-fleet"].find((f) => f.path.includes("supervisor"))!.path;
        },
      },
      { name: "numprocs=2", base: sb, breakIt: editing(SUPERVISOR, (c) => c.replace("celery -A shop beat --loglevel INFO", "celery -A shop beat --loglevel INFO\nnumprocs=2")) },
    ],
  },
  "django-env-production": {
    fails: [
      { name: "DEBUG on", base: sb, breakIt: editing(ENV, (c) => c.replace("DJANGO_DEBUG=0", "DJANGO_DEBUG=1")), message: /DJANGO_DEBUG is 1/ },
      { name: "ALLOWED_HOSTS *", base: sb, breakIt: editing(ENV, (c) => c.replace("DJANGO_ALLOWED_HOSTS=shop.example.com", "DJANGO_ALLOWED_HOSTS=shop.example.com,*")), message: /contains \*/ },
      { name: "ALLOWED_HOSTS empty", base: sb, breakIt: editing(ENV, (c) => c.replace("DJANGO_ALLOWED_HOSTS=shop.example.com", "DJANGO_ALLOWED_HOSTS=")), message: /empty/ },
      {
        name: "the app's own settings module loaded directly",
        base: sb,
        breakIt: editing(ENV, (c) => c.replace("DJANGO_SETTINGS_MODULE=django_tiers_production", "DJANGO_SETTINGS_MODULE=shop.settings")),
        message: /DJANGO_SETTINGS_MODULE is shop\.settings, not django_tiers_production/,
      },
    ],
  },
  "django-csrf-trusted-origins": {
    fails: [
      { name: "unset", base: sb, breakIt: editing(ENV, (c) => c.replace(/^DJANGO_CSRF_TRUSTED_ORIGINS=.*\n/m, "")) },
      { name: "host without scheme", base: sb, breakIt: editing(ENV, (c) => c.replace("https://shop.example.com", "shop.example.com")), message: /scheme:\/\/host/ },
      { name: "origin for a host Django does not serve", base: sb, breakIt: editing(ENV, (c) => c.replace("https://shop.example.com", "https://evil.example.net")), message: /not in DJANGO_ALLOWED_HOSTS/ },
    ],
    passes: [
      {
        name: "no domain yet (only localhost allowed)",
        plan: variant(sb, (p) =>
          editFile(p, ENV, (c) => c.replace(/^DJANGO_CSRF_TRUSTED_ORIGINS=.*\n/m, "").replace("DJANGO_ALLOWED_HOSTS=shop.example.com", "DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1")),
        ),
      },
      {
        name: "a wildcard subdomain origin for a dotted ALLOWED_HOSTS entry",
        plan: variant(sb, (p) =>
          editFile(p, ENV, (c) =>
            c.replace("DJANGO_ALLOWED_HOSTS=shop.example.com", "DJANGO_ALLOWED_HOSTS=.shop.example.com").replace("https://shop.example.com", "https://*.shop.example.com"),
          ),
        ),
      },
    ],
  },
  "rollout-reaches-server": {
    fails: [
      { name: "phase install does not install the agent", base: sb, breakIt: editing("django-tiers-provision", (c) => c.replace(/^  ensure_ssm_agent\n/m, "")), message: /phase install does not install the SSM Agent/ },
      { name: "the latest version instead of a pinned one", base: sb, breakIt: editing("django-tiers-provision", (c) => c.replace(/^readonly SSM_AGENT_VERSION=.*$/m, "readonly SSM_AGENT_VERSION=latest")), message: /not pinned \(SSM_AGENT_VERSION=latest\)/ },
      { name: "the package installed unchecked", base: sb, breakIt: editing("django-tiers-provision", (c) => c.replace('gpgv --keyring "$dir/aws.gpg" --status-fd 1 "$dir/agent.deb.sig" "$dir/agent.deb"', "true")), message: /without checking its signature/ },
      // One byte of the key's public key packet changed: another key.
      { name: "another key than AWS's", base: sb, breakIt: editing("amazon-ssm-agent.asc", (c) => c.replace("mQENBGTtIoIBCAD2", "mQENBGTtIoIBCAD3")), message: /not AWS's documented DE92C7DA3E56E92331D62A36BC1F495C97DD04ED/ },
    ],
  },
  "server-files-no-secrets": {
    fails: [
      { name: "SECRET_KEY in app.env", base: sb, breakIt: editing(ENV, (c) => `${c}DJANGO_SECRET_KEY=not-so-secret-after-all\n`), message: /DJANGO_SECRET_KEY has a value/ },
      { name: "a plan secret in a rendered script", base: sb, breakIt: editing("django-tiers-provision", (c) => `${c}PGPASSWORD=${DB_PASSWORD_VALUE}\n`), message: /Pulumi secret/ },
      { name: "a URL with a password", base: sb, breakIt: editing(ENV, (c) => c.replace("postgres://shop@", "postgres://shop:pw@")), message: /DATABASE_URL is a URL with a password/ },
    ],
  },
};
