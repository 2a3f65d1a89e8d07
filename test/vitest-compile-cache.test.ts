// The compile cache's filler runs on the host after test files have started, so it must load none of
// the user's modules: its Node flags lose every preload (harness/vitest/compile-cache.ts). The cache
// itself is checked on Node 22 by scripts/try-vitest5.sh (fixtures/vitest-compile-cache).
import { expect, it } from 'vitest';
import { withoutPreloads } from '../harness/vitest/compile-cache.js';

it("drops every preload flag with its value from the filler's flags and keeps the rest", () => {
  const args = [
    '--import',
    './setup.mjs',
    '--max-old-space-size=200',
    '-r',
    './hook.cjs',
    '--require=./other.cjs',
    '--conditions',
    'development',
    '--loader=./loader.mjs',
    '--experimental-loader',
    './old-loader.mjs',
    '--enable-source-maps',
    '--import=./last.mjs',
  ];
  expect(withoutPreloads(args)).toEqual([
    '--max-old-space-size=200',
    '--conditions',
    'development',
    '--enable-source-maps',
  ]);
  // a flag that only starts like one is kept
  expect(withoutPreloads(['--imports-are-fine', '--required'])).toEqual(['--imports-are-fine', '--required']);
});
