/**
 * (d) History on real Postgres: seeds chat's tables with generate_series (after chat migrated),
 * then times ListMessages and ListConversations pages of 50 through the public API.
 */
import type { ParleyClient } from "@parley/sdk";
import { ListDirection } from "@parley/gen/parley/chat/v1/message_pb";
import { summarize, type LatencySummary } from "../lib/stats.js";

export interface HistoryResult {
  messages: number;
  conversations: number;
  bigConversationMessages: number;
  seedSeconds: number;
  listMessagesNewest: LatencySummary;
  listMessagesRandom: LatencySummary;
  listConversationsFirst: LatencySummary;
  listConversationsDeep: LatencySummary;
}

export interface HistorySeed {
  readerId: string;
  bigConversationId: string;
  bigConversationMessages: number;
  seedSeconds: number;
}

const PAGE = 50;

async function timed(samples: number, fn: (i: number) => Promise<unknown>): Promise<LatencySummary> {
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return summarize(out);
}

export async function measureHistory(
  api: ParleyClient,
  seed: HistorySeed,
  sizes: { messages: number; conversations: number; samples: number },
): Promise<HistoryResult> {
  const conversationId = seed.bigConversationId;
  const maxSeq = seed.bigConversationMessages;
  // Warm-up: first calls pay for connection set-up and plan caching, not for the query.
  for (let i = 0; i < 10; i++) await api.messages.listMessages({ conversationId, limit: PAGE });
  const listMessagesNewest = await timed(sizes.samples, () => api.messages.listMessages({ conversationId, limit: PAGE }));
  const listMessagesRandom = await timed(sizes.samples, () =>
    api.messages.listMessages({
      conversationId,
      cursorSeq: BigInt(1 + Math.floor(Math.random() * maxSeq)),
      direction: ListDirection.BACKWARD,
      limit: PAGE,
    }),
  );
  const listConversationsFirst = await timed(sizes.samples, () => api.conversations.listConversations({ pageSize: PAGE }));
  // Walk the pages (each token from the previous answer), restarting at the end.
  let token = "";
  const listConversationsDeep = await timed(sizes.samples, async () => {
    const res = await api.conversations.listConversations({ pageSize: PAGE, pageToken: token });
    token = res.nextPageToken;
  });
  return {
    messages: sizes.messages,
    conversations: sizes.conversations,
    bigConversationMessages: seed.bigConversationMessages,
    seedSeconds: seed.seedSeconds,
    listMessagesNewest,
    listMessagesRandom,
    listConversationsFirst,
    listConversationsDeep,
  };
}
