/**
 * Periodic full copy of the social graph as `parley.identity.graph.slice`
 * events, so projections that lost an event (a dead letter nobody replayed,
 * a bug) converge again. Each slice holds at most SLICE_EDGES edges of one
 * kind in key order, small enough for one event (≈ 80 bytes an edge), and
 * says which key range it covers; consumers replace that range.
 *
 * Each slice is read under LOCK … IN SHARE MODE: writers of that table wait
 * (milliseconds) until the slice's transaction commits, and every writer that
 * committed before it is in the slice. So a live event is never older than a
 * slice that missed its change, and the consumer, applying in stream order,
 * never lets a slice undo a newer change.
 *
 * Every identity replica runs the pass on its own timer: the slices are
 * idempotent, so a second pass costs only traffic (about edges / 2,000
 * events per replica and interval).
 */
import { SocialGraphSliceEvent_Kind } from "@parley/gen/parley/identity/v1/events_pb";
import { enqueueEvent, type Database } from "@parley/platform";
import { asc, sql } from "drizzle-orm";
import type { Logger } from "@parley/platform";
import { blocks, friendships, outbox } from "../store/schema.js";
import { identityEvents } from "./publish.js";

export const SLICE_EDGES = 2_000;

interface Edge {
  first: string;
  second: string;
}

const KINDS = [
  { kind: SocialGraphSliceEvent_Kind.FRIENDSHIP, table: friendships, first: friendships.userAId, second: friendships.userBId },
  { kind: SocialGraphSliceEvent_Kind.BLOCK, table: blocks, first: blocks.blockerId, second: blocks.blockedId },
] as const;

/** Enqueues one full pass over both edge kinds; returns the number of slices. */
export async function publishGraphSlices(db: Database, sliceEdges = SLICE_EDGES): Promise<number> {
  let slices = 0;
  for (const k of KINDS) {
    let after: Edge | undefined;
    // Bounded: every round moves `after` forward, and the table is finite.
    for (;;) {
      const through: Edge | undefined = await db.transaction(async (tx) => {
        await tx.execute(sql`lock table ${k.table} in share mode`);
        const rows: Edge[] = await tx
          .select({ first: k.first, second: k.second })
          .from(k.table)
          .where(after ? sql`(${k.first}, ${k.second}) > (${after.first}::uuid, ${after.second}::uuid)` : undefined)
          .orderBy(asc(k.first), asc(k.second))
          .limit(sliceEdges);
        // A short slice is the last one: its range is open to the end.
        const end = rows.length < sliceEdges ? undefined : rows[rows.length - 1];
        await enqueueEvent(tx, outbox, identityEvents.graphSlice, {
          kind: k.kind,
          ...(after ? { after } : {}),
          ...(end ? { through: end } : {}),
          edges: rows,
        });
        return end;
      });
      slices++;
      if (!through) break;
      after = through;
    }
  }
  return slices;
}

/** Runs a pass every `intervalMs` (0 = never); the first one an interval after start. */
export function startGraphReconcile(db: Database, logger: Logger, intervalMs: number): { stop(): void } {
  if (intervalMs <= 0) return { stop() {} };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    publishGraphSlices(db)
      .then((slices) => logger.info({ slices }, "social graph slices published for projection reconcile"))
      .catch((err: unknown) => logger.error({ err }, "social graph reconcile pass failed; next interval retries"))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
