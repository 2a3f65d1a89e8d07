// Attack: the workdir's `.git` and `node_modules/.bin` are read-only under the default overlay (the
// host runs what is there next: a git hook at the next commit, a bin at the next `npx`). A writable
// volume of the workdir's parent shows the same files a second time, at another path. A job that
// writes them there must meet the same read-only binds, and a rename of their parents the same pins.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runJob } from '../../harness/run-job.js';
import { describeSandbox } from '../support/sandbox.js';
import { attack, expectNoLeftovers } from '../support/tally.js';

// outside /tmp: the job's own /tmp hides the host's, and the workdir must be the host's
let parent: string;
let work: string;
/** Where the volume shows `parent` inside the job: a directory of the host's, so it exists there. */
let view: string;
const HOOK = 'pre-commit';
const BIN = 'tool';

beforeAll(() => {
  parent = fs.mkdtempSync('/var/tmp/rf-project-volume-');
  view = `${parent}-view`;
  fs.mkdirSync(view);
  work = path.join(parent, 'proj');
  fs.mkdirSync(path.join(work, '.git', 'hooks'), { recursive: true });
  fs.mkdirSync(path.join(work, 'node_modules', '.bin'), { recursive: true });
  fs.writeFileSync(path.join(work, 'node_modules', '.bin', BIN), '#!/bin/sh\necho genuine\n', {
    mode: 0o755,
  });
});

afterAll(() => {
  for (const dir of [parent, view]) fs.rmSync(dir, { recursive: true, force: true });
});

describeSandbox('adversarial: the project through a volume of its parent', () => {
  it('a hook and a bin written through the volume fail with EROFS; the host has neither', async () => {
    const there = `${view}/proj`;
    const result = await runJob(
      {
        command: [
          'sh',
          '-c',
          `echo 'echo pwned' > ${there}/.git/hooks/${HOOK}; echo 'echo pwned' > ${there}/node_modules/.bin/${BIN}; ` +
            `mv ${there}/node_modules ${there}/moved; echo done`,
        ],
        workdir: work,
        volumes: [`${parent}:${view}`],
        memory: '256m',
      },
      { warn: false },
    );
    expect(result.status, result.stderr).toBe('passed');
    expect(result.stdout).toBe('done\n');
    expect(result.stderr).toMatch(new RegExp(`${HOOK}: Read-only file system`));
    expect(result.stderr).toMatch(new RegExp(`${BIN}: Read-only file system`));
    expect(result.stderr).toMatch(/mv: .*busy/i);
    expect(fs.existsSync(path.join(work, '.git', 'hooks', HOOK))).toBe(false);
    expect(fs.readFileSync(path.join(work, 'node_modules', '.bin', BIN), 'utf8')).toBe(
      '#!/bin/sh\necho genuine\n',
    );
    expect(fs.existsSync(path.join(work, 'moved'))).toBe(false);
    await expectNoLeftovers();
    attack("write the workdir's hooks and bins through a volume of its parent", 'contained');
  });

  it('the rest of the project stays writable through the volume', async () => {
    const result = await runJob(
      {
        command: ['sh', '-c', `echo made > ${view}/proj/new.txt`],
        workdir: work,
        volumes: [`${parent}:${view}`],
        memory: '256m',
      },
      { warn: false },
    );
    expect(result.status, result.stderr).toBe('passed');
    expect(fs.readFileSync(path.join(work, 'new.txt'), 'utf8')).toBe('made\n');
    await expectNoLeftovers();
  });
});
