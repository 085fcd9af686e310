/**
 * NEW_MESSAGE notifications: one row per (user, conversation), updated by
 * each later message (latest message, preview, time, unread count) instead of
 * a row per message. Written in a single statement that also records the
 * source event in the inbox and skips members who blocked the sender: one
 * Postgres round trip per message with offline members, atomic on its own.
 */
import { sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import { kindName } from "./kinds.js";
import { blocks, inbox, notifications } from "./schema.js";

export interface OfflineMessage {
  /** The bus event id of chat's message.created: the inbox marker that makes a redelivery count nothing. */
  sourceEventId: string;
  consumer: string;
  senderId: string;
  conversationId: string;
  messageId: string;
  seq: bigint;
  preview: string;
  /** Members to tell; those who blocked the sender are dropped in the statement. */
  recipientIds: string[];
}

const NEW_MESSAGE = kindName(NotificationKind.NEW_MESSAGE);

/**
 * Upserts the recipients' NEW_MESSAGE rows for `m`, unless this consumer already
 * handled `m.sourceEventId`. A read row becomes unread again with a count of 1;
 * an unread one counts one more. The latest message (by seq) provides the
 * preview, so an older message redelivered late counts but does not show.
 * Returns the users whose row was written.
 */
export async function upsertMessageNotifications(db: Database, m: OfflineMessage): Promise<string[]> {
  if (m.recipientIds.length === 0) return [];
  // One array parameter, not one per member: a statement takes at most 65,535 parameters, and groups have no such cap.
  const recipients = sql.param(m.recipientIds);
  const seq = m.seq.toString();
  const now = new Date().toISOString();
  const newer = sql`excluded.message_seq > n.message_seq`;
  const result = await db.execute(sql`
    with marked as (
      insert into ${inbox} (consumer, event_id) values (${m.consumer}, ${m.sourceEventId})
      on conflict do nothing
      returning event_id
    )
    insert into ${notifications} as n (id, user_id, kind, actor_id, conversation_id, message_id, message_seq, preview,
      unread_messages, source_event_id, created_at)
    select gen_random_uuid(), r.user_id, ${NEW_MESSAGE}, ${m.senderId}, ${m.conversationId}, ${m.messageId}, ${seq}::bigint,
      ${m.preview}, 1, ${m.sourceEventId}, ${now}::timestamptz
    from unnest(${recipients}::text[]) as r(user_id)
    where exists (select 1 from marked)
      and not exists (select 1 from ${blocks} b where b.blocker_id = r.user_id and b.blocked_id = ${m.senderId})
    on conflict (user_id, conversation_id) where kind = 'new_message' do update set
      unread_messages = case when n.read_at is null then n.unread_messages + 1 else 1 end,
      read_at = null,
      created_at = greatest(n.created_at, excluded.created_at),
      actor_id = case when ${newer} then excluded.actor_id else n.actor_id end,
      message_id = case when ${newer} then excluded.message_id else n.message_id end,
      preview = case when ${newer} then excluded.preview else n.preview end,
      message_seq = greatest(n.message_seq, excluded.message_seq),
      source_event_id = excluded.source_event_id
    returning n.user_id`);
  return (result as unknown as { rows: Array<{ user_id: string }> }).rows.map((r) => r.user_id);
}
