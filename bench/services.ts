// A service's start-to-ready time: Redis through ringfence (its own sandbox and network namespace,
// readiness by `ready: {tcp: 6379}` probed from inside) beside a bare `redis-server` started here and
// polled with connect() every millisecond, rounds interleaved. Prints medians and the difference;
// the target is that the sandbox adds at most 20 ms.
//   npm run bench:services -- [--runs 30]      (needs redis-server: apt-get install redis-server)
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { runJob } from '../harness/run-job.js';
import { median, which } from './support.js';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 30;
const WARMUP = 3;
if (!which('redis-server')) throw new Error('redis-server not found: apt-get install redis-server');

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A bare redis-server on the host: ms from spawn to its port accepting. */
async function bare(port: number): Promise<number> {
  const start = performance.now();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  while (!(await accepts(port))) await new Promise((resolve) => setTimeout(resolve, 1));
  const ms = performance.now() - start;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return ms;
}

/** Redis as a ringfence service: ms from the service's start to its ready check passing. */
async function sandboxed(): Promise<number> {
  const result = await runJob({
    command: ['true'],
    services: [
      {
        name: 'redis',
        command: ['redis-server', '--port', '6379', '--save', '', '--appendonly', 'no'],
        ready: { tcp: 6379 },
      },
    ],
  });
  const ready = result.services?.[0]?.readyMs;
  if (result.status !== 'passed' || ready == null) throw new Error(`ringfence: ${result.reason}`);
  return ready;
}

const samples = { bare: [] as number[], ringfence: [] as number[] };
for (let round = 0; round < WARMUP + RUNS; round++) {
  const b = await bare(20000 + (round % 1000));
  const r = await sandboxed();
  if (round >= WARMUP) {
    samples.bare.push(b);
    samples.ringfence.push(r);
  }
}
const m = { bare: median(samples.bare), ringfence: median(samples.ringfence) };
console.log(`\nRedis start-to-ready, ${RUNS} runs each (after ${WARMUP} warm-up), interleaved:\n`);
console.log(`bare redis-server, polled with connect()   ${m.bare.toFixed(1).padStart(7)} ms`);
console.log(`ringfence service, ready: {tcp: 6379}      ${m.ringfence.toFixed(1).padStart(7)} ms`);
console.log(
  `\nthe sandbox adds ${(m.ringfence - m.bare).toFixed(1)} ms (target ≤ 20 ms): its cgroup, namespaces, overlay and the probe from inside`,
);
