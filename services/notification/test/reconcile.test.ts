/**
 * notification's block projection, corrupted on purpose (a block lost, a
 * block that never existed), is repaired by identity's real reconcile pass
 * (graph slices through identity's outbox and the bus), and the feed follows.
 */
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { NotificationKind } from "@parley/gen/parley/notification/v1/notification_pb";
import { publishGraphSlices } from "@parley/identity/events/graph-slices";
import { waitFor } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blocks } from "../src/store/schema.js";
import { allNotifications, befriend, createAccount, createGroup, startStack, waitForNotification, type Stack } from "./harness.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe("block projection reconcile", () => {
  it("identity's graph slices repair a corrupted block projection", async () => {
    const [owner, blocker, witness] = [await createAccount(stack, "rc_owner"), await createAccount(stack, "rc_blocker"), await createAccount(stack, "rc_witness")];
    await befriend(owner, blocker);
    await befriend(owner, witness);
    const group = await createGroup(owner, "Reconciled", [blocker, witness]);
    await blocker.clients.friends.blockUser({ userId: owner.id });
    const db = stack.tp.deps.database.db;
    const has = async (blockerId: string, blockedId: string) =>
      (await db.select().from(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)))).length === 1;
    await waitFor(() => has(blocker.id, owner.id), { timeoutMs: 10_000 });

    // Lost events: the real block gone, a ghost block witness→owner.
    await db.delete(blocks);
    await db.insert(blocks).values({ blockerId: witness.id, blockedId: owner.id });

    await publishGraphSlices(db);
    await waitFor(async () => (await has(blocker.id, owner.id)) && !(await has(witness.id, owner.id)), { timeoutMs: 15_000 });

    // The feed acts on the repaired projection: the witness hears from owner, the blocker does not.
    const { message } = await owner.clients.messages.sendMessage({ conversationId: group, clientMessageId: randomUUID(), text: "after reconcile" });
    await waitForNotification(witness, NotificationKind.NEW_MESSAGE, (n) => n.messageId === message!.id);
    expect((await allNotifications(blocker)).some((n) => n.messageId === message!.id)).toBe(false);
  }, 60_000);
});
