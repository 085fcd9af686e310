/**
 * Removal from a group ends every stream of it for the removed user, on every
 * node, as the removal is delivered: presence of the group's members and
 * typing in it, both ways. The removed user's sockets are raw ones that never
 * unsubscribe by themselves (the SDK does; a modified client need not), on two
 * edge nodes. Absence is asserted against controls that arrive after the
 * removal on the same nodes: a watcher's socket on each node sees the same
 * presence change and typing signal, and a direct message reaches the removed
 * user's sockets after them. The other way too: a remaining member's subscription
 * stops watching the removed member.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationChange, type ServerFrame } from "@parley/gen/parley/realtime/v1/frames_pb";
import { waitFor } from "@parley/platform/testing";
import { AUTH_SUBPROTOCOL_PREFIX } from "@parley/sdk/realtime/codec";
import type { RealtimeModule } from "../src/index.js";
import { rawSocket, type RawSocket } from "./raw-socket.js";
import { send, startEdgeHarness, synced, type Account, type EdgeHarness, type Recorder } from "./harness.js";

describe("removal from a group, on two edge nodes", () => {
  let h: EdgeHarness;
  beforeAll(async () => {
    // Typing every 50 ms per socket, so the test needs no 1 s pauses between signals.
    h = await startEdgeHarness({ tuning: { typingMinIntervalMs: 50 } });
    await h.startNode("edge-a");
    await h.startNode("edge-b");
  }, 60_000);
  afterAll(async () => h?.close());

  const sockets: Array<{ ws: RawSocket; pump: NodeJS.Timeout }> = [];
  afterAll(() => {
    for (const s of sockets) {
      clearInterval(s.pump);
      s.ws.close();
    }
  });

  /** A raw socket past Hello that acks every data frame (so nothing is re-sent or closed 4008). */
  async function rawClient(account: Account, node: RealtimeModule): Promise<RawSocket> {
    const ws = rawSocket(h.wsUrl(node), ["parley.v1.proto", AUTH_SUBPROTOCOL_PREFIX + account.accessToken]);
    let acked = 0;
    const pump = setInterval(() => {
      const ids = ws.frames.slice(acked).flatMap((f) => (f.deliveryId > 0n ? [f.deliveryId] : []));
      acked = ws.frames.length;
      if (ids.length > 0) ws.send({ kind: { case: "ack", value: { deliveryIds: ids } } });
    }, 20);
    sockets.push({ ws, pump });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "welcome"));
    ws.send({ kind: { case: "hello", value: { cursors: {} } } });
    await waitFor(() => ws.frames.some((f) => f.kind.case === "syncComplete"));
    return ws;
  }

  const presenceOf = (frames: ServerFrame[], userId: string) =>
    frames.flatMap((f) => (f.kind.case === "presence" && f.kind.value.userId === userId ? [f.kind.value] : []));
  const typingIn = (frames: ServerFrame[], conversationId: string) =>
    frames.flatMap((f) => (f.kind.case === "typing" && f.kind.value.conversationId === conversationId ? [f.kind.value] : []));
  const removedFrom = (frames: ServerFrame[], conversationId: string) =>
    frames.some(
      (f) => f.kind.case === "conversation" && f.kind.value.change === ConversationChange.REMOVED && f.kind.value.conversation?.id === conversationId,
    );
  const saw = (r: Recorder, userId: string, online: boolean, from: number) =>
    r.presence.slice(from).some((p) => p.userId === userId && p.online === online);

  for (const how of ["RemoveMember", "LeaveConversation"] as const) {
    it(`${how}: the removed member's sockets on both nodes get no presence or typing of the group after REMOVED, and their typing stops reaching it`, async () => {
      const [owner, r, w, x] = [await h.account("own"), await h.account("r"), await h.account("w"), await h.account("x")];
      for (const m of [r, w, x]) await h.befriend(owner, m);
      const group = await h.group(owner, [r, w, x]);
      const dm = await h.direct(owner, r);
      const [nodeA, nodeB] = h.nodes as [RealtimeModule, RealtimeModule];

      // r on both nodes, viewing the group; w (the control) on both nodes, viewing it too.
      const rSockets = [await rawClient(r, nodeA), await rawClient(r, nodeB)];
      for (const ws of rSockets) ws.send({ kind: { case: "presenceSubscribe", value: { conversationId: group.id } } });
      // w also views it from a raw socket that never re-subscribes (the SDK re-subscribes on UPDATED).
      const wRaw = await rawClient(w, nodeB);
      wRaw.send({ kind: { case: "presenceSubscribe", value: { conversationId: group.id } } });
      const wSockets = [h.connect(w, { node: nodeA }), h.connect(w, { node: nodeB })];
      await Promise.all(wSockets.map((s) => synced(s)));
      for (const s of wSockets) s.client.subscribePresence(group.id);
      await waitFor(() => rSockets.every((ws) => presenceOf(ws.frames, x.id).length > 0) && wSockets.every((s) => saw(s, x.id, false, 0)));

      // Before the removal everything flows: x comes online and types (which fills x's member
      // cache with r in it), r types (which fills r's).
      const rx = h.connect(x, { node: nodeA });
      await synced(rx);
      await waitFor(() => rSockets.every((ws) => presenceOf(ws.frames, x.id).some((p) => p.online)));
      rx.client.sendTyping(group.id);
      await waitFor(() => rSockets.every((ws) => typingIn(ws.frames, group.id).length === 1));
      rSockets[0]!.send({ kind: { case: "typing", value: { conversationId: group.id } } });
      await waitFor(() => wSockets.every((s) => s.typing.some((t) => t.userId === r.id)));

      if (how === "RemoveMember") await owner.conversations.removeMember({ conversationId: group.id, userId: r.id });
      else await r.conversations.leaveConversation({ conversationId: group.id });
      await waitFor(() => rSockets.every((ws) => removedFrom(ws.frames, group.id)));
      await waitFor(() => wRaw.frames.some((f) => f.kind.case === "conversation" && f.kind.value.change === ConversationChange.UPDATED && f.kind.value.conversation?.id === group.id));
      const wRawMark = wRaw.frames.length;
      const rMarks = rSockets.map((ws) => ws.frames.length);
      const wMarks = wSockets.map((s) => ({ presence: s.presence.length, typing: s.typing.length }));

      // x types again at once (x's cache may not have heard of the removal yet): w sees it on
      // both nodes, r on neither.
      await new Promise((resolve) => setTimeout(resolve, 60));
      rx.client.sendTyping(group.id);
      await waitFor(() => wSockets.every((s, i) => s.typing.slice(wMarks[i]!.typing).some((t) => t.userId === x.id)));
      // r types again: refused by chat now (its cache entry is gone), nothing reaches w.
      rSockets[0]!.send({ kind: { case: "typing", value: { conversationId: group.id } } });
      await waitFor(() => rSockets[0]!.frames.slice(rMarks[0]).some((f) => f.kind.case === "error" && /typing/.test(f.kind.value.message)));
      // x goes offline: w sees it on both nodes.
      rx.close();
      await waitFor(() => wSockets.every((s, i) => saw(s, x.id, false, wMarks[i]!.presence)));
      // A control through r's own delivery streams on both nodes, sent after all of the above.
      const control = await send(owner, dm.id, "control");
      await waitFor(() => rSockets.every((ws) => ws.frames.some((f) => f.kind.case === "message" && f.kind.value.id === control.id)));

      rSockets.forEach((ws, i) => {
        const after = ws.frames.slice(rMarks[i]);
        expect(presenceOf(after, x.id), `presence on node ${i}`).toEqual([]);
        expect(typingIn(after, group.id), `typing on node ${i}`).toEqual([]);
      });
      for (const [i, s] of wSockets.entries()) {
        expect(s.typing.slice(wMarks[i]!.typing).filter((t) => t.userId === r.id), `r's typing on node ${i}`).toEqual([]);
      }

      // The other way: the remaining members' subscription no longer watches r. r goes offline
      // (the owner, r's friend, hears it through the router, so it has been published), then x
      // (not w's friend: only the presence watch tells w, in order after r's change) comes back;
      // w's raw socket sees x and nothing of r.
      const ro = h.connect(owner, { node: nodeA });
      await synced(ro);
      const roFrom = ro.presence.length;
      for (const ws of rSockets) ws.close();
      await waitFor(() => saw(ro, r.id, false, roFrom));
      const rx2 = h.connect(x, { node: nodeA });
      await synced(rx2);
      await waitFor(() => presenceOf(wRaw.frames.slice(wRawMark), x.id).some((p) => p.online));
      expect(presenceOf(wRaw.frames.slice(wRawMark), r.id)).toEqual([]);
      rx2.close();
      ro.close();
    }, 60_000);
  }
});
