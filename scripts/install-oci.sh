#!/usr/bin/env bash
# What the OCI tests (tests/suite/oci.rs) need: a real OCI registry to run on
# loopback (Debian's `docker-registry`, the CNCF distribution registry; the
# test harness starts one per test on a free port with its own storage and
# stops it) and `htpasswd` (apache2-utils) to write the bcrypt password file
# of the registry that requires credentials.
# Idempotent: installs only what is missing.
set -euo pipefail

missing=()
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
"$(dirname "$0")/apt-install.sh" "${missing[@]}"
# The package enables a system service on port 5000; the tests start their
# own registries, so leave that one stopped if an init system started it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi
command -v docker-registry htpasswd
