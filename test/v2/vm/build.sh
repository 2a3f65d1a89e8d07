#!/bin/bash
# test/v2/vm/build.sh — prepares what run.sh boots, into $RINGFENCE_VM_CACHE (default /var/tmp/ringfence-v2-vm):
#   vmlinux-KVER       Debian's kernel (the one linux-image-amd64 depends on), uncompressed: qemu enters it through
#                      its PVH note and skips the xz decompressor, which is slow under TCG
#   base-KVER.cpio     first half of the initramfs: busybox and the modules for virtio, 9p, overlay, virtio-serial
#   k/KVER/            the unpacked kernel package (the guest's /lib/modules/KVER is bound from there)
#   kver               the kernel version the above belong to
# Installs, when missing (Debian, root): qemu-system-x86 (no recommends), busybox-static, and what the systemd
# scenarios need in this machine's root (systemd, dbus, libpam-systemd, dbus-user-session); the guest's root
# filesystem is this machine's own /. Idempotent: with everything in place it only checks and exits.
# KVER=6.1.0-NN-amd64 picks another kernel (built next to the cached one).
set -euo pipefail
CACHE=${RINGFENCE_VM_CACHE:-/var/tmp/ringfence-v2-vm}
say() { echo "build.sh: $*" >&2; }
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock" && flock 9   # runs started together: one builds (and runs apt), the others wait

# 1. packages on this machine
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'; }
installed busybox-static || need+=(busybox-static)   # static: it is the initramfs's only program (replaces busybox)
command -v xz >/dev/null || need+=(xz-utils)   # busybox's unxz lacks the x86 BCJ filter the kernel image uses
[ -x /lib/systemd/systemd ] || need+=(systemd)
[ -x /lib/systemd/systemd-logind ] || need+=(systemd)
[ -e /lib/systemd/system/dbus.socket ] || [ -e /usr/lib/systemd/system/dbus.socket ] || need+=(dbus)
compgen -G '/lib/*/security/pam_systemd.so' >/dev/null || compgen -G '/usr/lib/*/security/pam_systemd.so' >/dev/null \
  || need+=(libpam-systemd)
[ -e /usr/lib/systemd/user/dbus.socket ] || [ -e /lib/systemd/user/dbus.socket ] || need+=(dbus-user-session)
# rootless services that run as another id (a Postgres): newuidmap/newgidmap map rfuser's subordinate ids
command -v newuidmap >/dev/null || need+=(uidmap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. the kernel: the version cached before, else the one Debian's linux-image-amd64 depends on today
cd "$CACHE"
if [ -z "${KVER:-}" ] && [ -s kver ]; then KVER=$(cat kver); fi
if [ -z "${KVER:-}" ]; then
  dep() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -1; }
  KVER=$(dep)
  [ -n "$KVER" ] || { apt-get update -qq >/dev/null; KVER=$(dep); }
  [ -n "$KVER" ] || { say "cannot tell which linux-image-*-amd64 to use (set KVER)"; exit 1; }
fi
if [ -s "vmlinux-$KVER" ] && [ -s "base-$KVER.cpio" ] && [ -s "k/$KVER/lib/modules/$KVER/modules.dep" ]; then
  [ "$(cat kver 2>/dev/null)" = "$KVER" ] || echo "$KVER" > kver
  exit 0
fi
say "building the guest for linux $KVER into $CACHE"
PKG=linux-image-$KVER
if [ ! -d "k/$KVER/boot" ]; then
  rm -rf dl "k/$KVER" && mkdir -p dl k
  (cd dl && apt-get download -q "$PKG" >/dev/null 2>&1) || { apt-get update -qq >/dev/null; (cd dl && apt-get download -q "$PKG" >/dev/null); }
  dpkg-deb -x dl/"${PKG}"_*.deb "k/$KVER.tmp"
  mv "k/$KVER.tmp" "k/$KVER"
  rm -rf dl
fi
MODS=k/$KVER/lib/modules/$KVER
[ -s "$MODS/modules.dep" ] || busybox depmod -b "k/$KVER" "$KVER"

# 3. the modules the initramfs loads, dependencies first (a walk of modules.dep; built-in ones are skipped)
order=()
add() {   # add MODULE_NAME: its dependencies, then itself
  local name=$1 line path deps d
  line=$(grep -E "(^|/)${name//_/[_-]}\.ko(\.[a-z]+)?:" "$MODS/modules.dep" | head -1) || true
  if [ -z "$line" ]; then
    grep -qE "(^|/)${name//_/[_-]}\.ko\$" "$MODS/modules.builtin" 2>/dev/null && return 0
    say "module $name not found in $MODS"; exit 1
  fi
  path=${line%%:*}; deps=${line#*:}
  case " ${order[*]-} " in *" $path "*) return 0 ;; esac
  for d in $deps; do d=${d##*/}; add "${d%%.ko*}"; done
  order+=("$path")
}
for m in virtio_pci 9pnet_virtio 9p overlay virtio_console; do add "$m"; done
rm -rf base.d && mkdir -p base.d/bin base.d/lib/modules
cp /bin/busybox base.d/bin/busybox
: > base.d/modules.list
for p in "${order[@]}"; do
  case $p in *.ko) cp "$MODS/$p" base.d/lib/modules/ ;;
             *.ko.xz) xz -dc "$MODS/$p" > "base.d/lib/modules/$(basename "${p%.xz}")" ;;
             *) say "cannot handle module file $p"; exit 1 ;; esac
  p=${p##*/}; echo "${p%%.ko*}.ko" >> base.d/modules.list
done
# uncompressed newc: qemu loads it as is and the run's own archive (also newc) follows it 4-byte aligned
(cd base.d && find . | busybox cpio -o -H newc 2>/dev/null) > "base-$KVER.cpio.tmp"
mv "base-$KVER.cpio.tmp" "base-$KVER.cpio"
rm -rf base.d

# 4. the uncompressed kernel: the xz stream inside vmlinuz (trailing bytes after it are expected)
if [ ! -s "vmlinux-$KVER" ]; then
  K=k/$KVER/boot/vmlinuz-$KVER
  off=$(grep -abo $'\xfd7zXZ' "$K" | head -1 | cut -d: -f1)
  { tail -c +$((off + 1)) "$K" | xz -dc > "vmlinux-$KVER.tmp"; } 2>/dev/null || true
  if [ "$(head -c 4 "vmlinux-$KVER.tmp" 2>/dev/null)" = $'\x7fELF' ]; then
    mv "vmlinux-$KVER.tmp" "vmlinux-$KVER"
  else
    say "could not extract vmlinux; run.sh falls back to vmlinuz (slower)"; rm -f "vmlinux-$KVER.tmp"
    cp "$K" "vmlinux-$KVER"
  fi
fi
echo "$KVER" > kver
say "done: $(du -sh "$CACHE" | cut -f1) in $CACHE"
