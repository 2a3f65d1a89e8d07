// Runs in a process of its own for the scratch test (run with --expose-gc): makes and removes N
// scratch dirs through the harness's own createScratch, and reports the V8 heap in use after a full
// collection at the first mark and at the end — what the process keeps per directory it made.
import { createScratch } from '../../dist/harness/job/scratch.js';

const [mark, total] = [Number(process.argv[2] ?? 2000), Number(process.argv[3] ?? 12000)];
const heap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};
let atMark = 0;
// a new directory each time (not a set of names: that would be the memory kept)
let previous = '';
let fresh = 0;
for (let i = 1; i <= total; i++) {
  const scratch = createScratch(false);
  if (scratch.path !== previous) fresh++;
  previous = scratch.path;
  await scratch.remove();
  if (i === mark) atMark = heap();
}
console.log(JSON.stringify({ atMark, atEnd: heap(), fresh }));
