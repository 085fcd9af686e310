/**
 * Notifications with the real notification service in the loop, and the
 * reconnect contract for everything resume does not replay: after a reconnect
 * the client's `synced` says `reconnect: true` and the app refetches its lists.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import { ConversationChange } from "@parley/gen/parley/realtime/v1/frames_pb";
import { waitFor } from "@parley/platform/testing";
import { startEdgeHarness, synced, type EdgeHarness } from "./harness.js";

describe("notifications", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    h = await startEdgeHarness({ notification: true });
    await h.startNode("edge-a");
  }, 60_000);
  afterAll(async () => h?.close());

  it("a friend request reaches the addressee live as a notification frame (over JSON)", async () => {
    const [a, b] = [await h.account("a"), await h.account("b")];
    const rb = h.connect(b, { protocol: "json" });
    await synced(rb);
    await a.friends.sendFriendRequest({ target: { case: "userId", value: b.id } });
    await waitFor(() => rb.notifications.length === 1);
    expect(rb.notifications[0]).toMatchObject({ kind: NotificationKind.FRIEND_REQUEST_RECEIVED, actorId: a.id });
    // The frame is the feed's row, not a copy that could drift from it.
    const { notifications } = await b.notifications.listNotifications({});
    expect(notifications.map((n) => n.id)).toEqual([rb.notifications[0]!.id]);
    expect(rb.errors).toEqual([]);
  });

  it("being added to a group while online arrives live, next to the conversation frame", async () => {
    const [owner, b] = [await h.account("owner"), await h.account("b")];
    await h.befriend(owner, b);
    const rb = h.connect(b);
    await synced(rb);
    const group = await h.group(owner, [b]);
    await waitFor(() => rb.notifications.some((n) => n.kind === NotificationKind.ADDED_TO_GROUP));
    expect(rb.notifications.find((n) => n.kind === NotificationKind.ADDED_TO_GROUP)).toMatchObject({
      actorId: owner.id,
      conversationId: group.id,
    });
    expect(rb.conversations.map((c) => [c.change, c.conversation?.id])).toContainEqual([ConversationChange.ADDED, group.id]);
  });

  it("added to a group while the socket is away: on reconnect `synced` says so, and the refetched lists have it", async () => {
    const [owner, b] = [await h.account("owner"), await h.account("b")];
    await h.befriend(owner, b);
    // A node of its own to drain, and a gate that keeps the client offline until the test opens it.
    const doomed = await h.startNode(`edge-drain-${Date.now()}`);
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let dials = 0;
    const rb = h.connect(b, {
      url: async () => {
        if (dials++ === 0) return h.wsUrl(doomed);
        await gate;
        return h.wsUrl(h.nodes[0]!);
      },
    });
    // What an app does on `synced`: refetch when it was a reconnect.
    const refetched: Array<{ notifications: NotificationKind[]; conversations: string[] }> = [];
    rb.client.on("synced", (info) => {
      if (!info.reconnect) return;
      void (async () => {
        const { notifications } = await b.notifications.listNotifications({});
        const { conversations } = await b.conversations.listConversations({});
        refetched.push({ notifications: notifications.map((n) => n.kind), conversations: conversations.map((c) => c.id) });
      })();
    });
    await synced(rb);
    expect(rb.syncs).toEqual([{ reconnect: false }]);

    await doomed.drain();
    await waitFor(() => rb.client.state === "connecting");
    const group = await h.group(owner, [b]);
    // Wait until the feed has it, so the test does not pass by racing the notification service.
    const addedToGroup = async () =>
      (await b.notifications.listNotifications({})).notifications.some((n) => n.kind === NotificationKind.ADDED_TO_GROUP);
    await waitFor(addedToGroup);
    expect(rb.notifications.filter((n) => n.kind === NotificationKind.ADDED_TO_GROUP)).toEqual([]);

    openGate();
    await synced(rb, 2);
    expect(rb.syncs).toEqual([{ reconnect: false }, { reconnect: true }]);
    await waitFor(() => refetched.length === 1);
    expect(refetched[0]!.notifications).toContain(NotificationKind.ADDED_TO_GROUP);
    expect(refetched[0]!.conversations).toContain(group.id);
  });
});
