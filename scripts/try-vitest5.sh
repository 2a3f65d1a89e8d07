#!/usr/bin/env bash
# The Vitest 5 check of the README, by hand (it needs Node 22, which the `node` npm package brings):
# pack this checkout, install it with Vitest 5 and Node 22 into a fresh project in a temp dir, run the
# demo's files there, validate the JUnit, and remove the temp dir. Needs root and the registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/rf-vitest5-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
npm pack --silent --pack-destination "$dir" "$root" >/dev/null
cd "$dir"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund node@22 vitest@5 ./ringfence-*.tgz
mkdir demo && cp "$root"/fixtures/vitest-demo/*.ts demo/
./node_modules/.bin/node --version
status=0
./node_modules/.bin/node node_modules/vitest/vitest.mjs run --root demo || status=$?
echo "vitest exit status: $status (1 expected: three files fail on purpose)"
xmllint --noout --schema "$root/test/fixtures/junit-10.xsd" demo/ringfence-junit.xml
