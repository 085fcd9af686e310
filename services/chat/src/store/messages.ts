/** Message queries. */
import { and, asc, desc, eq, gt, lt, sql } from "drizzle-orm";
import { executePrepared, type Database, type OutboxEvent } from "@parley/platform";
import type { TimeIdCursor } from "../cursor.js";
import { blocks, conversations, members, messages, outbox, type ConversationRow, type MessageRow } from "./schema.js";

export async function findMessage(db: Database, id: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages).where(eq(messages.id, id));
  return row;
}

export async function findByClientId(db: Database, senderId: string, clientMessageId: string): Promise<MessageRow | undefined> {
  const [row] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.senderId, senderId), eq(messages.clientMessageId, clientMessageId)));
  return row;
}

/**
 * Hands out the next seq, taking the conversation's row lock (the UPDATE
 * locks it until commit), so seqs are gap-free and the timestamp never goes
 * backwards within a conversation. Undefined if the conversation is gone.
 */
export async function nextSeq(
  tx: Database,
  conversationId: string,
): Promise<Pick<ConversationRow, "lastSeq" | "lastActivityAt"> | undefined> {
  const [row] = await tx
    .update(conversations)
    .set({
      lastSeq: sql`${conversations.lastSeq} + 1`,
      lastActivityAt: sql`greatest(clock_timestamp(), ${conversations.lastActivityAt})`,
    })
    .where(eq(conversations.id, conversationId))
    .returning({ lastSeq: conversations.lastSeq, lastActivityAt: conversations.lastActivityAt });
  return row;
}

export type NewMessage = typeof messages.$inferInsert;

export type SentMessage = Omit<NewMessage, "seq" | "createdAt"> & { seq: bigint; createdAt: Date };

/** A message as a send builds it, before a write gives it its seq and time. */
export type UnsequencedMessage = Omit<MessageRow, "seq" | "createdAt" | "search" | "editedAt" | "deleted">;

/**
 * The rest of a send, in one round trip, run after nextSeq took the row lock:
 * inserts the message if the sender is (still) a member, advances the
 * sender's read cursor to it, and reads the recipients. It must be a statement
 * of its own after the lock: a statement sees the members of the snapshot it
 * started with, so one that waited for the lock (say, behind AddMembers) would
 * miss the members that commit added. Returns undefined (nothing written) when
 * the sender is not a member.
 */
export async function insertMessageAsMember(
  tx: Database,
  m: SentMessage,
): Promise<{ row: MessageRow; memberIds: string[] } | undefined> {
  const seq = m.seq.toString();
  const result = await tx.execute(sql`
    with inserted as (
      insert into ${messages} (conversation_id, seq, id, sender_id, client_message_id, text, reply_to_message_id,
        forwarded_from_conversation_id, forwarded_from_message_id, forwarded_from_sender_id, created_at)
      select ${m.conversationId}::uuid, ${seq}::bigint, ${m.id}::uuid, ${m.senderId}::uuid, ${m.clientMessageId}, ${m.text},
        ${m.replyToMessageId ?? null}::uuid, ${m.forwardedFromConversationId ?? null}::uuid,
        ${m.forwardedFromMessageId ?? null}::uuid, ${m.forwardedFromSenderId ?? null}::uuid, ${m.createdAt.toISOString()}::timestamptz
      where exists (select 1 from ${members} where conversation_id = ${m.conversationId}::uuid and user_id = ${m.senderId}::uuid)
      returning search::text as search
    ), read_cursor as (
      update ${members} set read_seq = greatest(read_seq, ${seq}::bigint)
      where conversation_id = ${m.conversationId}::uuid and user_id = ${m.senderId}::uuid and exists (select 1 from inserted)
    )
    select inserted.search,
      (select coalesce(json_agg(user_id), '[]'::json) from ${members} where conversation_id = ${m.conversationId}::uuid)::text as member_ids
    from inserted`);
  const row = firstRow(result);
  if (row === undefined) return undefined;
  const search = row["search"];
  if (typeof search !== "string") throw new Error("unexpected row from the message insert");
  return { row: newMessageRow(m, search), memberIds: memberIdsOf(row["member_ids"], "message insert") };
}

