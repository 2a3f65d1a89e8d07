// The baseline for bench/vitest-pool.ts: Vitest's built-in forks pool, a fresh process per file.
// With RINGFENCE_BENCH_TRACE set (`--trace`) each file's phases are printed for the bench.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import '../vitest-trace/main-cpu.js';

const trace = process.env.RINGFENCE_BENCH_TRACE === '1';
const traceDir = fileURLToPath(new URL('../vitest-trace/', import.meta.url));

export default defineConfig({
  test: {
    pool: 'forks',
    isolate: true,
    include: ['*.test.ts'],
    // maxWorkers: Vitest's default, or what bench/vitest-pool.ts passes as --maxWorkers
    coverage: { enabled: false },
    ...(trace
      ? { setupFiles: [`${traceDir}setup.ts`], reporters: ['default', `${traceDir}reporter.ts`] }
      : {}),
  },
});
