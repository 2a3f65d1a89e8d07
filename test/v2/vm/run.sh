#!/bin/bash
# test/v2/vm/run.sh [-v] SCENARIO DIR -- CMD...
# Boots a throwaway QEMU guest (Debian's kernel, pure cgroup v2) whose root is this machine's / (9p, read-only,
# under a tmpfs overlay that takes every write), with DIR shared read-write at the same path; runs CMD in DIR in
# SCENARIO; streams CMD's stdout and stderr back apart; exits with CMD's status (128+N for a signal).
#   systemd-root          systemd is PID 1; CMD runs as root in /system.slice/rf-job.service beside the unit's shell
#   systemd-user          systemd is PID 1; CMD runs as rfuser (uid 1000) in a logind session, user@1000.service up
#   container             like `docker run`: own pid/mount/uts/ipc/cgroup namespaces, cgroupfs read-only,
#                         Docker's 14 capabilities (namespaces only through a user namespace)
#   container-nouserns    as container, with user.max_user_namespaces=0 (Docker's seccomp profile refusing them)
#   container-privileged  like `docker run --privileged`: cgroupfs writable, all capabilities
# Environment: VM_MEM (4G) VM_CPUS (2) VM_TIMEOUT (seconds for boot and run, 3600; exit 124 past it) VM_VERBOSE=1
# or -v (boot log on stderr) VM_KEEP=1 (keep the run dir) VM_ACCEL (tcg; kvm is untested) RINGFENCE_VM_CACHE.
# RINGFENCE_* and CI are passed on into CMD's environment. Exit 125: the guest ended without CMD's status.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")")
CACHE=${RINGFENCE_VM_CACHE:-/var/tmp/ringfence-v2-vm}
VERBOSE=${VM_VERBOSE:-0}
usage() { echo "usage: $0 [-v] systemd-root|systemd-user|container|container-nouserns|container-privileged DIR -- CMD..." >&2; exit 2; }
[ "${1:-}" = -v ] && { VERBOSE=1; shift; }
[ $# -ge 2 ] || usage
SCENARIO=$1
case $SCENARIO in systemd-root|systemd-user|container|container-nouserns|container-privileged) ;; *) usage ;; esac
DIR=$(realpath -e -- "$2" 2>/dev/null) && [ -d "$DIR" ] || { echo "$0: not a directory: $2" >&2; exit 2; }
shift 2
[ "${1:-}" = -- ] && shift
[ $# -ge 1 ] || usage

"$HERE/build.sh" || { echo "$0: building the guest failed" >&2; exit 125; }
KVER=$(cat "$CACHE/kver")
mkdir -p "$CACHE/run"
find "$CACHE/run" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null   # left by killed runs
RUN=$(mktemp -d "$CACHE/run/XXXXXXXX")
TPID=
cleanup() {
  [ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
  for f in stdout stderr status console; do [ -p "$RUN/$f" ] && : 1<>"$RUN/$f"; done   # unblocks a relay still opening its FIFO
  [ "${VM_KEEP:-0}" = 1 ] || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
q() { local sq="'"; printf "'%s'" "${1//$sq/$sq\\$sq$sq}"; }   # one word, quoted for sh

# The run's half of the initramfs: /init and /rfvm (config, cmd, env, guest scripts, root/ = files laid over /)
I=$RUN/initrd.d
mkdir -p "$I/rfvm"
install -m 755 "$HERE/guest/init" "$I/init"
cp "$HERE/guest/boot.sh" "$HERE/guest/container.sh" "$HERE/guest/job.sh" "$I/rfvm/"
{ echo "SCENARIO=$SCENARIO"; echo "DIR=$(q "$DIR")"; echo "KVER=$KVER"; echo "VERBOSE=$VERBOSE"
  echo "KMODDIR=$(q "$CACHE/k/$KVER/lib/modules/$KVER")"; } > "$I/rfvm/config"
for a in "$@"; do q "$a"; printf ' '; done > "$I/rfvm/cmd"
for v in $(compgen -e); do case $v in RINGFENCE_*|CI|NO_COLOR) q "$v=${!v}"; printf ' ' ;; esac; done > "$I/rfvm/env"
chmod 644 "$I"/rfvm/*
case $SCENARIO in systemd-*)
  # systemd's configuration in the guest's /etc (the overlay): a boot target of our own, the job's unit, and most of
  # this image's units masked (irrelevant, slow under TCG, waiting for devices, or harmful: tmpfiles would clean
  # /tmp, where DIR may be). This image has no udev: /dev is devtmpfs, there are no device units and no seats.
  E=$I/rfvm/root/etc
  S=$E/systemd/system
  mkdir -p "$S" "$E/systemd/system-generators" "$E/systemd/user-generators" "$E/systemd/user-environment-generators"
  cp "$HERE/guest/systemd/rf-guest.target" "$HERE/guest/systemd/rf-job.service" "$S/"
  ln -s rf-guest.target "$S/default.target"
  keep=" dbus.socket systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket systemd-sysctl.service
         dev-mqueue.mount "
  for w in /lib/systemd/system/{sysinit,basic,sockets,timers,paths,local-fs}.target.wants/* \
           /etc/systemd/system/{sysinit,basic,sockets,timers,paths,local-fs}.target.wants/*; do
    [ -e "$w" ] || [ -L "$w" ] || continue
    case $keep in *" ${w##*/} "*) ;; *) ln -sfn /dev/null "$S/${w##*/}" ;; esac
  done
  for u in systemd-remount-fs.service systemd-update-utmp-runlevel.service systemd-ask-password-wall.path \
           getty.target remote-fs.target systemd-tmpfiles-clean.timer modprobe@drm.service; do ln -sfn /dev/null "$S/$u"; done
  for g in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/*; do
    [ -e "$g" ] && ln -sfn /dev/null "$E/systemd/system-generators/${g##*/}"; done
  # the user manager: gpgconf (the gpg-agent environment generator) takes over a second under TCG
  ln -s /dev/null "$E/systemd/user-environment-generators/90gpg-agent"
  ln -s /dev/null "$E/systemd/user-generators/systemd-xdg-autostart-generator"
  id=$(cat /proc/sys/kernel/random/uuid); echo "${id//-/}" > "$E/machine-id"
  echo rfvm > "$E/hostname"
  if [ "$SCENARIO" = systemd-user ]; then
    mkdir -p "$S/rf-job.service.d"
    cp "$HERE/guest/systemd/rf-job-user.conf" "$S/rf-job.service.d/user.conf"
    # uid/gid 1000 is rfuser in the guest (whoever it is here), with a fresh home in the overlay
    awk -F: '$3 != 1000 && $1 != "rfuser"' /etc/passwd > "$E/passwd"
    echo "rfuser:x:1000:1000:ringfence VM user:/home/rfuser:/bin/bash" >> "$E/passwd"
    awk -F: '$3 != 1000 && $1 != "rfuser"' /etc/group > "$E/group"
    echo "rfuser:x:1000:" >> "$E/group"
    old=$(getent passwd 1000 | cut -d: -f1)
    awk -F: -v old="$old" '$1 != old && $1 != "rfuser"' /etc/shadow > "$E/shadow"
    echo "rfuser:*:19000:0:99999:7:::" >> "$E/shadow"
    # subordinate ids as Debian's useradd gives the first user (newuidmap maps them for its services)
    echo "rfuser:100000:65536" > "$E/subuid"; echo "rfuser:100000:65536" > "$E/subgid"
    chmod 644 "$E/passwd" "$E/group" "$E/subuid" "$E/subgid"; chmod 640 "$E/shadow"; chown --reference=/etc/shadow "$E/shadow"
    mkdir -p -m 700 "$I/rfvm/root/home/rfuser"; chown 1000:1000 "$I/rfvm/root/home/rfuser"
  fi ;;
esac
(cd "$I" && find . | busybox cpio -o -H newc 2>/dev/null) | cat "$CACHE/base-$KVER.cpio" - > "$RUN/initrd"
rm -rf "$I"

# CMD's stdout/stderr and its status come back over virtio-serial ports, written by qemu into FIFOs and relayed from
# there by cat: the relays write to our own fds 1 and 2 whatever they are (pipes, sockets, files)
mkfifo "$RUN/stdout" "$RUN/stderr" "$RUN/status" "$RUN/console"
cat "$RUN/stdout" & R1=$!
cat "$RUN/stderr" >&2 & R2=$!
cat "$RUN/status" > "$RUN/status.txt" & R3=$!
if [ "$VERBOSE" = 1 ]; then tee "$RUN/console.log" < "$RUN/console" >&2 & R4=$!
else cat "$RUN/console" > "$RUN/console.log" & R4=$!; fi
APPEND="console=ttyS0 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 i8042.noaux i8042.nokbd i8042.nopnp"
if [ "$VERBOSE" = 1 ]; then APPEND="$APPEND systemd.show_status=1"; else APPEND="$APPEND quiet loglevel=1 systemd.show_status=error"; fi
# KVM here is kvm_pvm (no VT-x/AMD-V): Debian's kernel does not boot under it, hence TCG
case ${VM_ACCEL:-tcg} in
  tcg) ACCEL=(-accel tcg,thread=multi,tb-size=256 -cpu max) ;;
  kvm) ACCEL=(-accel kvm -cpu host) ;;
  *) echo "$0: VM_ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac
