/**
 * People of a distributed test, made through the public SDK against one URL (nginx in front of a
 * cluster): register (verifying by mail when the cluster sends it), log in, befriend.
 */
import { createParleyClient, createSession, type ParleyClient, type Session } from "@parley/sdk";
import { waitFor } from "@parley/platform/testing";

export interface Person {
  id: string;
  username: string;
  session: Session;
  /** One client for every service: nginx routes by proto package, as the ingress does. */
  api: ParleyClient;
}

/** Reads the verification token mailed to `email` (the SMTP sink); absent when EMAIL_VERIFICATION=off. */
export type VerificationInbox = (email: string) => Promise<string>;

export async function signUp(baseUrl: string, username: string, inbox?: VerificationInbox): Promise<Person> {
  let session: Session | undefined;
  const api = createParleyClient({ baseUrl, getAccessToken: () => session?.accessToken() });
  const email = `${username}@example.com`;
  const password = `${username} has a long passphrase`;
  await api.auth.register({ email, username, password, displayName: username });
  if (inbox) await api.auth.verifyEmail({ token: await inbox(email) });
  session = createSession(api);
  const me = await session.login(username, password);
  if (!me) throw new Error(`login of ${username} returned no user`);
  return { id: me.id, username, session, api };
}

/** A friend request accepted; resolves once chat has learned the friendship (an event over NATS). */
export async function befriend(a: Person, b: Person): Promise<void> {
  const sent = await a.api.friends.sendFriendRequest({ target: { case: "username", value: b.username } });
  await b.api.friends.respondToFriendRequest({ requestId: sent.request!.id, accept: true });
}

/** The direct conversation of two friends, retried until chat's projection of the friendship caught up. */
export async function openDirect(a: Person, b: Person, timeoutMs = 15_000): Promise<string> {
  let id = "";
  await waitFor(
    async () => {
      id = (await a.api.conversations.openDirect({ userId: b.id })).conversation!.id;
    },
    { timeoutMs, intervalMs: 250 },
  );
  return id;
}

/** A group owned by `owner` (who must be friends with every member), retried like openDirect. */
export async function createGroup(owner: Person, title: string, members: Person[], timeoutMs = 15_000): Promise<string> {
  let id = "";
  await waitFor(
    async () => {
      id = (await owner.api.conversations.createGroup({ title, memberIds: members.map((m) => m.id) })).conversation!.id;
    },
    { timeoutMs, intervalMs: 250 },
  );
  return id;
}
