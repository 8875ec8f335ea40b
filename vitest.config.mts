import { defineConfig } from 'vitest/config';

// Integration tests start real child processes (the local Functions host, Azurite) on loopback;
// two forks match the two cores these machines have.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once per run: integration tests spawn the local host on the compiled app.
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
