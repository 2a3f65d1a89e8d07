// The v2 set, run inside the guests of test/v2/vm/run.sh (see .ci/run): emulated, so long timeouts.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/v2/**/*.guest.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
