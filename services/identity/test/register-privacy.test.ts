/**
 * Register must not tell which emails have accounts (audit item 7), and
 * accounts never verified expire and free their email and username.
 */
import { Code } from "@connectrpc/connect";
import { RegistrationAttemptedEventSchema, UserDeletedEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { decodeEvent } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { users } from "../src/store/schema.js";
import { createAccount, expectError, PASSWORD, startHarness, subjectsSince, verificationTokenFor, type Harness } from "./harness.js";

const TTL_SEC = 6;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ emailVerificationTtlSec: TTL_SEC });
});
afterAll(async () => {
  await h?.close();
});

const rowsWithEmail = (email: string) => h.db.select().from(users).where(sql`lower(${users.email}) = ${email}`);

/** Ages an account past its verification deadline without waiting for it. */
async function expire(userId: string): Promise<void> {
  await h.db
    .update(users)
    .set({ createdAt: sql`now() - make_interval(secs => ${TTL_SEC * 10}::double precision)` })
    .where(eq(users.id, userId));
}

describe("Register answers alike for new and known addresses", () => {
  it("a verified address: same answer as a new one, nothing changes, the owner is told", async () => {
    const owner = await createAccount(h, "owner.one");
    const before = await rowsWithEmail(owner.email);
    const mark = h.events.length;

    const fresh = await h.anon.auth.register({ email: "brand-new@example.com", username: "brand.new", password: PASSWORD, displayName: "" });
    const known = await h.anon.auth.register({ email: owner.email.toUpperCase(), username: "intruder", password: "another pass 42", displayName: "" });

    // The same shape: an unverified user echoing the request, with an id that is not the owner's.
    for (const [res, username] of [[fresh, "brand.new"], [known, "intruder"]] as const) {
      expect(res.user).toMatchObject({ username, displayName: username, emailVerified: false });
      expect(res.user!.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(known.user!.id).not.toBe(owner.user.id);
    expect(await rowsWithEmail(owner.email)).toEqual(before);
    await expectError(h.anon.auth.login({ login: owner.email, password: "another pass 42" }), Code.Unauthenticated);
    expect((await h.anon.auth.login({ login: owner.email, password: PASSWORD })).user!.id).toBe(owner.user.id);
    // Nobody may hold the intruder's username: nothing was written for it.
    expect(await h.db.select().from(users).where(eq(users.username, "intruder"))).toEqual([]);

    await waitFor(() => subjectsSince(h, mark).includes("parley.identity.user.registration_attempted"));
    const attempt = h.events.slice(mark).find((m) => m.subject === "parley.identity.user.registration_attempted")!;
    expect(decodeEvent(RegistrationAttemptedEventSchema, attempt)).toMatchObject({ userId: owner.user.id, email: owner.email });
  });

  it("an unverified address: the newer registration replaces the pending one (its link, password and username)", async () => {
    const email = "pending@example.com";
    const first = await h.anon.auth.register({ email, username: "squatter", password: "squatter pass 1", displayName: "" });
    const firstToken = await verificationTokenFor(h, email);
    const mark = h.events.length;
    const second = await h.anon.auth.register({ email, username: "rightful", password: PASSWORD, displayName: "" });
    const secondToken = await verificationTokenFor(h, email, { after: mark });

    expect(second.user!.id).not.toBe(first.user!.id);
    expect((await rowsWithEmail(email)).map((r) => r.username)).toEqual(["rightful"]);
    await waitFor(() => subjectsSince(h, mark).includes("parley.identity.user.deleted"));
    const deleted = h.events.slice(mark).find((m) => m.subject === "parley.identity.user.deleted")!;
    expect(decodeEvent(UserDeletedEventSchema, deleted).userId).toBe(first.user!.id);

    await expectError(h.anon.auth.verifyEmail({ token: firstToken }), Code.InvalidArgument);
    await h.anon.auth.verifyEmail({ token: secondToken });
    await expectError(h.anon.auth.login({ login: email, password: "squatter pass 1" }), Code.Unauthenticated);
    expect((await h.anon.auth.login({ login: email, password: PASSWORD })).user!.username).toBe("rightful");
    // The replaced registration's username is free again.
    await h.anon.auth.register({ email: "other-squatter@example.com", username: "squatter", password: PASSWORD, displayName: "" });
  });

  it("a taken username answers already_exists whatever the email", async () => {
    const taken = await createAccount(h, "taken.name");
    await expectError(
      h.anon.auth.register({ email: "someone-new@example.com", username: "taken.name", password: PASSWORD, displayName: "" }),
      Code.AlreadyExists,
      "username is already taken",
    );
    await expectError(
      h.anon.auth.register({ email: taken.email, username: "TAKEN.NAME", password: PASSWORD, displayName: "" }),
      Code.AlreadyExists,
      "username is already taken",
    );
    expect(await rowsWithEmail("someone-new@example.com")).toEqual([]);
  });
});

describe("unverified accounts expire", () => {
  it("Register takes the email and username of an expired unverified account at once", async () => {
    const stale = await h.anon.auth.register({ email: "stale@example.com", username: "stale.name", password: PASSWORD, displayName: "" });
    const staleToken = await verificationTokenFor(h, "stale@example.com");
    await expire(stale.user!.id);

    const byName = await h.anon.auth.register({ email: "new-owner@example.com", username: "stale.name", password: PASSWORD, displayName: "" });
    expect(byName.user!.username).toBe("stale.name");
    expect(await rowsWithEmail("stale@example.com")).toEqual([]);
    await expectError(h.anon.auth.verifyEmail({ token: staleToken }), Code.InvalidArgument);
  });

  it("ResendVerification mails nothing for an expired account", async () => {
    const old = await h.anon.auth.register({ email: "late@example.com", username: "late.comer", password: PASSWORD, displayName: "" });
    await verificationTokenFor(h, "late@example.com");
    await expire(old.user!.id);
    const mark = h.events.length;
    await h.anon.auth.resendVerification({ email: "late@example.com" });
    await new Promise((r) => setTimeout(r, 300));
    expect(subjectsSince(h, mark)).not.toContain("parley.identity.user.verification_requested");
  });

  it("the sweep deletes unverified accounts after the verification lifetime and announces it; verified ones stay", async () => {
    const kept = await createAccount(h, "kept.user");
    const mark = h.events.length;
    const gone = await h.anon.auth.register({ email: "swept@example.com", username: "swept.user", password: PASSWORD, displayName: "" });
    const token = await verificationTokenFor(h, "swept@example.com");
    // The link dies with the account: it never outlives the deadline.
    await waitFor(async () => (await rowsWithEmail("swept@example.com")).length === 0, { timeoutMs: (TTL_SEC + 10) * 1000 });
    await waitFor(() =>
      h.events
        .slice(mark)
        .some((m) => m.subject === "parley.identity.user.deleted" && decodeEvent(UserDeletedEventSchema, m).userId === gone.user!.id),
    );
    await expectError(h.anon.auth.verifyEmail({ token }), Code.InvalidArgument);
    expect(await h.db.select().from(users).where(eq(users.id, kept.user.id))).toHaveLength(1);
    // Email and username are free again.
    await h.anon.auth.register({ email: "swept@example.com", username: "swept.user", password: PASSWORD, displayName: "" });
  }, 30_000);
});
