/**
 * parley.identity.v1.FriendService. Every change between two users runs in
 * one transaction holding the pair's advisory lock (lockPair), and writes its
 * events to the outbox in that transaction.
 */
import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  FriendRequestDirection,
  FriendService,
  type SendFriendRequestRequest,
} from "@parley/gen/parley/identity/v1/friend_pb";
import { requireUser, type Database, type PlatformDeps } from "@parley/platform";
import { violatedUniqueIndex } from "../domain/errors.js";
import { orderedPair } from "../domain/pair.js";
import { pageOf, parsePage } from "../domain/pagination.js";
import { normalizeEmail, requireUuid } from "../domain/validation.js";
import { enqueueBlock, enqueueFriendRequest, enqueueFriendship } from "../events/publish.js";
import {
  areFriends,
  closeFriendRequest,
  deleteBlock,
  deleteFriendship,
  findFriendRequest,
  findPendingRequestBetween,
  hasBlocked,
  insertBlock,
  insertFriendRequest,
  insertFriendship,
  lockPair,
} from "../store/graph.js";
import {
  findRequestWithUsers,
  listBlockedUsers,
  listFriends,
  listPendingRequests,
  type RequestDirection,
} from "../store/listings.js";
import type { FriendRequestRow, UserRow } from "../store/schema.js";
import { findUserByEmail, findUserById, findUserByUsername } from "../store/users.js";
import { toFriendRequest, toPublicUser } from "./mappers.js";

const userNotFound = () => new ConnectError("user not found", Code.NotFound);
const requestNotFound = () => new ConnectError("friend request not found", Code.NotFound);
const notPending = () => new ConnectError("friend request is no longer pending", Code.FailedPrecondition);

const DIRECTIONS: Record<FriendRequestDirection, RequestDirection> = {
  [FriendRequestDirection.UNSPECIFIED]: "both",
  [FriendRequestDirection.INCOMING]: "incoming",
  [FriendRequestDirection.OUTGOING]: "outgoing",
};

