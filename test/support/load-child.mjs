// Runs in a process of its own for the load test, so the RSS it reports is the harness's alone and
// not the test runner's: N trivial jobs at concurrency C, RSS sampled after job 100 and after job N.
import { Harness } from '../../dist/harness/pool.js';

const total = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 2);
const harness = new Harness({ concurrency });
let done = 0;
let rssAt100 = 0;
const started = performance.now();
const results = await harness.runAll(
  Array.from({ length: total }, (_, i) => ({ command: ['/bin/true'], name: `job-${i}` })),
  {
    onProgress: (event) => {
      if (event.type === 'end' && ++done === 100) rssAt100 = process.memoryUsage().rss;
    },
  },
);
const rssAtEnd = process.memoryUsage().rss;
const seconds = (performance.now() - started) / 1000;
await harness.close();
console.log(
  JSON.stringify({
    total,
    seconds,
    rssAt100,
    rssAtEnd,
    statuses: [...new Set(results.map((r) => r.status))],
    inOrder: results.every((r, i) => r.name === `job-${i}`),
  }),
);
