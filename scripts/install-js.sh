#!/usr/bin/env bash
# Toolchain for JavaScript metrics: the npm packages of sdk/js (componentize-js,
# jco, rolldown), installed exactly as package-lock.json pins them.
# Idempotent: runs `npm ci` only when sdk/js/node_modules is missing or was
# installed from another package-lock.json (a hash of it is kept in
# node_modules/.caliper-lock).
set -euo pipefail
cd "$(dirname "$0")/../sdk/js"

if ! command -v npm >/dev/null 2>&1; then
    ../../scripts/apt-install.sh nodejs npm
fi

stamp=node_modules/.caliper-lock
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
