# The container's PID 1 (busybox sh), started by boot.sh in new pid, mount, uts, ipc and cgroup namespaces; its
# cgroup (/container in the guest) is its cgroup namespace's root. First pass (full root): mounts what a container
# runtime mounts, then re-execs itself as the container's init — through setpriv with Docker's default capabilities
# unless the container is privileged. The init runs CMD as its child (like `docker exec` beside the container's
# main process: both in the container's cgroup) and exits with CMD's status; its exit ends the pid namespace.
BB=/run/rfvm/busybox R=/run/rfvm
. $R/config
die() { echo "rfvm container: $*" >&2; exit 125; }
if [ "$1" != --init ]; then
  id=$(cat /proc/sys/kernel/random/uuid); id=${id//-/}
  $BB hostname "${id:0:12}"
  $BB umount -l /proc && $BB mount -t proc -o nosuid,nodev,noexec proc /proc || die "mount /proc"
  $BB umount -l /sys/fs/cgroup || die "umount /sys/fs/cgroup"
  if [ $SCENARIO = container-privileged ]; then   # docker run --privileged: cgroupfs writable, all capabilities
    $BB mount -t cgroup2 -o rw,nosuid,nodev,noexec cgroup2 /sys/fs/cgroup || die "mount cgroup2"
    exec $BB sh $R/container.sh --init
  fi
  # docker run (default): cgroupfs and /sys read-only, Docker's read-only and masked /proc paths
  $BB mount -t cgroup2 -o ro,nosuid,nodev,noexec cgroup2 /sys/fs/cgroup || die "mount cgroup2"
  $BB mount -o remount,bind,ro,nosuid,nodev,noexec /sys || die "remount /sys read-only"
  for p in /proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger; do
    [ -e $p ] && { $BB mount --bind $p $p && $BB mount -o remount,bind,ro $p || die "read-only $p"; }; done
  for p in /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list /proc/timer_stats /proc/sched_debug; do
    [ -e $p ] && $BB mount --bind /dev/null $p; done
  for p in /proc/acpi /proc/scsi /sys/firmware; do [ -d $p ] && $BB mount -t tmpfs -o ro tmpfs $p; done
  # Docker's default 14 capabilities, in the bounding, permitted, effective and inheritable sets
  CAPS=+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap
  exec /usr/bin/setpriv --bounding-set -all,$CAPS --inh-caps -all,$CAPS -- $BB sh $R/container.sh --init
  die "cannot exec setpriv"
fi
[ "$VERBOSE" = 1 ] && echo "rfvm container: starting CMD" > /dev/kmsg
cd "$DIR" || die "cannot cd to $DIR"
# busybox sh reports a killed child ("Terminated") on its own stderr: the init keeps /dev/null there, CMD gets the port
exec 3>&2 2>/dev/null
( exec 2>&3 3>&-
  eval "exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOSTNAME=$($BB hostname) HOME=/root $(cat $R/env) $(cat $R/cmd)" )
exit $?
