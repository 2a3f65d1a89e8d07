// Attack: a job that leaves a directory tree in its scratch dir nested deeper than PATH_MAX. Nothing
// stops a job making one (one relative mkdir and chdir at a time), and a cleanup that walks by full
// path fails at the bottom with ENAMETOOLONG: Node's fs.rm did, which left the scratch dir on the
// host after every such job, and the next start's sweep failed on it again. harness/job/scratch.ts now
// falls back to rm(1), which walks by directory fd at any depth. The scratch dir must be gone.
import path from 'node:path';
import { expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes } from './helpers.js';

describeSandbox('adversarial: a scratch dir nested past PATH_MAX', () => {
  it('is removed all the same', async () => {
    const result = await runJob({
      command: ['node', path.join(ADVERSARIAL, 'deep-tree.js'), '2200'],
      workdir: '/',
      volumes: fixtureVolumes(),
      timeout: '20s',
    });
    expect(result.status, result.reason + result.stderr).toBe('passed');
    const length = Number(/path-length (\d+)/.exec(result.stdout)?.[1]);
    expect(length).toBeGreaterThan(4096);
    await expectNoLeftovers();
    attack('scratch dir nested past PATH_MAX', 'contained');
  });
});
