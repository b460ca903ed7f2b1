#!/usr/bin/env bash
# System tools the test suite needs besides the Rust toolchain:
# promtool (Debian package `prometheus`) validates /metrics output and the
# generated alert rules; chromium renders the HTML report headless.
# Idempotent: installs only what is missing.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v promtool chromium
