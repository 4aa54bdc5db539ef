import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against sources; spawned processes run the built dist (`pnpm test` builds first).
    alias: {
      '@hydra/config': src('./packages/config/src/index.ts'),
      '@hydra/protocol': src('./packages/protocol/src/index.ts'),
      '@hydra/backplane': src('./packages/backplane/src/index.ts'),
      '@hydra/test-support': src('./packages/test-support/src/index.ts'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'deploy/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
