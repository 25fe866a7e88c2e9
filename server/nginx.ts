/**
 * nginx: the main file, the http-level settings every app shares, and one
 * site per app routed by `server_name`. nginx terminates TLS, serves static
 * and media files from disk and proxies the rest to gunicorn's unix socket.
 */
import { ACME_WEBROOT, appPaths, NGINX_HTTP_CONF, NGINX_MAIN_CONF } from "./paths";
import type { AppSpec, BoxSpec, RenderedFile } from "./types";

const HEADER = "# Rendered by django-tiers; edits on the box are overwritten by the next instance.";

/** Static files are cached by browsers and CDNs for this long. */
const STATIC_MAX_AGE_SECONDS = 30 * 24 * 3600;

function file(path: string, content: string): RenderedFile {
  return { path, mode: "0644", owner: "root:root", content };
}

export function renderNginxFiles(spec: BoxSpec): RenderedFile[] {
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
  const tls = spec.tls.mode === "letsencrypt";
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
  if (!hasDefaultApp) {
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

function upstreamName(app: AppSpec): string {
  return `django_tiers_${app.name}`;
}

function upstream(app: AppSpec): string {
  return `upstream ${upstreamName(app)} {
    # gunicorn's socket; fail_timeout=0 so nginx never marks its only server down.
    server unix:${appPaths(app.name).socket} fail_timeout=0;
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
  return `    access_log /var/log/nginx/${app.name}.access.log;
    error_log /var/log/nginx/${app.name}.error.log;
    client_max_body_size ${spec.nginx.maxUploadMb}m;

    # nginx sets these headers itself, overwriting whatever the client sent:
    # X-Forwarded-Proto is $scheme of this very connection, which is what makes
    # Django's SECURE_PROXY_SSL_HEADER safe on a single box.
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
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
function healthzLocation(app: AppSpec): string {
  return `    location = /healthz {
        proxy_pass http://${upstreamName(app)};
        access_log off;
    }`;
}

function appLocations(app: AppSpec, filesOnS3: boolean): string {
  const paths = appPaths(app.name);
  // With object storage, django-storages puts static and media on S3 and
  // renders their URLs there: nginx serves neither.
  const fileLocations = filesOnS3 ? "" : `    # collectstatic output of the live release: the "current" link switches it
    # together with the code.
    location /static/ {
        alias ${paths.static}/;
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
  return `${fileLocations}${healthzLocation(app)}

    location / {
        proxy_pass http://${upstreamName(app)};
    }`;
}

/**
 * The site of one app. With letsencrypt this is the live TLS site (HTTP
 * answers ACME challenges and redirects the rest); configure enables it once
 * the certificate exists and uses the pending site until then.
 */
export function renderNginxSite(spec: BoxSpec, app: AppSpec): string {
  const paths = appPaths(app.name);
  const head = `${HEADER}\n# Site of app ${app.name}; enabled as ${paths.nginxEnabled} by django-tiers-provision configure.\n${upstream(app)}\n`;
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

${appLocations(app, spec.objectStorage !== undefined)}
}
`;
  }
  return `${head}
server {
    listen 80;
    server_name ${serverName(app)};
    access_log /var/log/nginx/${app.name}.access.log;

${acmeLocation()}

    location / {
        return 301 https://$host$request_uri;
    }
}

server {
    listen 443 ssl http2;
    server_name ${serverName(app)};
    ssl_certificate ${paths.certFullchain};
    ssl_certificate_key ${paths.certPrivkey};
${proxySettings(spec, app)}

${appLocations(app, spec.objectStorage !== undefined)}
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
${upstream(app)}

server {
    listen 80;
    server_name ${serverName(app)};
${proxySettings(spec, app)}

${acmeLocation()}

${healthzLocation(app)}

    location / {
        default_type text/plain;
        add_header Retry-After 600 always;
        return 503 "TLS certificate pending\\n";
    }
}
`;
}
