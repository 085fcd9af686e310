/** Rows → protobuf messages. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { FriendRequestStatus, type FriendRequest, FriendRequestSchema } from "@parley/gen/parley/identity/v1/friend_pb";
import { type User, UserSchema } from "@parley/gen/parley/identity/v1/user_pb";
import type { FriendRequestRow, FriendRequestStatusName, UserRow } from "../store/schema.js";

/** A user as others see them: never the email (user.proto). */
export function toPublicUser(row: UserRow): User {
  return create(UserSchema, {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    emailVerified: row.emailVerifiedAt !== null,
    createdAt: timestampFromDate(row.createdAt),
  });
}

/** For the caller themself, or someone who searched for this exact address. */
export function toUserWithEmail(row: UserRow): User {
  return { ...toPublicUser(row), email: row.email };
}

const STATUS: Record<FriendRequestStatusName, FriendRequestStatus> = {
  pending: FriendRequestStatus.PENDING,
  accepted: FriendRequestStatus.ACCEPTED,
  rejected: FriendRequestStatus.REJECTED,
  canceled: FriendRequestStatus.CANCELED,
};

export function toFriendRequest(row: FriendRequestRow, from: UserRow, to: UserRow): FriendRequest {
  return create(FriendRequestSchema, {
    id: row.id,
    from: toPublicUser(from),
    to: toPublicUser(to),
    status: STATUS[row.status],
    createdAt: timestampFromDate(row.createdAt),
  });
}
