ALTER TABLE "chat"."outbox" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "chat"."outbox" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "chat"."outbox" ADD COLUMN "parked_at" timestamp with time zone;