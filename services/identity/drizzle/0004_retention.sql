CREATE INDEX "email_verification_tokens_expires_idx" ON "identity"."email_verification_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "processed_events_processed_at_idx" ON "identity"."processed_events" USING btree ("processed_at");--> statement-breakpoint
CREATE INDEX "refresh_tokens_expires_idx" ON "identity"."refresh_tokens" USING btree ("expires_at");