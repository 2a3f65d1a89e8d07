// pinsFor (harness/job/workdir-binds.ts): which directories a job gets bound onto themselves so that
// no rename can carry a read-only path away — from every place it writes host files, mapped from
// the job's view to the host's for the lstat. On real directories; no sandbox needed.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobSpec, Volume } from '../harness/job/spec.js';
import { pinsFor } from '../harness/job/workdir-binds.js';

// outside /tmp: with --fs host the job's own /tmp hides the host's, and nothing there is pinned
let host: string;
beforeAll(() => {
  host = fs.realpathSync(fs.mkdtempSync('/var/tmp/rf-pins-'));
  fs.mkdirSync(path.join(host, 'node_modules', '@scope', 'pkg'), { recursive: true });
  fs.mkdirSync(path.join(host, 'elsewhere', 'pkg'), { recursive: true });
  fs.mkdirSync(path.join(host, 'linked'));
  fs.symlinkSync(path.join(host, 'elsewhere'), path.join(host, 'linked', 'node_modules'));
  fs.symlinkSync(host, `${host}-link`);
});
afterAll(() => {
  fs.rmSync(host, { recursive: true, force: true });
  fs.rmSync(`${host}-link`, { force: true });
});

const spec = (mode: JobSpec['fs']): JobSpec => ({ fs: mode }) as JobSpec;
const volume = (source: string, target: string, extra: Partial<Volume> = {}): Volume => ({
  source,
  target,
  readOnly: false,
  ...extra,
});

it('a writable volume: the directories below its target, checked at its source on the host', () => {
  const pins = pinsFor(spec('overlay'), [volume(host, '/mnt/p')], ['/mnt/p/node_modules/@scope/pkg']);
  expect(pins).toEqual(['/mnt/p/node_modules', '/mnt/p/node_modules/@scope']);
});

it('a volume whose source is reached through a symlink is checked through it', () => {
  const pins = pinsFor(
    spec('overlay'),
    [volume(`${host}-link`, '/mnt/p')],
    ['/mnt/p/node_modules/@scope/pkg'],
  );
  expect(pins).toEqual(['/mnt/p/node_modules', '/mnt/p/node_modules/@scope']);
});

it('the walk stops at a symlink: binding it would pin its target', () => {
  const pins = pinsFor(spec('overlay'), [volume(host, '/mnt/p')], ['/mnt/p/linked/node_modules/pkg']);
  expect(pins).toEqual(['/mnt/p/linked']);
});

it('a read-only or overlay volume, and the overlaid root, need no pins', () => {
  const readOnly = [`${host}/node_modules/@scope/pkg`];
  expect(pinsFor(spec('overlay'), [volume(host, host, { readOnly: true })], readOnly)).toEqual([]);
  expect(pinsFor(spec('overlay'), [volume(host, host, { overlay: true })], readOnly)).toEqual([]);
  expect(pinsFor(spec('overlay'), [], readOnly)).toEqual([]);
  expect(pinsFor(spec('read-only'), [], readOnly)).toEqual([]);
});

it('--fs host: every directory from the root down, except under the private /tmp', () => {
  const pins = pinsFor(spec('host'), [], [`${host}/node_modules/@scope/pkg`, '/tmp/x/node_modules/pkg']);
  const expected: string[] = [];
  for (let dir = path.join(host, 'node_modules', '@scope'); dir !== '/'; dir = path.dirname(dir))
    expected.unshift(dir);
  expect(pins).toEqual(expected);
});

it('--fs host with a volume: both places pin, each through its own view', () => {
  const pins = pinsFor(
    spec('host'),
    [volume(host, '/srv/v')],
    [`${host}/node_modules/@scope/pkg`, '/srv/v/node_modules/@scope/pkg'],
  );
  expect(pins).toContain(path.join(host, 'node_modules', '@scope'));
  expect(pins).toContain('/srv/v/node_modules/@scope');
  // the volume's target is not the host's: /srv below the root is checked on the host and stops
  expect(pins.filter((p) => p.startsWith('/srv/v/'))).toEqual([
    '/srv/v/node_modules',
    '/srv/v/node_modules/@scope',
  ]);
});

it('a path outside every place, or a place itself, pins nothing', () => {
  expect(pinsFor(spec('overlay'), [volume(host, '/mnt/p')], ['/usr/bin/node', '/mnt/p'])).toEqual([]);
});
