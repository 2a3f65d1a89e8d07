// isWithin decides what the protected paths and the pollution report's skip list cover: the fast path
// for absolute paths must say exactly what path.relative said, on every shape of path.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWithin } from '../harness/job/protect.js';

function byRelative(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

const PATHS = [
  '/',
  '/a',
  '/a/',
  '/a/b',
  '/a/b/',
  '/a/bc',
  '/ab',
  '/a/b/../c',
  '/a/./b',
  '//a//b',
  '/a/b/c/d',
  '/work/main',
  '/work/main/node_modules/x',
  '/work/mainly',
  '/tmp',
  '/tmp/..',
];

describe('isWithin', () => {
  it('agrees with path.relative on every pair of absolute paths', () => {
    for (const inner of PATHS)
      for (const outer of PATHS)
        expect(isWithin(inner, outer), `${inner} in ${outer}`).toBe(byRelative(inner, outer));
  });

  it('still answers for relative paths', () => {
    expect(isWithin('a/b', 'a')).toBe(true);
    expect(isWithin('ab', 'a')).toBe(false);
  });
});
