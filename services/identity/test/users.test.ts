import { Code } from "@connectrpc/connect";
import { UserUpdatedEventSchema } from "@parley/gen/parley/identity/v1/events_pb";
import { decodeEvent } from "@parley/platform";
import { waitFor } from "@parley/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, expectRejectedWithoutChanges, PASSWORD, startHarness, type Account, type Harness } from "./harness.js";

let h: Harness;
let me: Account;
let charlotte: Account;
let charles: Account;
let unverifiedId: string;

beforeAll(async () => {
  h = await startHarness();
  me = await createAccount(h, "searcher", "Sam Searcher");
  charlotte = await createAccount(h, "charlotte", "Charlotte Bronte");
  charles = await createAccount(h, "charles", "Charles Darwin");
  await createAccount(h, "charmaine", "Charmaine");
  await createAccount(h, "charon", "Ferryman");
  await createAccount(h, "chuck", "Chuck");
  const unverified = await h.anon.auth.register({ email: "charlie@example.com", username: "charlie", password: PASSWORD, displayName: "" });
  unverifiedId = unverified.user!.id;
});
afterAll(async () => {
  await h?.close();
});

const usernames = (users: Array<{ username: string }>) => users.map((u) => u.username);

describe("GetMe and GetUser", () => {
  it("shows the caller their email and others without it", async () => {
    expect((await me.clients.users.getMe({})).user).toMatchObject({ id: me.user.id, email: "searcher@example.com", emailVerified: true });
    const other = await me.clients.users.getUser({ userId: charlotte.user.id });
    expect(other.user).toMatchObject({ username: "charlotte", displayName: "Charlotte Bronte", email: "" });
    expect((await me.clients.users.getUser({ userId: me.user.id })).user?.email).toBe("searcher@example.com");
  });

  it("answers malformed ids with invalid_argument and unknown or unverified ones with not_found", async () => {
    await expectRejectedWithoutChanges(h, [
      [() => me.clients.users.getUser({ userId: "nope" }), Code.InvalidArgument, "user_id must be a UUID"],
      [() => me.clients.users.getUser({ userId: "" }), Code.InvalidArgument, "user_id must be a UUID"],
      [() => me.clients.users.getUser({ userId: "7d1c4a0e-0000-4000-8000-000000000000" }), Code.NotFound, "user not found"],
      [() => me.clients.users.getUser({ userId: unverifiedId }), Code.NotFound, "user not found"],
    ]);
  });
});

describe("UpdateProfile", () => {
  it("changes username and display name, emits user.updated, and the new username logs in", async () => {
    const acct = await createAccount(h, "renamer");
    const mark = h.events.length;
    const { user } = await acct.clients.users.updateProfile({ username: "Renamed", displayName: "Re Named" });
    expect(user).toMatchObject({ username: "renamed", displayName: "Re Named", email: "renamer@example.com" });
    await waitFor(() => h.events.slice(mark).some((m) => m.subject === "parley.identity.user.updated"));
    const event = decodeEvent(UserUpdatedEventSchema, h.events.slice(mark).find((m) => m.subject === "parley.identity.user.updated")!);
    expect(event.user).toMatchObject({ id: acct.user.id, username: "renamed", email: "" });
    expect((await h.anon.auth.login({ login: "renamed", password: PASSWORD })).user?.id).toBe(acct.user.id);
    // Nothing to change: the profile as it is.
    expect((await acct.clients.users.updateProfile({})).user?.username).toBe("renamed");
  });

  it("rejects taken and invalid values without changing anything", async () => {
    const update = me.clients.users.updateProfile;
    await expectRejectedWithoutChanges(h, [
      [() => update({ username: "CHARLOTTE" }), Code.AlreadyExists, "username is already taken"],
      [() => update({ username: "x" }), Code.InvalidArgument, /3-32/],
      [() => update({ username: "root" }), Code.InvalidArgument, /reserved/],
      [() => update({ username: "has space" }), Code.InvalidArgument, /only letters/],
      [() => update({ displayName: "" }), Code.InvalidArgument, /must not be empty/],
      [() => update({ displayName: "y".repeat(65) }), Code.InvalidArgument, /at most 64/],
      [() => update({ displayName: "tab\there" }), Code.InvalidArgument, /control characters/],
      [() => update({ displayName: "ok name", username: "1bad" }), Code.InvalidArgument, /start with a letter/],
    ]);
  });
});

