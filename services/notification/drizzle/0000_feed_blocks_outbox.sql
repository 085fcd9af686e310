-- IF NOT EXISTS: the platform migrator creates the schema first (it keeps its __migrations table there).
CREATE SCHEMA IF NOT EXISTS "notification";
--> statement-breakpoint
CREATE TABLE "notification"."blocks" (
	"blocker_id" text NOT NULL,
	"blocked_id" text NOT NULL,
	CONSTRAINT "blocks_blocker_id_blocked_id_pk" PRIMARY KEY("blocker_id","blocked_id")
);
--> statement-breakpoint
CREATE TABLE "notification"."processed_events" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "notification"."notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"actor_id" text NOT NULL,
	"conversation_id" text DEFAULT '' NOT NULL,
	"message_id" text DEFAULT '' NOT NULL,
	"friend_request_id" text DEFAULT '' NOT NULL,
	"preview" text DEFAULT '' NOT NULL,
	"source_event_id" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"read_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "notification"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"payload" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "notifications_user_created_idx" ON "notification"."notifications" USING btree ("user_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_user_unread_idx" ON "notification"."notifications" USING btree ("user_id") WHERE "notification"."notifications"."read_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_user_source_event_uq" ON "notification"."notifications" USING btree ("user_id","source_event_id");