// Attack: a job that exits while its children keep running — a daemon in its own session, double-
// forked, deaf to TERM and HUP, and a plain background child. A runner that waits only for its direct
// child leaves such processes on the host forever, still writing into the checkout. Here init exits
// with the job's main process and the kernel kills what is left in the PID namespace. The children
// write a heartbeat into a host directory: it must stop, and no process of theirs may remain.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, removeDir, tempDir } from './helpers.js';

/** Host processes whose command line mentions `text`. */
function hostProcessesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) found.push(Number(name));
    } catch {
      // exited while listing
    }
  }
  return found;
}

describeSandbox('adversarial: a job that exits while its children keep running', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('outlive');
  });
  afterAll(() => removeDir(dir));

  it('the children die with the job: the heartbeat stops, no process of theirs is left', async () => {
    const heartbeat = path.join(dir, 'heartbeat');
    const result = await runJob({
      command: ['sh', path.join(ADVERSARIAL, 'outlive.sh'), dir],
      workdir: dir,
      volumes: fixtureVolumes(),
      timeout: '10s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    expect(Number(/beats: (\d+)/.exec(result.stdout)?.[1])).toBeGreaterThan(2); // they did run
    expect(result.wallMs).toBeLessThan(1500); // not held until the timeout
    const beats = fs.readFileSync(heartbeat, 'utf8');
    expect(beats).toMatch(/daemon/);
    expect(beats).toMatch(/child/);
    await new Promise((resolve) => setTimeout(resolve, 300)); // six heartbeats' worth
    expect(fs.readFileSync(heartbeat, 'utf8')).toBe(beats);
    expect(hostProcessesMentioning(dir)).toEqual([]);
    attack('children outlive the job', 'contained');
    await expectNoLeftovers();
  });
});
