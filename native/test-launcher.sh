#!/usr/bin/env bash
# Smoke test of native/build/ringfence-launcher. Needs root on Linux.
#   native/test-launcher.sh          build, then run the checks
#   native/test-launcher.sh --bench  also time 200 runs against /bin/true and unshare
# Every process it starts is tracked by pid and cleaned up on exit.
set -u
cd "$(dirname "$0")/.." || exit 1
node native/build.mjs || exit 1
L=$PWD/native/build/ringfence-launcher
W=$(mktemp -d /tmp/rf-smoke.XXXXXX)
chmod 755 "$W" # --userns root is uid 100000 on the host: it must reach the volumes
BG=()
cleanup() {
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "run as root"; exit 1; }

PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); printf '  ok    %s\n' "$1"; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL  %s\n' "$1"; printf '        %s\n' "${@:2}"; }
expect() { # expect NAME ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got:  $(printf %q "$2")" "want: $(printf %q "$3")"; fi
}
expect_match() { # expect_match NAME ACTUAL EXTENDED-REGEX
  if [[ $2 =~ $3 ]]; then ok "$1"; else bad "$1" "got:  $(printf %q "$2")" "want: /$3/"; fi
}
TAB=$'\t'

# run [launcher options] -- PROGRAM ...  → RC, OUT, ERR, ST (status-fd text)
run() {
  "$L" --gate-fd 3 --status-fd 4 "$@" 3<<<g 4>"$W/status" >"$W/out" 2>"$W/err" </dev/null
  RC=$?
  OUT=$(cat "$W/out") ERR=$(cat "$W/err") ST=$(cat "$W/status")
}
# the status line without its rusage fields
verdict() { cut -f1,2 <<<"$ST"; }

echo "identity and isolation"
run --hostname box -- hostname
expect "hostname inside" "$OUT" box
expect "hostname outside unchanged" "$(hostname)" "$(cat /proc/sys/kernel/hostname)"
run -- hostname
expect "default hostname" "$OUT" ringfence
run -- ls /proc
expect "/proc shows only init and the job" "$(grep -c '^[0-9]' <<<"$OUT")" 2
run -- ip -o link
expect_match "only lo, and it is UP" "$(wc -l <<<"$OUT") $OUT" '^1 1: lo: <LOOPBACK,UP,LOWER_UP>'
run -- sh -c 'ls /sys/class/net'
expect "/sys/class/net shows only lo" "$OUT" lo
run -- sh -c 'echo x > /sys/kernel/uevent_helper'
expect_match "writing /sys fails read-only" "$RC $ERR" '^2 .*Read-only file system'
run --net host -- sh -c 'ls /sys/class/net | grep -c .; echo x > /sys/kernel/uevent_helper'
expect_match "--net host: host interfaces, /sys read-only" "$RC $OUT $ERR" "^2 $(ls /sys/class/net | grep -c .) .*Read-only file system"
run -- sh -c 'grep CapEff /proc/self/status'
expect "CapEff is the keep-set" "$OUT" "CapEff:${TAB}00000000a00405fb"
run -- sh -c 'grep -E "^Cap(Bnd|Inh|Amb)" /proc/self/status | cut -f2 | tr "\n" " "'
expect "no inheritable, bounding = keep-set, no ambient" "$OUT" "0000000000000000 00000000a00405fb 0000000000000000 "
run -- sh -c 'grep NoNewPrivs /proc/self/status; ulimit -c; cat /proc/self/oom_score_adj'
expect "no_new_privs, no cores, oom_score_adj 0" "$(tr '\n\t' '  ' <<<"$OUT")" "NoNewPrivs: 1 0 0 "
run -- sh -c 'echo hi > /dev/null && head -c4 /dev/zero | wc -c && ls /dev | tr "\n" " "'
expect "/dev is minimal and works" "$OUT" "4
fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "

