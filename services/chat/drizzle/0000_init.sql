-- IF NOT EXISTS: the platform migrator creates the schema first (it keeps its __migrations table there).
CREATE SCHEMA IF NOT EXISTS "chat";
--> statement-breakpoint
CREATE TABLE "chat"."blocks" (
	"blocker_id" uuid NOT NULL,
	"blocked_id" uuid NOT NULL,
	"since" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocks_blocker_id_blocked_id_pk" PRIMARY KEY("blocker_id","blocked_id")
);
--> statement-breakpoint
CREATE TABLE "chat"."conversations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"title" text DEFAULT '' NOT NULL,
	"direct_lo" uuid,
	"direct_hi" uuid,
	"created_by" uuid NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"last_activity_at" timestamp (3) with time zone NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"member_count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "conversations_kind" CHECK ("chat"."conversations"."kind" in ('direct', 'group')),
	CONSTRAINT "conversations_direct_pair" CHECK (("chat"."conversations"."kind" = 'direct') = ("chat"."conversations"."direct_lo" is not null and "chat"."conversations"."direct_hi" is not null))
);
--> statement-breakpoint
CREATE TABLE "chat"."friendships" (
	"user_a" uuid NOT NULL,
	"user_b" uuid NOT NULL,
	"since" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "friendships_user_a_user_b_pk" PRIMARY KEY("user_a","user_b"),
	CONSTRAINT "friendships_ordered" CHECK ("chat"."friendships"."user_a" < "chat"."friendships"."user_b")
);
--> statement-breakpoint
CREATE TABLE "chat"."processed_events" (
	"consumer" text NOT NULL,
	"event_id" text NOT NULL,
	"processed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "processed_events_consumer_event_id_pk" PRIMARY KEY("consumer","event_id")
);
--> statement-breakpoint
CREATE TABLE "chat"."invites" (
	"code" text PRIMARY KEY NOT NULL,
	"conversation_id" uuid NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"max_uses" integer DEFAULT 0 NOT NULL,
	"uses" integer DEFAULT 0 NOT NULL,
	"revoked_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "chat"."members" (
	"conversation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"joined_at" timestamp (3) with time zone NOT NULL,
	"read_seq" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "members_conversation_id_user_id_pk" PRIMARY KEY("conversation_id","user_id"),
	CONSTRAINT "members_role" CHECK ("chat"."members"."role" in ('member', 'admin'))
);
--> statement-breakpoint
CREATE TABLE "chat"."messages" (
	"conversation_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"id" uuid NOT NULL,
	"sender_id" uuid NOT NULL,
	"client_message_id" text NOT NULL,
	"text" text NOT NULL,
	"reply_to_message_id" uuid,
	"forwarded_from_conversation_id" uuid,
	"forwarded_from_message_id" uuid,
	"forwarded_from_sender_id" uuid,
	"created_at" timestamp (3) with time zone NOT NULL,
	"edited_at" timestamp (3) with time zone,
	"deleted" boolean DEFAULT false NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', "text")) STORED NOT NULL,
	CONSTRAINT "messages_conversation_id_seq_pk" PRIMARY KEY("conversation_id","seq")
);
--> statement-breakpoint
CREATE TABLE "chat"."outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"payload" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "chat"."invites" ADD CONSTRAINT "invites_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "chat"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat"."members" ADD CONSTRAINT "members_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "chat"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat"."messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "chat"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_direct_pair_key" ON "chat"."conversations" USING btree ("direct_lo","direct_hi");--> statement-breakpoint
CREATE INDEX "conversations_title_trgm" ON "chat"."conversations" USING gin ("title" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "invites_conversation" ON "chat"."invites" USING btree ("conversation_id");--> statement-breakpoint
CREATE UNIQUE INDEX "members_user_conversation" ON "chat"."members" USING btree ("user_id","conversation_id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_id_key" ON "chat"."messages" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_sender_client_id_key" ON "chat"."messages" USING btree ("sender_id","client_message_id");--> statement-breakpoint
CREATE INDEX "messages_search" ON "chat"."messages" USING gin ("search");