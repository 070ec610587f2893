#!/usr/bin/env bash
# `npm run stack`: installs what this machine lacks (Debian packages as root, npm packages),
# builds, then runs the local stack (scripts/stack.ts) in the foreground. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/debian-packages.sh

missing=()
for pkg in "${PORTCULLIS_DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "stack: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "stack: npm ci"
  npm ci --no-audit --no-fund
fi
echo "stack: building"
npm run --silent build
exec node dist/scripts/stack.js "$@"
