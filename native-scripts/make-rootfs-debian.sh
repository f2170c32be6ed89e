#!/usr/bin/env bash
# Builds a Debian root filesystem tarball with mmdebstrap (default: bookworm, --variant=minbase), for
# tests that need a real distribution image without any container registry (docker import, FROM).
# Packages come from Debian's apt mirrors only: the host's own Debian sources when the host runs the
# same suite (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list), else mmdebstrap's
# default (deb.debian.org + updates + security). Never Docker Hub.
#
# usage: make-rootfs-debian.sh [--suite S] [--variant V] [--no-cache] [--refresh] OUT.tar
#
# Cache: the tarball is kept in $OBOX_TEST_CACHE (default /var/cache/obox-test when root, else
#   ${XDG_CACHE_HOME:-$HOME/.cache}/obox-test) as debian-SUITE-VARIANT-ARCH-KEY.tar, KEY = sha256 of
#   (this script's cache format, suite, variant, arch, the sources used, today's UTC date). So the
#   rootfs is rebuilt at most once a day, or when the sources change; older entries for the same
#   suite/variant/arch are deleted after a successful build. Concurrent callers serialise on a flock.
#   --no-cache builds straight to OUT.tar without touching the cache; --refresh rebuilds the entry.
#   Delete the directory at any time to reclaim space (about 100 MB per entry).
# Environment:
#   OBOX_TEST_CACHE      cache directory (see above)
#   OBOX_DEBIAN_MIRROR   use this instead of the host sources: a mirror URL, a "deb ..." line or a
#                        sources.list / .sources file (passed to mmdebstrap as MIRROR)
#   SOURCE_DATE_EPOCH    passed to mmdebstrap; defaults to 00:00 UTC of the cache date, so two builds
#                        on the same day from the same mirror state are identical
# Runs mmdebstrap in unshare mode when it can (nothing is mounted in the caller's namespace, so an
# interrupted build cannot leave mounts behind), else in root mode.
set -euo pipefail

die() { echo "make-rootfs-debian: $*" >&2; exit 2; }
cache_format=1

suite=bookworm
variant=minbase
use_cache=1
refresh=0
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) [ $# -ge 2 ] || die "--suite needs a value"; suite="$2"; shift 2 ;;
    --suite=*) suite="${1#--suite=}"; shift ;;
    --variant) [ $# -ge 2 ] || die "--variant needs a value"; variant="$2"; shift 2 ;;
    --variant=*) variant="${1#--variant=}"; shift ;;
    --no-cache) use_cache=0; shift ;;
    --refresh) refresh=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    -*) die "unknown option: $1" ;;
    *) [ -z "$out" ] || die "only one OUT.tar expected"; out="$1"; shift ;;
  esac
done
[ -n "$out" ] || die "usage: make-rootfs-debian.sh [--suite S] [--variant V] [--no-cache] [--refresh] OUT.tar"
[[ "$suite" =~ ^[a-z0-9.-]+$ ]] || die "bad suite: $suite"
[[ "$variant" =~ ^[a-z-]+$ ]] || die "bad variant: $variant"

command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is not installed (apt-get install mmdebstrap, or run native-scripts/install-deps.sh)"
command -v dpkg >/dev/null 2>&1 || die "dpkg is required (a Debian or Ubuntu host)"
arch="$(dpkg --print-architecture)"

# The apt sources: explicit override, else the host's Debian sources when it runs the same suite.
mirror_args=()
sources_desc="mmdebstrap-default"
if [ -n "${OBOX_DEBIAN_MIRROR:-}" ]; then
  mirror_args=("$OBOX_DEBIAN_MIRROR")
  if [ -f "$OBOX_DEBIAN_MIRROR" ]; then sources_desc="$(cat "$OBOX_DEBIAN_MIRROR")"; else sources_desc="$OBOX_DEBIAN_MIRROR"; fi
else
  host_codename="$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)"
  if [ "$host_codename" = "$suite" ]; then
    if [ -s /etc/apt/sources.list.d/debian.sources ]; then
      mirror_args=(/etc/apt/sources.list.d/debian.sources)
    elif [ -s /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list; then
      mirror_args=(/etc/apt/sources.list)
    fi
    if [ ${#mirror_args[@]} -gt 0 ]; then sources_desc="$(cat "${mirror_args[0]}")"; fi
  fi
fi

today="$(date -u +%Y-%m-%d)"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(date -u -d "$today 00:00:00" +%s)}"

if [ "$(id -u)" -eq 0 ] && unshare --mount --pid --fork true >/dev/null 2>&1; then
  mode=unshare
else
  mode=auto
fi

build() { # build TARGET.tar
  local target="$1" tmp="$1.tmp.$$.tar"
  rm -f "$tmp"
  echo "make-rootfs-debian: mmdebstrap --variant=$variant --mode=$mode $suite (sources: ${mirror_args[*]:-default})" >&2
  local start=$SECONDS
  if ! mmdebstrap --quiet --variant="$variant" --mode="$mode" --format=tar "$suite" "$tmp" "${mirror_args[@]}"; then
    rm -f "$tmp"
    die "mmdebstrap failed (is the Debian mirror reachable? sources: ${mirror_args[*]:-deb.debian.org})"
  fi
  mv -f "$tmp" "$target"
  echo "make-rootfs-debian: built $target in $((SECONDS - start))s" >&2
}

mkdir -p "$(dirname "$out")"
if [ "$use_cache" -eq 0 ]; then
  build "$out"
  exit 0
fi

if [ -n "${OBOX_TEST_CACHE:-}" ]; then
  cache="$OBOX_TEST_CACHE"
elif [ "$(id -u)" -eq 0 ]; then
  cache=/var/cache/obox-test
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/obox-test"
fi
mkdir -p "$cache" || die "cannot create cache directory $cache (set OBOX_TEST_CACHE)"

key="$(printf '%s\n' "$cache_format" "$suite" "$variant" "$arch" "$today" "$sources_desc" | sha256sum | cut -c1-16)"
prefix="debian-$suite-$variant-$arch"
entry="$cache/$prefix-$key.tar"

exec 9>"$cache/.$prefix.lock"
flock -w 900 9 || die "timed out waiting for the cache lock $cache/.$prefix.lock"
if [ "$refresh" -eq 1 ] || [ ! -s "$entry" ]; then
  build "$entry"
  for old in "$cache/$prefix"-*.tar; do
    [ "$old" = "$entry" ] || rm -f "$old"
  done
else
  echo "make-rootfs-debian: cache hit $entry" >&2
fi
cp --reflink=auto "$entry" "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
