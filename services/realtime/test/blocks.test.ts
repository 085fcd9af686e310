/**
 * Blocks over real connections: with A blocking B, every path from B to A is
 * either refused with the documented code or never reaches A's socket. Each
 * "never reaches" is asserted against a control that travels the same path
 * and does arrive (a co-member's socket on the same node), so the absence is
 * not just slowness.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { FriendEventKind } from "@parley/gen/parley/realtime/v1/frames_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, waitFor } from "@parley/platform/testing";
import { blockedByKey, blockersOfKey } from "../src/store/blocks.js";
import { send, startEdgeHarness, synced, type Account, type EdgeHarness } from "./harness.js";

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe("blocks reach no path from the blocked user to the blocker", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness();
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  /** Both projections (chat's in Postgres, the edge's in the EphemeralStore) hold the block. */
  async function blockEverywhere(blocker: Account, blocked: Account, dm: string): Promise<void> {
    await blocker.friends.blockUser({ userId: blocked.id });
    await waitFor(async () => (await codeOf(send(blocker, dm, "probe"))) === Code.PermissionDenied, { timeoutMs: 20_000 });
    const keys = [blockedByKey(blocker.id), blockersOfKey(blocked.id)];
    await waitFor(async () => {
      const sets = await h.deps.ephemeral.setMembersMany(keys);
      return sets.get(keys[0]!)?.includes(blocked.id) === true && sets.get(keys[1]!)?.includes(blocker.id) === true;
    }, { timeoutMs: 20_000 });
  }

  it("send, reply, forward, edit, delete and read receipts in the direct chat; typing and presence in a shared group", async () => {
    const [owner, a, b, c] = [await h.account("own"), await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    for (const m of [a, b, c]) await h.befriend(owner, m);
    const dm = await h.direct(a, b);
    const group = await h.group(owner, [a, b, c]);
    const fromB = await send(b, dm.id, "before the block");
    const fromA = await send(a, dm.id, "unread by b");
    const inGroup = await send(b, group.id, "group message to forward");

    const [ra, rb, rc] = [h.connect(a), h.connect(b), h.connect(c)];
    await Promise.all([synced(ra), synced(rb), synced(rc)]);
    // a and c view the group: both get its members' presence.
    ra.client.subscribePresence(group.id);
    rc.client.subscribePresence(group.id);
    await waitFor(() => ra.presence.some((p) => p.userId === b.id) && rc.presence.some((p) => p.userId === b.id));

    await blockEverywhere(a, b, dm.id);
    const mark = { a: { ...lengths(ra) }, b: { ...lengths(rb) } };

    // Writes into the direct chat: refused with the same code as send, and nothing reaches a.
    const refused: Array<[string, () => Promise<unknown>]> = [
      ["send", () => send(b, dm.id, "after the block")],
      ["reply", () => b.messages.sendMessage({ conversationId: dm.id, clientMessageId: randomUUID(), text: "reply", replyToMessageId: fromB.id })],
      ["forward", () => b.messages.sendMessage({ conversationId: dm.id, clientMessageId: randomUUID(), forwardMessageId: inGroup.id })],
      ["edit", () => b.messages.editMessage({ messageId: fromB.id, text: "edited after the block" })],
      ["delete", () => b.messages.deleteMessage({ messageId: fromB.id })],
    ];
    for (const [what, call] of refused) expect(await codeOf(call()), what).toBe(Code.PermissionDenied);
    // The blocker is refused too: a block ends the direct chat both ways.
    expect(await codeOf(a.messages.editMessage({ messageId: fromA.id, text: "x" }))).toBe(Code.PermissionDenied);

    // Read receipt: b's own devices hear of it (control), a does not.
    await b.messages.markRead({ conversationId: dm.id, seq: fromA.seq });
    await waitFor(() => rb.readReceipts.some((r) => r.conversationId === dm.id && r.userId === b.id && r.readSeq === fromA.seq));

    // Typing in the shared group: c gets it (control), a does not.
    expect(rb.client.sendTyping(group.id)).toBe(true);
    await waitFor(() => rc.typing.some((t) => t.userId === b.id && t.conversationId === group.id));

    // Presence: b goes offline; c (viewing the group, not b's friend) sees it, a does not.
    const cFrom = rc.presence.length;
    rb.close();
    await waitFor(() => rc.presence.slice(cFrom).some((p) => p.userId === b.id && !p.online));

    // A message in the group after all of the above reaches a: everything before it was delivered.
    const control = await send(c, group.id, "control");
    await waitFor(() => ra.messages.some((m) => m.id === control.id));

    // (a's own probes from blockEverywhere may still be arriving: only b's messages matter.)
    expect(ra.messages.slice(mark.a.messages).filter((m) => m.senderId === b.id)).toEqual([]);
    expect(ra.edited.slice(mark.a.edited)).toEqual([]);
    expect(ra.deleted.slice(mark.a.deleted)).toEqual([]);
    expect(ra.readReceipts.slice(mark.a.readReceipts).filter((r) => r.userId === b.id)).toEqual([]);
    expect(ra.typing.slice(mark.a.typing).filter((t) => t.userId === b.id)).toEqual([]);
    expect(ra.presence.slice(mark.a.presence).filter((p) => p.userId === b.id)).toEqual([]);
    // And the blocked side hears nothing of the blocker's typing either.
    const rb2 = h.connect(b);
    await synced(rb2);
    expect(ra.client.sendTyping(group.id)).toBe(true);
    await waitFor(() => rc.typing.some((t) => t.userId === a.id));
    const control2 = await send(c, group.id, "control 2");
    await waitFor(() => rb2.messages.some((m) => m.id === control2.id));
    expect(rb2.typing.filter((t) => t.userId === a.id)).toEqual([]);
    expect(ra.errors).toEqual([]);
  }, 60_000);

  it("JoinByInvite answers a user the inviting admin blocked like an unknown code; friend requests and search hide the blocker", async () => {
    const [a, b, c] = [await h.account("a"), await h.account("b"), await h.account("c")];
    await h.befriend(a, b);
    await h.befriend(a, c);
    const dm = await h.direct(a, b);
    const group = await h.group(a, [c]);
    const { invite } = await a.conversations.createInvite({ conversationId: group.id });
    const ra = h.connect(a);
    await synced(ra);
    await blockEverywhere(a, b, dm.id);
    const mark = lengths(ra);

    const join = await b.conversations.joinByInvite({ code: invite!.code }).catch((e: unknown) => ConnectError.from(e));
    expect(join).toMatchObject({ code: Code.NotFound, rawMessage: "invite not found" });
    const unknown = await b.conversations.joinByInvite({ code: "no-such-invite-code" }).catch((e: unknown) => ConnectError.from(e));
    expect(unknown).toMatchObject({ code: Code.NotFound, rawMessage: "invite not found" });
    const request = await b.friends.sendFriendRequest({ target: { case: "username", value: a.username } }).catch((e: unknown) => ConnectError.from(e));
    expect(request).toMatchObject({ code: Code.NotFound, rawMessage: "user not found" });
    expect(await codeOf(a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } }))).toBe(Code.PermissionDenied);

    // Nothing of it reached a: a control that joins by the same invite does.
    const d = await h.account("d");
    await d.conversations.joinByInvite({ code: invite!.code });
    await waitFor(() => ra.conversations.length > mark.conversations);
    expect(ra.conversations.slice(mark.conversations).map((c) => c.conversation?.members.map((m) => m.userId).sort())).toEqual([
      [a.id, c.id, d.id].sort(),
    ]);
    expect(ra.friends.slice(mark.friends).filter((f) => f.kind === FriendEventKind.REQUEST_RECEIVED)).toEqual([]);

    // Search: the blocked user finds the blocker neither by name nor by address; the blocker finds them.
    const users = (token: string) =>
      createClient(UserService, createConnectTransport({ baseUrl: h.server.baseUrl, httpVersion: "1.1", interceptors: [bearer(token)] }));
    expect((await users(b.accessToken).searchUsers({ query: a.username })).users.map((u) => u.id)).not.toContain(a.id);
    expect((await users(b.accessToken).searchUsers({ query: `${a.username}@example.com` })).users).toEqual([]);
    expect((await users(a.accessToken).searchUsers({ query: b.username })).users.map((u) => u.id)).toContain(b.id);
  }, 60_000);
});

function lengths(r: {
  messages: unknown[];
  edited: unknown[];
  deleted: unknown[];
  readReceipts: unknown[];
  typing: unknown[];
  presence: unknown[];
  conversations: unknown[];
  friends: unknown[];
}) {
  return {
    messages: r.messages.length,
    edited: r.edited.length,
    deleted: r.deleted.length,
    readReceipts: r.readReceipts.length,
    typing: r.typing.length,
    presence: r.presence.length,
    conversations: r.conversations.length,
    friends: r.friends.length,
  };
}
