import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationService } from "@parley/gen/parley/chat/v1/conversation_pb";
import { conversations, invites, members, messages } from "../src/store/schema.js";
import { befriendAll, startChat, type ChatHarness } from "./harness.js";
import { codeOf } from "./util.js";

let h: ChatHarness;
beforeAll(async () => {
  h = await startChat();
});
afterAll(async () => {
  await h?.close();
});

describe("access", () => {
  it("a non-member gets not_found everywhere and changes nothing", async () => {
    const [admin, member, outsider] = [await h.user(), await h.user(), await h.user()];
    await befriendAll(h, admin, [member]);
    const id = (await admin.conversations.createGroup({ title: "private", memberIds: [member.id] })).conversation!.id;
    const message = (await member.messages.sendMessage({ conversationId: id, clientMessageId: randomUUID(), text: "secret" })).message!;
    const invite = (await admin.conversations.createInvite({ conversationId: id })).invite!;
    const counts = async () => [conversations, members, messages, invites].map((t) => h.rows(t));
    const before = await Promise.all(await counts());

    // Thunks: a promise created early and awaited late would reject unhandled.
    const calls: [string, () => Promise<unknown>][] = [
      ["send", () => outsider.messages.sendMessage({ conversationId: id, clientMessageId: randomUUID(), text: "hi" })],
      ["list", () => outsider.messages.listMessages({ conversationId: id })],
      ["get", () => outsider.conversations.getConversation({ conversationId: id })],
      ["search", () => outsider.messages.searchMessages({ query: "secret", conversationId: id })],
      ["markRead", () => outsider.messages.markRead({ conversationId: id, seq: 1n })],
      ["createInvite", () => outsider.conversations.createInvite({ conversationId: id })],
      ["revokeInvite", () => outsider.conversations.revokeInvite({ code: invite.code })],
      ["edit", () => outsider.messages.editMessage({ messageId: message.id, text: "x" })],
      ["delete", () => outsider.messages.deleteMessage({ messageId: message.id })],
      ["addMembers", () => outsider.conversations.addMembers({ conversationId: id, userIds: [outsider.id] })],
      ["removeMember", () => outsider.conversations.removeMember({ conversationId: id, userId: member.id })],
      ["leave", () => outsider.conversations.leaveConversation({ conversationId: id })],
      ["rename", () => outsider.conversations.updateGroup({ conversationId: id, title: "mine" })],
      ["forward", () => outsider.messages.sendMessage({ conversationId: id, clientMessageId: randomUUID(), forwardMessageId: message.id })],
    ];
    for (const [name, call] of calls) expect(await codeOf(call()), name).toBe(Code.NotFound);
    expect((await outsider.messages.searchMessages({ query: "secret" })).messages).toEqual([]);
    expect((await outsider.conversations.listConversations({})).conversations).toEqual([]);
    expect(await Promise.all(await counts())).toEqual(before);
  });

  it("malformed ids are invalid_argument", async () => {
    const u = await h.user();
    for (const call of [
      () => u.conversations.getConversation({ conversationId: "1" }),
      () => u.conversations.addMembers({ conversationId: randomUUID(), userIds: ["x"] }),
      () => u.messages.listMessages({ conversationId: "" }),
      () => u.messages.editMessage({ messageId: "zzz", text: "x" }),
      () => u.messages.markRead({ conversationId: "'; drop table chat.messages; --", seq: 1n }),
      () => u.messages.searchMessages({ query: "x", conversationId: "nope" }),
    ]) {
      expect(await codeOf(call())).toBe(Code.InvalidArgument);
    }
  });

  it("calls without a valid token are unauthenticated", async () => {
    const anonymous = createClient(ConversationService, createConnectTransport({ baseUrl: h.server.baseUrl, httpVersion: "1.1" }));
    expect(await codeOf(anonymous.listConversations({}))).toBe(Code.Unauthenticated);
  });
});
