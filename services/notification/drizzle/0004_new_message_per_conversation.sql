ALTER TABLE "notification"."notifications" ADD COLUMN "unread_messages" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "notification"."notifications" ADD COLUMN "message_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Feeds so far hold one new_message row per message. Keep the newest per (user, conversation), counting its unread siblings, so the unique index below can be built.
UPDATE "notification"."notifications" AS n
SET "unread_messages" = r.unread, "read_at" = CASE WHEN r.unread > 0 THEN NULL ELSE n."read_at" END
FROM (
	SELECT "id",
		row_number() OVER (PARTITION BY "user_id", "conversation_id" ORDER BY "created_at" DESC, "id" DESC) AS rn,
		count(*) FILTER (WHERE "read_at" IS NULL) OVER (PARTITION BY "user_id", "conversation_id") AS unread
	FROM "notification"."notifications" WHERE "kind" = 'new_message'
) AS r
WHERE n."id" = r."id" AND r.rn = 1;--> statement-breakpoint
DELETE FROM "notification"."notifications" WHERE "id" IN (
	SELECT "id" FROM (
		SELECT "id", row_number() OVER (PARTITION BY "user_id", "conversation_id" ORDER BY "created_at" DESC, "id" DESC) AS rn
		FROM "notification"."notifications" WHERE "kind" = 'new_message'
	) AS r WHERE r.rn > 1
);--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_user_conversation_new_message_uq" ON "notification"."notifications" USING btree ("user_id","conversation_id") WHERE "notification"."notifications"."kind" = 'new_message';
