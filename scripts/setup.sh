#!/usr/bin/env bash
# Installs everything Altostratus needs on a Debian machine (run as root, or with sudo available):
# Debian's Python venv support, Chromium and its headless shell, then a virtualenv in .venv with the pinned packages.
# Idempotent and quick on a second run: it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv python3-pip)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The browser headless runs launch (the full one stays for a visible window).
[ -x /usr/lib/chromium/chromium-headless-shell ] || need_apt+=(chromium-headless-shell)
fc-list 2>/dev/null | grep -qi liberation || need_apt+=(fonts-liberation)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"setup: Python 3.11+ is required, found {sys.version.split()[0]}")
PY

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi

# Reinstall only when the pins changed.
stamp=.venv/.alto-installed
want=$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into .venv"
  # (This machine's pip configuration names package folders that may not exist; pip's notes
  # about skipping them are noise.)
  .venv/bin/python -m pip install -q -e ".[dev]" 2> >(grep -v "is ignored: it is neither a file" >&2)
  # The official Skyvern SDK, for the compatibility tests and the demo: its declared pins clash
  # with ours, and the client needs only httpx and pydantic (plus what `from skyvern import
  # Skyvern` imports, in the dev extra).
  .venv/bin/python -m pip install -q --no-deps "skyvern==1.0.56" 2> >(grep -v "is ignored: it is neither a file" >&2)
  echo "$want" > "$stamp"
fi
echo "setup: ready (.venv, Chromium at /usr/bin/chromium, its headless shell at /usr/lib/chromium/chromium-headless-shell)"
