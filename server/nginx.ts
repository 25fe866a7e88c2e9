/**
 * nginx: the main file, the http-level settings every app shares, and one
 * site per app routed by `server_name`. nginx terminates TLS, serves static
 * and media files from disk and proxies the rest to gunicorn's unix socket.
 */
import { ORIGIN_CERTIFICATE, ORIGIN_PRIVATE_KEY } from "./origin-certificate";
import { ACME_WEBROOT, appPaths, COLORS, colorPaths, liveSocket, NGINX_HTTP_CONF, NGINX_MAIN_CONF } from "./paths";
import type { AppSpec, BoxSpec, RenderedFile } from "./types";

const HEADER = "# Rendered by django-tiers; edits on the box are overwritten by the next instance.";

/** Static files are cached by browsers and CDNs for this long. */
const STATIC_MAX_AGE_SECONDS = 30 * 24 * 3600;

function file(path: string, content: string): RenderedFile {
  return { path, mode: "0644", owner: "root:root", content };
}

export function renderNginxFiles(spec: BoxSpec): RenderedFile[] {
  // A worker server answers no HTTP: no nginx at all.
  if (spec.role === "worker") return [];
  const files = [file(NGINX_MAIN_CONF, renderNginxMain()), file(NGINX_HTTP_CONF, renderNginxHttp(spec))];
  for (const app of spec.apps) {
    const paths = appPaths(app.name);
    files.push(file(paths.nginxSite, renderNginxSite(spec, app)));
    if (spec.tls.mode === "letsencrypt") files.push(file(paths.nginxPendingSite, renderNginxPendingSite(spec, app)));
  }
  return files;
}

/**
 * Replaces Debian's nginx.conf, which turns gzip on and allows TLS 1.0/1.1 at
 * http level: those directives would clash with (or weaken) conf.d/django-tiers.conf.
 */
export function renderNginxMain(): string {
  return `${HEADER}
# Main configuration: the http-level settings are in conf.d/django-tiers.conf,
# the apps in sites-enabled/ (linked by django-tiers-provision configure).
user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
    worker_connections 1024;
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /var/log/nginx/access.log;

    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*.conf;
}
`;
}

