import { defineConfig } from "vitest/config";

// The bench's own checks of its light clients' codecs (no servers): `pnpm --filter @parley/bench test`.
export default defineConfig({ test: { include: ["test/**/*.test.ts"], testTimeout: 10_000 } });
