// The fixture's deliberately failing cases: run only by test/fixture-teardown.test.ts, in a child
// vitest process, which asserts on each case's outcome and message.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.case.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
