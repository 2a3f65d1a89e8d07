// The contender in bench/vitest-pool.ts: the ringfence pool, a fresh sandbox per file, its defaults.
import { defineConfig } from 'vitest/config';
import { ringfence } from 'ringfence/vitest';

export default defineConfig({
  test: {
    pool: ringfence(),
    isolate: true,
    include: ['*.test.ts'],
    maxWorkers: 2,
    coverage: { enabled: false },
  },
});
