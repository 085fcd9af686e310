/**
 * SearchUsers queries. Only verified users are searchable; the caller and
 * anyone who blocked the caller are never returned.
 */
import { and, asc, desc, isNotNull, ne, notExists, or, sql } from "drizzle-orm";
import type { Database } from "@parley/platform";
import type { Page } from "../domain/pagination.js";
import { blocks, users, type UserRow } from "./schema.js";

function visibleTo(db: Database, me: string) {
  return and(
    isNotNull(users.emailVerifiedAt),
    ne(users.id, me),
    notExists(
      db
        .select({ one: sql`1` })
        .from(blocks)
        .where(and(sql`${blocks.blockerId} = ${users.id}`, sql`${blocks.blockedId} = ${me}`)),
    ),
  );
}

/** Exact (case-insensitive) address match: the only way to find someone by email. */
export async function searchByExactEmail(db: Database, me: string, email: string): Promise<UserRow[]> {
  return db
    .select()
    .from(users)
    .where(and(sql`lower(${users.email}) = ${email}`, visibleTo(db, me)))
    .limit(1);
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Prefix (ILIKE 'q%') and fuzzy (pg_trgm `%`, similarity ≥ pg_trgm.similarity_threshold)
 * matches on username and display name; both use the GIN trigram indexes.
 * Prefix hits rank first, then by similarity. `query` is lowercased.
 */
export function searchByName(db: Database, me: string, query: string, page: Page): Promise<UserRow[]> {
  const username = sql`lower(${users.username})`;
  const displayName = sql`lower(${users.displayName})`;
  const prefix = `${escapeLike(query)}%`;
  const isPrefix = sql<boolean>`(${username} ilike ${prefix} or ${displayName} ilike ${prefix})`;
  const similar = sql`(${username} % ${query} or ${displayName} % ${query})`;
  const score = sql`greatest(similarity(${username}, ${query}), similarity(${displayName}, ${query}))`;
  return db
    .select()
    .from(users)
    .where(and(visibleTo(db, me), or(isPrefix, similar)))
    .orderBy(desc(isPrefix), desc(score), asc(users.username))
    .limit(page.limit + 1)
    .offset(page.offset);
}
