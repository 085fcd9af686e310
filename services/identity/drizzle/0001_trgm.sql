-- Trigram indexes for SearchUsers (fuzzy `%` / similarity() and ILIKE 'q%').
-- Hand-written: drizzle-kit can't declare the extension these depend on.
-- The platform migrator already creates pg_trgm; repeated here so the
-- migration stands on its own.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_username_trgm_idx" ON "identity"."users" USING gin (lower("username") gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "users_display_name_trgm_idx" ON "identity"."users" USING gin (lower("display_name") gin_trgm_ops);