describe("SearchUsers", () => {
  it("finds verified users by username or display-name prefix, never the caller", async () => {
    const { users } = await me.clients.users.searchUsers({ query: "Char" });
    expect(usernames(users).sort()).toEqual(["charles", "charlotte", "charmaine", "charon"]);
    expect(users.every((u) => u.email === "")).toBe(true);
    expect(usernames((await me.clients.users.searchUsers({ query: "ferry" })).users)).toEqual(["charon"]);
    expect(usernames((await me.clients.users.searchUsers({ query: "searcher" })).users)).toEqual([]);
  });

  it("finds a username with a typo and a name by a later word (trigram similarity)", async () => {
    expect(usernames((await me.clients.users.searchUsers({ query: "charlote" })).users)).toContain("charlotte");
    expect(usernames((await me.clients.users.searchUsers({ query: "darwin" })).users)).toEqual(["charles"]);
  });

  it("shows the email only for an exact address; partial addresses match nobody", async () => {
    const exact = await me.clients.users.searchUsers({ query: "Charlotte@Example.com" });
    expect(exact.users.map((u) => [u.username, u.email])).toEqual([["charlotte", "charlotte@example.com"]]);
    for (const query of ["charlotte@", "charlotte@exam", "@example.com", "example.com", "example"]) {
      const { users } = await me.clients.users.searchUsers({ query });
      expect(users.filter((u) => u.email !== ""), query).toEqual([]);
      expect(usernames(users), query).not.toContain("charlotte");
    }
    expect((await me.clients.users.searchUsers({ query: "charlie@example.com" })).users).toEqual([]);
  });

  it("pages with an opaque token and validates paging input", async () => {
    const first = await me.clients.users.searchUsers({ query: "char", pageSize: 3 });
    expect(first.users).toHaveLength(3);
    expect(first.nextPageToken).not.toBe("");
    const second = await me.clients.users.searchUsers({ query: "char", pageSize: 3, pageToken: first.nextPageToken });
    expect(second.nextPageToken).toBe("");
    expect(usernames([...first.users, ...second.users]).sort()).toEqual(["charles", "charlotte", "charmaine", "charon"]);
    await expectRejectedWithoutChanges(h, [
      [() => me.clients.users.searchUsers({ query: "char", pageToken: "garbage" }), Code.InvalidArgument, "page_token is not a page token"],
      [() => me.clients.users.searchUsers({ query: "char", pageSize: 101 }), Code.InvalidArgument, /page_size/],
      [() => me.clients.users.searchUsers({ query: "char", pageSize: -1 }), Code.InvalidArgument, /page_size/],
      [() => me.clients.users.searchUsers({ query: "  " }), Code.InvalidArgument, "query is required"],
      [() => me.clients.users.searchUsers({ query: "q".repeat(255) }), Code.InvalidArgument, /at most 254/],
    ]);
  });

  it("hides users who blocked the caller from search and GetUser", async () => {
    await charles.clients.friends.blockUser({ userId: me.user.id });
    expect(usernames((await me.clients.users.searchUsers({ query: "char" })).users)).not.toContain("charles");
    expect((await me.clients.users.searchUsers({ query: "charles@example.com" })).users).toEqual([]);
    await expectRejectedWithoutChanges(h, [[() => me.clients.users.getUser({ userId: charles.user.id }), Code.NotFound, "user not found"]]);
    // The blocker still sees the blocked user.
    expect(usernames((await charles.clients.users.searchUsers({ query: "searcher" })).users)).toEqual(["searcher"]);
  });
});
