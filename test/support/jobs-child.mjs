// Runs jobs one after another through the built harness's runJob, traced, and prints what each
// returned as one JSON array: for tests that need the library in a process of another user (setpriv,
// test/support/rootless.ts). argv[2]: a JSON array of runJob's job objects ({ command, workdir, … }).
import { runJob } from '../../dist/harness/run-job.js';

const jobs = JSON.parse(process.argv[2] ?? '[]');
const results = [];
for (const job of jobs) {
  const r = await runJob(job, { trace: true });
  results.push({
    status: r.status,
    reason: r.reason,
    stdout: r.stdout,
    stderr: r.stderr,
    filesystem: r.filesystem,
    network: r.network,
    phases: (r.trace ?? []).map((t) => t.phase),
  });
}
console.log(JSON.stringify(results));