BIOS=(); [ -f /usr/share/qemu/qboot.rom ] && BIOS=(-bios /usr/share/qemu/qboot.rom)   # minimal firmware: boots faster
PORTS=(-device virtio-serial-pci,id=vser)
for p in stdout stderr status; do
  PORTS+=(-chardev "file,id=$p,path=${RUN//,/,,}/$p" -device "virtserialport,bus=vser.0,chardev=$p,name=$p"); done
timeout -k 5 "${VM_TIMEOUT:-3600}" qemu-system-x86_64 "${ACCEL[@]}" -smp "${VM_CPUS:-2}" -m "${VM_MEM:-4G}" -M q35 \
  -nodefaults -no-user-config -nographic -monitor none -no-reboot "${BIOS[@]}" \
  -kernel "$CACHE/vmlinux-$KVER" -initrd "$RUN/initrd" -append "$APPEND" \
  -chardev file,id=console,path="${RUN//,/,,}/console" -serial chardev:console \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="${DIR//,/,,}",mount_tag=work,security_model=passthrough,multidevs=remap \
  "${PORTS[@]}" </dev/null &
TPID=$!
wait $TPID; qrc=$?; TPID=
for f in stdout stderr status console; do : 1<>"$RUN/$f"; done   # in case qemu never opened one
wait $R1 $R2 $R3 $R4
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
  echo "$0: timed out after ${VM_TIMEOUT:-3600} s (qemu killed)" >&2; exit 124
fi
rc=$(cat "$RUN/status.txt" 2>/dev/null)
case $rc in
  ''|*[!0-9]*) echo "$0: the guest ended without CMD's status (qemu exit $qrc); console:" >&2
               tail -n 30 "$RUN/console.log" >&2; exit 125 ;;
esac
exit "$rc"