/** The row as inserted: column defaults make a new message neither edited nor deleted. */
function newMessageRow(m: SentMessage, search: string): MessageRow {
  return {
    conversationId: m.conversationId,
    seq: m.seq,
    id: m.id,
    senderId: m.senderId,
    clientMessageId: m.clientMessageId,
    text: m.text,
    replyToMessageId: m.replyToMessageId ?? null,
    forwardedFromConversationId: m.forwardedFromConversationId ?? null,
    forwardedFromMessageId: m.forwardedFromMessageId ?? null,
    forwardedFromSenderId: m.forwardedFromSenderId ?? null,
    createdAt: m.createdAt,
    editedAt: null,
    deleted: false,
    search,
  };
}

/** `execute` is typed `unknown` over both drivers; both answer `{ rows: [...] }`. */
function firstRow(result: unknown): Record<string, unknown> | undefined {
  const rows: unknown = typeof result === "object" && result !== null ? Reflect.get(result, "rows") : undefined;
  if (!Array.isArray(rows)) throw new Error("driver returned no rows array");
  const first: unknown = rows[0];
  if (first === undefined) return undefined;
  if (typeof first !== "object" || first === null) throw new Error("driver returned a non-object row");
  return Object.fromEntries(Object.entries(first));
}

/** Read cursor only moves forward. Returns the member's read_seq afterwards. */
export async function advanceReadSeq(tx: Database, conversationId: string, userId: string, seq: bigint): Promise<bigint | undefined> {
  const [row] = await tx
    .update(members)
    .set({ readSeq: sql`greatest(${members.readSeq}, ${seq.toString()}::bigint)` })
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ readSeq: members.readSeq });
  return row?.readSeq;
}

export type ListDirectionName = "backward" | "forward";

/** One index range scan of messages' pk (conversation_id, seq); fetches limit+1 to know has_more. */
export async function pageOfHistory(
  db: Database,
  conversationId: string,
  cursorSeq: bigint,
  direction: ListDirectionName,
  limit: number,
): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
  const rows =
    direction === "forward"
      ? await db
          .select()
          .from(messages)
          .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, cursorSeq)))
          .orderBy(asc(messages.seq))
          .limit(limit + 1)
      : await db
          .select()
          .from(messages)
          .where(
            and(eq(messages.conversationId, conversationId), cursorSeq === 0n ? undefined : lt(messages.seq, cursorSeq)),
          )
          .orderBy(desc(messages.seq))
          .limit(limit + 1);
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/**
 * Full-text search (GIN on the generated tsvector) over the conversations the
 * user is currently a member of, newest first, keyset-paged on (created_at, id).
 */
export async function searchMessagesOf(
  db: Database,
  userId: string,
  query: string,
  conversationId: string | undefined,
  after: TimeIdCursor | undefined,
  limit: number,
): Promise<MessageRow[]> {
  const myConversations = db
    .select({ id: members.conversationId })
    .from(members)
    .where(eq(members.userId, userId));
  return db
    .select()
    .from(messages)
    .where(
      and(
        sql`${messages.search} @@ websearch_to_tsquery('simple', ${query})`,
        eq(messages.deleted, false),
        sql`${messages.conversationId} in ${myConversations}`,
        conversationId === undefined ? undefined : eq(messages.conversationId, conversationId),
        after === undefined
          ? undefined
          : sql`(${messages.createdAt}, ${messages.id}) < (${after.at.toISOString()}::timestamptz, ${after.id}::uuid)`,
      ),
    )
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(limit);
}

/**
 * Everything SendMessage needs to know before writing, in one round trip:
 * whether this client id was used before, the access checks (see
 * `requireSendAccess`), and the conversation's state the write will be
 * conditional on. `version` is the conversation row's xmin: every send and
 * every membership change updates that row, so an unchanged xmin means the
 * seq, the timestamp and the members read here are still current.
 */
export interface SendState {
  /** Conversation of an earlier message with this client id, if any. */
  earlierConversationId: string | undefined;
  /** Undefined when the conversation does not exist. */
  conversation: (ConversationHead & { member: boolean; blocked: boolean; replyFound: boolean }) | undefined;
}

