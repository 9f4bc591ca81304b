import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    // A hang guard, not a speed check. Worker-backed integration tests spawn real threads, and the
    // deterministic ones do a fixed amount of work whose wall time scales with the machine's load:
    // on this 2-core box with both cores busy elsewhere, explore and corpus tests took ~30 s (5-10 s
    // with one core free), so the guard sits well above that.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 10_000,
  },
});
