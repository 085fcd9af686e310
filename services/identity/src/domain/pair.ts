export interface OrderedPair {
  userAId: string;
  userBId: string;
}

/**
 * Friendships are stored and published with user_a < user_b. Ids are
 * lowercase UUIDs, whose string order is Postgres's uuid (byte) order.
 */
export function orderedPair(x: string, y: string): OrderedPair {
  return x < y ? { userAId: x, userBId: y } : { userAId: y, userBId: x };
}
