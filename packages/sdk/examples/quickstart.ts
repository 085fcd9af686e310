/**
 * Quickstart: log in, open a chat, print incoming messages.
 *
 *   PARLEY_URL=http://localhost:8080 PARLEY_WS_URL=ws://localhost:8081/ws \
 *   PARLEY_LOGIN=alice PARLEY_PASSWORD='correct horse 42' tsx packages/sdk/examples/quickstart.ts
 *
 * Optional: PARLEY_CONVERSATION_ID (the chat to open; default the most recent one),
 * PARLEY_MAX_MESSAGES (exit 0 after that many incoming messages),
 * PARLEY_TIMEOUT_MS (give up then: exit 1 if PARLEY_MAX_MESSAGES was not reached, else 0).
 *
 * Output, one line each, for scripts: `listening` once caught up, then
 * `[<conversation id> #<seq>] <sender id>: <text>` per incoming message.
 */
import { createParleyClient, createSession, describeError, RealtimeClient } from "@parley/sdk";
import { NodeWebSocket } from "@parley/sdk/node";

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};
const maxMessages = Number(env("PARLEY_MAX_MESSAGES", "0"));
const timeoutMs = Number(env("PARLEY_TIMEOUT_MS", "0"));

const client = createParleyClient({ baseUrl: env("PARLEY_URL", "http://localhost:8080") });
const session = createSession(client);

async function main(): Promise<void> {
  await session.login(env("PARLEY_LOGIN"), env("PARLEY_PASSWORD"));

  // "Open" a chat: the one asked for, or the most recent, with its last few messages.
  const wanted = process.env.PARLEY_CONVERSATION_ID;
  const chat = wanted
    ? (await client.conversations.getConversation({ conversationId: wanted })).conversation
    : (await client.conversations.listConversations({ pageSize: 1 })).conversations[0];
  if (chat) {
    console.log(`chat ${chat.id} ${chat.title || "(direct)"}`);
    const { messages } = await client.messages.listMessages({ conversationId: chat.id, limit: 5 });
    for (const m of [...messages].reverse()) console.log(`  #${m.seq} ${m.senderId}: ${m.text}`);
  }

  // Start every known chat at its last message, so only new ones count as incoming.
  const { conversations } = await client.conversations.listConversations({ pageSize: 200 });
  const cursors = Object.fromEntries(conversations.map((c) => [c.id, c.lastSeq]));
  if (chat) cursors[chat.id] = chat.lastSeq;

  const realtime = new RealtimeClient({
    url: env("PARLEY_WS_URL", "ws://localhost:8081/ws"),
    cursors,
    getAccessToken: async () => (await session.accessToken()) ?? "",
    WebSocket: NodeWebSocket,
    messages: client.messages,
  });
  let received = 0;
  const finish = (code: number): void => {
    realtime.close();
    void session.logout().catch(() => undefined).finally(() => process.exit(code));
  };
  realtime.on("synced", () => console.log("listening"));
  realtime.on("error", (e) => console.error(`realtime: ${e.code}: ${e.message}`));
  realtime.on("message", (m) => {
    console.log(`[${m.conversationId} #${m.seq}] ${m.senderId}: ${m.text}`);
    if (maxMessages > 0 && ++received >= maxMessages) finish(0);
  });
  if (timeoutMs > 0) setTimeout(() => finish(maxMessages > 0 ? 1 : 0), timeoutMs);
}

main().catch((err: unknown) => {
  console.error(describeError(err));
  process.exit(1);
});
