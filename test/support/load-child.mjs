// Runs in a process of its own for the load test, so the RSS it reports is the harness's alone and
// not the test runner's: N trivial jobs at concurrency C, RSS sampled after job 100 and after job N,
// each time after a full collection (run with --expose-gc): retained memory, not garbage not yet
// collected, which made the figure swing by several MB from run to run. There is a collection after
// every 50th job too: with only the two, the RSS rose 11–20 MB over 900 jobs on a 2-core AMD host
// (a test failed at 20.2), while with one every 50 jobs the same harness moved −12 to +8 MB in four
// runs — growth that more collections undo is not memory kept per job. A leak of 24 KB a job still
// shows: +21 MB.
import { Harness } from '../../dist/harness/parallel/harness.js';

function rssAfterGc() {
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

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
      if (event.type !== 'end' || ++done % 50 !== 0) return;
      const rss = rssAfterGc();
      if (done === 100) rssAt100 = rss;
    },
  },
);
const rssAtEnd = rssAfterGc();
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
