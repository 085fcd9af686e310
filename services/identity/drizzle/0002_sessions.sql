CREATE TABLE "identity"."sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_reason" text
);
--> statement-breakpoint
ALTER TABLE "identity"."refresh_tokens" ADD COLUMN "successor_id" uuid;--> statement-breakpoint
ALTER TABLE "identity"."refresh_tokens" ADD COLUMN "successor_sealed" text;--> statement-breakpoint
ALTER TABLE "identity"."sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "identity"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "identity"."sessions" USING btree ("user_id");--> statement-breakpoint
-- Hand-added: one session row per existing refresh-token family, before the foreign key needs it.
-- A family with any revoked token was revoked (only a family revocation sets revoked_at), even if a
-- token a concurrent Refresh created escaped it: that token must not work either.
INSERT INTO "identity"."sessions" ("id", "user_id", "created_at", "revoked_at", "revoked_reason")
SELECT "family_id", min("user_id"::text)::uuid, min("created_at"), max("revoked_at"),
  CASE WHEN max("revoked_at") IS NULL THEN NULL ELSE 'logout' END
FROM "identity"."refresh_tokens" GROUP BY "family_id";--> statement-breakpoint
UPDATE "identity"."refresh_tokens" t SET "revoked_at" = s."revoked_at"
FROM "identity"."sessions" s WHERE s."id" = t."family_id" AND s."revoked_at" IS NOT NULL AND t."revoked_at" IS NULL;--> statement-breakpoint
ALTER TABLE "identity"."refresh_tokens" ADD CONSTRAINT "refresh_tokens_family_id_sessions_id_fk" FOREIGN KEY ("family_id") REFERENCES "identity"."sessions"("id") ON DELETE cascade ON UPDATE no action;