/** Members of a conversation at one version of its row (members change only with the row). */
export type KnownMembers = Pick<ConversationHead, "version" | "memberIds">;

/** One send's read: who sends what to which conversation, and the members this process knows of it. */
export interface SendStateRequest {
  conversationId: string;
  senderId: string;
  clientMessageId: string;
  replyToMessageId: string | undefined;
  /**
   * The members this process already holds for a version of the row; when the
   * row is still that version they are not read again (a group's member list
   * is the largest part of the answer: ~40 KB at 1,000 members).
   */
  known?: KnownMembers | undefined;
}

export async function readSendState(
  db: Database,
  conversationId: string,
  senderId: string,
  clientMessageId: string,
  replyToMessageId: string | undefined,
  known?: KnownMembers,
): Promise<SendState> {
  const [state] = await readSendStates(db, [{ conversationId, senderId, clientMessageId, replyToMessageId, known }]);
  if (state === undefined) throw new Error("send state query returned no row");
  return state;
}

/**
 * The reads of several sends in ONE statement, answers in request order:
 * under load the sends that arrive while a read is in flight share the next
 * one (send-reads.ts), one round trip for all of them.
 */
export async function readSendStates(db: Database, requests: readonly SendStateRequest[]): Promise<SendState[]> {
  const values = sql.join(
    requests.map(
      (r, i) =>
        sql`(${i}::int, ${r.conversationId}::uuid, ${r.senderId}::uuid, ${r.clientMessageId}::text, ${r.replyToMessageId ?? null}::uuid, ${r.known?.version ?? ""}::text)`,
    ),
    sql`, `,
  );
  const result = await executePrepared(db, sql`
    with req (i, conversation_id, sender_id, client_message_id, reply_to_message_id, known_version) as (values ${values})
    select r.i,
      (select conversation_id from ${messages} where sender_id = r.sender_id and client_message_id = r.client_message_id)::text
        as earlier_conversation_id,
      c.id is not null as found,
      exists (select 1 from ${members} where conversation_id = c.id and user_id = r.sender_id) as member,
      (c.kind = 'direct' and exists (select 1 from ${blocks}
        where (blocker_id = c.direct_lo and blocked_id = c.direct_hi) or (blocker_id = c.direct_hi and blocked_id = c.direct_lo))) as blocked,
      (r.reply_to_message_id is null or exists (select 1 from ${messages} where id = r.reply_to_message_id and conversation_id = c.id))
        as reply_found,
      c.last_seq::text as last_seq,
      (extract(epoch from c.last_activity_at) * 1000)::float8 as last_activity_ms,
      c.xmin::text as version,
      case when c.xmin::text = r.known_version then null
        else (select coalesce(json_agg(user_id), '[]'::json) from ${members} where conversation_id = c.id)::text end as member_ids
    from req r left join ${conversations} c on c.id = r.conversation_id`);
  const byIndex = new Map(result.rows.map((row) => [Number(row["i"]), row]));
  return requests.map((request, i) => {
    const row = byIndex.get(i);
    if (row === undefined) throw new Error(`send state query returned no row for request ${i}`);
    return sendStateOf(row, request.known);
  });
}

function sendStateOf(row: Record<string, unknown>, known: KnownMembers | undefined): SendState {
  const earlier = row["earlier_conversation_id"];
  const earlierConversationId = typeof earlier === "string" ? earlier : undefined;
  if (row["found"] !== true) return { earlierConversationId, conversation: undefined };
  const memberIds = row["member_ids"] === null && known !== undefined ? known.memberIds : memberIdsOf(row["member_ids"], "send state query");
  return {
    earlierConversationId,
    conversation: {
      member: row["member"] === true,
      blocked: row["blocked"] === true,
      replyFound: row["reply_found"] === true,
      ...headOf(row, memberIds, "send state query"),
    },
  };
}

/** The `member_ids` column (json_agg of user ids, as text); throws naming the query on anything else. */
function memberIdsOf(value: unknown, query: string): string[] {
  const ids: unknown = JSON.parse(String(value));
  if (!Array.isArray(ids) || !ids.every((id): id is string => typeof id === "string")) throw new Error(`unexpected member_ids from the ${query}`);
  return ids;
}

