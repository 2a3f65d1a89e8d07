// Attack: signalling the harness — the process that runs jobs, accounts for them and cleans up after
// them. The job is root with CAP_KILL, so only the PID namespace stands between it and the harness:
// host pids and process groups do not exist inside. Signals to ringfence's own init are dropped by
// the kernel (KILL, STOP from inside the namespace) or passed on to the job (TERM). And `kill -9 0`
// must end the job's own process group only: it reached the launcher too (the job ran in its group),
// and the job's self-kill read as "could not start"; the launcher now gives the job its own session.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL } from './helpers.js';

/** Field 5 of /proc/self/stat, after the parenthesised command name. */
function ownProcessGroup(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describeSandbox('adversarial: signalling the harness', () => {
  it('the harness and its group are out of reach, init shrugs, kill -9 0 ends only the job', async () => {
    let termsReceived = 0;
    const onTerm = (): void => {
      termsReceived++;
    };
    process.on('SIGTERM', onTerm); // a TERM that reached us would be counted, not end the worker
    try {
      const result = await runJob({
        command: [
          'sh',
          path.join(ADVERSARIAL, 'signal-harness.sh'),
          String(process.pid),
          String(ownProcessGroup()),
        ],
        timeout: '10s',
      });
      for (const label of ['harness-TERM', 'harness-KILL', 'harness-group-KILL'])
        expect(result.stdout, label).toMatch(new RegExp(`^${label} failed: .*No such process`, 'm'));
      expect(result.stdout).toContain('TERM came back to the job');
      expect(result.stdout).toContain('init still answers');
      expect(result.stdout).not.toContain('not reached');
      // init outlived KILL and STOP and reported the job's own end: SIGKILL from its kill -9 0
      expect(result).toMatchObject({ status: 'signaled', signal: 'SIGKILL' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(termsReceived).toBe(0);
      expect((await runJob({ command: ['true'] })).status).toBe('passed');
      attack('signal the harness', 'contained');
    } finally {
      process.off('SIGTERM', onTerm);
    }
    await expectNoLeftovers();
  });
});
