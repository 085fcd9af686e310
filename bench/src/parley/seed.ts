/**
 * Seeds chat's tables for the history scenario, straight in SQL with generate_series: going
 * through SendMessage would take hours for millions of rows. Runs after chat has migrated, so
 * the tables (and their indexes, which the inserts maintain) are exactly chat's.
 * Half the messages go to one conversation (deep paging), the rest are spread over the others.
 */
import { openDatabase, createLogger } from "@parley/platform";
import type { HistorySeed } from "../scenarios/history.js";

export async function seedHistory(databaseUrl: string, readerId: string, messages: number, conversations: number): Promise<HistorySeed> {
  const started = Date.now();
  const handle = await openDatabase({ url: databaseUrl, dataDir: "memory", logger: createLogger("warn") });
  const db = handle.db;
  const c = Math.max(2, Math.floor(conversations));
  const big = Math.floor(messages / 2);
  const rest = messages - big;
  // Deterministic ids from md5 so the seed needs no round trips; ids never collide with
  // server-made ones (those are random v4 UUIDs).
  const conv = (expr: string) => `md5('bench-conv-' || (${expr}))::uuid`;
  if (!/^[0-9a-f-]{36}$/.test(readerId)) throw new Error("reader id must be a uuid");
  const r = `'${readerId}'::uuid`;
  try {
    await db.execute(`
      INSERT INTO chat.conversations (id, kind, title, created_by, created_at, last_activity_at, last_seq, member_count)
      SELECT ${conv("i")}, 'group', 'bench ' || i, ${r}, now() - interval '2 days',
             now() - make_interval(secs => i), 0, 1
      FROM generate_series(0, ${c - 1}) AS i`);
    await db.execute(`
      INSERT INTO chat.members (conversation_id, user_id, role, joined_at, read_seq)
      SELECT ${conv("i")}, ${r}, 'admin', now() - interval '2 days', 0
      FROM generate_series(0, ${c - 1}) AS i`);
    await db.execute(`
      INSERT INTO chat.messages (conversation_id, seq, id, sender_id, client_message_id, text, created_at)
      SELECT ${conv("0")}, s, md5('bench-msg-0-' || s)::uuid, ${r}, 'seed-0-' || s,
             'seeded history message number ' || s, now() - interval '2 days' + make_interval(secs => s / 1000.0)
      FROM generate_series(1, ${big}) AS s`);
    if (rest > 0) {
      await db.execute(`
        INSERT INTO chat.messages (conversation_id, seq, id, sender_id, client_message_id, text, created_at)
        SELECT ${conv(`1 + i % ${c - 1}`)}, 1 + i / ${c - 1}, md5('bench-msg-r-' || i)::uuid, ${r}, 'seed-r-' || i,
               'seeded message ' || i, now() - interval '1 day' + make_interval(secs => i / 1000.0)
        FROM generate_series(0, ${rest - 1}) AS i`);
    }
    await db.execute(`
      UPDATE chat.conversations c SET last_seq = m.mx
      FROM (SELECT conversation_id, max(seq) AS mx FROM chat.messages GROUP BY conversation_id) m
      WHERE c.id = m.conversation_id`);
    // Fresh statistics, as a database that grew to this size would have.
    await db.execute("ANALYZE chat.conversations");
    await db.execute("ANALYZE chat.members");
    await db.execute("ANALYZE chat.messages");
    const idRows = await db.execute(`SELECT ${conv("0")}::text AS id`);
    const first: unknown = (idRows as unknown as { rows?: Array<{ id: string }> }).rows?.[0]?.id;
    if (typeof first !== "string") throw new Error("seed: could not read back the big conversation id");
    return { readerId, bigConversationId: first, bigConversationMessages: big, seedSeconds: (Date.now() - started) / 1000 };
  } finally {
    await handle.close();
  }
}

/** Creates (or drops) a scratch database next to `adminUrl`'s; returns its URL. */
export async function scratchDatabase(adminUrl: string, name: string, action: "create" | "drop"): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error("database name must be [a-z0-9_]");
  const handle = await openDatabase({ url: adminUrl, dataDir: "memory", logger: createLogger("warn") });
  try {
    if (action === "create") await handle.db.execute(`CREATE DATABASE ${name}`);
    else await handle.db.execute(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await handle.close();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