echo "results on the status fd"
run -- sh -c 'exit 42'
expect "exit code" "$RC $(verdict)" "42 exit${TAB}42"
expect_match "exit line has rusage" "$ST" "^exit${TAB}42${TAB}[0-9]+${TAB}[0-9]+${TAB}[0-9]+$"
run -- sh -c 'kill -9 $$'
expect "killed job" "$RC $(verdict)" "137 signal${TAB}9"
run -- /nonexistent/prog
expect "missing program" "$RC $ST" "125 error${TAB}exec /nonexistent/prog${TAB}2"
run -- no-such-program-on-path
expect "missing program on PATH" "$RC $ST" "125 error${TAB}exec no-such-program-on-path${TAB}2"
run --net bogus -- true
expect "bad argument" "$RC $ST" "125 error${TAB}args${TAB}22"
run --frobnicate -- true
expect "unknown option" "$RC $ST" "125 error${TAB}args${TAB}22"
run --workdir /nope -- true
expect "bad workdir" "$RC $ST" "125 error${TAB}chdir /nope${TAB}2"
run --volume "$W:/no/such/dir" -- true
expect "volume DST must exist" "$RC $ST" "125 error${TAB}volume /no/such/dir${TAB}2"
run --parent-pid 1 -- true
expect "parent already gone" "$RC $ST" "125 error${TAB}pdeathsig${TAB}3"
"$L" --gate-fd 3 --status-fd 4 -- true 3</dev/null 4>"$W/status"
expect "closed gate: quiet 125" "$? $(cat "$W/status")" "125 "

echo "filesystems"
run --tmp-size 1048576 -- sh -c 'dd if=/dev/zero of=/tmp/a bs=64k count=8 2>/dev/null && echo small-ok; dd if=/dev/zero of=/tmp/b bs=64k count=32 2>&1'
expect_match "--tmp-size caps /tmp" "$OUT" 'small-ok.*No space left on device'
mkdir -p "$W/rw" "$W/ro" "$W/tmpdir/v1" "$W/tmpdir/v2"
# Volumes are attached after /tmp: their DSTs live in the --tmp-dir here.
run --read-only --tmp-dir "$W/tmpdir" --volume "$W/rw:/tmp/v1" --volume "$W/ro:/tmp/v2:ro" -- sh -c "
  touch /rootfile 2>/dev/null || echo root-ro; touch /tmp/x && echo tmp-rw; echo > /dev/null && echo null-rw
  touch /tmp/v1/f && echo vol-rw; touch /tmp/v2/f 2>/dev/null || echo vol-ro; touch /dev/shm/x && echo shm-rw"
expect "--read-only with rw/ro volumes" "$(tr '\n' ' ' <<<"$OUT")" "root-ro tmp-rw null-rw vol-rw vol-ro shm-rw "
expect "rw volume wrote through to the host" "$(ls "$W/rw") $(ls "$W/tmpdir/v1" | wc -l) $(ls "$W/ro" | wc -l)" "f 0 0"
if [ -d /mnt ]; then
  run --read-only --tmp-size 100000 --volume "$W/rw:/mnt" -- sh -c 'touch /mnt/g && echo vol-rw'
  expect "rw volume outside /tmp under --read-only" "$OUT $(ls "$W/rw" | tr '\n' ' ')" "vol-rw f g "
fi
run --read-only --tmp-dir "$W/tmpdir" -- sh -c 'echo hi > /tmp/f && grep " /tmp " /proc/self/mountinfo'
expect_match "--tmp-dir is a writable nosuid,nodev bind" "$(cat "$W/tmpdir/f") $OUT" '^hi .* /tmp rw,nosuid,nodev'
run --workdir /usr/bin -- pwd
expect "--workdir" "$OUT" /usr/bin
run --nofile 64 -- sh -c 'ulimit -n; ulimit -Hn'
expect "--nofile" "$(tr '\n' ' ' <<<"$OUT")" "64 64 "
run --keep-fd 5 -- sh -c 'for f in 3 4 5 6; do [ -e /proc/self/fd/$f ] && echo $f; done' 5</dev/null 6</dev/null
expect "only --keep-fd fds survive" "$OUT" 5

