/**
 * The Python packages from PyPI that tests run for real beside the rendered
 * files (moto's AWS server, Django, django-storages, boto3), in one venv that
 * test/setup/install-pypi-tools.sh builds from test/setup/pypi-tools.txt
 * (every version pinned). Debian's python3, not pyenv's shim.
 */
import * as fs from "node:fs";

export const PYPI_TOOLS_VENV = "/var/cache/django-tiers/pypi-tools/venv";
export const PYPI_TOOLS_PYTHON = `${PYPI_TOOLS_VENV}/bin/python`;

/** Throws (so the test fails) when the venv is missing. */
export function requirePypiTools(): void {
  if (!fs.existsSync(PYPI_TOOLS_PYTHON)) {
    throw new Error(`${PYPI_TOOLS_PYTHON} is missing: run test/setup/install-pypi-tools.sh as root (npm run setup:server-tools does; CI does)`);
  }
}
