// The one-call file operations of native/spawn/cgfiles.c on a plain directory tree: what the cgroup
// drivers and the scratch dirs rely on — the first failure named with its errno, no file ever made
// by a write, the directories left reported and the rest removed. (On the kernel's cgroupfs they are
// exercised by test/cgroup/v1.test.ts and every sandboxed job.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  RMDIR_EACH_MAX,
  WriteEachError,
  rmdirEachNative,
  writeEachNative,
} from '../native/spawn-lib/cgfiles.js';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-cgfiles-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

it('writeEachNative writes the value into each file in order, and names the first it cannot open', async () => {
  const files = ['a', 'b', 'c'].map((n) => path.join(dir, n));
  for (const f of files) fs.writeFileSync(f, '');
  await writeEachNative(files, '4242');
  for (const f of files) expect(fs.readFileSync(f, 'utf8')).toBe('4242');

  fs.rmSync(files[1]!);
  fs.writeFileSync(files[2]!, 'untouched');
  const err: unknown = await writeEachNative(files, '7').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WriteEachError);
  expect(err).toMatchObject({ path: files[1], errno: os.constants.errno.ENOENT });
  // the missing file was not created, and the write stopped there
  expect(fs.existsSync(files[1]!)).toBe(false);
  expect(fs.readFileSync(files[2]!, 'utf8')).toBe('untouched');
  expect(fs.readFileSync(files[0]!, 'utf8')).toBe('7');
});

it('rmdirEachNative removes the empty directories, counts a missing one removed, reports the rest', async () => {
  const [empty, full, missing, alsoEmpty] = ['empty', 'full', 'missing', 'also'].map((n) =>
    path.join(dir, n),
  );
  fs.mkdirSync(empty!);
  fs.mkdirSync(full!);
  fs.writeFileSync(path.join(full!, 'left-by-the-job'), 'x');
  fs.mkdirSync(alsoEmpty!);
  expect(await rmdirEachNative([empty!, full!, missing!, alsoEmpty!])).toEqual([full]);
  expect(fs.readdirSync(dir)).toEqual(['full']);
  expect(fs.readdirSync(full!)).toEqual(['left-by-the-job']);
});

it(`rmdirEachNative takes ${RMDIR_EACH_MAX} directories, and refuses more rather than skip some`, async () => {
  const dirs = Array.from({ length: RMDIR_EACH_MAX + 1 }, (_, i) => path.join(dir, `d${i}`));
  for (const d of dirs) fs.mkdirSync(d);
  await expect(rmdirEachNative(dirs)).rejects.toThrow(RangeError);
  expect(fs.readdirSync(dir)).toHaveLength(RMDIR_EACH_MAX + 1);
  // the last one is the highest bit of the result: it too is reported when it stays
  fs.writeFileSync(path.join(dirs[RMDIR_EACH_MAX - 1]!, 'x'), '');
  expect(await rmdirEachNative(dirs.slice(0, RMDIR_EACH_MAX))).toEqual([dirs[RMDIR_EACH_MAX - 1]]);
  expect(fs.readdirSync(dir).sort()).toEqual([`d${RMDIR_EACH_MAX - 1}`, `d${RMDIR_EACH_MAX}`].sort());
});
