#!/usr/bin/env bash
# The README's main job, on a fresh Debian/Ubuntu machine as root: install what obox needs,
# make a Debian minbase base image on the spot (mmdebstrap, the machine's apt sources), build
# the multi-stage C example from containerfiles/ with obox, and write a docker-archive that
# `docker load` accepts.
#
#   bash native-scripts/demo.sh [OUT.tar]        (default ./hello-obox.tar)
#
# Environment: OBOX_ROOT (store, default /var/lib/obox), OBOX_TEST_CACHE (rootfs cache).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-hello-obox.tar}")

bash native-scripts/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "demo: making a Debian bookworm minbase root filesystem (mmdebstrap)"
bash native-scripts/make-rootfs-debian.sh "$work/debian.tar"
./bin/obox import "$work/debian.tar" -t debian-minbase:bookworm >/dev/null
echo "demo: building containerfiles/examples/c-static.Containerfile"
./bin/obox build --progress plain \
  -f containerfiles/examples/c-static.Containerfile \
  -t hello-obox:latest -o "type=docker,dest=$out" containerfiles/examples
echo "demo: wrote $out"
echo "demo: try it with: docker load -i $out && docker run --rm hello-obox"
