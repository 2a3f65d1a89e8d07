# ExecStart of rf-job.service (busybox sh): root in systemd-root, rfuser (uid 1000) in a logind session in
# systemd-user. Stays the unit's (or session's) process with CMD as its child, so CMD's cgroup holds more than
# CMD. Opens the virtio-serial ports itself (a port can be open only once, and with PAMName= the unit's own stdio
# stays open in the (sd-pam) process), then sends CMD's status (128+N for a signal) before the unit ends.
BB=/run/rfvm/busybox R=/run/rfvm
. $R/config
. $R/ports
exec 5>$status
cd "$DIR" || { echo "rfvm job: cannot cd to $DIR" > $stderr; echo 125 >&5; exit 125; }
if [ $SCENARIO = systemd-user ]; then   # as a login sets them (pam_systemd normally has)
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$($BB id -u)}
  [ -n "$DBUS_SESSION_BUS_ADDRESS" ] || export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
fi
( exec >$stdout 2>$stderr 5>&-; eval "exec /usr/bin/env $(cat $R/env) $(cat $R/cmd)" )
rc=$?
echo $rc >&5
exit $rc
