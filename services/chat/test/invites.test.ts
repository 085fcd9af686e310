import { Code } from "@connectrpc/connect";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationEventSchema } from "@parley/gen/parley/chat/v1/events_pb";
import { invites, members } from "../src/store/schema.js";
import { befriendAll, startChat, type ChatHarness, type TestUser } from "./harness.js";
import { codeOf } from "./util.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

async function groupOf(admin: TestUser, others: TestUser[]): Promise<string> {
  await befriendAll(h, admin, others);
  return (await admin.conversations.createGroup({ title: "invites", memberIds: others.map((o) => o.id) })).conversation!.id;
}

describe("invites", () => {
  it("let anyone with the code join; joining twice is a no-op", async () => {
    const [admin, member, joiner] = [await h.user(), await h.user(), await h.user()];
    const id = await groupOf(admin, [member]);
    expect(await codeOf(member.conversations.createInvite({ conversationId: id }))).toBe(Code.PermissionDenied);
    const { invite } = await admin.conversations.createInvite({ conversationId: id });
    expect(invite?.code).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const weekMs = 7 * 24 * 3600 * 1000;
    const expiresMs = Number(invite!.expiresAt!.seconds) * 1000;
    expect(Math.abs(expiresMs - Date.now() - weekMs)).toBeLessThan(60_000);

    const joined = await joiner.conversations.joinByInvite({ code: invite!.code });
    expect(joined.conversation?.id).toBe(id);
    expect(joined.conversation?.memberCount).toBe(3);
    const event = await h.waitForEvent("parley.chat.conversation.members_added", ConversationEventSchema, (e) => e.conversation?.id === id);
    expect(event.changedUserIds).toEqual([joiner.id]);
    expect(event.recipientIds.sort()).toEqual([admin.id, member.id, joiner.id].sort());
    expect((await joiner.conversations.joinByInvite({ code: invite!.code })).conversation?.id).toBe(id);
    const [row] = await h.platform.deps.database.db.select().from(invites).where(eq(invites.code, invite!.code));
    expect(row?.uses).toBe(1);
  });

  it("refuse expired, revoked and used-up codes with a reason; unknown codes are not found", async () => {
    const [admin, a, b, c] = [await h.user(), await h.user(), await h.user(), await h.user()];
    const id = await groupOf(admin, []);
    const db = h.platform.deps.database.db;
    const membersBefore = await h.rows(members, eq(members.conversationId, id));

    const expired = (await admin.conversations.createInvite({ conversationId: id, ttlSeconds: 60 })).invite!;
    await db.update(invites).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(invites.code, expired.code));
    expect(await codeOf(a.conversations.joinByInvite({ code: expired.code }))).toBe(Code.FailedPrecondition);

    const revoked = (await admin.conversations.createInvite({ conversationId: id })).invite!;
    expect(await codeOf(a.conversations.revokeInvite({ code: revoked.code }))).toBe(Code.NotFound);
    await admin.conversations.revokeInvite({ code: revoked.code });
    expect(await codeOf(a.conversations.joinByInvite({ code: revoked.code }))).toBe(Code.FailedPrecondition);
    expect(await h.rows(members, eq(members.conversationId, id))).toBe(membersBefore);

    const single = (await admin.conversations.createInvite({ conversationId: id, maxUses: 1 })).invite!;
    const raced = await Promise.all([a, b].map((u) => codeOf(u.conversations.joinByInvite({ code: single.code }))));
    expect(raced.sort()).toEqual(["ok", Code.FailedPrecondition].sort());
    expect(await codeOf(c.conversations.joinByInvite({ code: single.code }))).toBe(Code.FailedPrecondition);
    expect(await h.rows(members, eq(members.conversationId, id))).toBe(membersBefore + 1);

    expect(await codeOf(a.conversations.joinByInvite({ code: "doesNotExist123" }))).toBe(Code.NotFound);
    expect(await codeOf(a.conversations.joinByInvite({ code: "bad code!" }))).toBe(Code.InvalidArgument);
    for (const bad of [{ ttlSeconds: -1 }, { ttlSeconds: 31 * 24 * 3600 }, { maxUses: -2 }]) {
      expect(await codeOf(admin.conversations.createInvite({ conversationId: id, ...bad }))).toBe(Code.InvalidArgument);
    }
  });

  it("are refused, as if unknown, to a user the creator or an admin blocked; a plain member's block does not veto", async () => {
    const [admin, coAdmin, member, blockedByAdmin, blockedByCoAdmin, blockedByMember] = [
      await h.user(), await h.user(), await h.user(), await h.user(), await h.user(), await h.user(),
    ];
    const id = await groupOf(admin, [coAdmin, member]);
    // No RPC grants admin (only the last admin's leaving promotes someone): set the role directly.
    await h.platform.deps.database.db
      .update(members)
      .set({ role: "admin" })
      .where(and(eq(members.conversationId, id), eq(members.userId, coAdmin.id)));
    const { invite } = await admin.conversations.createInvite({ conversationId: id, maxUses: 10 });
    await h.block(admin, blockedByAdmin);
    await h.block(coAdmin, blockedByCoAdmin);
    await h.block(member, blockedByMember);
    const membersBefore = await h.rows(members, eq(members.conversationId, id));
    for (const joiner of [blockedByAdmin, blockedByCoAdmin]) {
      const error = await joiner.conversations.joinByInvite({ code: invite!.code }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: Code.NotFound, rawMessage: "invite not found" });
    }
    expect(await h.rows(members, eq(members.conversationId, id))).toBe(membersBefore);
    const [row] = await h.platform.deps.database.db.select().from(invites).where(eq(invites.code, invite!.code));
    expect(row?.uses).toBe(0);
    // Groups hold members who blocked one another (blocks hide typing and presence there).
    expect((await blockedByMember.conversations.joinByInvite({ code: invite!.code })).conversation?.id).toBe(id);
    await h.unblock(admin, blockedByAdmin);
    expect((await blockedByAdmin.conversations.joinByInvite({ code: invite!.code })).conversation?.id).toBe(id);
  });

  it("are for groups only", async () => {
    const [a, b] = [await h.user(), await h.user()];
    await h.befriend(a, b);
    const direct = (await a.conversations.openDirect({ userId: b.id })).conversation!.id;
    expect(await codeOf(a.conversations.createInvite({ conversationId: direct }))).toBe(Code.FailedPrecondition);
  });
});
