/**
 * TLS behind Cloudflare's proxy on a box (`tls.mode: "origin-certificate"`,
 * the `cdn: cloudflare` of the box tiers): what the box needs beyond its
 * usual files.
 *
 * Behind the proxy the box cannot get a Let's Encrypt certificate (the HTTP-01
 * challenge goes through Cloudflare, which with SSL Full (strict) refuses an
 * origin that has no valid certificate yet). So the stack has Cloudflare's
 * Origin CA issue one certificate for every app domain of the box (trusted by
 * Cloudflare's edge only, which is all that connects to the origin) and keeps
 * it with its key in a Secrets Manager secret; there is no ACME on the box.
 *
 * - Phase configure (provision.ts) runs `install_origin_certificate`
 *   (ORIGIN_CERTIFICATE_SH) before it enables the sites and reloads nginx: it
 *   reads the secret through the instance role, checks that both PEMs are
 *   there, that the key matches the certificate, that the certificate is
 *   valid now and covers every app domain, and only then renames the new
 *   files over ORIGIN_CERTIFICATE and ORIGIN_PRIVATE_KEY. A failure fails
 *   configure and leaves the files nginx serves as they were.
 * - The provisioning script's nginx_config_hash covers both files, so
 *   reload_nginx reloads nginx when the certificate or key changed even if no
 *   configuration file did, and not when nothing changed.
 * - nginx (nginx.ts) serves each app on 443 with these two files and the
 *   letsencrypt site's TLS settings, redirects port 80 to https, and takes
 *   the visitor's address from CF-Connecting-IP, only from `realIpFrom`.
 * - Phase tls, certbot and its cron job: nothing (as with `none`).
 *
 * The key never reaches a variable, an argument, the trace or the log: the
 * secret's JSON goes from the AWS CLI's stdout into Python, which writes each
 * PEM into a 0600 temporary file beside its target.
 */
import { ETC_DIR } from "./paths";
import { shellQuote } from "./quote";
import type { BoxSpec } from "./types";

/** Where the Origin CA certificate (with its chain, if any) lands: 0644 root:root. */
export const ORIGIN_CERTIFICATE = `${ETC_DIR}/tls/origin.pem`;
/** Where its private key lands: 0600 root:root (nginx's master reads it as root). */
export const ORIGIN_PRIVATE_KEY = `${ETC_DIR}/tls/origin.key`;

/** Lines of the provisioning script's header that only a box behind Cloudflare's proxy has. */
export function originCertificateHeader(spec: BoxSpec): string {
  if (spec.tls.mode !== "origin-certificate") throw new Error(`originCertificateHeader: tls.mode is ${spec.tls.mode}, not origin-certificate`);
  return `# Cloudflare's Origin CA certificate: the secret phase configure reads it from, the files nginx serves.
readonly ORIGIN_SECRET_ID=${shellQuote(spec.tls.secretId)}
readonly ORIGIN_CERT=${ORIGIN_CERTIFICATE}
readonly ORIGIN_KEY=${ORIGIN_PRIVATE_KEY}
`;
}

/**
 * The part of the provisioning script only a box with tls.mode
 * origin-certificate gets (provision.ts puts it before phase configure).
 */
