/** parley.identity.v1.UserService: profiles and user search. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { UserService } from "@parley/gen/parley/identity/v1/user_service_pb";
import { requireUser, type PlatformDeps } from "@parley/platform";
import { violatedUniqueIndex } from "../domain/errors.js";
import { pageOf, parsePage } from "../domain/pagination.js";
import { EMAIL_MAX, normalizeDisplayName, normalizeEmail, normalizeUsername, requireUuid } from "../domain/validation.js";
import { enqueueUserUpdated } from "../events/publish.js";
import { hasBlocked } from "../store/graph.js";
import { searchByExactEmail, searchByName } from "../store/search.js";
import { findUserById, updateUserProfile } from "../store/users.js";
import type { UserRow } from "../store/schema.js";
import { toPublicUser, toUserWithEmail } from "./mappers.js";

const notFound = () => new ConnectError("user not found", Code.NotFound);

export function userService(deps: PlatformDeps): ServiceImpl<typeof UserService> {
  const db = deps.database.db;

  async function loadMe(userId: string): Promise<UserRow> {
    const row = await findUserById(db, userId);
    // A valid token for a deleted account.
    if (!row) throw notFound();
    return row;
  }

  return {
    async getMe(_req, ctx) {
      const me = requireUser(ctx);
      return { user: toUserWithEmail(await loadMe(me.userId)) };
    },

    async updateProfile(req, ctx) {
      const me = requireUser(ctx);
      const changes: { username?: string; displayName?: string } = {};
      if (req.username !== undefined) changes.username = normalizeUsername(req.username);
      if (req.displayName !== undefined) changes.displayName = normalizeDisplayName(req.displayName);
      if (Object.keys(changes).length === 0) return { user: toUserWithEmail(await loadMe(me.userId)) };
      try {
        const user = await db.transaction(async (tx) => {
          const row = await updateUserProfile(tx, me.userId, changes);
          if (!row) throw notFound();
          await enqueueUserUpdated(tx, row);
          return row;
        });
        return { user: toUserWithEmail(user) };
      } catch (err) {
        if (violatedUniqueIndex(err) === "users_username_lower_key") {
          throw new ConnectError("username is already taken", Code.AlreadyExists);
        }
        throw err;
      }
    },

    async getUser(req, ctx) {
      const me = requireUser(ctx);
      const userId = requireUuid(req.userId, "user_id");
      const row = await findUserById(db, userId);
      if (!row) throw notFound();
      if (row.id === me.userId) return { user: toUserWithEmail(row) };
      // Unverified accounts and people who blocked the caller look exactly like unknown ids.
      if (row.emailVerifiedAt === null || (await hasBlocked(db, row.id, me.userId))) throw notFound();
      return { user: toPublicUser(row) };
    },

    async searchUsers(req, ctx) {
      const me = requireUser(ctx);
      const query = req.query.trim().toLowerCase();
      if (query === "") throw new ConnectError("query is required", Code.InvalidArgument);
      if (query.length > EMAIL_MAX) throw new ConnectError(`query must be at most ${EMAIL_MAX} characters`, Code.InvalidArgument);
      const page = parsePage(req.pageSize, req.pageToken);
      if (query.includes("@")) {
        // Email search is exact only: a partial address matches nobody, so
        // addresses can't be discovered piece by piece.
        const email = tryNormalizeEmail(query);
        const rows = email && page.offset === 0 ? await searchByExactEmail(db, me.userId, email) : [];
        return { users: rows.map(toUserWithEmail), nextPageToken: "" };
      }
      const { items, nextPageToken } = pageOf(await searchByName(db, me.userId, query, page), page);
      return { users: items.map(toPublicUser), nextPageToken };
    },
  };
}

function tryNormalizeEmail(query: string): string | undefined {
  try {
    return normalizeEmail(query, "query");
  } catch {
    return undefined;
  }
}