/** A row's `version`, `last_seq` and `last_activity_ms` columns with the members, as a head. */
function headOf(row: Record<string, unknown>, memberIds: string[], query: string): ConversationHead {
  const lastActivityMs = Number(row["last_activity_ms"]);
  if (!Number.isFinite(lastActivityMs)) throw new Error(`unexpected last_activity_ms from the ${query}`);
  return { version: String(row["version"]), lastSeq: BigInt(String(row["last_seq"])), lastActivityAt: new Date(lastActivityMs), memberIds };
}

/** A conversation's state after a batch of sends committed: what the next batch's write is conditional on. */
export interface ConversationHead {
  version: string;
  lastSeq: bigint;
  lastActivityAt: Date;
  memberIds: string[];
}

/**
 * The whole write of one or more sends to a conversation in one statement,
 * so one round trip and atomic without BEGIN/COMMIT, however many messages:
 * takes the conversation's row lock, hands out the seqs (`head.lastSeq + 1 …`
 * in array order, one timestamp), inserts the messages and their outbox rows,
 * advances the senders' read cursors. Only if the conversation row is still
 * the version `head` names (`SendState.version`, or the version a previous
 * batch returned): the lock is taken with SKIP LOCKED and the xmin checked on
 * the newest version, so neither a send nor a membership change committed in
 * between, nor one in progress; then the seqs, timestamp and recipients the
 * caller computed (and encoded into the events) are exact. Returns each
 * message's search column and the row's new version (its xmin: the writing
 * transaction), or undefined, having written nothing, when the row changed or
 * is locked; the caller then sends the locking way.
 */
export async function insertMessagesIfUnchanged(
  db: Database,
  head: Pick<ConversationHead, "version" | "lastSeq">,
  batch: readonly { message: SentMessage; event: OutboxEvent }[],
): Promise<{ searches: string[]; version: string } | undefined> {
  const [written] = await insertMessageGroupsIfUnchanged(db, [{ head, batch }]);
  return written;
}

/** One conversation's part of a multi-conversation write: its head and its sends, in seq order. */
export interface MessageGroup {
  head: Pick<ConversationHead, "version" | "lastSeq">;
  batch: readonly { message: SentMessage; event: OutboxEvent }[];
}

/**
 * `insertMessagesIfUnchanged` for several conversations in ONE statement
 * (group commit across conversations: one round trip, one commit, one
 * socket write for all the sends ready at once, instead of one per
 * conversation). Each conversation is taken or left on its own condition;
 * the answer is, per group in input order, what was written or undefined for
 * a group whose row moved on (nothing of it written). A failure of the
 * statement (a duplicate client id) writes nothing of any group.
 */
