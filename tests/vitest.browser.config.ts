import { defineConfig } from "vitest/config";

// Browser tests: playwright-core drives Debian's Chromium (/usr/bin/chromium) against the
// embedded server, which serves the built web app. globalSetup builds web/dist first.
export default defineConfig({
  test: {
    include: ["browser/**/*.test.ts"],
    globalSetup: ["browser/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ["default"],
  },
});
