#!/usr/bin/env bash
# The Vitest 5 check (.ci/run runs it; it needs Node 22, which the `node` npm package brings): pack
# this checkout, install it with Vitest 5 and Node 22 into a fresh project in a temp dir, run the
# demo's files there, check their outcomes (leak, hang and runaway fail with their cause, the other
# two pass), validate the JUnit, check that the workers load Node's compile cache and cannot write
# it (fixtures/vitest-compile-cache), check that Node's own fetch and http.get reach an allowed host
# through the allow-list's way out (fixtures/node-fetch) on Node 22 and on Node 24, the LTS users
# move to, and remove the temp dir. Needs root and the registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/rf-vitest5-XXXXXX)"
# Vite turns on Node's compile cache, in the host's tmpdir: what this run adds there goes with it
cache_root="${TMPDIR:-/tmp}/node-compile-cache"
cache_had=$([[ -d $cache_root ]] && echo yes || echo no)
cache_before="$(ls -A "$cache_root" 2>/dev/null || true)"
cleanup() {
  rm -rf "$dir"
  [[ -d $cache_root ]] || return 0
  local entry
  for entry in "$cache_root"/*; do
    [[ -e $entry ]] || continue
    grep -qxF "$(basename "$entry")" <<<"$cache_before" || rm -rf "$entry"
  done
  [[ $cache_had == yes ]] || rmdir "$cache_root" 2>/dev/null || true
}
trap cleanup EXIT
npm pack --silent --pack-destination "$dir" "$root" >/dev/null
cd "$dir"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund node@22 vitest@5 ./ringfence-*.tgz
mkdir demo && cp "$root"/fixtures/vitest-demo/*.ts demo/
./node_modules/.bin/node --version
status=0
NO_COLOR=1 ./node_modules/.bin/node node_modules/vitest/vitest.mjs run --root demo 2>&1 | tee output.txt ||
  status=${PIPESTATUS[0]}
echo "vitest exit status: $status (1 expected: three files fail on purpose)"
fail() {
  echo "try-vitest5: $1" >&2
  exit 1
}
((status == 1)) || fail "vitest exited $status, not 1"
grep -Eq 'Test Files +3 failed \| 2 passed \(5\)' output.txt || fail 'not 3 failed | 2 passed (5) files'
for cause in 'leak.test.ts was killed: memory limit 256 MiB reached' \
  'hang.test.ts was killed: exceeded wall-clock timeout' 'runaway.test.ts was killed: exceeded wall-clock timeout'; do
  grep -q "ringfence: $cause" output.txt || fail "missing: ringfence: $cause"
done
xmllint --noout --schema "$root/test/fixtures/junit-10.xsd" demo/ringfence-junit.xml
# Node 22's compile cache: filled once by the host, loaded by the workers, read-only to every file
mkdir cache && cp "$root"/fixtures/vitest-compile-cache/*.{ts,mjs} cache/
NO_COLOR=1 NODE_DEBUG_NATIVE=COMPILE_CACHE ./node_modules/.bin/node node_modules/vitest/vitest.mjs run \
  --root cache >cache-output.txt 2>&1 || {
  tail -40 cache-output.txt
  fail 'the compile-cache files did not pass'
}
grep -Eq 'Test Files +6 passed \(6\)' cache-output.txt || fail 'not 6 passed (6) compile-cache files'
used=$(grep -c 'compile-cache: used read-only' cache-output.txt || true)
accepted=$(grep -c 'cache for .*/vitest/dist/.* was accepted' cache-output.txt || true)
echo "compile cache: $used of 6 files found it read-only; $accepted of Vitest's modules loaded from it"
((used == 6 && accepted >= 1)) || fail 'the cache was not read-only in every file, or no worker loaded it'
! compgen -G '/tmp/ringfence-compile-cache-*' >/dev/null || fail 'a compile cache directory was left in /tmp'
[[ ! -e filler-ran-a-preload ]] || fail "the host's compile-cache filler ran the project's preload"
# Node 22's fetch and http.get under --network allow:…, with only the variables the job is given
cp "$root"/fixtures/node-fetch/allow-list.mjs .
./node_modules/.bin/node allow-list.mjs || fail "Node 22's fetch or http.get did not go through the allow-list"
# ... and on Node 24 (its own prefix: one project holds one `node` package), the same packed ringfence
npm install --silent --no-audit --no-fund --prefix node24 node@24
node24/node_modules/.bin/node --version
node24/node_modules/.bin/node allow-list.mjs || fail "Node 24's fetch or http.get did not go through the allow-list"
echo "try-vitest5: the pool works on Vitest 5 and Node 22, and Node 22's and 24's fetch through the allow-list"
