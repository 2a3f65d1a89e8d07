# Guest PID 1 after switch_root (busybox sh, from the tmpfs /run/rfvm). Finds the virtio-serial ports, then
#   systemd-*   makes the ports usable by the job and execs this machine's systemd as PID 1 (rf-job.service runs job.sh)
#   container*  plays the container runtime: a cgroup of its own, new namespaces, container.sh as the container's init
# The busybox shell prefers its applets to PATH: host programs are called by their full path.
BB=/run/rfvm/busybox R=/run/rfvm
. $R/config
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
log() { [ "$VERBOSE" = 1 ] && echo "rfvm boot: $*" > /dev/kmsg; }
off() { $BB sync; $BB poweroff -f; }
echo rfvm > /proc/sys/kernel/hostname
$BB ip link set lo up
for p in /sys/class/virtio-ports/*; do   # no udev: the port's name is in sysfs
  read -r n < $p/name
  echo "$n=/dev/${p##*/}" >> $R/ports
done
. $R/ports   # stdout= stderr= status=
log "ports: $stdout $stderr $status"
case $SCENARIO in
systemd-*)
  $BB chmod 666 $stdout $stderr $status   # job.sh opens them, as uid 1000 in systemd-user
  exec /usr/bin/env -i /lib/systemd/systemd
  echo "rfvm boot: cannot exec systemd" >&2; off ;;
esac

# containers: like a systemd host, PID 1 leaves the root cgroup, whose controllers are all enabled
CG=/sys/fs/cgroup
$BB mkdir $CG/init.scope $CG/container
echo $$ > $CG/init.scope/cgroup.procs
cs=; for c in $(cat $CG/cgroup.controllers); do cs="$cs +$c"; done
echo $cs > $CG/cgroup.subtree_control
[ $SCENARIO = container-nouserns ] && echo 0 > /proc/sys/user/max_user_namespaces
# A new pid namespace first; its PID 1 moves itself into the container's cgroup and only then creates the cgroup
# namespace (rooted there) and the others. The unshare process that waits for it stays out of that cgroup.
log "starting the container"
/usr/bin/unshare --pid --fork $BB sh -c "echo 0 > $CG/container/cgroup.procs &&
  exec /usr/bin/unshare --cgroup --mount --uts --ipc $BB sh $R/container.sh" </dev/null >$stdout 2>$stderr
rc=$?
log "container exited: $rc"
echo $rc > $status
off
