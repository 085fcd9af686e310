/**
 * Starts the whole product the way `make dev` does (all services, one
 * process) on free ports: embedded backends by default, or with
 * PARLEY_TEST_REAL=1 a fresh Postgres database, NATS namespace and Redis key
 * prefix on the local servers.
 */
import { randomBytes } from "node:crypto";
import { startEmbedded, type EmbeddedParley } from "@parley/embedded";
import { createTestDatabase, deleteBusNamespace, deleteRedisKeys } from "@parley/platform/testing";

export async function startParley(env: Record<string, string> = {}): Promise<EmbeddedParley> {
  const real = process.env.PARLEY_TEST_REAL === "1";
  const id = randomBytes(5).toString("hex");
  const db = real ? await createTestDatabase() : undefined;
  try {
    const parley = await startEmbedded({
      port: 0,
      wsPort: 0,
      env: {
        DATA_DIR: "memory",
        LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
        NODE_ENV: "test",
        NODE_ID: `e2e-${id}`,
        ...(db
          ? {
              DATABASE_URL: db.url,
              NATS_URL: "nats://127.0.0.1:4222",
              REDIS_URL: "redis://127.0.0.1:6379",
              BUS_NAMESPACE: `e2e_${id}`,
              REDIS_KEY_PREFIX: `e2e:${id}:`,
            }
          : { DATABASE_URL: undefined, NATS_URL: undefined, REDIS_URL: undefined }),
        ...env,
      },
    });
    return {
      ...parley,
      async close() {
        await parley.close();
        await db?.drop();
        if (db) {
          await deleteBusNamespace("nats://127.0.0.1:4222", `e2e_${id}`);
          await deleteRedisKeys("redis://127.0.0.1:6379", `e2e:${id}:`);
        }
      },
    };
  } catch (err) {
    await db?.drop();
    throw err;
  }
}