export function friendService(deps: PlatformDeps): ServiceImpl<typeof FriendService> {
  const db = deps.database.db;

  async function requestMessage(requestId: string) {
    const row = await findRequestWithUsers(db, requestId);
    if (!row) throw requestNotFound();
    return toFriendRequest(row.request, row.from, row.to);
  }

  return {
    async sendFriendRequest(req, ctx) {
      const me = requireUser(ctx).userId;
      const target = await resolveTarget(db, req.target);
      if (target.id === me) throw new ConnectError("you can't send a friend request to yourself", Code.InvalidArgument);
      let requestId: string;
      try {
        requestId = await db.transaction(async (tx) => {
          await lockPair(tx, me, target.id);
          // The blocked user is told what an unknown user gets (GetUser and search hide the blocker
          // too), so a request is no oracle for "who blocked me"; the blocker knows their own block.
          if (await hasBlocked(tx, target.id, me)) throw userNotFound();
          if (await hasBlocked(tx, me, target.id)) {
            throw new ConnectError("you blocked this user; unblock them to send a friend request", Code.PermissionDenied);
          }
          if (await areFriends(tx, me, target.id)) throw new ConnectError("you are already friends with this user", Code.AlreadyExists);
          const pending = await findPendingRequestBetween(tx, me, target.id);
          if (pending?.fromUserId === me) {
            throw new ConnectError("a friend request to this user is already pending", Code.AlreadyExists);
          }
          if (pending) {
            // They already asked me: sending one back means "yes", so accept
            // theirs instead of creating a second, crossing request.
            await acceptRequest(tx, pending);
            return pending.id;
          }
          const created = await insertFriendRequest(tx, { id: randomUUID(), fromUserId: me, toUserId: target.id });
          await enqueueFriendRequest(tx, "created", created);
          return created.id;
        });
      } catch (err) {
        if (violatedUniqueIndex(err) === "friend_requests_pending_pair_key") {
          throw new ConnectError("a friend request between you and this user is already pending", Code.AlreadyExists);
        }
        throw err;
      }
      return { request: await requestMessage(requestId) };
    },

    async respondToFriendRequest(req, ctx) {
      const me = requireUser(ctx).userId;
      const requestId = requireUuid(req.requestId, "request_id");
      await db.transaction(async (tx) => {
        const request = await findFriendRequest(tx, requestId);
        if (!request || (request.toUserId !== me && request.fromUserId !== me)) throw requestNotFound();
        if (request.toUserId !== me) {
          throw new ConnectError("only the recipient can respond to a friend request", Code.PermissionDenied);
        }
        await lockPair(tx, request.fromUserId, request.toUserId);
        if (req.accept) {
          await acceptRequest(tx, request);
        } else {
          const closed = await closeFriendRequest(tx, request.id, "rejected");
          if (!closed) throw notPending();
          await enqueueFriendRequest(tx, "rejected", closed);
        }
      });
      return { request: await requestMessage(requestId) };
    },

    async cancelFriendRequest(req, ctx) {
      const me = requireUser(ctx).userId;
      const requestId = requireUuid(req.requestId, "request_id");
      await db.transaction(async (tx) => {
        const request = await findFriendRequest(tx, requestId);
        if (!request || (request.toUserId !== me && request.fromUserId !== me)) throw requestNotFound();
        if (request.fromUserId !== me) throw new ConnectError("only the sender can cancel a friend request", Code.PermissionDenied);
        const closed = await closeFriendRequest(tx, request.id, "canceled");
        if (!closed) throw notPending();
        await enqueueFriendRequest(tx, "canceled", closed);
      });
      return {};
    },

    async listFriendRequests(req, ctx) {
      const me = requireUser(ctx).userId;
      const direction = DIRECTIONS[req.direction];
      if (!direction) throw new ConnectError("direction is not a known value", Code.InvalidArgument);
      const page = parsePage(req.pageSize, req.pageToken);
      const { items, nextPageToken } = pageOf(await listPendingRequests(db, me, direction, page), page);
      return { requests: items.map((r) => toFriendRequest(r.request, r.from, r.to)), nextPageToken };
    },

    async listFriends(req, ctx) {
      const me = requireUser(ctx).userId;
      const page = parsePage(req.pageSize, req.pageToken);
      const { items, nextPageToken } = pageOf(await listFriends(db, me, page), page);
      return { friends: items.map((f) => ({ user: toPublicUser(f.user), since: timestampFromDate(f.since) })), nextPageToken };
    },

    async removeFriend(req, ctx) {
      const me = requireUser(ctx).userId;
      const other = requireUuid(req.userId, "user_id");
      await db.transaction(async (tx) => {
        await lockPair(tx, me, other);
        const removed = await deleteFriendship(tx, me, other);
        if (!removed) throw new ConnectError("you are not friends with this user", Code.NotFound);
        await enqueueFriendship(tx, "removed", removed);
      });
      return {};
    },

    async blockUser(req, ctx) {
      const me = requireUser(ctx).userId;
      const target = await existingUser(db, req.userId);
      if (target.id === me) throw new ConnectError("you can't block yourself", Code.InvalidArgument);
      await db.transaction(async (tx) => {
        await lockPair(tx, me, target.id);
        // Blocking twice is a no-op: no second event, nothing else to undo.
        if (!(await insertBlock(tx, me, target.id))) return;
        await enqueueBlock(tx, "created", me, target.id);
        const unfriended = await deleteFriendship(tx, me, target.id);
        if (unfriended) await enqueueFriendship(tx, "removed", unfriended);
        const pending = await findPendingRequestBetween(tx, me, target.id);
        if (pending) {
          // Either direction ends as "canceled": consumers drop the pending
          // notification, and the blocked user learns nothing about who blocked.
          const closed = await closeFriendRequest(tx, pending.id, "canceled");
          if (closed) await enqueueFriendRequest(tx, "canceled", closed);
        }
      });
      return {};
    },

    async unblockUser(req, ctx) {
      const me = requireUser(ctx).userId;
      const target = await existingUser(db, req.userId);
      await db.transaction(async (tx) => {
        await lockPair(tx, me, target.id);
        if (await deleteBlock(tx, me, target.id)) await enqueueBlock(tx, "removed", me, target.id);
      });
      return {};
    },

    async listBlocked(_req, ctx: HandlerContext) {
      const me = requireUser(ctx).userId;
      return { users: (await listBlockedUsers(db, me)).map(toPublicUser) };
    },
  };
}

/** Pending → accepted plus the friendship, in the caller's transaction (pair already locked). */
async function acceptRequest(tx: Database, request: FriendRequestRow): Promise<void> {
  const accepted = await closeFriendRequest(tx, request.id, "accepted");
  if (!accepted) throw notPending();
  await enqueueFriendRequest(tx, "accepted", accepted);
  const pair = orderedPair(accepted.fromUserId, accepted.toUserId);
  if (await insertFriendship(tx, pair)) await enqueueFriendship(tx, "created", pair);
}

async function existingUser(db: Database, rawId: string): Promise<UserRow> {
  const row = await findUserById(db, requireUuid(rawId, "user_id"));
  if (!row) throw userNotFound();
  return row;
}

/** The request's target; unverified accounts can't be befriended and look unknown. */
async function resolveTarget(db: Database, target: SendFriendRequestRequest["target"]): Promise<UserRow> {
  let row: UserRow | undefined;
  switch (target.case) {
    case "userId":
      row = await findUserById(db, requireUuid(target.value, "user_id"));
      break;
    case "email":
      row = await findUserByEmail(db, normalizeEmail(target.value));
      break;
    case "username": {
      const username = target.value.trim().toLowerCase();
      if (username === "") throw new ConnectError("username is required", Code.InvalidArgument);
      if (username.length > 32) throw new ConnectError("username must be 3-32 characters", Code.InvalidArgument);
      row = await findUserByUsername(db, username);
      break;
    }
    default:
      throw new ConnectError("one of user_id, email or username is required", Code.InvalidArgument);
  }
  if (!row || row.emailVerifiedAt === null) throw userNotFound();
  return row;
}
