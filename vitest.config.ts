import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // promtool/amtool runs take a few seconds on a loaded 2-core machine
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // The same contract/fixtures through the TypeScript side and the bash side (no sandbox needed).
          name: 'contract',
          include: ['test/contract/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // one real systemd sandbox per file; the machine has 2 cores
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
