import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const INCLUDE = [
  'packages/*/src/**/*.test.ts',
  'packages/*/test/**/*.test.ts',
  'apps/*/src/**/*.test.ts',
  'apps/*/test/**/*.test.ts',
  'deploy/test/**/*.test.ts',
  'bench/test/**/*.test.ts',
  'test/**/*.test.ts',
];
const SOLO = ['apps/gateway/test/slow-consumers.test.ts'];

export default defineConfig({
  resolve: {
    // Tests run against sources; spawned processes run the built dist (`pnpm test` builds first).
    alias: {
      '@hydra/config': src('./packages/config/src/index.ts'),
      '@hydra/protocol': src('./packages/protocol/src/index.ts'),
      '@hydra/backplane': src('./packages/backplane/src/index.ts'),
      '@hydra/metrics': src('./packages/metrics/src/index.ts'),
      '@hydra/runtime': src('./packages/runtime/src/index.ts'),
      '@hydra/stream-client': src('./packages/stream-client/src/index.ts'),
      '@hydra/test-support': src('./packages/test-support/src/index.ts'),
      '@hydra/client': src('./packages/client/src/index.ts'),
      '@hydra/demo-feed': src('./packages/demo-feed/src/index.ts'),
      '@hydra/throttle': src('./packages/throttle/src/index.ts'),
    },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Bounds the end of a worker (SIGTERM, then SIGKILL) and vitest's own close at exit. It cannot bound a
    // worker that stops answering after its last test (vitest waits for its teardown reply first, with no
    // limit): tests never block their worker synchronously for long (no sync child process without a
    // timeout), and .ci/watchdog.mjs stops a run that makes no progress.
    teardownTimeout: 10_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        extends: true,
        test: { name: 'main', include: INCLUDE, exclude: [...SOLO, '**/node_modules/**'], sequence: { groupOrder: 0 } },
      },
      {
        // Timing assertions under a hostile load (latency within 2×, cut within 6 s): run alone, after the rest,
        // so another test file's load on this 2-core box is not what they measure.
        extends: true,
        test: {
          name: 'solo',
          include: SOLO,
          sequence: { groupOrder: 1 },
          poolOptions: { forks: { maxForks: 1, minForks: 1 } },
        },
      },
    ],
  },
});