export async function insertMessageGroupsIfUnchanged(
  db: Database,
  groups: readonly MessageGroup[],
): Promise<({ searches: string[]; version: string } | undefined)[]> {
  const ids = groups.map(({ batch }) => {
    const first = batch[0];
    if (!first) throw new Error("insertMessageGroupsIfUnchanged needs at least one message per group");
    return first.message.conversationId;
  });
  const heads = sql.join(
    groups.map(({ head, batch }, i) => {
      const lastSeq = (head.lastSeq + BigInt(batch.length)).toString();
      const createdAt = batch[0]!.message.createdAt.toISOString();
      return sql`(${ids[i]}::uuid, ${head.version}::text, ${head.lastSeq.toString()}::bigint, ${lastSeq}::bigint, ${createdAt}::timestamptz)`;
    }),
    sql`, `,
  );
  const sends = groups.flatMap(({ batch }) => batch);
  const rows = sql.join(
    sends.map(
      ({ message: m }) =>
        sql`(${m.conversationId}::uuid, ${m.seq.toString()}::bigint, ${m.id}::uuid, ${m.senderId}::uuid, ${m.clientMessageId}, ${m.text}, ${m.replyToMessageId ?? null}::uuid)`,
    ),
    sql`, `,
  );
  const events = sql.join(
    sends.map(
      ({ message: m, event: e }) =>
        sql`(${m.conversationId}::uuid, ${e.id}, ${e.subject}, ${Buffer.from(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength)}::bytea)`,
    ),
    sql`, `,
  );
  const result = await executePrepared(db, sql`
    with heads (id, version, last_seq, new_last_seq, created_at) as (values ${heads}
    ), locked as (
      select c.id from ${conversations} c join heads h on h.id = c.id
      where c.xmin = h.version::xid and c.last_seq = h.last_seq
      for update of c skip locked
    ), taken as (
      update ${conversations} c set last_seq = h.new_last_seq, last_activity_at = greatest(c.last_activity_at, h.created_at)
      from locked join heads h on h.id = locked.id where c.id = locked.id
      returning c.id, c.xmin::text as version
    ), batch (conversation_id, seq, id, sender_id, client_message_id, text, reply_to_message_id) as (values ${rows}
    ), inserted as (
      insert into ${messages} (conversation_id, seq, id, sender_id, client_message_id, text, reply_to_message_id, created_at)
      select b.conversation_id, b.seq, b.id, b.sender_id, b.client_message_id, b.text, b.reply_to_message_id, h.created_at
      from batch b join taken t on t.id = b.conversation_id join heads h on h.id = b.conversation_id
      returning conversation_id, seq, search::text as search
    ), read_cursor as (
      update ${members} m set read_seq = greatest(m.read_seq, sent.seq)
      from (select b.conversation_id, b.sender_id, max(b.seq) as seq from batch b join taken t on t.id = b.conversation_id group by 1, 2) sent
      where m.conversation_id = sent.conversation_id and m.user_id = sent.sender_id
    ), queued as (
      insert into ${outbox} (id, subject, payload)
      select e.id, e.subject, e.payload from (values ${events}) as e (conversation_id, id, subject, payload)
      join taken t on t.id = e.conversation_id
    )
    select t.id::text as conversation_id, t.version,
      (select coalesce(json_agg(i.search order by i.seq), '[]'::json) from inserted i where i.conversation_id = t.id)::text as searches
    from taken t`);
  const taken = new Map<string, { searches: string[]; version: string }>();
  for (const row of result.rows) {
    const version = row["version"];
    const searches: unknown = JSON.parse(String(row["searches"]));
    if (typeof version !== "string" || !Array.isArray(searches) || !searches.every((x): x is string => typeof x === "string")) {
      throw new Error("unexpected row from the batched message insert");
    }
    taken.set(String(row["conversation_id"]).toLowerCase(), { searches, version });
  }
  return groups.map(({ batch }, i) => {
    const written = taken.get(ids[i]!.toLowerCase());
    if (written !== undefined && written.searches.length !== batch.length) throw new Error("batched message insert wrote a partial group");
    return written;
  });
}

/** The row as inserted by `insertMessagesIfUnchanged`. */
export function sentMessageRow(m: SentMessage, search: string): MessageRow {
  return newMessageRow(m, search);
}

/**
 * Takes the conversation's row lock (waiting for it) and reads its head. Two
 * statements: one that waited for a lock reads with the snapshot it started
 * with, so the members are read by a second one, after the lock, to see those
 * a transaction committed while this one waited. Undefined if the
 * conversation is gone.
 */
export async function lockConversationHead(tx: Database, conversationId: string): Promise<ConversationHead | undefined> {
  const [locked] = await tx.select({ id: conversations.id }).from(conversations).where(eq(conversations.id, conversationId)).for("update");
  if (locked === undefined) return undefined;
  const row = firstRow(
    await tx.execute(sql`
      select c.last_seq::text as last_seq, (extract(epoch from c.last_activity_at) * 1000)::float8 as last_activity_ms, c.xmin::text as version,
        (select coalesce(json_agg(user_id), '[]'::json) from ${members} where conversation_id = c.id)::text as member_ids
      from ${conversations} c where c.id = ${conversationId}::uuid`),
  );
  if (row === undefined) return undefined;
  return headOf(row, memberIdsOf(row["member_ids"], "conversation head query"), "conversation head query");
}
