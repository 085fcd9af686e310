/**
 * A group has at most MAX_GROUP_MEMBERS members (the contract's limit): past
 * it, AddMembers and JoinByInvite answer failed_precondition and change
 * nothing, so no membership event can outgrow what the broker accepts. The
 * group is filled by writing member rows directly (999 friendships through
 * events would only slow the test down).
 */
import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_GROUP_MEMBERS } from "../src/conversations/groups.js";
import { refreshMemberCount } from "../src/store/conversations.js";
import { members } from "../src/store/schema.js";
import { befriendAll, startChat, type ChatHarness } from "./harness.js";
import { codeOf } from "./util.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

describe("group size limit", () => {
  it(`a full group (${MAX_GROUP_MEMBERS} members) refuses AddMembers and JoinByInvite with failed_precondition and writes nothing`, async () => {
    const [admin, first, latecomer, joiner] = [await h.user(), await h.user(), await h.user(), await h.user()];
    await befriendAll(h, admin, [first, latecomer]);
    const id = (await admin.conversations.createGroup({ title: "full", memberIds: [first.id] })).conversation!.id;
    const { invite } = await admin.conversations.createInvite({ conversationId: id });
    const db = h.platform.deps.database.db;
    await db.transaction(async (tx) => {
      const filler = Array.from({ length: MAX_GROUP_MEMBERS - 2 }, () => ({
        conversationId: id,
        userId: randomUUID(),
        role: "member" as const,
        joinedAt: new Date(),
      }));
      await tx.insert(members).values(filler);
      await refreshMemberCount(tx, id);
    });
    const count = () => h.rows(members, eq(members.conversationId, id));
    expect(await count()).toBe(MAX_GROUP_MEMBERS);

    const add = admin.conversations.addMembers({ conversationId: id, userIds: [latecomer.id] });
    expect(await codeOf(add)).toBe(Code.FailedPrecondition);
    const join = joiner.conversations.joinByInvite({ code: invite!.code });
    expect(await codeOf(join)).toBe(Code.FailedPrecondition);
    expect(await count()).toBe(MAX_GROUP_MEMBERS);

    // One seat free again: both paths work up to the limit, not before it.
    await admin.conversations.removeMember({ conversationId: id, userId: first.id });
    expect((await joiner.conversations.joinByInvite({ code: invite!.code })).conversation?.memberCount).toBe(MAX_GROUP_MEMBERS);
    expect(await codeOf(admin.conversations.addMembers({ conversationId: id, userIds: [latecomer.id] }))).toBe(Code.FailedPrecondition);
    expect(await count()).toBe(MAX_GROUP_MEMBERS);
  }, 60_000);
});
