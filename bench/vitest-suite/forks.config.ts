// The baseline for bench/vitest-pool.ts: Vitest's built-in forks pool, a fresh process per file.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    isolate: true,
    include: ['*.test.ts'],
    maxWorkers: 2,
    coverage: { enabled: false },
  },
});
