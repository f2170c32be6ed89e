#!/usr/bin/env bash
# Installs the system packages obox's tests and demo use (Debian/Ubuntu, as root), and what
# `npm run build` compiles with (node-gyp's python3 and make, cc for the addon and the launcher).
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  runc crun uidmap fuse-overlayfs attr libcap2-bin
  skopeo umoci podman buildah docker.io docker-registry
  mmdebstrap busybox-static
  ca-certificates tar gzip xz-utils bzip2 zstd
  gcc libc6-dev make python3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 3
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "install-deps: Node.js 20 or newer is required (apt-get install nodejs npm, or your usual install)" >&2
  exit 3
fi
node -e 'const [maj] = process.versions.node.split(".").map(Number); if (maj < 20) { console.error(`install-deps: Node ${process.versions.node} is too old; obox needs 20+`); process.exit(3); }'
