/**
 * The AWS Systems Manager Agent on every server. Debian's EC2 images ship
 * cloud-init, awscli and amazon-ec2-utils but not the agent, and without it
 * nothing reaches the box after its first boot: the rollout association
 * (releases, setting changes, secret rotation, blue-green promotion) never
 * runs there and Session Manager (the only way in: SSH is closed) cannot
 * open a shell. Phase install installs it, once.
 *
 * The package is AWS's signed .deb from the regional bucket, at a pinned
 * version (SSM_AGENT_VERSION: every box of a stack runs the version this
 * file names until it changes; moving on is a change here). Its detached
 * signature is checked with `gpgv` against AWS's public key, which
 * the box gets from this file (SSM_AGENT_PUBLIC_KEY, in the configuration
 * document) and never downloads: AWS publishes the key only as text on its
 * documentation page, so the key in the repository is the trust anchor, and
 * a test checks its fingerprint against the one AWS documents. A test host
 * replaces the key file with its own test key.
 */
import type { RenderedFile } from "./types";

/** The agent's pinned version (its release notes: github.com/aws/amazon-ssm-agent RELEASENOTES.md). */
export const SSM_AGENT_VERSION = "3.3.987.0";
/** Where the box keeps AWS's public key that signs the agent's packages. */
export const SSM_AGENT_KEY = "/usr/local/share/django-tiers/amazon-ssm-agent.asc";
/** The agent's pid file when no service manager runs it (a container or test host). */
export const SSM_AGENT_PIDFILE = "/run/amazon-ssm-agent.pid";
/**
 * The fingerprint of that key ("SSM Agent <ssm-agent-signer@amazon.com>",
 * 97DD04ED), as "Verify the signature of SSM Agent" states it:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/verify-agent-signature.html
 */
export const SSM_AGENT_KEY_FINGERPRINT = "DE92C7DA3E56E92331D62A36BC1F495C97DD04ED";

/**
 * AWS's public key for the agent's Linux packages, as published on that
 * page (the same text is in the agent's own source, which checks its
 * updates with it). This copy's self-signature carries the expiry date of
 * 2025-02-17; AWS extends the key's expiry by re-publishing it on the page.
 * gpg still verifies signatures with it (EXPKEYSIG, VALIDSIG, exit 0), and
 * the script requires VALIDSIG by this key; refresh the text from the page
 * when AWS publishes a new one.
 */
export const SSM_AGENT_PUBLIC_KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----
Version: GnuPG v2.0.22 (GNU/Linux)

