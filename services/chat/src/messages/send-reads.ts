/**
 * Group reads for SendMessage. Every send reads its conversation's state
 * first (retry lookup, access checks, head). A read issued while fewer than
 * MAX_READS_IN_FLIGHT are in flight goes out at once, alone; the ones that
 * arrive meanwhile wait and go out together as ONE statement
 * (`readSendStates`) when a slot frees. So a quiet server adds no latency
 * and a busy one makes one round trip (and one socket write) for many sends,
 * as the writes do (send-batches.ts).
 */
import type { Database } from "@parley/platform";
import type { Registry } from "prom-client";
import { batchHistogram } from "./batch-metrics.js";
import { readSendStates, type SendState, type SendStateRequest } from "../store/messages.js";

/** Reads at once; the next batch forms while these are in flight. */
const MAX_READS_IN_FLIGHT = 2;

/** A statement carries at most this many reads (6 parameters each). */
const MAX_READ_BATCH = 200;

export interface SendReads {
  read(request: SendStateRequest): Promise<SendState>;
}

interface QueuedRead {
  request: SendStateRequest;
  resolve(state: SendState): void;
  reject(error: unknown): void;
}

export function createSendReads(db: Database, metrics: Registry): SendReads {
  const batchSize = batchHistogram(
    metrics,
    "chat_send_read_batch_sends",
    "SendMessage reads per read statement (reads arriving while others are in flight share one)",
  );
  const waiting: QueuedRead[] = [];
  let inFlight = 0;

  function pump(): void {
    while (inFlight < MAX_READS_IN_FLIGHT && waiting.length > 0) {
      const batch = waiting.splice(0, MAX_READ_BATCH);
      inFlight += 1;
      batchSize.observe(batch.length);
      readSendStates(
        db,
        batch.map((q) => q.request),
      )
        .then(
          (states) => batch.forEach((q, i) => q.resolve(states[i]!)),
          (error: unknown) => batch.forEach((q) => q.reject(error)),
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  }

  return {
    read(request) {
      const state = new Promise<SendState>((resolve, reject) => waiting.push({ request, resolve, reject }));
      pump();
      return state;
    },
  };
}
