#!/usr/bin/env bash
# test-deps.sh — what the test suite needs from the host that `npm ci` cannot bring: Debian packages.
#
# Why a script: `npm test` must pass on a fresh Debian or Ubuntu machine with nothing installed by
# hand, and CI takes the same path (.ci/run calls `npm test`). Each program is looked for on PATH;
# only the missing ones are installed, and the line says which. Nothing missing: it prints nothing.
# Not root: it names the packages and the command, and fails, rather than half-run the suite.
#
#   scripts/test-deps.sh            check, and install what is missing (root)
#   scripts/test-deps.sh --list     print the packages that would be installed, one a line
set -euo pipefail

need=()
want() { # want PROGRAM PACKAGE... — the packages, when PROGRAM is not on PATH
  local program=$1
  shift
  command -v "$program" >/dev/null 2>&1 || need+=("$@")
}

want cc gcc libc6-dev                      # native/launcher, and the tests' small C helpers
want ipcmk util-linux                      # the IPC namespace test
want ip iproute2                           # --network tests
want xmllint libxml2-utils                 # JUnit validated against the schema, XPath checks
want chromium chromium fonts-dejavu-core   # the compare HTML page, as a person sees it (a font, or no text)
want redis-server redis-server             # services: a job's own Redis
want curl curl                             # --network allow: tools that honour the proxy, and not
want openssl openssl                       # ... a TLS server's self-signed certificate
want git git                               # ... git cloning through the proxy; test repositories
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip) # ... pip downloading through the proxy
want mke2fs e2fsprogs                      # --disk: a job's capped ext4
want setcap libcap2-bin                    # attacks: file capabilities on what a job writes
want setfattr attr                         # attacks: security.capability written as an xattr
want aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross # npm pack's linux-arm64 launcher
want qemu-aarch64-static qemu-user-static  # ... and its self-test before it is packed
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql) # services: Postgres

if [[ ${1:-} == --list ]]; then
  ((${#need[@]})) && printf '%s\n' "${need[@]}"
  exit 0
fi

# --disk attaches loop devices: where the driver is a module not yet loaded, load it (root)
if [[ ! -e /dev/loop-control && $(id -u) == 0 ]] && command -v modprobe >/dev/null; then
  modprobe loop 2>/dev/null || echo "test-deps: no loop devices (/dev/loop-control) and modprobe loop failed: the --disk tests will fail" >&2
fi

((${#need[@]})) || exit 0

if [[ $(id -u) != 0 ]]; then
  echo "test-deps: the tests need these Debian packages: ${need[*]}" >&2
  echo "test-deps: install them with: sudo apt-get install --no-install-recommends ${need[*]}" >&2
  exit 1
fi

echo "test-deps: installing the Debian packages the tests need: ${need[*]}" >&2
if [[ " ${need[*]} " == *" postgresql "* ]]; then
  # no cluster of the machine's own: each Postgres service makes its own in its sandbox's /tmp
  mkdir -p /etc/postgresql-common
  [[ -e /etc/postgresql-common/createcluster.conf ]] ||
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# RUNLEVEL=1: the packages' maintainer scripts start no daemon of theirs (invoke-rc.d)
if ! { apt-get update -qq && RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "test-deps: apt-get could not install: ${need[*]}" >&2
  exit 1
fi

# what apt claimed to install must now be there
need=()
want xmllint libxml2-utils
want chromium chromium
want redis-server redis-server
want curl curl
want mke2fs e2fsprogs
want setcap libcap2-bin
want qemu-aarch64-static qemu-user-static
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
if ((${#need[@]})); then
  echo "test-deps: still missing after apt-get install: ${need[*]}" >&2
  exit 1
fi