mQENBGTtIoIBCAD2M1aoGIE0FXynAHM/jtuvdAVVaX3Q4ZejTqrX+Jq8ElAMhxyO
GzHu2CDtCYxtVxXK3unptLVt2kGgJwNbhYC393jDeZx5dCda4Nk2YXX1UK3P461i
axuuXRzMYvfM4RZn+7bJTu635tA07q9Xm6MGD4TCTvsjBfViOxbrxOg5ozWbJdSw
fSR8MwUrRfmFpAefRlYfCEuZ8FHywa9U6jLeWt2O/kqrZliJOAGjGzXtB7EZkqKb
faCCxikjjvhF1awdEqSK4DQorC/OvQc4I5kP5y2CJbtXvXO73QH2yE75JMDIIx9x
rOsIRUoSfK3UrWaOVuAnEEn5ueKzZNqGG1J1ABEBAAG0J1NTTSBBZ2VudCA8c3Nt
LWFnZW50LXNpZ25lckBhbWF6b24uY29tPokBPwQTAQIAKQUCZO0iggIbLwUJAsaY
gAcLCQgHAwIBBhUIAgkKCwQWAgMBAh4BAheAAAoJELwfSVyX3QTt+icH/A//tJsW
I+7Ay8FGJh8dJPNy++HIBjVSFdGNJFWNbw1Z8uZcazHEcUCH3FhW4CLQLTZ3OVPz
qvFwzDtRDVIN/Y9EGDhLMFvimrE+/z4olWsJ5DANf6BnX8I5UNIcRt5d8SWH1BEJ
2FWIBZFgKyTDI6XzRC5x4ahtgpOVAGeeKDehs+wh6Ga4W0/K4GsviP1Kyr+Ic2br
NAIq0q0IHyN1q9zam3Y0+jKwEuNmTj+Bjyzshyv/X8S0JWWoXJhkexkOvWeBYNNt
5wI4QcSteyfIzp6KlQF8q11Hzz9D9WaPfcBEYyhq7vLEARobkbQMBzpkmaZua241
0RaWG50HRvrgm4aJAhwEEAECAAYFAmTtIoMACgkQfdCXo9rX9fwwqBAAzkTgYJ38
sWgxpn7Ux/81F2BWR1sVkmP79i++fXyJlKI8xtcJFQZhzeUos69KBUCy7mgx5bYU
P7NA5o9DUbwz/QS0i1Cqm4+jtFlX0MXe4FikXcqfDPnnzN8mVB2H+fa43iHR1PuH
GgUWuNdxzSoIYRmLZXWmeN5YXPcmixlhLzcE2TOQn1mOKcu2fKdLtBQ8KiEkmjiu
naoLxnUcyk1zMhaha+LzEkQdOyasix0ggylN2ViWVnlmfy0niuXDxW0qZWPdLStF
OODiX3iqGmkH3rDfy6nvxxBR4GIs+MGD72fpWzzrINDgkGI2i2t1+0AX/mps3aTy
+ftlgrim8stYWB58XXDAb0vad06sNye5/zDzfr0I9HupJrTzFhaYJQjWPaSlINto
LDJnBXohiUIPRYRcy/k012oFHDWZHT3H6CyjK9UD5UlxA9H7dsJurANs6FOVRe+7
34uJyxDZ/W7zLG4AVG0zxibrUSoaJxwcOjVPVsQAlrwG/GTs7tcAccsJqbJ1Py/w
9AgJl8VU2qc8POsHNXk348gjP7C8PDnGMpZFzr9f5INctRushpiv7onX+aWJVX7T
n2uX/TP3LCyH/MsrNJrJOQnMYFRLQitciP0E+F+eA3v9CY6mDuyb8JSx5HuGGUsG
S4bKBOcA8vimEpwPoT8CE7fdsZ3Qkwdu+pw=
=zr5w
-----END PGP PUBLIC KEY BLOCK-----
-----END PGP PUBLIC KEY BLOCK-----
`;

/** The key file, rendered into every server's configuration document. */
export function renderSsmAgentFiles(): RenderedFile[] {
  return [{ path: SSM_AGENT_KEY, mode: "0644", owner: "root:root", content: SSM_AGENT_PUBLIC_KEY }];
}

/**
 * The provisioning script's `ensure_ssm_agent`, which phase install calls
 * first. Where the package comes from: AWS's bucket in the box's region, or
 * `DJANGO_TIERS_SSM_AGENT_SOURCE` (a URL of the same layout: a test host's
 * stand-in bucket; the signature check is the same). Off EC2 (no instance
 * metadata service) and with no source given, it is skipped, and says so.
 * A package that is not there or whose signature does not verify stops the
 * run: a box the rollout cannot reach must not look provisioned.
 *
 * Started by systemd on EC2 (the package's unit); without systemd as PID 1
 * the agent is started directly, detached, its pid in SSM_AGENT_PIDFILE.
 *
 * Expects from the script around it: set -euo pipefail, REGION, IMDS, and
 * the functions log, die, is_installed, ensure_packages, have_systemd and
 * pidfile_alive.
 */
export const SSM_AGENT_SH = `# ---- SSM Agent (server/ssm-agent.ts) -----------------------------------------
readonly SSM_AGENT_VERSION=${SSM_AGENT_VERSION}
readonly SSM_AGENT_KEY=${SSM_AGENT_KEY}
readonly SSM_AGENT_PIDFILE=${SSM_AGENT_PIDFILE}

