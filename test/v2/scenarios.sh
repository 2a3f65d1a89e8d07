#!/usr/bin/env bash
# The v2 set in every scenario users have (test/v2/vm/README.md): a copy of this checkout, owned by
# uid 1000 so the rootless scenario can write it, is shared into one throwaway guest per scenario,
# which runs test/v2/scenarios.guest.ts there. Every scenario runs even when one fails; the exit
# status is 1 if any failed. Usage: test/v2/scenarios.sh [SCENARIO...]   (default: all five)
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(systemd-root systemd-user container container-nouserns container-privileged)

work=$(mktemp -d /var/tmp/ringfence-v2-checkout.XXXXXX)
logs=$(mktemp -d /var/tmp/ringfence-v2-logs.XXXXXX)
trap 'rm -rf "$work" "$logs"' EXIT
# the built checkout as it is (node_modules, dist, native/build), without .git
tar --exclude=./.git -cf - . | tar -xf - -C "$work"
chown -R 1000:1000 "$work"

failed=()
for scenario in "${scenarios[@]}"; do
  echo "=== v2 guest: $scenario"
  start=$SECONDS
  RINGFENCE_V2_SCENARIO=$scenario VM_TIMEOUT=${VM_TIMEOUT:-900} NO_COLOR=1 \
    "$root/test/v2/vm/run.sh" "$scenario" "$work" -- \
    node node_modules/vitest/vitest.mjs run --config test/v2/vitest.config.ts --reporter verbose 2>&1 |
    tee "$logs/$scenario.log"
  status=${PIPESTATUS[0]}
  echo "=== v2 guest: $scenario exited $status after $((SECONDS - start)) s"
  ((status == 0)) || failed+=("$scenario")
done
if ((${#failed[@]})); then
  # CI keeps only the end of a long log: say again, last, which tests failed and why
  for scenario in "${failed[@]}"; do
    echo "=== v2 guest: $scenario: the failures"
    sed -n '/Failed Tests/,/Test Files/p' "$logs/$scenario.log" | head -n 150
  done
  echo "v2 guest scenarios failed: ${failed[*]}" >&2
  exit 1
fi
echo "v2 guest scenarios passed: ${scenarios[*]}"
