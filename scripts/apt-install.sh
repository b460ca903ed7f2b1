#!/usr/bin/env bash
# Installs Debian packages (as root, or through sudo): the one place the
# install scripts call apt. Usage: scripts/apt-install.sh PACKAGE...
# Does nothing without arguments.
set -euo pipefail
[ $# -gt 0 ] || exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