/** http-level settings shared by every site, and the catch-all default servers. */
export function renderNginxHttp(spec: BoxSpec): string {
  const tls = spec.tls.mode === "letsencrypt" || spec.tls.mode === "origin-certificate";
  const hasDefaultApp = spec.apps.some((a) => a.domains.length === 0);
  const lines = [
    HEADER,
    "# http-level settings of every django-tiers site.",
    "server_tokens off;",
    "# Keep above any load balancer's idle timeout (ALB: 60 s), so nginx never",
    "# closes a connection the balancer is about to reuse (that would be a 502).",
    `keepalive_timeout ${spec.nginx.keepaliveTimeoutSeconds}s;`,
    `client_max_body_size ${spec.nginx.maxUploadMb}m;`,
    "",
    "gzip on;",
    "gzip_vary on;",
    "gzip_proxied any;",
    "gzip_comp_level 5;",
    "gzip_min_length 256;",
    "gzip_types text/plain text/css text/xml text/javascript application/javascript application/json",
    "           application/xml application/rss+xml application/atom+xml application/manifest+json",
    "           image/svg+xml font/ttf font/otf application/vnd.ms-fontobject;",
  ];
  if (tls) {
    lines.push(
      "",
      "ssl_protocols TLSv1.2 TLSv1.3;",
      "ssl_prefer_server_ciphers off;",
      "ssl_session_cache shared:django_tiers_tls:10m;",
      "ssl_session_timeout 1d;",
      "ssl_session_tickets off;",
    );
  }
  if (spec.tls.mode === "origin-certificate") lines.push("", ...cloudflareSettings(spec.tls.realIpFrom));
  if (spec.tls.mode === "load-balancer") {
    lines.push("", ...balancerSettings(spec.tls.trustedCidrs), "", ...healthCheckServer(spec));
  } else if (!hasDefaultApp) {
    lines.push(
      "",
      "# A Host no app serves (a scanner using the IP, a stale DNS record) gets no",
      "# answer at all (444) rather than some app's pages.",
      "server {",
      "    listen 80 default_server;",
      "    server_name _;",
      "    access_log off;",
      "    return 444;",
      "}",
    );
  }
  if (tls) {
    lines.push(
      "server {",
      "    listen 443 ssl default_server;",
      "    server_name _;",
      "    access_log off;",
      "    # No certificate to show an unknown name: refuse the TLS handshake.",
      "    ssl_reject_handshake on;",
      "}",
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Behind the ALB (app role). The balancer connects from addresses in the
 * VPC (`trustedCidrs`): nginx takes the client's address from the
 * X-Forwarded-For the balancer appends (only from those addresses, the last
 * untrusted entry, so a client cannot forge it), and answers nothing (444) to
 * a connection from anywhere else, which the security group should already
 * have refused. That is also why passing the balancer's X-Forwarded-Proto on
 * to Django is safe: only the ALB, which always overwrites that header with
 * the scheme of the client's connection, gets a request through.
 */
function balancerSettings(trustedCidrs: string[]): string[] {
  return [
    "# TLS ends at the load balancer, which connects from these networks:",
    "# the client's address comes from its X-Forwarded-For, and only",
    "# connections from these networks (or this box) are served at all.",
    ...trustedCidrs.map((cidr) => `set_real_ip_from ${cidr};`),
    "real_ip_header X-Forwarded-For;",
    "real_ip_recursive on;",
    "geo $realip_remote_addr $django_tiers_from_balancer {",
    "    default 0;",
    "    # phase verify, on the box itself",
    "    127.0.0.1 1;",
    ...trustedCidrs.map((cidr) => `    ${cidr} 1;`),
    "}",
  ];
}

/**
 * Behind Cloudflare's proxy (origin-certificate): every request arrives from
 * Cloudflare's edge, which names the visitor in CF-Connecting-IP. realip
 * (built into Debian's nginx) takes $remote_addr from it, only for a
 * connection from `realIpFrom` (Cloudflare's ranges): from anywhere else the
 * header is ignored, so no one can forge an address by sending it. The
 * access log, X-Real-IP and X-Forwarded-For then name the visitor.
 */
function cloudflareSettings(realIpFrom: string[]): string[] {
  return [
    "# Behind Cloudflare's proxy: the visitor's address is CF-Connecting-IP,",
    "# believed only from Cloudflare's edge; from any other address the header",
    "# is ignored and the connection's own address stays.",
    ...realIpFrom.map((cidr) => `set_real_ip_from ${cidr};`),
    "real_ip_header CF-Connecting-IP;",
  ];
}

const BALANCER_ONLY = `    if ($django_tiers_from_balancer = 0) {
        return 444;
    }`;

/**
 * The default server of an app server: the ALB's health check sends the
 * instance's private IP as Host, which no server_name matches and Django's
 * ALLOWED_HOSTS (never "*", never an IP) refuses with a 400 — the target
 * would never turn healthy. So this server's /healthz is proxied to the
 * FIRST app's gunicorn with that app's first domain as Host: the check goes
 * through nginx, gunicorn and Django for real. With several apps, the
 * balancer's check covers the first one (each app's own /healthz still
 * answers under its domains). Any other request with an unknown Host gets 444
 * and never reaches Django. The socket is named directly (not the site's
 * upstream) so this file is valid before configure enables the sites.
 */
function healthCheckServer(spec: BoxSpec): string[] {
  const first = spec.apps[0];
  return [
    "# The load balancer's health check arrives with the instance's IP as Host:",
    `# /healthz here is ${first.name}'s, asked for with Host ${first.domains[0]} (the first app);`,
    "# every other request for an unknown Host gets no answer (444).",
    "server {",
    "    listen 80 default_server;",
    "    server_name _;",
    BALANCER_ONLY,
    "    location = /healthz {",
    "        access_log off;",
    `        proxy_pass http://unix:${appPaths(first.name).socket}:;`,
    `        proxy_set_header Host ${first.domains[0]};`,
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;",
    "        proxy_set_header X-Real-IP $remote_addr;",
    "        proxy_redirect off;",
    "        proxy_connect_timeout 5s;",
    `        proxy_read_timeout ${spec.nginx.proxyReadTimeoutSeconds}s;`,
    "    }",
    "    location / {",
    "        return 444;",
    "    }",
    "}",
  ];
}

/** The header that asks for one color (the same as the load balancer's preview rule). */
export const COLOR_HEADER = "X-Django-Tiers-Color";

/** The variable the colors' map sets: the upstream a request goes to (blue, green or live). */
function colorVariable(app: AppSpec): string {
  return `$django_tiers_${app.name}_color`;
}

/** What proxy_pass names: the app's upstream, or with colors the upstream of the request's color. */
function upstreamName(spec: BoxSpec, app: AppSpec): string {
  return spec.colors ? `django_tiers_${app.name}_${colorVariable(app)}` : `django_tiers_${app.name}`;
}

function upstream(spec: BoxSpec, app: AppSpec): string {
  if (spec.colors) return colorUpstreams(app);
  return `upstream django_tiers_${app.name} {
    # gunicorn's socket; fail_timeout=0 so nginx never marks its only server down.
    server unix:${appPaths(app.name).socket} fail_timeout=0;
}`;
}

/**
 * Blue-green on one box: one upstream per color's gunicorn, one for the live
 * color, and a map that picks the upstream of each request. The live
 * upstream's socket is a symlink to the live color's socket, which only
 * django-tiers-switch-color renames: nginx connects to the socket path for
 * every request it proxies (no upstream keepalive), so a switch moves new
 * requests without any reload, and nothing nginx loads ever changes. (A
 * reload would end nginx's old workers, which close their idle keep-alive
 * client connections: a request sent on one at that instant gets no answer.)
 * A request with the header X-Django-Tiers-Color: blue or green goes to that
 * color (the smoke test of the idle one, as on the load balancer); any other
 * value goes to the live color.
 */
function colorUpstreams(app: AppSpec): string {
  const live = liveSocket(app.name);
  const upstreams = COLORS.map((color) => `upstream ${colorPaths(app.name, color).upstream} {
    # gunicorn's socket of the ${color} release; fail_timeout=0 so nginx never marks its only server down.
    server unix:${colorPaths(app.name, color).socket} fail_timeout=0;
}`);
  return `${upstreams.join("\n")}
upstream ${live.upstream} {
    # A symlink to the live color's socket, renamed by django-tiers-switch-color:
    # nginx follows it on every connection, so a switch needs no reload.
    server unix:${live.link} fail_timeout=0;
}
# The upstream of each request: the one ${COLOR_HEADER} names, else the live color's.
map $http_x_django_tiers_color ${colorVariable(app)} {
    default live;
${COLORS.map((color) => `    ${color} ${color};`).join("\n")}
}`;
}

function serverName(app: AppSpec): string {
  return app.domains.length > 0 ? app.domains.join(" ") : "_";
}

function acmeLocation(): string {
  return `    # certbot's HTTP-01 challenge files (certonly --webroot).
    location /.well-known/acme-challenge/ {
        root ${ACME_WEBROOT};
        default_type text/plain;
    }`;
}

/** Logs, limits and proxy headers shared by every server block that proxies to the app. */
function proxySettings(spec: BoxSpec, app: AppSpec): string {
  const forwarded = spec.tls.mode === "load-balancer"
    ? `    # TLS ends at the load balancer: X-Forwarded-Proto is the one the ALB set
    # (it overwrites whatever the client sent, and only the ALB gets a request
    # through, see conf.d/django-tiers.conf), the client's address is the one
    # realip took from the ALB's X-Forwarded-For.
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;`
    : spec.tls.mode === "origin-certificate"
    ? `    # nginx sets these headers itself, overwriting whatever the client sent:
    # X-Forwarded-Proto is $scheme of this very connection (what makes Django's
    # SECURE_PROXY_SSL_HEADER safe), and X-Forwarded-For is only the visitor's
    # address, which realip took from Cloudflare's CF-Connecting-IP (see
    # conf.d/django-tiers.conf): any address chain a client sent is dropped.
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;`
    : `    # nginx sets these headers itself, overwriting whatever the client sent:
    # X-Forwarded-Proto is $scheme of this very connection, which is what makes
    # Django's SECURE_PROXY_SSL_HEADER safe on a single box.
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;`;
  return `    access_log /var/log/nginx/${app.name}.access.log;
    error_log /var/log/nginx/${app.name}.error.log;
    client_max_body_size ${spec.nginx.maxUploadMb}m;

${forwarded}
    proxy_set_header X-Real-IP $remote_addr;
    proxy_redirect off;
    proxy_connect_timeout 5s;
    # Longer than gunicorn's worker timeout, so gunicorn gives up first.
    proxy_read_timeout ${spec.nginx.proxyReadTimeoutSeconds}s;
    proxy_send_timeout ${spec.nginx.proxyReadTimeoutSeconds}s;`;
}

/**
 * /healthz goes to the app, which answers it itself (200 when it can serve);
 * phase verify polls it with the app's Host header. A load balancer that
 * sends the instance IP as Host must be handled where it is added.
 */
function healthzLocation(spec: BoxSpec, app: AppSpec): string {
  return `    location = /healthz {
        proxy_pass http://${upstreamName(spec, app)};
        access_log off;
    }`;
}

/**
 * The opening of /static/'s location. A box with colors looks in the live
 * release first, then in each color's: a page of the idle color (requested
 * with the color header) or of the new live color in the moment between the
 * switch and "current" moving names hashed files only its release has.
 */
function staticLocation(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  if (!spec.colors) {
    return `    # collectstatic output of the live release: the "current" link switches it
    # together with the code.
    location /static/ {
        alias ${paths.static}/;`;
  }
  const tries = ["current", ...COLORS].map((link) => `/${link}$uri`).join(" ");
  return `    # collectstatic output of the live release ("current"), then of each color's
    # release: a page of either color finds its hashed files, also between the
    # switch and "current" moving.
    location /static/ {
        root ${paths.root};
        try_files ${tries} =404;`;
}

function appLocations(spec: BoxSpec, app: AppSpec, filesOnS3: boolean): string {
  const paths = appPaths(app.name);
  // With object storage, django-storages puts static and media on S3 and
  // renders their URLs there: nginx serves neither.
  const fileLocations = filesOnS3 ? "" : `${staticLocation(spec, app)}
        add_header Cache-Control "public, max-age=${STATIC_MAX_AGE_SECONDS}";
        access_log off;
    }

    # Uploads are user content: never sniffed into another type, and an uploaded
    # HTML or SVG file runs no script (PDFs and images still display).
    location /media/ {
        alias ${paths.media}/;
        add_header X-Content-Type-Options nosniff;
        add_header Content-Security-Policy "script-src 'none'";
    }

`;
  return `${fileLocations}${healthzLocation(spec, app)}

    location / {
        proxy_pass http://${upstreamName(spec, app)};
    }`;
}

/**
 * The site of one app. With letsencrypt this is the live TLS site (HTTP
 * answers ACME challenges and redirects the rest); configure enables it once
 * the certificate exists and uses the pending site until then. With
 * origin-certificate it is the same TLS site with Cloudflare's Origin CA
 * certificate (phase configure installs it before enabling the site) and no
 * ACME challenge: HTTP redirects everything.
 */
export function renderNginxSite(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  const head = `${HEADER}\n# Site of app ${app.name}; enabled as ${paths.nginxEnabled} by django-tiers-provision configure.\n${upstream(spec, app)}\n`;
  if (spec.tls.mode === "load-balancer") {
    // Behind the ALB: plain HTTP from the balancer only; static and media are on S3.
    return `${head}
server {
    listen 80;
    server_name ${serverName(app)};
${BALANCER_ONLY}
${proxySettings(spec, app)}

${appLocations(spec, app, true)}
}
`;
  }
  if (spec.tls.mode === "none") {
    const listen = app.domains.length === 0
      ? "    # No domain yet: this app is the default server and answers any Host\n    # (Django's ALLOWED_HOSTS still limits which)."
        + "\n    listen 80 default_server;"
      : "    listen 80;";
    return `${head}
server {
${listen}
    server_name ${serverName(app)};
${proxySettings(spec, app)}

${appLocations(spec, app, spec.objectStorage !== undefined)}
}
`;
  }
  const origin = spec.tls.mode === "origin-certificate";
  // Behind Cloudflare's proxy there is no ACME challenge to answer: HTTP only redirects.
  const acme = origin ? "" : `${acmeLocation()}\n\n`;
  return `${head}
server {
    listen 80;
    server_name ${serverName(app)};
    access_log /var/log/nginx/${app.name}.access.log;

${acme}    location / {
        return 301 https://$host$request_uri;
    }
}

server {
    listen 443 ssl http2;
    server_name ${serverName(app)};
${origin
    ? `    # Cloudflare's Origin CA certificate for every app domain of this box
    # (trusted by Cloudflare's edge only, which is all that connects here).
    ssl_certificate ${ORIGIN_CERTIFICATE};
    ssl_certificate_key ${ORIGIN_PRIVATE_KEY};`
    : `    ssl_certificate ${paths.certFullchain};
    ssl_certificate_key ${paths.certPrivkey};`}
${proxySettings(spec, app)}

${appLocations(spec, app, spec.objectStorage !== undefined)}
}
`;
}

/**
 * The letsencrypt site before its certificate exists: plain HTTP answers the
 * ACME challenge and /healthz (so the box can be verified) and a 503 for
 * everything else; the cron job retries certbot every 10 minutes.
 */
export function renderNginxPendingSite(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  return `${HEADER}
# Site of app ${app.name} while its TLS certificate is pending; configure swaps
# ${paths.nginxEnabled} to ${paths.nginxSite} once certbot has one.
${upstream(spec, app)}

server {
    listen 80;
    server_name ${serverName(app)};
${proxySettings(spec, app)}

${acmeLocation()}

${healthzLocation(spec, app)}

    location / {
        default_type text/plain;
        add_header Retry-After 600 always;
        return 503 "TLS certificate pending\\n";
    }
}
`;
}
