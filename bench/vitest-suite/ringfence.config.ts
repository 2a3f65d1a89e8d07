// The contender in bench/vitest-pool.ts: the ringfence pool, a fresh sandbox per file, its defaults.
// With RINGFENCE_BENCH_TRACE set (`--trace`) each file's phases are printed for the bench.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import '../vitest-trace/main-cpu.js';
import { ringfence } from 'ringfence/vitest';

const trace = process.env.RINGFENCE_BENCH_TRACE === '1';
const traceDir = fileURLToPath(new URL('../vitest-trace/', import.meta.url));

export default defineConfig({
  test: {
    pool: ringfence(),
    isolate: true,
    include: ['*.test.ts'],
    // maxWorkers: Vitest's default, or what bench/vitest-pool.ts passes as --maxWorkers
    coverage: { enabled: false },
    ...(trace
      ? { setupFiles: [`${traceDir}setup.ts`], reporters: ['default', `${traceDir}reporter.ts`] }
      : {}),
  },
});
