/**
 * Deletes expired unverified accounts in the background, so their email and
 * username are free again even if nobody registers them. Each batch is one
 * transaction that deletes the rows and enqueues their `user.deleted` events.
 */
import type { Logger, PlatformDeps } from "@parley/platform";
import { enqueueUserDeleted } from "./events/publish.js";
import { deleteExpiredUnverified } from "./store/unverified-accounts.js";

const BATCH = 100;
const MAX_BATCHES_PER_TICK = 10;

export interface UnverifiedSweep {
  stop(): Promise<void>;
}

export function startUnverifiedSweep(deps: PlatformDeps, logger: Logger): UnverifiedSweep {
  const ttlSec = deps.config.emailVerificationTtlSec;
  // Often enough that an account is gone soon after its deadline, never busier than 4× a second.
  const everyMs = Math.min(60_000, Math.max(250, (ttlSec * 1000) / 4));
  let running: Promise<void> | undefined;
  let stopped = false;

  const tick = async (): Promise<void> => {
    for (let i = 0; i < MAX_BATCHES_PER_TICK && !stopped; i++) {
      const deleted = await deps.database.db.transaction(async (tx) => {
        const ids = await deleteExpiredUnverified(tx, ttlSec, BATCH);
        for (const id of ids) await enqueueUserDeleted(tx, id);
        return ids.length;
      });
      if (deleted > 0) logger.info({ deleted }, "expired unverified accounts deleted");
      if (deleted < BATCH) return;
    }
  };

  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch((err: unknown) => logger.error({ err }, "unverified-account sweep failed"))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
