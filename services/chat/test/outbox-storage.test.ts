/**
 * Large outbox payloads (a message event lists every recipient: ~38 KB at
 * 1,000 members) are stored uncompressed: compressing a row that is deleted
 * once published cost Postgres more CPU than the rest of its write
 * (migration 0004). Small payloads stay inline.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newEventId } from "@parley/platform";
import { outbox } from "../src/store/schema.js";
import { startChat, type ChatHarness } from "./harness.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

/** Like a 1,000-member message event: repeated string recipient_ids of UUIDs compress well. */
function recipientListPayload(members: number): Uint8Array {
  const id = new TextEncoder().encode("0b6f3c1e-8d2a-4c55-9a0e-6f1d2b3c4d5e");
  const out = new Uint8Array(members * (id.length + 2));
  for (let i = 0; i < members; i++) {
    out.set([0x12, id.length], i * (id.length + 2));
    out.set(id, i * (id.length + 2) + 2);
  }
  return out;
}

describe("outbox payload storage", () => {
  it("keeps a 38 KB event uncompressed, byte for byte", async () => {
    const db = h.platform.deps.database.db;
    const payload = recipientListPayload(1_000);
    const id = newEventId();
    // Parked, so the relay leaves the row for this test to read.
    await db.insert(outbox).values({ id, subject: "parley.chat.test.storage", payload, parkedAt: new Date() });
    const result = await db.execute(
      sql`select pg_column_compression(payload) as compression, octet_length(payload) as bytes from ${outbox} where id = ${id}`,
    );
    const rows = (result as unknown as { rows: { compression: string | null; bytes: number | string }[] }).rows;
    expect(rows).toEqual([{ compression: null, bytes: payload.byteLength }]);
  });
});
