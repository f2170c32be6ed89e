#!/usr/bin/env bash
# Builds a tiny, deterministic root filesystem tarball from Debian's busybox-static, for tests that
# need a real image without any registry (docker import / podman import / FROM in BuildKit).
#
# usage: make-rootfs-busybox.sh [--mtime EPOCH] OUT.tar
#
# Contents:
#   /bin/busybox (the static binary) and one symlink -> /bin/busybox per applet, at the paths
#     `busybox --list-full` gives (bin/sh, bin/echo, bin/ls, bin/cat, usr/bin/env, sbin/..., ...)
#   /etc/passwd, /etc/group: root (0), nobody (65534), app (1000, home /home/app, not created)
#   /tmp and /var/tmp mode 1777, /root 0700, empty /dev /proc /sys /home /run /var
# Determinism: entries sorted by name, every mtime = --mtime, else $SOURCE_DATE_EPOCH, else 0;
#   owner 0:0 numeric, GNU tar format, modes set explicitly. Same busybox binary => same bytes.
# Environment: BUSYBOX=/path/to/static/busybox overrides the binary (default: busybox-static's
#   /bin/busybox; the package must be installed: apt-get install busybox-static).
set -euo pipefail

die() { echo "make-rootfs-busybox: $*" >&2; exit 2; }

mtime="${SOURCE_DATE_EPOCH:-0}"
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mtime) [ $# -ge 2 ] || die "--mtime needs a value"; mtime="$2"; shift 2 ;;
    --mtime=*) mtime="${1#--mtime=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) die "unknown option: $1" ;;
    *) [ -z "$out" ] || die "only one OUT.tar expected"; out="$1"; shift ;;
  esac
done
[ -n "$out" ] || die "usage: make-rootfs-busybox.sh [--mtime EPOCH] OUT.tar"
[[ "$mtime" =~ ^[0-9]+$ ]] || die "mtime must be a non-negative integer (seconds since epoch), got '$mtime'"

if [ -n "${BUSYBOX:-}" ]; then
  bb="$BUSYBOX"
else
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    die "busybox-static is not installed (apt-get install busybox-static, or run native-scripts/install-deps.sh; or set BUSYBOX=/path/to/a/static/busybox)"
  fi
  bb=/bin/busybox
fi
[ -x "$bb" ] || die "$bb is missing or not executable"
if command -v ldd >/dev/null 2>&1 && ldd_out="$(ldd "$bb" 2>&1 || true)" && [[ "$ldd_out" != *"not a dynamic executable"* ]]; then
  die "$bb is dynamically linked; the rootfs needs a static busybox (busybox-static)"
fi
command -v tar >/dev/null 2>&1 || die "GNU tar is required"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is required (for --sort/--mtime/--owner)"

umask 022
work="$(mktemp -d "${TMPDIR:-/tmp}/obox-rootfs-busybox.XXXXXX")"
tmp_out=""
trap 'rm -rf "$work"; [ -z "$tmp_out" ] || rm -f "$tmp_out"' EXIT
root="$work/root"
mkdir -p "$root"

for d in bin sbin usr usr/bin usr/sbin etc dev proc sys root tmp home run var var/tmp; do
  mkdir -p "$root/$d"
done
install -m 0755 "$bb" "$root/bin/busybox"

# One symlink per applet, at the location busybox itself reports (skip the binary and linuxrc).
n=0
while IFS= read -r applet; do
  case "$applet" in
    ''|bin/busybox|linuxrc|*/linuxrc) continue ;;
  esac
  case "$applet" in */*) [ -d "$root/${applet%/*}" ] || mkdir -p "$root/${applet%/*}" ;; esac
  [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || { ln -s /bin/busybox "$root/$applet"; n=$((n + 1)); }
done < <("$root/bin/busybox" --list-full)
for a in sh echo ls cat env; do
  [ -L "$root/bin/$a" ] || [ -L "$root/usr/bin/$a" ] || die "busybox at $bb has no '$a' applet"
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
app:x:1000:
nogroup:x:65534:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"
find "$root" -type d -exec chmod 0755 {} +
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

mkdir -p "$(dirname "$out")"
tmp_out="$out.tmp.$$"
# Relative names without a "./" prefix, C-sorted; --no-recursion so each entry appears once.
(cd "$root" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z) |
  tar -C "$root" --null --no-recursion -T - \
    --format=gnu --sort=none --mtime="@$mtime" \
    --owner=0 --group=0 --numeric-owner \
    -cf "$tmp_out"
mv -f "$tmp_out" "$out"
tmp_out=""
echo "make-rootfs-busybox: wrote $out ($n applet links, mtime $mtime)" >&2
