/** OpenDirect: the one 1-1 conversation per pair of friends. */
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Conversation } from "@parley/gen/parley/chat/v1/conversation_pb";
import { transactionPublishing } from "@parley/platform";
import type { ChatContext } from "../context.js";
import { enqueueConversationEvent } from "../events/publish.js";
import { chatEvents } from "../events/subjects.js";
import { findDirect } from "../store/conversations.js";
import { conversations, members } from "../store/schema.js";
import { blockedEitherWay, friendsAmong } from "../store/social-graph.js";
import { invalid } from "../validation.js";
import { conversationFor, conversationForEvent } from "./views.js";

export async function openDirect(ctx: ChatContext, me: string, other: string): Promise<Conversation> {
  if (other === me) throw invalid("user_id must be another user");
  if (!(await friendsAmong(ctx.db, me, [other])).has(other)) {
    throw new ConnectError("you can only open a direct conversation with a friend", Code.FailedPrecondition);
  }
  if (await blockedEitherWay(ctx.db, me, other)) {
    throw new ConnectError("you can't message this user", Code.PermissionDenied);
  }
  const [lo, hi] = me < other ? [me, other] : [other, me];
  const existing = await findDirect(ctx.db, lo, hi);
  if (existing !== undefined) return conversationFor(ctx.db, existing, me);

  const row = await transactionPublishing(ctx.db, ctx.events, async (tx, publisher) => {
    const now = new Date();
    // A concurrent OpenDirect for the same pair waits on the unique index and
    // then does nothing; the re-read below finds its committed row.
    const [created] = await tx
      .insert(conversations)
      .values({ id: randomUUID(), kind: "direct", directLo: lo, directHi: hi, createdBy: me, createdAt: now, lastActivityAt: now, memberCount: 2 })
      .onConflictDoNothing({ target: [conversations.directLo, conversations.directHi] })
      .returning();
    if (created === undefined) {
      const winner = await findDirect(tx, lo, hi);
      if (winner === undefined) throw new Error("direct conversation conflict without a row");
      return winner;
    }
    await tx.insert(members).values([
      { conversationId: created.id, userId: me, role: "member", joinedAt: now },
      { conversationId: created.id, userId: other, role: "member", joinedAt: now },
    ]);
    const { conversation, memberIds } = await conversationForEvent(tx, created);
    await enqueueConversationEvent(tx, publisher, chatEvents.conversationCreated, {
      conversation,
      actorId: me,
      changedUserIds: memberIds,
      recipientIds: memberIds,
    });
    return created;
  });
  return conversationFor(ctx.db, row, me);
}