export const ORIGIN_CERTIFICATE_SH = `# ---- Cloudflare Origin CA certificate (tls.mode origin-certificate) -------------
# The secret's JSON object on stdin → its two PEMs into the files named by the
# arguments (0600 temporary files made by the caller). Messages name fields,
# never values.
origin_secret_py() {
  cat <<'PY'
import json
import sys

cert_path, key_path = sys.argv[1:3]


def fail(message):
    sys.stderr.write("origin certificate: %s\\n" % message)
    sys.exit(1)


try:
    data = json.loads(sys.stdin.read())
except ValueError:
    fail("the secret is not valid JSON")
if not isinstance(data, dict):
    fail('the secret must be a JSON object {"certificate": "<PEM>", "privateKey": "<PEM>"}')
cert = data.get("certificate")
key = data.get("privateKey")
if not isinstance(cert, str) or "-----BEGIN CERTIFICATE-----" not in cert:
    fail("certificate is missing or not a PEM certificate")
if not isinstance(key, str) or "PRIVATE KEY-----" not in key:
    fail("privateKey is missing or not a PEM private key")
if "ENCRYPTED" in key:
    fail("privateKey is encrypted; nginx needs it unencrypted")
for path, pem in ((cert_path, cert), (key_path, key)):
    with open(path, "w") as out:
        out.write(pem if pem.endswith("\\n") else pem + "\\n")
PY
}

# Digests of the certificate and key nginx serves: nginx_config_hash adds them
# to what nginx loads, which nginx -T does not show.
origin_certificate_digests() {
  sha256sum "$ORIGIN_CERT" "$ORIGIN_KEY" 2>/dev/null || true
}

# Phase configure, before the sites are enabled: the certificate and key of
# the secret ORIGIN_SECRET_ID into ORIGIN_CERT and ORIGIN_KEY. Nothing is
# replaced unless both PEMs parse, the key matches the certificate (same
# public key), the certificate is valid now and covers every app domain; then
# each file is renamed over the old one (atomic). A failure leaves the files
# nginx serves as they were and fails the run. Never traced, never logged.
install_origin_certificate() {
  { set +x; } 2>/dev/null
  local dir=\${ORIGIN_CERT%/*} new_cert new_key cert_public key_public fingerprint expires app domain
  local -a domains
  command -v aws >/dev/null 2>&1 || ensure_packages awscli
  install -d -m 0755 -o root -g root "$dir"
  # Temporary files of an interrupted run.
  rm -f "$dir"/.origin.pem.* "$dir"/.origin.key.*
  new_cert=$(mktemp "$dir/.origin.pem.XXXXXX")
  new_key=$(mktemp "$dir/.origin.key.XXXXXX")
  if ! aws_cli secretsmanager get-secret-value --secret-id "$ORIGIN_SECRET_ID" --query SecretString --output text |
    /usr/bin/python3 -c "$(origin_secret_py)" "$new_cert" "$new_key"; then
    refuse_origin_certificate "could not read a certificate and key from secret $ORIGIN_SECRET_ID"
  fi
  cert_public=$(openssl x509 -in "$new_cert" -noout -pubkey 2>/dev/null) ||
    refuse_origin_certificate "the certificate of secret $ORIGIN_SECRET_ID does not parse as X.509"
  key_public=$(openssl pkey -in "$new_key" -passin pass: -pubout 2>/dev/null) ||
    refuse_origin_certificate "the private key of secret $ORIGIN_SECRET_ID does not parse"
  [[ $cert_public == "$key_public" ]] ||
    refuse_origin_certificate "the private key of secret $ORIGIN_SECRET_ID does not match its certificate (different public keys)"
  expires=$(openssl x509 -in "$new_cert" -noout -enddate)
  expires=\${expires#notAfter=}
  openssl x509 -in "$new_cert" -noout -checkend 0 >/dev/null ||
    refuse_origin_certificate "the certificate of secret $ORIGIN_SECRET_ID expired on $expires"
  for app in "\${APPS[@]}"; do
    read -ra domains <<<"\${APP_DOMAINS[$app]}"
    for domain in "\${domains[@]}"; do
      [[ $(openssl x509 -in "$new_cert" -noout -checkhost "$domain") == *" does match "* ]] ||
        refuse_origin_certificate "the certificate of secret $ORIGIN_SECRET_ID does not cover $domain (app $app)"
    done
  done
  fingerprint=$(openssl x509 -in "$new_cert" -noout -fingerprint -sha256)
  fingerprint=\${fingerprint#*=}
  if cmp -s "$new_cert" "$ORIGIN_CERT" && cmp -s "$new_key" "$ORIGIN_KEY"; then
    rm -f "$new_cert" "$new_key"
    log "origin certificate unchanged (SHA-256 $fingerprint, valid until $expires)"
    return 0
  fi
  chown root:root "$new_cert" "$new_key"
  chmod 0644 "$new_cert"
  chmod 0600 "$new_key"
  mv -f "$new_key" "$ORIGIN_KEY"
  mv -f "$new_cert" "$ORIGIN_CERT"
  log "origin certificate installed: SHA-256 $fingerprint, valid until $expires; nginx reloads"
}

# refuse_origin_certificate MESSAGE: drops the temporary files of
# install_origin_certificate (its locals) and fails the run.
refuse_origin_certificate() {
  rm -f "$new_cert" "$new_key"
  die "origin certificate: $1; $ORIGIN_CERT and $ORIGIN_KEY are unchanged"
}
`;
