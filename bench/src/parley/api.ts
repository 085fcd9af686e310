/**
 * The part of a Parley bench target that only talks to the public API: minting tokens with the
 * server's signing key, registering users that must befriend each other, the fan-out group and
 * the 1-1 conversations. Shared by every Parley target (stack.ts: one process or split edge;
 * cluster.ts: `make cluster` behind nginx), which differ only in how the servers are started.
 *
 * Tokens: the bench holds the server's signing key (JWT_PRIVATE_JWK, as an operator would) and
 * mints access tokens itself, so 19k sockets need no 19k argon2 logins. Users that must befriend
 * each other are registered and verified through the API for real (EMAIL_VERIFICATION=off).
 */
import { randomUUID } from "node:crypto";
import { createNodeParleyClient } from "@parley/sdk/node";
import type { ParleyClient } from "@parley/sdk";
import { mapLimit, sleep } from "../lib/clock.js";
import { connectPost } from "../light/http.js";
import type { BenchTarget, BenchUser, GroupHandle } from "../lib/target.js";
import { createSigningKeyFromJwk } from "./signer.js";

/** Access tokens outlive every bench run. */
export const TOKEN_TTL_SEC = 3600;

/** A short unique id for scratch databases, bus namespaces, Redis prefixes and usernames. */
export function newRunId(): string {
  return `${Date.now().toString(36)}_${randomUUID().slice(0, 6)}`;
}

export interface ParleyApi extends Pick<BenchTarget, "users" | "group" | "directs"> {
  /** An RPC client acting as the holder of `token`. */
  client(token: string): ParleyClient;
  /** A user that exists only as a token (nobody registered it): enough to connect and be a group member. */
  mintUser(): Promise<BenchUser>;
}

/** `jwk`: the private signing key the server (identity) was started with. */
export async function parleyApi(opts: { apiUrl: string; jwk: string; runId: string }): Promise<ParleyApi> {
  const { apiUrl, runId } = opts;
  const mint = await createSigningKeyFromJwk(opts.jwk, TOKEN_TTL_SEC);
  const client = (token: string): ParleyClient => createNodeParleyClient({ baseUrl: apiUrl, protocol: "connect", getAccessToken: () => token });
  const anonymous = createNodeParleyClient({ baseUrl: apiUrl, protocol: "connect" });
  const mintUser = async (): Promise<BenchUser> => {
    const userId = randomUUID();
    return { userId, token: await mint(userId) };
  };

  async function registerUser(i: number): Promise<BenchUser> {
    const name = `b${runId.replace(/_/g, "")}${i}`.slice(0, 32);
    const email = `${name}@bench.parley.local`;
    const res = await anonymous.auth.register({ email, username: name, password: `Bench-${runId}-pw!`, displayName: name });
    const userId = res.user?.id;
    if (!userId) throw new Error("register returned no user");
    // EMAIL_VERIFICATION=off: the account is verified on register, no mail round trip.
    if (!res.user?.emailVerified) throw new Error(`${email} was not verified on register; is EMAIL_VERIFICATION=off?`);
    return { userId, token: await mint(userId) };
  }

  let registered = 0;
  return {
    client,
    mintUser,
    async users(n, o) {
      if (!o.social) return mapLimit(Array.from({ length: n }), 64, () => mintUser());
      const base = registered;
      registered += n;
      return mapLimit(Array.from({ length: n }, (_, i) => base + i), 8, (i) => registerUser(i));
    },
    async group(members): Promise<GroupHandle> {
      // The first member creates the group and sends, so a group of M members has M sockets to
      // deliver to (the sender's own devices get its messages too) and stays within the product's
      // group cap (1,000 members).
      const [first, ...rest] = members;
      if (!first) throw new Error("a fan-out group needs at least one member");
      const ownerToken = first.token;
      const owner = client(ownerToken);
      const created = await owner.conversations.createGroup({ title: "bench fan-out", memberIds: [] });
      const room = created.conversation?.id;
      if (!room) throw new Error("createGroup returned no conversation");
      const invite = await owner.conversations.createInvite({ conversationId: room, maxUses: 0 });
      const code = invite.invite?.code ?? "";
      await mapLimit(rest, 16, (m) => client(m.token).conversations.joinByInvite({ code }));
      // The group's sender is the runner itself: a plain keep-alive HTTP POST per message (light/http.ts).
      return {
        room,
        async send(body) {
          await connectPost(apiUrl, "parley.chat.v1.MessageService/SendMessage", ownerToken, "127.0.0.1", {
            conversationId: room,
            clientMessageId: randomUUID(),
            text: body,
          });
        },
      };
    },
    async directs(pairs) {
      return mapLimit(pairs, 8, async ([a, b]) => {
        const req = await client(a.token).friends.sendFriendRequest({ target: { case: "userId", value: b.userId } });
        await client(b.token).friends.respondToFriendRequest({ requestId: req.request?.id ?? "", accept: true });
        // Chat learns the friendship from identity's event; retry until the projection has it.
        for (let attempt = 0; ; attempt++) {
          try {
            const res = await client(a.token).conversations.openDirect({ userId: b.userId });
            if (res.conversation?.id) return res.conversation.id;
          } catch (err) {
            if (attempt >= 100) throw err;
          }
          await sleep(100);
        }
      });
    },
  };
}
