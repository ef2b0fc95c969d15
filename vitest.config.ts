import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: the heavy suites (training, sweeps) must not fight each other.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
