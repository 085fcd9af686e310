import { defineConfig } from "vitest/config";

// One suite, two backends: `pnpm test` (embedded) and `PARLEY_TEST_REAL=1 pnpm test`.
// Browser tests have their own config (tests/vitest.browser.config.ts).
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "services/*/test/**/*.test.ts", "tests/e2e/**/*.test.ts", "tests/distributed/**/*.test.ts", "tests/chaos/**/*.test.ts"],
    // `make test` runs the chaos suite on its own (test-chaos): it wants the machine to itself.
    exclude: process.env.PARLEY_SKIP_CHAOS === "1" ? ["tests/chaos/**", "**/node_modules/**"] : ["**/node_modules/**"],
    // Builds dist/ for the distributed tests (real backends only).
    globalSetup: ["tests/distributed/support/global-build.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores: more workers only add contention (PGlite and argon2 are CPU bound).
    maxWorkers: 2,
    reporters: ["default"],
  },
});
