// The allow-list's way out under load: a 100 MiB download from a server on the host's loopback,
// through a job's proxy (curl inside a --network allow:… job) beside the same download direct (the
// same curl in a --network host job), rounds interleaved so a noisy neighbour hits both alike.
// Prints medians and the proxied ÷ direct ratio (target: within 10 %).
// With --rate N the server sends at N MiB/s, as a registry behind a real link would, where the
// unpaced loopback run prices the proxy's CPU: every byte crosses loopback TCP twice through it.
//   npm run bench:network -- [--runs 10] [--mib 100] [--rate 119]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { runJob } from '../harness/run-job.js';
import { resolveJobSpec } from '../harness/job/spec.js';
import { median } from './support.js';

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const RUNS = flag('--runs', 10);
const MIB = flag('--mib', 100);
// 0: as fast as loopback goes; else the server's pace in MiB/s (a link: 1 Gbit/s is about 119)
const RATE = flag('--rate', 0);
const WARMUP = 2;
const ADDR = '127.0.0.2';

// the server in a process of its own: in this one it would share the proxy's event loop and thread
const SERVER = `
  const chunk = Buffer.alloc(1024 * 1024, 97);
  const server = require('http').createServer((req, res) => {
    res.writeHead(200, { 'content-length': ${MIB} * chunk.length });
    let left = ${MIB};
    const started = Date.now();
    const pump = () => {
      while (left > 0) {
        const due = ${RATE} > 0 ? started + ((${MIB} - left) / ${RATE}) * 1000 : 0;
        if (due > Date.now()) return void setTimeout(pump, due - Date.now());
        left--;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  server.listen(0, '${ADDR}', () => console.log(server.address().port));`;
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'ignore'] });
const port = Number((await once(child.stdout, 'data')).toString());
// never leave the server behind, whatever ends this process
process.on('exit', () => child.kill());
const url = `http://${ADDR}:${port}/`;

// curl's own figure: the transfer alone, not the job's start and end
const command = ['curl', '-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', url];
const allow = `allow:${ADDR}:${port}` as const;
const specs = {
  direct: resolveJobSpec({ command, network: 'host', fs: 'host' }),
  // a plain HTTP request through the proxy (parsed, forwarded), and a CONNECT tunnel (as HTTPS goes)
  proxied: resolveJobSpec({ command, network: allow, fs: 'host' }),
  tunnel: resolveJobSpec({
    command: [...command.slice(0, 1), '--proxytunnel', ...command.slice(1)],
    network: allow,
    fs: 'host',
  }),
};
const times: Record<keyof typeof specs, number[]> = { direct: [], proxied: [], tunnel: [] };
const MODES = Object.keys(specs) as (keyof typeof specs)[];
for (let round = 0; round < WARMUP + RUNS; round++) {
  const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
  for (const mode of order) {
    const result = await runJob(specs[mode]);
    const [seconds, bytes] = result.stdout.trim().split(' ').map(Number);
    if (result.status !== 'passed' || bytes !== MIB * 1024 * 1024)
      throw new Error(`${mode}: ${result.status} ${result.reason} ${result.stdout} ${result.stderr}`);
    if (round >= WARMUP) times[mode].push((seconds ?? 0) * 1000);
  }
}
child.kill();

const direct = median(times.direct);
const proxied = median(times.proxied);
const tunnel = median(times.tunnel);
console.log(
  `\n${MIB} MiB over HTTP from ${ADDR}, ${RUNS} runs each (after ${WARMUP} warm-up), interleaved:\n`,
);
for (const [name, ms] of [
  ['direct (--network host)', direct],
  ['proxied (--network allow)', proxied],
  ['tunnel (CONNECT)', tunnel],
] as const)
  console.log(
    `${name.padEnd(26)} ${ms.toFixed(1).padStart(8)} ms  ${((MIB / ms) * 1000).toFixed(0).padStart(6)} MiB/s`,
  );
console.log(
  `\nproxied ÷ direct: ${(proxied / direct).toFixed(3)}, tunnel ÷ direct: ${(tunnel / direct).toFixed(3)} (target ≤ 1.10)`,
);
