import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Most test files wait on member processes rather than compute, so two files run at once
    // even on a two-core machine (vitest's default there is one, which made the suite serial).
    maxWorkers: 2,
    // Builds dist/ once, for the member processes and CLI runs the tests start (test/support/entry.ts).
    globalSetup: ['test/global-setup.ts'],
    // A failed test prints the recent logs of the test clusters still running; records loaded
    // from disk compare with written ones by their fields.
    setupFiles: ['test/support/failure-logs.ts', 'test/support/record-equality.ts'],
  },
});
