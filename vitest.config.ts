import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // sandbox tests share two cores and the kernel's cgroup tree: run files one at a time so timing
    // assertions (CPU quota, deadlines) are not skewed by each other
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
