// The v2 set's check of the init made ahead (native/launcher/ahead.c), in a process of its own as
// pause-check.mjs is: three jobs one after another through the library, each after the first on the
// spare the one before left, traced. Prints one line of JSON: per job its status, its phases, and
// the namespaces it got (`enforcement.namespaces`), what it saw of its hostname, its network
// namespace (against this process's) and its cgroup, and the cgroup its launcher was in. Then a job
// that spins ~300 ms of CPU and touches 64 MiB: what its counters said and when they were read.
import fs from 'node:fs';
import { runJob } from '../../dist/harness/run-job.js';

const hostNet = fs.readlinkSync('/proc/self/ns/net');
const jobs = [];
for (let i = 0; i < 3; i++) {
  let launcherCgroup = '';
  const result = await runJob(
    { command: ['sh', '-c', 'hostname; readlink /proc/self/ns/net; cat /proc/self/cgroup'] },
    {
      trace: true,
      onStart: (job) => (launcherCgroup = fs.readFileSync(`/proc/${job.launcherPid}/cgroup`, 'utf8').trim()),
    },
  );
  const [hostname, net, ...cgroup] = result.stdout.trim().split('\n');
  jobs.push({
    status: result.status,
    reason: result.reason,
    namespaces: result.enforcement?.namespaces,
    phases: (result.trace ?? []).map((t) => t.phase),
    hostname,
    ownNetwork: net !== hostNet,
    cgroup: cgroup.join('\n'),
    launcherCgroup,
  });
}
const spin = await runJob(
  {
    command: ['node', '-e', 'Buffer.alloc(64 << 20, 1); const t = Date.now(); while (Date.now() - t < 300);'],
    memory: '256m',
  },
  { trace: true },
);
const counted = {
  status: spin.status,
  reason: spin.reason,
  cpuMs: spin.cpu.totalMs,
  peakBytes: spin.memory.peakBytes,
  phases: (spin.trace ?? []).map((t) => t.phase),
};
console.log(JSON.stringify({ jobs, counted }));