echo "users"
run --userns -- sh -c 'id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status'
expect_match "--userns: root inside, mapped to 100000" "$(tr -s ' \n\t' ' ' <<<"$OUT")" '^0 0 100000 65536 CapEff: 00000000a00405fb'
chmod 777 "$W/rw"
run --userns --read-only --tmp-size 100000 --volume "$W/rw:/tmp" -- sh -c 'touch /x 2>/dev/null || echo root-ro; touch /tmp/u && echo vol-rw'
expect "--userns --read-only with a volume (file owned by 100000)" "$(tr '\n' ' ' <<<"$OUT") $(stat -c %u "$W/rw/u")" "root-ro vol-rw  100000"
run --userns --net host -- sh -c 'echo 1 > /sys/fs/cgroup/pids/cgroup.procs'
expect_match "--userns --net host: /sys and cgroups read-only" "$RC $ERR" '^2 .*Read-only file system'
run --uid 65534 --gid 65534 --tmp-size 100000 -- sh -c 'id -u; id -g; id -G; grep CapEff /proc/self/status; touch /tmp/x && echo tmp-ok'
expect "--uid/--gid nobody, no caps" "$(tr -s ' \n\t' ' ' <<<"$OUT")" "65534 65534 65534 CapEff: 0000000000000000 tmp-ok "
run --userns --uid 1000 --gid 1000 -- sh -c 'id -u; grep CapEff /proc/self/status'
expect "--userns --uid 1000" "$(tr -s ' \n\t' ' ' <<<"$OUT")" "1000 CapEff: 0000000000000000 "

echo "mount namespace"
before=$(cat /proc/self/mountinfo)
"$L" --gate-fd 3 -- sh -c 'cat /proc/self/mountinfo; echo ready; sleep 5' 3<<<g >"$W/out" &
lp=$!
BG+=("$lp")
for _ in $(seq 100); do grep -q ready "$W/out" && break; sleep 0.05; done
during=$(cat /proc/self/mountinfo)
kill -TERM "$lp"
wait "$lp"
expect "host mountinfo unchanged while the job runs" "$during" "$before"
expect_match "job sees its own /dev, /proc, /sys" "$(cat "$W/out")" ' /dev rw,nosuid,noexec.* tmpfs .*size=1024k'

echo "signals and lifetime"
"$L" --gate-fd 3 --status-fd 4 -- sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done' \
  3<<<g 4>"$W/status" >"$W/out" &
lp=$!
BG+=("$lp")
for _ in $(seq 100); do grep -q ready "$W/out" && break; sleep 0.05; done
kill -TERM "$lp"
wait "$lp"
RC=$?
expect "SIGTERM to the launcher reaches the job's trap" "$RC $(grep -c got-term "$W/out") $(cut -f1,2 "$W/status")" "7 1 exit${TAB}7"

tag=100.$$$RANDOM
t0=$(date +%s%N)
run -- sh -c "sleep $tag & exit 3"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_match "main exits with a background child: prompt (${ms} ms)" "$RC $ms" '^3 [0-9]{1,3}$'
expect "the background child is gone" "$(ps -eo args | grep -c "^sleep $tag\$")" 0

tag=100.$$$RANDOM
"$L" --gate-fd 3 -- sleep "$tag" 3<<<g &
lp=$!
BG+=("$lp")
for _ in $(seq 100); do ps -eo args | grep -q "^sleep $tag\$" && break; sleep 0.02; done
kill -KILL "$lp"
{ wait "$lp"; } 2>/dev/null
for _ in $(seq 50); do ps -eo args | grep -q "^sleep $tag\$" || break; sleep 0.02; done
expect "SIGKILL of the launcher takes the job down" "$(ps -eo args | grep -c "^sleep $tag\$")" 0

echo "passed $PASS, failed $FAIL"
[ "$FAIL" = 0 ] || exit 1

if [ "${1:-}" = --bench ]; then
  echo "startup cost: median of 200 runs each, interleaved (includes Python's fork+exec)"
  python3 - "$L" <<'EOF'
import os, statistics, subprocess, sys, time
launcher = sys.argv[1]
cases = {
    "/bin/true": ["/bin/true"],
    "unshare --fork --pid --mount-proc --uts --ipc --net --mount /bin/true":
        ["unshare", "--fork", "--pid", "--mount-proc", "--uts", "--ipc", "--net", "--mount", "/bin/true"],
    "ringfence-launcher --gate-fd N -- /bin/true": None,
}
times = {name: [] for name in cases}
for _ in range(200):
    for name, argv in cases.items():
        fds = ()
        if argv is None:
            r, w = os.pipe(); os.write(w, b"g"); os.close(w); fds = (r,)
            argv = [launcher, "--gate-fd", str(r), "--", "/bin/true"]
        t = time.perf_counter()
        subprocess.run(argv, pass_fds=fds, check=True)
        times[name].append(time.perf_counter() - t)
        for fd in fds: os.close(fd)
for name, ts in times.items():
    print(f"  {statistics.median(ts) * 1e3:6.2f} ms  {name}")
EOF
fi