# install_ssm_agent DIR SOURCE: downloads the agent's .deb and its signature
# for this architecture from SOURCE into the scratch directory DIR, checks the
# signature against the key in SSM_AGENT_KEY only, and installs the package.
# Returns 1, after a log line saying why, on any failure.
install_ssm_agent() {
  local dir=$1 source=$2 arch url fpr status
  arch=$(dpkg --print-architecture)
  case $arch in
    amd64 | arm64) ;;
    *)
      log "SSM Agent: AWS publishes no package for the $arch architecture"
      return 1
      ;;
  esac
  if [[ ! -s $SSM_AGENT_KEY ]]; then
    log "SSM Agent: the signing key $SSM_AGENT_KEY is missing (the configuration document writes it)"
    return 1
  fi
  if ! command -v gpg >/dev/null 2>&1 && ! ensure_packages gpg; then
    log "SSM Agent: gpg is not installed and could not be"
    return 1
  fi
  url=$source/$SSM_AGENT_VERSION/debian_$arch/amazon-ssm-agent.deb
  if ! curl -fsS --retry 5 --retry-connrefused --max-time 600 -o "$dir/agent.deb" "$url" ||
    ! curl -fsS --retry 5 --retry-connrefused --max-time 60 -o "$dir/agent.deb.sig" "$url.sig"; then
    log "SSM Agent: could not download $url and its signature"
    return 1
  fi
  # gpgv (Debian's apt verifies with it; priority required) checks against a
  # keyring holding only this key, and needs no gpg-agent, which the box lacks
  # (gpg's own import starts one). gpg --dearmor needs none either.
  install -d -m 0700 "$dir/gnupg"
  if ! GNUPGHOME=$dir/gnupg gpg --batch --dearmor <"$SSM_AGENT_KEY" >"$dir/aws.gpg" 2>"$dir/key.log"; then
    log "SSM Agent: the key in $SSM_AGENT_KEY does not read: $(tr '\\n' ' ' <"$dir/key.log")"
    return 1
  fi
  # The key's self-signature may have expired (see ssm-agent.ts): VALIDSIG by
  # the only key of the keyring is what proves the package is the one AWS signed.
  status=$(GNUPGHOME=$dir/gnupg gpgv --keyring "$dir/aws.gpg" --status-fd 1 "$dir/agent.deb.sig" "$dir/agent.deb" 2>/dev/null) || status=""
  fpr=$(sed -n 's/^\\[GNUPG:\\] VALIDSIG .* \\([0-9A-F]\\{40\\}\\)$/\\1/p' <<<"$status" | head -n 1)
  if [[ -z $fpr ]]; then
    log "SSM Agent: BAD SIGNATURE: $url does not verify with the key in $SSM_AGENT_KEY; not installed"
    return 1
  fi
  log "SSM Agent: good signature by $fpr"
  if ! dpkg -i "$dir/agent.deb" >"$dir/dpkg.log" 2>&1; then
    log "SSM Agent: dpkg -i failed: $(tr '\\n' ' ' <"$dir/dpkg.log")"
    return 1
  fi
}

start_ssm_agent() {
  if have_systemd; then
    systemctl enable --now amazon-ssm-agent
  elif ! pidfile_alive "$SSM_AGENT_PIDFILE"; then
    (cd / && { setsid amazon-ssm-agent </dev/null >/dev/null 2>&1 & echo $! >"$SSM_AGENT_PIDFILE"; }) 9>&-
  fi
}

ensure_ssm_agent() {
  local source=\${DJANGO_TIERS_SSM_AGENT_SOURCE:-} dir
  if is_installed amazon-ssm-agent; then
    log "SSM Agent: $(dpkg-query -W -f='\${Version}' amazon-ssm-agent) installed"
  else
    if [[ -z $source ]]; then
      if ! curl -fsS --connect-timeout 2 --max-time 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' \\
        "$IMDS/api/token" >/dev/null 2>&1; then
        log "SSM Agent: skipped, no instance metadata service (not on EC2)"
        return 0
      fi
      source=https://s3.$REGION.amazonaws.com/amazon-ssm-$REGION
    fi
    log "SSM Agent: installing $SSM_AGENT_VERSION from $source (signature checked against $SSM_AGENT_KEY)"
    dir=$(mktemp -d)
    if ! install_ssm_agent "$dir" "$source"; then
      rm -rf "$dir"
      die "SSM Agent $SSM_AGENT_VERSION not installed: the rollout association and Session Manager cannot reach this box"
    fi
    rm -rf "$dir"
  fi
  start_ssm_agent
  log "SSM Agent: running"
}
`;
