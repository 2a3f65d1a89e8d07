#!/usr/bin/env bash
# Packs the benches for a bare cgroup-v2 host that has no node of its own:
# node, the built tree with the runtime packages only (koffi's linux-x64 build alone), the benches
# bundled to plain JS by esbuild (no tsx there), and this machine's bwrap with its libraries, into
# .device/ (git-ignored). There: `bash .device/run.sh node .device/bench/overhead.mjs --trace`.
# Usage, from the project root after `npm ci`: scripts/bench-pack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qxF '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >>.git/info/exclude
rm -rf .device && mkdir -p .device/bench .device/bwrap
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" >.device/node.xz
for bench in overhead throughput; do
  npx esbuild "bench/$bench.ts" --bundle --platform=node --format=esm --target=node20 --packages=external \
    --outfile=".device/bench/$bench.mjs" --log-level=warning
done
# the runtime packages: what the harness protects in every job (its own files), listed by the harness
mapfile -t packages < <(node --input-type=module -e "
  const { protectedPaths } = await import('./dist/harness/job/protect.js');
  for (const p of protectedPaths()) if (p.includes('/node_modules/')) console.log(p.slice(p.indexOf('node_modules/')));
")
tar -cf - --exclude='node_modules/koffi/build/koffi/[!l]*' --exclude='node_modules/koffi/build/koffi/linux_[!x]*' \
  --exclude='node_modules/koffi/src' dist native/build "${packages[@]}" | xz -T0 -3 >.device/tree.tar.xz
bwrap=$(command -v bwrap) || { echo "bwrap not found (apt-get install bubblewrap)" >&2; exit 1; }
cp "$bwrap" $(ldd "$bwrap" | awk '/=> \// && !/libc\.so/ {print $3}') .device/bwrap/
cat >.device/run.sh <<'RUN'
#!/usr/bin/env bash
# On the device: unpack node, the built tree and bwrap, give the benches a delegated cgroup parent
# with every controller (the command's own cgroup delegates only memory), run the command given.
set -uo pipefail
xz -dc .device/node.xz >/usr/local/bin/node && chmod +x /usr/local/bin/node || exit 90
xz -dc .device/tree.tar.xz | tar -xf - || exit 91
export PATH=$PWD/.device/bwrap:$PATH LD_LIBRARY_PATH=$PWD/.device/bwrap
echo "node $(node --version) on $(uname -r), $(nproc) cpus, $(stat -fc %T /sys/fs/cgroup); $(bwrap --version)"
mkdir -p /sys/fs/cgroup/ringfence-device
for c in $(cat /sys/fs/cgroup/ringfence-device/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/ringfence-device/cgroup.subtree_control 2>/dev/null
done
export RINGFENCE_CGROUP_PARENT=/ringfence-device
"$@"
RUN
du -sh .device
