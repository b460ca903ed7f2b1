#!/usr/bin/env bash
# System tools the test suite needs besides the Rust toolchain:
# promtool (Debian package `prometheus`) validates /metrics output and the
# generated alert rules. Idempotent: installs only what is missing.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool
