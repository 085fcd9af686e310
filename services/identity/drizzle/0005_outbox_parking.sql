ALTER TABLE "identity"."outbox" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "identity"."outbox" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "identity"."outbox" ADD COLUMN "parked_at" timestamp with time zone;