/**
 * CHECKS.md "Deployability and rollout": the rollout can reach the server.
 * Debian's EC2 images lack the SSM Agent, so every server's provisioning
 * script must install it at first boot (phase install), at a pinned version,
 * from AWS's signed package with the signature checked against AWS's key,
 * and that key (rendered beside the script) must be the one AWS documents.
 */
import { createHash } from "node:crypto";
import { SSM_AGENT_KEY, SSM_AGENT_KEY_FINGERPRINT } from "../../server/ssm-agent";
import { fileFinding, notApplicable } from "../plan-queries";
import { roleFiles } from "../server-files";
import type { Check, Finding } from "../types";

const PROVISION_SCRIPT = "/usr/local/sbin/django-tiers-provision";

/**
 * The primary key's v4 fingerprint of an ASCII-armored OpenPGP public key:
 * SHA-1 over 0x99, the two-byte length and the body of its first packet
 * (RFC 4880, 12.2). Undefined when the text is not such a key.
 */
export function armoredKeyFingerprint(armored: string): string | undefined {
  const body = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?:[^\n]*:[^\n]*\r?\n)*\r?\n([\s\S]*?)\r?\n=[^\n]*\r?\n-----END PGP PUBLIC KEY BLOCK-----/.exec(armored)?.[1];
  if (!body) return undefined;
  const bytes = Buffer.from(body.replace(/\s+/g, ""), "base64");
  const tag = bytes[0];
  if (tag === undefined || (tag & 0xc0) !== 0x80) return undefined;
  let length: number;
  let start: number;
  if (tag & 0x40) {
    // New-format header: tag 6 is 0xc6.
    if ((tag & 0x3f) !== 6) return undefined;
    const first = bytes[1]!;
    if (first < 192) [length, start] = [first, 2];
    else if (first < 224) [length, start] = [((first - 192) << 8) + bytes[2]! + 192, 3];
    else if (first === 255) [length, start] = [bytes.readUInt32BE(2), 6];
    else return undefined;
  } else {
    // Old-format header: tag in bits 5-2, length type in bits 1-0.
    if (((tag >> 2) & 0x0f) !== 6) return undefined;
    const lengthType = tag & 0x03;
    if (lengthType === 0) [length, start] = [bytes[1]!, 2];
    else if (lengthType === 1) [length, start] = [bytes.readUInt16BE(1), 3];
    else if (lengthType === 2) [length, start] = [bytes.readUInt32BE(1), 5];
    else return undefined;
  }
  const packet = bytes.subarray(start, start + length);
  if (packet.length !== length || packet[0] !== 4) return undefined;
  const header = Buffer.from([0x99, (length >> 8) & 0xff, length & 0xff]);
  return createHash("sha1").update(header).update(packet).digest("hex").toUpperCase();
}

/** The body of a bash function `name() { ... }` (up to the first line that is a lone `}`). */
function bashFunction(script: string, name: string): string | undefined {
  return new RegExp(`^${name}\\(\\) \\{\\n([\\s\\S]*?)^\\}$`, "m").exec(script)?.[1];
}

export const rolloutReachesServer: Check = {
  id: "rollout-reaches-server",
  title: "The rollout can reach the server: SSM Agent installed from AWS's signed package, signature checked",
  refs: ["CHECKS.md Deployability and rollout", "AWS: Verify the signature of SSM Agent"],
  description:
    "Debian's EC2 images lack the SSM Agent; without it no release, setting change or secret rotation reaches the box, and Session Manager cannot open a shell.",
  run(plan) {
    const roles = roleFiles(plan);
    if (!roles.length) return notApplicable("no server files rendered in this plan");
    return roles.flatMap((role): Finding[] => {
      const script = role.files.find((f) => f.path === PROVISION_SCRIPT);
      if (!script) return [fileFinding(PROVISION_SCRIPT, `${role.role}: no provisioning script rendered`)];
      const at = PROVISION_SCRIPT;
      const findings: Finding[] = [];
      if (!/^\s*ensure_ssm_agent$/m.test(bashFunction(script.content, "phase_install") ?? ""))
        findings.push(fileFinding(at, `${role.role}: phase install does not install the SSM Agent (ensure_ssm_agent)`));
      const version = /^readonly SSM_AGENT_VERSION=(\S*)$/m.exec(script.content)?.[1];
      if (!version || !/^\d+\.\d+\.\d+\.\d+$/.test(version))
        findings.push(fileFinding(at, `${role.role}: the SSM Agent's version is not pinned (SSM_AGENT_VERSION=${version ?? "unset"})`));
      const install = bashFunction(script.content, "install_ssm_agent") ?? "";
      if (!/gpgv --keyring "\$dir\/aws\.gpg" --status-fd 1 "\$dir\/agent\.deb\.sig" "\$dir\/agent\.deb"/.test(install) || !/VALIDSIG/.test(install))
        findings.push(fileFinding(at, `${role.role}: the SSM Agent's package is installed without checking its signature (gpgv, VALIDSIG)`));
      const key = role.files.find((f) => f.path === SSM_AGENT_KEY);
      const fingerprint = key && armoredKeyFingerprint(key.content);
      if (!key) findings.push(fileFinding(SSM_AGENT_KEY, `${role.role}: AWS's key for the SSM Agent's package is not rendered`));
      else if (fingerprint !== SSM_AGENT_KEY_FINGERPRINT)
        findings.push(fileFinding(SSM_AGENT_KEY, `${role.role}: the key's fingerprint is ${fingerprint ?? "unreadable"}, not AWS's documented ${SSM_AGENT_KEY_FINGERPRINT}`));
      return findings;
    });
  },
};
