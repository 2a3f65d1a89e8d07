// Attack: a job that closes its stdout and stderr, or floods them. A harness that takes EOF on the
// job's pipes for its end would stop waiting (and kill, or report) too early; one that keeps all
// the job writes grows without bound (the harness's memory is the host's); one that stops reading
// blocks the job forever. Output is captured up to the limit and drained beyond it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { FIXTURES, describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';
import { ADVERSARIAL, fixtureVolumes, removeDir, tempDir } from './helpers.js';

const MiB = 1024 * 1024;

describeSandbox('adversarial: closing or flooding stdout and stderr', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('stdio');
  });
  afterAll(() => removeDir(dir));

  it('a job that closes both streams runs to its end and is reported as such', async () => {
    const result = await runJob({
      command: ['sh', path.join(ADVERSARIAL, 'close-stdio.sh')],
      workdir: dir,
      volumes: fixtureVolumes(),
      timeout: '10s',
    });
    expect(result.status, result.reason).toBe('passed');
    expect(result.wallMs).toBeGreaterThanOrEqual(400);
    expect(fs.readFileSync(path.join(dir, 'closed-stdio.mark'), 'utf8')).toBe('done\n');
    expect(result.stdout).toBe('');
    attack('close stdout and stderr', 'contained');
    await expectNoLeftovers();
  });

  it('a job that floods both streams at once is capped, drained and ends; the harness stays small', async () => {
    const script = `node ${path.join(FIXTURES, 'output-flood.js')} 64 & node ${path.join(FIXTURES, 'output-flood.js')} 64 stderr & wait`;
    const rssBefore = process.memoryUsage().rss;
    const result = await runJob({ command: ['sh', '-c', script], outputLimit: '64k', timeout: '20s' });
    const grown = process.memoryUsage().rss - rssBefore;
    expect(result.status, result.reason).toBe('passed');
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderrTruncated).toBe(true);
    for (const text of [result.stdout, result.stderr]) {
      expect(text.length).toBeLessThan(64 * 1024 + 200);
      // every byte was read (the job was never blocked): what was kept and what was counted add up
      const dropped = Number(/output truncated: (\d+) more bytes not kept\]\n$/.exec(text)?.[1]);
      expect(dropped).toBe(64 * MiB - 64 * 1024);
    }
    // 128 MiB went through; the harness kept 2 × 64 KiB of it (RSS is coarse: buffers come and go)
    expect(grown).toBeLessThan(64 * MiB);
    attack('flood stdout and stderr', 'contained');
    await expectNoLeftovers();
  });
});
